"""Bound kernel steps → an execution plan: merged gates grouped into cache-sized clusters.

The plan is built per run, after symbolic angles are bound, so it fuses per-sample gates
(from batched inputs) as well as constant ones. Three rewrites, each cheap to decide:

1. *single-qubit runs* on one qubit are multiplied into one 2x2 matrix (per sample where any
   factor is per sample): fewer passes and less arithmetic, always a win;
2. *clusters*: consecutive gates are grouped so that each group touches at most
   ``local_qubits - IDLE_LOW_BITS`` qubits; :func:`.tape.run_cluster` runs a group with one
   memory pass;
3. *diagonal runs* inside a cluster (rz, cp, cz, rzz, ...) are merged into one diagonal:
   shared ones into one table over the whole cluster (one vectorized sweep), per-sample ones
   up to :data:`MAX_DIAGONAL_WIDTH` qubits.

Dense multi-qubit fusion is left to the ``fuse`` pass: inside a cache-resident cluster the
memory pass it saves is nearly free, and a ``k``-qubit block costs ``2**k`` multiply-adds per
amplitude, more than the gates it replaces (measured in docs/simulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import get_num_threads

from . import permutation
from . import tape as tp
from .steps import Conditional, KernelStep

#: A batch of states up to this size runs state by state, each whole (4 MiB of buffer per
#: thread): measured faster than clusters for the 16-qubit QNN batch (0.27 s against 0.51 s),
#: since no gathers are needed and each thread streams its own state from L2/L3.
WHOLE_STATE_QUBITS = 18
#: Local buffer bits per cluster: 2**14 amplitudes are 256 KiB, resident in L2.
LOCAL_QUBITS = 14
#: On large states the lowest local bits are given to qubits no gate of the cluster touches,
#: so every gate's inner loop runs over at least 2**3 contiguous amplitudes (vectorized).
IDLE_LOW_BITS = 3
#: How many gates back a diagonal looks for another diagonal to merge with.
DIAGONAL_LOOKBACK = 24
#: Widest merged per-sample diagonal (its table of 2**8 entries per sample stays in L1).
MAX_DIAGONAL_WIDTH = 8
#: Fewest consecutive cx/swap rows that become one PERMUTE row (two passes: gather through
#: a scratch buffer and copy back, or one cycle-following pass in place; against one
#: exchange pass per gate).
MIN_PERMUTATION_RUN = 4

_CX = np.eye(4)[[0, 3, 2, 1]]
_SWAP = np.eye(4)[[0, 2, 1, 3]]


@dataclass
class PlanGate:
    """One gate as the planner and :class:`TapeEncoder` take it: ``qubits`` are global
    qubits (matrix index bit k is ``qubits[k]``), ``values`` the matrices ``(M, d, d)`` or,
    when ``diagonal``, the diagonals ``(M, d)``; ``M == 1`` shared by the batch, else one
    per sample."""

    qubits: tuple[int, ...]
    values: np.ndarray
    diagonal: bool

    @classmethod
    def of(cls, step: KernelStep) -> PlanGate:
        """The gate of a bound kernel step (its matrices or diagonals as they are)."""
        return cls(tuple(int(q) for q in step.qubits), step.matrices, step.diagonal)

    def dense(self) -> np.ndarray:
        """The matrices ``(M, d, d)``, diagonals made full."""
        if not self.diagonal:
            return self.values
        d = self.values.shape[-1]
        out = np.zeros(self.values.shape + (d,), dtype=self.values.dtype)
        out[..., np.arange(d), np.arange(d)] = self.values
        return out

    @cached_property
    def permutation(self) -> int | None:
        """:data:`.tape.CX` or :data:`.tape.SWAP` when this is exactly that shared matrix
        (applied as a swap of amplitudes, no arithmetic), else None."""
        if self.diagonal or len(self.qubits) != 2 or self.values.shape[0] != 1:
            return None
        for kind, matrix in ((tp.CX, _CX), (tp.SWAP, _SWAP)):
            if np.array_equal(self.values[0], matrix):
                return kind
        return None


def merge_single_qubit_runs(items: list[PlanGate]) -> list[PlanGate]:
    """Multiply each run of single-qubit gates on one qubit into one gate, placed where
    the run ends (gates on other qubits commute with it)."""
    out: list[PlanGate] = []
    pending: dict[int, PlanGate] = {}

    def flush(qubit: int) -> None:
        if qubit in pending:
            out.append(pending.pop(qubit))

    for item in items:
        if len(item.qubits) == 1:
            q = item.qubits[0]
            before = pending.get(q)
            if before is None:
                pending[q] = item
            elif before.diagonal and item.diagonal:
                pending[q] = PlanGate((q,), item.values * before.values, True)
            else:
                pending[q] = PlanGate((q,), np.matmul(item.dense(), before.dense()), False)
            continue
        for q in item.qubits:
            flush(q)
        out.append(item)
    for q in list(pending):
        flush(q)
    return out


def float_past_permutations(items: list, qubits_of, is_permutation) -> list:
    """Reorder ``items`` so that cx/swap runs are not interrupted: each other item moves
    before the permutations just before it that share none of its qubits (they commute).
    A CNOT ring after a layer of single-qubit gates then becomes one run, and one gather
    (:data:`.tape.PERMUTE`) instead of a pass per gate."""
    out: list = []
    for item in items:
        position = len(out)
        if not is_permutation(item):
            mine = set(qubits_of(item))
            while position > 0 and is_permutation(out[position - 1]) and not (
                    mine & set(qubits_of(out[position - 1]))):
                position -= 1
        out.insert(position, item)
    return out


def merge_permutation_rows(rows: list, bits: int, encoder: TapeEncoder) -> list:
    """Each run of at least :data:`MIN_PERMUTATION_RUN` consecutive cx/swap tape rows
    becomes one PERMUTE row over ``bits`` local bits."""
    out, run = [], []
    for row in (*rows, None):
        if row is not None and row[0] in (tp.CX, tp.SWAP):
            run.append(row)
            continue
        out += [encoder.permutation_row(run, bits)] if len(run) >= MIN_PERMUTATION_RUN else run
        run = []
        if row is not None:
            out.append(row)
    return out


def plan_clusters(qubit_lists: list[tuple[int, ...]], width: int) -> list[list[int]]:
    """Group operations (given by their qubits, in program order) into clusters of at most
    ``width`` qubits, keeping the program's meaning.

    An operation may join any cluster at or after the last cluster that touched one of its
    qubits (it then runs after everything it depends on, and nothing later depends on it
    earlier); it joins the earliest such cluster with room, else opens a new one. Layered
    circuits thus form a wavefront: one cluster keeps absorbing the low qubits of many layers.
    """
    clusters: list[list[int]] = []
    qubit_sets: list[set[int]] = []
    last: dict[int, int] = {}
    for index, qubits in enumerate(qubit_lists):
        earliest = max((last[q] for q in qubits if q in last), default=0)
        chosen = next((c for c in range(earliest, len(clusters))
                       if len(qubit_sets[c] | set(qubits)) <= width), None)
        if chosen is None:
            chosen = len(clusters)
            clusters.append([])
            qubit_sets.append(set())
        clusters[chosen].append(index)
        qubit_sets[chosen].update(qubits)
        for q in qubits:
            last[q] = chosen
    return clusters


def _commute(a: PlanGate, b: PlanGate) -> bool:
    return (a.diagonal and b.diagonal) or not set(a.qubits) & set(b.qubits)


def _merge_diagonal_runs(items: list[PlanGate], shared_width: int) -> list[PlanGate]:
    """Merge each diagonal gate into an earlier diagonal when the gates between them can be
    split into a prefix that commutes with the earlier one (it moves forward) and a suffix
    that commutes with the new one (it moves back). Shared diagonals merge over the whole
    cluster (one full-width table), per-sample ones up to MAX_DIAGONAL_WIDTH qubits."""
    out: list[PlanGate | _Product] = []
    for item in items:
        if item.diagonal:
            shared = item.values.shape[0] == 1
            limit = shared_width if shared else MAX_DIAGONAL_WIDTH
            for k in range(len(out) - 1, max(-1, len(out) - 1 - DIAGONAL_LOOKBACK), -1):
                target = out[k]
                if target.diagonal and (_samples(target) == 1) == shared and len(
                        set(target.qubits) | set(item.qubits)) <= limit:
                    between = out[k + 1:]
                    split = len(between)
                    while split > 0 and _commute(between[split - 1], item):
                        split -= 1
                    if all(_commute(x, target) for x in between[:split]):
                        out[k:] = [*between[:split], _Product.of(target).times(item),
                                   *between[split:]]
                        break
            else:
                out.append(item)
        else:
            out.append(item)
    return [x.gate() if isinstance(x, _Product) else x for x in out]


@dataclass(frozen=True)
class _Product:
    """Diagonal gates merged so far, multiplied out once the merging is done: one pass per
    factor over the final table instead of a new table per merge."""

    qubits: tuple[int, ...]
    factors: tuple[PlanGate, ...]
    diagonal = True

    @classmethod
    def of(cls, item: PlanGate | _Product) -> _Product:
        return item if isinstance(item, _Product) else cls(item.qubits, (item,))

    def times(self, item: PlanGate) -> _Product:
        return _Product(self.qubits + tuple(q for q in item.qubits if q not in self.qubits),
                        self.factors + (item,))

    def gate(self) -> PlanGate:
        table = _spread(self.factors[0], self.qubits)
        if not table.flags.writeable:  # a view of the factor's own table
            table = table.copy()
        view = table.reshape((table.shape[0],) + (2,) * len(self.qubits))
        for factor in self.factors[1:]:
            view *= _axes_of(factor, self.qubits)
        return PlanGate(self.qubits, table, True)


def _samples(item: PlanGate | _Product) -> int:
    return (item.factors[0] if isinstance(item, _Product) else item).values.shape[0]


def _axes_of(item: PlanGate, qubits: tuple[int, ...]) -> np.ndarray:
    """The diagonal of ``item`` as a ``(M, 2, ..., 2)`` tensor over ``qubits`` (a superset
    of its own) with length-1 axes for the qubits it does not touch: it broadcasts against
    a table over ``qubits``. Axis 1 + j of such tables holds index bit ``len(qubits)-1-j``."""
    width, own, samples = len(qubits), len(item.qubits), item.values.shape[0]
    position = {q: k for k, q in enumerate(qubits)}
    targets = [width - position[item.qubits[own - 1 - j]] for j in range(own)]
    order = np.argsort(targets)
    shape = [samples] + [1] * width
    for t in targets:
        shape[t] = 2
    tensor = item.values.reshape((samples,) + (2,) * own).transpose([0, *(1 + order)])
    return tensor.reshape(shape)


def _spread(item: PlanGate, qubits: tuple[int, ...]) -> np.ndarray:
    """The diagonal of ``item`` as a diagonal ``(M, 2**len(qubits))`` over ``qubits``."""
    axes = _axes_of(item, qubits)
    return np.broadcast_to(axes, (axes.shape[0],) + (2,) * len(qubits)).reshape(
        axes.shape[0], -1)


@dataclass(frozen=True)
class Cluster:
    qubits: np.ndarray  # global qubits; local bit k is qubits[k]
    tape: np.ndarray


@dataclass(frozen=True, eq=False)
class Plan:
    """A straight-line run of gates ready to execute: apply it to ``(T, 2**n)`` states."""

    clusters: tuple[Cluster, ...]
    shared: np.ndarray
    per_sample: np.ndarray  # (B, K), or (1, 1) when nothing is per sample

    def apply(self, states: np.ndarray, rows: np.ndarray | None = None,
              samples: np.ndarray | None = None) -> None:
        """Run on the ``rows`` of ``states`` (default: all), row ``rows[t]`` with the
        per-sample coefficients of batch sample ``samples[t]`` (default: its row number)."""
        rows = np.arange(states.shape[0]) if rows is None else rows
        samples = rows if samples is None else samples
        for cluster in self.clusters:
            tp.run_cluster(states, rows, samples, cluster.qubits, cluster.tape, self.shared,
                           self.per_sample)


def build_plan(steps: list[KernelStep], num_qubits: int, dtype,
               local_qubits: int | None = None) -> Plan:
    """Fuse and cluster bound kernel steps (see the module docstring); ``local_qubits``
    defaults to :data:`LOCAL_QUBITS`."""
    local_qubits = LOCAL_QUBITS if local_qubits is None else local_qubits
    items = merge_single_qubit_runs([PlanGate.of(s) for s in steps])
    local_qubits = min(num_qubits, local_qubits)
    idle_low = min(IDLE_LOW_BITS, num_qubits - local_qubits)
    encoder = TapeEncoder(dtype)
    clusters = []
    for members in plan_clusters([item.qubits for item in items], local_qubits - idle_low):
        chosen = [items[i] for i in members]
        touched = {q for item in chosen for q in item.qubits}
        # Fill up with idle qubits, the lowest first (contiguous gathers), and put
        # ``idle_low`` of them on the lowest local bits.
        idle = [q for q in range(num_qubits) if q not in touched]
        idle = idle[:local_qubits - len(touched)]
        qubits = idle[:idle_low] + sorted(touched | set(idle[idle_low:]))
        local = {q: k for k, q in enumerate(qubits)}
        merged = float_past_permutations(_merge_diagonal_runs(chosen, len(qubits)),
                                         lambda item: item.qubits,
                                         lambda item: item.permutation is not None)
        rows = merge_permutation_rows([encoder.row(item, local, tuple(qubits))
                                       for item in merged], len(qubits), encoder)
        clusters.append(Cluster(np.array(qubits, dtype=np.int64), np.array(
            rows, dtype=np.int64).reshape(-1, tp.HEADER + tp.MAX_WIDTH)))
    return Plan(tuple(clusters), *encoder.arrays())


class TapeEncoder:
    """Writes tape rows (:mod:`.tape`) and collects their coefficients into one shared and
    one per-sample array. Every row it returns names its coefficients by ``(source,
    offset)`` into the pair :meth:`arrays` returns once all rows are written, so the tapes
    that run over one pair of arrays must all come from one encoder."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.shared: list[np.ndarray] = []
        self.shared_size = 0
        self.per_sample: list[np.ndarray] = []
        self.per_sample_size = 0

    def row(self, item: PlanGate, local: dict[int, int], cluster: tuple[int, ...],
            spread_diagonals: bool = True) -> list[int]:
        """A tape row for ``item``; ``spread_diagonals`` turns a shared diagonal into one
        table over the whole cluster (worth it when diagonals were merged beforehand)."""
        width = len(item.qubits)
        kind = item.permutation
        values = item.values
        if kind is None and item.diagonal and values.shape[0] == 1 and spread_diagonals:
            kind, values, width = tp.FULL_DIAGONAL, _spread(item, cluster), 0
        elif kind is None:
            kind = tp.DIAGONAL if item.diagonal else {1: tp.DENSE1, 2: tp.DENSE2}.get(
                width, tp.DENSE)
        source, offset = (0, 0) if kind in (tp.CX, tp.SWAP) else self.store(values)
        qubits = [local[q] for q in item.qubits[:width]] + [0] * (tp.MAX_WIDTH - width)
        return [kind, width, source, offset, *qubits]

    def permutation_row(self, rows: list, bits: int) -> list[int]:
        """One PERMUTE row for a run of CX/SWAP ``rows`` over ``bits`` local bits."""
        values, block_bits = permutation.coefficients(tp.permutation_sources(rows, bits))
        _, offset = self.store(np.array(values, dtype=float)[None])
        return [tp.PERMUTE, bits, 0, offset, block_bits] + [0] * (tp.MAX_WIDTH - 1)

    def gradient_row(self, qubits: tuple[int, ...], generator: np.ndarray, slot: int) -> list[int]:
        """A GRADIENT row: ``generator`` ``(M, d, d)`` on ``qubits`` (identity layout),
        its term added to angle derivative ``slot``."""
        source, offset = self.store(generator)
        padding = [0] * (tp.MAX_WIDTH - len(qubits) - 1)
        return [tp.GRADIENT, len(qubits), source, offset, *qubits, *padding, slot]

    def store(self, values: np.ndarray) -> tuple[int, int]:
        """Keep ``values`` ``(M, ...)``; returns the (source, offset) a tape row names."""
        flat = values.reshape(values.shape[0], -1)
        if flat.shape[0] == 1:
            self.shared.append(flat[0])
            self.shared_size += flat.shape[1]
            return 0, self.shared_size - flat.shape[1]
        self.per_sample.append(flat)
        self.per_sample_size += flat.shape[1]
        return 1, self.per_sample_size - flat.shape[1]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The shared ``(K,)`` and per-sample ``(B, K')`` coefficients (``(1, 1)`` when
        nothing is per sample), contiguous, in the encoder's dtype."""
        shared = (np.concatenate(self.shared, dtype=self.dtype) if self.shared
                  else np.zeros(1, dtype=self.dtype))
        per_sample = (np.concatenate(self.per_sample, axis=1, dtype=self.dtype)
                      if self.per_sample else np.zeros((1, 1), dtype=self.dtype))
        return shared, per_sample


def fuse_steps(steps: tuple, num_qubits: int, dtype, batch: int = 1) -> tuple:
    """Replace each maximal run of bound kernel steps by one :class:`Plan` (inside
    conditional branches too); measurement, reset and conditionals stay where they are.

    A batch that occupies every thread runs each state whole (one cluster over all qubits,
    one sample per work item) up to :data:`WHOLE_STATE_QUBITS`; only a single or a few large
    states are split into clusters."""
    whole = batch >= get_num_threads() and num_qubits <= WHOLE_STATE_QUBITS
    local_qubits = num_qubits if whole else LOCAL_QUBITS
    out: list = []
    run: list[KernelStep] = []
    for step in (*steps, None):
        if isinstance(step, KernelStep):
            run.append(step)
            continue
        if run:
            out.append(build_plan(run, num_qubits, dtype, local_qubits))
            run = []
        if isinstance(step, Conditional):
            out.append(Conditional(step.condition,
                                   fuse_steps(step.then_steps, num_qubits, dtype, batch),
                                   fuse_steps(step.else_steps, num_qubits, dtype, batch)))
        elif step is not None:
            out.append(step)
    return tuple(out)
