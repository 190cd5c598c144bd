"""Mid-circuit measurement, reset and feed-forward by keeping classical branches.

A branch is one row: a state of one batch sample together with its classical record (the
value of every classical bit). A measurement splits a row into its two projections; a reset
does too, mapping the |1> part onto |0>, and the two parts stay separate (incoherent) rows;
a classical write changes the record; an if/else runs each body on the rows whose record
selects it. Terminal measurements never get here: they are read from the final states
(:mod:`qcompile.ir.terminal`).

Rows live in a few :class:`Block` arrays (the first holds the batch, each split adds one
for the rows it duplicates), and every step runs on a selection of rows of each block with
one kernel launch, so a step costs the same few launches for one branch or thousands. A
launch on fewer than 2**15 amplitudes runs on the calling thread: on a busy machine waking
numba's workers cost milliseconds per launch (a 2000-shot repeat-until-success loop of 35
measurements took 11 s with 2 threads, 0.22 s with one).

:class:`BranchRun` splits in one of two ways:

- *exact* (probs, expval, state, :func:`.simulate.outcome_probabilities`): rows are
  unnormalized, the squared norm of a row being the probability of its history for its
  sample, and a read-out is a sum over rows. A part of (numerically) zero weight is
  dropped, but each measurement of a qubit in superposition can double the rows; past
  :data:`MAX_BRANCHES` per sample, or the memory limit, the run stops with an error that
  points to counts.
- *sampled* (counts): each row carries its number of shots, which a split divides between
  the two parts by a binomial draw with the outcome's probability; a part exists where it
  got shots, renormalized. Trajectories with the same outcomes so far share their row, so a
  sample holds at most min(shots, exact branches) rows: never more than the exact method,
  however many branches it would need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir import Measure, QCompileError, Reset, SetBits
from . import branch_kernels
from .gradient_kernels import serial_when_small
from .memory import fits, require
from .plan import Plan
from .steps import Conditional

#: Each measurement or reset of a qubit in superposition can double a sample's exact rows;
#: past this many the exact method costs more than it is worth (counts sample instead).
MAX_BRANCHES = 4096
#: Past this many blocks, the blocks are joined into one (when memory allows): each step
#: launches its kernels once per block.
MAX_BLOCKS = 16


@dataclass(frozen=True)
class Block:
    """Rows of states ``(R, 2**n)`` with, per row, the classical record ``(R, clbits)``,
    the batch sample and, in sampled runs, the number of shots."""

    states: np.ndarray
    records: np.ndarray
    samples: np.ndarray
    shots: np.ndarray | None


def record_values(block: Block, cleared: int = 0) -> np.ndarray:
    """Each row's record as an integer (bit j is clbit j), the bits ``cleared`` 0."""
    powers = np.left_shift(1, np.arange(block.records.shape[1], dtype=np.int64))
    return (block.records.astype(np.int64) @ powers) & ~cleared


#: The rows a step runs on: for each block, the indices of its selected rows.
Selection = list[tuple[Block, np.ndarray]]


class BranchRun:
    """Runs bound steps (plans, measurements, resets, classical writes, conditionals) on
    rows: exactly, or, given ``rng``, sampling ``shots`` trajectories per sample. Before any
    rows are allocated, they and ``reserve`` bytes (what the read-out will need beside them)
    are checked against ``max_memory`` (:func:`.memory.require`). ``blocks`` holds every
    row when :meth:`run` returns."""

    def __init__(self, num_qubits: int, num_clbits: int, batch: int, dtype, *,
                 shots: int | None = None, rng: np.random.Generator | None = None,
                 max_memory=None, reserve: int = 0):
        self.num_qubits, self.batch, self.dtype = num_qubits, batch, np.dtype(dtype)
        self.rng, self.max_memory, self.reserve = rng, max_memory, reserve
        self.row_bytes = self.dtype.itemsize << num_qubits
        self.per_sample = np.ones(batch, dtype=np.int64)  # rows of each sample
        self._require(batch)
        states = np.zeros((batch, 2 ** num_qubits), dtype=self.dtype)
        states[:, 0] = 1
        self.blocks = [Block(states, np.zeros((batch, num_clbits), dtype=np.uint8),
                             np.arange(batch),
                             None if rng is None else np.full(batch, shots, dtype=np.int64))]

    @property
    def rows(self) -> int:
        return sum(len(block.samples) for block in self.blocks)

    def run(self, steps: tuple, selection: Selection | None = None) -> Selection:
        """Apply bound steps to the selected rows (default: all), splitting rows where the
        circuit measures or resets; returns the rows the steps ended in."""
        top = selection is None
        if top:
            selection = [(block, np.arange(len(block.samples))) for block in self.blocks]
        if not selection:
            return selection
        for step in steps:
            if isinstance(step, Plan):
                for block, rows in selection:
                    with serial_when_small(rows.size << self.num_qubits):
                        step.apply(block.states, rows, block.samples[rows])
            elif isinstance(step, (Measure, Reset)):
                selection = self._split(selection, step)
                if top and len(self.blocks) > MAX_BLOCKS:
                    selection = self._join()
            elif isinstance(step, SetBits):
                bits = np.array([(step.value >> k) & 1 for k in range(len(step.clbits))],
                                dtype=np.uint8)
                for block, rows in selection:
                    block.records[np.ix_(rows, step.clbits)] = bits
            elif isinstance(step, Conditional):
                chosen, other = [], []
                for block, rows in selection:
                    bits = block.records[np.ix_(rows, step.condition.clbits)].astype(np.int64)
                    holds = bits @ (1 << np.arange(bits.shape[1])) == step.condition.value
                    chosen.append((block, rows[holds]))
                    other.append((block, rows[~holds]))
                selection = _regroup(self.run(step.then_steps, _nonempty(chosen))
                                     + self.run(step.else_steps, _nonempty(other)))
            else:
                raise TypeError(f"unbound or unknown step {step!r}")
        return selection

    def _split(self, selection: Selection, op: Measure | Reset) -> Selection:
        """Each selected row projected onto the outcome it keeps; a row that keeps both is
        duplicated into a new block for the outcome 1."""
        planned = []
        for block, rows in selection:
            with serial_when_small(rows.size << self.num_qubits):
                weights = branch_kernels.qubit_weights(block.states, rows, op.qubit)
            if self.rng is None:
                tiny = (64 * np.finfo(block.states.real.dtype).eps) ** 2
                keep = weights > tiny
                lost = ~keep.any(axis=1)  # both parts negligible: keep the larger anyway
                keep[lost, np.argmax(weights[lost], axis=1)] = True
                shots = None
            else:
                total = block.shots[rows]
                ones = self.rng.binomial(total, np.clip(weights[:, 1] / weights.sum(axis=1),
                                                        0, 1))
                shots = np.stack([total - ones, ones], axis=1)
                keep = shots > 0
            planned.append((block, rows, weights, keep, shots))
        duplicated = [block.samples[rows[keep.all(axis=1)]]
                      for block, rows, _, keep, _ in planned]
        self.per_sample += np.bincount(np.concatenate(duplicated), minlength=self.batch)
        if self.rng is None and self.per_sample.max() > MAX_BRANCHES:
            raise QCompileError(
                f"exact simulation of this circuit needs more than {MAX_BRANCHES} classical "
                f"branches: every mid-circuit measurement or reset of a qubit in superposition "
                f"doubles them; ask for counts (sampled shot by shot), measure fewer qubits "
                f"mid-circuit, or defer measurement to the end")
        self._require(self.rows + sum(len(d) for d in duplicated))
        out = []
        for block, rows, weights, keep, shots in planned:
            both = keep.all(axis=1)
            copies = rows[both]
            if copies.size:
                added = Block(block.states[copies], block.records[copies].copy(),
                              block.samples[copies],
                              None if shots is None else shots[both, 1])
                self._project(added, np.arange(copies.size), op,
                              np.ones(copies.size, dtype=np.int64), weights[both, 1])
                self.blocks.append(added)
                out.append((added, np.arange(copies.size)))
            values = np.where(keep[:, 0], 0, 1)
            if shots is not None:
                block.shots[rows] = shots[np.arange(rows.size), values]
            self._project(block, rows, op, values, weights[np.arange(rows.size), values])
            out.append((block, rows))
        return out

    def _project(self, block: Block, rows: np.ndarray, op: Measure | Reset,
                 values: np.ndarray, weights: np.ndarray) -> None:
        """Rows onto the outcomes ``values``, recorded; sampled rows renormalized by the
        outcome's ``weights``."""
        scales = np.ones(rows.size) if self.rng is None else 1 / np.sqrt(weights)
        with serial_when_small(rows.size << self.num_qubits):
            branch_kernels.project(block.states, rows, values, op.qubit, isinstance(op, Reset),
                                   scales.astype(block.states.real.dtype))
        if isinstance(op, Measure):
            block.records[rows, op.clbit] = values

    def _join(self) -> Selection:
        """All blocks as one (when the copy fits in memory), selected whole."""
        blocks = self.blocks
        if not fits(2 * self.rows * self.row_bytes + self.reserve, self.max_memory):
            return [(block, np.arange(len(block.samples))) for block in blocks]
        shots = None if self.rng is None else np.concatenate([b.shots for b in blocks])
        joined = Block(np.concatenate([b.states for b in blocks]),
                       np.concatenate([b.records for b in blocks]),
                       np.concatenate([b.samples for b in blocks]), shots)
        self.blocks = [joined]
        return [(joined, np.arange(len(joined.samples)))]

    def _require(self, rows: int) -> None:
        what = f"{self.num_qubits} qubits × batch {self.batch}"
        if rows > self.batch:
            what += f" ({rows} {'trajectories' if self.rng is not None else 'branches'})"
        hints = (() if rows <= self.batch else ("ask for fewer shots",) if self.rng is not None
                 else ("ask for counts, which follow one branch per shot",))
        require(rows * self.row_bytes, what, self.max_memory, dtype=self.dtype,
                reserve=self.reserve, hints=hints)


def _nonempty(selection: Selection) -> Selection:
    return [(block, rows) for block, rows in selection if rows.size]


def _regroup(selection: Selection) -> Selection:
    """One entry per block, its rows in order (after an if/else ran both bodies)."""
    rows: dict[int, tuple[Block, list]] = {}
    for block, chosen in selection:
        rows.setdefault(id(block), (block, []))[1].append(chosen)
    return [(block, np.sort(np.concatenate(parts))) for block, parts in rows.values()]
