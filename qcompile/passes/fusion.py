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

from ..ir import Gate, Operation, Unitary
from ..ir.matrices import embed
from ..ir.ops import constant_matrix, is_diagonal, qubits_of
from .base import BlockPass, option, register_pass


@dataclass
class _Group:
    ops: list[Operation] = field(default_factory=list)
    qubits: list[int] = field(default_factory=list)
    fusible: bool = True
    diagonal: bool = True


@register_pass("fuse")
@dataclass(frozen=True)
class Fuse(BlockPass):
    """Fuse constant gates into dense blocks of up to max_width qubits and diagonal runs.

    Each fused block becomes one ``Unitary`` (label ``fused``); a block is only formed when
    the cost model ``pass_cost + 2**width`` (dense) or ``pass_cost + 1`` (diagonal, up to
    ``max_diagonal_width`` qubits) per amplitude says it is cheaper than its parts. For
    simulation: the blocks are exact, global phase included, but not hardware gates.
    """

    max_width: int = option(4, low=1, high=10)
    max_diagonal_width: int = option(8, low=1, high=16)
    pass_cost: float = option(8.0, low=0)

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
                diagonal = is_diagonal(op)
                chosen = next((g for g in range(earliest, len(groups))
                               if self._worth_joining(groups[g], qubits, diagonal)), None)
            if chosen is None:
                chosen = len(groups)
                groups.append(_Group(fusible=fusible, diagonal=fusible and is_diagonal(op)))
            group = groups[chosen]
            group.ops.append(op)
            group.qubits += [q for q in qubits if q not in group.qubits]
            group.diagonal = group.diagonal and fusible and is_diagonal(op)
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
        wires = range(len(group.qubits))
        position = {q: k for k, q in enumerate(group.qubits)}
        product = np.eye(2 ** len(group.qubits), dtype=complex)
        for op in group.ops:
            product = embed(constant_matrix(op), [position[q] for q in op.qubits], wires) @ product
        return [Unitary(product, tuple(group.qubits), "fused")]
