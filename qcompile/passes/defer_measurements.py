"""Defer-measurements: a dynamic circuit as one unitary followed by final measurements.

The deferred-measurement principle: measuring a qubit and acting on the outcome classically
yields the same classical records as copying the qubit onto a fresh ancilla with a CNOT,
quantum-controlling the later operations on that ancilla, and measuring it at the end. The
ancilla is only ever a control, which commutes with its measurement. Simulators and hardware
without dynamic circuits need this form.

The *source* of a classical bit is the wire whose final measurement yields the bit; bits
never written stay 0. Each dynamic operation is rewritten as follows:

- ``measure q -> c``: a CNOT copies q's wire onto a fresh ancilla, the new source of c. When
  the wire is never touched again before q is reset, the wire itself becomes the source and
  no gate is needed.
- ``reset q``: q continues on a fresh |0> wire (qubit renaming). The old wire keeps its
  state but is never touched again, which is a reset for everything observable. Resetting a
  wire still in |0>, or a qubit not used afterwards, is dropped.
- ``if (cond) {A} else {B}``: bits never written may decide the condition statically. A
  one-bit condition becomes a control on the bit's source (on |0> for a 0 bit); a condition
  over several bits is computed into a flag qubit by a multi-controlled X, A is controlled on
  flag=1 and B on flag=0, and the flag is uncomputed, so one flag per nesting depth serves
  every if/else.
- inside a branch, under controls C: constant gates become C-controlled ``Unitary`` ops (or
  named gates such as ``ccx``); ``measure q -> c`` writes a fresh ancilla with
  ``old(c) XOR C·old(c) XOR C·q``; ``reset q`` becomes a C-controlled swap of q with a fresh
  |0> ancilla, which carries the old state away.

Symbolic gates under controls are rewritten exactly, global phase included: a controlled
form of the library (``crz`` is ``rz`` with one more control) adds its control to the others;
rx/ry/rz/p become controlled rotations — one control gives crx/cry/crz/cp, k >= 2 controls use
the ancilla-free ``R(t/2) · C^k F · R(-t/2) · C^k F`` with F a Pauli that anticommutes with the
rotation (X for ry/rz, Z for rx), and ``C^k P(t) = C^k RZ(t) · C^(k-1) P(t/2)``; any other
gate is replaced by its library definition, where a conjugation ``A · core · A⁻¹`` around the
core stays uncontrolled (controlling the core alone is exact).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..ir import (Barrier, Circuit, Const, Gate, IfElse, Measure, Operation, Program,
                  QCompileError, Register, Reset, SetBits, Unitary)
from ..ir.expr import Expr, fold, format_expr
from ..ir.gates import controlled, controlled_base, with_controls
from ..ir.ops import constant_matrix, qubits_of
from ..ir.rewrite import remap
from .base import Pass, PropertySet, option, register_pass
from .wires import relabel_qubit_outputs

#: A control: (wire, the state 0 or 1 it must be in).
Control = tuple[int, int]

#: Rotations about one axis, with the Pauli that anticommutes with each (see above).
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


def controlled_ops(op: Gate | Unitary, controls: Sequence[Control]) -> list[Operation]:
    """Operations applying ``op`` exactly (global phase included) only when every control
    wire is in its state; raises QCompileError for a symbolic gate with no known
    decomposition."""
    if not controls:
        return [op]
    if isinstance(op, Gate):
        op = op.canonical()
    if constant_matrix(op) is not None:
        return [controlled_constant(op, controls)]
    rewritten = _symbolic_controlled(op, tuple(w for w, _ in controls))
    if rewritten is None:
        params = ", ".join(format_expr(p) for p in op.params)
        raise QCompileError(f"gate {op.name}({params}) in an if/else branch has symbolic "
                            f"parameters and no known exact decomposition into controlled "
                            f"rotations, so it cannot be put under quantum control; bind its "
                            f"parameters to constants first, or write it with rx/ry/rz/p "
                            f"rotations")
    flips = [Gate("x", (w,)) for w, state in controls if state == 0]
    return [*flips, *rewritten, *flips]


class _Deferral:
    """Rewriting one circuit: where each qubit and each classical bit lives at this point."""

    def __init__(self, circuit: Circuit):
        self.circuit = circuit
        self.num_wires = circuit.num_qubits
        self.wire = list(range(circuit.num_qubits))  # qubit -> the wire it lives on now
        self.source: dict[int, int] = {}  # clbit -> wire holding its value
        self.touched: set[int] = set()  # wires that may have left |0>
        self.flags: list[int] = []  # one condition flag per nesting depth
        self.ops: list[Operation] = []

    def run(self) -> Circuit:
        ops = self.circuit.ops
        for op, used_after in zip(ops, _qubits_used_later(ops)):
            self.place(op, (), 0, used_after)
        self.ops += [Measure(wire, bit) for bit, wire in sorted(self.source.items())]
        extra = self.num_wires - self.circuit.num_qubits
        qregs = self.circuit.qregs + ((Register(self._ancilla_name(), extra),) if extra else ())
        return dataclasses.replace(self.circuit, qregs=qregs, ops=tuple(self.ops))

    def _ancilla_name(self) -> str:
        taken = {r.name for r in self.circuit.qregs}
        return next(name for k in range(len(taken) + 1)
                    if (name := "anc" + (str(k) if k else "")) not in taken)

    def fresh(self) -> int:
        self.num_wires += 1
        return self.num_wires - 1

    def emit(self, *ops: Operation) -> None:
        for op in ops:
            self.ops.append(op)
            if not isinstance(op, Barrier):
                self.touched.update(qubits_of(op))

    def place(self, op: Operation, controls: tuple[Control, ...], depth: int,
              used_after: frozenset[int] | None = None) -> None:
        """Emit ``op`` under ``controls``; ``used_after`` (top level only) holds the qubits
        touched later before their next reset, None meaning "assume all"."""
        def later(q):
            return used_after is None or q in used_after

        if isinstance(op, Measure):
            self.measure(self.wire[op.qubit], op.clbit, controls, later(op.qubit))
        elif isinstance(op, Reset):
            self.reset(op.qubit, controls, later(op.qubit))
        elif isinstance(op, IfElse):
            self.if_else(op, controls, depth)
        elif isinstance(op, SetBits):
            self.set_bits(op, controls)
        elif isinstance(op, Barrier):
            self.emit(remap(op, self.wire))
        else:
            self.gate(remap(op, self.wire), controls)

    def measure(self, wire: int, clbit: int, controls, used_later: bool) -> None:
        if not controls and not used_later:
            self.touched.add(wire)
            self.source[clbit] = wire
            return
        self.overwrite(clbit, controls, (wire, 1))

    def set_bits(self, op: SetBits, controls) -> None:
        for k, clbit in enumerate(op.clbits):
            if op.value >> k & 1 or controls:
                self.overwrite(clbit, controls, bool(op.value >> k & 1))
            else:
                self.source.pop(clbit, None)  # a bit on no wire is 0

    def overwrite(self, clbit: int, controls, value: Control | bool) -> None:
        """Move ``clbit`` to a fresh wire holding its old value where ``controls`` fail and,
        where they hold, the state of the wire ``value`` names or the constant ``value``."""
        ancilla, old = self.fresh(), self.source.get(clbit)
        if controls and old is not None:  # the old value may itself be a control
            self.emit(Gate("cx", (old, ancilla)))
            old_and_controls = _conjoin(controls, (old, 1))
            if old_and_controls is not None:
                self.emit(controlled_constant(Gate("x", (ancilla,)), old_and_controls))
        if value is True:
            self.emit(controlled_constant(Gate("x", (ancilla,)), controls))
        elif value is not False:
            self.emit(controlled_constant(Gate("x", (ancilla,)), (*controls, value)))
        self.source[clbit] = ancilla

    def reset(self, qubit: int, controls, used_later: bool) -> None:
        wire = self.wire[qubit]
        if controls:
            self.emit(controlled_constant(Gate("swap", (wire, self.fresh())), controls))
        elif used_later and wire in self.touched:
            self.wire[qubit] = self.fresh()

    def if_else(self, op: IfElse, controls: tuple[Control, ...], depth: int) -> None:
        live: tuple[Control, ...] | None = ()  # None: the condition is statically false
        for k, bit in enumerate(op.condition.clbits):
            want = (op.condition.value >> k) & 1
            if bit in self.source:
                live = _conjoin(live, (self.source[bit], want))
            elif want:  # the bit is still 0
                live = None
            if live is None:
                return self.place_all(op.else_body, controls, depth)
        if not live:
            return self.place_all(op.then_body, controls, depth)
        compute_flag = None
        if len(live) == 1:
            (wire, want), = live
            then_control, else_control = (wire, want), (wire, 1 - want)
        else:
            while len(self.flags) <= depth:
                self.flags.append(self.fresh())
            compute_flag = controlled_constant(Gate("x", (self.flags[depth],)), live)
            self.emit(compute_flag)
            then_control, else_control = (self.flags[depth], 1), (self.flags[depth], 0)
        for body, control in ((op.then_body, then_control), (op.else_body, else_control)):
            branch_controls = _conjoin(controls, control)  # None: an enclosing branch excludes it
            if branch_controls is not None:
                self.place_all(body, branch_controls, depth + 1)
        if compute_flag is not None:
            self.emit(compute_flag)

    def place_all(self, ops, controls, depth) -> None:
        for op in ops:
            self.place(op, controls, depth)

    def gate(self, op: Gate | Unitary, controls: tuple[Control, ...]) -> None:
        try:
            self.emit(*controlled_ops(op, controls))
        except QCompileError as err:
            raise QCompileError(f"defer-measurements, circuit {self.circuit.name!r}: "
                                f"{err.message}") from None


def _conjoin(controls: tuple[Control, ...], extra: Control) -> tuple[Control, ...] | None:
    """Controls requiring both; None when they contradict (the same wire in both states)."""
    state = dict(controls).get(extra[0])
    if state is None:
        return (*controls, extra)
    return controls if state == extra[1] else None


def _qubits_used_later(ops: Sequence[Operation]) -> list[frozenset[int]]:
    """For each top-level op: the qubits touched after it, each up to its next top-level
    reset (which moves it to a fresh wire). Barriers do not count: they change no state."""
    live: set[int] = set()
    out = []
    for op in reversed(ops):
        out.append(frozenset(live))
        if isinstance(op, Reset):
            live.discard(op.qubit)
        elif not isinstance(op, Barrier):
            live.update(qubits_of(op))
    return out[::-1]


def defer_circuit(circuit: Circuit) -> tuple[Circuit, list[int]]:
    """The deferred circuit and, per original qubit, the wire holding its final state."""
    deferral = _Deferral(circuit)
    return deferral.run(), deferral.wire


@register_pass("defer-measurements")
@dataclass(frozen=True)
class DeferMeasurements(Pass):
    """Replace mid-circuit measurement, reset and if/else by ancillas and quantum control.

    The result is a unitary circuit followed by final measurements that write the same
    classical bits with the same record distribution. Ancillas go into a new register
    (``anc``). ExpVal and Probs outputs are pointed at the wires holding each qubit's final
    state (a reset moves a qubit to a fresh wire); State and clbit-less Counts outputs then
    cover the ancillas too. Option ``max_qubits``: fail when a circuit would need more.
    """

    max_qubits: int | None = option(None, low=1)

    def run(self, program: Program, properties: PropertySet) -> Program:
        circuits, final_wire = [], {}
        for circuit in program.circuits:
            deferred, final_wire[circuit.name] = defer_circuit(circuit)
            if self.max_qubits is not None and deferred.num_qubits > self.max_qubits:
                raise QCompileError(
                    f"defer-measurements: circuit {circuit.name!r} needs "
                    f"{deferred.num_qubits} qubits without mid-circuit measurement "
                    f"({circuit.num_qubits} of its own plus "
                    f"{deferred.num_qubits - circuit.num_qubits} ancillas for measured bits, "
                    f"resets and conditions), more than max_qubits={self.max_qubits}")
            circuits.append(deferred)
        return relabel_qubit_outputs(program.with_circuits(circuits), final_wire)
