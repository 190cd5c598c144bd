"""Derivatives through gate angles: how a gate depends on each angle, and each angle on the
circuit's parameters.

Every parametric gate of the IR depends on any one of its angles θ (the others held fixed) in
one of three forms, recorded on its library entry (:class:`~qcompile.ir.gates.AngleForm`):
a rotation (entries cos θ/2, sin θ/2), a phase (1, e^{iθ}) or a controlled rotation
(1, cos θ/2, sin θ/2). The form fixes the frequencies of θ in the matrix entries and hence in
every expectation value or probability read out after it.

A trigonometric polynomial whose only nonzero frequency is ω is differentiated exactly by
f'(θ) = ω/2 · (f(θ + s) − f(θ − s)) with s = π/(2ω). Applied to the matrix it gives dU/dθ for
the adjoint method; applied to a readout with frequencies {±1} it is the two-term
parameter-shift rule; with {±½, ±1} two such differences solve for both frequencies (the
four-term rule). No gate needs decomposing.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ...ir.expr import Expr, Symbol, diff, evaluate, symbols
from ...ir.gates import GATES, gate_matrix
from ..binding import Binding


def gate_derivative(gate_name: str, angles, index: int) -> np.ndarray:
    """dU/dθ_index of a (batched) gate matrix, exact up to rounding."""
    omega = GATES[gate_name].angles[index].matrix_frequency
    shift = math.pi / (2 * omega)
    plus, minus = list(angles), list(angles)
    plus[index] = np.asarray(angles[index]) + shift
    minus[index] = np.asarray(angles[index]) - shift
    return omega / 2 * (gate_matrix(gate_name, plus) - gate_matrix(gate_name, minus))


@lru_cache(maxsize=4096)
def angle_partials(angle: Expr) -> tuple[tuple[Symbol, Expr], ...]:
    """Each symbol of an angle expression with the exact derivative of the angle by it."""
    ordered = sorted(symbols(angle), key=lambda s: (s.name, s.index))
    return tuple((symbol, diff(angle, symbol)) for symbol in ordered)


class ParameterGradients:
    """Chain rule from gate angles to parameter values.

    Per-sample values (see :mod:`qcompile.backends.binding`) keep per-sample gradients;
    values shared by the batch get the sum over it. ``grads`` has the shape of each value.
    """

    def __init__(self, binding: Binding):
        self.env = binding.values
        self.batched = binding.batched
        self.grads = {name: np.zeros(value.shape) for name, value in self.env.items()}

    def add(self, angle: Expr, d_angle: np.ndarray) -> None:
        """Accumulate d loss/d angle (per sample, shape ``(B,)``) into the parameters."""
        for symbol, partial in angle_partials(angle):
            with np.errstate(all="ignore"):
                contribution = d_angle * evaluate(partial, self.env)
            if symbol.name in self.batched:
                self.grads[symbol.name][(slice(None), *symbol.index)] += contribution
            else:
                self.grads[symbol.name][symbol.index] += np.sum(contribution)
