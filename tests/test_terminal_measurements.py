"""Terminal measurements are read from the final state: the rule, every read-out against
Qiskit (Statevector, aer) and the density-matrix reference, and gradients by the adjoint."""

import numpy as np
import pytest
from qiskit.quantum_info import DensityMatrix, SparsePauliOp, Statevector

from aer_reference import aer_distribution
from finite_differences import assert_gradients_close, gradients_by_differences
from random_circuits import random_circuit, random_values
from reference import final_density_matrix, outcome_distribution
from sampling_checks import ALPHA, as_histogram, goodness_of_fit, homogeneity

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import outcome_probabilities, simulate, vjp
from qcompile.backends.statevector.adjoint import adjoint_vjp
from qcompile.ir import (Barrier, Circuit, Condition, Counts, ExpVal, Gate, IfElse, Measure,
                         PauliTerm, Probs, Register, Reset, SetBits, State)
from qcompile.ir.ops import qubits_of
from qcompile.ir.terminal import dynamic_reason, split_terminal, terminal_indices

CREGS = (Register("a", 2), Register("b", 3))  # five clbits in two registers

#: Every test runs on the lean path and on the planned one.
pytestmark = pytest.mark.usefixtures("simulator_path")


def circuit_of(ops):
    return Circuit("t", (Register("q", 2),), (Register("c", 2),), ops=ops)


# --- the rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ops,terminal", [
    ([Gate("h", (0,)), Measure(0, 0), Measure(1, 1)], {1, 2}),
    ([Measure(0, 0), Gate("h", (1,)), Barrier((0, 1))], {0}),  # other qubits, barriers: fine
    ([Measure(0, 0), Gate("x", (0,))], set()),  # a later gate on the qubit
    ([Measure(0, 0), Reset(0)], set()),
    ([Measure(0, 0), Measure(0, 1)], {1}),  # measured again: the first one is mid-circuit
    ([Measure(0, 0), Measure(1, 0)], {1}),  # its bit overwritten
    ([Measure(0, 0), SetBits((0,), 1)], set()),  # its bit written
    ([Measure(0, 0), IfElse(Condition((0,), 1), (Gate("x", (1,)),))], set()),  # bit read
    ([Measure(0, 0), IfElse(Condition((1,), 1), (Gate("x", (0,)),))], set()),  # qubit touched
    ([Measure(0, 0), IfElse(Condition((1,), 1), (Gate("x", (1,)),))], {0}),
    ([IfElse(Condition((1,), 1), (Measure(0, 0),))], set()),  # conditional: never terminal
])
def test_which_measurements_are_terminal(ops, terminal):
    assert terminal_indices(ops) == terminal
    circuit = circuit_of(ops)
    prefix, measures = split_terminal(circuit)
    assert measures == tuple(ops[i] for i in sorted(terminal))
    assert list(prefix.ops) == [op for i, op in enumerate(ops) if i not in terminal]


def test_dynamic_reason_ignores_terminal_measurements_only():
    assert dynamic_reason(circuit_of([Gate("h", (0,)), Measure(0, 0), Measure(1, 1)])) == ""
    assert "mid-circuit" in dynamic_reason(circuit_of([Measure(0, 0), Gate("h", (0,))]))
    assert "reset" in dynamic_reason(circuit_of([Reset(0), Measure(0, 0)]))


# --- random circuits against Qiskit -----------------------------------------------------------

def terminal_circuit(rng, num_qubits, *, symbolic=False):
    """A random unitary circuit; some qubits measured into permuted bits of two registers,
    each right after the last operation on its qubit (so terminal measurements interleave
    with gates on other qubits). Returns the circuit, the unitary part and the measures."""
    unitary = random_circuit(rng, num_qubits, 25, dynamic=False, symbolic=symbolic)
    measured = [int(q) for q in rng.choice(num_qubits, int(rng.integers(1, num_qubits + 1)),
                                           replace=False)]
    clbits = [int(c) for c in rng.choice(5, len(measured), replace=False)]
    last = {q: max((i for i, op in enumerate(unitary.ops) if q in qubits_of(op)), default=-1)
            for q in measured}
    measures = {q: Measure(q, c) for q, c in zip(measured, clbits)}
    ops = [measures[q] for q in measured if last[q] == -1]
    for i, op in enumerate(unitary.ops):
        ops.append(op)
        ops += [measures[q] for q in measured if last[q] == i]
    circuit = Circuit("terminal", unitary.qregs, CREGS, unitary.params, ops)
    return circuit, unitary, [measures[q] for q in measured]


def expected_records(unitary, measures, values=None) -> np.ndarray:
    """The distribution over the five clbits from Qiskit's Statevector probabilities."""
    probabilities = Statevector(to_qiskit(unitary, values)).probabilities(
        [m.qubit for m in measures])
    out = np.zeros(2 ** 5)
    for outcome, p in enumerate(probabilities):
        out[sum(((outcome >> j) & 1) << m.clbit for j, m in enumerate(measures))] += p
    return out


@pytest.mark.parametrize("seed", range(30))
def test_random_terminal_measurements_match_qiskit(seed):
    rng = np.random.default_rng(7000 + seed)
    n = 1 + seed % 5
    circuit, unitary, measures = terminal_circuit(rng, n)
    assert dynamic_reason(circuit) == "" and len(split_terminal(circuit)[1]) == len(measures)
    expected = expected_records(unitary, measures)
    np.testing.assert_allclose(outcome_probabilities(circuit)[0], expected, atol=1e-10)
    # State is the pre-measurement state: Qiskit's Statevector without final measurements.
    qc = to_qiskit(circuit)
    qc.remove_final_measurements()
    np.testing.assert_allclose(simulate(circuit, State())[0], Statevector(qc).data, atol=1e-10)
    np.testing.assert_allclose(simulate(circuit, Probs())[0], Statevector(qc).probabilities(),
                               atol=1e-10)
    # ExpVal after the measurements, against the density-matrix reference: X and Y factors
    # on measured qubits read 0.
    observable = [PauliTerm(1.0, ((0, "X"),)), PauliTerm(-0.7, tuple((q, "Z") for q in range(n)))]
    if n > 1:
        observable.append(PauliTerm(0.5, ((0, "Z"), (n - 1, "Y"))))
    sparse = SparsePauliOp.from_sparse_list(
        [("".join(p for _, p in t.paulis), [q for q, _ in t.paulis], t.coeff)
         for t in observable], num_qubits=n)
    expval = simulate(circuit, ExpVal((tuple(observable),)))[0, 0]
    assert expval == pytest.approx(
        DensityMatrix(final_density_matrix(circuit)).expectation_value(sparse).real, abs=1e-10)
    counts = simulate(circuit, Counts(20000), seed=seed)[0]
    assert goodness_of_fit(counts, expected) > ALPHA


def test_counts_match_aer_and_a_wrong_distribution_fails():
    """Our counts and aer's of the same circuit pass a two-sample test; the exact
    distribution with two clbits exchanged (a plausible bug) fails against our counts."""
    rng = np.random.default_rng(71)
    circuit, unitary, measures = next(
        c for c in (terminal_circuit(rng, 4) for _ in range(50))
        if len(c[2]) >= 3 and np.sort(expected_records(c[1], c[2]))[-4] > 0.05)
    ours = simulate(circuit, Counts(20000), seed=5)[0]
    theirs = as_histogram(aer_distribution(to_qiskit(circuit), shots=20000, seed=5), 32)
    assert homogeneity(ours, np.rint(theirs * 20000)) > ALPHA
    a, b = measures[0].clbit, measures[1].clbit
    swapped = [Measure(m.qubit, {a: b, b: a}.get(m.clbit, m.clbit)) for m in measures]
    assert goodness_of_fit(ours, expected_records(unitary, swapped)) < ALPHA


def test_symbolic_batch_reads_each_sample_from_its_final_state():
    rng = np.random.default_rng(72)
    circuit, unitary, measures = terminal_circuit(rng, 3, symbolic=True)
    rows = [random_values(rng) for _ in range(3)]
    values = {"x": np.stack([r["x"] for r in rows]), "w": rows[0]["w"]}
    exact = outcome_probabilities(circuit, values)
    counts = simulate(circuit, Counts(20000), values, seed=1)
    for b, row in enumerate(rows):
        expected = expected_records(unitary, measures, {"x": row["x"], "w": rows[0]["w"]})
        np.testing.assert_allclose(exact[b], expected, atol=1e-10)
        assert goodness_of_fit(counts[b], expected) > ALPHA


# --- mid-circuit and terminal together --------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_mid_circuit_and_terminal_measurements_match_the_density_matrix_reference(seed):
    rng = np.random.default_rng(7100 + seed)
    n = 2 + seed % 3
    body = random_circuit(rng, n, 20, num_clbits=2)
    extra = [Measure(q, 2 + k) for k, q in enumerate(rng.permutation(n)[:2])]
    circuit = Circuit("mixed", body.qregs, (Register("c", 2), Register("m", 2)), (),
                      body.ops + tuple(extra))
    expected = as_histogram(outcome_distribution(circuit), 16)
    np.testing.assert_allclose(outcome_probabilities(circuit)[0], expected, atol=1e-9)
    rho = final_density_matrix(circuit)
    np.testing.assert_allclose(simulate(circuit, Probs())[0], np.diag(rho).real, atol=1e-9)
    observable = (PauliTerm(1.0, ((0, "X"), (1, "Y"))), PauliTerm(0.3, ((n - 1, "Z"),)))
    sparse = SparsePauliOp.from_sparse_list([("XY", [0, 1], 1.0), ("Z", [n - 1], 0.3)], n)
    assert simulate(circuit, ExpVal((observable,)))[0, 0] == pytest.approx(
        DensityMatrix(rho).expectation_value(sparse).real, abs=1e-9)
    assert goodness_of_fit(simulate(circuit, Counts(20000), seed=seed)[0], expected) > ALPHA


def test_state_is_refused_only_when_a_mid_circuit_measurement_branched():
    ops = [Gate("h", (0,)), Measure(0, 0), Gate("h", (0,)), Gate("h", (1,)), Measure(1, 1)]
    with pytest.raises(Exception, match="not defined after mid-circuit measurement"):
        simulate(circuit_of(ops), State())
    terminal_only = circuit_of([Gate("h", (0,)), Gate("cx", (0, 1)), Measure(1, 0),
                                Measure(0, 1)])
    np.testing.assert_allclose(simulate(terminal_only, State())[0],
                               [2 ** -0.5, 0, 0, 2 ** -0.5], atol=1e-12)


def test_wide_terminal_measurement_is_read_once_not_branched():
    """A 20-qubit GHZ state measured at the end: exact branching would need 2**20 branches
    (refused above 4096); read from the final state it is one state and two outcomes."""
    n = 20
    ops = [Gate("h", (0,))] + [Gate("cx", (q, q + 1)) for q in range(n - 1)]
    circuit = Circuit("ghz", (Register("q", n),), (Register("c", n),), (),
                      ops + [Measure(q, n - 1 - q) for q in range(n)])
    counts = simulate(circuit, Counts(1000), seed=0)[0]
    assert counts[0] + counts[-1] == 1000 and goodness_of_fit(
        counts[[0, -1]], [0.5, 0.5]) > ALPHA
    assert simulate(circuit, Probs((0, 5)))[0] == pytest.approx([0.5, 0, 0, 0.5])
    assert abs(simulate(circuit, State())[0, -1]) == pytest.approx(2 ** -0.5)


# --- gradients --------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_gradients_of_terminally_measured_circuits_take_the_adjoint_path(seed, monkeypatch):
    rng = np.random.default_rng(7200 + seed)
    circuit, _, measures = terminal_circuit(rng, 3, symbolic=True)
    values = {"x": rng.uniform(-1, 1, (4, 2)), "w": rng.uniform(-1, 1, 3)}
    measured = {m.qubit for m in measures}
    output = ExpVal(((PauliTerm(1.0, ((0, "X"),)), PauliTerm(0.4, ((1, "Z"), (2, "Y")))),
                     (PauliTerm(1.0, ((2, "Z"),)),)))

    def refuse(*args, **kwargs):
        raise AssertionError("parameter shift used for a terminally measured circuit")

    monkeypatch.setattr(vjp, "param_shift_vjp", refuse)
    for readout in (output, Probs((2, 0))):
        cotangent = rng.normal(size=simulate(circuit, readout, values).shape)
        grads = vjp.circuit_vjp(circuit, readout, values, cotangent)

        def loss(shifted, readout=readout, cotangent=cotangent):
            return np.sum(cotangent * simulate(circuit, readout, shifted), axis=1)

        assert_gradients_close(grads, gradients_by_differences(loss, values, {"x"}))
    if 0 in measured:  # <X0> reads 0 after measuring qubit 0, so does its gradient
        only_x = ExpVal(((PauliTerm(1.0, ((0, "X"),)),),))
        grads = adjoint_vjp(circuit, only_x, values, np.ones((4, 1)))
        assert all(np.allclose(g, 0) for g in grads.values())


def test_mid_circuit_measurement_still_takes_parameter_shift(monkeypatch):
    circuit = Circuit("m", (Register("q", 1),), (Register("c", 1),), (),
                      (Gate("h", (0,)), Measure(0, 0), Gate("h", (0,))))
    calls = []
    monkeypatch.setattr(vjp, "param_shift_vjp", lambda *a, **k: calls.append(a) or {})
    vjp.circuit_vjp(circuit, Probs(), None, np.ones((1, 2)))
    assert calls
