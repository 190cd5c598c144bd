"""Canonicalize: one spelling per gate, folded angles, no identity operations.

Later passes compare gates structurally (``rx(t)`` against ``rx(-t)``); that only works when
equal things are written equally, so this pass runs first in every preset.
"""

from __future__ import annotations

import numpy as np

from ..ir import Gate, IfElse, Operation, Unitary, gate_matrix
from ..ir.expr import Const, fold
from .base import BlockPass, register_pass

#: Alias -> the one spelling kept. Each pair has the same parameters and exactly the same
#: matrix, global phase included (the tests check this with ``gate_matrix``).
CANONICAL_NAMES = {
    "CX": "cx",
    "phase": "p",
    "u1": "p",
    "cphase": "cp",
    "cu1": "cp",
    "U": "u",
    "u3": "u",
}


def canonical_gate(gate: Gate) -> Gate:
    """The gate under its canonical name with every parameter expression folded."""
    return Gate(CANONICAL_NAMES.get(gate.name, gate.name), gate.qubits,
                tuple(fold(p) for p in gate.params))


def constant_matrix(op: Gate | Unitary) -> np.ndarray | None:
    """The matrix of a unitary or of a gate whose angles are all constants, else None."""
    if isinstance(op, Unitary):
        return op.matrix
    if all(isinstance(p, Const) for p in op.params):
        return gate_matrix(op.name, [p.value for p in op.params])
    return None


def is_identity(gate: Gate) -> bool:
    """True when the gate's matrix is exactly the identity, global phase included.

    Deciding from the matrix gets every period right without a table: rz(2 pi) = -I is kept
    (controlled, crz(2 pi) = Z on the control, so the phase matters), rz(4 pi), p(2 pi) and
    u(0, a, -a) are dropped. Symbolic angles are never identities here.
    """
    matrix = constant_matrix(gate)
    return matrix is not None and np.allclose(matrix, np.eye(len(matrix)), rtol=0, atol=1e-12)


@register_pass("canonicalize")
class Canonicalize(BlockPass):
    """Fold constant angles, rename gate aliases (CX, U, u1, ...) and drop identities.

    Identities are gates whose matrix is exactly I (``id``, ``rx(0)``, ``rz(4 pi)``,
    ``p(2 pi)``, ...) and if/else blocks whose branches are both empty. Symbolic angles are
    folded but kept.
    """

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        out: list[Operation] = []
        for op in ops:
            if isinstance(op, Gate):
                op = canonical_gate(op)
                if is_identity(op):
                    continue
            elif isinstance(op, IfElse) and not (op.then_body or op.else_body):
                continue
            out.append(op)
        return out
