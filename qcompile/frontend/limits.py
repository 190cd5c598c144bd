"""How much work one program may make a frontend do, checked before the work is done.

Unrolling turns a few lines into any amount of work: a loop of 10**12 iterations, gate
definitions each applying the one before twice (2**n operations from n lines), ``pow(10**12)
@``, ``10 ** 10 ** 10``. The OpenQASM importer and the ``.qm`` lowering check each such
construct before running it, and one :class:`Budget` per program bounds the work in all, so
that every program ends within seconds and a few hundred megabytes, or with an error
naming the construct that goes too far.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Callable
from pathlib import Path

from ..ir import QCompileError
from ..ir.expr import Binary, Expr, Unary

#: Operations one program may unroll: gates and other operations each time one is built (an
#: operation of a gate definition counts again at each definition it is inlined through),
#: plus one per loop iteration. A quarter million are about 80 MB of IR, and under 10 s of
#: importing even on a busy core (the OpenQASM importer takes up to 40 µs a statement).
MAX_OPERATIONS = 250_000

#: Gate definitions inlined inside one another (qelib1.inc's deepest is 2).
MAX_GATE_NESTING = 32

#: Qubits, or classical bits, in all of a program's registers; also the most bits of one
#: integer variable or one ctrl(n) count. The largest devices have about a thousand qubits.
MAX_BITS = 4096

#: A condition, an assignment or a gate angle may read this many classical bits known only
#: at run time (each is decided on every value of them).
MAX_CONDITION_BITS = 12

#: Bits of an integer value: every such integer is also a float (floats end near 2**1024),
#: so it may be an angle; larger ones are refused where they are computed.
MAX_INT_BITS = 1000


class Budget:
    """The operations a program may still unroll (:data:`MAX_OPERATIONS` in all).
    ``fail(message, node)`` makes the located error of the frontend that spends it."""

    def __init__(self, fail: Callable[[str, object], QCompileError]):
        self.fail = fail
        self.left = MAX_OPERATIONS

    def spend(self, count: int, what: str, node) -> None:
        """Take ``count`` operations for ``what`` (at ``node``) before they are built."""
        if count > self.left:
            raise self.fail(f"{what} goes past the limit of {MAX_OPERATIONS:,} operations a "
                            "program may unroll (gates, loop iterations and inlined gate "
                            "bodies count)", node)
        self.left -= count


def unrepresentable(value) -> str | None:
    """Why ``value`` is no number a program may compute (not real, not finite, or an integer
    beyond :data:`MAX_INT_BITS`), or None."""
    if isinstance(value, complex):
        return f"this evaluates to {value}, which is not a real number"
    if isinstance(value, float) and not math.isfinite(value):
        return f"this evaluates to {value}, which is no finite number"
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        return f"this integer has {value.bit_length()} bits; at most {MAX_INT_BITS} are supported"
    return None


def power(base, exponent):
    """``base ** exponent``, with an integer result of more than :data:`MAX_INT_BITS` refused
    (``OverflowError``, as a float overflow is) before it is computed."""
    if (isinstance(base, int) and isinstance(exponent, int) and exponent > 0
            and abs(base) > 1 and exponent * math.log2(abs(base)) > MAX_INT_BITS):
        raise OverflowError(f"the integer result would have more than {MAX_INT_BITS} bits")
    return base ** exponent


#: Nodes of one parameter expression, a shared part counted at each use (printing and
#: evaluating visit it at each): gate definitions passing ``a * a`` on to the one below
#: double the size with each level while their text stays short.
MAX_EXPRESSION_NODES = 10_000


class ExpressionSizes:
    """The size of each parameter expression built, from the sizes of its parts (kept, so
    that measuring what is built from them costs only its new nodes)."""

    def __init__(self):
        self._sizes: dict[int, tuple[Expr, int]] = {}  # by id; the entry keeps it alive

    def too_large(self, expr: Expr) -> str | None:
        """Why ``expr`` is too large (beyond :data:`MAX_EXPRESSION_NODES`), or None."""
        size = self._size(expr)
        if size > MAX_EXPRESSION_NODES:
            return (f"this parameter expression has {size:,} terms once written out; at most "
                    f"{MAX_EXPRESSION_NODES:,} are supported")
        return None

    def _size(self, expr: Expr) -> int:
        stack = [expr]
        while stack:
            node = stack[-1]
            if id(node) in self._sizes:
                stack.pop()
                continue
            parts = _parts(node)
            missing = [p for p in parts if id(p) not in self._sizes]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            self._sizes[id(node)] = node, 1 + sum(self._sizes[id(p)][1] for p in parts)
        return self._sizes[id(expr)][1]


def _parts(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Binary):
        return expr.lhs, expr.rhs
    if isinstance(expr, Unary):
        return (expr.arg,)
    return ()


#: The largest source file read: 16 MiB of flat OpenQASM is about 1.5 GB of IR and parsing.
MAX_SOURCE_BYTES = 16 * 2**20


def read_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, checked before reading: a
    FIFO would block and a device such as /dev/zero never ends. The read itself stops past
    ``limit``, since files such as those in /proc report no size."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise QCompileError(f"{path}: is a directory, expected a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise QCompileError(f"{path}: not a regular file (a device, pipe or socket); "
                                f"expected a {what}")
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise QCompileError(f"{path}: no such {what}") from None
    except OSError as err:
        raise QCompileError(f"{path}: cannot read ({err.strerror})") from None
    if len(data) > limit:
        raise QCompileError(f"{path}: the {what} has more than {limit:,} bytes, the most "
                            "that is read")
    return data
