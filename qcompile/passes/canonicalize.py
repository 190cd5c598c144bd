"""Canonicalize: one spelling per gate, folded angles, no identity operations.

Later passes compare gates structurally (``rx(t)`` against ``rx(-t)``); that only works when
equal things are written equally, so this pass runs first in every preset.
"""

from __future__ import annotations

import numpy as np

from ..ir import Gate, IfElse, Operation
from ..ir.matrices import identity
from ..ir.ops import constant_matrix
from .base import BlockPass, register_pass


def is_identity(gate: Gate) -> bool:
    """True when the gate's matrix is exactly the identity, global phase included.

    Deciding from the matrix gets every period right without a table: rz(2 pi) = -I is kept
    (controlled, crz(2 pi) = Z on the control, so the phase matters), rz(4 pi), p(2 pi) and
    u(0, a, -a) are dropped. Symbolic angles are never identities here.
    """
    matrix = constant_matrix(gate)
    return matrix is not None and float(np.abs(matrix - identity(len(matrix))).max()) <= 1e-12


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
                op = op.canonical()
                if is_identity(op):
                    continue
            elif isinstance(op, IfElse) and not (op.then_body or op.else_body):
                continue
            out.append(op)
        return out
