"""Resynthesize-clifford: rewrite regions of Clifford gates with Qiskit's Clifford synthesis
when that needs fewer two-qubit gates.

A stabilizer circuit (an error-correcting encoder, syndrome extraction, a graph state) is
described exactly by its tableau, whatever gates wrote it, and Qiskit's synthesis
(``synth_clifford_full``: optimal up to three qubits, greedy above) often writes the tableau
with far fewer CNOTs than the gates given — savings that no rewrite of two-qubit blocks can
find, because they span many qubits.

A region grows greedily through a block: each constant Clifford gate (decided from its
matrix, :func:`qcompile.ir.ops.is_clifford`) joins it unless one of its qubits is *closed*,
that is touched by an operation outside the region since the region began. On every wire
the region's gates then precede the outside ones, so the region can be written where it
began. A Clifford gate on a closed qubit ends the region and starts the next. Regions on
fewer than three qubits are left to resynthesize-2q. The result equals the input up to a
global phase (see :mod:`.merge_1q`). With ``absorb_swaps``, swaps in a synthesized circuit
body cost nothing: elide-permutations turns them into relabellings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from ..ir import GATES, Gate, Operation, Unitary
from ..ir.gates import fixed_matrix
from ..ir.ops import constant_params, is_clifford, qubits_of
from ..ir.spellings import from_qiskit_name, qiskit_gate, qiskit_name
from .base import BlockPass, option, register_pass

#: Regions on fewer qubits are two-qubit blocks (resynthesize-2q's job).
MIN_QUBITS = 3


def clifford_regions(ops: tuple[Operation, ...]) -> list[list[int]]:
    """Node lists of the regions of Clifford gates, greedily (see the module doc)."""
    regions: list[list[int]] = []
    current: list[int] = []
    closed: set[int] = set()
    for node, op in enumerate(ops):
        qubits = set(qubits_of(op))
        if not is_clifford(op):
            if current:
                closed |= qubits
            continue
        if qubits & closed:
            regions.append(current)
            current, closed = [], set()
        current.append(node)
    return [r for r in [*regions, current] if r]


def two_qubit_cost(op: Operation, swaps_free: bool) -> int:
    """Two-qubit gates the operation costs: the entangling gates of its library definition,
    at least one (a swap, which the library defines by no other gates, counts one), and
    nothing for a swap where swaps become relabellings."""
    if len(qubits_of(op)) < 2:
        return 0
    if isinstance(op, Gate) and op.name == "swap" and swaps_free:
        return 0
    return _definition_cost(op.name) if isinstance(op, Gate) else 1


@cache
def _definition_cost(name: str) -> int:
    """Entangling gates in the library definition of gate ``name`` (at least one)."""
    local = Gate(name, tuple(range(GATES[name].num_qubits)),
                 (0.0,) * GATES[name].num_params)
    return max(1, sum(len(g.qubits) >= 2 for g in local.definition()))


@register_pass("resynthesize-clifford")
@dataclass(frozen=True)
class ResynthesizeClifford(BlockPass):
    """Rewrite regions of Clifford gates on three or more qubits from their tableau
    (Qiskit's synthesis), where that needs fewer two-qubit gates.

    Option ``absorb_swaps``: swaps the synthesis writes in the circuit body count as free
    (for pipelines that elide permutations afterwards; default false).
    """

    absorb_swaps: bool = option(False)

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        return self._rewrite(ops, swaps_free=False)

    def run_outermost_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        return self._rewrite(ops, self.absorb_swaps)

    def _rewrite(self, ops: tuple[Operation, ...], swaps_free: bool) -> list[Operation]:
        written: dict[int, list[Operation]] = {}  # first node of a region -> its new gates
        replaced: set[int] = set()
        for region in clifford_regions(ops):
            members = [ops[n] for n in region]
            wires = sorted({q for op in members for q in op.qubits})
            cost = sum(two_qubit_cost(op, swaps_free) for op in members)
            if len(wires) < MIN_QUBITS or cost < 2:
                continue
            synthesized = _synthesize(members, wires)
            if synthesized is None:
                continue
            new_cost = sum(two_qubit_cost(op, swaps_free) for op in synthesized)
            if (new_cost, len(synthesized)) < (cost, len(members)):
                written[region[0]] = synthesized
                replaced.update(region)
        if not written:
            return list(ops)
        out: list[Operation] = []
        for node, op in enumerate(ops):
            if node in written:
                out += written[node]
            elif node not in replaced:
                out.append(op)
        return out


def _synthesize(members: list[Gate | Unitary], wires: list[int]) -> list[Gate] | None:
    """The region's tableau written by Qiskit's Clifford synthesis on ``wires``; None when
    Qiskit does not take a gate as Clifford (an angle within our tolerance, not its own)."""
    index = {q: k for k, q in enumerate(wires)}
    local = tuple((op.name if isinstance(op, Gate) else None,
                   constant_params(op) if isinstance(op, Gate) else op.matrix.tobytes(),
                   tuple(index[q] for q in op.qubits)) for op in members)
    written = _synthesize_local(local, len(wires))
    if written is None:
        return None
    return [Gate(name, tuple(wires[k] for k in qubits)) for name, qubits in written]


@lru_cache(maxsize=1024)
def _synthesize_local(local: tuple, num_qubits: int) -> tuple | None:
    """(gate name, qubit positions) of the synthesized region (cached: circuits repeat their
    layers, and the fixed-point loop meets the same regions again)."""
    from qiskit import QuantumCircuit  # slow to import
    from qiskit.circuit.library import UnitaryGate
    from qiskit.exceptions import QiskitError
    from qiskit.quantum_info import Clifford
    from qiskit.synthesis import synth_clifford_full

    circuit = QuantumCircuit(num_qubits)
    for name, params, qubits in local:
        gate = (qiskit_gate(name, params) if name is not None and qiskit_name(name)
                else UnitaryGate(_matrix(name, params)))
        circuit.append(gate, qubits)
    try:
        written = synth_clifford_full(Clifford(circuit))
    except QiskitError:
        return None
    return tuple((from_qiskit_name(inst.operation.name, inst.operation.num_qubits, 0),
                  tuple(written.find_bit(q).index for q in inst.qubits))
                 for inst in written.data)


def _matrix(name: str | None, params) -> np.ndarray:
    """A member's matrix: of its gate, or of a unitary (``params`` its bytes)."""
    if name is not None:
        return fixed_matrix(name, params)
    dim = int(round(np.sqrt(len(params) // 16)))
    return np.frombuffer(params, dtype=complex).reshape(dim, dim)
