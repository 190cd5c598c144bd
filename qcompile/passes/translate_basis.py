"""Translate-basis: every gate written in a target's gates, symbolic angles kept symbolic.

Qiskit's transpiler does the translating (its equivalence library for named gates, unitary
synthesis for explicit matrices), never a hand-written table. A named gate is translated once
per basis with placeholder parameters, and the images of the placeholders are substituted
with the gate's own angle expressions, so a parametrized model is translated once and serves
every binding. Gates Qiskit does not have (``iswapdg``, gates added to the library) are
first written as their library definitions. The result equals the input up to a global
phase, which nothing in the IR can observe.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING

from ..ir import GATES, Const, Expr, Gate, Operation, QCompileError, Unitary
from ..ir.expr import Unary
from ..ir.spellings import qiskit_gate, qiskit_name
from .base import BlockPass, option, register_pass

if TYPE_CHECKING:  # Qiskit and sympy are slow to import: only a translation imports them
    from qiskit import QuantumCircuit


def parse_basis(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """Basis gate names from ``"cx,rz,sx,x"`` (or a tuple), each a library gate Qiskit also
    has; at least one of them must act on two qubits."""
    names = tuple(dict.fromkeys(text.replace(",", " ").split() if isinstance(text, str)
                                else text))
    if not names:
        raise QCompileError("the basis is empty; list gates such as cx,rz,sx,x")
    for name in names:
        if name not in GATES or qiskit_name(name) is None:
            raise QCompileError(
                f"basis gate {name!r} is not usable: a basis lists gates of the library that "
                f"Qiskit also has, such as rz, sx, x, cx, cz, ecr, rzz, u")
    if not any(GATES[name].num_qubits == 2 for name in names):
        raise QCompileError(f"the basis {','.join(names)} has no two-qubit gate, so no "
                            f"entangling circuit can be written in it; add one such as cx")
    return names


def gates_in_basis(op: Gate | Unitary, basis: tuple[str, ...]) -> list[Gate]:
    """``op`` as gates drawn from ``basis``, up to a global phase."""
    if isinstance(op, Gate) and op.name in basis:
        return [op]
    if isinstance(op, Gate) and qiskit_name(op.name) is None:
        return [g for inner in _definition(op) for g in gates_in_basis(inner, basis)]
    if isinstance(op, Unitary):
        from qiskit import QuantumCircuit
        from qiskit.circuit.library import UnitaryGate

        qc = QuantumCircuit(len(op.qubits))
        qc.append(UnitaryGate(op.matrix), range(len(op.qubits)))
        steps = _translated(qc, basis, op.label)
    else:
        steps = _gate_template(op.name, basis)
    placeholders = {f"p{k}": p for k, p in enumerate(getattr(op, "params", ()))}
    return [Gate(name, tuple(op.qubits[q] for q in qubits),
                 tuple(_from_sympy(p, placeholders) for p in params))
            for name, params, qubits in steps]


def _definition(op: Gate) -> list[Gate]:
    definition = op.definition()
    if not definition:
        raise QCompileError(f"cannot translate gate {op.name!r} into a basis: Qiskit does not "
                            f"have it and the gate library gives no definition")
    return definition


@cache
def _gate_template(name: str, basis: tuple[str, ...]) -> tuple:
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    spec = GATES[name]
    qc = QuantumCircuit(spec.num_qubits)
    params = [Parameter(f"p{k}") for k in range(spec.num_params)]
    qc.append(qiskit_gate(name, params), range(spec.num_qubits))
    return _translated(qc, basis, name)


def _translated(qc: QuantumCircuit, basis: tuple[str, ...], what: str) -> tuple:
    """(IR name, sympy parameters, qubit positions) of each gate of ``qc`` in ``basis``."""
    from qiskit import transpile
    from qiskit.transpiler.exceptions import TranspilerError

    ir_names = {qiskit_name(name): name for name in basis}
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


def _sympify(value):
    import sympy
    from qiskit.circuit import ParameterExpression

    return value.sympify() if isinstance(value, ParameterExpression) else sympy.Float(value)


@cache
def _sympy_functions() -> dict:
    """sympy function -> IR unary function."""
    import sympy

    return {sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.exp: "exp",
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
    return Unary(_sympy_functions()[expr.func], args[0])


@register_pass("translate-basis")
@dataclass(frozen=True)
class TranslateBasis(BlockPass):
    """Write every gate and unitary in the basis gates (e.g. basis='cx,rz,sx,x').

    Symbolic angles stay symbolic; the result is exact up to a global phase. With
    ``multi_qubit_only``, single-qubit operations are left as they are (an optimizer that
    resynthesizes single-qubit runs in the basis anyway then has fewer gates to look at).
    """

    basis: str = option("cx,rz,sx,x")
    multi_qubit_only: bool = option(False)

    def __post_init__(self):
        super().__post_init__()
        self.gates  # noqa: B018 (a bad basis fails when the pass is built)

    @cached_property
    def gates(self) -> tuple[str, ...]:
        try:
            return parse_basis(self.basis)
        except QCompileError as err:
            raise QCompileError(f"translate-basis: {err.message}") from None

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        return [g for op in ops for g in (gates_in_basis(op, self.gates)
                                          if self._translates(op) else [op])]

    def _translates(self, op: Operation) -> bool:
        return isinstance(op, (Gate, Unitary)) and (len(op.qubits) > 1
                                                   or not self.multi_qubit_only)
