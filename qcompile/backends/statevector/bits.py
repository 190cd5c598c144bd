"""Index bits and Pauli masks: the bit arithmetic every kernel module of the simulator shares.

Qubit ``q`` is bit ``q`` of an amplitude's index. The numba helpers run inside other
kernels' loops (``insert_zero_bit`` and ``parity`` are inlined into them at numba's IR
level, ``insert_zero_bit_called`` is called); a Pauli string reaches the kernels as two bit
masks and a phase (:meth:`~qcompile.ir.PauliTerm.masks`).
"""

from __future__ import annotations

import numpy as np
from numba import njit



@njit(cache=True, inline="always")
def insert_zero_bit(index, qubit):
    """Spread ``index`` apart at bit ``qubit`` and put a 0 there."""
    return ((index >> qubit) << (qubit + 1)) | (index & ((1 << qubit) - 1))


@njit(cache=True)
def insert_zero_bit_called(index, qubit):
    """:func:`insert_zero_bit` compiled on its own and called (numba's default), not inlined
    into the caller's numba IR: the form the per-gate kernels of :mod:`.kernels` were
    written and measured with."""
    return insert_zero_bit(index, qubit)


@njit(cache=True, inline="always")
def parity(x):
    """popcount(x) & 1 without branches (so loops that use it vectorize)."""
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    x ^= x >> 4
    x ^= x >> 2
    x ^= x >> 1
    return x & 1


@njit(cache=True)
def column_offsets(qubits):
    """Index offset of each matrix column: bit k of the column sets bit ``qubits[k]``."""
    d = 1 << qubits.size
    offsets = np.zeros(d, dtype=np.int64)
    for column in range(d):
        for k in range(qubits.size):
            if (column >> k) & 1:
                offsets[column] |= 1 << qubits[k]
    return offsets
