"""Counts: shots drawn from final states, without a distribution of 2**n numbers per state.

Each shot is a basis state drawn from |ψ|² in two levels: a run of ``2**BLOCK_BITS``
consecutive amplitudes from the runs' weights (one parallel pass over the states), then an
amplitude inside the run; both levels draw for all rows of a block at once, by inverse
transform on one cumulative sum over the rows. The measured qubits' bits of the drawn index
are the outcomes of the terminal measurements, written into their classical bits on top of
the row's record.
"""

from __future__ import annotations

import numpy as np

from ...ir import Measure
from . import branch_kernels
from .branches import BranchRun, record_values
from .gradient_kernels import serial_when_small

#: Amplitudes per run of the first level: a 26-qubit state has 2**20 runs (8 MiB of
#: weights), and a shot's second level reads 64 amplitudes.
BLOCK_BITS = 6
#: Shots drawn together: bounds the second level's gathered runs (1 MiB of amplitudes).
SHOT_CHUNK = 1 << 14


def draw(states: np.ndarray, shots: np.ndarray, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray]:
    """``shots[r]`` basis-state indices drawn from ``|states[r]|**2`` for every row ``r``
    (normalized or not): the row and the index of every shot."""
    rows, size = states.shape
    bits = min(BLOCK_BITS, int(size).bit_length() - 1)
    width = 1 << bits
    runs = size >> bits
    with serial_when_small(states.size):
        coarse = np.cumsum(branch_kernels.block_weights(states, bits))
    fine = states.reshape(rows * runs, width)
    row_of = np.repeat(np.arange(rows), shots)
    indices = np.empty(row_of.size, dtype=np.int64)
    for first in range(0, row_of.size, SHOT_CHUNK):
        row = row_of[first:first + SHOT_CHUNK]
        run = _draw(coarse, row * runs, runs, rng)
        chosen, inverse = np.unique(run, return_inverse=True)
        amplitudes = fine[chosen]
        inner = _draw(np.cumsum(amplitudes.real ** 2 + amplitudes.imag ** 2), inverse * width,
                      width, rng)
        indices[first:first + row.size] = (run - row * runs) * width + inner - inverse * width
    return row_of, indices


def _draw(cdf: np.ndarray, starts: np.ndarray, length: int, rng: np.random.Generator
          ) -> np.ndarray:
    """For each segment ``[start, start + length)`` of the cumulative sum ``cdf`` (one per
    draw), an index drawn with probability proportional to its step; a step of zero is
    never drawn."""
    low = np.where(starts > 0, cdf[starts - 1], 0.0)
    high = cdf[starts + length - 1]
    drawn = np.searchsorted(cdf, low + rng.random(starts.size) * (high - low), side="right")
    return np.clip(drawn, starts, starts + length - 1)


def add_counts(counts: np.ndarray, run: BranchRun, terminal: tuple[Measure, ...],
               num_clbits: int, rng: np.random.Generator) -> None:
    """Add the shots of every row of a sampled ``run`` to ``counts`` ``(B, 2**k)``: its
    record with the ``terminal`` measurements' outcomes drawn from its final state, or the
    basis state itself when the circuit has no classical bits."""
    cleared = sum(1 << m.clbit for m in terminal)
    for block in run.blocks:
        base = record_values(block, cleared)
        if num_clbits and not terminal:
            np.add.at(counts, (block.samples, base), block.shots)
            continue
        rows, drawn = draw(block.states, block.shots, rng)
        if num_clbits:
            values = base[rows]
            for m in terminal:
                values |= ((drawn >> m.qubit) & 1) << m.clbit
        else:
            values = drawn
        np.add.at(counts, (block.samples[rows], values), 1)
