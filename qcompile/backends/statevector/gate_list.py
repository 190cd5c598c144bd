"""The lean path for small circuits: a gate list lowered once into flat arrays, run by one call.

For a few qubits the planner of :mod:`.plan` (fusion, clusters, permutation tapes) costs far
more than the arithmetic it saves: an 8-qubit circuit of a hundred gates is a few thousand
amplitude updates, and planning it took milliseconds. Here the gates become six flat arrays
(arity, diagonal flag, qubits, matrix entries and their offsets) with every matrix of one gate
name built by a single vectorized call of its library entry, so the per-circuit cost is a
pass over the operations plus one kernel call.

Two tiers run a gate list, with the same exact arithmetic: numpy for the first small circuits
of a process, so that a one-off command never pays the ~0.5 s numba needs to import and load
its compiled code, and the numba kernels of :mod:`.gate_list_kernels` once the process has
run :data:`NUMPY_TIER_GATES` gates (or at once for larger states).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from ...ir import Barrier, Gate, Unitary
from ...ir.expr import evaluate
from ...ir.gates import GATES
from .gate_list_checks import distinct_qubits_in_range

#: Widest state the lean path runs; wider ones gain from fusion and parallel kernels (on
#: brick circuits of ry, rz and CNOT layers the lean path takes half the planned path's time
#: at 12 qubits, about the same at 13 and more from 14).
MAX_QUBITS = 12
#: Gate applications the numpy tier runs in a process before the numba kernels are loaded:
#: as long as loading them takes once (0.4 s from the cache, at ~12 µs a gate on 8 qubits),
#: so a process never spends more than twice what the better choice in hindsight would.
NUMPY_TIER_GATES = 30_000
#: Widest state the numpy tier runs (its per-gate cost grows with the state).
NUMPY_TIER_QUBITS = 10


@dataclass(frozen=True, eq=False)
class GateList:
    """Gate ``g`` acts on ``qubits[qubit_start[g]:qubit_start[g] + arity[g]]`` with the
    entries from ``matrix_start[g]``: its diagonal (``2**arity``) or its row-major matrix
    (gates with one matrix may share the entries)."""

    num_qubits: int
    arity: np.ndarray
    diagonal: np.ndarray
    qubit_start: np.ndarray
    qubits: np.ndarray
    matrix_start: np.ndarray
    entries: np.ndarray

    @property
    def size(self) -> int:
        return self.arity.size

    def operands(self) -> tuple[np.ndarray, ...]:
        return (self.arity, self.diagonal, self.qubit_start, self.qubits, self.matrix_start,
                self.entries)


def flatten(ops: Sequence, num_qubits: int, env: Mapping[str, np.ndarray] | None = None
            ) -> GateList | None:
    """The gates, unitaries and barriers ``ops`` as a gate list, with symbolic angles
    evaluated in ``env`` (values of one sample); None for anything else, or anything the
    verifier or the binding would object to (the full path then reports it).

    Written for speed: every step is a comprehension or an array operation over all gates,
    or over the gates of one name (a circuit has few distinct names)."""
    ops = _without_barriers(ops, num_qubits)
    return None if ops is None else _flatten(ops, num_qubits, env)


def flatten_many(op_lists: Sequence[Sequence], num_qubits: int
                 ) -> tuple[GateList, np.ndarray] | None:
    """:func:`flatten` of many constant circuits of one width at once (the array work is
    done once for all of them), and where each one's gates start; None if one of them
    cannot be flattened."""
    lists = [_without_barriers(ops, num_qubits) for ops in op_lists]
    if any(ops is None for ops in lists):
        return None
    gates = _flatten(list(chain.from_iterable(lists)), num_qubits, None)
    if gates is None:
        return None
    gate_start = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(ops) for ops in lists], out=gate_start[1:])
    return gates, gate_start


def _without_barriers(ops: Sequence, num_qubits: int) -> Sequence | None:
    """The operations without barriers, or None if a barrier names bad qubits."""
    if Barrier not in set(map(type, ops)):
        return ops
    if _qubits_array([op.qubits for op in ops if type(op) is Barrier], num_qubits) is None:
        return None
    return [op for op in ops if type(op) is not Barrier]


def _flatten(ops: Sequence, num_qubits: int, env) -> GateList | None:
    kinds = set(map(type, ops))
    if not kinds <= {Gate, Unitary}:
        return None
    qubit_lists = [op.qubits for op in ops]
    checked = _qubits_array(qubit_lists, num_qubits)
    if checked is None:
        return None
    arity, qubit_start, qubits = checked
    # Gates group by name, unitaries by their number of qubits.
    names = [op.name for op in ops] if Unitary not in kinds else [
        op.name if type(op) is Gate else len(op.qubits) for op in ops]
    groups = _positions_by_key(names)
    # Entries lie group by group; the gates of a fixed matrix share one copy.
    diagonal = np.zeros(len(ops), dtype=np.bool_)
    matrix_start = np.empty(arity.size, dtype=np.int64)
    parts, offset = [], 0
    for name, positions in groups.items():
        block = _matrices(list(map(ops.__getitem__, positions.tolist())), name, env)
        if block is None or (arity[positions] != block.shape[-1].bit_length() - 1).any():
            return None
        if type(name) is str and GATES[name].diagonal:
            diagonal[positions] = True
            block = block.diagonal(axis1=1, axis2=2)
        block = block.reshape(len(block), -1)
        matrix_start[positions] = np.arange(offset, offset + block.size, block.shape[1])
        parts.append(block.ravel())
        offset += block.size
    entries = np.concatenate(parts) if parts else np.zeros(0, dtype=np.complex128)
    return GateList(num_qubits, arity, diagonal, qubit_start, qubits, matrix_start, entries)


def _positions_by_key(keys: list) -> dict:
    """Positions of each distinct key, in order (one sort, not a loop over the keys)."""
    code = {key: c for c, key in enumerate(dict.fromkeys(keys))}
    if len(code) == 1:
        return {keys[0]: np.arange(len(keys))}
    codes = np.fromiter(map(code.__getitem__, keys), dtype=np.int64, count=len(keys))
    order = codes.argsort(kind="stable")
    ends = np.bincount(codes).cumsum().tolist()
    return {key: order[start:end] for key, start, end in zip(code, [0] + ends, ends)}


def _qubits_array(qubit_lists, num_qubits: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Arity, start and qubits of every list as arrays; None unless every list names
    distinct qubits of the circuit."""
    arity = np.fromiter(map(len, qubit_lists), dtype=np.int64, count=len(qubit_lists))
    start = np.zeros(arity.size + 1, dtype=np.int64)
    np.cumsum(arity, out=start[1:])
    qubits = np.fromiter(chain.from_iterable(qubit_lists), dtype=np.int64, count=int(start[-1]))
    kernels = _loaded_kernels()
    check = distinct_qubits_in_range if kernels is None else kernels.distinct_qubits_in_range
    return (arity, start, qubits) if check(arity, start, qubits, num_qubits) else None


def _matrices(ops, name: str | int, env) -> np.ndarray | None:
    """The matrices ``(K, d, d)`` of the gates of one name (each gate's library entry called
    once for all of them; ``(1, d, d)`` for a gate without angles) or of the unitaries on
    ``name`` qubits; None if one of them is malformed."""
    if type(name) is int:
        d = 2 ** name
        if any(op.matrix.shape != (d, d) for op in ops):
            return None
        block = np.stack([op.matrix for op in ops])
        if not np.allclose(block.conj().transpose(0, 2, 1) @ block, np.eye(d), atol=1e-8):
            return None
        return block
    spec = GATES.get(name)
    params = [op.params for op in ops]
    if spec is None or set(map(len, params)) != {spec.num_params}:
        return None
    d = 2 ** spec.num_qubits
    if not spec.num_params:
        return np.asarray(spec.matrix(), dtype=complex)[None]
    try:
        angles = [p.value for row in params for p in row]  # constants: the common case
    except AttributeError:
        rows = [op.constant_params or _evaluated(op.params, env) for op in ops]
        if any(row is None for row in rows):
            return None
        angles = list(chain.from_iterable(rows))
    angles = np.array(angles, dtype=float).reshape(len(ops), spec.num_params)
    if not np.isfinite(angles).all():
        return None
    block = spec.matrix(*angles.T)
    return block if block.shape == (len(ops), d, d) else np.broadcast_to(block, (len(ops), d, d))


def _evaluated(params, env) -> tuple[float, ...] | None:
    """Angles of one sample as finite floats, or None (an unbound or non-finite angle)."""
    if env is None:
        return None
    try:
        with np.errstate(all="ignore"):
            angles = tuple(float(np.asarray(evaluate(p, env), dtype=float).reshape(-1)[0])
                           for p in params)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return angles if all(np.isfinite(angles)) else None


def concatenate(lists: Sequence[GateList]) -> tuple[GateList, np.ndarray]:
    """One gate list of all ``lists`` (of equal width) and where each one's gates start."""
    gate_start = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([g.size for g in lists], out=gate_start[1:])
    qubit_base = np.cumsum([0] + [g.qubits.size for g in lists])
    matrix_base = np.cumsum([0] + [g.entries.size for g in lists])[:-1]
    joined = GateList(
        lists[0].num_qubits if lists else 0,
        np.concatenate([g.arity for g in lists] or [np.zeros(0, np.int64)]),
        np.concatenate([g.diagonal for g in lists] or [np.zeros(0, np.bool_)]),
        np.concatenate([g.qubit_start[:-1] + b for g, b in zip(lists, qubit_base)]
                       + [qubit_base[-1:]]),
        np.concatenate([g.qubits for g in lists] or [np.zeros(0, np.int64)]),
        np.concatenate([g.matrix_start + b for g, b in zip(lists, matrix_base)]
                       or [np.zeros(0, np.int64)]),
        np.concatenate([g.entries for g in lists] or [np.zeros(0, np.complex128)]))
    return joined, gate_start


_numpy_gates = 0


def _loaded_kernels():
    """:mod:`.gate_list_kernels` once some call has loaded it, else None."""
    return sys.modules.get(f"{__package__}.gate_list_kernels")


def _use_numpy(gates: int, num_qubits: int) -> bool:
    """Whether the numpy tier runs these gates (and counts them against its budget)."""
    global _numpy_gates
    if (num_qubits > NUMPY_TIER_QUBITS or _numpy_gates + gates > NUMPY_TIER_GATES
            or _loaded_kernels() is not None):
        return False
    _numpy_gates += gates
    return True


def run(gates: GateList) -> np.ndarray:
    """The state ``gates`` prepare from |0...0>, complex128 ``(2**n,)``."""
    state = np.zeros(2 ** gates.num_qubits, dtype=np.complex128)
    state[0] = 1
    if _use_numpy(gates.size, gates.num_qubits):
        _run_numpy(state, gates)
    else:
        from . import gate_list_kernels
        gate_list_kernels.run_one(state, *gates.operands())
    return state


def run_many(joined: GateList, gate_start: np.ndarray) -> np.ndarray:
    """The states of many circuits, ``(C, 2**n)``: circuit c is gates
    ``gate_start[c]..gate_start[c+1]-1`` of ``joined``."""
    states = np.zeros((gate_start.size - 1, 2 ** joined.num_qubits), dtype=np.complex128)
    states[:, 0] = 1
    if _use_numpy(joined.size, joined.num_qubits):
        for state, first, last in zip(states, gate_start[:-1], gate_start[1:]):
            _run_numpy(state, joined, range(first, last))
    else:
        from . import gate_list_kernels
        gate_list_kernels.run_many(states, gate_start, *joined.operands())
    return states


def _run_numpy(state: np.ndarray, gates: GateList, indices=None) -> None:
    """The numpy tier: each gate as a tensor contraction on the state's qubit axes (qubit q
    is axis n-1-q of the ``(2,) * n`` view)."""
    n = gates.num_qubits
    psi = state.reshape((2,) * n)
    for g in range(gates.size) if indices is None else indices:
        k = int(gates.arity[g])
        qubits = gates.qubits[gates.qubit_start[g]:gates.qubit_start[g] + k]
        axes = [n - 1 - int(q) for q in qubits[::-1]]  # matrix axis j is qubits[k-1-j]
        start = gates.matrix_start[g]
        if gates.diagonal[g]:
            factor = gates.entries[start:start + (1 << k)].reshape((2,) * k)
            shape = [1] * n
            for axis in axes:
                shape[axis] = 2
            order = np.argsort(axes)
            psi *= factor.transpose(order).reshape(shape)
        else:
            matrix = gates.entries[start:start + (1 << 2 * k)].reshape((2,) * (2 * k))
            moved = np.tensordot(matrix, psi, axes=(list(range(k, 2 * k)), axes))
            psi[...] = np.moveaxis(moved, list(range(k)), axes)
