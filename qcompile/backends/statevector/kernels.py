"""Numba kernels that update a batch of statevectors in place.

States are ``(B, 2**n)`` C-contiguous arrays; qubit ``q`` is bit ``q`` of the index. A dense
gate comes as matrices ``(M, d, d)`` and a diagonal gate as its diagonals ``(M, d)``, with
``M == B`` (one matrix per sample, from batched parameters) or ``M == 1`` (shared by the
batch), so a single compiled kernel serves both without copying shared matrices B times.

Every kernel runs one parallel loop over work items = (sample, chunk of amplitude groups):
a large batch of small states spreads over the samples and a single large state over its
chunks, with one kernel launch per gate either way. Argument types are kept uniform (int64
qubit arrays, contiguous arrays of the state's dtype) so each kernel compiles once per dtype.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .bits import column_offsets, insert_zero_bit_called, parity

#: Amplitude groups handled by one parallel work item: big enough to amortize scheduling,
#: small enough that a single large state still splits across all cores.
CHUNK = 1 << 12


@njit(cache=True, parallel=True)
def apply_1q(states, matrices, qubit):
    """Dense single-qubit gate: each pair (i0, i1 = i0 | 2**qubit) is one group."""
    batch, size = states.shape
    groups = size >> 1
    chunk = min(groups, CHUNK)
    chunks = groups // chunk
    bit = 1 << qubit
    for work in prange(batch * chunks):
        b = work // chunks
        m = matrices[0 if matrices.shape[0] == 1 else b]
        m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
        start = (work - b * chunks) * chunk
        for group in range(start, start + chunk):
            i0 = insert_zero_bit_called(group, qubit)
            i1 = i0 | bit
            a0, a1 = states[b, i0], states[b, i1]
            states[b, i0] = m00 * a0 + m01 * a1
            states[b, i1] = m10 * a0 + m11 * a1


@njit(cache=True, parallel=True)
def apply_2q(states, matrices, qubit0, qubit1):
    """Dense two-qubit gate; matrix index bit 0 is ``qubit0`` and bit 1 is ``qubit1``."""
    batch, size = states.shape
    groups = size >> 2
    chunk = min(groups, CHUNK)
    chunks = groups // chunk
    low, high = min(qubit0, qubit1), max(qubit0, qubit1)
    o1, o2 = 1 << qubit0, 1 << qubit1
    o3 = o1 | o2
    for work in prange(batch * chunks):
        b = work // chunks
        m = matrices[0 if matrices.shape[0] == 1 else b]
        start = (work - b * chunks) * chunk
        for group in range(start, start + chunk):
            i = insert_zero_bit_called(insert_zero_bit_called(group, low), high)
            a0, a1, a2, a3 = states[b, i], states[b, i | o1], states[b, i | o2], states[b, i | o3]
            states[b, i] = m[0, 0] * a0 + m[0, 1] * a1 + m[0, 2] * a2 + m[0, 3] * a3
            states[b, i | o1] = m[1, 0] * a0 + m[1, 1] * a1 + m[1, 2] * a2 + m[1, 3] * a3
            states[b, i | o2] = m[2, 0] * a0 + m[2, 1] * a1 + m[2, 2] * a2 + m[2, 3] * a3
            states[b, i | o3] = m[3, 0] * a0 + m[3, 1] * a1 + m[3, 2] * a2 + m[3, 3] * a3


@njit(cache=True, parallel=True)
def apply_dense(states, matrices, qubits):
    """Dense gate on any number of qubits (the general path: 3-qubit gates, fused blocks)."""
    batch, size = states.shape
    d = 1 << qubits.size
    groups = size // d
    chunk = min(groups, CHUNK)
    chunks = groups // chunk
    sorted_qubits = np.sort(qubits)
    offsets = column_offsets(qubits)
    for work in prange(batch * chunks):
        b = work // chunks
        m = matrices[0 if matrices.shape[0] == 1 else b]
        amplitudes = np.empty(d, dtype=states.dtype)
        start = (work - b * chunks) * chunk
        for group in range(start, start + chunk):
            base = group
            for q in sorted_qubits:
                base = insert_zero_bit_called(base, q)
            for column in range(d):
                amplitudes[column] = states[b, base + offsets[column]]
            for row in range(d):
                acc = m[row, 0] * amplitudes[0]
                for column in range(1, d):
                    acc += m[row, column] * amplitudes[column]
                states[b, base + offsets[row]] = acc


@njit(cache=True, parallel=True)
def apply_diagonal(states, diagonals, qubits):
    """Diagonal gate: multiply each amplitude by the diagonal entry its target bits select."""
    batch, size = states.shape
    chunk = min(size, CHUNK)
    chunks = size // chunk
    for work in prange(batch * chunks):
        b = work // chunks
        diagonal = diagonals[0 if diagonals.shape[0] == 1 else b]
        start = (work - b * chunks) * chunk
        for i in range(start, start + chunk):
            entry = 0
            for k in range(qubits.size):
                entry |= ((i >> qubits[k]) & 1) << k
            states[b, i] *= diagonal[entry]


@njit(cache=True, parallel=True)
def pauli_overlaps(states, flip_mask, sign_mask):
    """Per sample, sum_i conj(psi[i ^ flip_mask]) psi[i] (-1)**popcount(i & sign_mask).

    A Pauli string P maps |i> to i**n_Y (-1)**popcount(i & (Z|Y mask)) |i ^ (X|Y mask)>, so
    <psi|P|psi> is i**n_Y times this sum: no 2**n x 2**n matrix is ever built. Partial sums
    are accumulated in complex128 and returned per work item, shape (B, chunks).
    """
    batch, size = states.shape
    chunk = min(size, CHUNK)
    chunks = size // chunk
    partial = np.zeros((batch, chunks), dtype=np.complex128)
    for work in prange(batch * chunks):
        b = work // chunks
        c = work - b * chunks
        acc = 0j
        for i in range(c * chunk, (c + 1) * chunk):
            product = np.conj(states[b, i ^ flip_mask]) * states[b, i]
            acc += (1 - 2 * parity(i & sign_mask)) * product
        partial[b, c] = acc
    return partial
