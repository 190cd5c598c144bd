"""Adjoint differentiation: the vector–Jacobian product of a readout in about three passes.

For a real loss L of the final state ψ, write its costate G = ∂L/∂Re ψ + i ∂L/∂Im ψ, so that
dL = Re⟨G|dψ⟩. One forward pass gives ψ; the readout's cotangent gives G (for expectation values
G = 2 Σ_k g_k O_k ψ). Walking the gates backwards, un-applying each gate U from both ψ and G
keeps ψ the state just before U and G the costate just after it, so that
dL/dθ = Re⟨G| ∂U/∂θ |ψ⟩ for every angle θ of U; the chain rule
(:class:`.gate_angles.ParameterGradients`) turns angle gradients into gradients of the
circuit's inputs and weights, per sample or summed over the batch. Memory: three states,
whatever the number of gates.

Terminal measurements (:mod:`qcompile.ir.terminal`) are read-outs of the final state, so a
circuit whose only measurements are terminal is differentiated here, as the unitary circuit
before them with the read-out they leave (:func:`~qcompile.ir.terminal.measured_readout`).
Mid-circuit measurement, reset and feed-forward make the map from angles to readout
non-unitary, so such circuits go to :mod:`.param_shift` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from numba import get_num_threads

from ...ir import (GATES, Barrier, Circuit, Counts, ExpVal, Gate, Probs, QCompileError, State,
                   Unitary)
from ...ir.expr import evaluate, is_constant
from ...ir.gates import gate_matrix
from ...ir.ops import constant_matrix, is_diagonal
from ...ir.program import Output
from ...ir.terminal import dynamic_reason, measured_readout, split_terminal

from . import plan
from .batch_adjoint import CHECKPOINT_BYTES, angle_derivatives, circuit_blocks
from .gate_angles import ParameterGradients, gate_derivative
from .gradient_kernels import add_pauli_string, real_overlaps, serial_when_small
from .memory import require
from ..binding import bind_values
from .simulate import checked_dtype, simulate
from .steps import KernelStep, kernel_step


def adjoint_vjp(circuit: Circuit, output: Output, values: Mapping[str, np.ndarray] | None,
                cotangent: np.ndarray, *, dtype=np.complex128,
                max_memory: int | str | None = None) -> dict[str, np.ndarray]:
    """d(Σ cotangent · simulate(circuit, output, values))/d values, one array per parameter.

    ``cotangent`` has the shape of the readout, ``(B, k)`` for ExpVal, ``(B, 2**m)`` for Probs,
    and ``(B, 2**n)`` complex for State (meaning ∂L/∂Re ψ + i ∂L/∂Im ψ). Each gradient has the
    shape of ``values[name]``: per sample for batched values, summed for shared ones.
    ``max_memory`` as for :func:`.simulate.simulate`.
    """
    reason = dynamic_reason(circuit)
    if reason:
        raise QCompileError(f"adjoint differentiation of circuit {circuit.name!r} needs a "
                            f"unitary circuit (terminal measurements aside), but it has "
                            f"{reason}; use parameter-shift (param_shift_vjp), which handles "
                            f"dynamic circuits")
    circuit, terminal = split_terminal(circuit)
    output = measured_readout(output, {m.qubit for m in terminal})
    binding = bind_values(circuit, values)
    state_bytes = checked_dtype(dtype).itemsize << circuit.num_qubits
    if isinstance(output, (ExpVal, Probs)) and runs_whole_samples(circuit.num_qubits,
                                                                   binding.batch):
        # Per thread: ψ, G, a spare G and the checkpoints of ψ.
        threads = min(binding.batch, get_num_threads())
        require(threads * (3 * state_bytes + CHECKPOINT_BYTES),
                f"an adjoint gradient of {circuit.num_qubits} qubits × {threads} threads × "
                f"3 states and checkpoints", max_memory, dtype=dtype)
        return _whole_sample_sweep(circuit, output, binding, cotangent, dtype)
    # ψ, its private copy, the costate G and a scratch state per sample.
    require(4 * binding.batch * state_bytes,
            f"an adjoint gradient of {circuit.num_qubits} qubits × batch {binding.batch} × "
            f"4 states", max_memory, dtype=dtype)
    with serial_when_small(binding.batch << circuit.num_qubits):
        # A private copy: the sweep un-applies gates from it in place.
        states = np.array(simulate(circuit, State(), values, dtype=dtype))
        return _sweep(circuit, output, binding, cotangent, states, dtype)


#: Largest state :mod:`.batch_adjoint` takes (2**26 amplitudes: 1 GiB per buffer and
#: thread); the per-gate sweep holds three such states per sample anyway.
WHOLE_SAMPLE_QUBITS = 26
#: How many threads of the per-gate sweep one thread running a whole sample is worth, at
#: least: it was 7.6× faster on 2 threads (20-qubit QNN, batch 1: 0.20 against 1.54 s).
WHOLE_SAMPLE_ADVANTAGE = 4


def runs_whole_samples(num_qubits: int, batch: int) -> bool:
    """Whether :mod:`.batch_adjoint` (one whole sample per thread) should run: states up to
    :data:`WHOLE_SAMPLE_QUBITS`, and either enough samples for the threads (counting each
    as :data:`WHOLE_SAMPLE_ADVANTAGE` threads of the per-gate sweep) or states so small
    that one thread does them fastest."""
    threads = get_num_threads()
    return num_qubits <= WHOLE_SAMPLE_QUBITS and (
        min(batch, threads) * WHOLE_SAMPLE_ADVANTAGE >= threads
        or num_qubits <= plan.LOCAL_QUBITS)


def _whole_sample_sweep(circuit, output, binding, cotangent, dtype) -> dict[str, np.ndarray]:
    dtype = checked_dtype(dtype)
    env, batch = binding.values, binding.batch
    what = f"the {type(output).__name__.lower()} readout of circuit {circuit.name!r}"
    if isinstance(output, ExpVal):
        for observable in output.observables:
            for term in observable:
                _check_term(circuit, term)
        weights = as_cotangent(cotangent, (batch, len(output.observables)), what)
    else:
        weights = as_cotangent(cotangent, (batch, 2 ** len(_probs_qubits(circuit, output))),
                               what)
    d_angles, angles = angle_derivatives(circuit_blocks(circuit, env), circuit.num_qubits,
                                         batch, output, weights, dtype)
    grads = ParameterGradients(binding)
    for slot, angle in enumerate(angles):
        grads.add(angle, d_angles[:, slot])
    return grads.grads


def _sweep(circuit, output, binding, cotangent, states, dtype) -> dict[str, np.ndarray]:
    costate = output_costate(circuit, output, states, cotangent)
    grads = ParameterGradients(binding)
    scratch = np.empty_like(states)
    for item in reversed(_reversible_gates(circuit, np.dtype(dtype))):
        if isinstance(item, KernelStep):
            item.apply(states)
            item.apply(costate)
            continue
        spec = GATES[item.name]
        angles = [np.asarray(evaluate(p, grads.env), dtype=float) for p in item.params]
        matrix = gate_matrix(item.name, angles)
        inverse = kernel_step(item.qubits, np.conj(np.swapaxes(matrix, -1, -2)), spec.diagonal,
                              dtype)
        inverse.apply(states)
        for index, angle in enumerate(item.params):
            if is_constant(angle):
                continue
            np.copyto(scratch, states)
            kernel_step(item.qubits, gate_derivative(item.name, angles, index), spec.diagonal,
                        dtype).apply(scratch)
            grads.add(angle, real_overlaps(costate, scratch))
        inverse.apply(costate)
    return grads.grads


@lru_cache(maxsize=32)
def _reversible_gates(circuit: Circuit, dtype) -> tuple[KernelStep | Gate, ...]:
    """The circuit's gates for the backward sweep: the inverse of each constant gate as a
    ready kernel step, symbolic gates as they are (their matrices depend on the batch)."""
    items: list[KernelStep | Gate] = []
    for op in circuit.ops:
        if isinstance(op, (Gate, Unitary)):
            matrix = constant_matrix(op)
            items.append(op if matrix is None else
                         kernel_step(op.qubits, matrix.conj().T, is_diagonal(op), dtype))
        elif not isinstance(op, Barrier):
            raise QCompileError(f"adjoint differentiation cannot run {op!r}")
    return tuple(items)


def as_cotangent(cotangent, shape: tuple[int, ...], what: str, *, complex_ok=False):
    """The cotangent as an array of the readout's shape, or a QCompileError saying why not."""
    try:
        array = (np.asarray(cotangent, dtype=complex if complex_ok else float)
                 if complex_ok or not np.iscomplexobj(cotangent) else None)
    except (TypeError, ValueError):
        array = None
    if array is None or array.shape != tuple(shape):
        got = "non-numeric" if array is None else list(array.shape)
        kind = "complex" if complex_ok else "real"
        raise QCompileError(f"the cotangent of {what} must be a {kind} array of shape "
                            f"{list(shape)} (batch first, like the readout); got {got}")
    return array


def output_costate(circuit: Circuit, output: Output, states: np.ndarray,
                   cotangent) -> np.ndarray:
    """G = ∂L/∂Re ψ + i ∂L/∂Im ψ for L = Σ cotangent · readout(ψ), shape of ``states``."""
    batch, size = states.shape
    what = f"the {type(output).__name__.lower()} readout of circuit {circuit.name!r}"
    if isinstance(output, State):
        return np.array(as_cotangent(cotangent, (batch, size), what, complex_ok=True),
                        dtype=states.dtype)
    if isinstance(output, Probs):
        qubits = _probs_qubits(circuit, output)
        weights = as_cotangent(cotangent, (batch, 2 ** len(qubits)), what)
        basis = np.arange(size)
        outcome = sum(((basis >> q) & 1) << k for k, q in enumerate(qubits))
        return (2 * weights[:, outcome] * states).astype(states.dtype)
    if isinstance(output, ExpVal):
        weights = as_cotangent(cotangent, (batch, len(output.observables)), what)
        costate = np.zeros_like(states)
        for column, observable in enumerate(output.observables):
            for term in observable:
                _check_term(circuit, term)
                flip, sign, phase = term.masks()
                factors = (2 * term.coeff * phase) * weights[:, column].astype(complex)
                add_pauli_string(costate, states, factors, flip, sign)
        return costate
    if isinstance(output, Counts):
        raise QCompileError(f"counts of circuit {circuit.name!r} are sampled, so they have no "
                            f"derivative; differentiate probs (their expectation) instead")
    raise QCompileError(f"unknown readout {output!r}: expected expval, probs or state")


def _probs_qubits(circuit: Circuit, output: Probs) -> tuple[int, ...]:
    qubits = output.qubits or tuple(range(circuit.num_qubits))
    if len(set(qubits)) != len(qubits) or not all(0 <= q < circuit.num_qubits for q in qubits):
        raise QCompileError(f"probs qubits {list(qubits)} must be distinct qubits of "
                            f"circuit {circuit.name!r}")
    return qubits


def _check_term(circuit: Circuit, term) -> None:
    qubits = [q for q, _ in term.paulis]
    if len(set(qubits)) != len(qubits) or not all(
            p in "IXYZ" and 0 <= q < circuit.num_qubits for q, p in term.paulis):
        factors = " ".join(f"{p}{q}" for q, p in term.paulis)
        raise QCompileError(f"observable term {factors} must name distinct qubits of circuit "
                            f"{circuit.name!r} (0..{circuit.num_qubits - 1}) with one Pauli "
                            f"letter I, X, Y or Z each")
