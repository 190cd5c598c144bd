"""Cancel-inverses: remove a gate directly followed by its inverse on the same qubits.

"Directly followed" is per qubit: nothing between the two touches any of their qubits, though
operations on other qubits may sit in between. Measure, reset, barrier and if/else are
boundaries on the qubits they touch; they are never cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

import numpy as np

from ..ir import GATES, Gate, Operation, Unitary, gate_matrix
from ..ir.ops import qubits_of
from .base import BlockPass, register_pass
from .canonicalize import canonical_gate, constant_matrix

_ATOL = 1e-10


def permute_matrix(matrix: np.ndarray, qubits: tuple[int, ...],
                   order: tuple[int, ...]) -> np.ndarray:
    """Rewrite a matrix on ``qubits`` (bit k is ``qubits[k]``) so that bit k is ``order[k]``.

    ``order`` must list the same qubits. In the reshaped tensor, row bit k is axis n-1-k and
    column bit k is axis 2n-1-k (most significant bit first).
    """
    n = len(qubits)
    source = [qubits.index(q) for q in order]
    axes = [0] * (2 * n)
    for k, s in enumerate(source):
        axes[n - 1 - k] = n - 1 - s
        axes[2 * n - 1 - k] = 2 * n - 1 - s
    tensor = matrix.reshape((2,) * (2 * n)).transpose(axes)
    return tensor.reshape(matrix.shape)


@cache
def is_symmetric(name: str, order: tuple[int, ...]) -> bool:
    """Whether gate ``name`` is unchanged when its qubits are relabelled by ``order``.

    Decided from the matrix at a few random parameter values (cached per gate and order), so
    cz, swap, rzz, cp, ccz, ... are found symmetric and cx, crx are not, without a hand list.
    """
    rng = np.random.default_rng(7)
    identity = tuple(range(len(order)))
    for _ in range(3):
        matrix = gate_matrix(name, rng.uniform(-np.pi, np.pi, GATES[name].num_params))
        if not np.allclose(permute_matrix(matrix, identity, order), matrix, atol=_ATOL):
            return False
    return True


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
    inverse, other = canonical_gate(first.inverse()), canonical_gate(second)
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
        # One sweep with a stack of live operations per qubit reaches the fixed point: after
        # a pair is removed the stacks are exactly as if neither had been there, so the gate
        # before the pair meets the gate after it (a b b^-1 a^-1 vanishes entirely), and
        # a second sweep would see the same tops and remove nothing.
        kept: list[Operation | None] = []
        stacks: dict[int, list[int]] = defaultdict(list)
        for op in ops:
            qubits = qubits_of(op)
            if isinstance(op, (Gate, Unitary)):
                tops = {stacks[q][-1] if stacks[q] else None for q in qubits}
                top = tops.pop() if len(tops) == 1 else None
                previous = kept[top] if top is not None else None
                if isinstance(previous, (Gate, Unitary)) and cancels(previous, op):
                    for q in qubits:
                        stacks[q].pop()
                    kept[top] = None
                    continue
            for q in qubits:
                stacks[q].append(len(kept))
            kept.append(op)
        return [op for op in kept if op is not None]
