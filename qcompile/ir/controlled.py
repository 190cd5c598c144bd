"""Controlled versions of operations: an operation applied only when control wires are in
given states, exactly, global phase included.

Constant operations become a named gate with more controls where the library has one
(``ccx``), else a controlled ``Unitary``. Symbolic gates are rewritten: a controlled form of
the library (``crz`` is ``rz`` with one more control) adds its control to the others;
rx/ry/rz/p become controlled rotations — one control gives crx/cry/crz/cp, k >= 2 controls use
the ancilla-free ``R(t/2) · C^k F · R(-t/2) · C^k F`` with F a Pauli that anticommutes with the
rotation (X for ry/rz, Z for rx), and ``C^k P(t) = C^k RZ(t) · C^(k-1) P(t/2)``; any other
gate is replaced by its library definition, where a conjugation ``A · core · A⁻¹`` around the
core stays uncontrolled (controlling the core alone is exact). Deferred measurement and the
``ctrl @`` modifier both use them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .diagnostics import QCompileError
from .expr import Const, Expr, fold, format_expr
from .gates import controlled, controlled_base, with_controls
from .ops import Gate, Operation, Unitary, constant_matrix

#: A control: (wire, the state 0 or 1 it must be in).
Control = tuple[int, int]

#: Widest controlled operation written as a dense matrix (2**10 rows: 16 MiB); wider ones
#: would exhaust memory and are refused.
MAX_DENSE_QUBITS = 10

#: Rotations about one axis, with the Pauli that anticommutes with each.
_ROTATION_FLIP = {"rx": "z", "ry": "x", "rz": "x"}


def controlled_constant(op: Gate | Unitary, controls: Sequence[Control]) -> Gate | Unitary:
    """``op`` (constant) applied only when every control wire is in its state."""
    if not controls:
        return op
    wires = tuple(w for w, _ in controls) + op.qubits
    if isinstance(op, Gate) and all(state == 1 for _, state in controls):
        named = with_controls(op.name, len(controls))
        if named:
            return Gate(named, wires, op.params)
    if len(wires) > MAX_DENSE_QUBITS:
        name = op.name if isinstance(op, Gate) else op.label
        raise QCompileError(f"{name} under {len(controls)} controls acts on {len(wires)} "
                            f"qubits: its matrix would have 2**{len(wires)} rows, more than "
                            f"the 2**{MAX_DENSE_QUBITS} that are written out")
    matrix = controlled(constant_matrix(op), len(controls))
    flipped = sum(1 << k for k, (_, state) in enumerate(controls) if state == 0)
    if flipped:  # X-conjugate the 0-state controls: permute the basis
        order = np.arange(len(matrix)) ^ flipped
        matrix = matrix[np.ix_(order, order)]
    name = op.name if isinstance(op, Gate) else op.label
    return Unitary(matrix, wires, f"c{len(controls)}-{name}")


def controlled_rotation(axis: str, angle: Expr, controls: Sequence[int],
                        target: int) -> list[Operation]:
    """Rotation ``axis`` (rx, ry, rz or p) on ``target`` when all ``controls`` are 1, exactly."""
    if not controls:
        return [Gate(axis, (target,), (angle,))]
    if len(controls) == 1:
        return [Gate(with_controls(axis, 1), (controls[0], target), (angle,))]
    half = fold(angle * Const(0.5))
    if axis == "p":
        return (controlled_rotation("rz", angle, controls, target)
                + controlled_rotation("p", half, controls[:-1], controls[-1]))
    flip = controlled_constant(Gate(_ROTATION_FLIP[axis], (target,)),
                               [(c, 1) for c in controls])
    return [flip, Gate(axis, (target,), (fold(-half),)), flip, Gate(axis, (target,), (half,))]


def _conjugation(definition: list[Gate]) -> int:
    """How many gates at each end of a definition form ``A ... A⁻¹``: constant gates whose
    mirror images at the other end are their inverses."""
    k = 0
    while (2 * k + 2 <= len(definition) and constant_matrix(definition[k]) is not None
           and definition[-1 - k].canonical() == definition[k].inverse().canonical()):
        k += 1
    return k


def _symbolic_controlled(gate: Gate, controls: tuple[int, ...]) -> list[Operation] | None:
    """A symbolic canonical ``gate`` applied when every control wire is 1; None when the
    library has no exact rewrite for it."""
    base = controlled_base(gate.name)
    if base is not None:
        return _symbolic_controlled(Gate(base, gate.qubits[1:], gate.params).canonical(),
                                    controls + gate.qubits[:1])
    if gate.name in (*_ROTATION_FLIP, "p"):
        return controlled_rotation(gate.name, gate.params[0], controls, gate.qubits[0])
    definition = [g.canonical() for g in gate.definition()]
    if not definition:
        return None
    k = _conjugation(definition)
    ops: list[Operation] = definition[:k]
    for inner in definition[k:len(definition) - k]:
        if constant_matrix(inner) is not None:
            ops.append(controlled_constant(inner, [(c, 1) for c in controls]))
        elif (rewritten := _symbolic_controlled(inner, controls)) is not None:
            ops += rewritten
        else:
            return None
    return ops + definition[len(definition) - k:]


def controlled_ops(op: Gate | Unitary, controls: Sequence[Control],
                   where: str = "") -> list[Operation]:
    """Operations applying ``op`` exactly (global phase included) only when every control
    wire is in its state; raises QCompileError for a symbolic gate with no known
    decomposition (``where`` says, in the message, where the gate stands)."""
    if not controls:
        return [op]
    if isinstance(op, Gate):
        op = op.canonical()
    if constant_matrix(op) is not None:
        return [controlled_constant(op, controls)]
    rewritten = _symbolic_controlled(op, tuple(w for w, _ in controls))
    if rewritten is None:
        params = ", ".join(format_expr(p) for p in op.params)
        raise QCompileError(f"gate {op.name}({params}){where} has symbolic "
                            f"parameters and no known exact decomposition into controlled "
                            f"rotations, so it cannot be put under quantum control; bind its "
                            f"parameters to constants first, or write it with rx/ry/rz/p "
                            f"rotations")
    flips = [Gate("x", (w,)) for w, state in controls if state == 0]
    return [*flips, *rewritten, *flips]
