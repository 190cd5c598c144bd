"""Readouts that follow a circuit's qubits to new wires (after deferral or qubit reuse)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ..ir import ExpVal, PauliTerm, Probs, Program, QuantumCall


def relabel_qubit_outputs(program: Program,
                          final_wire: Mapping[str, Sequence[int | None]]) -> Program:
    """Point the ExpVal and Probs outputs of calls at the wires where each circuit's qubits
    end up (``final_wire[circuit][qubit]``; None only for qubits no output reads)."""
    def relabel(output, wire, width):
        if isinstance(output, ExpVal):
            return ExpVal(tuple(tuple(PauliTerm(t.coeff, tuple((wire[q], p) for q, p in t.paulis))
                                      for t in observable) for observable in output.observables))
        if isinstance(output, Probs):
            qubits = tuple(wire[q] for q in output.qubits or range(len(wire)))
            return Probs(() if qubits == tuple(range(width)) else qubits)
        return output

    body = [dataclasses.replace(s, output=relabel(s.output, final_wire[s.circuit],
                                                  program.circuit(s.circuit).num_qubits))
            if isinstance(s, QuantumCall) and s.circuit in final_wire else s
            for s in program.body]
    return dataclasses.replace(program, body=tuple(body))
