"""The fast simulator paths (fused single-qubit runs, cache-sized clusters with idle low bits,
merged diagonals, state-free batch read-outs) against Qiskit's Statevector and the density
matrix reference. Cluster sizes are shrunk so small circuits exercise the large-state paths,
and the lean path of small circuits is off."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp, Statevector
from random_circuits import random_circuit, random_values
from reference import final_density_matrix, outcome_distribution
from scipy.stats import unitary_group

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import outcome_probabilities, permutation, plan, simulate
from qcompile.backends.statevector import tape as tp
from qcompile.backends.statevector.steps import bind_steps, compile_circuit
from qcompile.ir import (Circuit, ExpVal, Gate, Param, PauliTerm, Probs, Register, State,
                         Symbol, Unitary)

pytestmark = pytest.mark.usefixtures("planned_path")


def qiskit_state(circuit, values=None) -> np.ndarray:
    return Statevector(to_qiskit(circuit, values)).data


@pytest.fixture
def small_clusters(monkeypatch):
    """Clusters of 4 local bits: a 6-qubit circuit needs several, with 2 idle low bits; no
    batch runs its states whole."""
    monkeypatch.setattr(plan, "LOCAL_QUBITS", 4)
    monkeypatch.setattr(plan, "IDLE_LOW_BITS", 2)
    monkeypatch.setattr(plan, "WHOLE_STATE_QUBITS", 0)


def _batch(rng, size):
    rows = [random_values(rng) for _ in range(size)]
    return rows, {"x": np.stack([r["x"] for r in rows]), "w": np.stack([r["w"] for r in rows])}


@pytest.mark.parametrize("seed", range(60))
def test_clustered_plan_matches_qiskit(seed, small_clusters):
    rng = np.random.default_rng(7000 + seed)
    circuit = random_circuit(rng, num_qubits=5 + seed % 3, length=40, dynamic=False,
                             symbolic=seed % 2 == 1)
    rows, values = _batch(rng, 3)
    states = simulate(circuit, State(), values if seed % 2 else None)
    for b in range(states.shape[0]):
        np.testing.assert_allclose(states[b], qiskit_state(circuit, rows[b] if seed % 2
                                                           else None), atol=1e-10)


@pytest.mark.parametrize("local_qubits", [3, 4, 5, 6])
def test_plan_clusters_respect_width_and_gate_order(local_qubits):
    """build_plan on its own: every cluster fits, and the result equals Qiskit's."""
    rng = np.random.default_rng(local_qubits)
    circuit = random_circuit(rng, num_qubits=7, length=80, dynamic=False)
    steps = bind_steps(compile_circuit(circuit), {}, np.complex128)
    built = plan.build_plan(list(steps), 7, np.complex128, local_qubits=local_qubits)
    assert len(built.clusters) > 1
    assert all(len(c.qubits) == local_qubits for c in built.clusters)
    state = np.zeros((1, 2 ** 7), dtype=complex)
    state[0, 0] = 1
    built.apply(state)
    np.testing.assert_allclose(state[0], qiskit_state(circuit), atol=1e-10)


@pytest.mark.parametrize("seed", range(40))
def test_batch_readouts_match_qiskit_without_states(seed, monkeypatch):
    """Expectation values and marginals, in-kernel (small) and chunked (clustered)."""
    if seed % 2:
        monkeypatch.setattr(plan, "LOCAL_QUBITS", 3)
        monkeypatch.setattr(plan, "IDLE_LOW_BITS", 1)
        monkeypatch.setattr(plan, "WHOLE_STATE_QUBITS", 0)
    rng = np.random.default_rng(8000 + seed)
    n = 2 + seed % 4
    circuit = random_circuit(rng, num_qubits=n, length=30, dynamic=False, symbolic=True)
    rows, values = _batch(rng, 5)
    values["w"] = rows[0]["w"]  # weights shared by the batch, inputs per sample
    terms, sparse = [], []
    for _ in range(3):
        qubits = [int(q) for q in rng.choice(n, int(rng.integers(0, n + 1)), replace=False)]
        letters = "".join(rng.choice(list("IXYZ"), len(qubits)))
        coeff = float(rng.normal())
        terms.append(PauliTerm(coeff, tuple(zip(qubits, letters))))
        sparse.append((letters, qubits, coeff))
    observable = SparsePauliOp.from_sparse_list(sparse, n)
    marginal = tuple(int(q) for q in rng.permutation(n)[:max(1, n - 1)])
    expvals = simulate(circuit, ExpVal((tuple(terms), tuple(terms[:1]))), values)
    probs = simulate(circuit, Probs(marginal), values)
    for b, row in enumerate(rows):
        reference = Statevector(to_qiskit(circuit, {"x": row["x"], "w": rows[0]["w"]}))
        assert expvals[b, 0] == pytest.approx(reference.expectation_value(observable).real,
                                              abs=1e-10)
        np.testing.assert_allclose(probs[b], reference.probabilities(list(marginal)),
                                   atol=1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_dynamic_circuits_with_clusters_match_reference(seed, small_clusters):
    rng = np.random.default_rng(9000 + seed)
    circuit = random_circuit(rng, num_qubits=5, length=30, num_clbits=2)
    expected = np.zeros(4)
    for record, p in outcome_distribution(circuit).items():
        expected[sum(bit << j for j, bit in enumerate(record))] = p
    np.testing.assert_allclose(outcome_probabilities(circuit)[0], expected, atol=1e-9)
    np.testing.assert_allclose(simulate(circuit, Probs())[0],
                               np.diag(final_density_matrix(circuit)).real, atol=1e-9)


def test_diagonal_runs_merge_into_one_table(small_clusters):
    """A QFT-like run of controlled phases and rz on 6 qubits: merged, and still exact."""
    rng = np.random.default_rng(3)
    ops = [Gate("h", (q,)) for q in range(6)]
    ops += [Gate(["cp", "rzz", "cz"][k % 3], (k % 6, (k + 1 + k // 6) % 6),
                 [rng.uniform(-3, 3)] if k % 3 < 2 else []) for k in range(12)]
    ops += [Gate("rz", (q,), [rng.uniform(-3, 3)]) for q in range(6)]
    circuit = Circuit("diag", (Register("q", 6),), ops=ops)
    steps = bind_steps(compile_circuit(circuit), {}, np.complex128)
    built = plan.build_plan(list(steps), 6, np.complex128, local_qubits=6)
    kinds = [row[0] for c in built.clusters for row in c.tape]
    assert kinds.count(plan.tp.FULL_DIAGONAL) == 1 and kinds.count(plan.tp.DENSE1) == 6
    np.testing.assert_allclose(simulate(circuit, State())[0], qiskit_state(circuit),
                               atol=1e-10)


def test_diagonal_unitary_runs_on_the_diagonal_path():
    phases = np.exp(1j * np.random.default_rng(4).uniform(-3, 3, 8))
    circuit = Circuit("u", (Register("q", 4),), ops=[Gate("h", (q,)) for q in range(4)] + [
        Unitary(np.diag(phases), (3, 0, 2))])
    assert compile_circuit(circuit)[-1].diagonal
    np.testing.assert_allclose(simulate(circuit, State())[0], qiskit_state(circuit),
                               atol=1e-12)


def test_complex64_clusters_agree_with_qiskit(small_clusters):
    rng = np.random.default_rng(12)
    circuit = random_circuit(rng, num_qubits=6, length=40, dynamic=False, symbolic=True)
    values = random_values(rng)
    state = simulate(circuit, State(), values, dtype=np.complex64)
    assert state.dtype == np.complex64
    np.testing.assert_allclose(state[0], qiskit_state(circuit, values), atol=1e-5)


def test_batch_expval_memory_stays_below_one_state_per_sample():
    """The read-out of a batch never holds the batch's states (numpy allocations traced)."""
    n, batch = 10, 2048
    ops = [Gate("ry", (q,), [Symbol("x", (q,))]) for q in range(n)]
    ops += [Gate("cx", (q, (q + 1) % n)) for q in range(n)]
    circuit = Circuit("qnn", (Register("q", n),), params=(Param("x", "input", (n,)),),
                      ops=ops)
    x = np.random.default_rng(0).uniform(-3, 3, (batch, n))
    z0 = ExpVal(((PauliTerm(1.0, ((0, "Z"),)),),))
    simulate(circuit, z0, {"x": x[:2]})  # compile outside the traced region
    tracemalloc.start()
    result = simulate(circuit, z0, {"x": x})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < batch * 2 ** n * 16 / 8
    for b in (0, batch - 1):
        reference = Statevector(to_qiskit(circuit, {"x": x[b]}))
        assert result[b, 0] == pytest.approx(
            reference.expectation_value(SparsePauliOp("I" * (n - 1) + "Z")).real, abs=1e-10)


def _ring_network(n: int, layers: int) -> Circuit:
    """RY(x) on every qubit but the last (whose first gate is a cx: it stays out of the
    product-state start), then layers of RY, RZ, a CNOT ring and a SWAP ladder."""
    ops = [Gate("ry", (q,), [Symbol("x", (q,))]) for q in range(n - 1)]
    for layer in range(layers):
        if n > 1:
            ops += [Gate("cx", (q, (q + 1) % n)) for q in range(n)]
        for q in range(n):
            ops += [Gate("ry", (q,), [Symbol("w", (layer, q, 0))]),
                    Gate("rz", (q,), [Symbol("w", (layer, q, 1))])]
        ops += [Gate("swap", (q, q + 1)) for q in range(n - 1)]
    return Circuit("ring", (Register("q", n),), (), (
        Param("x", "input", (max(n - 1, 1),)), Param("w", "weight", (layers, n, 2))), ops)


@pytest.mark.parametrize("n", [1, 2, 5, 7, 12])
@pytest.mark.parametrize("clustered", [False, True])
def test_product_start_and_permutation_runs_match_qiskit(n, clustered, monkeypatch):
    """Rings and ladders of cx/swap become PERMUTE rows (whole states and clusters), the
    first gate of each qubit is folded into the product-state start of the in-kernel
    read-out, and at 12 qubits (too large to gather through the scratch) so is the first
    ring, while the ladders run in place; states and expectation values against Qiskit."""
    if clustered:
        monkeypatch.setattr(plan, "LOCAL_QUBITS", 6)
        monkeypatch.setattr(plan, "IDLE_LOW_BITS", 1)
        monkeypatch.setattr(plan, "WHOLE_STATE_QUBITS", 0)
    circuit = _ring_network(n, 2)
    rng = np.random.default_rng(n)
    x = rng.uniform(-np.pi, np.pi, (4, max(n - 1, 1)))
    w = rng.uniform(-np.pi, np.pi, (2, n, 2))
    bound = plan.fuse_steps(bind_steps(compile_circuit(circuit), {"x": x, "w": w},
                                       np.complex128), n, np.complex128, 4)
    kinds = {int(k) for cluster in bound[0].clusters for k in cluster.tape[:, 0]}
    assert (tp.PERMUTE in kinds) == (n >= plan.MIN_PERMUTATION_RUN)
    if not clustered:
        first, rest = tp.split_product_prefix(bound[0].clusters[0].tape, n)
        assert [q for q in range(n) if first[q, 0] >= 0] == list(range(max(n - 1, 1)))
        assert len(rest) < len(bound[0].clusters[0].tape)
        assert n < plan.MIN_PERMUTATION_RUN or rest[0, 0] == tp.PERMUTE
    states = simulate(circuit, State(), {"x": x, "w": w})
    terms = (PauliTerm(0.5, ((0, "Z"),)), PauliTerm(-1.5, ((n - 1, "X"),)))
    expvals = simulate(circuit, ExpVal((terms,)), {"x": x, "w": w})
    observable = SparsePauliOp.from_sparse_list([("Z", [0], 0.5), ("X", [n - 1], -1.5)], n)
    for b in range(4):
        reference = Statevector(to_qiskit(circuit, {"x": x[b], "w": w}))
        np.testing.assert_allclose(states[b], reference.data, atol=1e-10)
        assert expvals[b, 0] == pytest.approx(reference.expectation_value(observable).real,
                                              abs=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_dense_gates_on_the_lowest_bits_match_qiskit(n):
    """Random single-qubit unitaries on every qubit after entangling gates (so none joins
    the product start): the stride-specialized loops for bits 0 and 1."""
    rng = np.random.default_rng(40 + n)
    ops = [Gate("h", (q,)) for q in range(n)]
    ops += [Gate("cx", (q, q + 1)) for q in range(n - 1)]
    ops += [Unitary(unitary_group.rvs(2, random_state=rng), (q,)) for q in range(n)]
    ops += [Gate("cx", (q + 1, q)) for q in range(n - 1)]
    ops += [Unitary(unitary_group.rvs(2, random_state=rng), (q,)) for q in reversed(range(n))]
    circuit = Circuit("low", (Register("q", n),), ops=ops)
    np.testing.assert_allclose(simulate(circuit, State())[0], qiskit_state(circuit),
                               atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_permute_gathered_factored_and_along_cycles_match_qiskit(seed):
    """A random run of cx/swap on 12 qubits (long cycles of the index map) as one PERMUTE
    row, applied with a state-sized scratch (gather), with the kernels' small one (two
    passes of the factored map, as the in-kernel read-out does, or its cycles where the map
    does not factor) and with a tiny one (cycles): all against Qiskit."""
    n = 12
    rng = np.random.default_rng(seed)
    rows, ops = [], []
    for _ in range(12):
        q0, q1 = (int(q) for q in rng.choice(n, 2, replace=False))
        kind = tp.CX if rng.random() < 0.7 else tp.SWAP
        rows.append([kind, 2, 0, 0, q0, q1] + [0] * (tp.MAX_WIDTH - 2))
        ops.append(Gate("cx" if kind == tp.CX else "swap", (q0, q1)))
    values, block_bits = permutation.coefficients(tp.permutation_sources(rows, n))
    values = np.array(values, dtype=np.complex128)
    tape = np.array([[tp.PERMUTE, n, 0, 0, block_bits] + [0] * (tp.MAX_WIDTH - 1)],
                    dtype=np.int64)
    start = rng.normal(size=2 ** n) + 1j * rng.normal(size=2 ** n)
    circuit = Circuit("run", (Register("q", n),), ops=ops)
    expected = Statevector(start).evolve(to_qiskit(circuit, {})).data
    for scratch_size in (2 ** n, tp.GROUP_SCRATCH, 16):
        re, im = start.real.copy(), start.imag.copy()
        scratch = np.empty(scratch_size, dtype=np.complex128)
        tp.apply_row(re, im, tape, 0, values, values, scratch)
        np.testing.assert_allclose(re + 1j * im, expected, atol=1e-12)


def test_permutations_factor_into_a_row_pass_and_a_block_pass():
    """M = M1 M2 over GF(2), M1 keeping the low bits and M2 the high ones, for random
    invertible maps; a map whose low block is singular does not factor."""
    rng = np.random.default_rng(7)
    bits, block_bits = 9, 4
    for _ in range(20):
        while True:
            columns = [int(c) for c in rng.integers(1, 2 ** bits, bits)]
            if permutation._inverse(columns) is not None and permutation.factor(
                    columns, block_bits) is not None:
                break
        m2, m1 = permutation.factor(columns, block_bits)
        low = 2 ** block_bits - 1
        for j in range(2 ** bits):
            after_m2 = permutation._apply(m2, j)
            assert after_m2 >> block_bits == j >> block_bits
            assert permutation._apply(m1, after_m2) & low == after_m2 & low
            assert permutation._apply(m1, after_m2) == permutation._apply(columns, j)
    swap_halves = [1 << ((k + block_bits) % bits) for k in range(bits)]
    assert permutation.factor(swap_halves, block_bits) is None


@pytest.mark.parametrize("seed", range(12))
def test_trailing_permutations_and_phases_fold_into_z_readouts(seed):
    """Circuits that end in cx/swap runs (one PERMUTE row from four on), single cx or swap
    rows and diagonal gates: the in-kernel read-out drops those rows (Z-strings are read
    through the permutation, phases are invisible) and still equals Qiskit, for Z-string
    sums, for a mixed observable (nothing dropped) and for probabilities."""
    rng = np.random.default_rng(300 + seed)
    n = int(rng.integers(2, 7))
    ops = [Unitary(unitary_group.rvs(2, random_state=rng), (q,)) for q in range(n)]
    ops += [Gate("cx", (q, q + 1)) for q in range(n - 1)]
    ops += [Gate("ry", (q,), [Symbol("x", (q,))]) for q in range(n)]
    for _ in range(int(rng.integers(1, 8))):
        a, b = (int(q) for q in rng.choice(n, 2, replace=False))
        ops.append([Gate("cx", (a, b)), Gate("swap", (a, b)), Gate("cz", (a, b)),
                    Gate("rz", (a,), [float(rng.uniform(-3, 3))])][int(rng.integers(4))])
    circuit = Circuit("tail", (Register("q", n),), (), (Param("x", "input", (n,)),), ops)
    x = rng.uniform(-np.pi, np.pi, (4, n))
    strings = [tuple((int(q), "Z") for q in rng.choice(n, int(rng.integers(1, n + 1)),
                                                         replace=False)) for _ in range(3)]
    z_terms = tuple(PauliTerm(float(c), s) for c, s in zip(rng.uniform(-2, 2, 3), strings))
    mixed = z_terms + (PauliTerm(0.7, ((0, "X"), (n - 1, "Y"))),)
    expvals = simulate(circuit, ExpVal((z_terms, mixed)), {"x": x})
    probs = simulate(circuit, Probs((n - 1, 0)), {"x": x})
    for b in range(4):
        reference = Statevector(to_qiskit(circuit, {"x": x[b]}))
        for column, terms in enumerate((z_terms, mixed)):
            observable = SparsePauliOp.from_sparse_list(
                [("".join(p for _, p in t.paulis), [q for q, _ in t.paulis], t.coeff)
                 for t in terms], n)
            assert expvals[b, column] == pytest.approx(
                reference.expectation_value(observable).real, abs=1e-10)
        np.testing.assert_allclose(probs[b], reference.probabilities([n - 1, 0]), atol=1e-10)


def test_trailing_rows_are_dropped_for_z_readouts():
    """The absorption itself: a ring then phases is dropped whole for <Z0>, kept for <X0>."""
    n = 5
    ring = [[tp.CX, 2, 0, 0, q, (q + 1) % n] + [0] * (tp.MAX_WIDTH - 2) for q in range(n)]
    sources = tp.permutation_sources(ring, n)
    tape = np.array(ring, dtype=np.int64)
    kept, signs = tp.absorb_trailing_rows(tape, np.zeros(1, complex), np.array([1]), True, True)
    assert len(kept) == 0
    # parity(M j & S') == parity(j & S) for every j, M the ring's source map.
    for j in range(2 ** n):
        source = 0
        for k in range(n):
            source ^= sources[k] if (j >> k) & 1 else 0
        assert bin(source & int(signs[0])).count("1") % 2 == j & 1
    kept, _ = tp.absorb_trailing_rows(tape, np.zeros(1, complex), np.array([1]), False, False)
    assert len(kept) == n
