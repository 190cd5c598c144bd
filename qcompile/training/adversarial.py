"""Adversarial examples through input gradients, and what training on them needs.

The program differentiates with respect to its inputs as well as its weights, so the
gradient of the loss with respect to each sample's features is one backward pass over the
batch. FGSM (Goodfellow et al. 2015) moves every feature by ε in the direction that raises
the loss; PGD (Madry et al. 2018) takes ``steps`` such moves of size ``step`` from a
seeded random start inside the ε-box and projects back onto it after each one. Both
attack in the L∞ norm, on the features as the model reads them.
"""

from __future__ import annotations

import numpy as np

from ..backends.gradients import value_and_grad
from ..ir import Program, QCompileError
from .data import features_to_inputs
from .objectives import Objective

ATTACKS = ("fgsm", "pgd")


def input_gradient(program: Program, output: str, objective: Objective, weights,
                   x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The batch loss and its gradient with respect to ``x`` (samples × features)."""
    def loss(outputs):
        out = np.asarray(outputs[output], dtype=float)
        value, grad = objective.value_and_grad(out.reshape(len(x), -1), y)
        return value, {output: grad.reshape(out.shape)}

    value, input_grads, _ = value_and_grad(program, features_to_inputs(program, x), weights,
                                           loss)
    columns = [np.asarray(input_grads[d.name]).reshape(len(x), -1) for d in program.inputs]
    return value, np.concatenate(columns, axis=1)


def attack(kind: str, program: Program, output: str, objective: Objective, weights,
           x: np.ndarray, y: np.ndarray, epsilon: float, *, steps: int = 10,
           step: float | None = None, seed: int | tuple[int, ...] = 0) -> np.ndarray:
    """Adversarial versions of ``x`` within ``epsilon`` of it in every feature."""
    if kind not in ATTACKS:
        raise QCompileError(f"unknown attack {kind!r}; choose one of {', '.join(ATTACKS)}")
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise QCompileError(f"the attack's epsilon must be a positive number, got {epsilon}")
    if kind == "fgsm":
        _, grad = input_gradient(program, output, objective, weights, x, y)
        return x + epsilon * np.sign(grad)
    step = 2.5 * epsilon / steps if step is None else step
    rng = np.random.default_rng(seed)
    moved = x + rng.uniform(-epsilon, epsilon, x.shape)
    for _ in range(steps):
        _, grad = input_gradient(program, output, objective, weights, moved, y)
        moved = np.clip(moved + step * np.sign(grad), x - epsilon, x + epsilon)
    return moved


def parse_attack(text: str) -> tuple[str, float]:
    """``fgsm:0.1`` or ``pgd:0.1`` as (kind, epsilon)."""
    kind, _, value = text.partition(":")
    try:
        epsilon = float(value)
    except ValueError:
        epsilon = float("nan")
    if kind not in ATTACKS or not (np.isfinite(epsilon) and epsilon > 0):
        raise QCompileError(f"an attack is fgsm:EPS or pgd:EPS with EPS > 0, got {text!r}")
    return kind, epsilon
