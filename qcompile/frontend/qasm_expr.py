"""Compile-time evaluation of OpenQASM classical expressions.

Gate angles, loop bounds, indices and constants are folded to Python numbers; an expression
over ``input`` parameters or gate parameters stays symbolic as an IR :class:`Expr`. Anything
that needs a value only known while the circuit runs is reported as unsupported, and so is a
value no circuit can hold: infinite or NaN, an integer too large for a float, or an expression
too large to write out (:mod:`.limits`), each refused before it is used.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from openqasm3 import ast

from ..ir import QCompileError
from ..ir.expr import Expr, Unary, as_expr
from .limits import MAX_BITS, MAX_INT_BITS, ExpressionSizes, power, unrepresentable
from .qasm_common import CONSTANTS, FUNCTIONS

Value = int | float | bool | Expr


def _shift_left(value: int, count: int) -> int:
    """``value << count``, refused (as ``**`` is) before it would pass MAX_INT_BITS."""
    if count > 0 and value.bit_length() + count > MAX_INT_BITS:
        raise OverflowError(f"the result would have more than {MAX_INT_BITS} bits")
    return value << count


# Division is true division even between integer literals, so that angles such as
# ``arccos(3 / 5)`` mean what their authors intended.
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul,
               "/": operator.truediv, "**": power}
_INTEGER_ONLY = {"%": operator.mod, "<<": _shift_left, ">>": operator.rshift,
                 "&": operator.and_, "|": operator.or_, "^": operator.xor}
_COMPARISONS = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
                "==": operator.eq, "!=": operator.ne,
                "&&": lambda a, b: bool(a) and bool(b), "||": lambda a, b: bool(a) or bool(b)}

Fail = Callable[[str, ast.QASMNode], QCompileError]


class ExpressionEvaluator:
    """Folds expressions; ``lookup(identifier)`` supplies the value of a name in scope."""

    def __init__(self, lookup: Callable[[ast.Identifier], Value], fail: Fail):
        self.lookup = lookup
        self.fail = fail
        self.sizes = ExpressionSizes()

    def value(self, node: ast.Expression) -> Value:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.fail(f"{describe_node(node)} cannot be evaluated at compile time", node)
        try:
            result = method(node)
        except RecursionError:  # the parser took it, but with blocks around it, too deep
            raise self.fail("this expression nests too deeply to evaluate", node) from None
        problem = (self.sizes.too_large(result) if isinstance(result, Expr)
                   else unrepresentable(result))
        if problem is not None:
            raise self.fail(problem, node)
        return result

    def number(self, node: ast.Expression) -> int | float:
        """A value that must be a compile-time number (not symbolic)."""
        value = self.value(node)
        if isinstance(value, Expr):
            raise self.fail("expected a compile-time constant, but this expression depends "
                            "on a parameter", node)
        return value

    def integer(self, node: ast.Expression) -> int:
        value = self.number(node)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise self.fail(f"expected an integer, got {value!r}", node)
        return int(value)

    # --- node kinds -----------------------------------------------------------------------

    def _IntegerLiteral(self, node):
        return node.value

    def _FloatLiteral(self, node):
        return node.value

    def _BooleanLiteral(self, node):
        return node.value

    def _BitstringLiteral(self, node):
        return node.value

    def _Identifier(self, node):
        if node.name in CONSTANTS:
            return CONSTANTS[node.name]
        return self.lookup(node)

    def _UnaryExpression(self, node):
        value = self.value(node.expression)
        op = node.op.name
        if op == "-":
            return -value
        if isinstance(value, Expr):
            raise self.fail(f"operator {op!r} cannot be applied to a parameter", node)
        return (not value) if op == "!" else ~self._as_int(value, node)

    def _BinaryExpression(self, node):
        lhs, rhs, op = self.value(node.lhs), self.value(node.rhs), node.op.name
        symbolic = isinstance(lhs, Expr) or isinstance(rhs, Expr)
        if op in _ARITHMETIC:
            if symbolic:
                return _ARITHMETIC[op](as_expr(lhs), as_expr(rhs))
            try:
                return _ARITHMETIC[op](lhs, rhs)
            except (ZeroDivisionError, OverflowError) as exc:
                raise self.fail(f"cannot evaluate {op!r}: {exc}", node) from None
        if symbolic:
            raise self.fail(f"operator {op!r} cannot be applied to a parameter", node)
        if op in _INTEGER_ONLY:
            try:
                return _INTEGER_ONLY[op](self._as_int(lhs, node.lhs), self._as_int(rhs, node.rhs))
            except (ZeroDivisionError, ValueError, OverflowError) as exc:
                raise self.fail(f"cannot evaluate {op!r}: {exc}", node) from None
        return _COMPARISONS[op](lhs, rhs)

    def _FunctionCall(self, node):
        name = node.name.name
        if name not in FUNCTIONS or len(node.arguments) != 1:
            raise self.fail(f"unknown function '{name}' (subroutine calls are not supported; "
                            f"known: {', '.join(sorted(FUNCTIONS))})", node)
        numeric, ir_name = FUNCTIONS[name]
        arg = self.value(node.arguments[0])
        if isinstance(arg, Expr):
            return Unary(ir_name, arg)
        try:
            return numeric(arg)
        except ValueError:
            raise self.fail(f"{name}({arg!r}) is outside the function's domain", node) from None
        except OverflowError:
            raise self.fail(f"{name}({arg!r}) is too large for a float", node) from None

    def _Cast(self, node):
        value = self.value(node.argument)
        if isinstance(node.type, (ast.IntType, ast.UintType)):
            return self._fit(int(self.number(node.argument)), node.type)
        if isinstance(node.type, ast.BoolType):
            return bool(self.number(node.argument))
        if isinstance(node.type, (ast.FloatType, ast.AngleType)):
            return value if isinstance(value, Expr) else float(value)
        raise self.fail(f"cast to {describe_node(node.type)} is not supported", node)

    def _fit(self, value: int, kind: ast.IntType | ast.UintType) -> int:
        """``value`` in an ``int[n]``/``uint[n]``: its low n bits (``uint[2](6)`` is 2), read
        as two's complement for int only when the value was negative, so that bits cast to
        ``int[n]`` read unsigned, as the specification's examples and Qiskit read them."""
        if kind.size is None:
            return value
        width = self.integer(kind.size)
        if not 0 < width <= MAX_BITS:
            raise self.fail(f"integer width must be between 1 and {MAX_BITS}, got {width}",
                            kind.size)
        fitted = value & ((1 << width) - 1)
        signed = isinstance(kind, ast.IntType) and value < 0 and fitted >> (width - 1)
        return fitted - (1 << width) if signed else fitted

    def _IndexExpression(self, node):
        """Bit ``i`` of a compile-time integer, e.g. ``a_in[i]`` for ``uint[4] a_in = 5``."""
        value = self.value(node.collection)
        if not isinstance(node.index, list) or len(node.index) != 1:
            raise self.fail("only a single index can be read from an integer", node)
        bit = self.integer(node.index[0])
        if bit < 0:
            raise self.fail(f"bit index {bit} is negative", node.index[0])
        return (self._as_int(value, node.collection) >> bit) & 1

    def _as_int(self, value, node) -> int:
        if isinstance(value, bool) or isinstance(value, int):
            return int(value)
        raise self.fail(f"expected an integer, got {value!r}", node)


def describe_node(node: ast.QASMNode) -> str:
    """A readable name for an AST node kind: ``DurationLiteral`` -> 'duration literal'."""
    name = type(node).__name__
    words = "".join(" " + c.lower() if c.isupper() else c for c in name).strip()
    return words
