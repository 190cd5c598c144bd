"""Rewriting what a program reads out of its circuits.

``qcompile run --output`` and ``qcompile submit --output`` read every circuit one way (a
bare circuit file has no declared outputs to fall back on); this is a pure IR rewrite, so it
lives with the IR rather than in the command line.
"""

from __future__ import annotations

from dataclasses import replace

from .circuit import Circuit
from .program import Counts, ExpVal, PauliTerm, Probs, Program, QuantumCall, State


def with_output(program: Program, kind: str, shots: int) -> Program:
    """Replace what every circuit call reads out and return those reads directly."""
    body, outputs, dropped = [], [], set()
    for stmt in program.body:
        if isinstance(stmt, QuantumCall):
            stmt = replace(stmt, output=_output(kind, program.circuit(stmt.circuit), shots))
            outputs.append(stmt.result)
        elif dropped.union(outputs).intersection(stmt.operands):
            dropped.add(stmt.result)  # post-processing of a read that is now returned raw
            continue
        body.append(stmt)
    return replace(program, body=tuple(body), outputs=tuple(outputs))


def _output(kind: str, circuit: Circuit, shots: int):
    if kind == "expval":
        return ExpVal(tuple((PauliTerm(1.0, ((q, "Z"),)),) for q in range(circuit.num_qubits)))
    if kind == "probs":
        return Probs()
    if kind == "counts":
        return Counts(shots)
    return State()
