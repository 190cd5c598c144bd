"""Fuse: merge neighbouring constant gates into dense k-qubit blocks and diagonal blocks.

A statevector simulator pays for every gate one pass over the state (memory traffic) plus
arithmetic that grows with the gate's width: a dense ``k``-qubit matrix costs ``2**k``
multiply-adds per amplitude, a diagonal one a single multiplication. Fusing two gates saves
one pass and changes the arithmetic; the pass fuses exactly when its cost model says the
merged block is no more expensive than its parts:

    cost(block) = pass_cost + (1 if diagonal else 2**width)      (per amplitude)

Symbolic gates (their matrices exist only once parameters are bound), measurement, reset,
barriers and if/else blocks are boundaries on their qubits; the simulator itself merges
bound symbolic gates at run time (see ``qcompile.backends.statevector.plan``).

Grouping rule (what keeps the meaning): a gate may join any open group created at or after
the last group that touched one of its qubits; groups are emitted in the order they were
created. Everything between that group and the gate acts on other qubits, so moving the gate
earlier changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from qiskit.quantum_info import Operator

from ..ir import Gate, GATES, Operation, QCompileError, Unitary
from ..ir.ops import qubits_of
from .base import BlockPass, register_pass
from .canonicalize import constant_matrix


@dataclass
class _Group:
    ops: list[Operation] = field(default_factory=list)
    qubits: list[int] = field(default_factory=list)
    fusible: bool = True
    diagonal: bool = True


def _is_diagonal(op: Gate | Unitary) -> bool:
    if isinstance(op, Gate):
        return GATES[op.name].diagonal
    matrix = op.matrix
    return bool(np.all(matrix == np.diag(np.diag(matrix))))


@register_pass("fuse")
class Fuse(BlockPass):
    """Fuse constant gates into dense blocks of up to max_width qubits and diagonal runs.

    Each fused block becomes one ``Unitary`` (label ``fused``); a block is only formed when
    the cost model ``pass_cost + 2**width`` (dense) or ``pass_cost + 1`` (diagonal, up to
    ``max_diagonal_width`` qubits) per amplitude says it is cheaper than its parts. For
    simulation: the blocks are exact, global phase included, but not hardware gates.
    """

    def __init__(self, max_width: int = 4, max_diagonal_width: int = 8,
                 pass_cost: float = 8.0):
        if not (isinstance(max_width, int) and 1 <= max_width <= 10):
            raise QCompileError(f"fuse: max_width must be an integer from 1 to 10, got "
                                f"{max_width!r}")
        if not (isinstance(max_diagonal_width, int) and 1 <= max_diagonal_width <= 16):
            raise QCompileError(f"fuse: max_diagonal_width must be an integer from 1 to 16, "
                                f"got {max_diagonal_width!r}")
        if not (isinstance(pass_cost, (int, float)) and pass_cost >= 0):
            raise QCompileError(f"fuse: pass_cost must be a non-negative number, got "
                                f"{pass_cost!r}")
        self.max_width = max_width
        self.max_diagonal_width = max_diagonal_width
        self.pass_cost = float(pass_cost)

    def cost(self, width: int, diagonal: bool) -> float:
        """Relative time per amplitude of one block."""
        return self.pass_cost + (1.0 if diagonal else float(2 ** width))

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        groups: list[_Group] = []
        last: dict[int, int] = {}
        for op in ops:
            qubits = qubits_of(op)
            fusible = isinstance(op, (Gate, Unitary)) and constant_matrix(op) is not None
            earliest = max((last[q] for q in qubits if q in last), default=0)
            chosen = None
            if fusible:
                diagonal = _is_diagonal(op)
                chosen = next((g for g in range(earliest, len(groups))
                               if self._worth_joining(groups[g], qubits, diagonal)), None)
            if chosen is None:
                chosen = len(groups)
                groups.append(_Group(fusible=fusible, diagonal=fusible and _is_diagonal(op)))
            group = groups[chosen]
            group.ops.append(op)
            group.qubits += [q for q in qubits if q not in group.qubits]
            group.diagonal = group.diagonal and fusible and _is_diagonal(op)
            for q in qubits:
                last[q] = chosen
        return [op for group in groups for op in self._emit(group)]

    def _worth_joining(self, group: _Group, qubits, diagonal: bool) -> bool:
        if not group.fusible:
            return False
        union = len(set(group.qubits) | set(qubits))
        both_diagonal = group.diagonal and diagonal
        if union > (self.max_diagonal_width if both_diagonal else self.max_width):
            return False
        merged = self.cost(union, both_diagonal)
        return merged <= self.cost(len(group.qubits), group.diagonal) + self.cost(
            len(qubits), diagonal)

    @staticmethod
    def _emit(group: _Group) -> list[Operation]:
        if len(group.ops) == 1:
            return group.ops
        operator = Operator(np.eye(2 ** len(group.qubits), dtype=complex))
        position = {q: k for k, q in enumerate(group.qubits)}
        for op in group.ops:
            operator = operator.compose(Operator(constant_matrix(op)),
                                        qargs=[position[q] for q in op.qubits])
        return [Unitary(operator.data, tuple(group.qubits), "fused")]
