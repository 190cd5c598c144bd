"""Matrices of operations on other wire orders: relabelled, or embedded among more qubits.

Convention: a matrix on ``qubits`` has bit ``k`` of its row/column index equal to the state of
``qubits[k]`` (as every IR matrix).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np


@cache
def identity(dim: int) -> np.ndarray:
    """The ``dim``×``dim`` identity, read-only (comparisons against it are frequent)."""
    matrix = np.eye(dim, dtype=complex)
    matrix.flags.writeable = False
    return matrix


def permute_matrix(matrix: np.ndarray, qubits: Sequence[int],
                   order: Sequence[int]) -> np.ndarray:
    """Rewrite a matrix on ``qubits`` so that bit k is ``order[k]`` (the same qubits).

    In the reshaped tensor, row bit k is axis n-1-k and column bit k is axis 2n-1-k (most
    significant bit first).
    """
    qubits, n = list(qubits), len(qubits)
    source = [qubits.index(q) for q in order]
    axes = [0] * (2 * n)
    for k, s in enumerate(source):
        axes[n - 1 - k] = n - 1 - s
        axes[2 * n - 1 - k] = 2 * n - 1 - s
    tensor = matrix.reshape((2,) * (2 * n)).transpose(axes)
    return tensor.reshape(matrix.shape)


def embed(matrix: np.ndarray, qubits: Sequence[int], wires: Sequence[int]) -> np.ndarray:
    """``matrix`` on ``qubits`` as the operator on ``wires`` (a superset), identity on the
    others; bit k of the result's index is ``wires[k]``."""
    rest = [w for w in wires if w not in qubits]
    d = len(matrix)
    full = np.zeros((d << len(rest), d << len(rest)), dtype=complex)
    for k in range(1 << len(rest)):  # low bits: qubits, high bits: rest (identity there)
        full[k * d:(k + 1) * d, k * d:(k + 1) * d] = matrix
    return permute_matrix(full, [*qubits, *rest], wires)


_PAULI = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
          "Z": np.diag([1.0, -1.0])}


@cache
def pauli_strings(num_qubits: int) -> tuple[np.ndarray, ...]:
    """Every tensor product of I, X, Y, Z on ``num_qubits`` qubits."""
    strings = [np.eye(1)]
    for _ in range(num_qubits):
        strings = [np.kron(p, s) for p in _PAULI.values() for s in strings]
    return tuple(strings)


def is_clifford_matrix(matrix: np.ndarray, atol: float = 1e-9) -> bool:
    """Whether conjugating by ``matrix`` maps every X and Z on one qubit to a Pauli string
    (up to sign) — the definition of a Clifford unitary."""
    n = len(matrix).bit_length() - 1
    # Quick refusal first: a Clifford's entries have squared magnitudes 0 or 2^-k, k <= n.
    weights = np.abs(matrix) ** 2
    levels = -np.log2(weights[weights > atol])
    if np.abs(levels - np.round(levels)).max() > 1e-6 or levels.max() > n + 1e-6:
        return False
    strings = pauli_strings(n)
    for k in range(n):
        for pauli in (_PAULI["X"], _PAULI["Z"]):
            image = matrix @ embed(pauli, [k], range(n)) @ matrix.conj().T
            if not any(_is_multiple(image, s, atol) for s in strings):
                return False
    return True


def _is_multiple(image: np.ndarray, string: np.ndarray, atol: float) -> bool:
    """``image`` equals ± ``string``, entry by entry (an overlap near 1 is not enough: it
    is off only quadratically in a slightly wrong angle)."""
    sign = np.vdot(string, image) / len(image)
    return abs(abs(sign) - 1) <= 0.5 and float(np.abs(image - sign * string).max()) <= atol
