"""Route: place each circuit on a coupling map and insert swaps so every two-qubit gate acts
on a coupled pair — Qiskit's Sabre layout and routing do the search, never a router of ours.

Qiskit routes a *skeleton* of the circuit: each gate becomes an opaque placeholder on the
same qubits (measurement, reset, barriers and if/else blocks stay what they are), so Sabre
sees exactly the interactions and the feed-forward structure, and the routed skeleton is read
back by putting each original operation, with its symbolic angles untouched, on the physical
qubits its placeholder landed on, and Sabre's swaps in between. The result acts on all the
coupling map's qubits (physical qubit ``p`` is wire ``p``); program outputs follow each
qubit to the wire it ends on. ``properties["route"][circuit]`` records the layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ir import (Barrier, Circuit, Condition, Gate, IfElse, Measure, Operation, Program,
                  QCompileError, Register, Reset, Unitary)
from ..ir.gates import is_symmetric
from ..ir.ops import clbits_of, constant_matrix, qubits_of, walk
from ..ir.rewrite import remap
from .base import BlockPass, Pass, PropertySet, option, register_pass
from .coupling import Coupling, parse_coupling
from .merge_1q import EULER_BASES
from .resynthesize_2q import block_unitary, synthesize_two_qubit
from .wires import relabel_qubit_outputs

if TYPE_CHECKING:  # Qiskit is slow to import: the functions that route import it
    from qiskit import QuantumCircuit
    from qiskit.transpiler import CouplingMap, PassManager


@dataclass(frozen=True)
class Layout:
    """Where circuit qubit ``k`` sits on the device: ``initial[k]`` at the start and
    ``final[k]`` at the end (swaps move qubits)."""

    initial: tuple[int, ...]
    final: tuple[int, ...]


def route_circuit(circuit: Circuit, coupling: Coupling, seed: int | None = None
                  ) -> tuple[Circuit, Layout]:
    """The circuit on the coupling map's qubits with every two-qubit gate on a coupled pair
    (in either direction: directions are fixed after translation), and its layout."""
    if circuit.num_qubits > coupling.num_qubits:
        raise QCompileError(f"circuit {circuit.name!r} needs {circuit.num_qubits} qubits, but "
                            f"the coupling map has only {coupling.num_qubits}")
    wide = next((op for op in walk(circuit.ops)
                 if isinstance(op, (Gate, Unitary)) and len(op.qubits) > 2), None)
    if wide is not None:
        name = wide.name if isinstance(wide, Gate) else wide.label
        raise QCompileError(f"circuit {circuit.name!r}: route needs gates on at most two "
                            f"qubits, but {name} acts on {len(wide.qubits)}; translate to a "
                            f"basis first")
    from qiskit.transpiler import CouplingMap

    skeleton, originals = _skeleton(circuit)
    undirected = sorted({tuple(sorted(edge)) for edge in coupling.edges})
    routed = _placement_and_routing(CouplingMap(undirected), seed).run(skeleton)
    ops = _read_back(routed, {q: routed.find_bit(q).index for q in routed.qubits},
                     {c: routed.find_bit(c).index for c in routed.clbits}, originals)
    layout = routed.layout
    placement = Layout(tuple(layout.initial_index_layout()[:circuit.num_qubits]),
                       tuple(layout.final_index_layout()[:circuit.num_qubits]))
    return (Circuit(circuit.name, (Register("q", coupling.num_qubits),), circuit.cregs,
                    circuit.params, ops), placement)


def _placement_and_routing(coupling: CouplingMap, seed: int | None) -> PassManager:
    """Qiskit's -O3 layout stage: a placement needing no swap when VF2 finds one (a QAOA
    ring on a device with a ring in it), else Sabre's layout and routing, best of 20 trials."""
    from qiskit.passmanager import ConditionalController
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import (ApplyLayout, EnlargeWithAncilla,
                                          FullAncillaAllocation, SabreLayout, VF2Layout)
    from qiskit.transpiler.passes.layout.vf2_layout import VF2LayoutStopReason

    def vf2_found(properties) -> bool:
        return properties["VF2Layout_stop_reason"] is VF2LayoutStopReason.SOLUTION_FOUND

    return PassManager([
        VF2Layout(coupling, seed=-1 if seed is None else seed, call_limit=(30_000_000, 100_000)),
        ConditionalController([FullAncillaAllocation(coupling), EnlargeWithAncilla(),
                               ApplyLayout()], condition=vf2_found),
        ConditionalController(SabreLayout(coupling, seed=seed, max_iterations=4,
                                          swap_trials=20, layout_trials=20),
                              condition=lambda properties: not vf2_found(properties)),
    ])


def _skeleton(circuit: Circuit) -> tuple[QuantumCircuit, dict[str, Operation]]:
    """The circuit with each gate an opaque placeholder named after its operation."""
    from qiskit import ClassicalRegister, QuantumCircuit
    from qiskit.circuit import Gate as QiskitGate
    from qiskit.circuit import Instruction

    skeleton = QuantumCircuit(circuit.num_qubits, circuit.num_clbits)
    originals: dict[str, Operation] = {}

    def build(ops, target: QuantumCircuit) -> None:
        for op in ops:
            qubits = [skeleton.qubits[q] for q in qubits_of(op)]
            if isinstance(op, Measure):
                target.measure(qubits[0], skeleton.clbits[op.clbit])
            elif isinstance(op, Reset):
                target.reset(qubits[0])
            elif isinstance(op, Barrier):
                target.barrier(*qubits)
            elif isinstance(op, IfElse):
                bits = [skeleton.clbits[b] for b in op.condition.clbits]
                if len(bits) == 1:
                    tested = bits[0]
                else:  # a condition on several bits names a register of exactly those bits
                    tested = ClassicalRegister(bits=bits, name=f"cond{len(skeleton.cregs)}")
                    skeleton.add_register(tested)
                with target.if_test((tested, op.condition.value)) as otherwise:
                    build(op.then_body, target)
                if op.else_body:
                    with otherwise:
                        build(op.else_body, target)
            else:  # gates, and classical writes on their bits (which keeps their order)
                name = f"op{len(originals)}"
                originals[name] = op
                clbits = [skeleton.clbits[c] for c in clbits_of(op)]
                placeholder = (Instruction(name, 0, len(clbits), []) if clbits
                               else QiskitGate(name, len(qubits), []))
                target.append(placeholder, qubits, clbits)

    build(circuit.ops, skeleton)
    return skeleton, originals


def _read_back(block: QuantumCircuit, qubit_index: dict, clbit_index: dict,
               originals) -> list[Operation]:
    """The routed skeleton as IR operations on physical qubits (wire p is physical qubit p);
    ``qubit_index``/``clbit_index`` number the block's own bits."""
    from qiskit import ClassicalRegister
    from qiskit.circuit import IfElseOp

    ops: list[Operation] = []
    for instruction in block.data:
        operation = instruction.operation
        physical = [qubit_index[q] for q in instruction.qubits]
        if operation.name == "swap":
            ops.append(Gate("swap", physical))
        elif operation.name == "measure":
            ops.append(Measure(physical[0], clbit_index[instruction.clbits[0]]))
        elif operation.name == "reset":
            ops.append(Reset(physical[0]))
        elif operation.name == "barrier":
            ops.append(Barrier(physical))
        elif isinstance(operation, IfElseOp):
            tested, value = operation.condition
            bits = list(tested) if isinstance(tested, ClassicalRegister) else [tested]
            bodies = [_read_back(body, dict(zip(body.qubits, physical)),
                                 dict(zip(body.clbits, (clbit_index[c]
                                                        for c in instruction.clbits))),
                                 originals) for body in operation.blocks]
            ops.append(IfElse(Condition(tuple(clbit_index[b] for b in bits), int(value)),
                              *bodies))
        else:
            original = originals[operation.name]
            ops.append(remap(original, dict(zip(qubits_of(original), physical))))
    return ops


@register_pass("route")
@dataclass(frozen=True)
class Route(Pass):
    """Place and route every circuit on a coupling map with Qiskit's Sabre (swaps added).

    Options: ``coupling``, the map (``line:N``, ``ring:N``, ``grid:RxC`` or a JSON file of
    edges); ``seed`` for Sabre's random choices. Writes
    ``properties["route"][circuit] = Layout(initial, final)``.
    """

    coupling: Coupling | str = option("line:2")
    seed: int | None = option(None)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "coupling", as_coupling(self.coupling))

    def run(self, program: Program, properties: PropertySet) -> Program:
        report = properties.setdefault("route", {})
        circuits, final_wire = [], {}
        for circuit in program.circuits:
            routed, layout = route_circuit(circuit, self.coupling, self.seed)
            report[circuit.name] = layout
            final_wire[circuit.name] = layout.final
            circuits.append(routed)
        # Swaps only move the |0> ancillas around, so the wires no qubit ends on are |0>.
        return relabel_qubit_outputs(program.with_circuits(circuits), final_wire,
                                     others_end_in_zero=True)


@register_pass("fix-direction")
@dataclass(frozen=True)
class FixDirection(BlockPass):
    """Turn two-qubit gates on a pair coupled only the other way round.

    A gate symmetric in its qubits (cz, rzz, ...) is relabelled; any other fixed gate is
    rewritten with one such gate the allowed way and single-qubit gates of the Euler basis
    ``basis`` (its KAK form). Options: ``coupling`` (as for route), ``basis``.
    """

    coupling: Coupling | str = option("line:2")
    basis: str = option("u", choices=EULER_BASES)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "coupling", as_coupling(self.coupling))

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        out: list[Operation] = []
        for op in ops:
            if not (isinstance(op, (Gate, Unitary)) and len(op.qubits) == 2
                    and self.coupling.allows(*op.qubits[::-1])
                    and not self.coupling.allows(*op.qubits)):
                out.append(op)
            elif isinstance(op, Gate) and is_symmetric(op.name, (1, 0)):
                out.append(Gate(op.name, op.qubits[::-1], op.params))
            elif isinstance(op, Gate) and constant_matrix(op) is not None and not op.params:
                reverse = op.qubits[::-1]
                out += synthesize_two_qubit(block_unitary([op], reverse), reverse, op.name,
                                            self.basis)
            else:
                raise QCompileError(f"fix-direction: cannot turn {op!r} around: only fixed "
                                    f"two-qubit gates and gates symmetric in their qubits "
                                    f"can be rewritten the other way")
        return out


def as_coupling(coupling: Coupling | str) -> Coupling:
    return coupling if isinstance(coupling, Coupling) else parse_coupling(coupling)
