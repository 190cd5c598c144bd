"""Numba kernels that run a whole list of gates (a *tape*) on cache-sized pieces of states.

Launching one parallel kernel per gate streams the whole state through memory once per gate;
for a 22-qubit state that is ~2 ms a gate, and for a batch of small states it is mostly
launch overhead. Instead a *cluster* of gates that together touch at most ``c`` qubits is
run in one kernel call: each parallel work item gathers the ``2**c`` amplitudes that share
the values of all other qubits into a local buffer (which stays in L1/L2 cache), applies
every gate of the cluster there, and scatters the buffer back: one memory pass per cluster
instead of one per gate. A batch of small states is one cluster whose work items are the
samples. The buffer holds real and imaginary parts in two arrays, so that the inner loops
over contiguous amplitudes vectorize (AVX2 FMA): about 3x faster than complex arithmetic on
interleaved numbers, for gates on all but the lowest three local bits.

A tape is an ``int64`` table, one row per operation: ``[kind, width, source, offset,
q_0 .. q_{MAX_WIDTH-1}]``. ``q_k`` are *local* bit positions inside the cluster's buffer.
Coefficients (matrix entries in row-major order, or diagonal entries) live at ``offset`` in
``shared`` when ``source == 0`` (the same for the whole batch) or in row ``sample`` of
``per_sample`` when ``source == 1`` (built from batched parameters). ``FULL_DIAGONAL`` rows
hold one entry per buffer index (``2**c`` of them): any run of shared diagonal gates becomes
one vectorized multiplication.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from . import permutation
from .bits import column_offsets, insert_zero_bit, parity

DENSE1, DENSE2, DENSE, DIAGONAL, CX, SWAP, FULL_DIAGONAL = range(7)
#: Backward tapes only (:mod:`.batch_adjoint`): add Re<G|K|psi> to the angle derivative in
#: the row's last column.
GRADIENT = 7
#: A run of cx/swap rows as one permutation of ``width`` local bits (:mod:`.permutation`):
#: at ``offset`` in ``shared`` the coefficients of :func:`.permutation.coefficients` (real
#: parts), ``q_0`` its block bits.
PERMUTE = 8
#: Adjoint tapes only (:mod:`.batch_adjoint`). Forward: keep the current state as checkpoint
#: ``q_0`` and go on in the next buffer (the PERMUTE row after it gathers into that buffer);
#: backward: make checkpoint ``q_0`` the current state again.
CHECKPOINT = 9
#: Backward tapes only: one pass that sums the 2x2 overlaps of every qubit in the bit mask
#: ``q_0`` (:func:`.batch_adjoint.layer_overlaps`), for the GRADIENT rows after it.
OVERLAPS = 10
#: Most qubits of one tape operation (dense blocks and merged diagonals).
MAX_WIDTH = 10
HEADER = 4
#: The scratch a dense row needs (a group of amplitudes and the matrix times it), and the
#: buffer of a factored PERMUTE row (:mod:`.permutation`).
GROUP_SCRATCH = 2 << MAX_WIDTH


@njit(cache=True, inline="always")
def _mix_pair(re, im, i0, i1, ar, ai, br, bi, cr, ci, dr, di):
    x0r, x0i, x1r, x1i = re[i0], im[i0], re[i1], im[i1]
    re[i0] = ar * x0r - ai * x0i + br * x1r - bi * x1i
    im[i0] = ar * x0i + ai * x0r + br * x1i + bi * x1r
    re[i1] = cr * x0r - ci * x0i + dr * x1r - di * x1i
    im[i1] = cr * x0i + ci * x0r + dr * x1i + di * x1r


@njit(cache=True, fastmath=True)
def _dense1(re, im, q, c, o):
    ar, ai, br, bi = c[o].real, c[o].imag, c[o + 1].real, c[o + 1].imag
    cr, ci, dr, di = c[o + 2].real, c[o + 2].imag, c[o + 3].real, c[o + 3].imag
    bit = 1 << q
    # Bits 0 and 1: loops with constant strides, which LLVM vectorizes as interleaved
    # accesses (0.95 and 1.3 ns per amplitude against 2.1 and 1.75 for the general loop,
    # whose inner runs are 1 and 2 long; from bit 2 on the general loop is as fast).
    if q == 0:
        for j in range(re.size >> 1):
            _mix_pair(re, im, 2 * j, 2 * j + 1, ar, ai, br, bi, cr, ci, dr, di)
        return
    if q == 1:
        for high in range(0, re.size, 4):
            for i0 in range(high, high + 2):
                _mix_pair(re, im, i0, i0 + 2, ar, ai, br, bi, cr, ci, dr, di)
        return
    for high in range(0, re.size, 2 * bit):
        r0, i0 = re[high:high + bit], im[high:high + bit]
        r1, i1 = re[high + bit:high + 2 * bit], im[high + bit:high + 2 * bit]
        for j in range(bit):
            x0r, x0i, x1r, x1i = r0[j], i0[j], r1[j], i1[j]
            r0[j] = ar * x0r - ai * x0i + br * x1r - bi * x1i
            i0[j] = ar * x0i + ai * x0r + br * x1i + bi * x1r
            r1[j] = cr * x0r - ci * x0i + dr * x1r - di * x1i
            i1[j] = cr * x0i + ci * x0r + dr * x1i + di * x1r


@njit(cache=True)
def _dense(re, im, qubits, c, o, scratch):
    """Any width: gather the ``d`` amplitudes of a group, multiply, write back."""
    d = 1 << qubits.size
    offsets = column_offsets(qubits)
    ordered = np.sort(qubits)
    for group in range(re.size >> qubits.size):
        base = group_product(re, im, group, ordered, offsets, c, o, scratch)
        for row in range(d):
            re[base + offsets[row]] = scratch[d + row].real
            im[base + offsets[row]] = scratch[d + row].imag


@njit(cache=True, inline="always")
def group_product(re, im, group, ordered, offsets, c, o, scratch):
    """The ``d`` amplitudes whose bits at the ``ordered`` qubits vary and whose other bits
    spell ``group`` (amplitude ``k`` at ``base + offsets[k]``) go to ``scratch[:d]``, and
    the ``d x d`` matrix at ``c[o:]`` times them to ``scratch[d:2 d]``. Returns ``base``."""
    d = offsets.size
    base = group
    for q in ordered:
        base = insert_zero_bit(base, q)
    for column in range(d):
        scratch[column] = complex(re[base + offsets[column]], im[base + offsets[column]])
    for row in range(d):
        acc = 0j
        start = o + row * d
        for column in range(d):
            acc += c[start + column] * scratch[column]
        scratch[d + row] = acc
    return base


@njit(cache=True)
def _diagonal(re, im, qubits, c, o):
    for i in range(re.size):
        entry = 0
        for k in range(qubits.size):
            entry |= ((i >> qubits[k]) & 1) << k
        value = complex(re[i], im[i]) * c[o + entry]
        re[i], im[i] = value.real, value.imag


@njit(cache=True, fastmath=True)
def _full_diagonal(re, im, c, o):
    for i in range(re.size):
        dr, di = c[o + i].real, c[o + i].imag
        x, y = re[i], im[i]
        re[i] = dr * x - di * y
        im[i] = dr * y + di * x


@njit(cache=True)
def _exchange(a, q0, q1, set0, set1):
    """Swap a[i | set0] and a[i | set1] over every i with bits q0, q1 clear; the innermost
    loop runs over contiguous indices below the lower bit."""
    low, high = min(q0, q1), max(q0, q1)
    run = 1 << low
    for outer in range(0, a.size, 2 << high):
        for middle in range(outer, outer + (1 << high), 2 << low):
            x, y = a[middle + set0:middle + set0 + run], a[middle + set1:middle + set1 + run]
            for j in range(run):
                x[j], y[j] = y[j], x[j]


@njit(cache=True)
def scratch_for(tape, size):
    """The scratch buffer ``apply_row`` needs: a state-sized one when ``tape`` permutes
    (gather; a smaller one makes PERMUTE rows run in place)."""
    for r in range(tape.shape[0]):
        if tape[r, 0] == PERMUTE:
            return np.empty(max(size, GROUP_SCRATCH), dtype=np.complex128)
    return np.empty(GROUP_SCRATCH, dtype=np.complex128)


@njit(cache=True)
def apply_row(re, im, tape, r, shared, per_sample_row, scratch):
    """Apply operation ``r`` of ``tape`` to the local buffer ``(re, im)``; ``scratch`` comes
    from :func:`scratch_for`."""
    kind, width = tape[r, 0], tape[r, 1]
    c = shared if tape[r, 2] == 0 else per_sample_row
    o = tape[r, 3]
    q0, q1 = tape[r, HEADER], tape[r, HEADER + 1]
    if kind == DENSE1:
        _dense1(re, im, q0, c, o)
    elif kind == DENSE2 or kind == DENSE:
        _dense(re, im, tape[r, HEADER:HEADER + width], c, o, scratch)
    elif kind == DIAGONAL:
        _diagonal(re, im, tape[r, HEADER:HEADER + width], c, o)
    elif kind == FULL_DIAGONAL:
        _full_diagonal(re, im, c, o)
    elif kind == CX:
        for part in (re, im):
            _exchange(part, q0, q1, 1 << q0, (1 << q0) | (1 << q1))
    elif kind == PERMUTE:
        permutation.permute(re, im, c, o, width, q0, scratch)
    else:
        for part in (re, im):
            _exchange(part, q0, q1, 1 << q0, 1 << q1)


@njit(cache=True)
def run_tape(re, im, tape, shared, per_sample_row, scratch):
    """Apply every operation of ``tape`` to the local buffer ``(re, im)`` in order."""
    for r in range(tape.shape[0]):
        apply_row(re, im, tape, r, shared, per_sample_row, scratch)


@njit(cache=True, parallel=True)
def run_cluster(states, rows, samples, qubits, tape, shared, per_sample):
    """Run ``tape`` on the ``rows`` of ``states`` (``(T, 2**n)``; row ``rows[t]`` is a state of
    batch sample ``samples[t]``) over the cluster's ``qubits`` (local bit k is
    ``qubits[k]``)."""
    size = states.shape[1]
    local_size = 1 << qubits.size
    outer = size // local_size
    offsets = column_offsets(qubits)
    ordered = np.sort(qubits)
    # Work items: (row, slice of outer indices); enough slices to occupy every thread.
    slices = min(outer, 64)
    per_slice = outer // slices
    for work in prange(rows.size * slices):
        t = work // slices
        first = (work - t * slices) * per_slice
        r = rows[t]
        row = per_sample[0 if per_sample.shape[0] == 1 else samples[t]]
        re = np.empty(local_size)
        im = np.empty(local_size)
        scratch = scratch_for(tape, local_size)
        for o in range(first, first + per_slice):
            base = o
            for q in ordered:
                base = insert_zero_bit(base, q)
            for j in range(local_size):
                value = states[r, base + offsets[j]]
                re[j], im[j] = value.real, value.imag
            run_tape(re, im, tape, shared, row, scratch)
            for j in range(local_size):
                states[r, base + offsets[j]] = complex(re[j], im[j])


def split_product_prefix(tape: np.ndarray, num_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a whole-state tape (local bit q is qubit q) that starts from |0...0> into the
    dense single-qubit rows that come first on their qubit and the rest.

    Such a row commutes with every earlier row (none touches its qubit), so all of them act
    first, on |0...0>, and give a product state that :func:`start_product_state` writes in
    one pass instead of one pass per qubit (an embedding layer, merged with the first layer
    of weights, is 16 of the 16-qubit QNN's ~130 passes). Returns ``first[q] = (source,
    offset)`` of qubit q's first matrix (``source`` -1: identity) and the tape without those
    rows."""
    first = np.tile(np.array([-1, 0], dtype=np.int64), (num_qubits, 1))
    touched = np.zeros(num_qubits, dtype=bool)
    rest = []
    for r in range(tape.shape[0]):
        kind, width = tape[r, 0], tape[r, 1]
        if kind == DENSE1 and not touched[tape[r, HEADER]]:
            first[tape[r, HEADER]] = tape[r, 2:4]
            touched[tape[r, HEADER]] = True
            continue
        rest.append(r)
        if kind in (FULL_DIAGONAL, PERMUTE):
            touched[:] = True
        else:
            touched[tape[r, HEADER:HEADER + width]] = True
    return first, np.ascontiguousarray(tape[rest])


def permutation_sources(rows: list, bits: int) -> list[int]:
    """The images M 2**k (k < ``bits``) of a run of CX/SWAP tape ``rows``, the maps
    :mod:`.permutation` applies: the state after the run is new[j] = old[f1⁻¹(f2⁻¹(... j))],
    and cx and swap are their own inverses."""
    sources = []
    for k in range(bits):
        index = 1 << k
        for row in reversed(rows):
            q0, q1 = row[HEADER], row[HEADER + 1]
            if row[0] == CX:
                index ^= ((index >> q0) & 1) << q1
            else:
                b0, b1 = (index >> q0) & 1, (index >> q1) & 1
                index ^= (b0 ^ b1) * ((1 << q0) | (1 << q1))
        sources.append(index)
    return sources


def absorb_trailing_rows(tape: np.ndarray, shared: np.ndarray, signs: np.ndarray,
                         diagonal_readout: bool, z_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """Drop the rows at the end of a whole-state ``tape`` that a read-out cannot see, and
    return the tape and the Pauli sign masks to read instead.

    Diagonal rows only change phases, invisible to probabilities and to Z-string
    expectations (``diagonal_readout``). A permutation of basis states at the end (cx, swap,
    PERMUTE rows: new[j] = old[M j], M linear over GF(2)) turns a Z-string S into another
    one, read on the state before it: parity(j & S) = parity(M j & S') for every j when
    parity(M 2**k & S') = bit k of S (``z_only``: every term a Z-string). A CNOT ring before
    <Z0> is then one pass fewer."""
    signs = signs.copy()
    end = len(tape)
    while end > 0:
        kind, width = tape[end - 1, 0], tape[end - 1, 1]
        if kind in (DIAGONAL, FULL_DIAGONAL) and diagonal_readout:
            end -= 1
            continue
        if kind not in (CX, SWAP, PERMUTE) or not z_only:
            break
        if kind == PERMUTE:
            offset = tape[end - 1, 3]
            sources = [int(v.real) for v in shared[offset:offset + width]]
        else:
            bits = 1 + int(max(tape[end - 1, HEADER], tape[end - 1, HEADER + 1]))
            sources = permutation_sources([tape[end - 1]], bits)
        for k, sign in enumerate(signs):
            signs[k] = permutation.solve(sources, int(sign))
        end -= 1
    return np.ascontiguousarray(tape[:end]), signs


@njit(cache=True, fastmath=True)
def start_product_state(re, im, first, shared, per_sample_row):
    """Write ⊗_q U_q|0> into the whole-state buffer ``(re, im)``, U_q the 2x2 matrix at
    ``first[q]`` (see :func:`split_product_prefix`): qubit by qubit, doubling the filled
    prefix, ~2 multiplications per amplitude in all."""
    re[0], im[0] = 1.0, 0.0
    length = 1
    for q in range(first.shape[0]):
        a0r, a0i, a1r, a1i = 1.0, 0.0, 0.0, 0.0
        if first[q, 0] >= 0:
            c = shared if first[q, 0] == 0 else per_sample_row
            o = first[q, 1]
            # U|0> is the first column of the row-major 2x2 matrix: entries 0 and 2.
            a0r, a0i, a1r, a1i = c[o].real, c[o].imag, c[o + 2].real, c[o + 2].imag
        for j in range(length):
            x, y = re[j], im[j]
            re[length + j] = a1r * x - a1i * y
            im[length + j] = a1r * y + a1i * x
            re[j] = a0r * x - a0i * y
            im[j] = a0r * y + a0i * x
        length *= 2


@njit(cache=True)
def start_state(re, im, first, shared, per_sample_row, tape):
    """Start the whole-state buffer ``(re, im)`` from the product state of ``first``, and
    return the index of the first row of ``tape`` still to run. When that row is a PERMUTE
    (a CNOT ring after the embedding) on a state too large to gather through the scratch,
    it is folded in: new[j] = Φ(M j), Φ(i) the product of two small tables (the state's
    low and high qubits), written in one pass instead of the product pass and a
    permutation in place (16 qubits: 0.19 → 0.17 s for the QNN forward)."""
    if tape.shape[0] == 0 or tape[0, 0] != PERMUTE or re.size <= GROUP_SCRATCH:
        start_product_state(re, im, first, shared, per_sample_row)
        return 0
    num_qubits = first.shape[0]
    split = min(num_qubits, 8)
    low_re, low_im = np.empty(1 << split), np.empty(1 << split)
    high_re, high_im = np.empty(1 << (num_qubits - split)), np.empty(1 << (num_qubits - split))
    start_product_state(low_re, low_im, first[:split], shared, per_sample_row)
    start_product_state(high_re, high_im, first[split:], shared, per_sample_row)
    c = shared if tape[0, 2] == 0 else per_sample_row
    low, low_table, high_table = permutation.source_tables(c, tape[0, 3], tape[0, 1])
    mask, split_mask = (1 << low) - 1, (1 << split) - 1
    for j in range(re.size):
        i = high_table[j >> low] ^ low_table[j & mask]
        a_re, a_im = low_re[i & split_mask], low_im[i & split_mask]
        b_re, b_im = high_re[i >> split], high_im[i >> split]
        re[j] = a_re * b_re - a_im * b_im
        im[j] = a_re * b_im + a_im * b_re
    return 1


EXPECTATION, PROBABILITIES = 0, 1


@njit(cache=True, fastmath=True)
def pauli_overlap(re, im, flip, sign):
    """sum_i conj(psi[i ^ flip]) psi[i] (-1)**popcount(i & sign), as (real, imaginary)."""
    acc_re, acc_im = 0.0, 0.0
    if flip == 0:
        for i in range(re.size):
            acc_re += (1 - 2 * parity(i & sign)) * (re[i] * re[i] + im[i] * im[i])
        return acc_re, acc_im
    for i in range(re.size):
        j = i ^ flip
        factor = 1 - 2 * parity(i & sign)
        acc_re += factor * (re[j] * re[i] + im[j] * im[i])
        acc_im += factor * (re[j] * im[i] - im[j] * re[i])
    return acc_re, acc_im


def workers(batch: int) -> int:
    """Parallel work items for a batch of whole states: one per thread, each running the
    samples ``worker, worker + workers, ...`` with buffers it allocates once (a fresh
    megabyte-sized buffer per sample costs more in page faults than the gates on it)."""
    return max(1, min(batch, get_num_threads()))


@njit(cache=True, parallel=True)
def run_batch_readout(num_qubits, first, tape, shared, per_sample, batch, count, mode, flips,
                      signs, weights, columns, marginal_qubits, precision, out):
    """Whole small states, one per sample and thread at a time: start in the product state
    of the rows ``first`` (:func:`split_product_prefix`, :func:`start_state`), run the rest
    ``tape`` (one cluster
    over all qubits, local bit q is qubit q), and write only the read-out ``out[b]``; no
    ``(B, 2**n)`` array ever exists.

    ``mode == EXPECTATION``: ``out[b, columns[k]] += Re(weights[k] * sum_i conj(psi[i ^
    flips[k]]) psi[i] (-1)**popcount(i & signs[k]))`` (see :func:`.kernels.pauli_overlaps`).
    ``mode == PROBABILITIES``: ``out[b, j] = sum |psi[i]|**2`` over the ``i`` whose bits at
    ``marginal_qubits`` spell ``j``. ``count``: :func:`workers`. The state's parts have the
    dtype of ``precision`` (float32 for complex64: half the memory traffic, twice the
    numbers per vector instruction).
    """
    size = 1 << num_qubits
    for worker in prange(count):
        re = np.empty(size, dtype=precision.dtype)
        im = np.empty(size, dtype=precision.dtype)
        # No gather buffer: PERMUTE rows run in place, so a thread holds one state.
        scratch = np.empty(GROUP_SCRATCH, dtype=np.complex128)
        for b in range(np.int64(worker), batch, count):
            row = per_sample[0 if per_sample.shape[0] == 1 else b]
            for r in range(start_state(re, im, first, shared, row, tape), tape.shape[0]):
                apply_row(re, im, tape, r, shared, row, scratch)
            if mode == EXPECTATION:
                for k in range(flips.size):
                    acc_re, acc_im = pauli_overlap(re, im, flips[k], signs[k])
                    out[b, columns[k]] += weights[k].real * acc_re - weights[k].imag * acc_im
            else:
                for i in range(size):
                    j = 0
                    for k in range(marginal_qubits.size):
                        j |= ((i >> marginal_qubits[k]) & 1) << k
                    out[b, j] += re[i] * re[i] + im[i] * im[i]

