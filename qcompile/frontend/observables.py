"""Pauli-sum observables: the algebra (``0.5 * Z(0) @ Z(1) - X(2)``) and the text syntax
(``"0.5 Z0 Z1 - X2"``) shared by ``expval`` in the model language and the builder.

The syntax is ``observables.lark``; the model language's grammar imports its rules, so a Pauli
sum reads the same everywhere and :func:`lower_observable` turns either parse tree into an
:class:`Observable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lark import Tree

from ..ir import PauliTerm, QCompileError
from ..ir.diagnostics import location_in
from .lark_syntax import Grammar


@dataclass(frozen=True)
class Observable:
    """A real linear combination of Pauli strings: ``0.5 * Z(0) @ Z(1) - X(2)``."""

    terms: tuple[PauliTerm, ...]

    def __matmul__(self, other: Observable) -> Observable:
        terms = []
        for a in self.terms:
            for b in other.terms:
                shared = {q for q, _ in a.paulis} & {q for q, _ in b.paulis}
                if shared:
                    raise QCompileError(f"Pauli product acts twice on qubit {min(shared)}; "
                                        f"write each qubit once per term")
                terms.append(PauliTerm(a.coeff * b.coeff, a.paulis + b.paulis))
        return Observable(tuple(terms))

    def __add__(self, other: Observable) -> Observable:
        return Observable(self.terms + other.terms)

    def __sub__(self, other: Observable) -> Observable:
        return self + (-1.0) * other

    def __rmul__(self, factor: float) -> Observable:
        return Observable(tuple(PauliTerm(factor * t.coeff, t.paulis) for t in self.terms))

    __mul__ = __rmul__

    def __neg__(self) -> Observable:
        return (-1.0) * self


def pauli(letter: str, qubit: int) -> Observable:
    if letter not in "IXYZ" or len(letter) != 1:
        raise QCompileError(f"unknown Pauli {letter!r}; use I, X, Y or Z")
    return Observable((PauliTerm(1.0, ((int(qubit), letter),)),))


#: How the terminals of the observable rules read in syntax errors, for every grammar using them.
TERMINALS = {"NUMBER": "a number", "PAULI": "a Pauli factor such as Z0", "NEG": "'-'"}

_GRAMMAR = Grammar(Path(__file__).with_name("observables.lark"),
                   {**TERMINALS, "_END": "end of statement"})


def parse_observable(text: str) -> Observable:
    """A Pauli sum written as in ``expval``: ``"Z0 Z1 + 0.5 * X0"``."""
    tree = _GRAMMAR.parse(text, "<observable>")
    return lower_observable(tree.children[0], text, "<observable>")


def lower_observable(tree: Tree, text: str, filename: str) -> Observable:
    """An ``observable`` parse tree of ``text``; an error points at the term that caused it."""
    total = None
    for term in tree.children:
        sign = -1.0 if term.data == "minus_term" else 1.0
        if term.data == "minus_term":
            term = term.children[0]
        neg, coeff, *factors = term.children
        try:
            product = pauli(factors[0][0], int(factors[0][1:]))
            for factor in factors[1:]:
                product = product @ pauli(factor[0], int(factor[1:]))
        except QCompileError as err:
            raise QCompileError(err.message, location_in(text, filename, term.meta.line,
                                                         term.meta.column)) from None
        scale = sign * (-1.0 if neg else 1.0) * (float(coeff) if coeff else 1.0)
        product = scale * product
        total = product if total is None else total + product
    return total
