"""Commute-cancel: inverse pairs and same-axis rotations meet through the gates between them.

A gate may move earlier past every gate on its wires that it commutes with
(:func:`qcompile.ir.commutation.commutes`: rz through a CNOT's control, x through its target,
diagonal gates through each other, anything through gates on other qubits). Moving each gate
back that way until it meets a partner on the same qubits, the pass

- removes both when the partner is its inverse (``cx ... cx``, ``h ... h``, ``t ... tdg``);
- merges them when both are the same additive rotation (``rz(a) ... rz(b)`` becomes
  ``rz(a + b)``, symbolic angles included; also ``crz``, ``cp``, ``rzz``, ...), and removes
  the merged gate when it is the identity.

Measure, reset, barrier and if/else commute with nothing that shares a wire, so nothing moves
across them. The walk back is bounded (``lookback`` gates per wire), which keeps the pass
linear in the circuit size.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import GATES, Gate, Operation, Unitary
from ..ir.commutation import commutes
from ..ir.dag import DependencyDag
from ..ir.expr import fold
from ..ir.gates import is_additive, is_symmetric
from .base import BlockPass, option, register_pass
from .cancel_inverses import cancels
from .canonicalize import is_identity


def merged_rotation(first: Operation, second: Operation) -> Gate | None:
    """``first`` then ``second`` as one gate, when both are the same additive rotation on the
    same qubits (in an order the gate is symmetric under); else None."""
    if not (isinstance(first, Gate) and isinstance(second, Gate) and is_additive(first.name)):
        return None
    name = GATES[first.name].canonical
    if GATES[second.name].canonical != name or sorted(first.qubits) != sorted(second.qubits):
        return None
    if not is_symmetric(name, tuple(second.qubits.index(q) for q in first.qubits)):
        return None
    return Gate(name, first.qubits, (fold(first.params[0] + second.params[0]),))


@register_pass("commute-cancel")
@dataclass(frozen=True)
class CommuteCancel(BlockPass):
    """Cancel inverse pairs and merge same-axis rotations across the gates they commute with.

    Option ``lookback``: how many gates per wire a gate may move back past (default 32).
    """

    lookback: int = option(32, low=1)

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        dag = DependencyDag(ops)
        current = list(ops)  # the operation at each node as the pass rewrites them
        for node, op in enumerate(ops):
            if not isinstance(op, (Gate, Unitary)) or not dag.alive(node):
                continue
            partner = self._partner(dag, current, node, op)
            if partner is None:
                continue
            merged = merged_rotation(current[partner], op)
            dag.remove(node)
            if merged is None or is_identity(merged):
                dag.remove(partner)
            else:
                current[partner] = merged
                dag.replace(partner, [merged])
        return dag.ops()

    def _partner(self, dag: DependencyDag, current: list, node: int, op) -> int | None:
        """The latest earlier node that ``op`` can move back to and cancels or merges with."""
        found: set[int] | None = None
        qubits = set(op.qubits)  # a partner acts on exactly these
        width, lookback, before = len(qubits), self.lookback, dag.before
        for wire in dag.wires(node):
            reachable = set()
            other, steps = before(node, wire), 0
            while other is not None and steps < lookback:
                candidate = current[other]
                if (isinstance(candidate, (Gate, Unitary))
                        and len(candidate.qubits) == width
                        and qubits.issuperset(candidate.qubits)
                        and (cancels(candidate, op)
                             or merged_rotation(candidate, op) is not None)):
                    reachable.add(other)
                if not commutes(candidate, op):
                    break
                other, steps = before(other, wire), steps + 1
            found = reachable if found is None else found & reachable
            if not found:
                return None
        return max(found) if found else None
