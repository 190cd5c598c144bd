"""Optimizers over a model's trainable weights (a dict of arrays), with checkpointable state.

Gradient methods (Adam, SGD with momentum) take the gradient of the mini-batch loss. SPSA
(Spall 1992) estimates it from two loss evaluations at weights perturbed along one random ±1
direction, the hardware-friendly choice: two circuit batches per step whatever the number
of weights. COBYLA and Nelder–Mead are scipy's gradient-free minimizers, run for a fixed
number of loss evaluations per epoch from the current weights. Every optimizer's state is a
dict of arrays and numbers, so a checkpoint restores it exactly; randomness (SPSA's
directions) is drawn from a generator seeded by the step number, never from hidden state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from ..ir import QCompileError

Weights = dict[str, np.ndarray]
OPTIMIZERS = ("adam", "sgd", "spsa", "cobyla", "nelder-mead")
SCHEDULES = ("constant", "cosine", "step")


def learning_rate(base: float, schedule: str, epoch: int, epochs: int) -> float:
    """The rate for ``epoch`` (0-based) of ``epochs``: constant, cosine decay to 0, or
    halved every third of the run."""
    if schedule == "cosine":
        return base * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))
    if schedule == "step":
        return base * 0.5 ** (epoch // max(1, epochs // 3))
    return base


class Adam:
    uses = "gradient"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.state: dict = {}

    def step(self, weights: Weights, grads: Weights, lr: float) -> Weights:
        t = self.state["t"] = self.state.get("t", 0) + 1
        out = {}
        for name, g in grads.items():
            m = self.state[f"m:{name}"] = self.beta1 * self.state.get(f"m:{name}", 0) + (
                1 - self.beta1) * g
            v = self.state[f"v:{name}"] = self.beta2 * self.state.get(f"v:{name}", 0) + (
                1 - self.beta2) * g * g
            m_hat, v_hat = m / (1 - self.beta1 ** t), v / (1 - self.beta2 ** t)
            out[name] = weights[name] - lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return {**weights, **out}


class SGD:
    uses = "gradient"

    def __init__(self, momentum: float = 0.9):
        self.momentum = momentum
        self.state: dict = {}

    def step(self, weights: Weights, grads: Weights, lr: float) -> Weights:
        out = {}
        for name, g in grads.items():
            velocity = self.state[name] = self.momentum * self.state.get(name, 0) + g
            out[name] = weights[name] - lr * velocity
        return {**weights, **out}


class SPSA:
    """Simultaneous perturbation: ``g ≈ (L(w + c·Δ) − L(w − c·Δ)) / (2c) · Δ`` with Δ ±1,
    and the gain ``c_k = c / (k+1)^0.101`` (Spall's exponent)."""

    uses = "loss"

    def __init__(self, perturbation: float = 0.1, seed: int = 0):
        self.perturbation, self.seed = perturbation, seed
        self.state: dict = {}

    def step(self, weights: Weights, loss: Callable[[Weights], float],
             lr: float) -> tuple[Weights, float]:
        """New weights, and the mean of the two losses (an estimate of the current one)."""
        k = self.state.get("k", 0)
        self.state["k"] = k + 1
        rng = np.random.default_rng([self.seed, k])
        delta = {n: rng.choice([-1.0, 1.0], np.shape(w)) for n, w in weights.items()}
        c = self.perturbation / (k + 1) ** 0.101
        plus = loss({n: w + c * delta[n] for n, w in weights.items()})
        minus = loss({n: w - c * delta[n] for n, w in weights.items()})
        slope = (plus - minus) / (2 * c)
        return {n: w - lr * slope * delta[n] for n, w in weights.items()}, (plus + minus) / 2


class Scipy:
    """scipy.optimize.minimize with a gradient-free ``method`` for ``evaluations`` loss
    evaluations per call, from the given weights (it keeps no state between calls)."""

    uses = "epoch"

    def __init__(self, method: str):
        self.method = method
        self.state: dict = {}

    def run(self, weights: Weights, loss: Callable[[Weights], float],
            evaluations: int) -> Weights:
        from scipy.optimize import minimize

        names = sorted(weights)
        sizes = [int(np.size(weights[n])) for n in names]
        bounds = np.cumsum([0] + sizes)

        def unflatten(flat):
            return {n: flat[lo:hi].reshape(np.shape(weights[n]))
                    for n, lo, hi in zip(names, bounds[:-1], bounds[1:])}

        start = np.concatenate([np.ravel(weights[n]) for n in names]) if names else np.zeros(0)
        result = minimize(lambda flat: loss(unflatten(flat)), start, method=self.method,
                          options={"maxiter" if self.method == "COBYLA" else "maxfev":
                                   evaluations})
        return {**weights, **unflatten(result.x)}


def make_optimizer(name: str, seed: int):
    """The optimizer called ``name`` (one of :data:`OPTIMIZERS`)."""
    if name == "adam":
        return Adam()
    if name == "sgd":
        return SGD()
    if name == "spsa":
        return SPSA(seed=seed)
    if name in ("cobyla", "nelder-mead"):
        return Scipy("COBYLA" if name == "cobyla" else "Nelder-Mead")
    raise QCompileError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def state_arrays(state: Mapping) -> dict[str, np.ndarray]:
    """An optimizer's state as arrays (for an .npz checkpoint)."""
    return {f"opt:{k}": np.asarray(v) for k, v in state.items()}


def state_from_arrays(arrays: Mapping[str, np.ndarray]) -> dict:
    """The optimizer state :func:`state_arrays` stored."""
    return {k[4:]: (v if v.ndim else v.item()) for k, v in arrays.items()
            if k.startswith("opt:")}
