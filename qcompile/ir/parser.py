"""Textual IR → verified Program: the inverse of :mod:`qcompile.ir.printer`.

The grammar lives in ``text.lark`` (LALR, contextual lexer). A lark Transformer builds the IR
bottom-up and resolves register-relative names such as ``q[3]`` to flat indices. Syntax errors
are reported in user terms with a caret; a program that parses but breaks an IR invariant
is reported by the verifier, located at the statement that breaks it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from importlib.resources import files
from typing import NamedTuple

import numpy as np
from lark import Lark, Token, Transformer, UnexpectedInput, v_args
from lark.exceptions import VisitError
from lark.lexer import PatternStr
from lark.lark import PostLex

from .circuit import Circuit, Param, Register
from .diagnostics import QCompileError, SourceLocation, VerificationError, location_in
from .expr import PI, UNARY_FUNCTIONS, Binary, Const, Symbol, Unary
from .ops import Barrier, Condition, Gate, IfElse, Measure, Reset, SetBits, Unitary
from .program import (Counts, ExpVal, PauliTerm, Probs, Program, QuantumCall, State,
                      TensorDecl, TensorOp)
from .printer import FORMAT_VERSION, HEADER
from .text_limits import check_depth, check_text
from .verify import value_shapes, verify_circuit

_HEADER_LINE = re.compile(r"qcompile\.ir\s+\d+\s*(//.*)?")
_FLOAT = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_COMPLEX = re.compile(rf"([+-]?{_FLOAT})([+-]{_FLOAT})j")
#: Names that ``format_number`` writes for constants (``repr`` of infinite and NaN floats).
_NAMED_CONSTANTS = {"pi": PI, "inf": Const(math.inf), "nan": Const(math.nan)}


def looks_like_ir(text: str) -> bool:
    """True when the first line that is not blank or a comment is the textual-IR header."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("//"):
            return _HEADER_LINE.fullmatch(stripped) is not None
    return False


def parse_program(text: str, filename: str = "<ir>") -> Program:
    """Parse and verify; every problem is a :class:`QCompileError` located in ``text``."""
    check_text(text, filename)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, filename) from None
    check_depth(tree, text, filename)
    builder = _ProgramBuilder(text, filename)
    try:
        program = builder.transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, QCompileError):
            raise err.orig_exc from None
        raise
    try:
        value_shapes(program)
    except VerificationError as err:
        where = _offending_location(program, builder) or builder.program_location
        raise VerificationError(err.message, where) from None
    return program


class _JoinBracketedLines(PostLex):
    """Drop newlines inside (...) and [...], so long matrices and argument lists may wrap."""

    always_accept = ("_NL",)

    def process(self, stream):
        depth = 0
        for token in stream:
            if token.type in ("LPAR", "LSQB"):
                depth += 1
            elif token.type in ("RPAR", "RSQB"):
                depth = max(depth - 1, 0)
            elif token.type == "_NL" and depth:
                continue
            yield token


@functools.cache
def _parser() -> Lark:
    grammar = files(__package__).joinpath("text.lark").read_text()
    return Lark(grammar, parser="lalr", postlex=_JoinBracketedLines(),
                propagate_positions=True, maybe_placeholders=True)


# --- building the IR ------------------------------------------------------------------------

class _BitRef(NamedTuple):
    """``q[3]`` as written; resolved against the enclosing circuit's registers."""

    register: Token
    index: int


class _Return(NamedTuple):
    values: tuple[str, ...]
    location: SourceLocation


class _Registers:
    """Name → flat bit offset for one circuit's quantum or classical registers."""

    def __init__(self, registers: tuple[Register, ...], kind: str):
        self.kind = kind
        self.offsets: dict[str, tuple[int, int]] = {}
        offset = 0
        for register in registers:
            self.offsets.setdefault(register.name, (offset, register.size))
            offset += register.size

    def span(self, name: Token, builder: _ProgramBuilder) -> range:
        if name not in self.offsets:
            raise QCompileError(f"{str(name)!r} is not a {self.kind} register of this circuit "
                                f"(declared: {', '.join(self.offsets) or 'none'})",
                                builder.location_of(name))
        offset, size = self.offsets[name]
        return range(offset, offset + size)

    def index(self, ref: _BitRef, builder: _ProgramBuilder) -> int:
        bits = self.span(ref.register, builder)
        if ref.index >= len(bits):
            raise QCompileError(f"{ref.register}[{ref.index}] is out of range: {self.kind} "
                                f"register {str(ref.register)!r} has {len(bits)} bit(s)",
                                builder.location_of(ref.register))
        return bits[ref.index]


@v_args(inline=True)
class _ProgramBuilder(Transformer):
    """Builds IR objects and remembers where each circuit, operation and statement was
    written, so that verification errors point at the text.

    Relies on the transformer's post-order, left-to-right walk: a circuit's header (and its
    registers) is built before the operations of its body, which resolve ``q[3]`` against it.
    """

    def __init__(self, text: str, filename: str):
        super().__init__()
        self.text = text
        self.filename = filename
        self.where: dict[int, tuple[int, int]] = {}  # id of an IR object → (line, column)
        self.return_location: SourceLocation | None = None
        self.program_location: SourceLocation | None = None
        self._qubits = _Registers((), "quantum")
        self._clbits = _Registers((), "classical")

    def location_of(self, item) -> SourceLocation:
        return location_in(self.text, self.filename, item.line, item.column)

    def located(self, obj) -> SourceLocation | None:
        """Where ``obj`` (a circuit, operation, declaration or statement) was written."""
        position = self.where.get(id(obj))
        return location_in(self.text, self.filename, *position) if position else None

    def _placed(self, obj, meta):
        self.where[id(obj)] = meta.line, meta.column
        return obj

    # terminals

    def STRING(self, token: Token) -> str:
        try:
            return json.loads(token)
        except json.JSONDecodeError:
            raise QCompileError(f"invalid string literal {token}: use JSON escapes such as "
                                "\\\" and \\n", self.location_of(token)) from None

    def VALUE(self, token: Token) -> str:
        return token[1:]

    def NUMBER(self, token: Token) -> float:
        return float(token)

    def SIGNED_NUMBER(self, token: Token) -> int | float:
        return int(token) if re.fullmatch(r"[+-]?\d+", token) else float(token)

    def COMPLEX(self, token: Token) -> complex:
        """``repr(real)`` and ``repr(imag)`` joined by the sign of imag: signed zeros
        survive."""
        real, imag = _COMPLEX.fullmatch(token).groups()
        return complex(float(real), float(imag))

    def PAULI(self, token: Token) -> tuple[int, str]:
        return int(token[1:]), token[0]

    # header and declarations

    def header(self, version: Token):
        if int(version) != FORMAT_VERSION:
            raise QCompileError(f"unsupported textual IR version {version}; this qcompile "
                                f"reads version {FORMAT_VERSION}", self.location_of(version))

    def shape(self, *sizes: Token):
        return tuple(int(n) for n in sizes)

    @v_args(meta=True, inline=True)
    def input_decl(self, meta, name: Token, shape):
        return "input", self._placed(TensorDecl(str(name), shape), meta)

    @v_args(meta=True, inline=True)
    def weight_decl(self, meta, name: Token, shape, frozen: Token | None):
        return "weight", self._placed(TensorDecl(str(name), shape, frozen is None), meta)

    # circuits

    def circuit_header(self, name: Token, params, qregs, cregs):
        qregs, cregs = qregs or (), cregs or ()
        self._qubits = _Registers(qregs, "quantum")
        self._clbits = _Registers(cregs, "classical")
        return str(name), params or (), qregs, cregs

    def params(self, *params: Param):
        return params

    def param(self, name: Token, role: str, shape):
        return Param(str(name), role, shape or ())

    def role(self, keyword: Token):
        return str(keyword)

    def qregs(self, *registers: Register):
        return registers

    cregs = qregs

    def register(self, name: Token, size: Token):
        return Register(str(name), int(size))

    @v_args(meta=True, inline=True)
    def circuit(self, meta, header, ops):
        name, params, qregs, cregs = header
        return self._placed(Circuit(name, qregs, cregs, params, ops), meta)

    def block(self, *ops):
        return ops

    # operations

    def bit_ref(self, register: Token, index: Token):
        return _BitRef(register, int(index))

    def bit_list(self, *refs: _BitRef):
        return tuple(self._qubits.index(ref, self) for ref in refs)

    def gate_params(self, *params):
        return params

    @v_args(meta=True, inline=True)
    def gate(self, meta, name: Token, params, qubits):
        return self._placed(Gate(str(name), qubits, params or ()), meta)

    @v_args(meta=True, inline=True)
    def measure(self, meta, clbit: _BitRef, qubit: _BitRef):
        return self._placed(Measure(self._qubits.index(qubit, self),
                                    self._clbits.index(clbit, self)), meta)

    @v_args(meta=True, inline=True)
    def reset(self, meta, qubit: _BitRef):
        return self._placed(Reset(self._qubits.index(qubit, self)), meta)

    @v_args(meta=True, inline=True)
    def set_bits(self, meta, bits, value: Token):
        return self._placed(SetBits(bits, int(value)), meta)

    @v_args(meta=True, inline=True)
    def barrier(self, meta, qubits):
        return self._placed(Barrier(qubits or ()), meta)

    @v_args(meta=True, inline=True)
    def unitary(self, meta, label: str, qubits, matrix):
        return self._placed(Unitary(matrix, qubits, label), meta)

    @v_args(meta=True, inline=True)
    def matrix(self, meta, *rows):
        if any(len(row) != len(rows) for row in rows):
            raise QCompileError(f"a unitary matrix must be square: it has {len(rows)} rows "
                                f"of {', '.join(str(len(r)) for r in rows)} entries",
                                self.location_of(meta))
        return np.array(rows, dtype=complex)

    def row(self, *entries: complex):
        return entries

    @v_args(meta=True, inline=True)
    def if_else(self, meta, condition, then_body, else_body):
        return self._placed(IfElse(condition, then_body, else_body or ()), meta)

    def condition(self, bits, value: Token):
        return Condition(bits, int(value))

    def whole_register(self, name: Token):
        return tuple(self._clbits.span(name, self))

    def listed_bits(self, *refs: _BitRef):
        return tuple(self._clbits.index(ref, self) for ref in refs)

    def single_bit(self, ref: _BitRef):
        return (self._clbits.index(ref, self),)

    # expressions

    def number(self, value: float):
        return Const(value)

    def negative_number(self, value: float):
        return Const(-value)

    def negated_power_of_number(self, base: float, exponent):
        return Unary("neg", Binary("**", Const(base), exponent))

    def bare_name(self, token: Token):
        return _NAMED_CONSTANTS.get(str(token)) or Symbol(str(token))

    def indexed_symbol(self, name: Token, *index: Token):
        return Symbol(str(name), tuple(int(i) for i in index))

    def function(self, name: Token, arg):
        if name not in UNARY_FUNCTIONS or name == "neg":
            known = ", ".join(f for f in UNARY_FUNCTIONS if f != "neg")
            raise QCompileError(f"unknown function {str(name)!r} (known: {known})",
                                self.location_of(name))
        return Unary(str(name), arg)

    def neg(self, arg):
        return Unary("neg", arg)

    def add(self, a, b): return Binary("+", a, b)
    def sub(self, a, b): return Binary("-", a, b)
    def mul(self, a, b): return Binary("*", a, b)
    def div(self, a, b): return Binary("/", a, b)
    def pow(self, a, b): return Binary("**", a, b)

    # the classical program

    @v_args(meta=True, inline=True)
    def call(self, meta, result: str, circuit: Token, *rest):
        *args, output = rest
        call = QuantumCall(result, str(circuit), tuple(args), output)
        return self._placed(call, meta)

    def argument(self, param: Token, value: str):
        return str(param), value

    def expval(self, *observables):
        return ExpVal(observables)

    def observable(self, first_sign, *rest):
        signs = (first_sign or "+", *rest[1::2])
        return tuple(dataclasses.replace(term, coeff=-term.coeff) if sign == "-" else term
                     for sign, term in zip(signs, rest[0::2]))

    def sign(self, token: Token):
        return str(token)

    def pauli_term(self, coeff: float, *factors: tuple[int, str]):
        return PauliTerm(coeff, factors)

    def unit_pauli_term(self, *factors: tuple[int, str]):
        return PauliTerm(1.0, factors)

    def probs(self, *qubits: Token):
        return Probs(tuple(int(q) for q in qubits))

    def counts(self, shots: Token):
        return Counts(int(shots))

    def state(self):
        return State()

    @v_args(meta=True, inline=True)
    def tensor_op(self, meta, result: str, op: Token, *rest):
        *operands, attrs = rest
        stmt = TensorOp(result, str(op), tuple(operands), attrs or ())
        return self._placed(stmt, meta)

    def attributes(self, *pairs):
        return pairs

    def attribute(self, key: Token, value):
        return str(key), value

    def attribute_list(self, *values):
        return values

    @v_args(meta=True, inline=True)
    def return_stmt(self, meta, *values: str):
        return _Return(values, self.location_of(meta))

    @v_args(meta=True, inline=True)
    def program(self, meta, name: Token, *items):
        self.program_location = self.location_of(meta)
        parts: dict[str, list] = {"input": [], "weight": [], "circuit": [], "body": []}
        outputs: tuple[str, ...] = ()
        for item in items:
            if isinstance(item, _Return):
                if self.return_location is not None:
                    raise QCompileError("a program has one return statement; this is the "
                                        f"second (the first is at {self.return_location})",
                                        item.location)
                outputs, self.return_location = item.values, item.location
            elif isinstance(item, tuple):
                parts[item[0]].append(item[1])
            else:
                parts["circuit" if isinstance(item, Circuit) else "body"].append(item)
        return Program(parts["input"], parts["weight"], parts["circuit"], parts["body"],
                       outputs, name=str(name))

    def start(self, *children):
        return children[-1]


# --- locating verification errors -----------------------------------------------------------

def _offending_location(program: Program, builder: _ProgramBuilder) -> SourceLocation | None:
    """Where the first invariant broken by ``program`` was written.

    Re-verifies pieces in the verifier's own order (names, circuits, statements, outputs) so
    that the location matches the message of the full verification.
    """
    for group in (program.circuits, program.inputs + program.weights):
        seen: set[str] = set()
        for item in group:
            if item.name in seen:
                return builder.located(item)
            seen.add(item.name)
    for circuit in program.circuits:
        try:
            verify_circuit(circuit.with_ops(()))
        except VerificationError:
            return builder.located(circuit)
        found = _offending_operation(circuit, circuit.ops, builder)
        if found is not None:
            return found
    for position, statement in enumerate(program.body):
        prefix = dataclasses.replace(program, body=program.body[:position + 1], outputs=())
        try:
            value_shapes(prefix)
        except VerificationError:
            return builder.located(statement)
    return builder.return_location


def _offending_operation(circuit: Circuit, ops, builder) -> SourceLocation | None:
    for op in ops:
        alone = IfElse(op.condition, (), ()) if isinstance(op, IfElse) else op
        try:
            verify_circuit(circuit.with_ops((alone,)))
        except VerificationError:
            return builder.located(op)
        if isinstance(op, IfElse):
            found = _offending_operation(circuit, op.then_body + op.else_body, builder)
            if found is not None:
                return found
    return None


# --- syntax errors in user terms ------------------------------------------------------------

_PROGRAM = f"{HEADER}\nprogram p {{\n"
_CIRCUIT = _PROGRAM + "circuit k() qubits q[2] bits c[2] {\n"

#: Messages for common mistakes, each with texts that fail in the same parser state.
_HINTS = {
    f"expected the header line '{HEADER}' at the start of the text":
        ["program p {\n}\n", "\nprogram p {\n}\n"],
    "expected a qubit like q[0] after the gate name":
        [_CIRCUIT + "h\n", _CIRCUIT + "rz(0.5)\n"],
    "expected an index in brackets after the register name, like q[0]":
        [_CIRCUIT + "h q\n", _CIRCUIT + "cx q[0], q\n", _CIRCUIT + "c[0] = measure q\n",
         _CIRCUIT + "reset q\n"],
    "expected ',' between qubits, or the end of the line":
        [_CIRCUIT + "cx q[0] q[1]\n"],
    "expected an operation (a gate, measure, reset, barrier, if, set or unitary) or '}'":
        [_CIRCUIT + "3\n", _CIRCUIT + "h q[0]\n3\n", _CIRCUIT + "if (c[0] == 1) {\n3\n",
         _CIRCUIT + "if (c[0] == 1) {\nh q[0]\n3\n"],
    "expected a declaration (input, weight), a circuit, a statement like %y = op(%x), "
    "return, or '}'":
        [_PROGRAM + "3\n", _PROGRAM + "input x: [2]\n3\n"],
    "expected an expression":
        [_CIRCUIT + f"rz({prefix} *) q[0]\n" for prefix in
         ("", "1 +", "1 -", "1 *", "1 /", "-", "2 **", "-2 **", "(", "sin(", "1,")],
}

_TERMINAL_NAMES = {
    "NAME": "a name", "VALUE": "a value like %x", "INT": "an integer", "NUMBER": "a number",
    "SIGNED_NUMBER": "a number", "COMPLEX": "a complex number like 1.0+0.0j",
    "PAULI": "a Pauli factor like Z0", "STRING": "a quoted string",
    "_NL": "the end of the line", "$END": "the end of the text",
}


def _syntax_error(err: UnexpectedInput, text: str, filename: str) -> QCompileError:
    token = getattr(err, "token", None)
    found = _describe_found(token) if token is not None else f"the character {err.char!r}"
    hint = _hints_by_state().get(_parser_state(err))
    if hint is None:
        expected = sorted({_describe_expected(name) for name in
                           getattr(err, "expected", None) or getattr(err, "allowed", ())})
        hint = "expected " + _one_of(expected) if expected else "unexpected input"
    line, column = err.line, err.column
    if (token is not None and token.type == "$END") or line < 1:
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    return QCompileError(f"syntax error: {hint}, found {found}",
                         location_in(text, filename, line, column))


@functools.cache
def _hints_by_state() -> dict[int, str]:
    """LALR state → message, learnt by parsing the examples in :data:`_HINTS`.

    Keyed by the state alone (lark's ``match_examples`` also compares stack depth, which
    would tie a message to the nesting level of its example).
    """
    hints: dict[int, str] = {}
    for message, examples in _HINTS.items():
        for example in examples:
            try:
                _parser().parse(example)
            except UnexpectedInput as err:
                hints.setdefault(_parser_state(err), message)
    return hints


def _parser_state(err: UnexpectedInput) -> int | None:
    return getattr(getattr(err, "state", None), "position", None)


def _one_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _describe_found(token: Token) -> str:
    if token.type in ("_NL", "$END"):
        return _TERMINAL_NAMES[token.type]
    return repr(str(token))


def _describe_expected(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    pattern = _parser().get_terminal(name).pattern
    return repr(pattern.value) if isinstance(pattern, PatternStr) else name.lower()
