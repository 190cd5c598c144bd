"""Derivatives through gate angles: how a gate depends on each angle, and each angle on the
circuit's parameters.

Every parametric gate of the IR depends on any one of its angles θ (the others held fixed) in
one of three forms, which fixes the frequencies of θ in its matrix entries and hence in every
expectation value or probability read out after it:

=====================  ======================  ===========  =====================================
form                   matrix entries span     readouts     gates (angle)
=====================  ======================  ===========  =====================================
rotation               cos θ/2, sin θ/2        {0, ±1}      rx ry rz rxx ryy rzz; θ of u u3 U
phase                  1, e^{iθ}               {0, ±1}      p phase u1 cp cphase cu1; u2;
                                                            φ, λ of u u3 U cu3; φ, λ, γ of cu
controlled rotation    1, cos θ/2, sin θ/2     {0, ±½, ±1}  crx cry crz; θ of cu3 cu
=====================  ======================  ===========  =====================================

A trigonometric polynomial whose only nonzero frequency is ω is differentiated exactly by
f'(θ) = ω/2 · (f(θ + s) − f(θ − s)) with s = π/(2ω). Applied to the matrix it gives dU/dθ for
the adjoint method; applied to a readout with frequencies {±1} it is the two-term
parameter-shift rule; with {±½, ±1} two such differences solve for both frequencies (the
four-term rule). No gate needs decomposing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...ir import Circuit, QCompileError
from ...ir.expr import Expr, Symbol, diff, evaluate, symbols
from ...ir.gates import gate_matrix


@dataclass(frozen=True)
class AngleForm:
    """How a gate depends on one angle.

    ``matrix_frequency`` is the frequency ω of the angle in the matrix entries;
    ``shift_rule`` lists ``(coefficient, shift)`` pairs with
    d⟨readout⟩/dθ = Σ coefficient · (⟨readout⟩(θ + shift) − ⟨readout⟩(θ − shift)).
    """

    name: str
    matrix_frequency: float
    shift_rule: tuple[tuple[float, float], ...]


_HALF_PI = math.pi / 2
ROTATION = AngleForm("rotation", 0.5, ((0.5, _HALF_PI),))
PHASE = AngleForm("phase", 1.0, ((0.5, _HALF_PI),))
CONTROLLED_ROTATION = AngleForm(
    "controlled rotation", 0.5,
    (((math.sqrt(2) + 1) / (4 * math.sqrt(2)), _HALF_PI),
     (-(math.sqrt(2) - 1) / (4 * math.sqrt(2)), 3 * _HALF_PI)))

#: Gate name -> the form of each of its angles, in parameter order.
ANGLE_FORMS: dict[str, tuple[AngleForm, ...]] = {
    **dict.fromkeys(("rx", "ry", "rz", "rxx", "ryy", "rzz"), (ROTATION,)),
    **dict.fromkeys(("p", "phase", "u1", "cp", "cphase", "cu1"), (PHASE,)),
    **dict.fromkeys(("crx", "cry", "crz"), (CONTROLLED_ROTATION,)),
    "u2": (PHASE, PHASE),
    **dict.fromkeys(("u", "u3", "U"), (ROTATION, PHASE, PHASE)),
    "cu3": (CONTROLLED_ROTATION, PHASE, PHASE),
    "cu": (CONTROLLED_ROTATION, PHASE, PHASE, PHASE),
}


def angle_form(gate_name: str, index: int) -> AngleForm:
    forms = ANGLE_FORMS.get(gate_name)
    if forms is None or index >= len(forms):
        raise QCompileError(f"gate {gate_name!r} has no derivative rule for its parameter "
                            f"{index}; only the parametric gates of the IR gate library can be "
                            f"differentiated")
    return forms[index]


def gate_derivative(gate_name: str, angles, index: int) -> np.ndarray:
    """dU/dθ_index of a (batched) gate matrix, exact up to rounding."""
    omega = angle_form(gate_name, index).matrix_frequency
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

    Values follow :func:`~qcompile.backends.statevector.simulate`: one more axis than the
    parameter's shape means per-sample (the gradient stays per sample), otherwise shared by the
    batch (the gradient sums over it). ``grads`` has the shape of each value.
    """

    def __init__(self, circuit: Circuit, values: Mapping[str, np.ndarray] | None):
        values = values or {}
        self.env = {p.name: np.asarray(values[p.name], dtype=float) for p in circuit.params}
        self.batched = {p.name: self.env[p.name].ndim > len(p.shape) for p in circuit.params}
        self.grads = {name: np.zeros(value.shape) for name, value in self.env.items()}

    def add(self, angle: Expr, d_angle: np.ndarray) -> None:
        """Accumulate d loss/d angle (per sample, shape ``(B,)``) into the parameters."""
        for symbol, partial in angle_partials(angle):
            with np.errstate(all="ignore"):
                contribution = d_angle * evaluate(partial, self.env)
            if self.batched[symbol.name]:
                self.grads[symbol.name][(slice(None), *symbol.index)] += contribution
            else:
                self.grads[symbol.name][symbol.index] += np.sum(contribution)


def batch_size_hint(circuit: Circuit, values: Mapping[str, np.ndarray] | None) -> int:
    """The batch size ``values`` imply (1 when none is batched or they are malformed; the
    simulator reports malformed values properly)."""
    for param in circuit.params:
        shape = np.shape((values or {}).get(param.name, ()))
        if len(shape) == len(param.shape) + 1:
            return max(int(shape[0]), 1)
    return 1
