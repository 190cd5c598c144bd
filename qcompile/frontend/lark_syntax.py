"""Parsing with a lark grammar (the model language, Pauli observables): a syntax error becomes
one :class:`QCompileError` at ``file:line:col`` that says what came and what was expected, and
text too long, with a number too long, or nesting too deeply for what walks the tree is
refused (:mod:`qcompile.ir.text_limits`)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from lark import Lark, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..ir import QCompileError
from ..ir.diagnostics import location_in
from ..ir.text_limits import check_depth, check_text


class Grammar:
    """An LALR grammar that keeps positions on every node. ``phrases`` name terminals in
    messages (``NUMBER`` → "a number"); a terminal without one is shown by its pattern.
    The parser is built when first used (building it takes longer than importing a module
    that declares a grammar)."""

    def __init__(self, path: Path, phrases: Mapping[str, str], **options):
        self.path, self.options = path, options
        self.phrases = {"$END": "end of input", **phrases}

    @cached_property
    def lark(self) -> Lark:
        return Lark(self.path.read_text(), parser="lalr", propagate_positions=True,
                    maybe_placeholders=True, **self.options)

    def parse(self, text: str, filename: str, start: str | None = None) -> Tree:
        check_text(text, filename)
        try:
            # The trailing newline ends the last statement; positions are unchanged.
            tree = self.lark.parse(text + "\n", start=start)
        except UnexpectedInput as err:
            line, column = err.line, err.column
            if isinstance(err, UnexpectedCharacters):
                message = f"unexpected character {text[err.pos_in_stream]!r}"
            elif isinstance(err, UnexpectedToken) and err.token.type == "$END":
                message = "unexpected end of input"
                line, column = _end_position(text)
            elif isinstance(err, UnexpectedToken) and err.token.type == "_END":
                message = "unexpected end of statement"
            else:
                message = f"unexpected {str(getattr(err, 'token', '?'))!r}"
            expected = sorted({self.describe(t) for t in getattr(err, "expected", ()) or ()})
            if expected:
                message += f"; expected {', '.join(expected[:8])}"
            raise QCompileError(f"syntax error: {message}",
                                location_in(text, filename, line, column)) from None
        check_depth(tree, text, filename)
        return tree

    def describe(self, terminal: str) -> str:
        if terminal in self.phrases:
            return self.phrases[terminal]
        pattern = self.lark.get_terminal(terminal).pattern
        return f"'{pattern.value}'" if pattern.type == "str" else terminal.lower()


def _end_position(text: str) -> tuple[int, int]:
    lines = text.splitlines() or [""]
    return len(lines), len(lines[-1]) + 1
