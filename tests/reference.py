"""An independent reference semantics for circuits, measurement and feed-forward included.

It evolves density matrices with Qiskit's ``DensityMatrix`` and ``Operator`` (gate matrices
come from Qiskit's own gate classes via :func:`to_qiskit`; each run of gates between
measurements, resets and branches is one operator), keeping one unnormalized density matrix
per classical record. Nothing here shares code with qcompile's simulator.
"""

from __future__ import annotations

import numpy as np
from qiskit.quantum_info import DensityMatrix, Operator, Statevector

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.ir import Barrier, Circuit, IfElse, Measure, Reset, SetBits

_P0 = np.array([[1, 0], [0, 0]], dtype=complex)
_P1 = np.array([[0, 0], [0, 1]], dtype=complex)
_LOWER = np.array([[0, 1], [0, 0]], dtype=complex)  # |0><1|: moves |1> to |0> for reset


def _evolve(records: dict, circuit: Circuit, ops: list, values) -> dict:
    """Apply a run of unitary ops as one operator: Qiskit's own gates, composed by Qiskit."""
    operator = Operator(to_qiskit(circuit.with_ops(ops), values))
    return {bits: rho.evolve(operator) for bits, rho in records.items()}


def exact_outcomes(circuit: Circuit, values=None) -> dict[tuple[int, ...], DensityMatrix]:
    """Map each classical record (tuple of clbit values) to its unnormalized final density
    matrix; the trace of each is the probability of that record."""
    n = circuit.num_qubits
    records = {(0,) * circuit.num_clbits: DensityMatrix(Statevector.from_int(0, 2 ** n))}
    return _run(circuit, circuit.ops, records, values)


def _kraus(rho: DensityMatrix, ops, qubit: int) -> DensityMatrix:
    out = None
    for k in ops:
        term = rho.evolve(Operator(k), [qubit])
        out = term if out is None else DensityMatrix(out.data + term.data)
    return out


def _run(circuit, ops, records, values):
    unitary: list = []  # the run of unitary ops not applied yet
    for op in ops:
        if isinstance(op, Barrier):
            continue
        if not isinstance(op, (Measure, Reset, IfElse, SetBits)):
            unitary.append(op)
            continue
        if unitary:
            records, unitary = _evolve(records, circuit, unitary, values), []
        if isinstance(op, Measure):
            updated: dict = {}
            for bits, rho in records.items():
                for outcome, proj in ((0, _P0), (1, _P1)):
                    new_bits = list(bits)
                    new_bits[op.clbit] = outcome
                    part = _kraus(rho, [proj], op.qubit)
                    key = tuple(new_bits)
                    updated[key] = (part if key not in updated
                                    else DensityMatrix(updated[key].data + part.data))
            records = updated
        elif isinstance(op, Reset):
            records = {b: _kraus(r, [_P0, _LOWER], op.qubit) for b, r in records.items()}
        elif isinstance(op, SetBits):
            updated = {}
            for bits, rho in records.items():
                new_bits = list(bits)
                for k, bit in enumerate(op.clbits):
                    new_bits[bit] = op.value >> k & 1
                key = tuple(new_bits)
                updated[key] = (rho if key not in updated
                                else DensityMatrix(updated[key].data + rho.data))
            records = updated
        elif isinstance(op, IfElse):
            updated = {}
            for bits, rho in records.items():
                body = op.then_body if op.condition.holds(bits) else op.else_body
                for key, part in _run(circuit, body, {bits: rho}, values).items():
                    updated[key] = (part if key not in updated
                                    else DensityMatrix(updated[key].data + part.data))
            records = updated
    return _evolve(records, circuit, unitary, values) if unitary else records


def outcome_distribution(circuit: Circuit, values=None) -> dict[tuple[int, ...], float]:
    """Probability of each classical record, dropping those of (numerically) zero weight."""
    out = {}
    for bits, rho in exact_outcomes(circuit, values).items():
        p = float(np.real(rho.trace()))
        if p > 1e-12:
            out[bits] = p
    return out


def final_density_matrix(circuit: Circuit, values=None) -> np.ndarray:
    """The final quantum state averaged over all classical records."""
    return sum(rho.data for rho in exact_outcomes(circuit, values).values())
