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

With ``absorb_swaps``, a block U of the circuit body (not of an if/else branch) whose
SWAP·U needs fewer two-qubit gates than U is written as SWAP·U followed by a swap — the
swap that ``elide-permutations`` then turns into a relabelling (an iSWAP-like block costs
one CNOT instead of two; a CNOT pair meeting in a swap costs one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..ir import GATES, Gate, Operation, QCompileError, Unitary
from ..ir.dag import DependencyDag
from ..ir.ops import constant_matrix, qubits_of
from ..ir.spellings import from_qiskit_name, qiskit_gate, qiskit_name
from .base import BlockPass, option, register_pass
from .merge_1q import EULER_BASES

if TYPE_CHECKING:
    from qiskit.synthesis import TwoQubitBasisDecomposer

SWAP = GATES["swap"].matrix()
_I2 = np.eye(2)
#: Index order that exchanges the two bits of a 4×4 matrix's rows or columns.
_SWAPPED = [0, 2, 1, 3]


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
    absorb_swaps: bool = option(False)

    def __post_init__(self):
        super().__post_init__()
        spec = GATES.get(self.gate)
        if (spec is None or spec.num_qubits != 2 or spec.num_params
                or qiskit_name(self.gate) is None):
            raise QCompileError(f"resynthesize-2q: gate must be a fixed two-qubit gate such as "
                                f"cx, cz or ecr, got {self.gate!r}")

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        return self._rewrite(ops, absorb_swaps=False)

    def run_outermost_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        return self._rewrite(ops, self.absorb_swaps)

    def _rewrite(self, ops: tuple[Operation, ...], absorb_swaps: bool) -> list[Operation]:
        dag = DependencyDag(ops)
        decomposer = _decomposer(self.gate, self.basis)
        for block in self._blocks(ops):
            members = [ops[n] for n in block.nodes]
            if block.two_qubit == 0 or (block.two_qubit == 1 and self._is_basis_gate(members)):
                continue  # one basis gate: KAK would write it with the same 1q runs around
            unitary = block_unitary(members, block.qubits)
            # Count first (cheap), synthesize only what may pay.
            needed, swapped = decomposer.num_basis_gates(unitary), False
            if absorb_swaps and needed >= 2:
                swapped_needed = decomposer.num_basis_gates(SWAP @ unitary)
                if swapped_needed < needed:
                    needed, swapped, unitary = swapped_needed, True, SWAP @ unitary
            single = len(members) - block.two_qubit
            if needed > block.two_qubit or (needed == block.two_qubit and not swapped
                                            and single == 0):
                continue  # as many two-qubit gates, and no more 1q runs than KAK writes
            replacement = synthesize_two_qubit(unitary, block.qubits, self.gate, self.basis)
            after = (_two_qubit_gates_of(replacement), len(replacement))  # a swap is free
            if swapped:
                replacement.append(Gate("swap", block.qubits))
            if after < (block.two_qubit, len(members)):
                for node in block.nodes[:-1]:
                    dag.remove(node)
                dag.replace(block.nodes[-1], replacement)
        return dag.ops()

    def _is_basis_gate(self, members) -> bool:
        """Whether the block's one two-qubit gate is the gate it would be written with."""
        gate = next(op for op in members if len(op.qubits) == 2)
        return isinstance(gate, Gate) and GATES[gate.name].canonical == GATES[self.gate].canonical

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
    """The 4×4 unitary of constant operations on ``qubits`` (bit k is ``qubits[k]``).

    Single-qubit gates are multiplied up per qubit (2×2) and embedded once per run, before
    the next two-qubit gate: blocks are mostly such runs."""
    unitary = np.eye(4, dtype=complex)
    runs: list[np.ndarray | None] = [None, None]  # per bit of the block
    for op in members:
        matrix = constant_matrix(op)
        if len(op.qubits) == 1:
            bit = qubits.index(op.qubits[0])
            runs[bit] = matrix if runs[bit] is None else matrix @ runs[bit]
            continue
        unitary = _embedded(runs) @ unitary
        runs = [None, None]
        unitary = (matrix if op.qubits == qubits else matrix[_SWAPPED][:, _SWAPPED]) @ unitary
    return _embedded(runs) @ unitary


def _embedded(runs) -> np.ndarray:
    """The two single-qubit products as one 4×4 (bit 0, the low one, is ``runs[0]``)."""
    low, high = (_I2 if run is None else run for run in runs)
    return (high[:, None, :, None] * low[None, :, None, :]).reshape(4, 4)  # kron(high, low)


@cache
def _decomposer(gate: str, euler: str) -> TwoQubitBasisDecomposer:
    from qiskit.synthesis import TwoQubitBasisDecomposer  # slow to import

    return TwoQubitBasisDecomposer(qiskit_gate(gate), euler_basis=EULER_BASES[euler])


def synthesize_two_qubit(unitary: np.ndarray, qubits: tuple[int, ...], gate: str,
                         euler: str) -> list[Gate]:
    """``unitary`` on ``qubits`` with the fewest ``gate``s, each on ``qubits`` in that order,
    and single-qubit gates of the Euler basis ``euler`` (up to global phase)."""
    return [Gate(name, tuple(qubits[k] for k in positions), params)
            for name, positions, params in _synthesized(unitary.tobytes(), gate, euler)]


@lru_cache(maxsize=4096)
def _synthesized(unitary: bytes, gate: str, euler: str) -> tuple:
    """(name, qubit positions, angles) of each synthesized gate (cached: the fixed-point loop
    meets unchanged blocks again, and circuits repeat their blocks)."""
    circuit = _decomposer(gate, euler)(np.frombuffer(unitary, dtype=complex).reshape(4, 4))
    position = {q: k for k, q in enumerate(circuit.qubits)}
    return tuple((from_qiskit_name(inst.operation.name, inst.operation.num_qubits,
                                   len(inst.operation.params)),
                  tuple(position[q] for q in inst.qubits),
                  tuple(float(p) for p in inst.operation.params))
                 for inst in circuit.data)
