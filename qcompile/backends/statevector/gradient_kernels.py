"""Numba kernels of the adjoint sweep: seeding the costate and reading off angle gradients.

Same layout and work split as :mod:`.kernels`: states are ``(B, 2**n)`` C-contiguous arrays,
one parallel loop over (sample, chunk of amplitudes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np
from numba import njit, prange

CHUNK = 1 << 12
#: Below this many amplitudes per launch, waking numba's worker threads costs more than the
#: work itself (microseconds on an idle machine, milliseconds on a busy one).
SERIAL_BELOW = 1 << 15


@contextmanager
def serial_when_small(amplitudes: int) -> Iterator[None]:
    """Run the parallel kernels launched in this block on the calling thread alone when each
    launch touches fewer than :data:`SERIAL_BELOW` amplitudes (a gradient sweep launches
    several kernels per gate, so for small states the launches dominate)."""
    if amplitudes >= SERIAL_BELOW:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@njit(cache=True, parallel=True)
def add_pauli_string(out, states, factors, flip_mask, sign_mask):
    """out[b] += factors[b] * P' states[b] for a Pauli string P = i**n_Y P'.

    P' maps |i> to (-1)**popcount(i & sign_mask) |i ^ flip_mask> (see
    :func:`.kernels.pauli_overlaps`); the caller folds i**n_Y into ``factors``. Distinct ``i``
    write distinct targets, so the parallel loop has no races.
    """
    batch, size = states.shape
    chunk = min(size, CHUNK)
    chunks = size // chunk
    for work in prange(batch * chunks):
        b = work // chunks
        c = work - b * chunks
        factor = factors[b]
        for i in range(c * chunk, (c + 1) * chunk):
            odd = i & sign_mask
            parity = 0
            while odd:
                odd &= odd - 1
                parity ^= 1
            term = factor * states[b, i]
            out[b, i ^ flip_mask] += -term if parity else term


@njit(cache=True, parallel=True)
def real_overlap_parts(a, b):
    """Partial sums of Re <a[s]|b[s]> per sample, shape (B, chunks), in float64."""
    batch, size = a.shape
    chunk = min(size, CHUNK)
    chunks = size // chunk
    partial = np.zeros((batch, chunks))
    for work in prange(batch * chunks):
        s = work // chunks
        c = work - s * chunks
        acc = 0.0
        for i in range(c * chunk, (c + 1) * chunk):
            acc += a[s, i].real * b[s, i].real + a[s, i].imag * b[s, i].imag
        partial[s, c] = acc
    return partial


def real_overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Re <a[s]|b[s]> for every sample s, shape (B,)."""
    return real_overlap_parts(a, b).sum(axis=1)
