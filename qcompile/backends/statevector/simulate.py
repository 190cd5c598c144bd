"""Run a circuit on a batch of parameter values and read out what the caller asked for.

``values`` maps each circuit parameter to an array: with one more axis than the parameter's
shape it is per-sample data (axis 0 is the batch), with exactly its shape it is shared by the
whole batch (typically weights). Outputs have shape ``(B, *output_shape)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ...ir import Circuit, Counts, ExpVal, Probs, QCompileError, State
from ...ir.program import PAULIS, Output, PauliTerm
from ...ir.terminal import measured_readout, split_terminal
from ..binding import bind_values
from . import kernels
from .bits import pauli_masks
from .batch_readout import evaluate_unitary, held_states
from .branches import BranchRun, record_values
from .gradient_kernels import serial_when_small
from .memory import require
from .plan import Plan, fuse_steps
from .sampling import add_counts
from .steps import bind_steps, compile_circuit


def simulate(circuit: Circuit, output: Output, values: Mapping[str, np.ndarray] | None = None,
             *, seed: int | None = None, dtype=np.complex128,
             max_memory: int | str | None = None) -> np.ndarray:
    """Simulate ``circuit`` for a batch and return ``output`` per sample.

    Terminal measurements (:mod:`qcompile.ir.terminal`) are read from the final state, which
    is computed once; mid-circuit measurement, reset and feed-forward branch
    (:mod:`.branches`). ExpVal and Probs are exact real arrays of the state after every
    measurement (an X or Y factor on a measured qubit reads 0). State is complex: the final
    state before the terminal measurements, as Qiskit's ``Statevector`` of the circuit with
    its final measurements removed; it is undefined once a mid-circuit measurement or reset
    left more than one branch. Counts is an int64 histogram of ``shots`` per sample, each
    shot following its own measurement outcomes, drawn with
    ``numpy.random.default_rng(seed)``. ``max_memory`` (bytes, or a size such as ``"4G"``;
    default: the memory available) bounds what the run allocates (:mod:`.memory`).
    """
    _check_output(circuit, output)
    prefix, terminal = split_terminal(circuit)
    output = measured_readout(output, {m.qubit for m in terminal})
    steps, batch, dtype = _prepare(prefix, values, dtype)
    n = circuit.num_qubits
    if isinstance(output, Counts):
        width = circuit.num_clbits or n
        histogram = batch * 8 << width
        require(histogram, f"a counts histogram of 2**{width} entries × batch {batch}",
                max_memory, hints=("read out probs or expval instead (--output)",
                                   "measure into fewer classical bits"))
        rng = _rng(seed)
        run = BranchRun(n, circuit.num_clbits, batch, dtype, shots=output.shots, rng=rng,
                        max_memory=max_memory, reserve=histogram)
        run.run(steps)
        counts = np.zeros((batch, 2 ** width), dtype=np.int64)
        add_counts(counts, run, terminal, circuit.num_clbits, rng)
        return counts
    if isinstance(output, (ExpVal, Probs)) and all(isinstance(s, Plan) for s in steps):
        return evaluate_unitary(steps[0] if steps else None, n, batch, output, dtype,
                                _expectation, _marginal, max_memory,
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
        return _per_sample(run, lambda b: _marginal(_probabilities(b.states), qubits))
    return _per_sample(run, lambda b: np.stack(
        [_expectation(o, b.states) for o in output.observables], axis=1)).astype(real)


def simulate_many(circuits: Sequence[Circuit], output: Output,
                  values: Sequence[Mapping[str, np.ndarray] | None] | None = None, *,
                  seed: int | None = None, dtype=np.complex128,
                  max_memory: int | str | None = None) -> list[np.ndarray]:
    """:func:`simulate` of each circuit (with ``values[i]`` for circuit i): the results in
    order, each exactly what ``simulate(circuits[i], output, values[i])`` returns."""
    circuits = list(circuits)
    values = [None] * len(circuits) if values is None else list(values)
    if len(values) != len(circuits):
        raise QCompileError(f"simulate_many: {len(circuits)} circuits but {len(values)} "
                            f"value sets")
    seeds = np.random.SeedSequence(seed).spawn(len(circuits))
    return [simulate(c, output, v, seed=s, dtype=dtype, max_memory=max_memory)
            for c, v, s in zip(circuits, values, seeds)]


def outcome_probabilities(circuit: Circuit, values: Mapping[str, np.ndarray] | None = None,
                          *, dtype=np.complex128, max_memory: int | str | None = None
                          ) -> np.ndarray:
    """The exact distribution that Counts samples from, shape ``(B, 2**k)``, float64.

    Over the classical bits (index bit j is clbit j), or over all qubits measured at the end
    when the circuit has no classical bits. It branches on every mid-circuit measurement
    (up to :data:`.branches.MAX_BRANCHES` branches) and reads the terminal ones from each
    branch's final state.
    """
    prefix, terminal = split_terminal(circuit)
    steps, batch, dtype = _prepare(prefix, values, dtype)
    n, k = circuit.num_qubits, circuit.num_clbits
    # The distribution, and every row's probabilities with their marginal (a batch at a time).
    reserve = (batch * 8 << (k or n)) + (2 * batch * 8 << n)
    run = BranchRun(n, k, batch, dtype, max_memory=max_memory, reserve=reserve)
    run.run(steps)
    if not k:
        return _per_sample(run, lambda b: _probabilities(b.states)).astype(np.float64)
    out = np.zeros((batch, 2 ** k))
    offsets = np.zeros(2 ** len(terminal), dtype=np.int64)  # terminal outcome -> clbits
    for j, m in enumerate(terminal):
        offsets |= ((np.arange(offsets.size) >> j) & 1) << m.clbit
    qubits = tuple(m.qubit for m in terminal)
    for block in run.blocks:
        base = record_values(block, sum(1 << m.clbit for m in terminal))
        np.add.at(out, (block.samples[:, None], base[:, None] + offsets),
                  _marginal(_probabilities(block.states), qubits))
    return out


def _rng(seed) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        raise QCompileError(f"counts: {seed!r} is not a usable seed ({err})") from None


def _readout_bytes(output: Output, num_qubits: int, rows: int, batch: int, dtype) -> int:
    """What a read-out allocates beside the states: for probabilities the result, and every
    amplitude's probability with their marginal for ``rows`` states at a time."""
    if not isinstance(output, Probs):
        return 0
    real = np.dtype(dtype).itemsize // 2
    return real * ((batch << len(output.qubits or range(num_qubits))) + (rows << num_qubits + 1))


def _prepare(circuit: Circuit, values, dtype) -> tuple[tuple, int, np.dtype]:
    """Check the dtype, bind the values and fuse: the steps to run, and the batch size."""
    steps, env, batch, dtype = bind(circuit, values, dtype)
    return fuse_steps(steps, circuit.num_qubits, dtype, batch), batch, dtype


def bind(circuit: Circuit, values, dtype) -> tuple[tuple, dict[str, np.ndarray], int, np.dtype]:
    """Check the dtype and the values and bind them: the bound steps, the values by name,
    the batch size and the dtype."""
    dtype = checked_dtype(dtype)
    steps = compile_circuit(circuit, dtype)
    binding = bind_values(circuit, values)
    return bind_steps(steps, binding.values, dtype), binding.values, binding.batch, dtype


def checked_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.complex64, np.complex128):
        raise QCompileError(f"the statevector simulator runs in complex64 or complex128, "
                            f"not {dtype}")
    return dtype


def _check_output(circuit: Circuit, output) -> None:
    n = circuit.num_qubits
    if isinstance(output, ExpVal):
        for observable in output.observables:
            for term in observable:
                qubits = [q for q, _ in term.paulis]
                if len(set(qubits)) != len(qubits):
                    raise QCompileError(f"observable term {_describe(term)} names a qubit "
                                        f"twice; write one Pauli factor per qubit")
                for q, p in term.paulis:
                    if p not in PAULIS or not 0 <= q < n:
                        raise QCompileError(f"observable factor {p}{q} is not a Pauli on one "
                                            f"of the {n} qubits of circuit {circuit.name!r}")
    elif isinstance(output, Probs):
        if len(set(output.qubits)) != len(output.qubits) or not all(
                0 <= q < n for q in output.qubits):
            raise QCompileError(f"probs qubits {list(output.qubits)} must be distinct qubits "
                                f"of circuit {circuit.name!r} (0..{n - 1})")
    elif isinstance(output, Counts):
        if output.shots < 1:
            raise QCompileError(f"counts needs a positive number of shots, got {output.shots}")
    elif not isinstance(output, State):
        raise QCompileError(f"unknown output {output!r}: expected expval, probs, counts or "
                            f"state")


def _describe(term: PauliTerm) -> str:
    return " ".join(f"{p}{q}" for q, p in term.paulis) or "I"


def _probabilities(states: np.ndarray) -> np.ndarray:
    return states.real ** 2 + states.imag ** 2


def _per_sample(run: BranchRun, per_row) -> np.ndarray:
    """``per_row(block)`` (one value per row of a block) summed over each sample's rows."""
    out = None
    for block in run.blocks:
        values = per_row(block)
        if out is None:
            out = np.zeros((run.batch,) + values.shape[1:], dtype=values.dtype)
        np.add.at(out, block.samples, values)
    return out


def _marginal(probabilities: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
    """Sum out all qubits but ``qubits``; bit j of the result's index is ``qubits[j]``."""
    batch, n = probabilities.shape[0], int(probabilities.shape[1]).bit_length() - 1
    axis = {q: n - q for q in range(n)}  # qubit q is axis n - q of (B, 2, ..., 2)
    kept = [axis[q] for q in reversed(qubits)]
    summed = [a for a in range(1, n + 1) if a not in kept]
    tensor = probabilities.reshape((batch,) + (2,) * n).transpose([0, *kept, *summed])
    return tensor.reshape(batch, 2 ** len(qubits), -1).sum(axis=2)


def _expectation(observable, states: np.ndarray) -> np.ndarray:
    """Sum over terms of coeff * <psi|P|psi>, per row of ``states``."""
    total = np.zeros(states.shape[0])
    for term in observable:
        flip, sign, phase = pauli_masks(term)
        with serial_when_small(states.size):
            overlap = kernels.pauli_overlaps(states, flip, sign).sum(axis=1)
        total += term.coeff * (phase * overlap).real
    return total
