"""Gate modifiers (``inv @``, ``pow(k) @``, ``ctrl @``, ``negctrl @``) lowered onto IR gates.

The IR has no modifiers, so a modified gate is rewritten: ``inv`` inverts each gate in reverse
order, integer ``pow`` repeats, ``ctrl`` maps each gate to the library's gate with one more
control (x→cx, cx→ccx, rz→crz, ...), and what has no such gate becomes an explicit
:class:`Unitary` built from the matrices, which needs constant parameters.

A gate body is a :class:`Body`: operations on local qubits ``0..n-1`` plus a global phase.
The phase is kept because a controlled body turns it into a relative phase on the control.

Repetition and control multiply work, and a matrix doubles in size with each control, so
``pow`` and ``ctrl`` are given the operations the program may still unroll (``limit``) and
refuse to go past it before the work; no matrix is built on more than
:data:`MAX_UNITARY_QUBITS` qubits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ir import GATES, Barrier, Gate, Unitary
from ..ir.expr import Const, Expr, as_expr, evaluate, fold, is_constant
from ..ir.gates import controlled
from ..ir.matrices import embed
from ..ir.ops import constant_matrix
from ..ir.rewrite import remap


#: Qubits of an explicit matrix: 2**10 x 2**10 complex numbers are 16 MiB.
MAX_UNITARY_QUBITS = 10


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


def power(body: Body, exponent: float, limit: int) -> Body:
    """``pow(k) @``: repetition for integers (at most ``limit`` operations in all), the
    principal matrix power otherwise."""
    if float(exponent).is_integer():
        count = abs(int(exponent))
        if len(body.ops) * count > limit:
            raise ModifierError(f"pow({exponent}) @ repeats {len(body.ops)} operation(s) "
                                f"{count} times, more than the {limit:,} the program may still "
                                "unroll")
        base = body if exponent >= 0 else inverse(body)
        return Body.of(base.ops * count, body.num_qubits, base.phase * count)
    import scipy.linalg  # slow to import

    matrix = body_matrix(body, "pow @ with a non-integer exponent")
    schur, basis = scipy.linalg.schur(matrix, output="complex")
    angles = np.angle(np.diag(schur))
    angles = np.where(angles <= -math.pi + 1e-12, angles + 2 * math.pi, angles)
    root = basis @ np.diag(np.exp(1j * exponent * angles)) @ basis.conj().T
    return Body.of([Unitary(root, range(body.num_qubits), "pow")], body.num_qubits)


def control(body: Body, count: int, negative: bool, limit: int) -> Body:
    """Add ``count`` controls in front (qubits ``0..count-1``); the body's qubits shift up.
    Each control rewrites every operation, and its matrices count (:func:`matrix_cost`):
    ``limit`` bounds both."""
    if count * len(body.ops) > limit:
        raise ModifierError(f"ctrl({count}) @ rewrites {len(body.ops)} operation(s) {count} "
                            f"times, more than the {limit:,} the program may still unroll")
    for _ in range(count):
        body = _control_once(body, negative)
        if matrix_cost(body) > limit:
            raise ModifierError(f"ctrl({count}) @ builds explicit matrices worth more than the "
                                f"{limit:,} operations the program may still unroll")
    return body


def matrix_cost(body: Body) -> int:
    """What the explicit matrices of a body count against the unrolling limit: a matrix on k
    qubits holds 4**k numbers and counts as 4**k / 16 operations (one on two qubits as one)."""
    return sum(max(1, 4 ** len(op.qubits) // 16) for op in body.ops if isinstance(op, Unitary))


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
    if len(op.qubits) + 1 > MAX_UNITARY_QUBITS:
        raise ModifierError(f"ctrl @ of gate '{_name(op)}' needs an explicit matrix on "
                            f"{len(op.qubits) + 1} qubits; at most {MAX_UNITARY_QUBITS} are "
                            "supported")
    return Unitary(controlled(op_matrix(op, "ctrl @")), (0, *op.qubits), f"c{_name(op)}")


def _name(op) -> str:
    return op.name if isinstance(op, Gate) else op.label


def op_matrix(op, purpose: str) -> np.ndarray:
    matrix = constant_matrix(op)
    if matrix is None:
        raise ModifierError(f"{purpose} of gate '{op.name}' with symbolic parameters has no IR "
                            "form (it needs a matrix, so its parameters must be constants)")
    return matrix


def body_matrix(body: Body, purpose: str) -> np.ndarray:
    """The unitary of a body (qubit k is bit k of the index), global phase included."""
    n = body.num_qubits
    if n > MAX_UNITARY_QUBITS:
        raise ModifierError(f"{purpose} needs the matrix of {n} qubits; at most "
                            f"{MAX_UNITARY_QUBITS} are supported")
    if not is_constant(body.phase):
        raise ModifierError(f"{purpose} needs a constant global phase")
    total = np.eye(2 ** n, dtype=complex) * np.exp(1j * float(evaluate(body.phase, {})))
    for op in body.ops:
        if not isinstance(op, Barrier):
            total = embed(op_matrix(op, purpose), op.qubits, range(n)) @ total
    return total
