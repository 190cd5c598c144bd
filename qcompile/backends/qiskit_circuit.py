"""IR circuit → ``qiskit.QuantumCircuit``.

Symbolic parameters become ``qiskit.circuit.Parameter`` expressions (or numbers, when values
are given), so a compiled circuit can be bound late by Qiskit primitives, one parameter array
per input batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from qiskit.circuit import (ClassicalRegister, Parameter, QuantumCircuit, QuantumRegister)
from qiskit.circuit.classical import expr as classical
from qiskit.circuit.library import UnitaryGate

from ..ir import (Barrier, Circuit, Gate, IfElse, Measure, QCompileError, Reset, SetBits,
                  Unitary)
from ..ir.ops import constant_matrix
from ..ir.expr import Binary, Const, Expr, Symbol, Unary
from ..ir.spellings import qiskit_gate, qiskit_name
from .names import parameter_name

def to_qiskit(circuit: Circuit, values: Mapping[str, np.ndarray] | None = None) -> QuantumCircuit:
    """Convert a circuit; with ``values`` (one sample), parameters are bound to numbers."""
    qregs = [QuantumRegister(r.size, r.name) for r in circuit.qregs]
    cregs = [ClassicalRegister(r.size, r.name) for r in circuit.cregs]
    qc = QuantumCircuit(*qregs, *cregs, name=circuit.name)
    converter = _Converter(qc, values)
    converter.emit(circuit.ops, qc)
    return qc


class _Converter:
    def __init__(self, qc: QuantumCircuit, values):
        self.qc = qc
        self.values = values
        self.parameters: dict[str, Parameter] = {}

    def emit(self, ops, target: QuantumCircuit) -> None:
        qubits, clbits = target.qubits, target.clbits
        for op in ops:
            if isinstance(op, Gate):
                target.append(self.gate(op), [qubits[q] for q in op.qubits])
            elif isinstance(op, Unitary):
                target.append(UnitaryGate(op.matrix, label=op.label),
                              [qubits[q] for q in op.qubits])
            elif isinstance(op, Measure):
                target.measure(qubits[op.qubit], clbits[op.clbit])
            elif isinstance(op, Reset):
                target.reset(qubits[op.qubit])
            elif isinstance(op, SetBits):
                for k, bit in enumerate(op.clbits):
                    target.store(clbits[bit], classical.lift(bool(op.value >> k & 1)))
            elif isinstance(op, Barrier):
                target.barrier(*[qubits[q] for q in op.qubits])
            elif isinstance(op, IfElse):
                self.if_else(op, target)
            else:
                raise TypeError(f"cannot convert {op!r}")

    def composite(self, op: Gate):
        """One instruction for a gate Qiskit lacks: the inverse of Qiskit's gate for its
        inverse (iswapdg), else the gate library's exact definition (a gate added to the
        library), else its matrix."""
        inverse = op.inverse()
        if qiskit_name(inverse.name) is not None:
            return self.gate(inverse).inverse()
        local = Gate(op.name, range(len(op.qubits)), op.params)
        if local.definition():
            body = QuantumCircuit(len(op.qubits), name=op.name)
            self.emit(local.definition(), body)
            return body.to_gate(label=op.name)
        matrix = constant_matrix(op)
        if matrix is None:
            raise QCompileError(f"gate {op.name!r} has no Qiskit equivalent and no definition "
                                f"in the gate library, so its symbolic parameters cannot be "
                                f"kept; bind them first")
        return UnitaryGate(matrix, label=op.name)

    def if_else(self, op: IfElse, target: QuantumCircuit) -> None:
        cond_bits = op.condition.clbits
        if len(cond_bits) == 1:
            condition = (self.qc.clbits[cond_bits[0]], op.condition.value)
        else:
            condition = (_register_for(self.qc, cond_bits), op.condition.value)
        with target.if_test(condition) as else_:
            self.emit(op.then_body, target)
        if op.else_body:
            with else_:
                self.emit(op.else_body, target)

    def gate(self, op: Gate):
        if qiskit_name(op.name) is None:
            return self.composite(op)
        return qiskit_gate(op.name, [self.expression(p) for p in op.params])

    def expression(self, expr: Expr):
        if isinstance(expr, Const):
            return expr.value
        if isinstance(expr, Symbol):
            if self.values is not None:
                return float(np.asarray(self.values[expr.name])[expr.index])
            name = parameter_name(expr)
            return self.parameters.setdefault(name, Parameter(name))
        if isinstance(expr, Unary):
            arg = self.expression(expr.arg)
            if expr.op == "neg":
                return -arg
            if isinstance(arg, float):
                return float(getattr(np, expr.op)(arg))
            return getattr(arg, {"arcsin": "arcsin", "arccos": "arccos",
                                 "arctan": "arctan"}.get(expr.op, expr.op))()
        if isinstance(expr, Binary):
            lhs, rhs = self.expression(expr.lhs), self.expression(expr.rhs)
            return {"+": lambda: lhs + rhs, "-": lambda: lhs - rhs, "*": lambda: lhs * rhs,
                    "/": lambda: lhs / rhs, "**": lambda: lhs ** rhs}[expr.op]()
        raise TypeError(f"not an expression: {expr!r}")


def _register_for(qc: QuantumCircuit, clbits: tuple[int, ...]) -> ClassicalRegister:
    """The classical register whose bits are exactly ``clbits`` in order (Qiskit conditions
    on several bits must name a register)."""
    wanted = [qc.clbits[b] for b in clbits]
    for reg in qc.cregs:
        if list(reg) == wanted:
            return reg
    reg = ClassicalRegister(bits=wanted, name=f"cond{len(qc.cregs)}")
    qc.add_register(reg)
    return reg
