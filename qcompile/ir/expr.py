"""Symbolic parameter expressions over model inputs and weights.

Gate angles are expressions such as ``2.0 * x[0] + w[1]``: compiled once with symbols, then
evaluated for a whole batch with numpy, and differentiated exactly for gradients.

Nodes are small frozen dataclasses, so expressions hash, compare structurally, and can be
shared freely between circuits.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Union
from collections.abc import Callable, Mapping

import numpy as np

Number = Union[int, float]

#: Unary functions: name -> (numpy implementation, derivative as an expression builder).
UNARY_FUNCTIONS: dict[str, Callable] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "neg": np.negative,
}

BINARY_OPERATORS: dict[str, Callable] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": np.power,
}

# Binding strength used by the printer to place the fewest parentheses.
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


class Expr:
    """Base class of expression nodes; arithmetic operators build new nodes."""

    __slots__ = ()

    def __add__(self, other): return Binary("+", self, as_expr(other))
    def __radd__(self, other): return Binary("+", as_expr(other), self)
    def __sub__(self, other): return Binary("-", self, as_expr(other))
    def __rsub__(self, other): return Binary("-", as_expr(other), self)
    def __mul__(self, other): return Binary("*", self, as_expr(other))
    def __rmul__(self, other): return Binary("*", as_expr(other), self)
    def __truediv__(self, other): return Binary("/", self, as_expr(other))
    def __rtruediv__(self, other): return Binary("/", as_expr(other), self)
    def __pow__(self, other): return Binary("**", self, as_expr(other))
    def __neg__(self): return Unary("neg", self)

    def __str__(self) -> str:
        return format_expr(self)


@dataclass(frozen=True, slots=True)
class Const(Expr):
    """A real number. ``pi`` is printed by name so that angles stay readable."""

    value: float

    def __post_init__(self):
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True, slots=True)
class Symbol(Expr):
    """One element of a declared input or weight tensor, e.g. ``x[3]`` or ``w[1, 2]``."""

    name: str
    index: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "index", tuple(int(i) for i in self.index))


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: str
    arg: Expr

    def __post_init__(self):
        if self.op not in UNARY_FUNCTIONS:
            raise ValueError(f"unknown function {self.op!r}")


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    op: str
    lhs: Expr
    rhs: Expr

    def __post_init__(self):
        if self.op not in BINARY_OPERATORS:
            raise ValueError(f"unknown operator {self.op!r}")


PI = Const(math.pi)


def as_expr(value: Expr | Number) -> Expr:
    """Wrap Python and numpy numbers as :class:`Const`; pass expressions through."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return Const(float(value))
    raise TypeError(f"cannot use {type(value).__name__} as a parameter expression")


def symbols(expr: Expr) -> frozenset[Symbol]:
    """All symbols the expression depends on."""
    if isinstance(expr, Symbol):
        return frozenset((expr,))
    if isinstance(expr, Unary):
        return symbols(expr.arg)
    if isinstance(expr, Binary):
        return symbols(expr.lhs) | symbols(expr.rhs)
    return frozenset()


def is_constant(expr: Expr) -> bool:
    return not symbols(expr)


def evaluate(expr: Expr, env: Mapping[str, np.ndarray | Number]) -> np.ndarray | float:
    """Evaluate with numpy; a symbol ``x[i, j]`` reads ``env['x'][..., i, j]``.

    Indexing from the trailing axes lets inputs carry a leading batch axis while weights do
    not, so one call evaluates an angle for a whole batch.
    """
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Symbol):
        try:
            value = env[expr.name]
        except KeyError:
            raise KeyError(f"parameter {expr.name!r} is not bound") from None
        return np.asarray(value, dtype=float)[(Ellipsis, *expr.index)] if expr.index else value
    if isinstance(expr, Unary):
        return UNARY_FUNCTIONS[expr.op](evaluate(expr.arg, env))
    if isinstance(expr, Binary):
        return BINARY_OPERATORS[expr.op](evaluate(expr.lhs, env), evaluate(expr.rhs, env))
    raise TypeError(f"not an expression: {expr!r}")


# --- simplifying constructors: used by folding and differentiation --------------------------

def _const(expr: Expr) -> float | None:
    return expr.value if isinstance(expr, Const) else None


def add(a: Expr, b: Expr) -> Expr:
    if _const(a) == 0.0:
        return b
    if _const(b) == 0.0:
        return a
    return _fold_binary("+", a, b)


def sub(a: Expr, b: Expr) -> Expr:
    if _const(b) == 0.0:
        return a
    if _const(a) == 0.0:
        return neg(b)
    return _fold_binary("-", a, b)


def mul(a: Expr, b: Expr) -> Expr:
    if _const(a) == 0.0 or _const(b) == 0.0:
        return Const(0.0)
    if _const(a) == 1.0:
        return b
    if _const(b) == 1.0:
        return a
    return _fold_binary("*", a, b)


def div(a: Expr, b: Expr) -> Expr:
    if _const(b) == 1.0:
        return a
    if _const(a) == 0.0 and _const(b) != 0.0:
        return Const(0.0)
    return _fold_binary("/", a, b)


def neg(a: Expr) -> Expr:
    if isinstance(a, Const):
        return Const(-a.value)
    if isinstance(a, Unary) and a.op == "neg":
        return a.arg
    return Unary("neg", a)


#: The binary operators on plain floats (folding; numpy's need an error-state context).
_FLOAT_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul,
                    "/": operator.truediv, "**": operator.pow}


def _fold_binary(op: str, a: Expr, b: Expr) -> Expr:
    if isinstance(a, Const) and isinstance(b, Const):
        try:
            value = _FLOAT_OPERATORS[op](a.value, b.value)
        except (ZeroDivisionError, OverflowError):
            value = math.nan
        if isinstance(value, float) and math.isfinite(value):
            return Const(value)
    return Binary(op, a, b)


def fold(expr: Expr) -> Expr:
    """Fold constant subexpressions and drop neutral elements (x*1, x+0, --x)."""
    if isinstance(expr, Unary):
        arg = fold(expr.arg)
        if expr.op == "neg":
            return neg(arg)
        if isinstance(arg, Const):
            with np.errstate(all="ignore"):
                value = float(UNARY_FUNCTIONS[expr.op](arg.value))
            if math.isfinite(value):
                return Const(value)
        return Unary(expr.op, arg)
    if isinstance(expr, Binary):
        build = {"+": add, "-": sub, "*": mul, "/": div}.get(expr.op)
        lhs, rhs = fold(expr.lhs), fold(expr.rhs)
        if build is not None:
            return build(lhs, rhs)
        if _const(rhs) == 1.0:
            return lhs
        return _fold_binary(expr.op, lhs, rhs)
    return expr


def diff(expr: Expr, wrt: Symbol) -> Expr:
    """Exact symbolic derivative d expr / d wrt, lightly simplified."""
    if isinstance(expr, Const):
        return Const(0.0)
    if isinstance(expr, Symbol):
        return Const(1.0 if expr == wrt else 0.0)
    if isinstance(expr, Unary):
        inner = diff(expr.arg, wrt)
        if _const(inner) == 0.0:
            return Const(0.0)
        return mul(_unary_derivative(expr.op, expr.arg), inner)
    if isinstance(expr, Binary):
        a, b = expr.lhs, expr.rhs
        da, db = diff(a, wrt), diff(b, wrt)
        if expr.op == "+":
            return add(da, db)
        if expr.op == "-":
            return sub(da, db)
        if expr.op == "*":
            return add(mul(da, b), mul(a, db))
        if expr.op == "/":
            return div(sub(mul(da, b), mul(a, db)), mul(b, b))
        if expr.op == "**":
            # d(a^b) = b a^(b-1) da + a^b log(a) db
            term_a = mul(mul(b, Binary("**", a, sub(b, Const(1.0)))), da)
            if _const(db) == 0.0:
                return term_a
            return add(term_a, mul(mul(expr, Unary("log", a)), db))
    raise TypeError(f"not an expression: {expr!r}")


def _unary_derivative(op: str, x: Expr) -> Expr:
    one = Const(1.0)
    return {
        "neg": lambda: Const(-1.0),
        "sin": lambda: Unary("cos", x),
        "cos": lambda: neg(Unary("sin", x)),
        "tan": lambda: div(one, mul(Unary("cos", x), Unary("cos", x))),
        "exp": lambda: Unary("exp", x),
        "log": lambda: div(one, x),
        "sqrt": lambda: div(Const(0.5), Unary("sqrt", x)),
        "arcsin": lambda: div(one, Unary("sqrt", sub(one, mul(x, x)))),
        "arccos": lambda: neg(div(one, Unary("sqrt", sub(one, mul(x, x))))),
        "arctan": lambda: div(one, add(one, mul(x, x))),
    }[op]()


# --- printing ------------------------------------------------------------------------------

def format_number(value: float) -> str:
    """Shortest text that parses back to exactly the same float; multiples of pi by name."""
    if value == math.pi:
        return "pi"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") and "e" not in text else text


def format_expr(expr: Expr, parent_precedence: int = 0) -> str:
    """Infix text with minimal parentheses; the textual IR parser reads it back exactly."""
    if isinstance(expr, Const):
        text = format_number(expr.value)
        # A negative literal (-0.0 included) binds like unary minus.
        negative = math.copysign(1.0, expr.value) < 0
        return f"({text})" if negative and parent_precedence >= _PRECEDENCE["neg"] else text
    if isinstance(expr, Symbol):
        return expr.name + (f"[{', '.join(map(str, expr.index))}]" if expr.index else "")
    if isinstance(expr, Unary):
        if expr.op == "neg":
            precedence = _PRECEDENCE["neg"]
            arg = format_expr(expr.arg, precedence)
            # "-2.5" is the literal Const(-2.5); negating a number literal reads "-(2.5)".
            text = "-" + (f"({arg})" if arg[0].isdigit() else arg)
            return f"({text})" if parent_precedence >= precedence else text
        return f"{expr.op}({format_expr(expr.arg)})"
    if isinstance(expr, Binary):
        precedence = _PRECEDENCE[expr.op]
        if expr.op == "**":  # right-associative
            left, right = precedence + 1, precedence
        else:  # left-associative
            left, right = precedence, precedence + 1
        text = f"{format_expr(expr.lhs, left)} {expr.op} {format_expr(expr.rhs, right)}"
        return f"({text})" if precedence < parent_precedence else text
    raise TypeError(f"not an expression: {expr!r}")


def rename(expr: Expr, names: Mapping[str, str]) -> Expr:
    """``expr`` reading each tensor listed in ``names`` under its new name (same element)."""
    if isinstance(expr, Symbol):
        return Symbol(names[expr.name], expr.index) if expr.name in names else expr
    if isinstance(expr, Binary):
        return Binary(expr.op, rename(expr.lhs, names), rename(expr.rhs, names))
    if isinstance(expr, Unary):
        return Unary(expr.op, rename(expr.arg, names))
    return expr


def substitute(expr: Expr, values: Mapping[str, np.ndarray]) -> Expr:
    """``expr`` with every symbol of a tensor in ``values`` replaced by its element, and the
    operations on constants that this leaves folded; symbols of other tensors stay."""
    if isinstance(expr, Symbol):
        if expr.name not in values:
            return expr
        return Const(values[expr.name][expr.index])
    if isinstance(expr, Binary):
        lhs, rhs = expr.lhs, expr.rhs  # constants (most operands of angles) need no call
        return _fold_binary(expr.op, lhs if type(lhs) is Const else substitute(lhs, values),
                            rhs if type(rhs) is Const else substitute(rhs, values))
    if isinstance(expr, Unary):
        arg = substitute(expr.arg, values)
        return fold(Unary(expr.op, arg)) if isinstance(arg, Const) else Unary(expr.op, arg)
    return expr
