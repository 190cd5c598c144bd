"""A fast reader for flat OpenQASM, tried before the reference parser.

The ``openqasm3`` reference parser (ANTLR, pure Python) takes tens of milliseconds for a small
circuit and minutes for a file of a few megabytes, yet most real files are flat: register
declarations, gate calls with constant angles, measurements, resets, barriers, ``if (c == n)``
and simple gate definitions. :func:`read_flat` reads that subset in one pass over the tokens
of one regular expression and builds the very circuit the full importer builds: the same
names, angles folded by the same Python arithmetic, definitions inlined the same way. On
anything else (other statements, a token the reference lexer might split differently, any
error) it returns None: the full importer then runs and reports errors in its own words, so
this reader needs no messages of its own.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import cache

from ..ir import (Barrier, Circuit, Const, Gate, Measure, Register, Reset, VerificationError,
                  verify_circuit)
from ..ir.gates import GATES, QELIB1, STDGATES, includes
from .limits import MAX_BITS, MAX_GATE_NESTING, MAX_OPERATIONS, unrepresentable
from .qasm_common import BOM, CONSTANTS, FUNCTIONS, BitState, join, switch
from .qasm_gates import QELIB1_DEFINITIONS

# Whitespace and comments, as the reference lexer skips them; possessive, so that a trailing
# comment is never read again as tokens.
_SKIP = r"[ \t\r\n]*+(?:(?://[^\r\n]*|/\*.*?\*/)[ \t\r\n]*+)*+"
_DEC = r"[0-9](?:_?[0-9])*"
_EXP = rf"[eE][+-]?{_DEC}"
_HEADER = re.compile(rf"{_SKIP}OPENQASM[ \t\r\n]+([0-9]+)(?:\.[0-9]+)?", re.S)
#: One token per match, contiguous to the end of the text (which reads as an empty token).
#: An index without spaces, ``[3]``, is one token. Operators of several characters are kept
#: whole, as the reference lexer keeps them, so that ``1++2`` is not read as ``1 + +2``. An
#: include's file name is part of its token: the reference lexer reads it in a mode without
#: comments.
_TOKEN = re.compile(rf"""{_SKIP}(
    \[[0-9]+\] | [(),;]
  | include[ \t\r\n]*"[^"\r\t\n]+"
  | [^\W\d]\w*
  | {_DEC}(?:\.(?:{_DEC})?)?(?:{_EXP})? | \.{_DEC}(?:{_EXP})?
  | \*\*=? | <<=? | >>=? | -> | \+\+ | && | \|\| | /\* | [-+*/%&|^~=!<>]=
  | [^ \t\r\n]
  | \Z)""", re.S | re.X)
_DIGITS = re.compile("[0-9]+").fullmatch

#: The reference lexer's keywords (no name may be spelled like one) and the constants.
_RESERVED = frozenset("""
    OPENQASM include defcalgrammar def cal defcal gate extern box let break continue if else
    end return for while in switch case default nop pragma input output const readonly mutable
    qreg qubit creg bool bit int uint float angle complex array void duration stretch gphase
    inv pow ctrl negctrl durationof delay reset measure barrier true false im
    """.split()) | frozenset(CONSTANTS)

_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


#: Integer literals longer than this go to the importer, which checks their size.
_MAX_DIGITS = 18


class _GiveUp(Exception):
    """Outside the flat subset (or an error): the full importer decides."""


@dataclass(frozen=True, slots=True)
class _Register:
    kind: str  # "qubit" or "bit"
    indices: tuple[int, ...]
    array: bool  # declared with a size: ``q`` broadcasts and ``q[0]`` indexes


@dataclass(frozen=True, eq=False)
class _Definition:
    """A gate definition; its body is (gate name, argument expressions, local qubits) calls."""

    params: tuple[str, ...]
    qubits: tuple[str, ...]
    body: tuple[tuple[str, tuple, tuple[int, ...]], ...]


def read_flat(text: str, name: str, *, max_condition_bits: int) -> Circuit | None:
    """The circuit ``load_qasm`` builds for ``text`` (named ``name``), or None when the text
    is not flat. ``max_condition_bits`` is the importer's limit on the bits an if reads."""
    text = text.removeprefix(BOM)
    header = _HEADER.match(text)
    if header is not None and header[1] not in ("2", "3"):
        return None
    tokens = _TOKEN.findall(text, 0 if header is None else header.end())
    if header is None and not tokens[0]:
        return None  # the reference parser fails on text without a single token
    tokens += ("", "", "")  # lookahead past the end reads empty tokens
    reader = _Reader(tokens, max_condition_bits)
    try:
        if header is not None:
            reader._expect(";")
        return reader.run(name)
    except (_GiveUp, RecursionError):  # RecursionError: deeply nested parentheses or gates
        return None


def _valid_name(token: str) -> bool:
    return (token.isascii() and (token[:1].isalpha() or token[:1] == "_")
            and token not in _RESERVED)


def _integer(token: str) -> int:
    if _DIGITS(token) is None or len(token) > _MAX_DIGITS:
        raise _GiveUp
    return int(token)


def _const(value) -> Const:
    if unrepresentable(value):  # infinite, or an integer too large: the importer says so
        raise _GiveUp
    return Const(value)


def _library(filename: str) -> list[str]:
    """The IR gates an include file declares (read each time: gates can be registered at
    any time), callable by name unless spelled like a keyword."""
    return [name for name in includes(filename) if _valid_name(name)]


@cache
def _shape(name: str) -> tuple[int, int]:
    """(parameters, qubits) of an IR gate."""
    return GATES[name].num_params, GATES[name].num_qubits


class _Reader:
    """Reads the tokens in order. An operand is a qubit or bit index, or the tuple of a whole
    register's indices (which broadcasts)."""

    def __init__(self, tokens: list[str], max_condition_bits: int):
        self.tokens = tokens
        self.pos = 0
        self.max_condition_bits = max_condition_bits
        # the importer's builtins, in both versions
        self.gates: dict[str, str | _Definition | None] = {"U": "U", "CX": "CX"}
        self.registers: dict[str, _Register] = {}
        self.qregs: list[Register] = []
        self.cregs: list[Register] = []
        self.expanding: list[_Definition] = []
        self.unrolled = 0  # operations inlined from gate definitions so far
        self.bit_state: BitState = {}  # None for the bits measured so far (see qasm_common)

    def run(self, name: str) -> Circuit:
        ops: list = []
        while self.tokens[self.pos]:
            self._statement(ops, top=True)
        circuit = Circuit(name, tuple(self.qregs), tuple(self.cregs), (), tuple(ops))
        try:
            verify_circuit(circuit)
        except VerificationError:
            raise _GiveUp from None
        return circuit

    def _next(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _expect(self, token: str) -> None:
        if self.tokens[self.pos] != token:
            raise _GiveUp
        self.pos += 1

    # --- statements -----------------------------------------------------------------------

    def _statement(self, ops: list, top: bool) -> None:
        """One statement, its ';' or closing brace included; ``top``: not inside an if."""
        tokens = self.tokens
        token = tokens[self.pos]
        handler = _STATEMENTS.get(token)
        if handler is not None:
            if not top and token not in ("measure", "reset", "barrier"):
                raise _GiveUp
            handler(self, ops)
            return
        following = tokens[self.pos + 1]
        if following == "=" or following[:1] == "[":  # c[0] = measure q[0];
            bits = self._operand("bit")
            self._expect("=")
            self._expect("measure")
            self._measure(self._operand("qubit"), bits, ops)
        elif top and token[-1:] == '"' and token.startswith("include"):
            self.pos += 1
            self._include(token[token.index('"') + 1:-1])
        else:
            self._gate_call(ops)
        self._expect(";")

    def _measure_arrow(self, ops) -> None:  # measure q[0] -> c[0];
        self.pos += 1
        qubits = self._operand("qubit")
        self._expect("->")
        self._measure(qubits, self._operand("bit"), ops)
        self._expect(";")

    def _reset(self, ops) -> None:
        self.pos += 1
        ops.extend(map(Reset, _indices(self._operand("qubit"))))
        self._expect(";")

    def _barrier(self, ops) -> None:
        self.pos += 1
        if self.tokens[self.pos] == ";":  # every qubit declared so far
            qubits = range(sum(r.size for r in self.qregs))
        else:
            qubits = [q for operand in self._operands("qubit") for q in _indices(operand)]
        ops.append(Barrier(tuple(dict.fromkeys(qubits))))
        self._expect(";")

    def _measure(self, qubits, bits, ops) -> None:
        qubits, bits = _indices(qubits), _indices(bits)
        if len(qubits) != len(bits):
            raise _GiveUp
        ops.extend(map(Measure, qubits, bits))
        self.bit_state.update(dict.fromkeys(bits))

    def _include(self, filename: str) -> None:
        if filename not in (QELIB1, STDGATES):
            raise _GiveUp
        self.gates.update((name, name) for name in _library(filename))
        if filename == QELIB1:
            for name, definition in _qelib1_definitions().items():
                if name in self.gates:
                    raise _GiveUp  # a second include of qelib1.inc redefines them
                self.gates[name] = definition

    # --- declarations and operands --------------------------------------------------------

    def _old_style(self, ops) -> None:  # qreg q[n]; creg c[n];
        kind = "qubit" if self._next() == "qreg" else "bit"
        name = self._next()
        self._declare(name, kind, self._size())
        self._expect(";")

    def _qubit(self, ops) -> None:  # qubit[n] q;
        self.pos += 1
        size = self._size()
        self._declare(self._next(), "qubit", size)
        self._expect(";")

    def _bit(self, ops) -> None:  # bit[n] c; or bit[n] c = measure q;
        self.pos += 1
        size = self._size()
        bits = self._declare(self._next(), "bit", size)
        if self.tokens[self.pos] == "=":
            self.pos += 1
            self._expect("measure")
            self._measure(self._operand("qubit"),
                          bits.indices if bits.array else bits.indices[0], ops)
        self._expect(";")

    def _size(self) -> int | None:
        """An optional ``[n]`` designator."""
        token = self.tokens[self.pos]
        if token[:1] != "[":
            return None
        if len(token) == 1:  # spaces inside the brackets
            raise _GiveUp
        self.pos += 1
        return int(token[1:-1])

    def _declare(self, name: str, kind: str, size: int | None) -> _Register:
        if not _valid_name(name) or name in self.registers or size == 0:
            raise _GiveUp
        registers = self.qregs if kind == "qubit" else self.cregs
        start = sum(r.size for r in registers)
        if start + (size or 1) > MAX_BITS:
            raise _GiveUp  # the importer names the limit
        registers.append(Register(name, 1 if size is None else size))
        register = _Register(kind, tuple(range(start, start + registers[-1].size)),
                             size is not None)
        self.registers[name] = register
        return register

    def _operand(self, kind: str) -> int | tuple[int, ...]:
        """``r`` or ``r[i]`` for a register of this kind."""
        tokens = self.tokens
        register = self.registers.get(tokens[self.pos])
        if register is None or register.kind != kind:
            raise _GiveUp
        index = tokens[self.pos + 1]
        if index[:1] != "[":
            self.pos += 1
            return register.indices if register.array else register.indices[0]
        if len(index) == 1 or not register.array:
            raise _GiveUp
        index = int(index[1:-1])
        if index >= len(register.indices):
            raise _GiveUp
        self.pos += 2
        return register.indices[index]

    def _operands(self, kind: str) -> list:
        operands = [self._operand(kind)]
        while self.tokens[self.pos] == ",":
            self.pos += 1
            operands.append(self._operand(kind))
        return operands

    # --- if -------------------------------------------------------------------------------

    def _if(self, ops) -> None:
        """``if (c == n) body [else body]`` on a bit register or one bit (a body is one
        statement or a braced block of them, without declarations or nested ifs), decided
        as the full importer decides it: at compile time when every bit read is known (never
        measured: 0), else by :func:`switch` on the value of the measured ones."""
        self.pos += 1
        self._expect("(")
        bits = _indices(self._operand("bit"))
        self._expect("==")
        value = _integer(self._next())
        self._expect(")")
        state = self.bit_state
        unknown = tuple(b for b in bits if state.get(b, 0) is None)
        if len(unknown) > self.max_condition_bits:
            raise _GiveUp
        truths = []
        for assumed in range(1 << len(unknown)):  # bit k of it is unknown[k]
            values = {b: assumed >> k & 1 for k, b in enumerate(unknown)}
            read = sum(values.get(b, state.get(b, 0)) << k for k, b in enumerate(bits))
            truths.append(read == value)
        self.bit_state = dict(state)
        then_ops = self._branch()
        after_then, self.bit_state = self.bit_state, dict(state)
        else_ops = []
        if self.tokens[self.pos] == "else":
            self.pos += 1
            else_ops = self._branch()
        if not unknown:  # only the branch taken runs
            if truths[0]:
                self.bit_state = after_then
            ops.extend(then_ops if truths[0] else else_ops)
            return
        self.bit_state = join(after_then, self.bit_state)
        ops.extend(switch(unknown, [tuple(then_ops) if t else tuple(else_ops) for t in truths]))

    def _branch(self) -> list:
        ops: list = []
        if self.tokens[self.pos] != "{":
            self._statement(ops, top=False)
            return ops
        self.pos += 1
        while self.tokens[self.pos] != "}":
            self._statement(ops, top=False)
        self.pos += 1
        return ops

    # --- gates ----------------------------------------------------------------------------

    def _gate_call(self, ops) -> None:
        name = self.tokens[self.pos]
        self.pos += 1
        values = self._arguments() if self.tokens[self.pos] == "(" else ()
        self._apply(name, values, self._operands("qubit"), ops)

    def _arguments(self) -> list:
        """Parameter values of a call, from its '(' to its ')'; lone numbers are read
        directly, since they are most angles."""
        tokens = self.tokens
        values = []
        while True:
            self.pos += 1
            token = tokens[self.pos]
            if tokens[self.pos + 1] in (",", ")") and "0" <= token[:1] <= "9":
                values.append(_number(token))
                self.pos += 1
            else:
                values.append(_evaluate(self._sum(()), {}))
            if tokens[self.pos] != ",":
                self._expect(")")
                return values

    def _apply(self, name: str, values, operands: list, ops: list) -> None:
        """Gate ``name`` with parameter ``values``, broadcast over the ``operands``."""
        entry = self.gates.get(name)
        if type(entry) is str:
            num_params, num_qubits = _shape(entry)
            if num_params != len(values) or num_qubits != len(operands):
                raise _GiveUp
            params = tuple(map(_const, values)) if values else ()
            if num_qubits == 1 and type(operands[0]) is int:  # most calls
                ops.append(Gate(entry, (operands[0],), params))
            else:
                ops.extend(Gate(entry, qubits, params) for qubits in _broadcast(operands))
        elif type(entry) is _Definition:
            if len(entry.params) != len(values) or len(entry.qubits) != len(operands):
                raise _GiveUp
            body = self._expand(entry, values)
            self.unrolled += len(body)
            if self.unrolled > MAX_OPERATIONS:
                raise _GiveUp  # the full importer names the construct that goes too far
            for qubits in _broadcast(operands):
                ops.extend(Gate(op.name, tuple([qubits[q] for q in op.qubits]), op.params)
                           for op in body)
        else:  # unknown, or a qelib1 gate whose definition this reader cannot inline
            raise _GiveUp

    def _expand(self, definition: _Definition, values) -> list[Gate]:
        """A definition's body on its local qubits, inlined as the full importer does."""
        if definition in self.expanding or len(self.expanding) >= MAX_GATE_NESTING:
            raise _GiveUp  # defined in terms of itself, or nested past the importer's limit
        self.expanding.append(definition)
        env = dict(zip(definition.params, values))
        body: list = []
        for name, arguments, qubits in definition.body:
            self._apply(name, [_evaluate(node, env) for node in arguments], list(qubits), body)
        self.expanding.pop()
        return body

    def _definition(self, ops) -> None:
        """``gate name(params) qubits { calls }``; the calls are resolved when it is used."""
        self.pos += 1
        name = self._next()
        if not _valid_name(name) or name in self.gates:
            raise _GiveUp
        params = ()
        if self.tokens[self.pos] == "(":
            self.pos += 1
            params = self._names(")")
        qubits = self._names("{")
        if len(set(params + qubits)) != len(params) + len(qubits):
            raise _GiveUp
        local = {q: i for i, q in enumerate(qubits)}
        body = []
        while self.tokens[self.pos] != "}":
            call = self._next()
            if not _valid_name(call):
                raise _GiveUp  # modifiers, gphase, barrier, loops...
            arguments = ()
            if self.tokens[self.pos] == "(":
                self.pos += 1
                arguments = tuple(self._expressions(params))
            names = self._names(";")
            if any(n not in local for n in names):
                raise _GiveUp
            body.append((call, arguments, tuple(local[n] for n in names)))
        self.pos += 1  # the closing brace
        self.gates[name] = _Definition(params, qubits, tuple(body))

    def _names(self, end: str) -> tuple[str, ...]:
        """Comma-separated identifiers up to and including ``end``."""
        names = [self._next()]
        while self.tokens[self.pos] == ",":
            self.pos += 1
            names.append(self._next())
        if not all(map(_valid_name, names)):
            raise _GiveUp
        self._expect(end)
        return tuple(names)

    # --- expressions ----------------------------------------------------------------------
    # A node is a number, a parameter name, (op, lhs, rhs), ("neg", arg) or (function, arg);
    # constants are replaced by their values as they are read. ``names`` are the parameters
    # in scope.

    def _expressions(self, names) -> list:
        """Comma-separated expressions up to and including ')'."""
        nodes = [self._sum(names)]
        while self.tokens[self.pos] == ",":
            self.pos += 1
            nodes.append(self._sum(names))
        self._expect(")")
        return nodes

    def _sum(self, names):
        node = self._product(names)
        while self.tokens[self.pos] in ("+", "-"):
            op = self._next()
            node = (op, node, self._product(names))
        return node

    def _product(self, names):
        node = self._unary(names)
        while self.tokens[self.pos] in ("*", "/"):
            op = self._next()
            node = (op, node, self._unary(names))
        return node

    def _unary(self, names):
        # The reference grammar binds unary minus tighter than * and /, and has no unary plus.
        if self.tokens[self.pos] == "-":
            self.pos += 1
            return ("neg", self._unary(names))
        return self._atom(names)

    def _atom(self, names):
        token = self._next()
        if "0" <= token[:1] <= "9" or (token[:1] == "." and len(token) > 1):
            return _number(token)
        if token == "(":
            node = self._sum(names)
            self._expect(")")
            return node
        if token in CONSTANTS:
            return CONSTANTS[token]
        if self.tokens[self.pos] == "(" and token in FUNCTIONS:
            self.pos += 1
            node = (token, self._sum(names))
            self._expect(")")
            return node
        if token in names:
            return token
        raise _GiveUp


#: Statements that start with a keyword, by keyword.
_STATEMENTS = {"qreg": _Reader._old_style, "creg": _Reader._old_style, "qubit": _Reader._qubit,
               "bit": _Reader._bit, "measure": _Reader._measure_arrow, "reset": _Reader._reset,
               "barrier": _Reader._barrier, "if": _Reader._if, "gate": _Reader._definition}


def _number(token: str) -> int | float:
    """A number token's value, as the reference parser reads its literal."""
    if "." in token or "e" in token or "E" in token:
        return float(token)
    if len(token) > _MAX_DIGITS:
        raise _GiveUp
    return int(token)  # digits, perhaps with separators: 1_000


def _indices(operand) -> tuple[int, ...]:
    return operand if type(operand) is tuple else (operand,)


def _evaluate(node, env: dict):
    """Fold a node with Python numbers, as the full importer's evaluator does."""
    kind = type(node)
    if kind is float or kind is int:
        return node
    if kind is str:
        return env[node]
    if len(node) == 2:
        value = _evaluate(node[1], env)
        if node[0] == "neg":
            return -value
        try:
            return FUNCTIONS[node[0]][0](value)
        except (ValueError, OverflowError):
            raise _GiveUp from None
    lhs, rhs = _evaluate(node[1], env), _evaluate(node[2], env)
    try:
        return _ARITHMETIC[node[0]](lhs, rhs)
    except (ZeroDivisionError, OverflowError):
        raise _GiveUp from None


def _broadcast(operands: list) -> list[tuple[int, ...]]:
    """The qubits of one call per register element; no qubit twice in one call."""
    if all(type(o) is int for o in operands):
        calls = [tuple(operands)]
    else:
        sizes = {len(o) for o in operands if type(o) is tuple}
        if len(sizes) > 1:
            raise _GiveUp
        calls = [tuple([o if type(o) is int else o[i] for o in operands])
                 for i in range(sizes.pop())]
    if len(operands) > 1 and any(len(set(qubits)) != len(qubits) for qubits in calls):
        raise _GiveUp
    return calls


@cache
def _qelib1_definitions() -> dict[str, _Definition | None]:
    """The qelib1 gates the IR lacks, read with this reader; None for those it cannot read
    (modifiers), which send a file that calls them to the full importer."""
    tokens = _TOKEN.findall(QELIB1_DEFINITIONS) + ["", "", ""]
    reader = _Reader(tokens, 0)
    definitions: dict[str, _Definition | None] = {}
    while tokens[reader.pos]:
        start = reader.pos
        name = tokens[start + 1]
        try:
            reader._definition(None)
            definitions[name] = reader.gates[name]
        except _GiveUp:
            reader.pos = tokens.index("}", start) + 1
            definitions[name] = None
    return definitions
