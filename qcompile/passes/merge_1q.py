"""Merge-1q: collapse each run of single-qubit operations on one qubit into fewer gates.

A run is a maximal sequence of single-qubit gates and unitaries on one qubit with nothing in
between touching that qubit (operations on other qubits may interleave; the merged gates are
placed where the run ends, which changes nothing since the run's qubit is idle in between).

Constant parts of a run are multiplied out and resynthesized with Qiskit's
``OneQubitEulerDecomposer``; this drops the global phase. That is safe everywhere in the IR:
nothing is ever *quantum*-controlled on a sub-circuit, and an if/else branch is selected by a
classical bit, so a phase on a branch multiplies the state of that classical record only and
cancels in its density matrix. The statevector changes by an unobservable overall phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import groupby
from typing import TYPE_CHECKING

import numpy as np

from ..ir import GATES, Gate, Operation, Unitary
from ..ir.dag import DependencyDag
from ..ir.expr import fold
from ..ir.gates import is_additive
from ..ir.ops import constant_matrix
from .base import BlockPass, option, register_pass

if TYPE_CHECKING:
    from qiskit.synthesis import OneQubitEulerDecomposer

#: option value -> Qiskit Euler basis. Each emits gates the IR knows by the same name.
EULER_BASES = {"u": "U", "zyz": "ZYZ", "zxz": "ZXZ", "xyx": "XYX", "xzx": "XZX",
               "zsx": "ZSX", "zsxx": "ZSXX", "psx": "PSX"}
#: The gates each Euler basis writes (canonical names).
EULER_GATES = {"u": {"u"}, "zyz": {"rz", "ry"}, "zxz": {"rz", "rx"}, "xyx": {"rx", "ry"},
               "xzx": {"rx", "rz"}, "zsx": {"rz", "sx"}, "zsxx": {"rz", "sx", "x"},
               "psx": {"p", "sx"}}


def euler_basis_within(gates) -> str | None:
    """The Euler basis (an option value) writing only ``gates``, the richest first; None
    when none does (then single-qubit runs are left as translated)."""
    canonical = {GATES[g].canonical for g in gates}
    return next((name for name in ("zsxx", "zsx", "psx", "u", "zyz", "zxz", "xyx", "xzx")
                 if EULER_GATES[name] <= canonical), None)


def _is_phase(matrix: np.ndarray) -> bool:
    """A global phase times the identity (which an Euler synthesis writes as no gate)."""
    return bool(abs(matrix[0, 1]) + abs(matrix[1, 0]) + abs(matrix[0, 0] - matrix[1, 1])
                <= 1e-12)


def _is_single_qubit(op: Operation) -> bool:
    return isinstance(op, (Gate, Unitary)) and len(op.qubits) == 1


def _axis(op: Gate | Unitary) -> str | None:
    """The canonical name of an additive rotation (g(a) g(b) = g(a + b)), else None."""
    return GATES[op.name].canonical if isinstance(op, Gate) and is_additive(op.name) else None


def merge_same_axis(run: list[Gate | Unitary]) -> list[Gate | Unitary]:
    """Sum the angles of adjacent rotations about the same axis (symbolic or not)."""
    out: list[Gate | Unitary] = []
    for op in run:
        axis = _axis(op)
        if axis is not None and out and _axis(out[-1]) == axis:
            out[-1] = Gate(axis, op.qubits, (fold(out[-1].params[0] + op.params[0]),))
        else:
            out.append(op)
    return out


@register_pass("merge-1q")
@dataclass(frozen=True)
class Merge1Q(BlockPass):
    """Merge runs of single-qubit gates into one Euler-basis gate sequence per run.

    Constant runs are multiplied out and resynthesized (default: one ``u`` gate), or dropped
    when they are the identity up to global phase; a run is only replaced when that lowers
    its gate count. Symbolic gates stay, but adjacent rotations about the same axis (rz+rz,
    rx+rx, ry+ry, p+p) merge into one with the summed angle. Option ``basis``: one of u,
    zyz, zxz, xyx, xzx, zsx, psx.
    """

    basis: str = option("u", choices=EULER_BASES)

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        dag = DependencyDag(ops)
        merged_runs: set[int] = set()
        for node in range(len(dag)):
            if not _is_single_qubit(ops[node]) or node in merged_runs:
                continue
            wire = dag.wires(node)[0]
            run = [node]
            while (after := dag.after(run[-1], wire)) is not None and _is_single_qubit(
                    ops[after]):
                run.append(after)
            merged_runs.update(run)
            merged = self.merge_run([ops[n] for n in run])
            for member in run[:-1]:
                dag.remove(member)
            dag.replace(run[-1], merged)
        return dag.ops()

    def merge_run(self, run: list[Gate | Unitary]) -> list[Gate | Unitary]:
        """The shortest replacement this pass finds for one run on one qubit."""
        out: list[Gate | Unitary] = []
        merged = merge_same_axis(run)
        for numeric, group in groupby(merged, key=lambda op: constant_matrix(op) is not None):
            group = list(group)
            out.extend(self._resynthesize(group) if numeric else group)
        return out

    def _resynthesize(self, segment: list[Gate | Unitary]) -> list[Gate | Unitary]:
        """One Euler sequence for consecutive constant operations, if it is shorter."""
        product = np.eye(2, dtype=complex)
        for op in segment:
            product = constant_matrix(op) @ product
        if len(segment) == 1:  # only a phase times the identity gets shorter: no gate
            return [] if _is_phase(product) else segment
        written = _euler_gates(self.basis, product.tobytes())
        if len(written) >= len(segment):
            return segment
        return [Gate(name, segment[0].qubits, params) for name, params in written]


@lru_cache(maxsize=4096)
def _euler_gates(basis: str, matrix: bytes) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """(name, angles) of the Euler synthesis of a 2×2 unitary (cached: the fixed-point loop
    meets unchanged runs again, and circuits repeat their runs)."""
    unitary = np.frombuffer(matrix, dtype=complex).reshape(2, 2)
    written = _decomposer(basis)(unitary, simplify=True)
    return tuple((inst.operation.name, tuple(float(p) for p in inst.operation.params))
                 for inst in written.data)


@cache
def _decomposer(basis: str) -> OneQubitEulerDecomposer:
    from qiskit.synthesis import OneQubitEulerDecomposer  # slow to import

    return OneQubitEulerDecomposer(EULER_BASES[basis])
