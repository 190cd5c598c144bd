"""OpenQASM 2 and 3 → IR circuit: recognizing OpenQASM text, and :func:`load_qasm`.

Most files are flat (declarations, gate calls with constant angles, measurements, simple
definitions) and are read by the fast reader of :mod:`.qasm_flat`; everything else goes to
the importer over the ``openqasm3`` reference parser's AST (:mod:`.qasm_importer`), which
is imported only then, as it takes a while to import. Both build the same circuit for the
same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..ir import Circuit
from .limits import MAX_CONDITION_BITS
from .qasm_flat import read_flat

#: How an OpenQASM file starts, after blank lines and comments: the version line, which the
#: specification makes optional, or else a statement only OpenQASM has.
_START = re.compile(r"\A\ufeff?(?:\s+|//[^\n]*(?:\n|\Z)|/\*.*?\*/)*(?:OPENQASM\b|(?:include\s*\"|"
                    r"(?:qubit|bit)\s*[\[\w$]|(?:qreg|creg)\s+\w|defcalgrammar\b|gate\s+\w))", re.S)

#: File extensions that say a file is OpenQASM whatever its first line.
QASM_SUFFIXES = frozenset({".qasm", ".qasm2", ".qasm3", ".inc"})


def looks_like_qasm(text: str) -> bool:
    """True when the text starts (after blank lines and comments) with an OPENQASM header or,
    the header being optional, with an include or a declaration only OpenQASM writes."""
    return _START.match(text) is not None


def load_qasm(text: str, filename: str = "<qasm>", *,
              include_path: Sequence[str | Path] = ()) -> Circuit:
    """Import an OpenQASM 2.0 or 3.x program (version from its header; when there is none, 2
    for a program including qelib1.inc and 3 otherwise). ``include`` reads files beside
    ``filename`` or in the ``include_path`` directories, never elsewhere."""
    name = Path(filename).stem if filename != "<qasm>" else "main"
    circuit = read_flat(text, name, max_condition_bits=MAX_CONDITION_BITS)
    if circuit is not None:
        return circuit
    from .qasm_importer import import_qasm  # slow to import: the reference parser

    return import_qasm(text, filename, name, include_path)
