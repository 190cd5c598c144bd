"""What a model's output means for a task: losses with their gradients, predictions, metrics.

A classifier's output is read by its range, which is known from the program without running
it (:func:`output_range`): expectation values lie in ±Σ|coefficient|, probabilities and
fidelities in [0, 1], and the classical ops map ranges (``scale``, ``tanh``, ``softmax``,
...). So ``loss="auto"`` picks, per model:

- one column in [0, 1] (``zz-vqc``'s parity probability): the probability of class 1, binary
  cross-entropy, predicted class 1 from 0.5 on;
- one column in [-1, 1] (an expectation value, ``qcnn``'s ⟨Z⟩): a score for targets ±1,
  squared error, predicted by sign;
- one unbounded column: a logit, logistic cross-entropy;
- one column per class: probabilities when they come from ``softmax`` or ``probs``
  (cross-entropy), otherwise logits (softmax cross-entropy); predicted by argmax;
- regression targets: squared error on the output as it is.

Every loss is the mean over the batch and returns its gradient with respect to the output,
which is what :func:`qcompile.backends.gradients.value_and_grad` back-propagates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..ir import Counts, ExpVal, Probs, Program, QCompileError, QuantumCall, State, TensorOp
from ..ir.verify import value_shapes

_EPS = 1e-12
LOSSES = ("auto", "cross-entropy", "softmax-cross-entropy", "logistic", "mse", "hinge")


def output_range(program: Program, name: str) -> tuple[float, float]:
    """An interval holding every value of ``name`` (infinite where nothing bounds it)."""
    ranges: dict[str, tuple[float, float]] = {}
    unbounded = (-math.inf, math.inf)
    for stmt in program.body:
        if isinstance(stmt, QuantumCall):
            out = stmt.output
            if isinstance(out, ExpVal):
                bound = max((sum(abs(t.coeff) for t in obs) for obs in out.observables),
                            default=0.0)
                ranges[stmt.result] = (-bound, bound)
            elif isinstance(out, Probs):
                ranges[stmt.result] = (0.0, 1.0)
            elif isinstance(out, Counts):
                ranges[stmt.result] = (0.0, float(out.shots))
            elif isinstance(out, State):
                ranges[stmt.result] = (-1.0, 1.0)
            continue
        operands = [ranges.get(o, unbounded) for o in stmt.operands]
        ranges[stmt.result] = _op_range(stmt, operands)
    return ranges.get(name, unbounded)


def _op_range(op: TensorOp, operands: list[tuple[float, float]]) -> tuple[float, float]:
    lo, hi = operands[0] if operands else (-math.inf, math.inf)
    if op.op == "scale":
        attrs = op.attr_dict
        factor, offset = attrs.get("factor", 1.0), attrs.get("offset", 0.0)
        ends = sorted((factor * lo + offset, factor * hi + offset))
        return (ends[0], ends[1]) if factor else (offset, offset)
    if op.op in ("softmax", "sigmoid", "fidelity"):
        return 0.0, 1.0
    if op.op in ("tanh", "sin", "cos", "l2normalize"):
        return -1.0, 1.0
    if op.op == "relu":
        return max(lo, 0.0), max(hi, 0.0)
    if op.op == "neg":
        return -hi, -lo
    if op.op in ("concat", "slice", "reshape", "transpose"):  # the same values, moved
        return min(o[0] for o in operands), max(o[1] for o in operands)
    return -math.inf, math.inf


def _is_distribution(program: Program, name: str) -> bool:
    """Whether ``name`` is a probability vector per sample (softmax, or a probs readout)."""
    for stmt in program.body:
        if getattr(stmt, "result", None) == name:
            return (isinstance(stmt, TensorOp) and stmt.op == "softmax") or (
                isinstance(stmt, QuantumCall) and isinstance(stmt.output, Probs))
    return False


@dataclass(frozen=True)
class Objective:
    """A loss and how the output turns into predictions, for one model and task."""

    loss: str
    #: number of classes, None for regression
    classes: int | None

    def value_and_grad(self, output: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The batch-mean loss and its gradient with respect to ``output`` (B, k)."""
        return _LOSSES[self.loss](output, y, self.classes)

    def predict(self, output: np.ndarray) -> np.ndarray:
        """Class indices (classification) or values (regression) per sample."""
        if self.classes is None:
            return output[:, 0] if output.shape[1] == 1 else output
        if output.shape[1] > 1:
            return np.argmax(output, axis=1)
        threshold = 0.5 if self.loss == "cross-entropy" else 0.0
        return (output[:, 0] >= threshold).astype(int)

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        """Class probabilities (B, classes), for ``predict_proba``."""
        if self.loss == "cross-entropy":
            p = np.clip(output, 0.0, 1.0)
            return np.column_stack([1 - p[:, 0], p[:, 0]]) if output.shape[1] == 1 else \
                p / np.maximum(p.sum(axis=1, keepdims=True), _EPS)
        if output.shape[1] > 1:
            return _softmax(output)
        score = output[:, 0]
        p1 = _sigmoid(score) if self.loss == "logistic" else np.clip((1 + score) / 2, 0, 1)
        return np.column_stack([1 - p1, p1])


def choose_objective(program: Program, output: str, classes: int | None,
                     loss: str = "auto") -> Objective:
    """The objective for ``output`` of ``program`` on a task with ``classes`` classes
    (None: regression); ``loss`` names one of :data:`LOSSES` or leaves it to the range."""
    if loss not in LOSSES:
        raise QCompileError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    width = _width(program, output)
    if classes is not None and width not in (1, classes):
        raise QCompileError(f"output {output!r} has {width} values per sample; a task with "
                            f"{classes} classes needs 1 (binary) or {classes}")
    if classes is not None and width == 1 and classes != 2:
        raise QCompileError(f"output {output!r} has one value per sample, which can only "
                            f"tell 2 classes apart; this task has {classes}")
    if loss != "auto":
        if classes is None and loss != "mse":
            raise QCompileError(f"loss {loss!r} is for classification; a regression task "
                                f"takes mse")
        return Objective(loss, classes)
    if classes is None:
        return Objective("mse", None)
    lo, hi = output_range(program, output)
    if width > 1:
        return Objective("cross-entropy" if _is_distribution(program, output)
                         else "softmax-cross-entropy", classes)
    if 0.0 <= lo and hi <= 1.0:
        return Objective("cross-entropy", classes)
    if -1.0 <= lo and hi <= 1.0:
        return Objective("mse", classes)
    return Objective("logistic", classes)


def _width(program: Program, output: str) -> int:
    shape = value_shapes(program, bodies=False)[output]
    return int(np.prod(shape)) if shape else 1


# --- losses: (output (B, k), targets (B,), classes) -> (mean loss, d loss / d output) ------

def _targets_pm(y: np.ndarray) -> np.ndarray:
    return 2.0 * y - 1.0


def _cross_entropy(out, y, classes):
    n = len(out)
    if out.shape[1] == 1:
        p = np.clip(out[:, 0], _EPS, 1 - _EPS)
        value = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        grad = (-(y / p) + (1 - y) / (1 - p)) / n
        return float(value), grad[:, None]
    picked = np.clip(out[np.arange(n), y.astype(int)], _EPS, None)
    grad = np.zeros_like(out)
    grad[np.arange(n), y.astype(int)] = -1.0 / picked / n
    return float(-np.mean(np.log(picked))), grad


def _softmax_cross_entropy(out, y, classes):
    n = len(out)
    p = _softmax(out)
    value = -np.mean(np.log(np.clip(p[np.arange(n), y.astype(int)], _EPS, None)))
    grad = p.copy()
    grad[np.arange(n), y.astype(int)] -= 1.0
    return float(value), grad / n


def _logistic(out, y, classes):
    score = out[:, 0]
    value = np.mean(np.logaddexp(0.0, score) - y * score)
    return float(value), ((_sigmoid(score) - y) / len(out))[:, None]


def _mse(out, y, classes):
    target = _targets_pm(y)[:, None] if classes is not None else y.reshape(out.shape)
    diff = out - target
    return float(np.mean(np.sum(diff ** 2, axis=1))), 2.0 * diff / len(out)


def _hinge(out, y, classes):
    margin = _targets_pm(y) * out[:, 0]
    active = margin < 1.0
    value = np.mean(np.where(active, 1.0 - margin, 0.0))
    return float(value), (np.where(active, -_targets_pm(y), 0.0) / len(out))[:, None]


_LOSSES: dict[str, Callable] = {
    "cross-entropy": _cross_entropy, "softmax-cross-entropy": _softmax_cross_entropy,
    "logistic": _logistic, "mse": _mse, "hinge": _hinge}


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# --- metrics -------------------------------------------------------------------------------

def metrics(objective: Objective, output: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Loss and accuracy / macro F1 (classification) or R² (regression)."""
    loss, _ = objective.value_and_grad(output, y)
    predicted = objective.predict(output)
    if objective.classes is None:
        target = y.reshape(predicted.shape)
        residual = float(np.sum((target - predicted) ** 2))
        total = float(np.sum((target - target.mean(axis=0)) ** 2))
        return {"loss": loss, "r2": 1.0 - residual / total if total else 0.0}
    f1 = []
    for label in range(objective.classes):
        tp = np.sum((predicted == label) & (y == label))
        fp, fn = np.sum((predicted == label) & (y != label)), np.sum((predicted != label) & (
            y == label))
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return {"loss": loss, "accuracy": float(np.mean(predicted == y)), "f1": float(np.mean(f1))}
