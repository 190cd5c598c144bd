"""Qiskit-aer as an independent reference: final states and shot-count distributions."""

from __future__ import annotations

import numpy as np
import qiskit
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator


def without(qc: QuantumCircuit, names) -> QuantumCircuit:
    """A copy of ``qc`` with the named top-level instructions removed."""
    out = qc.copy_empty_like()
    for instruction in qc.data:
        if instruction.operation.name not in names:
            out.append(instruction)
    return out


def aer_statevector(qc: QuantumCircuit) -> np.ndarray:
    """Final state by qiskit-aer (much faster than ``Statevector`` for 16+ qubits)."""
    simulator = AerSimulator(method="statevector")
    qc = qiskit.transpile(qc, simulator, optimization_level=0)
    qc.save_statevector()
    return np.asarray(simulator.run(qc).result().get_statevector())


def aer_fidelity(a: QuantumCircuit, b: QuantumCircuit) -> float:
    return abs(np.vdot(aer_statevector(a), aer_statevector(b))) ** 2


def aer_distribution(qc: QuantumCircuit, shots: int = 20000, seed: int = 7
                     ) -> dict[tuple[int, ...], float]:
    """Relative frequencies of classical records, keyed like ``reference.outcome_distribution``
    (tuple index = clbit index). Truncation is off: aer 0.18 mis-handles a measurement inside
    an if-block when it truncates qubits."""
    simulator = AerSimulator(seed_simulator=seed, enable_truncation=False)
    counts = simulator.run(qiskit.transpile(qc, simulator), shots=shots).result().get_counts()
    out: dict[tuple[int, ...], float] = {}
    for key, count in counts.items():
        bits = tuple(int(b) for b in reversed(key.replace(" ", "")))
        out[bits] = out.get(bits, 0.0) + count / shots
    return out


def total_variation(p: dict, q: dict) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))
