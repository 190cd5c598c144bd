"""``qiskit.QuantumCircuit`` → IR circuit.

Standard gates map by name; unbound parameters become circuit inputs (a ``ParameterVector``
becomes one input tensor, a lone ``Parameter`` a scalar); any other fully bound gate becomes
an explicit :class:`Unitary`. Measurement, reset, barrier and ``if_test`` blocks on a bit or
a register map onto their IR forms.
"""

from __future__ import annotations

import ast

import numpy as np
from qiskit.circuit import (Clbit, ClassicalRegister, ControlFlowOp, IfElseOp, ParameterExpression,
                            ParameterVectorElement, QuantumCircuit, Store)
from qiskit.circuit.classical import expr as classical
from qiskit.quantum_info import Operator

from ..ir import (Barrier, Circuit, Condition, Gate, IfElse, Measure, Param,
                  QCompileError, Register, Reset, SetBits, Symbol, Unitary, verify_circuit)
from ..ir.expr import Binary, Const, Expr, Unary, as_expr
from ..ir.spellings import from_qiskit_name

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_FUNCTIONS = {"sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "log": "log",
              "sqrt": "sqrt", "asin": "arcsin", "acos": "arccos", "atan": "arctan"}
_IGNORED = {"delay", "global_phase"}


def from_qiskit(qc: QuantumCircuit) -> Circuit:
    """Convert a circuit; unsupported instructions raise :class:`QCompileError`."""
    converter = _Converter(qc)
    ops = converter.body(qc, {bit: i for i, bit in enumerate(qc.qubits)},
                         {bit: i for i, bit in enumerate(qc.clbits)})
    circuit = Circuit(qc.name, _registers(qc.qregs, qc.num_qubits, "q"),
                      _registers(qc.cregs, qc.num_clbits, "c"), converter.params(), ops)
    verify_circuit(circuit)
    return circuit


def _registers(registers, count: int, fallback: str) -> tuple[Register, ...]:
    """The circuit's own registers when they list its bits in order, else one register."""
    bits = [bit for reg in registers for bit in reg]
    if len(bits) == count and len(set(bits)) == count:
        return tuple(Register(reg.name, reg.size) for reg in registers if reg.size)
    return (Register(fallback, count),) if count else ()


class _Converter:
    def __init__(self, qc: QuantumCircuit):
        self.qc = qc
        self.inputs: dict[str, tuple[int, ...]] = {}

    def params(self) -> tuple[Param, ...]:
        return tuple(Param(name, "input", shape) for name, shape in self.inputs.items())

    def body(self, block: QuantumCircuit, qubit_index: dict, clbit_index: dict) -> tuple:
        """The operations of ``block``, whose bits map to flat indices by the two maps."""
        ops = []
        for instruction in block.data:
            ops.extend(self.instruction(instruction, qubit_index, clbit_index))
        return tuple(ops)

    def instruction(self, instruction, qubit_index: dict, clbit_index: dict):
        op = instruction.operation
        qubits = tuple(qubit_index[q] for q in instruction.qubits)
        clbits = tuple(clbit_index[c] for c in instruction.clbits)
        if op.name == "measure":
            return [Measure(qubits[0], clbits[0])]
        if op.name == "reset":
            return [Reset(qubits[0])]
        if op.name == "barrier":
            return [Barrier(qubits)]
        if op.name in _IGNORED:
            return []
        if isinstance(op, IfElseOp):
            # A block's bits stand for the instruction's bits, position by position.
            bodies = [self.body(block, dict(zip(block.qubits, qubits)),
                                dict(zip(block.clbits, clbits))) for block in op.blocks]
            return [IfElse(self.condition(op.condition, clbit_index), *bodies)]
        if isinstance(op, Store):
            return [self.store(op, clbit_index)]
        if isinstance(op, ControlFlowOp):
            raise QCompileError(f"control flow '{op.name}' is not supported (only if_test "
                                "has an IR form)")
        return [self.gate(op, qubits)]

    def gate(self, op, qubits):
        name = from_qiskit_name(op.name, len(qubits), len(op.params))
        if name is not None and not _mutated(op):
            return Gate(name, qubits, tuple(self.expression(p) for p in op.params))
        if any(isinstance(p, ParameterExpression) and p.parameters for p in op.params):
            raise QCompileError(f"gate '{op.name}' has no IR equivalent and unbound "
                                "parameters, so it cannot be converted to a matrix")
        try:
            matrix = Operator(op).data
        except Exception as exc:  # Qiskit raises several types for matrix-less instructions
            raise QCompileError(f"instruction '{op.name}' has no IR equivalent and no "
                                f"matrix: {exc}") from None
        return Unitary(matrix, qubits, op.name)

    def store(self, op: Store, clbit_index: dict) -> SetBits:
        target, value = op.lvalue, op.rvalue
        if (isinstance(target, classical.Var) and isinstance(target.var, Clbit)
                and isinstance(value, classical.Value)):
            return SetBits((clbit_index[target.var],), int(bool(value.value)))
        raise QCompileError(f"store of {value} into {target} is not supported (only a "
                            "constant into one classical bit has an IR form)")

    def condition(self, condition, clbit_index: dict) -> Condition:
        if not isinstance(condition, tuple):
            raise QCompileError("only conditions of the form (bit or register, value) are "
                                "supported, not classical expressions")
        target, value = condition
        if isinstance(target, Clbit):
            return Condition((clbit_index[target],), int(value))
        if isinstance(target, ClassicalRegister):
            return Condition(tuple(clbit_index[b] for b in target), int(value))
        raise QCompileError(f"unsupported condition target {target!r}")

    def expression(self, value) -> Expr:
        if not isinstance(value, ParameterExpression):
            return as_expr(float(np.real_if_close(value)))
        if not value.parameters:
            return as_expr(float(np.real_if_close(complex(value))))
        for parameter in value.parameters:
            self._declare(parameter)
        return self._python_expr(ast.parse(str(value), mode="eval").body, value)

    def _declare(self, parameter) -> None:
        if isinstance(parameter, ParameterVectorElement):
            self.inputs[parameter.vector.name] = (len(parameter.vector),)
        else:
            self.inputs[parameter.name] = ()

    def _python_expr(self, node, whole) -> Expr:
        """Qiskit prints parameter expressions in Python syntax; read them back as IR."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Const(node.value)
        if isinstance(node, ast.Name):
            return Symbol(node.id)
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
                and isinstance(node.slice, ast.Constant)):
            return Symbol(node.value.id, (node.slice.value,))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self._python_expr(node.operand, whole)
            return Unary("neg", inner) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return Binary(_BINARY[type(node.op)], self._python_expr(node.left, whole),
                          self._python_expr(node.right, whole))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCTIONS and len(node.args) == 1):
            return Unary(_FUNCTIONS[node.func.id], self._python_expr(node.args[0], whole))
        raise QCompileError(f"parameter expression '{whole}' uses an operation the IR does "
                            "not have")


def _mutated(op) -> bool:
    """Gates whose name is standard but whose action is not (e.g. a custom control state)."""
    return getattr(op, "ctrl_state", None) not in (None, 2 ** getattr(op, "num_ctrl_qubits",
                                                                       0) - 1)
