"""Elide-permutations: a swap costs three two-qubit gates and does nothing a relabelling
cannot do, so swaps are removed and every later operation acts on the swapped wires.

Only top-level swaps with nothing to decide them go (a swap inside an if/else is kept: which
wire holds a qubit would depend on the branch). The circuit then ends with its qubits on
permuted wires; the program's outputs follow them (:func:`.wires.relabel_qubit_outputs`:
expectation values and probabilities read the new wires, a statevector is reordered after
the call), and measurements write the same classical bits as before. Circuits whose counts
are sampled over all qubits (no classical bits) keep their swaps.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Circuit, Counts, Gate, Program, QuantumCall
from ..ir.rewrite import remap
from .base import Pass, PropertySet, register_pass
from .wires import relabel_qubit_outputs


def elide_swaps(circuit: Circuit) -> tuple[Circuit, list[int]]:
    """The circuit without top-level swaps, and per qubit the wire it ends on."""
    wire = list(range(circuit.num_qubits))  # where each original wire's state is now
    if not any(isinstance(op, Gate) and op.name == "swap" for op in circuit.ops):
        return circuit, wire
    ops = []
    for op in circuit.ops:
        if isinstance(op, Gate) and op.name == "swap":
            a, b = op.qubits
            wire[a], wire[b] = wire[b], wire[a]
        else:
            ops.append(remap(op, wire))
    return circuit.with_ops(ops), wire


@register_pass("elide-permutations")
@dataclass(frozen=True)
class ElidePermutations(Pass):
    """Remove swap gates by relabelling the wires after them; outputs follow the qubits.

    ``properties["elide-permutations"][circuit]`` is the wire each qubit ends on (over
    every run of the pass in a pipeline).
    """

    def run(self, program: Program, properties: PropertySet) -> Program:
        report = properties.setdefault("elide-permutations", {})
        sampled_over_qubits = {s.circuit for s in program.body if isinstance(s, QuantumCall)
                               and isinstance(s.output, Counts)
                               and not program.circuit(s.circuit).num_clbits}
        circuits, final_wire = [], {}
        for circuit in program.circuits:
            elided, wire = (circuit, None) if circuit.name in sampled_over_qubits else (
                elide_swaps(circuit))
            if wire is not None and wire != list(range(circuit.num_qubits)):
                earlier = report.get(circuit.name, range(circuit.num_qubits))
                report[circuit.name] = tuple(wire[w] for w in earlier)
                final_wire[circuit.name] = wire
            circuits.append(elided)
        return relabel_qubit_outputs(program.with_circuits(circuits), final_wire)
