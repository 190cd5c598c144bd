"""When two operations commute: the query the optimizer's rewrites move gates by.

Two gates commute when they share no qubit, when their constant matrices commute exactly, or
when on every shared qubit both commute with one and the same Pauli: then each is block
diagonal in that Pauli's eigenbasis on the shared qubits, acting on disjoint rest spaces, so
their products agree in either order (rz through a CNOT's control, x through its target, any
two diagonal gates). Which Paulis a gate commutes with on each of its qubits is read off its
matrix, at generic parameter values for symbolic gates, so a new gate needs no table.
Measurement, reset, barriers and if/else commute only with what shares none of their wires.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

from .gates import GATES, fixed_matrix
from .matrices import embed
from .ops import (Gate, Operation, Unitary, clbits_of, constant_matrix, constant_params,
                  qubits_of)

_PAULIS = {"X": np.array([[0, 1], [1, 0]], dtype=complex),
           "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
           "Z": np.array([[1, 0], [0, -1]], dtype=complex)}
_ATOL = 1e-10


def _commute(a: np.ndarray, b: np.ndarray) -> bool:
    return float(np.abs(a @ b - b @ a).max()) <= _ATOL


def _paulis_of_matrices(matrices) -> tuple[frozenset[str], ...]:
    n = int(matrices[0].shape[-1]).bit_length() - 1
    return tuple(frozenset(p for p, pauli in _PAULIS.items()
                           if all(_commute(m, embed(pauli, [k], range(n))) for m in matrices))
                 for k in range(n))


@cache
def gate_paulis(name: str) -> tuple[frozenset[str], ...]:
    """Per qubit of gate ``name``, the Paulis it commutes with there for every parameter
    value (checked at five random values: a trigonometric identity that holds there holds
    everywhere, almost surely)."""
    spec = GATES[name]
    rng = np.random.default_rng(5)
    matrices = [spec.matrix(*rng.uniform(-np.pi, np.pi, spec.num_params))
                for _ in range(5 if spec.num_params else 1)]
    return _paulis_of_matrices(matrices)


def _op_paulis(op: Gate | Unitary) -> tuple[frozenset[str], ...]:
    return gate_paulis(op.name) if isinstance(op, Gate) else _paulis_of_matrices([op.matrix])


def commutes(a: Operation, b: Operation) -> bool:
    """Whether applying ``a`` then ``b`` equals ``b`` then ``a`` (a sufficient test: False
    may still commute)."""
    if type(a) is Gate and type(b) is Gate:  # the common case, first (tuples of 1-3)
        # One loop over a's qubits does both tests: no shared qubit, or a common Pauli on
        # every shared one (the optimizer asks this tens of thousands of times per circuit).
        paulis_a, paulis_b, b_qubits = gate_paulis(a.name), gate_paulis(b.name), b.qubits
        for k, q in enumerate(a.qubits):
            if q in b_qubits and not paulis_a[k] & paulis_b[b_qubits.index(q)]:
                break
        else:
            return True
    else:
        shared = set(qubits_of(a)) & set(qubits_of(b))
        if set(clbits_of(a)) & set(clbits_of(b)):
            return False
        if not shared:
            return True
        if not (isinstance(a, (Gate, Unitary)) and isinstance(b, (Gate, Unitary))):
            return False
        paulis_a, paulis_b = _op_paulis(a), _op_paulis(b)
        if all(paulis_a[a.qubits.index(q)] & paulis_b[b.qubits.index(q)] for q in shared):
            return True
    wires = sorted(set(a.qubits) | set(b.qubits))
    if isinstance(a, Gate) and isinstance(b, Gate):
        constants = [constant_params(a), constant_params(b)]
        if None in constants:
            return False
        return _gates_commute(a.name, constants[0], tuple(map(wires.index, a.qubits)),
                              b.name, constants[1], tuple(map(wires.index, b.qubits)))
    ma, mb = constant_matrix(a), constant_matrix(b)
    if ma is None or mb is None:
        return False
    return _commute(embed(ma, a.qubits, wires), embed(mb, b.qubits, wires))


@lru_cache(maxsize=65536)
def _gates_commute(name_a: str, params_a: tuple, qubits_a: tuple, name_b: str,
                   params_b: tuple, qubits_b: tuple) -> bool:
    """Two constant gates on wires numbered 0.. (cached: circuits repeat their gates)."""
    wires = range(1 + max(qubits_a + qubits_b))
    return _commute(embed(fixed_matrix(name_a, params_a), qubits_a, wires),
                    embed(fixed_matrix(name_b, params_b), qubits_b, wires))
