"""The lean path of the statevector simulator (one sample of a small circuit as a flat gate
list, :mod:`qcompile.backends.statevector.gate_list`) against the planned path and Qiskit,
its numpy and numba tiers against each other, and ``simulate_many`` against one-by-one
``simulate``. The rest of the simulator's tests run on both paths (the ``simulator_path``
fixture of conftest.py)."""

from dataclasses import replace

import numpy as np
import pytest
from qiskit.quantum_info import Statevector
from random_circuits import random_circuit, random_observables, random_values
from sampling_checks import ALPHA, goodness_of_fit

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import (gate_list, gate_list_checks, gate_list_kernels,
                                           outcome_probabilities, planned, simulate,
                                           simulate_many)
from qcompile.ir import (Circuit, Const, Counts, Gate, Measure, Param, Probs, QCompileError,
                         Register, State, Symbol, Unitary)


def measured_at_end(rng, circuit: Circuit) -> Circuit:
    """``circuit`` with terminal measurements of a random set of qubits into distinct bits
    (and a classical register for them)."""
    n = circuit.num_qubits
    k = int(rng.integers(0, n + 1))
    qubits = rng.choice(n, k, replace=False)
    clbits = rng.choice(max(k, 1) + 1, k, replace=False)
    measures = [Measure(int(q), int(c)) for q, c in zip(qubits, clbits)]
    return replace(circuit, cregs=(Register("c", max(k, 1) + 1),),
                   ops=[*circuit.ops, *measures])


def random_lean_case(seed: int):
    rng = np.random.default_rng(seed)
    circuit = random_circuit(rng, num_qubits=1 + seed % 6, length=25, dynamic=False,
                             symbolic=seed % 2 == 1)
    values = random_values(rng) if circuit.params else None
    return rng, measured_at_end(rng, circuit), values


@pytest.fixture
def planned_refused(monkeypatch):
    """Fail the test if a call takes the planned path."""
    def refuse(*args, **kwargs):
        raise AssertionError("the planned path ran")
    monkeypatch.setattr(planned, "simulate_planned", refuse)
    monkeypatch.setattr(planned, "outcome_probabilities_planned", refuse)


@pytest.mark.parametrize("seed", range(60))
def test_lean_outputs_match_planned_and_qiskit(seed, planned_refused, monkeypatch):
    rng, circuit, values = random_lean_case(seed)
    n = circuit.num_qubits
    unmeasured = replace(circuit, ops=[op for op in circuit.ops if not isinstance(op, Measure)])
    probs = Probs(tuple(int(q) for q in rng.choice(n, int(rng.integers(1, n + 1)),
                                                   replace=False)))
    observables = random_observables(rng, n)
    lean = {output: simulate(circuit, output, values)
            for output in (State(), probs, observables)}
    lean["distribution"] = outcome_probabilities(circuit, values)
    monkeypatch.undo()
    expected_state = Statevector(to_qiskit(unmeasured, values)).data
    np.testing.assert_allclose(lean[State()][0], expected_state, rtol=0, atol=1e-10)
    monkeypatch.setattr(gate_list, "MAX_QUBITS", -1)  # the planned path from here on
    for output in (probs, observables):
        np.testing.assert_allclose(lean[output], simulate(circuit, output, values),
                                   rtol=0, atol=1e-10)
    np.testing.assert_allclose(lean["distribution"], outcome_probabilities(circuit, values),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(40))
def test_dynamic_circuits_run_lean_once_deferred(seed, planned_refused, monkeypatch):
    """Mid-circuit measurement, reset and if/else: deferred onto ancillas and run lean, with
    the planned path's (branching) results."""
    rng = np.random.default_rng(4200 + seed)
    circuit = random_circuit(rng, num_qubits=1 + seed % 3, length=14, num_clbits=2)
    observables = random_observables(rng, circuit.num_qubits)
    lean = [simulate(circuit, Probs(())), simulate(circuit, observables),
            outcome_probabilities(circuit)]
    monkeypatch.undo()
    monkeypatch.setattr(gate_list, "MAX_QUBITS", -1)
    expected = [simulate(circuit, Probs(())), simulate(circuit, observables),
                outcome_probabilities(circuit)]
    for found, reference in zip(lean, expected):
        np.testing.assert_allclose(found, reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", range(12))
def test_lean_counts_follow_the_outcome_distribution(seed, planned_refused):
    _, circuit, values = random_lean_case(seed)
    counts = simulate(circuit, Counts(20000), values, seed=seed)
    assert counts.dtype == np.int64 and counts.sum() == 20000
    assert goodness_of_fit(counts[0], outcome_probabilities(circuit, values)[0]) > ALPHA
    np.testing.assert_array_equal(counts, simulate(circuit, Counts(20000), values, seed=seed))


def random_gate_list(seed: int) -> gate_list.GateList:
    rng = np.random.default_rng(seed)
    circuit = random_circuit(rng, num_qubits=2 + seed % 8, length=60, dynamic=False)
    gates = gate_list.flatten(circuit.ops, circuit.num_qubits)
    assert gates is not None
    return gates


@pytest.mark.parametrize("seed", range(30))
def test_numpy_and_numba_tiers_agree(seed):
    gates = random_gate_list(seed)
    by_numpy = np.zeros(2 ** gates.num_qubits, dtype=complex)
    by_numpy[0] = 1
    by_numba = by_numpy.copy()
    gate_list._run_numpy(by_numpy, gates)
    gate_list_kernels.run_one(by_numba, *gates.operands())
    np.testing.assert_allclose(by_numba, by_numpy, rtol=0, atol=1e-12)


def test_many_circuits_in_one_kernel_call_match_one_by_one():
    lists = [random_gate_list(seed) for seed in range(0, 40, 8)]  # one width: 2 qubits
    joined, gate_start = gate_list.concatenate(lists)
    states = np.zeros((len(lists), 4), dtype=complex)
    states[:, 0] = 1
    gate_list_kernels.run_many(states, gate_start, *joined.operands())
    for state, gates in zip(states, lists):
        one = np.zeros(4, dtype=complex)
        one[0] = 1
        gate_list_kernels.run_one(one, *gates.operands())
        np.testing.assert_allclose(state, one, rtol=0, atol=1e-14)


def mixed_batch(seed: int):
    """Circuits of several widths, constant and symbolic, some the lean path runs and some
    it leaves to the planned one (mid-circuit measurement, 13 qubits), with their values."""
    rng = np.random.default_rng(seed)
    circuits, values = [], []
    for k in range(16):
        kind = k % 4
        circuit = random_circuit(rng, num_qubits=1 + k % 4 if kind < 3 else 13,
                                 length=20, dynamic=kind == 2, symbolic=kind == 1)
        circuits.append(measured_at_end(rng, circuit) if kind != 2 else circuit)
        values.append(random_values(rng) if circuit.params else None)
    return circuits, values


@pytest.mark.parametrize("output", [State(), Probs(()), Counts(500)], ids=str)
def test_simulate_many_matches_one_by_one(output):
    circuits, values = mixed_batch(7)
    if isinstance(output, State):  # State is undefined once a measurement branched
        keep = [k for k, c in enumerate(circuits) if c.num_qubits == 13 or k % 4 != 2]
        circuits, values = [circuits[k] for k in keep], [values[k] for k in keep]
    many = simulate_many(circuits, output, values, seed=11)
    seeds = np.random.SeedSequence(11).spawn(len(circuits))
    assert len(many) == len(circuits)
    for result, circuit, value, seed in zip(many, circuits, values, seeds):
        one = simulate(circuit, output, value, seed=seed)
        assert result.shape == one.shape and result.dtype == one.dtype
        np.testing.assert_allclose(result, one, rtol=0, atol=1e-12)


def test_simulate_many_of_symbolic_circuits_uses_each_ones_values():
    x = Param("x", "input")
    circuit = Circuit("ry", (Register("q", 1),), params=(x,),
                      ops=[Gate("ry", (0,), [Symbol("x")])])
    angles = [0.0, 0.4, 2.0, np.pi]
    states = simulate_many([circuit] * 4, State(), [{"x": np.array(a)} for a in angles])
    for state, angle in zip(states, angles):
        np.testing.assert_allclose(state[0], [np.cos(angle / 2), np.sin(angle / 2)], atol=1e-14)


def test_simulate_many_refuses_mismatched_values():
    with pytest.raises(QCompileError, match="2 circuits but 1 value sets"):
        simulate_many([random_circuit(np.random.default_rng(0))] * 2, State(), [None])


def bell(*extra) -> Circuit:
    return Circuit("bad", (Register("q", 2),), (Register("c", 2),),
                   ops=[Gate("h", (0,)), Gate("cx", (0, 1)), *extra])


MALFORMED = {
    "qubit out of range": bell(Gate("x", (2,))),
    "repeated qubit": bell(Gate("cx", (1, 1))),
    "wrong angle count": bell(Gate("rx", (0,), [])),
    "unknown gate": bell(Gate("nope", (0,))),
    "not unitary": bell(Unitary(np.array([[1, 0], [0, 2]], dtype=complex), (0,))),
    "unbound symbol": bell(Gate("rx", (0,), [Symbol("theta")])),
    "clbit out of range": bell(Measure(0, 5)),
    "negative qubit": bell(Gate("h", (-1,))),
    "repeated qubit of three": bell(Gate("ccx", (0, 1, 0))),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_circuits_get_the_planned_paths_message(name, monkeypatch):
    """The lean path declines what it cannot run, and the full checks report it."""
    circuit = MALFORMED[name]
    with monkeypatch.context() as planned_only:
        planned_only.setattr(gate_list, "MAX_QUBITS", -1)
        with pytest.raises(QCompileError) as planned_error:
            simulate(circuit, Probs(()))
    for call in (lambda: simulate(circuit, Probs(())),
                 lambda: simulate_many([bell(), circuit], Probs(()))):
        with pytest.raises(QCompileError) as error:
            call()
        assert str(error.value) == str(planned_error.value)


@pytest.mark.parametrize("seed", range(200))
def test_the_qubit_check_is_the_same_in_python_and_compiled(seed):
    """The numpy tier runs the check as Python, the numba tier compiled: same verdicts, and
    the right ones (every gate's qubits distinct and in range)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    lists = [tuple(int(q) for q in rng.integers(-1, n + 1, int(rng.integers(1, 4))))
             for _ in range(int(rng.integers(0, 6)))]
    arity = np.array([len(qs) for qs in lists], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(arity)]).astype(np.int64)
    qubits = np.array([q for qs in lists for q in qs], dtype=np.int64)
    expected = all(len(set(qs)) == len(qs) and all(0 <= q < n for q in qs) for qs in lists)
    assert gate_list_checks.distinct_qubits_in_range(arity, start, qubits, n) is expected
    assert gate_list_kernels.distinct_qubits_in_range(arity, start, qubits, n) is expected


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_an_infinite_angle_gives_nan_on_both_paths(monkeypatch):
    """Not an error (a value can overflow at run time), but never a finite answer."""
    circuit = bell(Gate("rx", (0,), [Const(np.inf)]))
    lean = simulate(circuit, Probs(()))
    monkeypatch.setattr(gate_list, "MAX_QUBITS", -1)
    planned_result = simulate(circuit, Probs(()))
    assert np.isnan(lean).all() and np.isnan(planned_result).all()
