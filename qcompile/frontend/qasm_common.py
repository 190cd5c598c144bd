"""What both OpenQASM readers share, the flat reader (:mod:`.qasm_flat`) and the importer
of the reference parser's AST (:mod:`.qasm_importer`), free of the reference parser, so that
a flat file is read without importing it: the byte-order mark, the built-in constants and
functions, and what is known of classical bits, with :func:`switch` deciding on the bits
known only at run time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..ir import Condition, IfElse, Operation

#: A UTF-8 byte-order mark, which some editors put before the first line.
BOM = "\ufeff"

#: OpenQASM's built-in constants.
CONSTANTS = {"pi": math.pi, "π": math.pi, "tau": math.tau, "τ": math.tau,
             "euler": math.e, "ℇ": math.e}

#: OpenQASM function name -> (numeric implementation, IR unary function).
FUNCTIONS = {
    "sin": (math.sin, "sin"), "cos": (math.cos, "cos"), "tan": (math.tan, "tan"),
    "exp": (math.exp, "exp"), "ln": (math.log, "log"), "sqrt": (math.sqrt, "sqrt"),
    "arcsin": (math.asin, "arcsin"), "arccos": (math.acos, "arccos"),
    "arctan": (math.atan, "arctan"),
}

#: Known values of classical bits at a program point: 0/1, or None when only known at run
#: time; a bit not listed has never been written, so it is 0.
BitState = dict[int, int | None]


def join(a: BitState, b: BitState) -> BitState:
    """What is known after one of two paths ran: the bits both leave with the same value."""
    return {bit: a.get(bit, 0) if a.get(bit, 0) == b.get(bit, 0) else None
            for bit in a.keys() | b.keys()}


def written(state: BitState, bits: Sequence[int], outcomes: Sequence[int]) -> None:
    """Record that ``bits`` were set to one of the patterns ``outcomes``: a bit whose value
    is the same in all of them is known."""
    for k, bit in enumerate(bits):
        values = {pattern >> k & 1 for pattern in outcomes}
        state[bit] = values.pop() if len(values) == 1 else None


def switch(bits: tuple[int, ...], outcomes: Sequence[tuple[Operation, ...]]
           ) -> tuple[Operation, ...]:
    """Operations that run ``outcomes[v]`` when the bits read the value ``v`` (bit k of v is
    ``bits[k]``): nothing when no outcome has any, one condition when a single value is
    the odd one out, else a branch on one bit at a time (outcomes are repeated where needed)."""
    bits, outcomes = _relevant(bits, list(outcomes))
    if len(set(outcomes)) == 1:
        return outcomes[0]
    if len(bits) == 1:
        if not outcomes[1]:
            return (IfElse(Condition(bits, 0), outcomes[0]),)
        return (IfElse(Condition(bits, 1), outcomes[1], outcomes[0]),)
    odd = [v for v, o in enumerate(outcomes) if outcomes.count(o) == 1]
    if len(set(outcomes)) == 2 and odd:  # one value decides: a test of all the bits
        common = next(o for o in outcomes if o != outcomes[odd[0]])
        return (IfElse(Condition(bits, odd[0]), outcomes[odd[0]], common),)
    top, half = len(bits) - 1, len(outcomes) // 2
    ones, zeros = switch(bits[:top], outcomes[half:]), switch(bits[:top], outcomes[:half])
    if not ones:
        return (IfElse(Condition((bits[top],), 0), zeros),)
    return (IfElse(Condition((bits[top],), 1), ones, zeros),)


def _relevant(bits: tuple[int, ...], outcomes: list) -> tuple[tuple[int, ...], list]:
    """Drop the bits no outcome depends on (highest first)."""
    for k in reversed(range(len(bits))):
        mask = 1 << k
        if all(outcomes[v] == outcomes[v | mask] for v in range(len(outcomes)) if not v & mask):
            return _relevant(bits[:k] + bits[k + 1:],
                             [o for v, o in enumerate(outcomes) if not v & mask])
    return bits, outcomes
