"""Matrices of operations on other wire orders: relabelled, or embedded among more qubits.

Convention: a matrix on ``qubits`` has bit ``k`` of its row/column index equal to the state of
``qubits[k]`` (as every IR matrix).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
