"""Run a circuit on a batch of parameter values and read out what the caller asked for.

``values`` maps each circuit parameter to an array: with one more axis than the parameter's
shape it is per-sample data (axis 0 is the batch), with exactly its shape it is shared by the
whole batch (typically weights). Outputs have shape ``(B, *output_shape)``.

Two paths give the same results. One sample of a small circuit runs lean: its gates as one
flat list and one call (:mod:`.gate_list`), its mid-circuit measurements, resets and
conditions deferred onto ancillas where they fit. Batches, wide states and the dynamic
circuits deferral does not serve run planned (:mod:`.planned`: fused steps, branches,
parallel kernels), imported on first use so that a small one-off run never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...ir import (Barrier, Circuit, Counts, ExpVal, Gate, Measure, Probs, QCompileError,
                   State, Unitary)
from ...ir.program import PAULIS, Output, PauliTerm
from ...ir.terminal import measured_readout
from ...ir.verify import verify_circuit, verify_declarations
from ..binding import bind_values
from . import gate_list
from .gate_list import GateList
from .readout import clbit_offsets, marginal, probabilities, shot_rng, small_expectation

#: Widest counts histogram (classical bits) the lean path fills; wider ones are checked
#: against the memory available on the planned path.
MAX_LEAN_COUNT_BITS = 20


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
    dtype = checked_dtype(dtype)
    lean = _lean(circuit, output, values, dtype, max_memory)
    if lean is not None:
        return _read(gate_list.run(lean[0])[None], lean[1], seed)
    from .planned import simulate_planned
    return simulate_planned(circuit, output, values, seed=seed, dtype=dtype,
                            max_memory=max_memory)


def simulate_many(circuits: Sequence[Circuit], output: Output,
                  values: Sequence[Mapping[str, np.ndarray] | None] | None = None, *,
                  seed: int | None = None, dtype=np.complex128,
                  max_memory: int | str | None = None) -> list[np.ndarray]:
    """:func:`simulate` of each circuit (with ``values[i]`` for circuit i): the results in
    order, each what ``simulate(circuits[i], output, values[i])`` returns (counts drawn from
    a stream of its own, spawned from ``seed``).

    The lean circuits of one width run in one kernel call, spread over the threads."""
    circuits = list(circuits)
    values = [None] * len(circuits) if values is None else list(values)
    if len(values) != len(circuits):
        raise QCompileError(f"simulate_many: {len(circuits)} circuits but {len(values)} "
                            f"value sets")
    dtype = checked_dtype(dtype)
    seeds = (np.random.SeedSequence(seed).spawn(len(circuits)) if isinstance(output, Counts)
             else [None] * len(circuits))
    results: list[np.ndarray | None] = [None] * len(circuits)
    lean: dict[tuple[int, bool], list[tuple[int, _LeanCall]]] = {}
    for index, (circuit, value) in enumerate(zip(circuits, values)):
        _check_output(circuit, output)
        call = _lean_call(circuit, output, value, dtype, max_memory)
        if call is None:
            results[index] = simulate(circuit, output, value, seed=seeds[index], dtype=dtype,
                                      max_memory=max_memory)
        else:  # constant circuits of one width are flattened together
            lean.setdefault((call.circuit.num_qubits, call.env is None), []).append(
                (index, call))
    for (width, constant), group in lean.items():
        flat = (gate_list.flatten_many([call.ops for _, call in group], width) if constant
                else _concatenated([call.gates() for _, call in group]))
        if flat is None:  # a malformed circuit among them: each on its own reports it
            for index, _ in group:
                results[index] = simulate(circuits[index], output, values[index],
                                          seed=seeds[index], dtype=dtype,
                                          max_memory=max_memory)
            continue
        for (index, call), state in zip(group, gate_list.run_many(*flat)):
            results[index] = _read(state[None], call, seeds[index])
    return results


def _concatenated(lists):
    return None if any(g is None for g in lists) else gate_list.concatenate(lists)


def outcome_probabilities(circuit: Circuit, values: Mapping[str, np.ndarray] | None = None,
                          *, dtype=np.complex128, max_memory: int | str | None = None
                          ) -> np.ndarray:
    """The exact distribution that Counts samples from, shape ``(B, 2**k)``, float64.

    Over the classical bits (index bit j is clbit j), or over all qubits measured at the end
    when the circuit has no classical bits.
    """
    dtype = checked_dtype(dtype)
    lean = _lean(circuit, Probs(()), values, dtype, max_memory, distribution=True)
    if lean is not None:
        return _distribution(gate_list.run(lean[0])[None], lean[1].circuit, lean[1].terminal)
    from .planned import outcome_probabilities_planned
    return outcome_probabilities_planned(circuit, values, dtype=dtype, max_memory=max_memory)


@dataclass(frozen=True)
class _LeanCall:
    """A call the lean path runs: the circuit (the caller's, or its deferred form), its
    gates (without the terminal measurements), those measurements, the output to read
    (pointed at the deferred circuit's wires) and the values of its one sample (None: a
    constant circuit)."""

    circuit: Circuit
    ops: Sequence
    terminal: tuple[Measure, ...]
    output: Output
    env: dict[str, np.ndarray] | None

    def gates(self) -> GateList | None:
        return gate_list.flatten(self.ops, self.circuit.num_qubits, self.env)


def _lean_call(circuit: Circuit, output: Output, values, dtype, max_memory, *,
               distribution: bool = False) -> _LeanCall | None:
    """The lean path runs one sample, complex128, at most :data:`.gate_list.MAX_QUBITS`
    qubits, gates followed only by measurements of distinct qubits into distinct bits; a
    memory limit is checked on the planned path (the lean one needs too little to ask).
    Mid-circuit measurement, reset and if/else are deferred (:mod:`qcompile.passes.
    defer_measurements`) when the ancillas fit and the read-out is one the deferred form
    gives exactly: not the state, and only over classical bits for counts and
    ``distribution`` (the outcome distribution)."""
    if dtype != np.complex128 or circuit.num_qubits > gate_list.MAX_QUBITS or (
            max_memory is not None):
        return None
    end = _terminal_start(circuit.ops)
    dynamic = not set(map(type, circuit.ops[:end])) <= {Gate, Unitary, Barrier}
    verify_declarations(circuit)
    if circuit.params or dynamic:
        verify_circuit(circuit)  # symbols, measurements (gate_list checks all else)
    env = None
    if circuit.params:
        binding = bind_values(circuit, values)
        if binding.batch != 1:
            return None
        env = {name: value[0] if name in binding.batched else value
               for name, value in binding.values.items()}
    if dynamic:
        deferred = _deferred(circuit, output, distribution)
        if deferred is None:
            return None
        circuit, output = deferred
        end = _terminal_start(circuit.ops)
    n, ops = circuit.num_qubits, circuit.ops
    if isinstance(output, Counts) and (circuit.num_clbits or n) > MAX_LEAN_COUNT_BITS:
        return None
    terminal = tuple(op for op in ops[end:] if type(op) is Measure)
    if terminal:
        qubits = {m.qubit for m in terminal}
        clbits = {m.clbit for m in terminal}
        if (len(qubits) < len(terminal) or len(clbits) < len(terminal)
                or min(qubits) < 0 or max(qubits) >= n
                or min(clbits) < 0 or max(clbits) >= circuit.num_clbits):
            return None
    return _LeanCall(circuit, ops[:end], terminal, output, env)


def _terminal_start(ops: Sequence) -> int:
    """Where the trailing measurements (and barriers) of ``ops`` begin."""
    end = len(ops)
    while end and type(ops[end - 1]) in (Measure, Barrier):
        end -= 1
    return end


def _deferred(circuit: Circuit, output: Output, distribution: bool
              ) -> tuple[Circuit, Output] | None:
    """The deferred circuit and ``output`` on its wires, or None where deferral does not
    give this read-out exactly or needs more than :data:`.gate_list.MAX_QUBITS` qubits (the
    deferral stops there, so its work stays small)."""
    if isinstance(output, State) or (
            not circuit.num_clbits and (distribution or isinstance(output, Counts))):
        return None  # a state or a record over every wire would include the ancillas
    from ...passes.defer_measurements import defer_circuit
    from ...passes.wires import output_on_wires
    try:
        deferred, wire = defer_circuit(circuit, max_wires=gate_list.MAX_QUBITS)
    except QCompileError:  # too wide, or not deferrable (symbolic angles under a condition)
        return None
    return deferred, output_on_wires(output, wire, deferred.num_qubits)


def _lean(circuit: Circuit, output: Output, values, dtype, max_memory, *,
          distribution: bool = False) -> tuple[GateList, _LeanCall] | None:
    """The gate list of a call the lean path runs, and the call; or None."""
    call = _lean_call(circuit, output, values, dtype, max_memory, distribution=distribution)
    gates = None if call is None else call.gates()
    return None if gates is None else (gates, call)


def _read(states: np.ndarray, call: _LeanCall, seed) -> np.ndarray:
    """The call's output of the final states ``(1, 2**n)`` of a lean run."""
    output, circuit, terminal = call.output, call.circuit, call.terminal
    if isinstance(output, State):
        return states
    if isinstance(output, Probs):
        return marginal(probabilities(states), output.qubits or tuple(range(circuit.num_qubits)))
    if isinstance(output, ExpVal):
        output = measured_readout(output, {m.qubit for m in terminal})
        return np.stack([small_expectation(o, states) for o in output.observables], axis=1)
    distribution = _distribution(states, circuit, terminal)[0]
    rng = shot_rng(seed)
    return rng.multinomial(output.shots, distribution / distribution.sum())[None]


def _distribution(states: np.ndarray, circuit: Circuit, terminal: tuple[Measure, ...]
                  ) -> np.ndarray:
    """:func:`outcome_probabilities` of the final states of a lean run."""
    p = probabilities(states)
    if not circuit.num_clbits:
        return p
    out = np.zeros((states.shape[0], 2 ** circuit.num_clbits))
    out[:, clbit_offsets(terminal)] = marginal(p, tuple(m.qubit for m in terminal))
    return out


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
