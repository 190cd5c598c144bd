"""User-facing errors with source locations.

Every mistake a user can make surfaces as a :class:`QCompileError`; the CLI turns it into a
one-paragraph message and exit status 2, so no traceback ever reaches a user.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Characters of a source line shown in an error; a longer line is cut around the column.
EXCERPT_WIDTH = 120


@dataclass(frozen=True)
class SourceLocation:
    """A position in a source file (1-based line and column)."""

    file: str
    line: int
    column: int
    source_line: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def excerpt(self) -> str:
        """The offending source line with a caret under the column, or '' if unknown; of a
        line longer than :data:`EXCERPT_WIDTH`, the part around the column, marked ``...``."""
        if self.source_line is None:
            return ""
        line = self.source_line.rstrip("\n").expandtabs(1)
        caret = max(self.column - 1, 0)
        if len(line) > EXCERPT_WIDTH:
            start = max(0, min(caret - EXCERPT_WIDTH // 2, len(line) - EXCERPT_WIDTH))
            before, after = ("..." if start else ""), ("..." if start + EXCERPT_WIDTH < len(line)
                                                        else "")
            line = before + line[start:start + EXCERPT_WIDTH] + after
            caret += len(before) - start
        return f"    {line}\n    {' ' * caret}^"


class QCompileError(Exception):
    """An error caused by user input: bad source, bad arguments, unsupported constructs."""

    def __init__(self, message: str, location: SourceLocation | None = None):
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        text = f"{self.location}: {self.message}"
        excerpt = self.location.excerpt()
        return f"{text}\n{excerpt}" if excerpt else text


class VerificationError(QCompileError):
    """The IR breaks an invariant (names which operation and operand, and why)."""


def location_in(text: str, file: str, line: int, column: int) -> SourceLocation:
    """Build a location whose excerpt is taken from ``text``."""
    lines = text.splitlines()
    source_line = lines[line - 1] if 0 < line <= len(lines) else None
    return SourceLocation(file, line, column, source_line)
