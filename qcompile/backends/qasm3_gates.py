"""How IR gates and explicit unitaries are spelled in OpenQASM 3, and how they are
rewritten when the output may not call them (inlined definitions, a target basis).

Gates of ``stdgates.inc`` keep their names, except aliases, which are written under one name
(``u3``/``u`` → builtin ``U``, ``u1``/``phase`` → ``p``, ...). The few IR gates it lacks are
either renamed the same way (``cu1`` → ``cp``) or emitted with a ``gate`` definition written
in standard gates. Every definition here reproduces the IR matrix
exactly, global phase included, so it stays correct even if a consumer adds ``ctrl @`` to it.

``cu`` is never written by name: stdgates.inc defines ``cu(θ, φ, λ, γ)`` with a phase
``γ - θ/2`` on the control, which Amazon Braket applies, while its comment and Qiskit (and the
IR) mean a controlled ``U`` with relative phase ``γ``; ``p(γ)`` plus ``cu3`` is unambiguous.
"""

from __future__ import annotations

import copy
import functools
import math
import operator
from functools import cache

import numpy as np
import openqasm3
import sympy
from openqasm3 import ast
from openqasm3.visitor import QASMTransformer
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterExpression
from qiskit.circuit.library import CXGate, UnitaryGate, get_standard_gate_name_mapping
from qiskit.synthesis import OneQubitEulerDecomposer, TwoQubitBasisDecomposer, qs_decomposition
from qiskit.transpiler.exceptions import TranspilerError

from ..ir import (GATES, Circuit, Const, Expr, Gate, Param, QCompileError, Register, Symbol,
                  Unary, Unitary)
from .names import parameter_name
from .qiskit_circuit import to_qiskit

#: Every gate ``include "stdgates.inc";`` declares (OpenQASM 3.0 standard library).
STANDARD_GATES = frozenset({
    "p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cy", "cz",
    "cp", "crx", "cry", "crz", "ch", "swap", "ccx", "cswap", "cu", "CX", "phase", "cphase",
    "id", "u1", "u2", "u3",
})

#: IR gates written as another standard gate with exactly the same matrix. ``u`` and ``cu1``
#: are not in stdgates.inc; the aliases are, but consumers need fewer names without them, and
#: stdgates.inc defines ``phase``/``u1``/``u2``/``u3`` on a qubit named ``q``, which Amazon
#: Braket's interpreter (default simulator 1.41) confuses with a register ``q`` after a
#: mid-circuit measurement.
_SAME_MATRIX = {"u": "U", "u3": "U", "cu1": "cp", "cphase": "cp", "phase": "p", "u1": "p",
                "CX": "cx"}

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


def standard_form(op: Gate) -> list[Gate]:
    """``op`` as the OpenQASM 3 gates it is written as: aliases under one name (see above),
    and ``cu`` as ``p(γ)`` on the control then ``cu3``, since consumers disagree on ``cu``."""
    if op.name == "u2":  # u2(φ, λ) = U(π/2, φ, λ) exactly
        return [Gate("U", op.qubits, (Const(math.pi / 2), *op.params))]
    if op.name == "cu":
        theta, phi, lam, gamma = op.params
        return [Gate("p", op.qubits[:1], (gamma,)), Gate("cu3", op.qubits, (theta, phi, lam))]
    return [Gate(_SAME_MATRIX.get(op.name, op.name), op.qubits, op.params)]


def gate_definition(name: str) -> ast.QuantumGateDefinition | None:
    """A fresh ``gate`` definition for an IR gate outside ``stdgates.inc`` (None if standard)."""
    definition = _definitions().get(name)
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


# --- inline definitions ------------------------------------------------------------------------

def inline_definition(name: str, arguments: list[ast.Expression],
                      operands: list[ast.Expression]) -> list[ast.Statement]:
    """The body of IR gate ``name``'s definition, with ``arguments`` substituted for its
    parameters and ``operands`` for its qubits: what is written instead of a call when the
    output must declare no gates."""
    definition = _definitions()[name]
    bindings = {p.name: a for p, a in zip(definition.arguments, arguments)}
    bindings.update((q.name, o) for q, o in zip(definition.qubits, operands))
    substitute = _Substitute(bindings)
    return [substitute.visit(copy.deepcopy(statement)) for statement in definition.body]


class _Substitute(QASMTransformer):
    """Replaces parameter and qubit names (never gate names) by the bound AST nodes."""

    def __init__(self, bindings: dict[str, ast.Expression]):
        self.bindings = bindings

    def visit_QuantumGate(self, node: ast.QuantumGate, context=None) -> ast.QuantumGate:
        node.arguments = [self.visit(a) for a in node.arguments]
        node.qubits = [self.visit(q) for q in node.qubits]
        return node

    def visit_Identifier(self, node: ast.Identifier, context=None) -> ast.Expression:
        return copy.deepcopy(self.bindings.get(node.name, node))


# --- basis translation -------------------------------------------------------------------------

def gates_in_basis(op: Gate | Unitary, basis: tuple[str, ...]) -> list[Gate]:
    """``op`` as IR gates drawn from ``basis`` (IR gate names), up to a global phase.

    Qiskit's transpiler translates (its equivalence library for named gates, unitary synthesis
    for matrices); symbolic parameters stay symbolic, since named gates are translated once
    with placeholder parameters whose images are substituted here.
    """
    if isinstance(op, Unitary):
        qc = QuantumCircuit(len(op.qubits))
        qc.append(UnitaryGate(op.matrix), range(len(op.qubits)))
        steps = _translated(qc, basis, op.label)
    else:
        steps = _gate_template(op.name, basis)
    placeholders = {_placeholder(k): p for k, p in enumerate(getattr(op, "params", ()))}
    return [Gate(name, tuple(op.qubits[q] for q in qubits),
                 tuple(_from_sympy(p, placeholders) for p in params))
            for name, params, qubits in steps]


def _placeholder(k: int) -> str:
    return parameter_name(Symbol("p", (k,)))


@cache
def _gate_template(name: str, basis: tuple[str, ...]) -> tuple:
    spec = GATES[name]
    params = (Param("p", "input", (spec.num_params,)),) if spec.num_params else ()
    circuit = Circuit(name, (Register("q", spec.num_qubits),), (), params,
                      [Gate(name, range(spec.num_qubits),
                            [Symbol("p", (k,)) for k in range(spec.num_params)])])
    return _translated(to_qiskit(circuit), basis, name)


def _translated(qc: QuantumCircuit, basis: tuple[str, ...], what: str) -> tuple:
    """(IR name, sympy parameters, qubit positions) of each gate of ``qc`` in ``basis``."""
    ir_names = _qiskit_basis(basis)
    try:
        translated = transpile(qc, basis_gates=list(ir_names), optimization_level=0)
    except TranspilerError:
        raise QCompileError(
            f"cannot write gate '{what}' in the basis ({', '.join(basis)}): Qiskit's "
            "transpiler finds no translation; use a universal basis such as "
            "('rz', 'sx', 'x', 'cx')") from None
    return tuple((ir_names[inst.operation.name],
                  tuple(_sympify(p) for p in inst.operation.params),
                  tuple(translated.find_bit(q).index for q in inst.qubits))
                 for inst in translated.data)


@cache
def _qiskit_basis(basis: tuple[str, ...]) -> dict[str, str]:
    """Qiskit's name of each basis gate, mapped to the IR name."""
    standard = get_standard_gate_name_mapping()
    names = {}
    for name in basis:
        spec = GATES.get(name)
        if spec is not None:
            probe = Circuit("probe", (Register("q", spec.num_qubits),), (), (),
                            [Gate(name, range(spec.num_qubits), [0.0] * spec.num_params)])
            qiskit_name = to_qiskit(probe).data[0].operation.name
        if spec is None or qiskit_name not in standard:
            raise QCompileError(
                f"basis gate '{name}' is not usable: a basis lists IR gate names that Qiskit "
                f"also has as standard gates (such as rz, sx, x, cx, rzz, u)")
        names[qiskit_name] = name
    return names


def _sympify(value):
    return value.sympify() if isinstance(value, ParameterExpression) else sympy.Float(value)


_SYMPY_FUNCTIONS = {sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.exp: "exp",
                    sympy.log: "log", sympy.asin: "arcsin", sympy.acos: "arccos",
                    sympy.atan: "arctan"}


def _from_sympy(expr, placeholders: dict[str, Expr]) -> Expr:
    """The IR expression for a translated gate parameter, placeholders replaced."""
    if expr.is_number:
        return Const(float(expr))
    if expr.is_Symbol:
        return placeholders[expr.name]
    args = [_from_sympy(arg, placeholders) for arg in expr.args]
    if expr.is_Add:
        return functools.reduce(operator.add, args)
    if expr.is_Mul:
        return functools.reduce(operator.mul, args)
    if expr.is_Pow:
        return Const(1.0) / args[0] if expr.exp == -1 else args[0] ** args[1]
    return Unary(_SYMPY_FUNCTIONS[expr.func], args[0])
