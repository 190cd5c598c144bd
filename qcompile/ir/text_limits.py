"""How much text the lark parsers (the textual IR, ``.qm`` models, observables) take, and
how deeply what they read may nest.

lark's LALR parser keeps its own stack, but everything that walks a parse tree afterwards
recurses (the transformers and lowerings, and the expressions they build, which the passes
and the printer walk again), and Python stops a recursion at 1000 frames with a
``RecursionError``. A tree deeper than :data:`MAX_TREE_DEPTH` is therefore refused right
after parsing, at the node that goes past it. Parse trees with positions take about 350 bytes
per character of text, so text longer than :data:`MAX_TEXT_CHARS` is refused before parsing,
and so is a number of more digits than Python reads (:data:`MAX_DIGITS`).
"""

from __future__ import annotations

import re

from lark import Tree

from .diagnostics import QCompileError, SourceLocation, location_in

#: Levels of a parse tree: each block and each operator of a chain (``a + b + c`` is two)
#: is one or two levels, so a program nesting 60 blocks or loops still parses.
MAX_TREE_DEPTH = 200

#: 4 Mi characters: about 1.4 GB of parse tree.
MAX_TEXT_CHARS = 4 * 2**20

#: Digits of one number: ``int`` reads no more (``sys.get_int_max_str_digits``).
MAX_DIGITS = 4300
_LONG_NUMBER = re.compile(r"\d{" + str(MAX_DIGITS + 1) + ",}")


def check_text(text: str, filename: str) -> None:
    """Refuse, before it is parsed, text longer than :data:`MAX_TEXT_CHARS` or holding a
    number of more than :data:`MAX_DIGITS` digits."""
    if len(text) > MAX_TEXT_CHARS:
        raise QCompileError(f"{filename}: the text has {len(text):,} characters; at most "
                            f"{MAX_TEXT_CHARS:,} are parsed")
    check_numbers(text, filename)


def check_numbers(text: str, filename: str) -> None:
    """Refuse a number of more than :data:`MAX_DIGITS` digits, at its first digit."""
    number = _LONG_NUMBER.search(text)
    if number is not None:
        raise QCompileError(f"a number of {len(number[0]):,} digits; at most {MAX_DIGITS} are "
                            "read", offset_location(text, filename, number.start()))


def offset_location(text: str, filename: str, offset: int) -> SourceLocation:
    """The location of the character at ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return location_in(text, filename, line, offset - text.rfind("\n", 0, offset))


def check_depth(tree: Tree, text: str, filename: str) -> None:
    """Refuse a tree deeper than :data:`MAX_TREE_DEPTH`, located at its first node too deep
    (or the nearest enclosing node with a position), found without recursing."""
    stack = [(tree, 1, (1, 1))]
    while stack:
        node, depth, position = stack.pop()
        if not node.meta.empty:
            position = node.meta.line, node.meta.column
        if depth > MAX_TREE_DEPTH:
            raise QCompileError(f"nested too deeply: more than {MAX_TREE_DEPTH} levels of "
                                "blocks and expressions (each operator of a chain counts)",
                                location_in(text, filename, *position))
        stack.extend((child, depth + 1, position) for child in node.children
                     if isinstance(child, Tree))
