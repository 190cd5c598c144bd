"""Cuts as quasi-probability decompositions (QPDs) into local operations.

A cut replaces a two-qubit gate, or a stretch of wire, by a sum ``Σ c_i (A_i ⊗ B_i)`` of
products of one-qubit operations: ``A_i`` runs in the fragment that holds one side, ``B_i`` in
the fragment that holds the other. Each side is a :class:`Side`: one-qubit unitaries and
measurements whose outcome weighs the record (``(1, -1)``: multiply by the outcome's sign;
``(1, 1)``: measure and ignore, the same as tracing out). Sampling the terms in proportion to
``|c_i|`` costs ``γ² = (Σ|c_i|)²`` times the shots of the uncut circuit.

- **Gate cuts** take any two-qubit matrix to its KAK form ``(K1a ⊗ K1b) exp(i(a XX + b YY + c
  ZZ)) (K2a ⊗ K2b)`` (Qiskit's Weyl decomposition) and cut each non-zero interaction
  ``exp(-iφ P⊗P)`` with the six terms of Mitarai and Fujii (New J. Phys. 23, 023021, 2021):
  ``cos²φ [id] + sin²φ [P⊗P] + cosφ sinφ (M_P ⊗ (R⁺ - R⁻) + (R⁺ - R⁻) ⊗ M_P)``, where
  ``M_P`` measures P with the sign weight and ``R^±`` rotates by ``exp(∓iπ/4 P)``; its
  ``γ = 1 + 2|sin 2φ|``: 3 for CX/CZ, ``1 + 2|sin θ|`` for ``rzz(θ)``. Gates with several
  interactions (swap, iswap) take the product of their cuts.
- **Wire cuts** (no classical communication) expand the identity channel over Paulis,
  ``ρ = ½ Σ_P Tr(Pρ) P``, each ``P`` split into its eigenstates: measure in the X, Y or Z
  basis upstream, prepare an eigenstate downstream, eight terms of weight ½, ``γ = 4``
  (Peng et al., PRL 125, 150504, 2020). The identity term measures Z and ignores the outcome,
  so it shares the Z term's upstream experiment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from ..ir import QCompileError

_I = np.eye(2, dtype=complex)
_PAULIS = {
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1, -1]).astype(complex),
}
_H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
_SDG = np.diag([1, -1j])
#: The unitary taking each Pauli's eigenbasis to the computational one (+1 eigenstate → |0>).
TO_Z_BASIS = {"X": _H, "Y": _H @ _SDG, "Z": _I}
#: Below this, a KAK interaction coefficient is zero (no cut needed for it).
_TOLERANCE = 1e-12

SIGN = (1.0, -1.0)
IGNORE = (1.0, 1.0)


@dataclass(frozen=True)
class Measurement:
    """Measure in the computational basis; the record is multiplied by ``weights[outcome]``."""

    weights: tuple[float, float]


@dataclass(frozen=True, eq=False)
class Side:
    """One side of one term: ``steps`` (2×2 unitaries and :class:`Measurement`) in order.

    ``key`` names what it does, so that equal sides of different terms share one experiment
    (computed once: every term combination asks again).
    """

    steps: tuple[np.ndarray | Measurement, ...]
    label: str

    @cached_property
    def key(self) -> tuple:
        return tuple(s.weights if isinstance(s, Measurement) else np.round(s, 12).tobytes()
                     for s in self.steps)

    def then(self, other: Side) -> Side:
        return Side(self.steps + other.steps, f"{self.label}·{other.label}".strip("·"))

    def around(self, before: np.ndarray, after: np.ndarray) -> Side:
        return Side((before,) + self.steps + (after,), self.label)


@dataclass(frozen=True)
class Term:
    coefficient: float
    first: Side   # on the gate's first qubit, or the wire upstream of the cut
    second: Side  # on the gate's second qubit, or the wire downstream


@dataclass(frozen=True)
class Decomposition:
    terms: tuple[Term, ...]

    @property
    def gamma(self) -> float:
        return float(sum(abs(t.coefficient) for t in self.terms))


_NOTHING = Side((), "")


def _measure(pauli: str, weights=SIGN) -> Side:
    to_z = TO_Z_BASIS[pauli]
    return Side((to_z, Measurement(weights), to_z.conj().T), f"measure {pauli}")


def _rotation(pauli: str, sign: int) -> Side:
    """``exp(-i sign π/4 P)``."""
    matrix = math.cos(math.pi / 4) * _I - 1j * sign * math.sin(math.pi / 4) * _PAULIS[pauli]
    return Side((matrix,), f"r{pauli.lower()}({'+' if sign > 0 else '-'}π/2)")


def interaction_terms(pauli: str, phi: float) -> tuple[Term, ...]:
    """The six terms of ``exp(-iφ P⊗P)``."""
    c, s = math.cos(phi), math.sin(phi)
    p = Side((_PAULIS[pauli],), pauli.lower())
    return (Term(c * c, _NOTHING, _NOTHING), Term(s * s, p, p),
            Term(c * s, _measure(pauli), _rotation(pauli, +1)),
            Term(-c * s, _measure(pauli), _rotation(pauli, -1)),
            Term(c * s, _rotation(pauli, +1), _measure(pauli)),
            Term(-c * s, _rotation(pauli, -1), _measure(pauli)))


def interactions(matrix: np.ndarray) -> tuple[tuple[str, float], ...]:
    """The non-zero interactions ``(P, φ)`` of a two-qubit matrix's KAK form
    ``exp(-i Σ φ_P P⊗P)``."""
    return _weyl(np.asarray(matrix, dtype=complex).round(14).tobytes())[1]


@lru_cache(maxsize=4096)
def _weyl(matrix_bytes: bytes):
    from qiskit.synthesis import TwoQubitWeylDecomposition  # slow to import

    matrix = np.frombuffer(matrix_bytes, dtype=complex).reshape(4, 4)
    try:
        weyl = TwoQubitWeylDecomposition(matrix, fidelity=None)
    except Exception as err:  # qiskit raises its own error types for non-unitary input
        raise QCompileError(f"cannot cut a two-qubit gate whose matrix has no KAK form "
                            f"({err})") from None
    found = tuple((pauli, -coefficient) for pauli, coefficient
                  in (("X", weyl.a), ("Y", weyl.b), ("Z", weyl.c))
                  if abs(coefficient) > _TOLERANCE)
    return weyl, found


def gate_cut(matrix: np.ndarray) -> Decomposition:
    """The QPD of a two-qubit gate (``matrix``: bit 0 of its index is the first qubit)."""
    weyl, found = _weyl(np.asarray(matrix, dtype=complex).round(14).tobytes())
    terms = (Term(1.0, _NOTHING, _NOTHING),)
    for pauli, phi in found:
        terms = tuple(Term(t.coefficient * u.coefficient, t.first.then(u.first),
                           t.second.then(u.second))
                      for t in terms for u in interaction_terms(pauli, phi)
                      if u.coefficient != 0.0)
    # Qiskit writes kron(left, right) with the right factor on qubit 0 (our first qubit).
    return Decomposition(tuple(
        Term(t.coefficient, t.first.around(weyl.K2r, weyl.K1r),
             t.second.around(weyl.K2l, weyl.K1l)) for t in terms))


def gate_gamma(matrix: np.ndarray) -> float:
    """``γ`` of :func:`gate_cut` without building its terms."""
    return math.prod(1 + 2 * abs(math.sin(2 * phi)) for _, phi in interactions(matrix))


def worst_gate_gamma(matrix: np.ndarray) -> float:
    """The largest ``γ`` a gate of this interaction structure can have (3 per interaction):
    the cost of a gate whose angles are not known yet."""
    return 3.0 ** len(interactions(matrix))


def _prepare(pauli: str, outcome: int) -> Side:
    """Prepare the eigenstate of ``pauli`` for ``outcome`` (0: +1) from |0>."""
    flip = _PAULIS["X"] if outcome else _I
    return Side((TO_Z_BASIS[pauli].conj().T @ flip,), f"prepare {pauli}{'+-'[outcome]}")


@lru_cache(maxsize=1)
def wire_cut() -> Decomposition:
    """The eight-term, ``γ = 4`` cut of a wire without classical communication."""
    terms = []
    for pauli in "XYZ":
        for outcome in (0, 1):
            sign = -1.0 if outcome else 1.0
            terms.append(Term(0.5 * sign, _measure(pauli), _prepare(pauli, outcome)))
    for outcome in (0, 1):  # the identity: trace out (a Z measurement, ignored), prepare I
        terms.append(Term(0.5, _measure("Z", IGNORE), _prepare("Z", outcome)))
    return Decomposition(tuple(terms))


#: ``γ`` of :func:`wire_cut`.
WIRE_GAMMA = 4.0
