"""Differential tests of defer-measurements and reuse-qubits on random dynamic circuits.

Meaning is judged by the independent reference in ``reference.py`` (Qiskit density matrices
with measurement, reset and feed-forward): the distribution of classical records must not
change. Controlled gates are compared with Qiskit's own ``control()``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import (DensityMatrix, Operator, SparsePauliOp, Statevector,
                                 partial_trace)
from conftest import CORPUS
from random_circuits import random_circuit, random_ops, random_values
from reference import final_density_matrix, outcome_distribution

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.frontend.source import load_source
from qcompile.ir import (GATES, Barrier, Circuit, Condition, Const, Counts, ExpVal, Gate,
                         IfElse, Measure, Param, PauliTerm, Probs, Program, QCompileError,
                         Register, Reset, SetBits, Symbol)
from qcompile.ir.gates import GateSpec
from qcompile.ir.ops import clbits_of, qubits_of, walk
from qcompile.passes import PassManager
from qcompile.passes import defer_measurements, reuse_qubits  # noqa: F401  (registers them)
from qcompile.ir.controlled import controlled_ops
from qcompile.passes.reuse_qubits import WidthChange

NUM_CIRCUITS = 500
NUM_SYMBOLIC = 150
ATOL = 1e-9
PARAMS = (Param("x", "input", (2,)), Param("w", "weight", (3,)))
REFERENCE_MAX_WIDTH = 7


@dataclass
class Case:
    circuit: Circuit
    values: dict | None
    records: dict[tuple[int, ...], float]


def _corpus(seed: int, count: int, symbolic: bool) -> list[Case]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        circuit = random_circuit(rng, 2 + i % 3, int(rng.integers(8, 20)), dynamic=True,
                                 symbolic=symbolic)
        values = random_values(rng) if symbolic else None
        out.append(Case(circuit, values, outcome_distribution(circuit, values)))
    return out


@pytest.fixture(scope="module")
def corpora() -> dict[str, list[Case]]:
    return {"constant": _corpus(7, NUM_CIRCUITS, False),
            "symbolic": _corpus(8, NUM_SYMBOLIC, True)}


def _run(pipeline: str, circuit: Circuit, output=None) -> tuple[Program, PassManager]:
    manager = PassManager(pipeline)
    return manager.run(Program.from_circuit(circuit, output or Counts(100))), manager


def _final_records(circuit: Circuit, values) -> dict[tuple[int, ...], float]:
    """Record distribution of a unitary circuit followed by final measurements. The
    density-matrix reference costs ~4^n per operation, so deferred circuits wider than
    REFERENCE_MAX_WIDTH (a few in the corpus) are checked with Qiskit's Statevector."""
    if circuit.num_qubits <= REFERENCE_MAX_WIDTH:
        return outcome_distribution(circuit, values)
    _assert_unitary_then_measured(circuit)
    measures = [op for op in circuit.ops if isinstance(op, Measure)]
    unitary = circuit.with_ops(op for op in circuit.ops if not isinstance(op, Measure))
    records: dict[tuple[int, ...], float] = {}
    for index, p in enumerate(Statevector(to_qiskit(unitary, values)).probabilities()):
        bits = [0] * circuit.num_clbits
        for m in measures:
            bits[m.clbit] = (index >> m.qubit) & 1
        records[tuple(bits)] = records.get(tuple(bits), 0.0) + p
    return records


def _assert_same_records(case: Case, new: Circuit, label: str) -> None:
    records = _final_records(new, case.values)
    for bits in set(records) | set(case.records):
        assert abs(records.get(bits, 0.0) - case.records.get(bits, 0.0)) < ATOL, (label, bits)


def _assert_unitary_then_measured(circuit: Circuit) -> None:
    """No if/else, no reset, and nothing touches a qubit after its measurement."""
    measured: set[int] = set()
    for op in circuit.ops:
        assert not isinstance(op, (IfElse, Reset)), op
        if isinstance(op, Measure):
            measured.add(op.qubit)
        elif not isinstance(op, Barrier):
            assert not measured & set(qubits_of(op)), op


def _written_clbits(circuit: Circuit) -> set[int]:
    """Bits a measurement or a set writes."""
    return {c for op in walk(circuit.ops) if isinstance(op, (Measure, SetBits))
            for c in clbits_of(op)}


# --- defer-measurements --------------------------------------------------------------------

@pytest.mark.parametrize("corpus", ["constant", "symbolic"])
def test_defer_keeps_records_and_leaves_only_final_measurements(corpora, corpus):
    added = 0
    for index, case in enumerate(corpora[corpus]):
        deferred = _run("defer-measurements", case.circuit)[0].circuits[0]
        _assert_unitary_then_measured(deferred)
        assert deferred.cregs == case.circuit.cregs
        assert _written_clbits(deferred) <= _written_clbits(case.circuit)
        _assert_same_records(case, deferred, f"defer {corpus} {index}")
        added += deferred.num_qubits - case.circuit.num_qubits
    assert added > 0  # the corpus does exercise the ancillas


@pytest.mark.parametrize("seed", range(120))
def test_defer_keeps_each_qubits_final_state(seed):
    """The wires the pass names for the qubits hold their final state: the deferred
    circuit's reduced density matrix on them is the dynamic circuit's (a reset at the very
    end included), once the wires measured at the end are dephased as their measurement
    does (a wire that is its own record is not copied)."""
    rng = np.random.default_rng(8100 + seed)
    circuit = random_circuit(rng, num_qubits=1 + seed % 3, length=16, num_clbits=2)
    if seed % 4 == 0:
        circuit = replace(circuit, ops=(*circuit.ops, Reset(int(rng.integers(circuit.num_qubits)))))
    deferred, wire = defer_measurements.defer_circuit(circuit)
    unitary = replace(deferred, ops=[op for op in deferred.ops if not isinstance(op, Measure)])
    kept = sorted(wire)  # partial_trace keeps the wires in increasing order
    reduced = partial_trace(Statevector(to_qiskit(unitary)),
                            [w for w in range(deferred.num_qubits) if w not in wire]).data
    expected = _reordered(final_density_matrix(circuit), [kept.index(w) for w in wire])
    measured = {kept.index(op.qubit) for op in deferred.ops
                if isinstance(op, Measure) and op.qubit in wire}
    np.testing.assert_allclose(_dephased(reduced, measured), _dephased(expected, measured),
                               atol=1e-9)


def _reordered(rho: np.ndarray, order: list[int]) -> np.ndarray:
    """``rho`` over qubits q, expressed over the positions ``order[q]``."""
    n = len(order)
    axes = [0] * n  # axis n-1-q of the row (and column) tensor is qubit q
    for q, position in enumerate(order):
        axes[n - 1 - position] = n - 1 - q
    return rho.reshape((2,) * (2 * n)).transpose(axes + [n + a for a in axes]).reshape(
        2 ** n, 2 ** n)


def _dephased(rho: np.ndarray, positions: set[int]) -> np.ndarray:
    """``rho`` with the coherences between the Z states of each of ``positions`` removed."""
    index = np.arange(rho.shape[0])
    keep = np.ones(rho.shape, dtype=bool)
    for p in positions:
        keep &= ((index[:, None] >> p) & 1) == ((index[None, :] >> p) & 1)
    return np.where(keep, rho, 0)


def test_defer_nested_multi_bit_conditions_and_branch_measurements():
    """Nesting (three controls on a symbolic crx; a condition repeating the enclosing one),
    conditions with 0 bits or a bit listed twice, a bit never written, a branch measuring
    into its own condition bit, and a reset in a branch."""
    x0, w1 = Symbol("x", (0,)), Symbol("w", (1,))
    ops = [Gate("h", (0,)), Gate("ry", (1,), [x0]), Measure(0, 0), Measure(1, 1),
           Gate("h", (0,)), Gate("cx", (0, 2)),
           IfElse(Condition((0, 1), 0b01), [
               Gate("ry", (2,), [w1 * 2.0]),
               IfElse(Condition((1,), 0), [Gate("crx", (2, 0), [x0 + w1]), Measure(2, 1),
                                           Reset(0)], [Gate("x", (2,))]),
           ], [Gate("u", (2,), [x0, w1, 0.3]), Gate("h", (2,))]),
           IfElse(Condition((2,), 1), [Gate("x", (1,))], [Gate("rzz", (1, 2), [w1])]),
           IfElse(Condition((0,), 0), [Gate("h", (1,)), IfElse(  # the enclosing bit again
               Condition((0, 0), 0b00), [Gate("ry", (1,), [x0])], [Gate("x", (1,))])]),
           IfElse(Condition((1, 1), 0b01), [Gate("x", (2,))], [Gate("h", (2,))]),  # never
           Measure(2, 2), Measure(1, 1)]
    circuit = Circuit("nested", (Register("q", 3),), (Register("c", 3),), PARAMS, ops)
    deferred = _run("defer-measurements", circuit)[0].circuits[0]
    _assert_unitary_then_measured(deferred)
    rng = np.random.default_rng(11)
    for _ in range(3):
        values = random_values(rng)
        _assert_same_records(Case(circuit, values, outcome_distribution(circuit, values)),
                             deferred, "nested")


WEIGHTS4 = (Param("w", "weight", (4,)),)


def test_defer_branch_measurement_keeps_the_old_bit_when_not_taken():
    """Measurements in branches overwrite bits written before (rare in the random corpus):
    under a one-bit condition, and under a two-bit condition (flag) in both branches."""
    ops = [Gate("h", (0,)), Measure(0, 0), Gate("ry", (1,), [0.8]), Measure(1, 1),
           Gate("ry", (2,), [2.1]), Measure(2, 2), Gate("h", (2,)),
           IfElse(Condition((0,), 1), [Measure(2, 1)]),
           IfElse(Condition((0, 2), 0b10), [Gate("x", (2,)), Measure(2, 1)], [Measure(2, 2)]),
           IfElse(Condition((0, 1), 0b01), [Gate("ry", (2,), [0.7])]),  # the flag again
           Measure(2, 3)]
    circuit = Circuit("overwrite", (Register("q", 3),), (Register("c", 4),), (), ops)
    deferred = _run("defer-measurements", circuit)[0].circuits[0]
    _assert_unitary_then_measured(deferred)
    _assert_same_records(Case(circuit, None, outcome_distribution(circuit)), deferred,
                         "overwrite")


def _reference_controlled(name: str, params, num_controls: int, ctrl_state: int, values):
    spec = GATES[name]
    alone = Circuit("g", (Register("q", spec.num_qubits),), (), WEIGHTS4,
                    (Gate(name, range(spec.num_qubits), params),))
    n = num_controls + spec.num_qubits
    reference = QuantumCircuit(n)
    reference.append(UnitaryGate(Operator(to_qiskit(alone, values))).control(
        num_controls, ctrl_state=ctrl_state), range(n))
    return Operator(reference)


@pytest.mark.parametrize("name", sorted(GATES))
def test_controlled_gates_are_exact_including_phase(name):
    """Every gate, symbolic and constant, under 1-3 controls in random states."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    spec = GATES[name]
    values = {"w": rng.uniform(-np.pi, np.pi, 4)}
    symbols = [Symbol("w", (k,)) for k in range(spec.num_params)]
    constants = [Const(v) for v in values["w"][:spec.num_params]]
    for params in ([symbols, constants] if spec.num_params else [[]]):
        for num_controls in (1, 2, 3):
            states = [int(s) for s in rng.integers(2, size=num_controls)]
            gate = Gate(name, range(num_controls, num_controls + spec.num_qubits), params)
            ops = controlled_ops(gate, list(enumerate(states)))
            n = num_controls + spec.num_qubits
            got = Operator(to_qiskit(Circuit("c", (Register("q", n),), (), WEIGHTS4, ops),
                                     values))
            expected = _reference_controlled(name, params, num_controls,
                                             sum(s << k for k, s in enumerate(states)), values)
            np.testing.assert_allclose(got.data, expected.data, atol=1e-10,
                                       err_msg=f"{name} {params} {states}")


def _expectation(density: np.ndarray, paulis, num_qubits: int) -> float:
    observable = SparsePauliOp.from_sparse_list(
        [("".join(p for _, p in paulis), [q for q, _ in paulis], 1.0)], num_qubits)
    return float(np.real(DensityMatrix(density).expectation_value(observable)))


@pytest.mark.parametrize("pipeline", ["defer-measurements", "reuse-qubits"])
def test_expval_and_probs_outputs_follow_the_moved_qubits(pipeline):
    """A reset moves q0 to a fresh wire (defer); q3 starts after q2 finished (reuse), but
    not on the wire of q1, which finishes early too but is read at the end."""
    ops = [Gate("h", (0,)), Gate("ry", (1,), [0.4]), Gate("ry", (2,), [1.3]),
           Gate("cx", (2, 1)), Measure(1, 1), Gate("ry", (1,), [0.5]),
           Measure(0, 0), Reset(0), Gate("rx", (0,), [0.9]),
           IfElse(Condition((0,), 1), [Gate("ry", (3,), [1.1])]), Gate("cx", (0, 3)),
           Gate("sx", (3,))]
    circuit = Circuit("moves", (Register("q", 4),), (Register("c", 2),), (), ops)
    paulis = [((0, "Z"),), ((3, "X"),), ((0, "Y"), (3, "Z")), ((1, "Z"),)]
    output = ExpVal(tuple((PauliTerm(1.0, p),) for p in paulis))
    program, manager = _run(pipeline, circuit, output)
    new = program.circuits[0]
    assert new.num_qubits != circuit.num_qubits
    moved = program.body[0].output.observables
    before, after = final_density_matrix(circuit), final_density_matrix(new)
    for term, moved_term in zip(paulis, moved):
        assert abs(_expectation(before, term, 4)
                   - _expectation(after, moved_term[0].paulis, new.num_qubits)) < ATOL
    for qubits in [(3, 0, 1), ()]:
        program = _run(pipeline, circuit, Probs(qubits))[0]
        moved = program.body[0].output.qubits or range(program.circuits[0].num_qubits)
        np.testing.assert_allclose(
            DensityMatrix(final_density_matrix(program.circuits[0])).probabilities(moved),
            DensityMatrix(before).probabilities(qubits or None), atol=ATOL)


# --- reuse-qubits --------------------------------------------------------------------------

@pytest.mark.parametrize("corpus", ["constant", "symbolic"])
def test_reuse_keeps_records_and_never_widens(corpora, corpus):
    before = after = narrowed = 0
    for index, case in enumerate(corpora[corpus]):
        program, manager = _run("reuse-qubits", case.circuit)
        new = program.circuits[0]
        change = manager.properties["reuse-qubits"][case.circuit.name]
        assert change == WidthChange.between(case.circuit, new)
        assert (change.before, change.after) == (case.circuit.num_qubits, new.num_qubits)
        assert new.num_qubits <= case.circuit.num_qubits
        _assert_same_records(case, new, f"reuse {corpus} {index}")
        before, after = before + change.before, after + change.after
        narrowed += change.after < change.before
    assert after < before and narrowed >= len(corpora[corpus]) // 20, (before, after, narrowed)


def _shifted(op, offset: int):
    if isinstance(op, IfElse):
        return IfElse(op.condition, [_shifted(o, offset) for o in op.then_body],
                      [_shifted(o, offset) for o in op.else_body])
    if isinstance(op, (Measure, Reset)):
        return replace(op, qubit=op.qubit + offset)
    if isinstance(op, SetBits):
        return op
    return replace(op, qubits=tuple(q + offset for q in op.qubits))


def test_reuse_narrows_circuits_whose_registers_take_turns():
    """First register: random ops, then measured; second register starts afterwards and
    may branch on those measurements. The minimum width is the larger register."""
    rng = np.random.default_rng(12)
    for index in range(100):
        num_qubits = 3 + index % 3
        first = int(rng.integers(1, num_qubits))
        head = random_ops(rng, first, 2, int(rng.integers(4, 10)), dynamic=True,
                          symbolic=False)
        tail = random_ops(rng, num_qubits - first, 2, int(rng.integers(4, 10)), dynamic=True,
                          symbolic=False)
        ops = head + [Measure(q, q % 2) for q in range(first)] + [
            _shifted(op, first) for op in tail]
        circuit = Circuit("turns", (Register("q", num_qubits),), (Register("c", 2),), (), ops)
        new = _run("reuse-qubits", circuit)[0].circuits[0]
        assert new.num_qubits <= max(first, num_qubits - first), index
        _assert_same_records(Case(circuit, None, outcome_distribution(circuit)), new,
                             f"turns {index}")


def _qksan_like() -> Circuit:
    """Score register (compute-uncompute kernel) measured mid-circuit; the value register
    then runs conditioned on the scores, as in QKSAN."""
    x0, x1, w0, w1, w2 = (Symbol("x", (0,)), Symbol("x", (1,)), Symbol("w", (0,)),
                          Symbol("w", (1,)), Symbol("w", (2,)))
    score = [Gate("ry", (0,), [x0]), Gate("ry", (1,), [x1]), Gate("cx", (0, 1)),
             Gate("cx", (0, 1)), Gate("ry", (1,), [-w1]), Gate("ry", (0,), [-w0]),
             Measure(0, 0), Measure(1, 1)]
    value = [Gate("h", (2,)), Gate("ry", (3,), [x1 * w2]),
             IfElse(Condition((0, 1), 0b00), [Gate("crx", (2, 3), [w2]), Gate("cx", (3, 2))],
                    [Gate("ry", (2,), [x0])]),
             IfElse(Condition((0,), 1), [Gate("x", (3,))]),
             Measure(2, 2), Measure(3, 3)]
    return Circuit("qksan", (Register("score", 2), Register("value", 2)),
                   (Register("c", 4),), PARAMS, score + value)


def test_qksan_like_circuit_halves_with_reuse_and_defers_without_copies():
    circuit = _qksan_like()
    values = random_values(np.random.default_rng(13))
    case = Case(circuit, values, outcome_distribution(circuit, values))
    program, manager = _run("reuse-qubits", circuit)
    narrow = program.circuits[0]
    change = manager.properties["reuse-qubits"]["qksan"]
    assert (change.before, change.after) == (4, 2)
    assert [r.name for r in narrow.qregs] == ["score"]
    _assert_same_records(case, narrow, "qksan reuse")
    deferred = _run("defer-measurements", circuit)[0].circuits[0]
    # one flag for the two-bit condition; the measured scores are never touched again, so
    # they need no ancilla
    assert deferred.num_qubits == 5
    _assert_unitary_then_measured(deferred)
    _assert_same_records(case, deferred, "qksan defer")
    round_trip = _run("reuse-qubits,defer-measurements", circuit)[0].circuits[0]
    _assert_same_records(case, round_trip, "qksan reuse then defer")


def test_reuse_leaves_circuits_within_max_width_alone():
    circuit = _qksan_like()
    assert _run("reuse-qubits(max_width=4)", circuit)[0].circuits[0] == circuit
    # reuse stops once the circuit fits: no reordering beyond what max_width asks
    assert _run("reuse-qubits(max_width=3)", circuit)[0].circuits[0].num_qubits == 3


# --- errors --------------------------------------------------------------------------------

def test_max_qubits_and_max_width_exceeded():
    circuit = _qksan_like().with_ops([Gate("h", (0,)), Measure(0, 0), Gate("h", (0,)),
                                      Reset(1), Gate("x", (1,)), Gate("cx", (1, 2))])
    with pytest.raises(QCompileError, match=r"'qksan' needs 5 qubits .* max_qubits=4"):
        _run("defer-measurements(max_qubits=4)", circuit)
    with pytest.raises(QCompileError, match=r"'qksan' needs 2 qubits .* max_width=1"):
        _run("reuse-qubits(max_width=1)", _qksan_like())


@pytest.mark.parametrize("pipeline", ["defer-measurements(max_qubits=0)",
                                      "reuse-qubits(max_width=two)"])
def test_bad_options(pipeline):
    with pytest.raises(QCompileError, match="must be a positive integer"):
        PassManager(pipeline)


def test_symbolic_gate_without_controlled_form(monkeypatch):
    spec = GATES["rx"]
    monkeypatch.setitem(GATES, "myrot", GateSpec("myrot", 1, spec.matrix, spec.angles))
    ops = [Gate("h", (0,)), Measure(0, 0),
           IfElse(Condition((0,), 1), [Gate("myrot", (1,), [Symbol("w", (0,))])])]
    circuit = Circuit("custom", (Register("q", 2),), (Register("c", 1),), PARAMS[1:], ops)
    with pytest.raises(QCompileError, match=r"circuit 'custom': gate myrot\(w\[0\]\) in an "
                                            r"if/else branch has symbolic parameters"):
        _run("defer-measurements", circuit)


def test_deep_conditions_are_refused_not_written_as_huge_matrices():
    """Each nested if adds a control; past the dense-matrix bound the pass stops with a
    message instead of allocating 2**n x 2**n matrices."""
    ops = [Gate("h", (0,)), Measure(0, 0)]
    body = [Gate("u", (1,), [0.1, 0.2, 0.3]), Reset(1)]
    for k in range(12):
        body = [Gate("h", (0,)), Measure(0, k + 1), IfElse(Condition((k + 1,), 1), body)]
    circuit = Circuit("deep", (Register("q", 2),), (Register("c", 13),),
                      ops=(*ops, IfElse(Condition((0,), 1), body)))
    with pytest.raises(QCompileError, match=r"under \d+ controls acts on \d+ qubits: its "
                                            r"matrix would have 2\*\*\d+ rows"):
        _run("defer-measurements", circuit)


def test_deferral_of_many_nested_conditions_is_refused_within_bounded_memory():
    """The specification's iterative phase estimation: each round's if/else controls the
    next; its deferred form would hold hundreds of dense matrices."""
    path = CORPUS / "openqasm3-examples" / "ipe.qasm"
    if not path.exists():
        pytest.skip("corpus not found")
    with pytest.raises(QCompileError, match=r"'ipe' would need more than 256 MiB of "
                                            r"controlled-gate matrices"):
        _run("defer-measurements", load_source(path).circuits[0])
