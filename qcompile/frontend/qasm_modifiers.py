"""Gate modifiers (``inv @``, ``pow(k) @``, ``ctrl @``, ``negctrl @``) lowered onto IR gates.

The IR has no modifiers, so a modified gate is rewritten: ``inv`` inverts each gate in reverse
order, integer ``pow`` repeats, ``ctrl`` maps each gate to the library's gate with one more
control (x→cx, cx→ccx, rz→crz, ...), and what has no such gate becomes an explicit
:class:`Unitary` built from the matrices, which needs constant parameters.

A gate body is a :class:`Body`: operations on local qubits ``0..n-1`` plus a global phase.
The phase is kept because a controlled body turns it into a relative phase on the control.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..ir import GATES, Barrier, Gate, Unitary
from ..ir.expr import Const, Expr, as_expr, evaluate, fold, is_constant
from ..ir.gates import controlled
from ..ir.matrices import embed
from ..ir.ops import constant_matrix
from ..ir.rewrite import remap


class ModifierError(Exception):
    """A modifier that has no IR form here; the importer adds the source location."""


@dataclass(frozen=True)
class Body:
    """``ops`` act on local qubits ``0..num_qubits-1``; ``phase`` is a global phase angle."""

    ops: tuple
    phase: Expr
    num_qubits: int

    @staticmethod
    def of(ops, num_qubits: int, phase=0.0) -> Body:
        return Body(tuple(ops), fold(as_expr(phase)), num_qubits)

    @property
    def has_phase(self) -> bool:
        return not (isinstance(self.phase, Const) and self.phase.value == 0.0)


def inverse(body: Body) -> Body:
    ops = [op if isinstance(op, Barrier) else op.inverse() for op in reversed(body.ops)]
    return Body.of(ops, body.num_qubits, -body.phase)


def power(body: Body, exponent: float) -> Body:
    """``pow(k) @``: repetition for integers, the principal matrix power otherwise."""
    if float(exponent).is_integer():
        base = body if exponent >= 0 else inverse(body)
        count = abs(int(exponent))
        return Body.of(base.ops * count, body.num_qubits, base.phase * count)
    matrix = body_matrix(body, "pow @ with a non-integer exponent")
    schur, basis = scipy.linalg.schur(matrix, output="complex")
    angles = np.angle(np.diag(schur))
    angles = np.where(angles <= -math.pi + 1e-12, angles + 2 * math.pi, angles)
    root = basis @ np.diag(np.exp(1j * exponent * angles)) @ basis.conj().T
    return Body.of([Unitary(root, range(body.num_qubits), "pow")], body.num_qubits)


def control(body: Body, count: int, negative: bool) -> Body:
    """Add ``count`` controls in front (qubits ``0..count-1``); the body's qubits shift up."""
    for _ in range(count):
        body = _control_once(body, negative)
    return body


def _control_once(body: Body, negative: bool) -> Body:
    ops = [_controlled_op(remap(op, lambda q: q + 1)) for op in body.ops]
    if body.has_phase:
        ops.append(Gate("p", (0,), (body.phase,)))
    if negative:
        ops = [Gate("x", (0,)), *ops, Gate("x", (0,))]
    return Body.of(ops, body.num_qubits + 1)


def _controlled_op(op):
    """One operation with an extra control on qubit 0."""
    if isinstance(op, Barrier):
        return Barrier((0, *op.qubits))
    if isinstance(op, Gate) and GATES[op.name].controlled is not None:
        return Gate(GATES[op.name].controlled, (0, *op.qubits), op.params)
    return Unitary(controlled(op_matrix(op, "ctrl @")), (0, *op.qubits),
                   f"c{op.name if isinstance(op, Gate) else op.label}")


def op_matrix(op, purpose: str) -> np.ndarray:
    matrix = constant_matrix(op)
    if matrix is None:
        raise ModifierError(f"{purpose} of gate '{op.name}' with symbolic parameters has no IR "
                            "form (it needs a matrix, so its parameters must be constants)")
    return matrix


def body_matrix(body: Body, purpose: str) -> np.ndarray:
    """The unitary of a body (qubit k is bit k of the index), global phase included."""
    n = body.num_qubits
    if not is_constant(body.phase):
        raise ModifierError(f"{purpose} needs a constant global phase")
    total = np.eye(2 ** n, dtype=complex) * np.exp(1j * float(evaluate(body.phase, {})))
    for op in body.ops:
        if not isinstance(op, Barrier):
            total = embed(op_matrix(op, purpose), op.qubits, range(n)) @ total
    return total
