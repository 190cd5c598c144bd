"""Fidelity-kernel matrices against inner products of Qiskit statevectors."""

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector.kernel_matrix import kernel_matrix
from qcompile.ir import Circuit, Gate, Measure, Param, QCompileError, Register, Symbol
from qcompile.models import load_model

FEATURE_MAP = load_model("zz-kernel").circuit("feature_map")  # input v[2]


def qiskit_kernel(circuit, rows_x, rows_y, extra=None):
    def state(row):
        return Statevector(to_qiskit(circuit, {**(extra or {}), **row})).data
    left = [state(r) for r in rows_x]
    right = [state(r) for r in rows_y]
    return np.array([[abs(np.vdot(b, a)) ** 2 for b in right] for a in left])


def test_cross_kernel_matches_qiskit():
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(0, 2 * np.pi, (5, 2)), rng.uniform(0, 2 * np.pi, (3, 2))
    K = kernel_matrix(FEATURE_MAP, X, Y)
    assert K.shape == (5, 3) and K.dtype == np.float64
    reference = qiskit_kernel(FEATURE_MAP, [{"v": x} for x in X], [{"v": y} for y in Y])
    np.testing.assert_allclose(K, reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("chunk_size", [1, 3, 256])
def test_gram_matrix_matches_qiskit_for_any_chunking(chunk_size):
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 2 * np.pi, (7, 2))
    K = kernel_matrix(FEATURE_MAP, X, chunk_size=chunk_size)
    rows = [{"v": x} for x in X]
    np.testing.assert_allclose(K, qiskit_kernel(FEATURE_MAP, rows, rows), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(K, K.T)
    np.testing.assert_allclose(kernel_matrix(FEATURE_MAP, X, X, chunk_size=chunk_size), K,
                               atol=1e-14)


def test_several_inputs_and_trained_weights():
    x, z, w = Symbol("x", (0,)), Symbol("z"), Symbol("w", (0,))
    ops = [Gate("h", (0,)), Gate("ry", (1,), [x]), Gate("crz", (0, 1), [w * z]),
           Gate("rxx", (0, 2), [x + z]), Gate("u", (2,), [w, z, x])]
    circuit = Circuit("enc", (Register("q", 3),), (),
                      (Param("x", "input", (1,)), Param("z", "input"), Param("w", "weight", (1,))),
                      ops)
    rng = np.random.default_rng(2)
    X = {"x": rng.uniform(-2, 2, (4, 1)), "z": rng.uniform(-2, 2, 4)}
    Y = {"x": rng.uniform(-2, 2, (2, 1)), "z": rng.uniform(-2, 2, 2)}
    weights = {"w": np.array([0.8])}
    K = kernel_matrix(circuit, X, Y, weights)
    rows_x = [{"x": X["x"][i], "z": X["z"][i]} for i in range(4)]
    rows_y = [{"x": Y["x"][i], "z": Y["z"][i]} for i in range(2)]
    np.testing.assert_allclose(K, qiskit_kernel(circuit, rows_x, rows_y, weights), atol=1e-12)


def test_bad_data_is_reported():
    two_inputs = Circuit("c", (Register("q", 1),), (),
                         (Param("a", "input"), Param("b", "input")),
                         (Gate("rx", (0,), [Symbol("a") + Symbol("b")]),))
    with pytest.raises(QCompileError, match="2 input parameters"):
        kernel_matrix(two_inputs, np.zeros(3))
    with pytest.raises(QCompileError, match=r"shape \[N, 2\]"):
        kernel_matrix(FEATURE_MAP, np.zeros((3, 3)))
    with pytest.raises(QCompileError, match="chunk_size"):
        kernel_matrix(FEATURE_MAP, np.zeros((3, 2)), chunk_size=0)
    measured = Circuit("m", (Register("q", 1),), (Register("c", 1),), (Param("a", "input"),),
                       (Gate("rx", (0,), [Symbol("a")]), Measure(0, 0), Gate("h", (0,))))
    with pytest.raises(QCompileError, match="statevector"):
        kernel_matrix(measured, np.ones(2))
