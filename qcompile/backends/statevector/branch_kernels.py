"""Numba kernels on chosen rows of a block of states: what measurement, reset and sampling
need, without copying the rows they read or change.

A block is ``(R, 2**n)``, C-contiguous; ``rows`` lists the rows to work on. As in
:mod:`.kernels`, one parallel loop runs over (row, chunk of amplitude pairs), so many small
states and one large state both occupy every thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .bits import insert_zero_bit

CHUNK = 1 << 12


@njit(cache=True, parallel=True)
def qubit_weights(states, rows, qubit):
    """Squared norms of the parts of each of the ``rows`` where ``qubit`` is 0 and 1,
    ``(len(rows), 2)`` float64 (partial sums per work item are added in float64)."""
    groups = states.shape[1] >> 1
    chunk = min(groups, CHUNK)
    chunks = groups // chunk
    bit = 1 << qubit
    partial = np.zeros((rows.size, chunks, 2))
    for work in prange(rows.size * chunks):
        t = work // chunks
        c = work - t * chunks
        r = rows[t]
        w0 = 0.0
        w1 = 0.0
        for group in range(c * chunk, (c + 1) * chunk):
            i0 = insert_zero_bit(group, qubit)
            a0, a1 = states[r, i0], states[r, i0 | bit]
            w0 += a0.real * a0.real + a0.imag * a0.imag
            w1 += a1.real * a1.real + a1.imag * a1.imag
        partial[t, c, 0] = w0
        partial[t, c, 1] = w1
    out = np.zeros((rows.size, 2))
    for t in range(rows.size):
        for c in range(chunks):
            out[t, 0] += partial[t, c, 0]
            out[t, 1] += partial[t, c, 1]
    return out


@njit(cache=True, parallel=True)
def project(states, rows, values, qubit, move, scales):
    """In place, for each of the ``rows``: keep the part where ``qubit`` equals
    ``values[t]`` and multiply it by ``scales[t]``; with ``move`` (a reset), a kept |1> part
    is moved onto |0>."""
    groups = states.shape[1] >> 1
    chunk = min(groups, CHUNK)
    chunks = groups // chunk
    bit = 1 << qubit
    for work in prange(rows.size * chunks):
        t = work // chunks
        c = work - t * chunks
        r = rows[t]
        scale = scales[t]
        for group in range(c * chunk, (c + 1) * chunk):
            i0 = insert_zero_bit(group, qubit)
            i1 = i0 | bit
            if values[t] == 0:
                states[r, i0] *= scale
                states[r, i1] = 0
            elif move:
                states[r, i0] = states[r, i1] * scale
                states[r, i1] = 0
            else:
                states[r, i0] = 0
                states[r, i1] *= scale


@njit(cache=True, parallel=True)
def block_weights(states, block_bits):
    """The squared norm of each run of ``2**block_bits`` consecutive amplitudes of every
    row, ``(R, 2**n >> block_bits)`` float64: the coarse distribution shots are drawn from
    first."""
    rows, size = states.shape
    blocks = size >> block_bits
    block = 1 << block_bits
    out = np.zeros((rows, blocks))
    for work in prange(rows * blocks):
        r = work // blocks
        k = work - r * blocks
        acc = 0.0
        for i in range(k * block, (k + 1) * block):
            acc += states[r, i].real * states[r, i].real + states[r, i].imag * states[r, i].imag
        out[r, k] = acc
    return out
