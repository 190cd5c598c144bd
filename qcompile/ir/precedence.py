"""The precedence view of a block: which operations must stay before which, commutation
included, for passes that reschedule.

The dependency view (:mod:`.dag`) keeps the order along every wire. A block means the same
in every order that keeps each pair of operations that share a wire and may not commute
(:func:`.commutation.commutes`) in its place, so those pairs are the only edges here and any
topological order is the same block. A rescheduling pass (qubit reuse) adds its own ordering
constraints ("all of these before all of those") and asks whether one is still possible;
ancestors are kept as bit sets, so that question is one AND and a new constraint updates
every node at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from .commutation import commutes
from .dag import wires_of
from .ops import Operation


@dataclass(frozen=True)
class Constraint:
    """Every node of ``before`` runs before every node of ``after`` (bit sets), with
    ``length`` more steps in between (an operation the pass will put there, e.g. a reset)."""

    before: int
    after: int
    length: int = 0


class Precedence:
    """Nodes ``0..len(ops)-1`` in block order; edges only where the order matters."""

    def __init__(self, ops: Sequence[Operation],
                 wires: Sequence[Sequence[Hashable]] | None = None, *, reorder: bool = True):
        """``wires[node]``: what the node's operation occupies (default: its qubits and
        classical bits); a pass may name finer wires, e.g. one per qubit lifetime. Without
        ``reorder``, operations keep their order along every wire (commuting or not): then
        the depth of every order, counted wire by wire, is the longest path."""
        self.ops = list(ops)
        wires = [wires_of(op) for op in ops] if wires is None else wires
        self._successors: list[list[int]] = [[] for _ in ops]
        self._ancestors: list[int] = []  # bit j of entry i: node j must run before node i
        self.constraints: list[Constraint] = []
        on_wire: dict[Hashable, tuple[list[int], list[int]]] = {}  # nodes, their prefix masks
        for node, op in enumerate(ops):
            found = 0
            for wire in wires[node]:
                chain, prefixes = on_wire.setdefault(wire, ([], [0]))
                for index in range(len(chain) - 1, -1, -1):
                    earlier = chain[index]
                    if found >> earlier & 1 or reorder and commutes(self.ops[earlier], op):
                        continue
                    self._successors[earlier].append(node)
                    found |= self._ancestors[earlier] | 1 << earlier
                    if found & prefixes[index] == prefixes[index]:
                        break  # everything earlier on this wire is already an ancestor
                chain.append(node)
                prefixes.append(prefixes[-1] | 1 << node)
            self._ancestors.append(found)

    def __len__(self) -> int:
        return len(self.ops)

    def ancestors(self, nodes: int) -> int:
        """The nodes that must run before some node of the bit set ``nodes``."""
        found = 0
        for node in members(nodes):
            found |= self._ancestors[node]
        return found

    def can_precede(self, before: int, after: int) -> bool:
        """Whether all of ``before`` may still run before all of ``after`` (bit sets)."""
        return not (self.ancestors(before) | before) & after

    def require(self, before: int, after: int, length: int = 0) -> None:
        """Add the constraint that all of ``before`` run before all of ``after``, ``length``
        steps apart; the caller has checked :meth:`can_precede` (else the graph would get a
        cycle)."""
        gained = self.ancestors(before) | before
        for node, found in enumerate(self._ancestors):
            if found & after or after >> node & 1:
                self._ancestors[node] = found | gained
        self.constraints.append(Constraint(before, after, length))

    def copy(self) -> Precedence:
        """An independent copy for trying constraints (the operation edges are shared)."""
        twin = object.__new__(Precedence)
        twin.ops, twin._successors = self.ops, self._successors
        twin._ancestors, twin.constraints = list(self._ancestors), list(self.constraints)
        return twin

    def order(self) -> list[int | Constraint]:
        """A topological order of the nodes, as close to block order as the constraints
        allow (the earliest ready node first); each constraint appears as soon as all its
        ``before`` nodes have, before any of its ``after`` nodes."""
        successors, waiting = self._graph()
        n = len(self.ops)
        # A constraint is due right before the first of its ``after`` nodes.
        keys = [float(node) for node in range(n)] + [
            (c.after & -c.after).bit_length() - 1.5 for c in self.constraints]
        ready = [(keys[node], node) for node in range(len(successors)) if not waiting[node]]
        heapq.heapify(ready)
        out: list[int | Constraint] = []
        while ready:
            _, node = heapq.heappop(ready)
            out.append(node if node < n else self.constraints[node - n])
            for nxt in successors[node]:
                waiting[nxt] -= 1
                if not waiting[nxt]:
                    heapq.heappush(ready, (keys[nxt], nxt))
        if len(out) != len(successors):
            raise AssertionError("the ordering constraints form a cycle")
        return out

    def path_lengths(self) -> tuple[list[int], list[int]]:
        """Per node (the operations, then one per constraint), the longest chain of steps
        ending at it and the longest starting at it, both counting the node (a constraint
        counts its length); the largest is the depth of the best order."""
        successors, waiting = self._graph()
        n = len(self.ops)
        weight = [1] * n + [c.length for c in self.constraints]
        total = len(weight)
        ready = [node for node in range(total) if not waiting[node]]
        topological = []
        while ready:
            node = ready.pop()
            topological.append(node)
            for nxt in successors[node]:
                waiting[nxt] -= 1
                if not waiting[nxt]:
                    ready.append(nxt)
        ending = list(weight)
        for node in topological:
            for nxt in successors[node]:
                ending[nxt] = max(ending[nxt], ending[node] + weight[nxt])
        starting = list(weight)
        for node in reversed(topological):
            for nxt in successors[node]:
                starting[node] = max(starting[node], starting[nxt] + weight[node])
        return ending, starting

    def depth(self) -> int:
        return max(self.path_lengths()[0], default=0)

    def _graph(self) -> tuple[list[list[int]], list[int]]:
        """Successor lists with one extra node per constraint, and in-degrees."""
        n = len(self.ops)
        successors = [list(s) for s in self._successors]
        successors += [[] for _ in self.constraints]
        for index, constraint in enumerate(self.constraints):
            for node in members(constraint.before):
                successors[node].append(n + index)
            successors[n + index] += members(constraint.after)
        waiting = [0] * len(successors)
        for nexts in successors:
            for nxt in nexts:
                waiting[nxt] += 1
        return successors, waiting


def members(mask: int) -> list[int]:
    """The nodes of a bit set, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
