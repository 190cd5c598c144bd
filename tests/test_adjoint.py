"""Adjoint differentiation against central finite differences of the simulator's readouts."""

import numpy as np
import pytest
from benchmarks.workloads import qnn_circuit
from finite_differences import assert_gradients_close, gradients_by_differences
from random_circuits import random_circuit, random_observables
from scipy.stats import unitary_group

from qcompile.backends.statevector import adjoint, batch_adjoint, simulate
from qcompile.backends.statevector import tape as tp
from qcompile.backends.statevector.adjoint import adjoint_vjp
from qcompile.backends.statevector.gate_angles import gate_derivative
from qcompile.ir import (GATES, Circuit, Counts, ExpVal, Gate, Measure, Param, PauliTerm, Probs,
                         QCompileError, Register, State, Symbol, Unitary)
from qcompile.ir.expr import Unary

PARAMETRIC = sorted(name for name, spec in GATES.items() if spec.num_params)


def reference_vjp(circuit, output, values, cotangent, batched):
    def per_sample_loss(shifted):
        readout = simulate(circuit, output, shifted)
        return np.sum((np.conj(cotangent) * readout).real.reshape(readout.shape[0], -1), axis=1)
    return gradients_by_differences(per_sample_loss, values, batched)


@pytest.mark.parametrize("name", PARAMETRIC)
def test_gate_matrix_derivatives_match_finite_differences(name):
    rng = np.random.default_rng(len(name))
    angles = list(rng.uniform(-np.pi, np.pi, GATES[name].num_params))
    for index in range(len(angles)):
        plus, minus = list(angles), list(angles)
        plus[index] += 1e-6
        minus[index] -= 1e-6
        reference = (GATES[name].matrix(*plus) - GATES[name].matrix(*minus)) / 2e-6
        np.testing.assert_allclose(gate_derivative(name, angles, index), reference, atol=1e-8)


@pytest.mark.parametrize("name", PARAMETRIC)
def test_every_parametric_gate_gradient_matches_finite_differences(name):
    """Each angle is ``s[j] * t[j] + 0.3``: t per sample (an input), s shared (a weight)."""
    rng = np.random.default_rng(sum(map(ord, name)))
    spec = GATES[name]
    n = spec.num_qubits + 1
    k = spec.num_params
    angles = [Symbol("s", (j,)) * Symbol("t", (j,)) + 0.3 for j in range(k)]
    ops = [Unitary(unitary_group.rvs(2 ** n, random_state=rng), range(n)),
           Gate(name, rng.permutation(n)[:spec.num_qubits], angles),
           Unitary(unitary_group.rvs(2 ** n, random_state=rng), range(n))]
    circuit = Circuit("g", (Register("q", n),), (),
                      (Param("t", "input", (k,)), Param("s", "weight", (k,))), ops)
    values = {"t": rng.uniform(-np.pi, np.pi, (3, k)), "s": rng.uniform(0.5, 1.5, k)}
    output = random_observables(rng, n)
    cotangent = rng.normal(size=(3, 2))
    assert_gradients_close(adjoint_vjp(circuit, output, values, cotangent),
                           reference_vjp(circuit, output, values, cotangent, {"t"}))


@pytest.mark.parametrize("seed", range(100))
def test_random_symbolic_circuits_match_finite_differences(seed):
    rng = np.random.default_rng(seed)
    circuit = random_circuit(rng, num_qubits=1 + seed % 4, length=20, dynamic=False,
                             symbolic=True)
    values = {"x": rng.uniform(-np.pi, np.pi, (3, 2)), "w": rng.uniform(-np.pi, np.pi, 3)}
    output = random_observables(rng, circuit.num_qubits)
    cotangent = rng.normal(size=(3, 2))
    assert_gradients_close(adjoint_vjp(circuit, output, values, cotangent),
                           reference_vjp(circuit, output, values, cotangent, {"x"}))


@pytest.mark.parametrize("seed", range(6))
def test_probs_and_state_readouts_match_finite_differences(seed):
    rng = np.random.default_rng(100 + seed)
    circuit = random_circuit(rng, num_qubits=3, length=20, dynamic=False, symbolic=True)
    values = {"x": rng.uniform(-np.pi, np.pi, (2, 2)), "w": rng.uniform(-np.pi, np.pi, 3)}
    probs = Probs((2, 0))
    weights = rng.normal(size=(2, 4))
    assert_gradients_close(adjoint_vjp(circuit, probs, values, weights),
                           reference_vjp(circuit, probs, values, weights, {"x"}))
    # State: L = Re sum conj(G) psi, so G is exactly the costate.
    costate = rng.normal(size=(2, 8)) + 1j * rng.normal(size=(2, 8))
    assert_gradients_close(adjoint_vjp(circuit, State(), values, costate),
                           reference_vjp(circuit, State(), values, costate, {"x"}))


def test_batched_weights_give_per_sample_gradients():
    rng = np.random.default_rng(8)
    circuit = random_circuit(rng, num_qubits=3, length=25, dynamic=False, symbolic=True)
    values = {"x": rng.uniform(-np.pi, np.pi, 2), "w": rng.uniform(-np.pi, np.pi, (4, 3))}
    output = random_observables(rng, 3)
    cotangent = rng.normal(size=(4, 2))
    grads = adjoint_vjp(circuit, output, values, cotangent)
    assert grads["x"].shape == (2,) and grads["w"].shape == (4, 3)
    assert_gradients_close(grads, reference_vjp(circuit, output, values, cotangent, {"w"}))


def test_angle_depending_on_several_symbols_through_functions():
    """``w[l] * x + b[l]`` and a nonlinear function of one input, both in one angle."""
    x, w, b = Symbol("x"), Symbol("w", (1,)), Symbol("b", (0,))
    ops = [Gate("h", (0,)), Gate("ry", (1,), [w * x + b]),
           Gate("crx", (0, 1), [Unary("sin", x) * w + Unary("exp", b)]),
           Gate("u", (1,), [x, w * b, x * x])]
    circuit = Circuit("multi", (Register("q", 2),), (), (
        Param("x", "input"), Param("w", "weight", (2,)), Param("b", "weight", (1,))), ops)
    rng = np.random.default_rng(3)
    values = {"x": rng.uniform(-1, 1, 5), "w": rng.uniform(-1, 1, 2), "b": rng.uniform(-1, 1, 1)}
    output = ExpVal(((PauliTerm(1.0, ((0, "Z"), (1, "X"))),), (PauliTerm(0.5, ((1, "Y"),)),)))
    cotangent = rng.normal(size=(5, 2))
    assert_gradients_close(adjoint_vjp(circuit, output, values, cotangent),
                           reference_vjp(circuit, output, values, cotangent, {"x"}))


def test_dynamic_circuits_are_refused_with_the_alternative_named():
    """A mid-circuit measurement (a gate follows it); terminal ones are differentiated."""
    circuit = Circuit("m", (Register("q", 1),), (Register("c", 1),), (Param("t", "weight"),),
                      (Gate("rx", (0,), [Symbol("t")]), Measure(0, 0), Gate("h", (0,))))
    with pytest.raises(QCompileError, match="param_shift_vjp"):
        adjoint_vjp(circuit, ExpVal(((PauliTerm(1.0, ((0, "Z"),)),),)), {"t": 0.3}, [[1.0]])


def test_bad_readouts_and_cotangents_are_reported():
    circuit = Circuit("r", (Register("q", 2),), (), (Param("t", "weight"),),
                      (Gate("rx", (0,), [Symbol("t")]),))
    z0 = ExpVal(((PauliTerm(1.0, ((0, "Z"),)),),))
    with pytest.raises(QCompileError, match=r"shape \[1, 1\]"):
        adjoint_vjp(circuit, z0, {"t": 0.3}, np.ones((1, 2)))
    with pytest.raises(QCompileError, match="sampled"):
        adjoint_vjp(circuit, Counts(10), {"t": 0.3}, np.ones((1, 4)))
    with pytest.raises(QCompileError, match="Z5"):
        adjoint_vjp(circuit, ExpVal(((PauliTerm(1.0, ((5, "Z"),)),),)), {"t": 0.3}, [[1.0]])
    with pytest.raises(QCompileError, match="needs a value"):
        adjoint_vjp(circuit, z0, {}, [[1.0]])


@pytest.mark.parametrize("seed", range(8))
def test_per_gate_sweep_matches_finite_differences(seed, monkeypatch):
    """With no state small enough to run whole, ExpVal and Probs take the per-gate sweep."""
    monkeypatch.setattr(adjoint, "WHOLE_SAMPLE_QUBITS", 0)
    rng = np.random.default_rng(300 + seed)
    circuit = random_circuit(rng, num_qubits=2 + seed % 3, length=20, dynamic=False,
                             symbolic=True)
    values = {"x": rng.uniform(-np.pi, np.pi, (3, 2)), "w": rng.uniform(-np.pi, np.pi, 3)}
    output = random_observables(rng, circuit.num_qubits) if seed % 2 else Probs((0,))
    cotangent = rng.normal(size=(3, 2))
    assert_gradients_close(adjoint_vjp(circuit, output, values, cotangent),
                           reference_vjp(circuit, output, values, cotangent, {"x"}))


@pytest.mark.parametrize("checkpoints", [0, 1, 8])
@pytest.mark.parametrize("z_only", [False, True])
def test_whole_sample_sweep_on_a_layered_network_matches_finite_differences(
        checkpoints, z_only, monkeypatch):
    """Merged RY·RZ runs per qubit taken as layers, per-sample inputs merged into the
    opening layer, a batch larger than the thread count; with room for no, one and every
    checkpoint of ψ, and with a Z-only read-out (the last ring folded into the signs)."""
    n, layers = 5, 3
    monkeypatch.setattr(batch_adjoint, "CHECKPOINT_BYTES", checkpoints * 16 << n)
    circuit = qnn_circuit(n, layers)
    rng = np.random.default_rng(5)
    values = {"x": rng.uniform(-np.pi, np.pi, (9, n)),
              "w": rng.uniform(-np.pi, np.pi, (layers, n, 2))}
    second = ((2, "Z"), (3, "Z")) if z_only else ((2, "X"), (3, "Y"))
    output = ExpVal(((PauliTerm(1.0, ((0, "Z"),)),), (PauliTerm(0.7, second),)))
    cotangent = rng.normal(size=(9, 2))
    assert_gradients_close(adjoint_vjp(circuit, output, values, cotangent),
                           reference_vjp(circuit, output, values, cotangent, {"x"}))


def test_layered_network_never_un_applies_psi():
    """The tapes' shape for the QNN: a checkpoint per inner ring, one OVERLAPS row per layer, and
    ψ is never un-applied (the property the speed of the sweep rests on)."""
    n, layers = 6, 3
    circuit = qnn_circuit(n, layers)
    env = {"x": np.zeros((2, n)), "w": np.zeros((layers, n, 2))}
    blocks = batch_adjoint.circuit_blocks(circuit, env)
    tapes = batch_adjoint.adjoint_tapes(blocks, n, np.complex128, np.array([1]), True)
    # The first ring is folded into the product start, the last into the read-out.
    assert tapes.checkpoints == layers - 2
    # The embedding merges into the first layer's blocks: one OVERLAPS row per layer.
    assert list(tapes.backward[:, 0]).count(tp.OVERLAPS) == layers
    assert not tapes.psi_too.any()


def test_whole_sample_sweep_in_single_precision():
    """complex64 runs ψ and G in float32 (sums in float64): within 1e-4 of the finite
    differences of the double-precision simulator."""
    n = 6
    circuit = qnn_circuit(n, 2)
    rng = np.random.default_rng(64)
    values = {"x": rng.uniform(-np.pi, np.pi, (4, n)), "w": rng.uniform(-np.pi, np.pi, (2, n, 2))}
    output = ExpVal(((PauliTerm(1.0, ((0, "Z"),)), PauliTerm(0.5, ((3, "X"),))),))
    cotangent = rng.normal(size=(4, 1))
    assert_gradients_close(adjoint_vjp(circuit, output, values, cotangent, dtype=np.complex64),
                           reference_vjp(circuit, output, values, cotangent, {"x"}), rtol=1e-4)


def test_whole_sample_sweep_with_layers_wider_than_an_overlap_tile():
    """13 qubits: the overlap pass sums qubits 12 and up over tiles of strided runs."""
    n = batch_adjoint.TILE_BITS + 1
    circuit = qnn_circuit(n, 2)
    rng = np.random.default_rng(13)
    values = {"x": rng.uniform(-np.pi, np.pi, (3, n)), "w": rng.uniform(-np.pi, np.pi, (2, n, 2))}
    output = ExpVal(((PauliTerm(1.0, ((n - 1, "Z"),)), PauliTerm(0.5, ((0, "X"),))),))
    cotangent = rng.normal(size=(3, 1))
    assert_gradients_close(adjoint_vjp(circuit, output, values, cotangent),
                           reference_vjp(circuit, output, values, cotangent, {"x"}))


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_layer_overlaps_match_numpy_for_every_tile_size(n):
    """The 2x2 overlaps R[a, b] = Σ conj(G[..a..]) ψ[..b..] of each qubit in the mask,
    against numpy, for tiles from 1 to all qubits (every split into contiguous and strided
    tiles)."""
    rng = np.random.default_rng(n)
    pr, pi, gr, gi = (rng.normal(size=2 ** n) for _ in range(4))
    psi, costate = (pr + 1j * pi).reshape((2,) * n), (gr + 1j * gi).reshape((2,) * n)
    for tile_bits in range(1, n + 1):
        mask = int(rng.integers(1, 2 ** n))
        overlaps = np.full((n, 4), np.nan)
        batch_adjoint.layer_overlaps(pr, pi, gr, gi, mask, overlaps, tile_bits)
        for q in range(n):
            if not (mask >> q) & 1:
                continue
            axis = n - 1 - q  # qubit 0 is the last axis of the reshaped state
            r = np.tensordot(np.conj(np.moveaxis(costate, axis, 0)),
                             np.moveaxis(psi, axis, 0), axes=(tuple(range(1, n)),) * 2)
            expected = [r[0, 0].imag, r[1, 1].imag, (r[0, 1] + r[1, 0]).imag,
                        (r[0, 1] - r[1, 0]).real]
            np.testing.assert_allclose(overlaps[q], expected, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_whole_sample_sweep_with_opening_blocks_and_permutations(n):
    """Opening blocks (several angles on one qubit, never un-applied), a qubit whose first
    gate is a cx, swap ladders and rings merged into PERMUTE rows, 1- and 2-qubit states
    (the overlap loops for bits 0 and 1); ExpVal and Probs against finite differences."""
    ops = [Gate("rx", (q,), [Symbol("x", (q,))]) for q in range(max(n - 1, 1))]
    ops += [Gate("ry", (0,), [Symbol("w", (0,))]), Gate("rz", (0,), [Symbol("w", (1,))])]
    for layer in range(2):
        ops += [Gate("swap", (q, q + 1)) for q in range(n - 1)]
        ops += [Gate("cx", (q, (q + 1) % n)) for q in range(n)] if n > 1 else []
        ops += [Gate("ry", (q,), [Symbol("w", (2 + (layer * n + q) % 4,))]) for q in range(n)]
        ops += [Gate("u", (q,), [Symbol("w", (1,)), 0.3, Symbol("w", (0,))])
                for q in range(n)]
    circuit = Circuit("opening", (Register("q", n),), (), (
        Param("x", "input", (max(n - 1, 1),)), Param("w", "weight", (6,))), ops)
    rng = np.random.default_rng(n)
    values = {"x": rng.uniform(-np.pi, np.pi, (6, max(n - 1, 1))),
              "w": rng.uniform(-np.pi, np.pi, 6)}
    for output in (random_observables(rng, n), Probs(tuple(range(n))[::-1])):
        width = 2 if isinstance(output, ExpVal) else 2 ** n
        cotangent = rng.normal(size=(6, width))
        assert_gradients_close(adjoint_vjp(circuit, output, values, cotangent),
                               reference_vjp(circuit, output, values, cotangent, {"x"}))


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_product_state_overlaps_match_the_general_pass(n):
    """For ψ a product state (some qubits left at |0>, the factors of the others shared or
    per sample), the contraction shortcut gives the overlaps of the tiled pass on the
    written-out state."""
    rng = np.random.default_rng(40 + n)
    shared, row = (unitary_group.rvs(2, size=n + 1, random_state=rng)[:n].reshape(-1)
                   for _ in range(2))
    first = np.array([[-1, 0] if q % 3 == 2 else [q % 2, 4 * q] for q in range(n)])
    pr, pi = np.empty(2 ** n), np.empty(2 ** n)
    tp.start_product_state(pr, pi, first, shared, row)
    gr, gi = rng.normal(size=2 ** n), rng.normal(size=2 ** n)
    expected, got = np.zeros((n, 4)), np.zeros((n, 4))
    batch_adjoint.layer_overlaps(pr, pi, gr, gi, 2 ** n - 1, expected, n)
    batch_adjoint.product_overlaps(gr, gi, first, shared, row, 2 ** n - 1, got)
    np.testing.assert_allclose(got, expected, atol=1e-10)
