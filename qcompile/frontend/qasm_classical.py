"""OpenQASM's run-time classical values, lowered onto classical bits.

The IR's only classical state is its bits: measurement writes them, :class:`SetBits` writes
constants, and if/else reads them. A classical variable therefore stays a compile-time value
for as long as it can and moves into bits of its own the moment it must hold something known
only at run time (a measured value, or an assignment under a run-time condition). Every
expression over run-time bits is then decided by evaluating it on each value of the bits it
reads that are not known (:func:`~.qasm_common.switch`), which is exact, and finite because a
condition may read at most a bounded number of unknown bits.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

from openqasm3 import ast

from .qasm_expr import ExpressionEvaluator, Fail, Value

#: Classical types a variable may have, and how many bits hold one where no width is given.
STORABLE = (ast.IntType, ast.UintType, ast.BoolType, ast.AngleType, ast.FloatType)
DEFAULT_WIDTH = 32


class Angle(float):
    """An ``angle[n]`` value: the float it stands for, remembering its n bits, on which
    OpenQASM's shifts and bitwise operators act."""

    pattern: int
    width: int

    def __new__(cls, pattern: int, width: int):
        pattern &= (1 << width) - 1
        angle = super().__new__(cls, 2 * math.pi * pattern / (1 << width))
        angle.pattern, angle.width = pattern, width
        return angle


_BITWISE = {"<<": operator.lshift, ">>": operator.rshift, "&": operator.and_,
            "|": operator.or_, "^": operator.xor}


@dataclass
class Variable:
    """A non-constant classical variable: its value while known at compile time; once it
    must hold a run-time value, ``bits`` (least significant first) hold it instead."""

    name: str
    kind: ast.ClassicalType
    width: int | None  # None for float: its values have no bit form here
    value: Value | None = 0
    bits: tuple[int, ...] | None = None

    def encode(self, value) -> int:
        return encode(self.kind, self.width, value)

    def decode(self, pattern: int) -> Value:
        return decode(self.kind, self.width, pattern)


def encode(kind: ast.ClassicalType | None, width: int, value) -> int:
    """The bit pattern of ``value`` in ``width`` bits: integers and bools in two's
    complement, an ``angle[n]`` as the nearest multiple of 2π/2ⁿ (``kind`` None: bits)."""
    if isinstance(kind, ast.AngleType):
        value = round(float(value) / (2 * math.pi) * (1 << width))
    return int(value) & ((1 << width) - 1)


def decode(kind: ast.ClassicalType | None, width: int, pattern: int) -> Value:
    """What a bit pattern reads as in the variable's type (``kind`` None: unsigned bits)."""
    if isinstance(kind, ast.BoolType):
        return bool(pattern)
    if isinstance(kind, ast.IntType) and pattern >> (width - 1):
        return pattern - (1 << width)
    if isinstance(kind, ast.AngleType):
        return Angle(pattern, width)
    return pattern


#: A stored value an expression names: its bits and how their pattern reads.
Stored = tuple[tuple[int, ...], Callable[[int], Value]]


class StoredValues(ExpressionEvaluator):
    """Folds expressions that may read classical bits: a bit register reads as the unsigned
    integer it spells (``~`` flips it within its width), a stored variable as its type says;
    ``bit_value`` gives each bit's value (known, or assumed while a switch is decided)."""

    def __init__(self, lookup, fail: Fail, stored: Callable[[ast.Expression], Stored | None],
                 bit_value: Callable[[int, ast.QASMNode], int]):
        super().__init__(lookup, fail)
        self.stored = stored
        self.bit_value = bit_value

    def value(self, node):
        found = self.stored(node)
        if found is not None:
            bits, read = found
            return read(sum(self.bit_value(b, node) << k for k, b in enumerate(bits)))
        if isinstance(node, ast.UnaryExpression) and node.op.name == "~":
            inner = self.stored(node.expression)
            if inner is not None:
                return ~self.value(node.expression) & ((1 << len(inner[0])) - 1)
        return super().value(node)

    def _BinaryExpression(self, node):
        if node.op.name in _BITWISE:
            lhs = self.value(node.lhs)
            if isinstance(lhs, Angle):
                rhs = self.value(node.rhs)
                other = rhs.pattern if isinstance(rhs, Angle) else self._as_int(rhs, node.rhs)
                return Angle(_BITWISE[node.op.name](lhs.pattern, other), lhs.width)
        return super()._BinaryExpression(node)

    def _UnaryExpression(self, node):
        if node.op.name == "~":
            value = self.value(node.expression)
            if isinstance(value, Angle):
                return Angle(~value.pattern, value.width)
        return super()._UnaryExpression(node)


def subexpressions(node) -> list[ast.QASMNode]:
    """The nodes directly inside an expression node (a cast's type and its size too; a
    function's arguments, not its name)."""
    if isinstance(node, ast.FunctionCall):
        return list(node.arguments)
    children = []
    for field in getattr(node, "__dataclass_fields__", {}):
        value = getattr(node, field)
        for item in value if isinstance(value, list) else [value]:
            for inner in item if isinstance(item, list) else [item]:
                if isinstance(inner, (ast.Expression, ast.ClassicalType, ast.DiscreteSet,
                                      ast.RangeDefinition)):
                    children.append(inner)
    return children
