"""Rewriting IR gates and explicit unitaries for OpenQASM 3 output that may not call them:
unitaries synthesized into standard gates, and everything translated into a target basis.

Both go through Qiskit (``qiskit.synthesis`` and its transpiler's equivalence library), never
a hand-written decomposition.
"""

from __future__ import annotations

import functools
import operator
from functools import cache

import numpy as np
import sympy
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterExpression
from qiskit.circuit.library import CXGate, UnitaryGate
from qiskit.synthesis import OneQubitEulerDecomposer, TwoQubitBasisDecomposer, qs_decomposition
from qiskit.transpiler.exceptions import TranspilerError

from ..ir import GATES, Circuit, Const, Expr, Gate, Param, QCompileError, Register, Symbol
from ..ir import Unary, Unitary
from ..ir.spellings import from_qiskit_name, openqasm_declared, openqasm_name, qiskit_name
from .names import parameter_name
from .qiskit_circuit import to_qiskit


# --- explicit unitaries ----------------------------------------------------------------------

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
    if any(qiskit_gate_name(inst.operation) is None for inst in circuit.data):
        circuit = transpile(circuit, basis_gates=["u", "cx"], optimization_level=0)
    return circuit


def qiskit_gate_name(operation) -> str | None:
    """The OpenQASM 3 name of a Qiskit gate in a synthesized circuit, if output may call
    it by name without a definition."""
    name = from_qiskit_name(operation.name, operation.num_qubits, len(operation.params))
    spelled = None if name is None else openqasm_name(name)
    return spelled if spelled is not None and openqasm_declared(spelled) else None


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
    names = {}
    for name in basis:
        spelled = qiskit_name(name) if name in GATES else None
        if spelled is None:
            raise QCompileError(
                f"basis gate '{name}' is not usable: a basis lists IR gate names that Qiskit "
                f"also has as standard gates (such as rz, sx, x, cx, rzz, u)")
        names[spelled] = name
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
