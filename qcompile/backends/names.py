"""Names for parameter elements outside the IR, shared by every backend that names them.

A Qiskit ``Parameter`` and an OpenQASM 3 ``input`` for the same element get the same name,
so a value bound by name (a Qiskit parameter array, a device-side input) means the same
thing whichever way the circuit left qcompile.
"""

from __future__ import annotations

import re

from ..ir.expr import Symbol
from ..ir.gates import GATES

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Words an OpenQASM 3 identifier may not be: keywords, builtin constants and functions, and
#: every gate name (the output may declare any IR gate).
RESERVED = frozenset({
    "OPENQASM", "include", "defcalgrammar", "def", "cal", "defcal", "gate", "extern", "box",
    "let", "break", "continue", "if", "else", "end", "return", "for", "while", "in", "switch",
    "case", "default", "input", "output", "const", "readonly", "mutable", "qreg", "qubit",
    "creg", "bool", "bit", "int", "uint", "float", "angle", "complex", "array", "void",
    "duration", "stretch", "gphase", "inv", "pow", "ctrl", "negctrl", "dim", "durationof",
    "delay", "reset", "measure", "barrier", "true", "false", "pi", "tau", "euler", "U",
    "sizeof", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "exp", "log", "sqrt",
    "ceiling", "floor", "mod", "popcount", "rotl", "rotr", "real", "imag",
}) | frozenset(GATES)


def parameter_name(symbol: Symbol) -> str:
    """The flat name of one element: ``x[2, 1]`` → ``x_2_1``. A scalar whose name is reserved
    in OpenQASM 3 (say an input ``x``, which is also a gate) gets a trailing ``_``."""
    flat = "_".join([symbol.name, *map(str, symbol.index)])
    return flat + "_" if flat in RESERVED else flat
