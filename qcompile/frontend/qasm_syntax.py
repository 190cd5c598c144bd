"""Parsing OpenQASM text with the ``openqasm3`` reference parser, and locating its nodes.

The parser reports syntax errors through ANTLR (a message on stderr, an exception carrying
the offending token); both are turned into one :class:`QCompileError` with file:line:col.
"""

from __future__ import annotations

import contextlib
import io
import re

import openqasm3
from openqasm3 import ast
from openqasm3.parser import QASM3ParsingError

from ..ir import QCompileError, SourceLocation
from ..ir.diagnostics import location_in

_REPORTED = re.compile(r"line (\d+):(\d+) (.*)")
_RAISED = re.compile(r"L(\d+):C(\d+): (.*)")
_OPAQUE = re.compile(r"(\s*)opaque\b")


class Source:
    """The text of one OpenQASM file, for turning AST spans into source locations."""

    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

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
    reported = io.StringIO()
    try:
        with contextlib.redirect_stderr(reported):
            return openqasm3.parse(source.text)
    except QASM3ParsingError as exc:
        raise _syntax_error(source, exc, reported.getvalue()) from None
    except Exception as exc:  # the AST builder raises plain errors for some bad programs
        raise QCompileError(f"invalid OpenQASM program: {exc}",
                            location_in(source.text, source.filename, 1, 1)) from None


def _syntax_error(source: Source, exc: QASM3ParsingError, reported: str) -> QCompileError:
    line, column, detail = _error_position(exc, reported)
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
