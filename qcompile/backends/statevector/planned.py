"""The planned path of :func:`.simulate.simulate`: batches, mid-circuit measurement and wide
states, through fused kernel steps (:mod:`.plan`), branches (:mod:`.branches`) and the batch
read-outs (:mod:`.batch_readout`). Everything here runs numba kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from ...ir import Circuit, Counts, ExpVal, Probs, QCompileError, State, verify_circuit
from ...ir.program import Output
from ...ir.terminal import measured_readout, split_terminal
from ..binding import bind_values
from . import kernels
from .batch_readout import evaluate_unitary, held_states
from .branches import BranchRun, record_values
from .gradient_kernels import serial_when_small
from .memory import require
from .plan import Plan, fuse_steps
from .readout import clbit_offsets, marginal, probabilities, shot_rng
from .sampling import add_counts
from .steps import bind_steps, compile_circuit


def simulate_planned(circuit: Circuit, output: Output,
                     values: Mapping[str, np.ndarray] | None, *, seed: int | None, dtype,
                     max_memory: int | str | None) -> np.ndarray:
    """:func:`.simulate.simulate` of a checked output, for any circuit and batch."""
    prefix, terminal = _verified_split(circuit)
    output = measured_readout(output, {m.qubit for m in terminal})
    steps, batch, dtype = _prepare(prefix, values, dtype)
    n = circuit.num_qubits
    if isinstance(output, Counts):
        width = circuit.num_clbits or n
        histogram = batch * 8 << width
        require(histogram, f"a counts histogram of 2**{width} entries × batch {batch}",
                max_memory, hints=("read out probs or expval instead (--output)",
                                   "measure into fewer classical bits"))
        rng = shot_rng(seed)
        run = BranchRun(n, circuit.num_clbits, batch, dtype, shots=output.shots, rng=rng,
                        max_memory=max_memory, reserve=histogram)
        run.run(steps)
        counts = np.zeros((batch, 2 ** width), dtype=np.int64)
        add_counts(counts, run, terminal, circuit.num_clbits, rng)
        return counts
    if isinstance(output, (ExpVal, Probs)) and all(isinstance(s, Plan) for s in steps):
        return evaluate_unitary(steps[0] if steps else None, n, batch, output, dtype,
                                _expectation, marginal, max_memory,
                                _readout_bytes(output, n, held_states(batch), batch, dtype))
    run = BranchRun(n, circuit.num_clbits, batch, dtype, max_memory=max_memory,
                    reserve=_readout_bytes(output, n, batch, batch, dtype))
    run.run(steps)
    if isinstance(output, State):
        if run.rows > batch:
            raise QCompileError(
                f"circuit {circuit.name!r}: the statevector is not defined after mid-circuit "
                f"measurement or reset (the outcome is a mixture of {run.per_sample.max()} "
                f"branches); ask for probs, expval or counts")
        return run.blocks[0].states
    real = run.blocks[0].states.real.dtype
    if isinstance(output, Probs):
        qubits = output.qubits or tuple(range(n))
        return _per_sample(run, lambda b: marginal(probabilities(b.states), qubits))
    return _per_sample(run, lambda b: np.stack(
        [_expectation(o, b.states) for o in output.observables], axis=1)).astype(real)


def outcome_probabilities_planned(circuit: Circuit, values: Mapping[str, np.ndarray] | None,
                                  *, dtype, max_memory: int | str | None) -> np.ndarray:
    """:func:`.simulate.outcome_probabilities` for any circuit and batch: it branches on
    every mid-circuit measurement (up to :data:`.branches.MAX_BRANCHES` branches) and reads
    the terminal ones from each branch's final state."""
    prefix, terminal = _verified_split(circuit)
    steps, batch, dtype = _prepare(prefix, values, dtype)
    n, k = circuit.num_qubits, circuit.num_clbits
    # The distribution, and every row's probabilities with their marginal (a batch at a time).
    reserve = (batch * 8 << (k or n)) + (2 * batch * 8 << n)
    run = BranchRun(n, k, batch, dtype, max_memory=max_memory, reserve=reserve)
    run.run(steps)
    if not k:
        return _per_sample(run, lambda b: probabilities(b.states)).astype(np.float64)
    out = np.zeros((batch, 2 ** k))
    offsets = clbit_offsets(terminal)
    qubits = tuple(m.qubit for m in terminal)
    for block in run.blocks:
        base = record_values(block, sum(1 << m.clbit for m in terminal))
        np.add.at(out, (block.samples[:, None], base[:, None] + offsets),
                  marginal(probabilities(block.states), qubits))
    return out


@lru_cache(maxsize=64)
def _verified_split(circuit: Circuit) -> tuple[Circuit, tuple]:
    """:func:`.split_terminal` of a verified circuit: the terminal measurements are checked
    here, since the steps are compiled from the prefix alone."""
    verify_circuit(circuit)
    return split_terminal(circuit)


def _readout_bytes(output: Output, num_qubits: int, rows: int, batch: int, dtype) -> int:
    """What a read-out allocates beside the states: for probabilities the result, and every
    amplitude's probability with their marginal for ``rows`` states at a time."""
    if not isinstance(output, Probs):
        return 0
    real = np.dtype(dtype).itemsize // 2
    return real * ((batch << len(output.qubits or range(num_qubits))) + (rows << num_qubits + 1))


def _prepare(circuit: Circuit, values, dtype) -> tuple[tuple, int, np.dtype]:
    """Bind the values and fuse: the steps to run, and the batch size."""
    steps, env, batch, dtype = bind(circuit, values, dtype)
    return fuse_steps(steps, circuit.num_qubits, dtype, batch), batch, dtype


def bind(circuit: Circuit, values, dtype) -> tuple[tuple, dict[str, np.ndarray], int, np.dtype]:
    """Check the values and bind them: the bound steps, the values by name, the batch size
    and the dtype."""
    dtype = np.dtype(dtype)
    steps = compile_circuit(circuit, dtype)
    binding = bind_values(circuit, values)
    return bind_steps(steps, binding.values, dtype), binding.values, binding.batch, dtype


def _per_sample(run: BranchRun, per_row) -> np.ndarray:
    """``per_row(block)`` (one value per row of a block) summed over each sample's rows."""
    out = None
    for block in run.blocks:
        values = per_row(block)
        if out is None:
            out = np.zeros((run.batch,) + values.shape[1:], dtype=values.dtype)
        np.add.at(out, block.samples, values)
    return out


def _expectation(observable, states: np.ndarray) -> np.ndarray:
    """Sum over terms of coeff * <psi|P|psi>, per row of ``states``."""
    total = np.zeros(states.shape[0])
    for term in observable:
        flip, sign, phase = term.masks()
        with serial_when_small(states.size):
            overlap = kernels.pauli_overlaps(states, flip, sign).sum(axis=1)
        total += term.coeff * (phase * overlap).real
    return total
