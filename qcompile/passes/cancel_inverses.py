"""Cancel-inverses: remove a gate directly followed by its inverse on the same qubits.

"Directly followed" is per qubit: nothing between the two touches any of their qubits, though
operations on other qubits may sit in between. Measure, reset, barrier and if/else are
boundaries on the qubits they touch; they are never cancelled.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..ir import Gate, Operation, Unitary
from ..ir.dag import DependencyDag
from ..ir.gates import fixed_matrix, is_symmetric
from ..ir.matrices import permute_matrix
from ..ir.ops import constant_matrix, constant_params
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
    order = tuple(first.qubits.index(q) for q in second.qubits)
    if isinstance(first, Gate) and isinstance(second, Gate):
        values = [constant_params(first), constant_params(second)]
        if None not in values:
            return _fixed_gates_cancel(first.name, values[0], second.name, values[1], order)
    a, b = constant_matrix(first), constant_matrix(second)
    if a is not None and b is not None:
        return _product_is_identity(a, b, order)
    if not (isinstance(first, Gate) and isinstance(second, Gate)):
        return False
    inverse, other = first.inverse().canonical(), second.canonical()
    if (inverse.name, inverse.params) != (other.name, other.params):
        return False
    return is_symmetric(other.name, tuple(second.qubits.index(q) for q in first.qubits))


@lru_cache(maxsize=65536)
def _fixed_gates_cancel(first: str, first_values: tuple, second: str, second_values: tuple,
                        order: tuple[int, ...]) -> bool:
    """Two constant gates (cached: circuits repeat their gates); the second acts on the
    first's qubits in ``order``."""
    return _product_is_identity(fixed_matrix(first, first_values),
                                fixed_matrix(second, second_values), order)


def _product_is_identity(a: np.ndarray, b: np.ndarray, order: tuple[int, ...]) -> bool:
    b = permute_matrix(b, order, range(len(order)))
    return float(np.abs(b @ a - np.eye(len(a))).max()) <= _ATOL


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
