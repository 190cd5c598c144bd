"""Issue 15, scikit-learn estimators: Gram matrices against Qiskit statevectors, an SVM on
a precomputed quantum kernel, kernel-target alignment and its gradient against numpy and
finite differences, variational models in Pipeline / GridSearchCV, and check_estimator."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector
from sklearn.base import clone
from sklearn.datasets import make_moons
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import check_estimator

from qcompile.adapters.sklearn import (QuantumClassifier, QuantumKernel, QuantumRegressor,
                                       align_kernel, kernel_target_alignment,
                                       non_applicable_checks)
from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.runner import init_weights, run_program
from qcompile.frontend.qm import parse_model

# A feature map with kernel hyperparameters: s[0] scales the phases, s[1] the rotations.
SCALED_MAP = parse_model("""model scaled_map
input x[2]
weight s[2]
circuit fm(x, s) qubits 2 {
  h q
  for i in 0..2 { rz(s[0] * x[i]) q[i]; ry(s[1] * x[i]) q[i] }
  cx q[0], q[1]
  rz(s[0] * s[1] * x[0] * x[1]) q[1]
  cx q[0], q[1]
  for i in 0..2 { ry(s[1] * x[i]) q[i] }
}
psi = state(fm(x, s))
return psi
""")
S = {"s": np.array([0.9, 1.1])}


def linear_model(n: int, head: bool = False):
    """One qubit, ``ry(w · x + b)``, read as ⟨Z⟩ (optionally through a linear layer)."""
    terms = " + ".join(f"w[{i}] * x[{i}]" for i in range(n))
    source = (f"model tiny{n}\ninput x[{n}]\nweight w[{n + 1}]\n"
              + ("weight a[1, 1]\nweight b[1]\n" if head else "")
              + f"circuit c(x, w) qubits 1 {{\n  ry({terms} + w[{n}]) q[0]\n}}\n"
              + "z = expval(c(x, w), Z0)\n"
              + ("y = linear(z, a, b)\nreturn y\n" if head else "return z\n"))
    return parse_model(source)


def embedding(n: int):
    """A feature map ``ry(s · x_k)`` on qubit k, with the bandwidth ``s`` a weight."""
    return parse_model(f"model emb{n}\ninput x[{n}]\nweight s[1]\n"
                       f"circuit c(x, s) qubits {n} {{\n"
                       f"  for k in 0..{n} {{ ry(s[0] * x[k]) q[k] }}\n}}\n"
                       f"psi = state(c(x, s))\nreturn psi\n")


@pytest.fixture(scope="module")
def moons():
    x, y = make_moons(120, noise=0.1, random_state=0)
    return train_test_split(x, y, test_size=0.3, random_state=0)


def reference_kernel(rows_x, rows_y):
    circuit = SCALED_MAP.circuits[0]

    def state(row):
        return Statevector(to_qiskit(circuit, {"x": row, **S})).data
    left, right = [state(r) for r in rows_x], [state(r) for r in rows_y]
    return np.array([[abs(np.vdot(b, a)) ** 2 for b in right] for a in left])


# --- the kernel ----------------------------------------------------------------------------

def test_gram_and_cross_kernels_match_qiskit():
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(0, np.pi, (6, 2)), rng.uniform(0, np.pi, (3, 2))
    kernel = QuantumKernel(SCALED_MAP, weights=S)
    K = kernel.fit_transform(X)
    np.testing.assert_allclose(K, reference_kernel(X, X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(K, K.T)
    np.testing.assert_allclose(np.diag(K), 1.0, atol=1e-12)
    cross = kernel.transform(Y)
    assert cross.shape == (3, 6)
    np.testing.assert_allclose(cross, reference_kernel(Y, X), rtol=0, atol=1e-12)


def test_kernel_errors_are_value_errors():
    with pytest.raises(ValueError, match="weight 's'"):
        QuantumKernel(SCALED_MAP).fit(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        QuantumKernel(SCALED_MAP, weights=S).transform(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="3 features"):
        QuantumKernel(SCALED_MAP, weights=S).fit(np.zeros((3, 3)))


def test_svm_on_a_precomputed_quantum_kernel(moons):
    x_train, x_test, y_train, y_test = moons
    model = make_pipeline(MinMaxScaler((0, np.pi)), QuantumKernel(SCALED_MAP, weights=S),
                          SVC(kernel="precomputed"))
    assert model.fit(x_train, y_train).score(x_test, y_test) > 0.8


# --- kernel-target alignment ---------------------------------------------------------------

@pytest.fixture(scope="module")
def aligned_data():
    x, y = make_moons(30, noise=0.1, random_state=1)
    return MinMaxScaler((0, np.pi)).fit_transform(x), np.where(y == 1, "b", "a")


def test_alignment_value_and_gradient(aligned_data):
    X, labels = aligned_data
    value, grads = kernel_target_alignment(SCALED_MAP, X, labels, S)
    K = QuantumKernel(SCALED_MAP, weights=S).fit_transform(X)
    y = np.where(labels == "b", 1.0, -1.0)
    Y = np.outer(y, y)
    assert value == pytest.approx(np.sum(K * Y) / (np.linalg.norm(K) * np.linalg.norm(Y)),
                                  abs=1e-12)
    h = 1e-5
    for k in range(2):
        step = np.eye(2)[k] * h
        up = kernel_target_alignment(SCALED_MAP, X, labels, {"s": S["s"] + step})[0]
        down = kernel_target_alignment(SCALED_MAP, X, labels, {"s": S["s"] - step})[0]
        assert grads["s"][k] == pytest.approx((up - down) / (2 * h), abs=1e-8)


def test_align_kernel_increases_the_alignment(aligned_data):
    X, y = aligned_data
    start = {"s": np.array([0.5, 0.7])}
    tuned = align_kernel(SCALED_MAP, X, y, start, steps=20, lr=0.1)
    before = kernel_target_alignment(SCALED_MAP, X, y, start)[0]
    assert kernel_target_alignment(SCALED_MAP, X, y, tuned)[0] > before + 0.05


# --- variational models --------------------------------------------------------------------

def test_classifier_in_a_pipeline_and_a_grid_search(moons):
    x_train, x_test, y_train, y_test = moons
    labels = np.array(["left", "right"])
    model = make_pipeline(StandardScaler(), QuantumClassifier(linear_model(2), epochs=5, lr=0.2))
    model.fit(x_train, labels[y_train])
    assert model.score(x_test, labels[y_test]) > 0.75
    assert set(model.predict(x_test)) <= set(labels)
    proba = model.predict_proba(x_test)
    assert proba.shape == (len(x_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    clf = model[-1]
    assert list(clf.classes_) == list(labels) and len(clf.history_) == 5
    assert set(clf.weights_) == {"w"}
    search = GridSearchCV(clone(model), {"quantumclassifier__lr": [0.01, 0.2]}, cv=2)
    search.fit(x_train, y_train)
    assert search.best_params_ == {"quantumclassifier__lr": 0.2}


def test_regressor_fits_a_smooth_function():
    x = np.linspace(-1, 1, 40)[:, None]
    y = 0.8 * np.sin(1.5 * x[:, 0])
    program = linear_model(1, head=True)
    start = r2_score(y, run_program(program, {"x": x}, init_weights(program, 0))["y"][:, 0])
    model = QuantumRegressor(program, epochs=40, batch=8, lr=0.05).fit(x, y)
    assert model.score(x, y) > max(0.9, start)


def test_bad_input_gets_scikit_learns_errors():
    clf = QuantumClassifier(linear_model(2), epochs=1)
    with pytest.raises(NotFittedError):
        clf.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="take 2"):
        clf.fit(np.zeros((4, 3)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="Only binary"):
        clf.fit(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.full((2, 2), np.nan), [0, 1])
    with pytest.raises(ValueError, match="unknown optimizer"):
        clf.set_params(optimizer="nope").fit(np.zeros((2, 2)), [0, 1])


# --- scikit-learn's estimator checks -------------------------------------------------------

# The program fixes the number of features and the checks fit data of 1, 2, 3, 4, 5 and 10
# features: each width passes the checks of its width, and exactly the checks declared
# non-applicable (those of other widths) fail, so every check runs and passes somewhere.
@pytest.mark.parametrize("features", [1, 2, 3, 4, 5, 10])
@pytest.mark.parametrize("kind", ["kernel", "classifier", "regressor"])
def test_check_estimator(kind, features):
    if kind == "kernel":
        estimator = QuantumKernel(embedding(features), weights={"s": np.array([0.8])})
    elif kind == "classifier":
        estimator = QuantumClassifier(linear_model(features), epochs=1, lr=0.3)
    else:  # check_regressors_train asks for R² > 0.5 on 10 features: a few more epochs
        estimator = QuantumRegressor(linear_model(features, head=True), epochs=30, lr=0.1)
    results = check_estimator(estimator, on_skip=None, on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    declared = set(non_applicable_checks(estimator)) & {r["check_name"] for r in results}
    assert set(failed) == declared, {k: v for k, v in failed.items() if k not in declared}
