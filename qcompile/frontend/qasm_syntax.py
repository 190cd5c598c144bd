"""Parsing OpenQASM text with the ``openqasm3`` reference parser, and locating its nodes.

The parser reports syntax errors through ANTLR (a message on stderr, an exception carrying
the offending token); both are turned into one :class:`QCompileError` with file:line:col.

The parser and its AST builder recurse once or more per level of nesting, and ANTLR's
prediction takes time quadratic in the depth of parentheses, so text nesting brackets deeper
than :data:`MAX_BRACKET_DEPTH` is refused before parsing (and so is a number of more digits than
Python reads, :func:`~qcompile.ir.text_limits.check_numbers`); a nesting without brackets that is
still too deep (a long chain of operators, ``if`` after ``if``) ends in a ``RecursionError``,
which is reported where the parser was. The parser holds about 500 bytes per character of
text, hence :data:`MAX_PARSED_CHARS`.
"""

from __future__ import annotations

import contextlib
import io
import re

import openqasm3
from antlr4 import ParserRuleContext
from openqasm3 import ast
from openqasm3.parser import QASM3ParsingError

from ..ir import QCompileError, SourceLocation
from ..ir.diagnostics import location_in
from ..ir.text_limits import check_numbers, offset_location
from .qasm_common import BOM

_REPORTED = re.compile(r"line (\d+):(\d+) (.*)")
_RAISED = re.compile(r"L(\d+):C(\d+): (.*)")
_OPAQUE = re.compile(r"(\s*)opaque\b")
#: Brackets, and what holds brackets that do not nest (comments and strings).
_BRACKETS = re.compile(r'//[^\n]*|/\*.*?\*/|"[^"\n]*"|[()\[\]{}]', re.S)
_OPENING, _CLOSING = ("(", "[", "{"), (")", "]", "}")

#: Brackets ``( [ {`` open at once; the parser's recursion fails at about 150.
MAX_BRACKET_DEPTH = 64

#: 2 Mi characters: about 1 GB for the reference parser (flat files are read faster and in
#: less memory before it is tried; see :mod:`.qasm_flat`).
MAX_PARSED_CHARS = 2 * 2**20


class Source:
    """The text of one OpenQASM file, for turning AST spans into source locations."""

    def __init__(self, text: str, filename: str):
        self.text = text.removeprefix(BOM)
        self.filename = filename
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def location(self, node: ast.QASMNode | None) -> SourceLocation | None:
        """Where ``node`` starts (1-based column), or None for nodes without a span."""
        span = getattr(node, "span", None)
        if span is None:
            return None
        column = span.start_column
        line_length = self._line_length(span.start_line)
        if isinstance(node, ast.Identifier) and column > line_length:
            # openqasm3 1.0 gives identifiers their offset in the file, not in the line.
            column -= self._line_starts[span.start_line - 1]
        return location_in(self.text, self.filename, span.start_line, column + 1)

    def error(self, message: str, node: ast.QASMNode | None) -> QCompileError:
        return QCompileError(message, self.location(node))

    def _line_length(self, line: int) -> int:
        if not 0 < line <= len(self._line_starts):
            return 0
        end = self._line_starts[line] if line < len(self._line_starts) else len(self.text)
        return end - self._line_starts[line - 1]


def parse(source: Source) -> ast.Program:
    """The openqasm3 AST of ``source``; syntax errors become located QCompileErrors."""
    if len(source.text) > MAX_PARSED_CHARS:
        raise QCompileError(f"{source.filename}: the program has {len(source.text):,} "
                            f"characters; beyond the flat subset (declarations, gates, "
                            f"measurements, simple definitions) at most {MAX_PARSED_CHARS:,} "
                            "are parsed")
    check_numbers(source.text, source.filename)
    _check_brackets(source)
    reported = io.StringIO()
    try:
        with contextlib.redirect_stderr(reported):
            return openqasm3.parse(source.text)
    except QASM3ParsingError as exc:
        raise _syntax_error(source, exc, reported.getvalue()) from None
    except RecursionError as exc:
        raise QCompileError("nested too deeply for the parser (a long chain of operators or "
                            "of statements inside one another)", _where(source, exc)) from None
    except Exception as exc:  # the AST builder raises plain errors for some bad programs
        raise QCompileError(f"invalid OpenQASM program: {exc}", _where(source, exc)) from None


def _check_brackets(source: Source) -> None:
    """Refuse brackets nested deeper than :data:`MAX_BRACKET_DEPTH` before the parser
    recurses into them."""
    depth = 0
    for match in _BRACKETS.finditer(source.text):
        if match[0] in _CLOSING:
            depth = max(depth - 1, 0)
        elif match[0] in _OPENING:
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                raise QCompileError(f"brackets nested too deeply: more than "
                                    f"{MAX_BRACKET_DEPTH} open at once",
                                    offset_location(source.text, source.filename, match.start()))


def _where(source: Source, exc: Exception) -> SourceLocation:
    """Where the parser or the AST builder was when ``exc`` was raised: the start of the
    innermost ANTLR rule context among the frames it passed through."""
    line, column = 1, 0
    trace = exc.__traceback__
    while trace is not None:
        for value in list(trace.tb_frame.f_locals.values()):
            if isinstance(value, ParserRuleContext) and value.start is not None:
                line, column = value.start.line, value.start.column
        trace = trace.tb_next
    return location_in(source.text, source.filename, line, column + 1)


def _syntax_error(source: Source, exc: QASM3ParsingError, reported: str) -> QCompileError:
    line, column, detail = _error_position(exc, reported)
    detail = "".join(c if c.isprintable() else repr(c)[1:-1] for c in detail)  # NUL, ...
    if line is None:
        return QCompileError(f"syntax error: {detail}",
                             location_in(source.text, source.filename, 1, 1))
    location = location_in(source.text, source.filename, line, column + 1)
    opaque = _OPAQUE.match(location.source_line or "")
    if opaque:  # the OpenQASM 3 grammar has no opaque declarations, so it fails on them
        return QCompileError("opaque gate declarations are not supported (an opaque gate has "
                             "no definition to lower)",
                             location_in(source.text, source.filename, line, opaque.end(1) + 1))
    return QCompileError(f"syntax error: {detail}", location)


def _error_position(exc: QASM3ParsingError, reported: str):
    """(line, 0-based column, description) from whichever channel ANTLR used."""
    match = _RAISED.match(str(exc)) or _REPORTED.search(reported)
    if match:
        return int(match[1]), int(match[2]), match[3]
    cause = exc.__context__
    recognition = cause.args[0] if cause is not None and cause.args else None
    token = getattr(recognition, "offendingToken", None)
    if token is None:
        return None, None, "the parser could not read the program"
    text = "end of file" if token.text == "<EOF>" else repr(token.text)
    return token.line, token.column, f"unexpected {text}"
