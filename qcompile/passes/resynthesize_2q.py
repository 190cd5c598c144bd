"""Resynthesize-2q: collect two-qubit blocks, multiply them out, and write each again with
the fewest two-qubit gates, when that is fewer than it has.

A block is a maximal run of constant gates acting within one pair of qubits: along both
wires nothing else touches the pair between its first and last gate (gates on other qubits
may interleave and commute with it), so the block is one 4×4 unitary placed where it ends.
Qiskit's :class:`~qiskit.synthesis.TwoQubitBasisDecomposer` (the KAK decomposition, never
written by hand here) gives the fewest applications of the target's two-qubit gate for that
unitary (0 to 3) with single-qubit gates in an Euler basis between them. A block is replaced
only when that lowers its two-qubit count, or keeps it and lowers its gate count: already
optimal blocks keep their gates (and their symbolic neighbours their structure). Exact up to
global phase, which nothing in the IR can observe (see :mod:`.merge_1q`).

Symbolic gates, gates on three or more qubits, measure, reset, barrier and if/else end the
blocks on their qubits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.synthesis import TwoQubitBasisDecomposer

from ..ir import GATES, Gate, Operation, QCompileError, Unitary
from ..ir.dag import DependencyDag
from ..ir.matrices import embed
from ..ir.ops import constant_matrix, qubits_of
from ..ir.spellings import from_qiskit_name, qiskit_name
from .base import BlockPass, option, register_pass
from .merge_1q import EULER_BASES


@dataclass
class _Block:
    qubits: tuple[int, ...]  # one or two qubits; a lone-qubit run waits for a partner
    nodes: list[int] = field(default_factory=list)
    two_qubit: int = 0


def _two_qubit_gates_of(ops) -> int:
    return sum(len(op.qubits) == 2 for op in ops)


@register_pass("resynthesize-2q")
@dataclass(frozen=True)
class Resynthesize2Q(BlockPass):
    """Rewrite blocks of constant gates on two qubits with the fewest two-qubit gates (KAK).

    Options: ``gate``, the two-qubit gate to write them with (a fixed two-qubit gate of the
    library Qiskit also has, such as cx, cz, ecr, iswap; default cx); ``basis``, the Euler
    basis of the single-qubit gates between (as for merge-1q; default u).
    """

    gate: str = option("cx")
    basis: str = option("u", choices=EULER_BASES)

    def __post_init__(self):
        super().__post_init__()
        spec = GATES.get(self.gate)
        if (spec is None or spec.num_qubits != 2 or spec.num_params
                or qiskit_name(self.gate) is None):
            raise QCompileError(f"resynthesize-2q: gate must be a fixed two-qubit gate such as "
                                f"cx, cz or ecr, got {self.gate!r}")

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        dag = DependencyDag(ops)
        for block in self._blocks(ops):
            if block.two_qubit == 0:
                continue
            members = [ops[n] for n in block.nodes]
            replacement = synthesize_two_qubit(block_unitary(members, block.qubits),
                                               block.qubits, self.gate, self.basis)
            before = (block.two_qubit, len(members))
            after = (_two_qubit_gates_of(replacement), len(replacement))
            if after < before:
                for node in block.nodes[:-1]:
                    dag.remove(node)
                dag.replace(block.nodes[-1], replacement)
        return dag.ops()

    @staticmethod
    def _blocks(ops) -> list[_Block]:
        """Maximal blocks in order of their last gate's position (see the module doc)."""
        open_block: dict[int, _Block] = {}
        done: list[_Block] = []

        def close(q):
            block = open_block.pop(q, None)
            if block is not None:
                for other in block.qubits:
                    open_block.pop(other, None)
                done.append(block)

        for node, op in enumerate(ops):
            qubits = qubits_of(op)
            fusible = (isinstance(op, (Gate, Unitary)) and len(qubits) <= 2
                       and constant_matrix(op) is not None)
            if fusible and len(qubits) == 1 and qubits[0] in open_block:
                open_block[qubits[0]].nodes.append(node)
                continue
            if fusible and len(qubits) == 2:
                a, b = qubits
                block = open_block.get(a)
                if block is not None and block is open_block.get(b) and len(block.qubits) == 2:
                    block.nodes.append(node)
                    block.two_qubit += 1
                    continue
                # a new pair: lone-qubit runs waiting on a or b join it, other blocks end
                waiting = [open_block[q] for q in qubits
                           if q in open_block and len(open_block[q].qubits) == 1]
                for q in qubits:
                    if q in open_block and len(open_block[q].qubits) == 2:
                        close(q)
                for lone in waiting:
                    open_block.pop(lone.qubits[0])
                block = _Block((a, b), sorted(n for lone in waiting for n in lone.nodes) + [node],
                               1)
                open_block[a] = open_block[b] = block
                continue
            for q in qubits:
                close(q)
            if fusible:  # a single-qubit gate with no block on its qubit yet
                open_block[qubits[0]] = _Block(qubits, [node])
        for q in list(open_block):
            close(q)
        return sorted(done, key=lambda block: block.nodes[-1])


def block_unitary(members, qubits: tuple[int, ...]) -> np.ndarray:
    """The 4×4 unitary of constant operations on ``qubits`` (bit k is ``qubits[k]``)."""
    unitary = np.eye(4, dtype=complex)
    for op in members:
        unitary = embed(constant_matrix(op), [qubits.index(q) for q in op.qubits],
                        range(2)) @ unitary
    return unitary


@cache
def _decomposer(gate: str, euler: str) -> TwoQubitBasisDecomposer:
    qiskit_gate = get_standard_gate_name_mapping()[qiskit_name(gate)]
    return TwoQubitBasisDecomposer(qiskit_gate, euler_basis=EULER_BASES[euler])


def synthesize_two_qubit(unitary: np.ndarray, qubits: tuple[int, ...], gate: str,
                         euler: str) -> list[Gate]:
    """``unitary`` on ``qubits`` with the fewest ``gate``s, each on ``qubits`` in that order,
    and single-qubit gates of the Euler basis ``euler`` (up to global phase)."""
    circuit = _decomposer(gate, euler)(unitary)
    return [Gate(from_qiskit_name(inst.operation.name, inst.operation.num_qubits,
                                  len(inst.operation.params)),
                 tuple(qubits[circuit.find_bit(q).index] for q in inst.qubits),
                 [float(p) for p in inst.operation.params])
            for inst in circuit.data]
