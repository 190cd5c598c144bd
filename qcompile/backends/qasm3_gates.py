"""Explicit unitaries for OpenQASM 3 output, synthesized into standard gates by
``qiskit.synthesis``, never by a hand-written decomposition."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ir.spellings import from_qiskit_name, openqasm_declared, openqasm_name

if TYPE_CHECKING:
    from qiskit import QuantumCircuit


def synthesize_unitary(matrix: np.ndarray) -> QuantumCircuit:
    """A circuit of ``U``/standard gates implementing ``matrix`` exactly (global phase kept).

    Qubit ``k`` of the circuit is bit ``k`` of the matrix index, as for IR ``Unitary`` ops.
    """
    from qiskit import transpile  # slow to import: only a circuit with unitaries needs it
    from qiskit.circuit.library import CXGate
    from qiskit.synthesis import (OneQubitEulerDecomposer, TwoQubitBasisDecomposer,
                                  qs_decomposition)

    num_qubits = int(np.log2(matrix.shape[0]))
    if num_qubits == 1:
        circuit = OneQubitEulerDecomposer("U")(matrix)
    elif num_qubits == 2:
        circuit = TwoQubitBasisDecomposer(CXGate(), euler_basis="U")(matrix)
    else:
        circuit = qs_decomposition(matrix)
    if any(qiskit_gate_name(inst.operation) is None for inst in circuit.data):
        circuit = transpile(circuit, basis_gates=["u", "cx"], optimization_level=0)
    return circuit


def qiskit_gate_name(operation) -> str | None:
    """The OpenQASM 3 name of a Qiskit gate in a synthesized circuit, if output may call
    it by name without a definition."""
    name = from_qiskit_name(operation.name, operation.num_qubits, len(operation.params))
    spelled = None if name is None else openqasm_name(name)
    return spelled if spelled is not None and openqasm_declared(spelled) else None
