"""Lift-measurements: measure a qubit as soon as it only controls, and control classically.

The reverse of deferring measurements. A gate that keeps qubit c in its computational basis
state (c is one of its controls, or the gate is diagonal on c) is block diagonal in c:
``G = |0><0| (x) G0 + |1><1| (x) G1``. It therefore commutes with measuring c, and once c has
been measured into bit m it acts as ``if (m) G1 else G0`` on its other qubits. So when such
gates are all that happens to c before ``measure c -> m``, the measurement moves in front of
them and each becomes a classically controlled gate; c is free from there on, which is what
lets ``reuse-qubits`` hand its wire to another qubit (QKSAN's score register). A gate
diagonal on c alone only adds a phase to each outcome and is dropped.

The measurement cannot move before an operation that reads or writes m, and the run of
gates stops at anything else on c (a non-diagonal gate, a reset, an if/else, a barrier).
Branches G0, G1 are named gates (the gate with one control fewer: ``ccx`` → ``cx``, any
qubit of ``cz``/``cp``-like gates) or, for constant gates, explicit unitaries; a symbolic
gate of neither kind ends the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..ir import GATES, Condition, Gate, IfElse, Measure, Operation, Unitary
from ..ir.commutation import gate_paulis
from ..ir.gates import controlled_base
from ..ir.ops import clbits_of, constant_matrix, qubits_of
from .base import BlockPass, register_pass

_ATOL = 1e-12


@cache
def _controls(name: str) -> int:
    """How many leading qubits of gate ``name`` are controls (``ccx``: 2); every qubit of a
    controlled phase (``cz``, ``cp``, ``ccz``), which is symmetric in them all."""
    count, base = 0, name
    while (smaller := controlled_base(base)) is not None:
        count, base = count + 1, smaller
    spec = GATES[base]
    if count and spec.diagonal and spec.num_qubits == 1:
        values = np.random.default_rng(3).uniform(-np.pi, np.pi, spec.num_params)
        if abs(spec.matrix(*values)[0, 0] - 1) < _ATOL:  # diag(1, e^{i t}): symmetric
            return count + 1
    return count


def _unitary_ops(matrix: np.ndarray, qubits: tuple[int, ...]) -> list[Operation]:
    """``matrix`` on ``qubits`` as an operation, or nothing when it is a global phase."""
    if np.allclose(matrix, matrix[0, 0] * np.eye(len(matrix)), atol=_ATOL):
        return []
    return [Unitary(matrix, qubits)]


def branches(op: Operation, c: int) -> tuple[list[Operation], list[Operation]] | None:
    """What ``op`` does to its other qubits when qubit ``c`` is 1 and when it is 0, if it
    keeps ``c`` in its basis state and both have an exact form; else None."""
    if not isinstance(op, (Gate, Unitary)):
        return None
    k = op.qubits.index(c)
    rest = op.qubits[:k] + op.qubits[k + 1:]
    if isinstance(op, Gate):
        if "Z" not in gate_paulis(op.name)[k]:
            return None
        if not rest:
            return [], []
        if k < _controls(op.name):
            return [Gate(controlled_base(op.name), rest, op.params)], []
    matrix = constant_matrix(op)
    if matrix is None:
        return None
    bit = 1 << k
    index = np.arange(len(matrix))
    low, high = index[index & bit == 0], index[index & bit != 0]
    if np.abs(matrix[np.ix_(low, high)]).max() > _ATOL or \
            np.abs(matrix[np.ix_(high, low)]).max() > _ATOL:
        return None
    return (_unitary_ops(matrix[np.ix_(high, high)], rest),
            _unitary_ops(matrix[np.ix_(low, low)], rest))


def _classically_controlled(then_ops, else_ops, bit: int) -> list[Operation]:
    if not then_ops and not else_ops:
        return []
    if not then_ops:
        return [IfElse(Condition((bit,), 0), else_ops)]
    return [IfElse(Condition((bit,), 1), then_ops, else_ops)]


@register_pass("lift-measurements")
@dataclass(frozen=True)
class LiftMeasurements(BlockPass):
    """Measure qubits before the gates they only control, which become classically
    controlled gates (the reverse of defer-measurements; record distributions unchanged)."""

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        # slots[i]: measurements moved in front of original operation i, then what op i
        # has become (itself, its classically controlled form, or nothing)
        slots: list[list[Operation]] = []
        current: list[list[Operation]] = []
        on_qubit: dict[int, list[int]] = {}  # qubit -> slots of the operations on it
        last_on_bit: dict[int, int] = {}  # clbit -> slot of the last operation using it
        for op in ops:
            slot = len(slots)
            slots.append([])
            current.append([op])
            if isinstance(op, Measure):
                lifted = self._lift(op, slot, slots, current, on_qubit, last_on_bit)
                if lifted:
                    continue
            for q in qubits_of(op):
                on_qubit.setdefault(q, []).append(slot)
            for b in clbits_of(op):
                last_on_bit[b] = slot
        out: list[Operation] = []
        for moved, now in zip(slots, current):
            out += moved + now
        return out

    @staticmethod
    def _lift(measure: Measure, slot: int, slots, current, on_qubit, last_on_bit) -> bool:
        """Move ``measure`` (at ``slot``) in front of the gates on its qubit that it can
        control; False when there are none."""
        c, bit = measure.qubit, measure.clbit
        earliest = last_on_bit.get(bit, -1)
        run: list[tuple[int, tuple]] = []
        for index in reversed(on_qubit.get(c, [])):
            if index <= earliest or len(current[index]) != 1:  # already rewritten
                break
            split = branches(current[index][0], c)
            if split is None:
                break
            run.append((index, split))
        if not run:
            return False
        first = run[-1][0]
        slots[first].append(measure)
        current[slot] = []
        last_on_bit[bit] = first
        for index, (then_ops, else_ops) in run:
            current[index] = _classically_controlled(then_ops, else_ops, bit)
            if current[index]:
                last_on_bit[bit] = max(last_on_bit[bit], index)
        on_qubit[c] = []  # nothing before the measurement is reachable any more
        return True
