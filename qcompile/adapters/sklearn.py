"""Compiled programs as scikit-learn estimators.

- :class:`QuantumKernel` turns a feature-map circuit into fidelity Gram matrices, so any
  kernel method takes it: ``make_pipeline(QuantumKernel(fm), SVC(kernel="precomputed"))``.
- :func:`kernel_target_alignment` and :func:`align_kernel` tune the kernel's weights
  (bandwidths, trainable embeddings) by an exact gradient, before any SVM is fitted.
- :class:`QuantumClassifier` and :class:`QuantumRegressor` train a variational program with
  :class:`qcompile.training.Trainer`, so ``Pipeline``, ``GridSearchCV`` and ``clone`` work on
  it as on any estimator.

Features are the columns of a 2-D array, which the circuit's (or program's) inputs take in
declaration order. scikit-learn signals bad data and parameters with ``ValueError``, so the
``QCompileError`` qcompile raises for them is re-raised as one here.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ..backends.runner import run_program
from ..backends.statevector.kernel_matrix import DEFAULT_CHUNK, encode, kernel_matrix
from ..backends.statevector.vjp import circuit_vjp
from ..ir import Circuit, Program, QCompileError, State
from ..ir.verify import value_shapes
from ..training import Dataset, Trainer, TrainConfig, features_to_inputs
from ..training.optimizers import Adam

@contextmanager
def _as_value_error():
    try:
        yield
    except QCompileError as err:
        raise ValueError(str(err)) from err


# --- kernels -------------------------------------------------------------------------------

def _feature_map(feature_map) -> Circuit:
    if isinstance(feature_map, Program):
        if len(feature_map.circuits) != 1:
            raise ValueError(f"program {feature_map.name!r} has {len(feature_map.circuits)} "
                             f"circuits; a feature map is one circuit")
        return feature_map.circuits[0]
    if not isinstance(feature_map, Circuit):
        raise ValueError(f"a feature map is a Circuit or a Program with one circuit, not "
                         f"{type(feature_map).__name__}")
    return feature_map


def _columns(circuit: Circuit, X: np.ndarray) -> dict[str, np.ndarray]:
    """The columns of ``X`` as the circuit's input parameters, in declaration order."""
    params = [p for p in circuit.params if p.role == "input"]
    sizes = [int(np.prod(p.shape)) for p in params]
    if X.shape[1] != sum(sizes) or not params:
        wanted = ", ".join(f"{p.name}{list(p.shape)}" for p in params) or "none"
        raise ValueError(f"X has {X.shape[1]} features per sample; the inputs of feature map "
                         f"{circuit.name!r} ({wanted}) take {sum(sizes)}")
    bounds = np.cumsum([0] + sizes)
    return {p.name: X[:, lo:hi].reshape((len(X),) + tuple(p.shape))
            for p, lo, hi in zip(params, bounds[:-1], bounds[1:])}


def _kernel_weights(circuit: Circuit, weights) -> dict[str, np.ndarray]:
    """Every weight parameter of the circuit, as a float array of its shape."""
    weights = dict(weights or {})
    out = {}
    for p in circuit.params:
        if p.role != "weight":
            continue
        if p.name not in weights:
            raise ValueError(f"feature map {circuit.name!r} needs a value for its weight "
                             f"{p.name!r}{list(p.shape)}; pass weights={{{p.name!r}: ...}}")
        out[p.name] = np.asarray(weights[p.name], dtype=float).reshape(p.shape)
    return out


class QuantumKernel(TransformerMixin, BaseEstimator):
    """Fidelity kernel ``K(x, x') = |⟨ψ(x')|ψ(x)⟩|²`` of ``feature_map`` (a ``Circuit`` or a
    ``Program`` with one circuit) as a transformer: ``fit(X)`` keeps X, ``transform(Y)`` gives
    ``K(Y, X)`` and ``fit_transform(X)`` the Gram matrix, each sample encoded once.

    ``weights`` binds the circuit's weight parameters (kernel hyperparameters) by parameter
    name; :func:`align_kernel` tunes them.
    """

    def __init__(self, feature_map, *, weights=None, chunk_size=DEFAULT_CHUNK):
        self.feature_map = feature_map
        self.weights = weights
        self.chunk_size = chunk_size

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=float)
        self.circuit_ = _feature_map(self.feature_map)
        _columns(self.circuit_, X)
        self.weights_ = _kernel_weights(self.circuit_, self.weights)
        self.X_fit_ = X
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=float, reset=False)
        return self._kernel(X, self.X_fit_)

    def fit_transform(self, X, y=None):
        """The Gram matrix of ``X`` (exactly symmetric), one encoding per sample."""
        return self.fit(X)._kernel(self.X_fit_, None)

    def _kernel(self, X, Y):
        with _as_value_error():
            return kernel_matrix(self.circuit_, _columns(self.circuit_, X),
                                 None if Y is None else _columns(self.circuit_, Y),
                                 self.weights_, chunk_size=self.chunk_size)


def kernel_target_alignment(feature_map, X, y, weights=None):
    """``(A, grads)``: the alignment ``A = ⟨K, yyᵀ⟩_F / (‖K‖_F ‖yyᵀ‖_F)`` of the Gram matrix
    with two-class labels ``y`` (as ±1), and ``dA/dw`` for every weight of the circuit.

    With overlaps ``O_mk = ⟨ψ_m|ψ_k⟩`` and ``K = |O|²``, ``dA = Σ G_mk dK_mk`` for
    ``G = dA/dK`` (symmetric), which is ``Re⟨C_k|dψ_k⟩`` with ``C = 4 (G ∘ O)ᵀ ψ``: one
    adjoint VJP of the ``state`` readout over the batch gives the exact weight gradient.
    """
    circuit = _feature_map(feature_map)
    X = check_array(X, dtype=float)
    classes, signs = np.unique(np.asarray(y), return_inverse=True)
    if len(classes) != 2 or len(signs) != len(X):
        raise ValueError(f"kernel-target alignment needs one of two labels per sample; got "
                         f"{len(classes)} classes for {len(signs)} labels and {len(X)} samples")
    target = 2.0 * signs.ravel() - 1.0
    inputs, weights = _columns(circuit, X), _kernel_weights(circuit, weights)
    with _as_value_error():
        states = encode(circuit, inputs, weights)
    overlaps = states.conj() @ states.T
    K = overlaps.real ** 2 + overlaps.imag ** 2
    Y = np.outer(target, target)
    norm, n = np.linalg.norm(K), len(target)  # ‖yyᵀ‖_F = n
    inner = float(np.sum(K * Y))
    value = inner / (norm * n)
    dK = Y / (norm * n) - inner * K / (norm ** 3 * n)
    if not weights:
        return value, {}
    cotangent = 4.0 * (dK * overlaps).T @ states
    with _as_value_error():
        grads = circuit_vjp(circuit, State(), {**weights, **inputs}, cotangent)
    return value, {name: np.asarray(grads[name], dtype=float) for name in weights}


def align_kernel(feature_map, X, y, weights, *, steps=50, lr=0.05):
    """Weights that maximise :func:`kernel_target_alignment` on ``(X, y)``, by ``steps``
    Adam steps from ``weights``: a cheap proxy for the SVM's accuracy, since it needs no
    SVM fit per step."""
    weights = _kernel_weights(_feature_map(feature_map), weights)
    adam = Adam()
    for _ in range(steps):
        _, grads = kernel_target_alignment(feature_map, X, y, weights)
        weights = adam.step(weights, {k: -g for k, g in grads.items()}, lr)
    return weights


# --- variational models --------------------------------------------------------------------

class _QuantumEstimator(BaseEstimator):
    def __init__(self, program, *, epochs=20, batch=32, lr=0.05, optimizer="adam",
                 loss="auto", seed=0, output=None):
        self.program = program
        self.epochs = epochs
        self.batch = batch
        self.lr = lr
        self.optimizer = optimizer
        self.loss = loss
        self.seed = seed
        self.output = output

    def _train(self, X, y, classes):
        config = dict(epochs=self.epochs, batch=self.batch, lr=self.lr,
                      optimizer=self.optimizer, loss=self.loss, seed=self.seed,
                      output=self.output)
        with _as_value_error():
            trainer = Trainer(self.program, Dataset("sklearn", X, y, X[:0], y[:0], classes),
                              TrainConfig(**config))
            result = trainer.run()
        self.output_ = trainer.output
        self.weights_, self.objective_, self.history_ = (result.weights, result.objective,
                                                         result.history)
        return self

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=float, reset=False)
        with _as_value_error():
            out = run_program(self.program, features_to_inputs(self.program, X),
                              self.weights_, seed=self.seed)[self.output_]
        return np.asarray(out, dtype=float).reshape(len(X), -1)

    def _width(self) -> int:
        name = self.output or self.program.outputs[0]
        return int(np.prod(value_shapes(self.program, bodies=False).get(name, ())))


class QuantumClassifier(ClassifierMixin, _QuantumEstimator):
    """A program trained as a classifier; ``loss="auto"`` reads its output by range
    (:func:`qcompile.training.choose_objective`). One output value per sample tells two
    classes apart, one per class any number."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs at least 2 classes; y has 1 class "
                             f"({self.classes_[0]!r})")
        if len(self.classes_) > 2 and self._width() == 1:
            raise ValueError(f"Only binary classification is supported: the output has one "
                             f"value per sample; y has {len(self.classes_)} classes")
        return self._train(X, encoder.transform(y), tuple(str(c) for c in self.classes_))

    def predict(self, X):
        out = self._outputs(X)
        return self.classes_[self.objective_.predict(out)]

    def predict_proba(self, X):
        out = self._outputs(X)
        return self.objective_.probabilities(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self._width() > 2
        return tags


class QuantumRegressor(RegressorMixin, _QuantumEstimator):
    """A program trained by squared error on its (one-valued) output."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=float, y_numeric=True)
        return self._train(X, y, None)

    def predict(self, X):
        out = self._outputs(X)
        return self.objective_.predict(out)


# --- scikit-learn's estimator checks -------------------------------------------------------

#: The number of features of the data each width-dependent check of
#: ``sklearn.utils.estimator_checks`` (as of scikit-learn 1.9) fits on: a program fixes its
#: feature count, so on a model of another width the check cannot apply.
CHECK_FEATURES = {
    "check_fit2d_1feature": 1,
    **dict.fromkeys((
        "check_estimators_overwrite_params", "check_estimators_fit_returns_self",
        "check_readonly_memmap_input", "check_classifier_data_not_an_array",
        "check_classifiers_classes", "check_classifiers_train", "check_fit_idempotent",
        "check_fit_check_is_fitted", "check_n_features_in"), 2),
    **dict.fromkeys((
        "check_fit_score_takes_y", "check_dont_overwrite_parameters",
        "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
        "check_f_contiguous_array_estimator", "check_supervised_y_2d",
        "check_methods_sample_order_invariance", "check_methods_subset_invariance",
        "check_dict_unchanged", "check_fit2d_predict1d"), 3),
    **dict.fromkeys(("check_n_features_in_after_fitting",
                     "check_positive_only_tag_during_fit"), 4),
    "check_estimators_dtypes": 5,
    "check_dtype_object": 10,
}
#: The same for the regressor and the transformer checks (a classifier fails one sample as
#: one class first, whatever its width).
REGRESSOR_CHECK_FEATURES = {
    **CHECK_FEATURES, "check_regressors_no_decision_function": 4,
    **dict.fromkeys(("check_regressors_train", "check_regressor_data_not_an_array",
                     "check_regressors_int", "check_fit2d_1sample"), 10),
}
KERNEL_CHECK_FEATURES = {
    **CHECK_FEATURES, "check_fit2d_1sample": 10,
    **dict.fromkeys(("check_transformer_data_not_an_array", "check_transformer_general",
                     "check_transformer_preserve_dtypes"), 3),
}


def non_applicable_checks(estimator) -> dict[str, str]:
    """``expected_failed_checks`` for ``check_estimator`` / ``parametrize_with_checks``: the
    checks whose data has another number of features than ``estimator``'s program (or
    feature map) takes."""
    if isinstance(estimator, QuantumKernel):
        circuit = _feature_map(estimator.feature_map)
        decls, table = [p for p in circuit.params if p.role == "input"], KERNEL_CHECK_FEATURES
    else:
        decls, table = estimator.program.inputs, (
            REGRESSOR_CHECK_FEATURES if isinstance(estimator, RegressorMixin) else CHECK_FEATURES)
    width = sum(int(np.prod(d.shape)) for d in decls)
    return {name: f"fits {n} feature(s); the program takes {width}"
            for name, n in table.items() if n != width}
