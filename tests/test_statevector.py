"""The numba statevector simulator against independent references: Qiskit's Statevector,
SparsePauliOp and DensityMatrix, and the density-matrix reference in tests/reference.py."""

import numpy as np
import pytest
from qiskit.quantum_info import DensityMatrix, Operator, SparsePauliOp, Statevector
from random_circuits import random_circuit, random_values
from reference import final_density_matrix, outcome_distribution
from scipy.stats import unitary_group

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import kernels, outcome_probabilities, simulate
from qcompile.ir import (Circuit, Counts, ExpVal, Gate, Measure, Param, PauliTerm, Probs,
                         QCompileError, Register, Reset, State, Symbol, Unary, Unitary)

#: Every test runs on the lean path and on the planned one.
pytestmark = pytest.mark.usefixtures("simulator_path")


def qiskit_state(circuit, values=None) -> np.ndarray:
    return Statevector(to_qiskit(circuit, values)).data


def random_observable(rng, num_qubits: int, num_terms: int = 3):
    """A random Pauli sum as IR terms and as the equivalent SparsePauliOp."""
    terms, sparse = [], []
    for _ in range(num_terms):
        width = int(rng.integers(0, num_qubits + 1))
        qubits = [int(q) for q in rng.choice(num_qubits, width, replace=False)]
        letters = "".join(rng.choice(list("IXYZ"), width))
        coeff = float(rng.normal())
        terms.append(PauliTerm(coeff, tuple(zip(qubits, letters))))
        sparse.append((letters, qubits, coeff))
    return tuple(terms), SparsePauliOp.from_sparse_list(sparse, num_qubits)


def record_index(record) -> int:
    return sum(bit << j for j, bit in enumerate(record))


def layered_circuit(num_qubits: int, layers: int, rng) -> Circuit:
    """A QASMBench-like circuit: rotation layers, entangling ladders, a few 3-qubit gates."""
    ops = []
    for _ in range(layers):
        for q in range(num_qubits):
            ops.append(Gate("u3", (q,), rng.uniform(-np.pi, np.pi, 3)))
        for q in range(int(rng.integers(2)), num_qubits - 1, 2):
            ops.append(Gate(["cx", "rzz", "cp", "iswap"][q % 4], (q, q + 1),
                            [rng.uniform(-np.pi, np.pi)] if q % 4 in (1, 2) else []))
        a, b, c = (int(q) for q in rng.choice(num_qubits, 3, replace=False))
        ops += [Gate("ccx", (a, b, c)), Gate("rz", (c,), [0.7]), Gate("cswap", (c, a, b))]
    return Circuit("layered", (Register("q", num_qubits),), ops=ops)


# --- unitary circuits -------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(200))
def test_final_state_matches_qiskit_including_global_phase(seed):
    rng = np.random.default_rng(seed)
    circuit = random_circuit(rng, num_qubits=1 + seed % 5, length=30, dynamic=False)
    state = simulate(circuit, State())
    assert state.shape == (1, 2 ** circuit.num_qubits) and state.dtype == np.complex128
    np.testing.assert_allclose(state[0], qiskit_state(circuit), rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", range(20))
def test_symbolic_batch_rows_match_qiskit_with_shared_or_batched_weights(seed):
    rng = np.random.default_rng(1000 + seed)
    circuit = random_circuit(rng, num_qubits=1 + seed % 4, length=25, dynamic=False,
                             symbolic=True)
    rows = [random_values(rng) for _ in range(7)]
    x = np.stack([r["x"] for r in rows])
    batched = simulate(circuit, State(), {"x": x, "w": np.stack([r["w"] for r in rows])})
    shared = simulate(circuit, State(), {"x": x, "w": rows[0]["w"]})
    assert batched.shape == shared.shape == (7, 2 ** circuit.num_qubits)
    for b, row in enumerate(rows):
        np.testing.assert_allclose(batched[b], qiskit_state(circuit, row), atol=1e-10)
        np.testing.assert_allclose(shared[b], qiskit_state(circuit, {"x": row["x"],
                                                                     "w": rows[0]["w"]}),
                                   atol=1e-10)


def test_three_qubit_unitary_on_scattered_qubits_matches_qiskit():
    rng = np.random.default_rng(7)
    ops = [Gate("h", (q,)) for q in range(5)] + [
        Unitary(unitary_group.rvs(8, random_state=rng), (4, 0, 2)),
        Unitary(unitary_group.rvs(4, random_state=rng), (3, 1))]
    circuit = Circuit("u", (Register("q", 5),), ops=ops)
    np.testing.assert_allclose(simulate(circuit, State())[0], qiskit_state(circuit), atol=1e-12)


def test_large_state_kernels_match_qiskit():
    circuit = layered_circuit(18, 6, np.random.default_rng(3))
    np.testing.assert_allclose(simulate(circuit, State())[0], qiskit_state(circuit),
                               atol=1e-10)


def test_large_state_with_per_sample_matrices_matches_qiskit():
    """Several amplitude chunks per sample and a matrix per sample at once."""
    rng = np.random.default_rng(5)
    base = layered_circuit(14, 2, rng)
    ops = base.ops + tuple(Gate(name, (q, (q + 5) % 14), [Symbol("t", (q % 3,))])
                           for q, name in enumerate(["crx", "rzz", "cp"] * 4))
    circuit = Circuit("mixed", base.qregs, params=(Param("t", "input", (3,)),), ops=ops)
    t = rng.uniform(-np.pi, np.pi, (3, 3))
    states = simulate(circuit, State(), {"t": t})
    for b in range(3):
        np.testing.assert_allclose(states[b], qiskit_state(circuit, {"t": t[b]}), atol=1e-10)


# --- read-outs --------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_expval_of_pauli_sums_matches_sparse_pauli_op(seed):
    rng = np.random.default_rng(2000 + seed)
    n = 1 + seed % 5
    circuit = random_circuit(rng, num_qubits=n, length=20, dynamic=False)
    observables = [random_observable(rng, n) for _ in range(3)]
    result = simulate(circuit, ExpVal(tuple(terms for terms, _ in observables)))
    reference = Statevector(to_qiskit(circuit))
    assert result.shape == (1, 3) and result.dtype == np.float64
    for column, (_, op) in enumerate(observables):
        assert result[0, column] == pytest.approx(reference.expectation_value(op).real,
                                                  abs=1e-10)


def test_probs_of_chosen_qubits_follow_their_order():
    rng = np.random.default_rng(11)
    circuit = random_circuit(rng, num_qubits=4, length=30, dynamic=False)
    reference = Statevector(to_qiskit(circuit))
    for qubits in [(2, 0), (3,), (1, 3, 0), ()]:
        expected = reference.probabilities(list(qubits) or None)
        np.testing.assert_allclose(simulate(circuit, Probs(qubits))[0], expected, atol=1e-12)


def test_complex64_agrees_with_qiskit():
    rng = np.random.default_rng(21)
    for _ in range(10):
        circuit = random_circuit(rng, num_qubits=4, length=30, dynamic=False, symbolic=True)
        values = random_values(rng)
        state = simulate(circuit, State(), values, dtype=np.complex64)
        assert state.dtype == np.complex64
        np.testing.assert_allclose(state[0], qiskit_state(circuit, values), atol=1e-5)
        terms, op = random_observable(rng, 4)
        expval = simulate(circuit, ExpVal((terms,)), values, dtype=np.complex64)
        assert expval.dtype == np.float32
        assert expval[0, 0] == pytest.approx(
            Statevector(to_qiskit(circuit, values)).expectation_value(op).real, abs=1e-5)
        assert simulate(circuit, Counts(100), values, dtype=np.complex64).sum() == 100


# --- measurement, reset, feed-forward -----------------------------------------------------------

@pytest.mark.parametrize("seed", range(200))
def test_dynamic_circuit_matches_density_matrix_reference(seed):
    rng = np.random.default_rng(3000 + seed)
    n, clbits = 1 + seed % 4, 1 + seed % 3
    circuit = random_circuit(rng, num_qubits=n, length=20, num_clbits=clbits)

    distribution = outcome_probabilities(circuit)
    expected = np.zeros(2 ** clbits)
    for record, p in outcome_distribution(circuit).items():
        expected[record_index(record)] = p
    np.testing.assert_allclose(distribution[0], expected, atol=1e-9)

    rho = final_density_matrix(circuit)
    np.testing.assert_allclose(simulate(circuit, Probs())[0], np.diag(rho).real, atol=1e-9)
    terms, op = random_observable(rng, n)
    assert simulate(circuit, ExpVal((terms,)))[0, 0] == pytest.approx(
        DensityMatrix(rho).expectation_value(op).real, abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_dynamic_symbolic_batch_matches_reference_per_row(seed):
    rng = np.random.default_rng(4000 + seed)
    circuit = random_circuit(rng, num_qubits=3, length=20, num_clbits=2, symbolic=True)
    rows = [random_values(rng) for _ in range(3)]
    values = {"x": np.stack([r["x"] for r in rows]), "w": rows[0]["w"]}
    distribution = outcome_probabilities(circuit, values)
    probs = simulate(circuit, Probs(), values)
    for b, row in enumerate(rows):
        row = {"x": row["x"], "w": rows[0]["w"]}
        expected = np.zeros(4)
        for record, p in outcome_distribution(circuit, row).items():
            expected[record_index(record)] = p
        np.testing.assert_allclose(distribution[b], expected, atol=1e-9)
        np.testing.assert_allclose(probs[b], np.diag(final_density_matrix(circuit, row)).real,
                                   atol=1e-9)


def test_state_is_defined_when_measurement_and_reset_leave_one_branch():
    ops = [Gate("x", (0,)), Gate("h", (1,)), Measure(0, 0), Reset(2), Gate("cx", (1, 2))]
    circuit = Circuit("c", (Register("q", 3),), (Register("c", 1),), ops=ops)
    unitary_part = Circuit("u", circuit.qregs, ops=[op for op in ops if isinstance(op, Gate)])
    np.testing.assert_allclose(simulate(circuit, State())[0], qiskit_state(unitary_part),
                               atol=1e-12)


# --- counts -----------------------------------------------------------------------------------

def test_counts_are_reproducible_and_follow_the_exact_distribution():
    rng = np.random.default_rng(5000)
    circuit = next(c for c in (random_circuit(rng, 3, 20, num_clbits=3) for _ in range(100))
                   if len(outcome_distribution(c)) >= 3)
    shots = 20000
    counts = simulate(circuit, Counts(shots), seed=17)
    assert counts.dtype == np.int64 and counts.shape == (1, 8) and counts.sum() == shots
    assert np.array_equal(counts, simulate(circuit, Counts(shots), seed=17))
    assert not np.array_equal(counts, simulate(circuit, Counts(shots), seed=18))
    expected = np.zeros(8)
    for record, p in outcome_distribution(circuit).items():
        expected[record_index(record)] = p
    # Total variation of 20000 shots is ~0.01 at most 8 outcomes; 0.03 is >5 sigma away.
    assert 0.5 * np.abs(counts[0] / shots - expected).sum() < 0.03


def test_counts_without_clbits_histogram_all_qubits_per_sample():
    rng = np.random.default_rng(5100)
    circuit = random_circuit(rng, 3, 20, dynamic=False, symbolic=True)
    rows = [random_values(rng) for _ in range(4)]
    values = {"x": np.stack([r["x"] for r in rows]), "w": np.stack([r["w"] for r in rows])}
    counts = simulate(circuit, Counts(10000), values, seed=3)
    assert counts.shape == (4, 8) and np.all(counts.sum(axis=1) == 10000)
    for b, row in enumerate(rows):
        expected = Statevector(to_qiskit(circuit, row)).probabilities()
        assert 0.5 * np.abs(counts[b] / 10000 - expected).sum() < 0.04


# --- bad input --------------------------------------------------------------------------------

@pytest.fixture
def symbolic_circuit():
    return random_circuit(np.random.default_rng(1), 2, 15, dynamic=False, symbolic=True)


def test_missing_parameter_is_named(symbolic_circuit):
    with pytest.raises(QCompileError, match="'w'"):
        simulate(symbolic_circuit, State(), {"x": np.zeros(2)})


def test_mismatched_batch_sizes_are_reported(symbolic_circuit):
    with pytest.raises(QCompileError, match="batch size"):
        simulate(symbolic_circuit, State(), {"x": np.zeros((3, 2)), "w": np.zeros((4, 3))})


@pytest.mark.parametrize("value", [np.zeros(4), np.zeros((2, 3, 2)), np.zeros(2) * 1j, "abc"])
def test_badly_shaped_or_typed_values_are_reported(symbolic_circuit, value):
    with pytest.raises(QCompileError, match="'x'"):
        simulate(symbolic_circuit, State(), {"x": value, "w": np.zeros(3)})


def test_empty_batch_is_reported(symbolic_circuit):
    with pytest.raises(QCompileError, match="batch is empty"):
        simulate(symbolic_circuit, Probs(), {"x": np.zeros((0, 2)), "w": np.zeros(3)})


def test_non_finite_angle_is_reported():
    circuit = Circuit("c", (Register("q", 1),), params=(Param("a", "input"),),
                      ops=[Gate("rx", (0,), [Unary("log", Symbol("a"))])])
    with pytest.raises(QCompileError, match="not a finite number for sample 1"):
        simulate(circuit, State(), {"a": np.array([1.0, -1.0])})


def test_state_after_measurement_is_refused():
    """A mid-circuit measurement (a gate follows it); terminal ones leave the state defined."""
    circuit = Circuit("c", (Register("q", 1),), (Register("c", 1),),
                      ops=[Gate("h", (0,)), Measure(0, 0), Gate("h", (0,))])
    with pytest.raises(QCompileError, match="not defined after mid-circuit measurement"):
        simulate(circuit, State())


def test_too_many_branches_are_refused():
    """Each reset of a qubit in |+> doubles the branches: 13 of them make 8192."""
    ops = [Gate("h", (0,)), Reset(0)] * 13
    circuit = Circuit("resets", (Register("q", 1),), ops=ops)
    with pytest.raises(QCompileError, match="4096 classical branches"):
        simulate(circuit, Probs())


@pytest.mark.parametrize("output", [Probs((0, 0)), Probs((5,)), Counts(0),
                                    ExpVal(((PauliTerm(1.0, ((0, "X"), (0, "Z"))),),)),
                                    ExpVal(((PauliTerm(1.0, ((4, "X"),)),),))])
def test_bad_outputs_are_reported(output):
    circuit = Circuit("c", (Register("q", 2),), ops=[Gate("h", (0,))])
    with pytest.raises(QCompileError):
        simulate(circuit, output)


def test_unsupported_dtype_is_reported():
    circuit = Circuit("c", (Register("q", 1),), ops=[Gate("h", (0,))])
    with pytest.raises(QCompileError, match="complex64 or complex128"):
        simulate(circuit, State(), dtype=np.float64)


def test_dense_kernel_applies_one_matrix_per_sample():
    """No library gate is both symbolic and 3-qubit yet, so drive the general kernel directly,
    as fused blocks will, against Qiskit's Operator evolution."""
    rng = np.random.default_rng(8)
    qubits = np.array([3, 0, 2], dtype=np.int64)
    states = np.stack([Statevector.from_label("+-0+r").data for _ in range(3)])
    matrices = np.stack([unitary_group.rvs(8, random_state=rng) for _ in range(3)])
    expected = [Statevector(s).evolve(Operator(m), list(qubits)).data
                for s, m in zip(states, matrices)]
    kernels.apply_dense(states, matrices, qubits)
    np.testing.assert_allclose(states, expected, atol=1e-12)
