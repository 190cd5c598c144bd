"""Cancel-inverses: remove a gate directly followed by its inverse on the same qubits.

"Directly followed" is per qubit: nothing between the two touches any of their qubits, though
operations on other qubits may sit in between. Measure, reset, barrier and if/else are
boundaries on the qubits they touch; they are never cancelled.
"""

from __future__ import annotations

import numpy as np

from ..ir import Gate, Operation, Unitary
from ..ir.dag import DependencyDag
from ..ir.gates import is_symmetric
from ..ir.matrices import permute_matrix
from ..ir.ops import constant_matrix
from .base import BlockPass, register_pass

_ATOL = 1e-10


def cancels(first: Gate | Unitary, second: Gate | Unitary) -> bool:
    """True when applying ``first`` then ``second`` is exactly the identity (phase included).

    Numeric operations are multiplied out; symbolic gates cancel when ``second`` is the
    folded, canonically named ``first.inverse()``, on the same qubits or on a relabelling
    under which the gate is symmetric.
    """
    if sorted(first.qubits) != sorted(second.qubits):
        return False
    a, b = constant_matrix(first), constant_matrix(second)
    if a is not None and b is not None:
        b = permute_matrix(b, second.qubits, first.qubits)
        return np.allclose(b @ a, np.eye(len(a)), rtol=0, atol=_ATOL)
    if not (isinstance(first, Gate) and isinstance(second, Gate)):
        return False
    inverse, other = first.inverse().canonical(), second.canonical()
    if (inverse.name, inverse.params) != (other.name, other.params):
        return False
    return is_symmetric(other.name, tuple(second.qubits.index(q) for q in first.qubits))


@register_pass("cancel-inverses")
class CancelInverses(BlockPass):
    """Remove pairs g, g^-1 adjacent on their qubits, until no such pair is left.

    Works for named gates (symbolic angles too: rx(t) then rx(-t)), symmetric gates with
    swapped qubits (cz(a, b) then cz(b, a)) and unitaries followed by their adjoint.
    """

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        # One sweep in order reaches the fixed point: removing a pair joins its neighbours
        # on every wire, so the gate before the pair meets the gate after it
        # (a b b^-1 a^-1 vanishes entirely).
        dag = DependencyDag(ops)
        for node in range(len(dag)):
            op = dag.op(node)
            if not isinstance(op, (Gate, Unitary)):
                continue
            before = dag.common_predecessor(node)
            if before is not None and isinstance(dag.op(before), (Gate, Unitary)) and cancels(
                    dag.op(before), op):
                dag.remove(before)
                dag.remove(node)
        return dag.ops()
