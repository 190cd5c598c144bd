"""The dependency view of a block: operations as nodes, each wire a chain through them.

A straight-line block (a circuit body or one branch of an if/else) fixes an order of its
operations only along wires: two operations depend on each other when they share a qubit or
a classical bit. :class:`DependencyDag` keeps, for every node and each of its wires, the
neighbouring node on that wire, so a rewrite asks "what comes right before this gate on its
qubits?" instead of rebuilding per-wire adjacency, and removing a node joins its neighbours.
If/else blocks are single nodes on every wire they read or touch; barriers are nodes on
their qubits, so nothing is ever matched across one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .ops import Gate, Operation, clbits_of, qubits_of

#: A qubit ``q`` is wire ``q``, a classical bit ``c`` is wire ``-1 - c``.
Wire = int


def wires_of(op: Operation) -> tuple[Wire, ...]:
    """The wires an operation occupies: its qubits, then its classical bits."""
    if type(op) is Gate:  # the common case, first: a rewrite builds many of these views
        return op.qubits
    return (*qubits_of(op), *(-1 - c for c in clbits_of(op)))


class DependencyDag:
    """Nodes ``0..len(ops)-1`` in block order; removed nodes leave their place empty."""

    def __init__(self, ops: Sequence[Operation]):
        # A node holds one operation, None once removed, or a list after replace().
        self._ops: list[Operation | list[Operation] | None] = list(ops)
        self._wires = [wires_of(op) for op in ops]
        self._before: list[dict[Wire, int | None]] = []
        self._after: list[dict[Wire, int | None]] = []
        last: dict[Wire, int] = {}
        for node, wires in enumerate(self._wires):
            before = {}
            for w in wires:
                previous = before[w] = last.get(w)
                if previous is not None:
                    self._after[previous][w] = node
                last[w] = node
            self._before.append(before)
            self._after.append(dict.fromkeys(wires))

    def __len__(self) -> int:
        return len(self._ops)

    def op(self, node: int) -> Operation:
        """The operation at a node that holds exactly one."""
        held = self._ops[node]
        if isinstance(held, list):
            if len(held) == 1:
                return held[0]
            raise KeyError(f"node {node} holds {len(held)} operations")
        if held is None:
            raise KeyError(f"node {node} holds no operation")
        return held

    def alive(self, node: int) -> bool:
        return self._ops[node] is not None

    def nodes(self) -> Iterator[int]:
        """The nodes still present, in block order."""
        return (node for node, ops in enumerate(self._ops) if ops is not None)

    def wires(self, node: int) -> tuple[Wire, ...]:
        return self._wires[node]

    def before(self, node: int, wire: Wire) -> int | None:
        """The nearest node before ``node`` on ``wire`` (one of its wires), or None."""
        return self._before[node][wire]

    def after(self, node: int, wire: Wire) -> int | None:
        """The nearest node after ``node`` on ``wire``, or None."""
        return self._after[node][wire]

    def common_predecessor(self, node: int) -> int | None:
        """The node right before ``node`` on every one of its wires, if it is one node."""
        found = {self._before[node][w] for w in self._wires[node]}
        return found.pop() if len(found) == 1 else None

    def remove(self, node: int) -> None:
        """Take a node out; on each of its wires its neighbours become adjacent."""
        for w in self._wires[node]:
            prev, nxt = self._before[node][w], self._after[node][w]
            if prev is not None:
                self._after[prev][w] = nxt
            if nxt is not None:
                self._before[nxt][w] = prev
        self._ops[node] = None

    def replace(self, node: int, ops: Sequence[Operation]) -> None:
        """Put ``ops`` (on a subset of the node's wires) in the node's place; an empty
        sequence removes it. The node keeps its wires, so it stays a boundary on them."""
        if not ops:
            self.remove(node)
        else:
            self._ops[node] = list(ops)

    def ops(self) -> list[Operation]:
        """The block as it stands, in order."""
        out: list[Operation] = []
        for held in self._ops:
            if isinstance(held, list):
                out += held
            elif held is not None:
                out.append(held)
        return out
