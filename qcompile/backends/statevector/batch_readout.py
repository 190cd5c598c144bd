"""Read-outs of unitary circuits for a batch without holding the batch's states.

A batch of ``B`` states of ``n`` qubits is ``B * 2**n`` amplitudes, yet expectation values
and probabilities are only ``B * k`` numbers. Here at most one state per thread exists at a
time (and its gather buffer when the tape permutes): small circuits (one cluster) run
sample by sample inside one parallel kernel that writes only the read-out; larger ones run
``threads`` samples at a time through the plan's clusters, reusing one ``(threads, 2**n)``
buffer.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads

from ...ir import ExpVal, Probs
from . import tape as tp
from .memory import require
from .plan import Plan


def held_states(batch: int) -> int:
    """How many of the batch's states :func:`evaluate_unitary` holds at a time."""
    return min(batch, max(1, get_num_threads()))


def evaluate_unitary(plan: Plan | None, num_qubits: int, batch: int, output: ExpVal | Probs,
                     dtype, expectation, marginal, max_memory=None, reserve: int = 0
                     ) -> np.ndarray:
    """``output`` for every sample of a circuit whose whole body is ``plan`` (None: no
    gates). ``expectation(observable, states)`` and ``marginal(probabilities, qubits)`` (per
    row of states) are the read-outs used for large states, chunk by chunk. The states held at a
    time and ``reserve`` bytes (the read-out's) are checked against ``max_memory``."""
    real = np.dtype(dtype).type(0).real.dtype
    qubits = tuple(output.qubits or range(num_qubits)) if isinstance(output, Probs) else ()
    clusters = plan.clusters if plan is not None else ()
    held = held_states(batch)
    what = f"{num_qubits} qubits × batch {batch}"
    if held < batch:
        what += f" ({held} states at a time)"
    require(held * np.dtype(dtype).itemsize * 2 ** num_qubits, what, max_memory, dtype=dtype,
            reserve=reserve)
    if len(clusters) <= 1 and (not clusters or np.array_equal(clusters[0].qubits,
                                                              np.arange(num_qubits))):
        return _in_kernel(plan, clusters, num_qubits, batch, output, qubits, real).astype(real)
    width = len(output.observables) if isinstance(output, ExpVal) else 2 ** len(qubits)
    out = np.zeros((batch, width), dtype=real)
    states = np.empty((held, 2 ** num_qubits), dtype=dtype)
    for first in range(0, batch, held):
        part = states[:min(held, batch - first)]
        part[:] = 0
        part[:, 0] = 1
        plan.apply(part, samples=np.arange(first, first + len(part)))
        if isinstance(output, ExpVal):
            for column, observable in enumerate(output.observables):
                out[first:first + len(part), column] = expectation(observable, part)
        else:
            out[first:first + len(part)] = marginal(part.real ** 2 + part.imag ** 2, qubits)
    return out


def _in_kernel(plan, clusters, num_qubits, batch, output, qubits, real) -> np.ndarray:
    tape = clusters[0].tape if clusters else np.zeros((0, tp.HEADER + tp.MAX_WIDTH), np.int64)
    shared = plan.shared if plan is not None else np.zeros(1, np.complex128)
    per_sample = plan.per_sample if plan is not None else np.zeros((1, 1), np.complex128)
    terms = []
    if isinstance(output, ExpVal):
        for column, observable in enumerate(output.observables):
            for term in observable:
                flip, sign, phase = term.masks()
                terms.append((flip, sign, term.coeff * phase, column))
        width = len(output.observables)
    else:
        width = 2 ** len(qubits)
    flips, signs, weights, columns = (np.array([t[k] for t in terms], dtype=kind)
                                      for k, kind in enumerate((np.int64, np.int64,
                                                                np.complex128, np.int64)))
    out = np.zeros((batch, width))
    mode = tp.EXPECTATION if isinstance(output, ExpVal) else tp.PROBABILITIES
    first, rest = tp.split_product_prefix(tape, num_qubits)
    z_only = mode == tp.EXPECTATION and not flips.any()
    rest, signs = tp.absorb_trailing_rows(rest, shared, signs, z_only or mode == tp.PROBABILITIES,
                                          z_only)
    tp.run_batch_readout(num_qubits, first, rest, shared, per_sample, batch, tp.workers(batch),
                         mode, flips, signs, weights, columns, np.array(qubits, dtype=np.int64),
                         np.zeros(1, dtype=real), out)
    return out
