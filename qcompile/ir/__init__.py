"""The hybrid IR: circuits with symbolic parameters, and the classical dataflow around them.

This package depends on nothing else in qcompile: frontends build it, passes rewrite it,
backends consume it.
"""

from .bind import bind, bind_each
from .circuit import Circuit, Param, Register
from .diagnostics import QCompileError, SourceLocation, VerificationError
from .expr import PI, Binary, Const, Expr, Symbol, Unary
from .gates import GATES, gate_matrix
from .ops import Barrier, Condition, Gate, IfElse, Measure, Operation, Reset, SetBits, Unitary
from .parser import looks_like_ir, parse_program
from .printer import print_program
from .program import (Counts, ExpVal, PauliTerm, Probs, Program, QuantumCall, State,
                      TensorDecl, TensorOp)
from .verify import value_shapes, verify_circuit, verify_program

__all__ = [
    "Barrier", "Binary", "Circuit", "Condition", "Const", "Counts", "ExpVal", "Expr", "GATES",
    "Gate", "IfElse", "Measure", "Operation", "PI", "Param", "PauliTerm", "Probs", "Program",
    "QCompileError", "QuantumCall", "Register", "Reset", "SetBits", "SourceLocation", "State",
    "Symbol", "TensorDecl", "TensorOp", "Unary", "Unitary", "VerificationError", "bind",
    "bind_each", "gate_matrix",
    "value_shapes", "verify_circuit", "verify_program",
    "looks_like_ir", "parse_program", "print_program",
]
