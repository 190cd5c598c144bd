"""Reuse-qubits: put qubits that start late on the wires of qubits that have finished.

The reverse of deferring measurements, and how QKSAN frees half its qubits: once a qubit's
last operation (typically its measurement) is done, its wire can be reset and carry a qubit
whose first operation comes later. The old state is never touched again, so tracing it out
with a reset changes no classical record, and the new qubit still starts in |0>.

Each qubit's life is split into *lifetimes*: the top-level operation indices from its first
to its last use, with every top-level reset starting a new lifetime (the reset already
prepares |0>, so that lifetime may move to any free wire with no extra reset). Lifetimes that
overlap need different wires: that is colouring an interval graph, which the greedy colouring
in order of start time does optimally (as many wires as lifetimes ever overlap). Operations
inside an if/else count at the if/else's index; barriers change no state and do not extend a
lifetime. Qubits a program output reads (ExpVal, Probs, State, clbit-less Counts) live to the
end of the circuit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import networkx as nx

from ..ir import (Barrier, Circuit, Counts, ExpVal, Operation, Probs, Program, QCompileError,
                  QuantumCall, Register, Reset, State)
from ..ir.ops import qubits_of
from ..ir.rewrite import remap
from .base import Pass, PropertySet, option, register_pass
from .wires import relabel_qubit_outputs


@dataclass(frozen=True)
class Lifetime:
    """Qubit ``qubit`` is in use from top-level operation ``start`` to ``end`` (inclusive)."""

    qubit: int
    start: int
    end: int
    starts_with_reset: bool


@dataclass(frozen=True)
class WidthChange:
    """What ``reuse-qubits`` achieved for one circuit (``properties["reuse-qubits"]``)."""

    before: int
    after: int


def qubit_lifetimes(ops: Sequence[Operation], read_at_end: set[int]) -> list[Lifetime]:
    """Lifetimes of every used qubit (each qubit's in time order); the last lifetime of a
    ``read_at_end`` qubit extends to index ``len(ops)``."""
    current: dict[int, list] = {}  # qubit -> [start, end, starts_with_reset]
    done = []
    for index, op in enumerate(ops):
        if isinstance(op, Barrier):
            continue
        for q in qubits_of(op):
            if isinstance(op, Reset) and q in current:
                done.append(Lifetime(q, *current.pop(q)))
            if q in current:
                current[q][1] = index
            else:
                current[q] = [index, index, isinstance(op, Reset)]
    for q in read_at_end:
        current.setdefault(q, [len(ops), len(ops), False])[1] = len(ops)
    return done + [Lifetime(q, *span) for q, span in current.items()]


def assign_wires(lifetimes: Sequence[Lifetime]) -> list[int]:
    """A wire (colour) per lifetime, overlapping ones apart, with the fewest wires."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(lifetimes)))
    graph.add_edges_from((a, b) for a, b in combinations(range(len(lifetimes)), 2)
                         if lifetimes[a].start <= lifetimes[b].end
                         and lifetimes[b].start <= lifetimes[a].end)
    colours = nx.greedy_color(graph, strategy=lambda g, _: sorted(
        g, key=lambda n: (lifetimes[n].start, lifetimes[n].qubit)))
    return [colours[n] for n in range(len(lifetimes))]


def _kept_qubits(lifetimes: Sequence[Lifetime], colours: Sequence[int],
                 num_qubits: int) -> list[int]:
    """For each colour, the original qubit whose name its wire keeps: the earliest-starting
    qubit on it not yet claimed by another colour (else any unclaimed one)."""
    claimed: list[int] = []
    for colour in range(max(colours, default=-1) + 1):
        on_wire = sorted((lt.start, lt.qubit) for lt, c in zip(lifetimes, colours)
                         if c == colour)
        candidates = [q for _, q in on_wire] + list(range(num_qubits))
        claimed.append(next(q for q in candidates if q not in claimed))
    return claimed


def reuse_circuit(circuit: Circuit, read_at_end: set[int]) -> tuple[Circuit, list[int | None]]:
    """The circuit on the fewest wires, and per original qubit the wire of its last
    lifetime (None for unused qubits)."""
    ops = circuit.ops
    lifetimes = qubit_lifetimes(ops, read_at_end)
    colours = assign_wires(lifetimes)
    kept = _kept_qubits(lifetimes, colours, circuit.num_qubits)
    position = {q: k for k, q in enumerate(sorted(kept))}
    wire_of_colour = [position[q] for q in kept]

    resets: dict[int, list[Reset]] = {}
    occupied: set[int] = set()
    for lt, colour in sorted(zip(lifetimes, colours), key=lambda x: x[0].start):
        wire = wire_of_colour[colour]
        if wire in occupied and not lt.starts_with_reset:
            resets.setdefault(lt.start, []).append(Reset(wire))
        occupied.add(wire)

    def wire_at(q: int, index: int) -> int | None:
        return next((wire_of_colour[c] for lt, c in zip(lifetimes, colours)
                     if lt.qubit == q and lt.start <= index <= lt.end), None)

    new_ops: list[Operation] = []
    for index, op in enumerate(ops):
        new_ops += resets.get(index, [])
        moved = remap(op, lambda q, i=index: wire_at(q, i))
        if moved is not None:
            new_ops.append(moved)
    new_ops += resets.get(len(ops), [])

    qregs, offset = [], 0
    for reg in circuit.qregs:
        size = sum(offset <= q < offset + reg.size for q in kept)
        offset += reg.size
        if size:
            qregs.append(Register(reg.name, size))
    final = [None] * circuit.num_qubits
    for lt, colour in zip(lifetimes, colours):  # later lifetimes overwrite earlier ones
        final[lt.qubit] = wire_of_colour[colour]
    return dataclasses.replace(circuit, qregs=tuple(qregs), ops=tuple(new_ops)), final


def qubits_read_at_end(program: Program, circuit: Circuit) -> set[int]:
    """Qubits whose final state some output of a call to ``circuit`` reads."""
    read: set[int] = set()
    everything = set(range(circuit.num_qubits))
    for stmt in program.body:
        if not (isinstance(stmt, QuantumCall) and stmt.circuit == circuit.name):
            continue
        out = stmt.output
        if isinstance(out, ExpVal):
            read |= {q for obs in out.observables for term in obs for q, _ in term.paulis}
        elif isinstance(out, Probs):
            read |= set(out.qubits) or everything
        elif isinstance(out, State) or (isinstance(out, Counts) and not circuit.num_clbits):
            read |= everything
    return read


@register_pass("reuse-qubits")
@dataclass(frozen=True)
class ReuseQubits(Pass):
    """Map qubits that start after others finish onto the finished wires, with a reset.

    Lowers the width to the most qubits ever in use at once (lifetimes split at resets;
    qubits an output reads stay to the end) with the same classical record distribution.
    Circuits already at that width are left unchanged. Writes
    ``properties["reuse-qubits"][circuit name] = WidthChange(before, after)``. Option
    ``max_width``: leave circuits at most that wide alone, and fail when one cannot be
    brought down to it.
    """

    max_width: int | None = option(None, low=1)

    def run(self, program: Program, properties: PropertySet) -> Program:
        report = properties.setdefault("reuse-qubits", {})
        circuits, final_wire = [], {}
        for circuit in program.circuits:
            if self.max_width is not None and circuit.num_qubits <= self.max_width:
                narrow = circuit
            else:
                narrow, wires = reuse_circuit(circuit, qubits_read_at_end(program, circuit))
                if not 0 < narrow.num_qubits < circuit.num_qubits:
                    narrow = circuit
                else:
                    final_wire[circuit.name] = wires
            if self.max_width is not None and narrow.num_qubits > self.max_width:
                raise QCompileError(
                    f"reuse-qubits: circuit {circuit.name!r} needs {narrow.num_qubits} "
                    f"qubits even with reuse (that many are in use at once), more than "
                    f"max_width={self.max_width}")
            report[circuit.name] = WidthChange(circuit.num_qubits, narrow.num_qubits)
            circuits.append(narrow)
        return relabel_qubit_outputs(program.with_circuits(circuits), final_wire)
