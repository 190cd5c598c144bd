"""Numba kernels that run a flat gate list (:mod:`.gate_list`) on one state or on many.

One call runs every gate of a circuit, so a small circuit costs one dispatch instead of one
per gate. Each state is updated serially by one thread; :func:`run_many` spreads distinct
circuits over the threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .bits import insert_zero_bit
from . import gate_list_checks

distinct_qubits_in_range = njit(cache=True)(gate_list_checks.distinct_qubits_in_range)


@njit(cache=True)
def _run(state, first, last, arity, diagonal, qubit_start, qubits, matrix_start, entries):
    """Gates ``first..last-1`` on ``state`` (1-D), in order. The one-qubit gates on a qubit
    are multiplied into one 2 x 2 matrix until a wider gate touches the qubit (or the end),
    which halves the passes over the state of layered circuits."""
    size = state.size
    n = 0
    while (1 << n) < size:
        n += 1
    pending = np.zeros((n, 4), dtype=state.dtype)  # row q: the product waiting on qubit q
    waiting = np.zeros(n, dtype=np.bool_)
    for g in range(first, last):
        k = arity[g]
        qs = qubit_start[g]
        o = matrix_start[g]
        if k == 1:
            q = qubits[qs]
            if diagonal[g]:
                m00, m01, m10, m11 = entries[o], 0j, 0j, entries[o + 1]
            else:
                m00, m01, m10, m11 = entries[o], entries[o + 1], entries[o + 2], entries[o + 3]
            if waiting[q]:
                p00, p01, p10, p11 = pending[q, 0], pending[q, 1], pending[q, 2], pending[q, 3]
                pending[q, 0] = m00 * p00 + m01 * p10
                pending[q, 1] = m00 * p01 + m01 * p11
                pending[q, 2] = m10 * p00 + m11 * p10
                pending[q, 3] = m10 * p01 + m11 * p11
            else:
                pending[q, 0], pending[q, 1], pending[q, 2], pending[q, 3] = m00, m01, m10, m11
                waiting[q] = True
            continue
        for j in range(k):
            q = qubits[qs + j]
            if waiting[q]:
                _apply_1q(state, q, pending[q])
                waiting[q] = False
        if diagonal[g]:
            for i in range(size):
                entry = 0
                for j in range(k):
                    entry |= ((i >> qubits[qs + j]) & 1) << j
                state[i] *= entries[o + entry]
        elif k == 2:
            q0, q1 = qubits[qs], qubits[qs + 1]
            low, high = min(q0, q1), max(q0, q1)
            o1, o2 = 1 << q0, 1 << q1
            o3 = o1 | o2
            m = entries[o:o + 16]
            column = _monomial_columns(m)
            if column[0] >= 0:  # a permutation with phases (cx, swap, cz...): 4 products
                v0, v1 = m[column[0]], m[4 + column[1]]
                v2, v3 = m[8 + column[2]], m[12 + column[3]]
                old = np.empty(4, dtype=state.dtype)
                for group in range(size >> 2):
                    i = insert_zero_bit(insert_zero_bit(group, low), high)
                    old[0], old[1], old[2], old[3] = state[i], state[i | o1], state[i | o2], \
                        state[i | o3]
                    state[i] = v0 * old[column[0]]
                    state[i | o1] = v1 * old[column[1]]
                    state[i | o2] = v2 * old[column[2]]
                    state[i | o3] = v3 * old[column[3]]
                continue
            for group in range(size >> 2):
                i = insert_zero_bit(insert_zero_bit(group, low), high)
                a0, a1, a2, a3 = state[i], state[i | o1], state[i | o2], state[i | o3]
                state[i] = m[0] * a0 + m[1] * a1 + m[2] * a2 + m[3] * a3
                state[i | o1] = m[4] * a0 + m[5] * a1 + m[6] * a2 + m[7] * a3
                state[i | o2] = m[8] * a0 + m[9] * a1 + m[10] * a2 + m[11] * a3
                state[i | o3] = m[12] * a0 + m[13] * a1 + m[14] * a2 + m[15] * a3
        else:
            _apply_dense(state, qubits[qs:qs + k], entries[o:o + (1 << 2 * k)])
    for q in range(n):
        if waiting[q]:
            _apply_1q(state, q, pending[q])


@njit(cache=True)
def _apply_1q(state, q, m):
    """The 2 x 2 matrix ``m`` (row-major) on qubit ``q``; a diagonal one in half the work."""
    bit = 1 << q
    m00, m01, m10, m11 = m[0], m[1], m[2], m[3]
    if m01 == 0 and m10 == 0:
        for high in range(0, state.size, 2 * bit):
            for i0 in range(high, high + bit):
                state[i0] *= m00
                state[i0 + bit] *= m11
        return
    for high in range(0, state.size, 2 * bit):
        for i0 in range(high, high + bit):
            a0, a1 = state[i0], state[i0 + bit]
            state[i0] = m00 * a0 + m01 * a1
            state[i0 + bit] = m10 * a0 + m11 * a1


@njit(cache=True)
def _monomial_columns(matrix):
    """For a 4 x 4 matrix (row-major) with one nonzero per row and column, that entry's
    column in each row; else -1 in the first."""
    columns = np.full(4, -1, dtype=np.int64)
    seen = 0
    for row in range(4):
        for c in range(4):
            if matrix[4 * row + c] != 0:
                if columns[row] >= 0 or (seen >> c) & 1:
                    columns[0] = -1
                    return columns
                columns[row] = c
                seen |= 1 << c
        if columns[row] < 0:
            columns[0] = -1
            return columns
    return columns


@njit(cache=True)
def _apply_dense(state, qubits, matrix):
    """A dense gate on any number of qubits (row-major matrix, index bit j is qubits[j])."""
    k = qubits.size
    d = 1 << k
    ordered = np.sort(qubits)
    offsets = np.zeros(d, dtype=np.int64)
    for column in range(d):
        for j in range(k):
            if (column >> j) & 1:
                offsets[column] |= 1 << qubits[j]
    amplitudes = np.empty(d, dtype=state.dtype)
    for group in range(state.size >> k):
        base = group
        for q in ordered:
            base = insert_zero_bit(base, q)
        for column in range(d):
            amplitudes[column] = state[base + offsets[column]]
        for row in range(d):
            acc = matrix[row * d] * amplitudes[0]
            for column in range(1, d):
                acc += matrix[row * d + column] * amplitudes[column]
            state[base + offsets[row]] = acc


@njit(cache=True)
def run_one(state, arity, diagonal, qubit_start, qubits, matrix_start, entries):
    """Every gate of the list on ``state``."""
    _run(state, 0, arity.size, arity, diagonal, qubit_start, qubits, matrix_start, entries)


@njit(cache=True, parallel=True)
def run_many(states, gate_start, arity, diagonal, qubit_start, qubits, matrix_start, entries):
    """Circuit c (gates ``gate_start[c]..gate_start[c+1]-1`` of the concatenated lists) on
    ``states[c]``, circuits in parallel."""
    for c in prange(states.shape[0]):
        _run(states[c], gate_start[c], gate_start[c + 1], arity, diagonal, qubit_start,
             qubits, matrix_start, entries)
