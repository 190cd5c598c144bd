"""How IR gates and explicit unitaries are spelled in OpenQASM 3.

Gates of ``stdgates.inc`` keep their names. The few IR gates it lacks are either renamed to a
standard gate with the same matrix (``u`` → builtin ``U``, ``cu1`` → ``cp``) or emitted with a
``gate`` definition written in standard gates. Every definition here reproduces the IR matrix
exactly, global phase included, so it stays correct even if a consumer adds ``ctrl @`` to it.

``cu`` is emitted by name: we read ``stdgates.inc``'s ``cu(θ, φ, λ, γ)`` as its comment and
Qiskit do, a controlled ``U`` with relative phase ``γ`` on the control, which is the IR's ``cu``.
"""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import openqasm3
from openqasm3 import ast
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import CXGate
from qiskit.synthesis import OneQubitEulerDecomposer, TwoQubitBasisDecomposer, qs_decomposition

#: Every gate ``include "stdgates.inc";`` declares (OpenQASM 3.0 standard library).
STANDARD_GATES = frozenset({
    "p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cy", "cz",
    "cp", "crx", "cry", "crz", "ch", "swap", "ccx", "cswap", "cu", "CX", "phase", "cphase",
    "id", "u1", "u2", "u3",
})

#: IR gates with a differently named OpenQASM 3 equivalent of exactly the same matrix.
_RENAMED = {"u": "U", "cu1": "cp"}

# Exact definitions (checked against the IR matrices in tests/test_qasm3_emit.py). cu3's
# parameters (θ, φ, λ) are named p0, p1, p2 because Qiskit's importer (qiskit_qasm3_import
# 0.6) binds a definition's arguments in the *sorted order of their names*, not in declaration
# order; names that sort in declaration order are read correctly by every consumer.
_DEFINITIONS_SOURCE = """
gate sxdg a { h a; sdg a; h a; }
gate iswap a, b { s a; s b; h a; cx a, b; cx b, a; h b; }
gate iswapdg a, b { h b; cx b, a; cx a, b; h a; sdg b; sdg a; }
gate ecr a, b { h b; cx a, b; x a; rz(pi / 2) b; x b; cx a, b; h b; }
gate ccz a, b, c { h c; ccx a, b, c; h c; }
gate cu3(p0, p1, p2) a, b {
  p((p2 + p1) / 2) a; p((p2 - p1) / 2) b; cx a, b;
  U(-p0 / 2, 0, -(p1 + p2) / 2) b; cx a, b; U(p0 / 2, p1, 0) b;
}
gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }
gate ryy(theta) a, b {
  rx(pi / 2) a; rx(pi / 2) b; cx a, b; rz(theta) b; cx a, b; rx(-pi / 2) a; rx(-pi / 2) b;
}
gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }
"""


@cache
def _definitions() -> dict[str, ast.QuantumGateDefinition]:
    program = openqasm3.parse(_DEFINITIONS_SOURCE)
    return {node.name.name: node for node in program.statements}


#: Names of the gates this module defines when they are used.
DEFINED_GATES = frozenset(_definitions())


def spelling(name: str) -> str:
    """The OpenQASM 3 name under which IR gate ``name`` is called."""
    return _RENAMED.get(name, name)


def gate_definition(name: str) -> ast.QuantumGateDefinition | None:
    """A fresh ``gate`` definition for an IR gate outside ``stdgates.inc`` (None if standard)."""
    definition = _definitions().get(spelling(name))
    return copy.deepcopy(definition) if definition is not None else None


# --- explicit unitaries ----------------------------------------------------------------------

_EMITTABLE = STANDARD_GATES | {"U"}
_QISKIT_SPELLING = {"u": "U"}


def synthesize_unitary(matrix: np.ndarray) -> QuantumCircuit:
    """A circuit of ``U``/standard gates implementing ``matrix`` exactly (global phase kept).

    Qubit ``k`` of the circuit is bit ``k`` of the matrix index, as for IR ``Unitary`` ops.
    """
    num_qubits = int(np.log2(matrix.shape[0]))
    if num_qubits == 1:
        circuit = OneQubitEulerDecomposer("U")(matrix)
    elif num_qubits == 2:
        circuit = TwoQubitBasisDecomposer(CXGate(), euler_basis="U")(matrix)
    else:
        circuit = qs_decomposition(matrix)
    if any(qiskit_gate_name(inst.operation.name) not in _EMITTABLE for inst in circuit.data):
        circuit = transpile(circuit, basis_gates=["u", "cx"], optimization_level=0)
    return circuit


def qiskit_gate_name(name: str) -> str:
    """The OpenQASM 3 name of a Qiskit standard gate appearing in a synthesized circuit."""
    return _QISKIT_SPELLING.get(name, name)
