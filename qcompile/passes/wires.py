"""Readouts that follow a circuit's qubits to new wires (after deferral, qubit reuse,
routing or elided swaps)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ..ir import ExpVal, PauliTerm, Probs, Program, QuantumCall, State, TensorOp
from ..ir.program import Output
from .base import fresh_name


def relabel_qubit_outputs(program: Program, final_wire: Mapping[str, Sequence[int | None]],
                          *, others_end_in_zero: bool = False) -> Program:
    """Point the outputs of calls at the wires where each circuit's qubits end up
    (``final_wire[circuit][qubit]``; None only for qubits no output reads).

    ExpVal and Probs read the new wires directly. A statevector is reordered after the call
    when the qubits end on distinct wires and every other wire is back in |0> (swaps elided,
    routing); otherwise it covers every wire of the rewritten circuit, as its width says.
    The program itself when no call moves (so a pass that changed nothing returns its input,
    and a fixed-point loop can see that).
    """
    if not any(isinstance(s, QuantumCall) and s.circuit in final_wire for s in program.body):
        return program
    taken = {d.name for d in program.inputs + program.weights} | {
        s.result for s in program.body}
    body = []
    for stmt in program.body:
        wire = final_wire.get(stmt.circuit) if isinstance(stmt, QuantumCall) else None
        if wire is None:
            body.append(stmt)
            continue
        output, width = stmt.output, program.circuit(stmt.circuit).num_qubits
        if isinstance(output, (ExpVal, Probs)):
            output = output_on_wires(output, wire, width)
        elif (isinstance(output, State) and None not in wire and len(set(wire)) == len(wire)
              and (others_end_in_zero or len(wire) == width)
              and list(wire) != list(range(width))):
            body += _reordered_state(stmt, wire, width, taken)
            continue
        body.append(dataclasses.replace(stmt, output=output))
    return dataclasses.replace(program, body=tuple(body))


def output_on_wires(output: Output, wire: Sequence[int | None], width: int) -> Output:
    """An ExpVal or Probs read-out with qubit q read from wire ``wire[q]`` of a circuit of
    ``width`` wires (other read-outs as they are)."""
    if isinstance(output, ExpVal):
        return ExpVal(tuple(tuple(PauliTerm(t.coeff, tuple((wire[q], p) for q, p in t.paulis))
                                  for t in observable) for observable in output.observables))
    if isinstance(output, Probs):
        qubits = tuple(wire[q] for q in output.qubits or range(len(wire)))
        return Probs(() if qubits == tuple(range(width)) else qubits)
    return output


def _reordered_state(call: QuantumCall, wire: Sequence[int], width: int,
                     taken: set[str]) -> list:
    """The call under a fresh name, then its statevector with qubit q read from wire
    ``wire[q]``: reshaped so axis a is wire width-1-a, transposed so the other wires come
    first (most significant) and the qubits after them, flattened, and cut to the block
    where the other wires are 0."""
    n = len(wire)
    others = [width - 1 - w for w in reversed(range(width)) if w not in wire]
    axes = (*others, *(width - 1 - wire[n - 1 - b] for b in range(n)))
    raw, view, moved, flat = (fresh_name(f"{call.result}.{suffix}", taken)
                              for suffix in ("wires", "axes", "qubits", "flat"))
    out = [dataclasses.replace(call, result=raw),
           TensorOp(view, "reshape", (raw,), (("shape", (2,) * width),)),
           TensorOp(moved, "transpose", (view,), (("axes", axes),)),
           TensorOp(flat if others else call.result, "reshape", (moved,),
                    (("shape", (2 ** width,)),))]
    if others:
        out.append(TensorOp(call.result, "slice", (flat,), (("start", 0), ("stop", 2 ** n))))
    return out
