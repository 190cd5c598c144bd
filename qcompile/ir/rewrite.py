"""Rewriting circuit bodies: renumbering wires, and rewriting every straight-line block.

Passes change operations; these helpers do the walking, so that a pass holds only its rule
and no pass re-implements the recursion into if/else blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from .diagnostics import QCompileError
from .ops import Barrier, Condition, Gate, IfElse, Measure, Operation, Reset, SetBits, Unitary

#: A wire renumbering: new index by old one, as a mapping, a sequence or a function (a
#: function may answer None: no wire).
WireMap = Mapping[int, int] | Sequence[int] | Callable[[int], int | None]


def _lookup(wires: WireMap | None) -> Callable[[int], int | None]:
    if wires is None:
        return lambda index: index
    return wires if callable(wires) else wires.__getitem__


def remap(op: Operation, qubits: WireMap | None = None,
          clbits: WireMap | None = None) -> Operation | None:
    """``op`` with every qubit and classical bit renumbered, inside if/else blocks too.

    Barriers keep only the qubits that map to a wire (None when none is left of a barrier
    that had some); every other operation must have all its wires mapped.
    """
    qubit, clbit = _lookup(qubits), _lookup(clbits)
    if isinstance(op, Barrier):
        kept = tuple(w for w in map(qubit, op.qubits) if w is not None)
        return Barrier(kept) if kept or not op.qubits else None
    if type(op) is Gate:  # the common case, without dataclasses.replace's field walk
        return Gate(op.name, tuple(map(qubit, op.qubits)), op.params)
    if isinstance(op, (Gate, Unitary)):
        return replace(op, qubits=tuple(map(qubit, op.qubits)))
    if isinstance(op, Measure):
        return Measure(qubit(op.qubit), clbit(op.clbit))
    if isinstance(op, Reset):
        return Reset(qubit(op.qubit))
    if isinstance(op, SetBits):
        return SetBits(tuple(map(clbit, op.clbits)), op.value)
    if isinstance(op, IfElse):
        condition = Condition(tuple(map(clbit, op.condition.clbits)), op.condition.value)
        return IfElse(condition, remap_all(op.then_body, qubits, clbits),
                      remap_all(op.else_body, qubits, clbits))
    raise TypeError(f"not an operation: {op!r}")


def remap_all(ops: Sequence[Operation], qubits: WireMap | None = None,
              clbits: WireMap | None = None) -> list[Operation]:
    """:func:`remap` of each operation, leaving out barriers with no wire left."""
    return [moved for op in ops if (moved := remap(op, qubits, clbits)) is not None]


Rewrite = Callable[[tuple[Operation, ...]], Sequence[Operation]]


def rewrite_blocks(ops: Sequence[Operation], rewrite: Rewrite, *, into_branches: bool = True,
                   outermost: Rewrite | None = None) -> list[Operation]:
    """Apply ``rewrite`` to every straight-line block: with ``into_branches``, first to both
    branches of each if/else (innermost first), so that the enclosing block sees each
    already-rewritten if/else as one operation; then ``outermost`` (default ``rewrite``) to
    ``ops`` itself — the one block after which nothing else runs."""
    if into_branches:
        ops = [_rewrite_branches(op, rewrite) if isinstance(op, IfElse) else op for op in ops]
    return list((outermost or rewrite)(tuple(ops)))


def _rewrite_branches(op: IfElse, rewrite) -> IfElse:
    """``op`` with both branches rewritten; ``op`` itself when neither changed."""
    then_body = tuple(rewrite_blocks(op.then_body, rewrite))
    else_body = tuple(rewrite_blocks(op.else_body, rewrite))
    if then_body == op.then_body and else_body == op.else_body:
        return op
    return IfElse(op.condition, then_body, else_body)


def invertible(ops: Sequence[Operation]) -> bool:
    """Whether a block is unitary (gates, unitaries, barriers), so that it has an inverse."""
    return all(isinstance(op, (Gate, Unitary, Barrier)) for op in ops)


def inverse_block(ops: Sequence[Operation], what: str = "the inverse") -> list[Operation]:
    """A unitary block undone: reversed, each operation inverted, barriers kept; ``what``
    names, in the error, what asked for it when the block measures or resets."""
    out: list[Operation] = []
    for op in reversed(ops):
        if isinstance(op, Barrier):
            out.append(op)
        elif isinstance(op, (Gate, Unitary)):
            out.append(op.inverse())
        else:
            raise QCompileError(f"{what} needs unitary operations; a "
                                f"{type(op).__name__.lower()} has no inverse")
    return out
