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
  wire still in |0> is dropped.
- ``if (cond) {A} else {B}``: bits never written may decide the condition statically. A
  one-bit condition becomes a control on the bit's source (on |0> for a 0 bit); a condition
  over several bits is computed into a flag qubit by a multi-controlled X, A is controlled on
  flag=1 and B on flag=0, and the flag is uncomputed, so one flag per nesting depth serves
  every if/else.
- inside a branch, under controls C: constant gates become C-controlled ``Unitary`` ops (or
  named gates such as ``ccx``); ``measure q -> c`` writes a fresh ancilla with
  ``old(c) XOR C·old(c) XOR C·q``; ``reset q`` becomes a C-controlled swap of q with a fresh
  |0> ancilla, which carries the old state away.

Operations under controls are those of :mod:`qcompile.ir.controlled`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass


from ..ir import (Barrier, Circuit, Gate, IfElse, Measure, Operation, Program,
                  QCompileError, Register, Reset, SetBits, Unitary)
from ..ir.controlled import Control, controlled_constant, controlled_ops
from ..ir.ops import qubits_of
from ..ir.rewrite import remap
from .base import Pass, PropertySet, option, register_pass
from .wires import relabel_qubit_outputs



#: Entries of the controlled-gate matrices one deferral may write (256 MiB of complex128).
MAX_MATRIX_ENTRIES = 1 << 24


class _Deferral:
    """Rewriting one circuit: where each qubit and each classical bit lives at this point."""

    def __init__(self, circuit: Circuit, max_wires: int | None = None):
        self.circuit = circuit
        self.max_wires = max_wires
        self.num_wires = circuit.num_qubits
        self.wire = list(range(circuit.num_qubits))  # qubit -> the wire it lives on now
        self.source: dict[int, int] = {}  # clbit -> wire holding its value
        self.own_records: set[int] = set()  # qubit wires that are their own bit's source
        self.matrix_entries = 0  # of the controlled Unitary ops emitted so far
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
        if self.max_wires is not None and self.num_wires >= self.max_wires:
            raise QCompileError(f"defer-measurements: circuit {self.circuit.name!r} needs more "
                                f"than {self.max_wires} qubits")
        self.num_wires += 1
        return self.num_wires - 1

    def emit(self, *ops: Operation) -> None:
        for op in ops:
            self.ops.append(op)
            if isinstance(op, Unitary):
                self.matrix_entries += op.matrix.size
                if self.matrix_entries > MAX_MATRIX_ENTRIES:
                    raise QCompileError(
                        f"defer-measurements: circuit {self.circuit.name!r} would need more "
                        f"than {MAX_MATRIX_ENTRIES * 16 >> 20} MiB of controlled-gate matrices "
                        f"(its conditions nest too deep); run it with mid-circuit measurement")
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
            self.reset(op.qubit, controls)
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
            self.retire(clbit)
            self.source[clbit] = wire
            self.own_records.add(wire)
            return
        self.overwrite(clbit, controls, (wire, 1))

    def set_bits(self, op: SetBits, controls) -> None:
        for k, clbit in enumerate(op.clbits):
            if op.value >> k & 1 or controls:
                self.overwrite(clbit, controls, bool(op.value >> k & 1))
            else:
                self.retire(clbit)
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
        self.retire(clbit)
        self.source[clbit] = ancilla

    def retire(self, clbit: int) -> None:
        """Before ``clbit`` leaves its source: a qubit wire that was its own record would
        keep its coherences without the final measurement, so it is copied onto a fresh
        ancilla (never read), which decoheres it as the measurement did."""
        old = self.source.get(clbit)
        if old in self.own_records:
            self.own_records.discard(old)
            self.emit(Gate("cx", (old, self.fresh())))

    def reset(self, qubit: int, controls) -> None:
        wire = self.wire[qubit]
        if controls:
            self.emit(controlled_constant(Gate("swap", (wire, self.fresh())), controls))
        elif wire in self.touched:  # used later or not, the qubit's final state is |0>
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
            self.emit(*controlled_ops(op, controls, " in an if/else branch"))
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


def defer_circuit(circuit: Circuit, max_wires: int | None = None
                  ) -> tuple[Circuit, list[int]]:
    """The deferred circuit and, per original qubit, the wire holding its final state;
    ``max_wires``: stop with a QCompileError as soon as it would need more wires."""
    deferral = _Deferral(circuit, max_wires)
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
