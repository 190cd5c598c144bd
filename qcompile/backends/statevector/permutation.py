"""Runs of cx/swap gates as one permutation of basis states (PERMUTE tape rows).

A cx/swap run maps basis index j to a linear function of its bits over GF(2), so the state
after it is new[j] = old[M j] and M is fixed by the images M 2**k, the row's coefficients.
Three ways to apply it, by the memory at hand:

- a *gather* through a second state-sized buffer: 2.6 ns per amplitude at 16 qubits;
- *factored*, in place with a buffer of 2**11 amplitudes: M = M1 M2 with M1 keeping the
  low :data:`BLOCK_BITS` bits of the index and M2 keeping the others, so that M1 permutes
  the rows of every column block among themselves and M2 permutes inside contiguous blocks.
  Each is one pass through an L1/L2-sized buffer: 4.7–5.1 ns per amplitude in all;
- *cycles* followed in place with a bitmap of done indices, when M does not factor so
  (its low block is singular): 5.8–6.7 ns per amplitude, each access a cache miss.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Low index bits M2 permutes within (blocks of 2**10 amplitudes, 32 KiB: L1).
BLOCK_BITS = 10


def coefficients(sources: list[int]) -> tuple[list[int], int]:
    """A PERMUTE row's coefficients and block bits: the images of M, then, where M factors
    (:func:`factor`), those of M2 and M1; block bits 0 when it does not."""
    bits = len(sources)
    factored = factor(sources, BLOCK_BITS) if bits > BLOCK_BITS else None
    if factored is None:
        return sources, 0
    return sources + factored[0] + factored[1], BLOCK_BITS


def factor(sources: list[int], block_bits: int) -> tuple[list[int], list[int]] | None:
    """M = M1 M2 with M1 keeping the low ``block_bits`` bits l of the index and M2 keeping
    the others h, as the images of M2 and of M1; None when the low block A of M is singular
    (then there is no such factoring).

    In blocks M = [[A, B], [C, D]] maps (l, h) to (A l + B h, C l + D h); with
    M2 = [[A, B], [0, I]] and M1 = [[I, 0], [C A⁻¹, D + C A⁻¹ B]], M1 M2 = M over GF(2)."""
    mask = (1 << block_bits) - 1
    inverse = _inverse([sources[k] & mask for k in range(block_bits)])
    if inverse is None:
        return None
    c = [sources[k] >> block_bits for k in range(block_bits)]
    c_a = [_apply(c, column) for column in inverse]
    m2 = [sources[k] & mask for k in range(block_bits)]
    m1 = [(1 << k) | (c_a[k] << block_bits) for k in range(block_bits)]
    for k in range(block_bits, len(sources)):
        b, d = sources[k] & mask, sources[k] >> block_bits
        m2.append((1 << k) | b)
        m1.append((d ^ _apply(c_a, b)) << block_bits)
    return m2, m1


def solve(sources: list[int], sign: int) -> int:
    """The S' with parity(sources[k] & S') = bit k of ``sign`` for every k (``sources``:
    an invertible map). Bits at or above ``len(sources)`` are kept: the map does not move
    them."""
    size = len(sources)
    rows_as_columns = [sum(((sources[k] >> i) & 1) << k for k in range(size))
                       for i in range(size)]
    low = _apply(_inverse(rows_as_columns), sign & ((1 << size) - 1))
    return (sign & ~((1 << size) - 1)) | low


def _apply(columns: list[int], vector: int) -> int:
    """The GF(2) matrix with these columns times ``vector``."""
    out = 0
    for k, column in enumerate(columns):
        if (vector >> k) & 1:
            out ^= column
    return out


def _inverse(columns: list[int]) -> list[int] | None:
    """The columns of the inverse of a square GF(2) matrix given by its columns
    (Gauss-Jordan on its rows), or None when it is singular."""
    size = len(columns)
    rows = [sum(((columns[k] >> i) & 1) << k for k in range(size)) | (1 << (size + i))
            for i in range(size)]
    for k in range(size):
        pivot = next((i for i in range(k, size) if (rows[i] >> k) & 1), None)
        if pivot is None:
            return None
        rows[k], rows[pivot] = rows[pivot], rows[k]
        for i in range(size):
            if i != k and (rows[i] >> k) & 1:
                rows[i] ^= rows[k]
    return [sum(((rows[i] >> (size + k)) & 1) << i for i in range(size)) for k in range(size)]


@njit(cache=True)
def source_tables(c, o, bits):
    """The map j -> M j whose images M 2**k are ``c[o + k]`` as two tables, over the low 8
    bits of j and over the rest (M j is their XOR)."""
    low = min(bits, 8)
    low_table = np.zeros(1 << low, dtype=np.int64)
    high_table = np.zeros(1 << (bits - low), dtype=np.int64)
    for k in range(bits):
        image = np.int64(c[o + k].real)
        table, bit = (low_table, k) if k < low else (high_table, k - low)
        for j in range(1 << bit, 2 << bit):
            table[j] = table[j - (1 << bit)] ^ image
    return low, low_table, high_table


@njit(cache=True)
def permute(re, im, c, o, bits, block_bits, scratch):
    """new[j] = old[M j] for the PERMUTE row with coefficients at ``c[o]``
    (:func:`coefficients`): gathered through ``scratch`` when it holds a whole buffer, else
    factored when ``block_bits`` and ``scratch`` holds a block and a row of blocks, else
    along its cycles."""
    if scratch.size >= re.size:
        low, low_table, high_table = source_tables(c, o, bits)
        mask = (1 << low) - 1
        for j in range(re.size):
            source = high_table[j >> low] ^ low_table[j & mask]
            scratch[j] = complex(re[source], im[source])
        for j in range(re.size):
            re[j], im[j] = scratch[j].real, scratch[j].imag
    elif block_bits and scratch.size >= max(1 << block_bits, re.size >> block_bits):
        _rows_pass(re, im, c, o + 2 * bits, bits, block_bits, scratch)
        _blocks_pass(re, im, c, o + bits, bits, block_bits, scratch)
    else:
        _follow_cycles(re, im, c, o, bits)


@njit(cache=True)
def permute_into(re, im, out_re, out_im, c, o, bits):
    """out[j] = state[M j]: one gather into another buffer."""
    low, low_table, high_table = source_tables(c, o, bits)
    mask = (1 << low) - 1
    for j in range(re.size):
        source = high_table[j >> low] ^ low_table[j & mask]
        out_re[j], out_im[j] = re[source], im[source]


@njit(cache=True)
def _rows_pass(re, im, c, o, bits, block_bits, scratch):
    """new[j] = old[M1 j] for M1 keeping the low ``block_bits`` bits l of j: for a chunk
    of consecutive l, every row h of the chunk goes into ``scratch`` (runs of contiguous
    amplitudes), then each amplitude is fetched from its source row there."""
    low, low_table, high_table = source_tables(c, o, bits)
    mask = (1 << low) - 1
    rows = 1 << (bits - block_bits)
    chunk = min(1 << block_bits, scratch.size // rows)
    for first in range(0, 1 << block_bits, chunk):
        for h in range(rows):
            start = (h << block_bits) + first
            part_re, part_im = re[start:start + chunk], im[start:start + chunk]
            for t in range(chunk):
                scratch[h * chunk + t] = complex(part_re[t], part_im[t])
        for h in range(rows):
            start = (h << block_bits) + first
            for t in range(chunk):
                j = start + t
                source = ((high_table[j >> low] ^ low_table[j & mask]) >> block_bits) * chunk
                re[j], im[j] = scratch[source + t].real, scratch[source + t].imag


@njit(cache=True)
def _blocks_pass(re, im, c, o, bits, block_bits, scratch):
    """new[j] = old[M2 j] for M2 keeping the high bits of j: inside each block of
    ``2**block_bits`` contiguous amplitudes, through ``scratch``."""
    low, low_table, high_table = source_tables(c, o, bits)
    mask = (1 << low) - 1
    size = 1 << block_bits
    for start in range(0, re.size, size):
        part_re, part_im = re[start:start + size], im[start:start + size]
        for t in range(size):
            scratch[t] = complex(part_re[t], part_im[t])
        for t in range(size):
            j = start + t
            source = (high_table[j >> low] ^ low_table[j & mask]) & (size - 1)
            part_re[t], part_im[t] = scratch[source].real, scratch[source].imag


@njit(cache=True)
def _follow_cycles(re, im, c, o, bits):
    """A permutation is a product of disjoint cycles: follow each once, marking the done
    indices in a bitmap (1/128 of a state)."""
    low, low_table, high_table = source_tables(c, o, bits)
    mask = (1 << low) - 1
    done = np.zeros((re.size + 63) >> 6, dtype=np.uint64)
    for start in range(re.size):
        if (done[start >> 6] >> np.uint64(start & 63)) & np.uint64(1):
            continue
        first_re, first_im = re[start], im[start]
        j = start
        while True:
            done[j >> 6] |= np.uint64(1) << np.uint64(j & 63)
            source = high_table[j >> low] ^ low_table[j & mask]
            if source == start:
                re[j], im[j] = first_re, first_im
                break
            re[j], im[j] = re[source], im[source]
            j = source

