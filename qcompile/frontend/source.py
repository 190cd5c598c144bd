"""Read any supported source into a Program, deciding the language from the content.

Users pass ``.qm`` models, OpenQASM 2/3 files and saved textual IR to the same commands, so the
header, not the file name, decides the frontend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..ir import Program, QCompileError
from ..ir.parser import looks_like_ir, parse_program
from .qasm import QASM_SUFFIXES, load_qasm, looks_like_qasm
from .limits import MAX_SOURCE_BYTES, read_file
from .qasm_common import BOM
from .qm import looks_like_model, parse_model


def parse_source(text: str, filename: str = "<source>", *,
                 include_path: Sequence[str | Path] = ()) -> Program:
    """Parse model-language, OpenQASM or textual-IR text (a UTF-8 byte-order mark is
    skipped). OpenQASM is recognised by its header, which the specification makes optional,
    or else by the file's extension or its first statement. ``include_path`` lists the
    directories OpenQASM ``include`` may read from besides the including file's own."""
    text = text.removeprefix(BOM)
    if looks_like_ir(text):
        return parse_program(text, filename)
    if looks_like_model(text):
        return parse_model(text, filename)
    if Path(filename).suffix.lower() in QASM_SUFFIXES or looks_like_qasm(text):
        return Program.from_circuit(load_qasm(text, filename, include_path=include_path))
    raise QCompileError(
        f"{filename}: cannot tell which language this is: expected a model starting with "
        "'model NAME', OpenQASM (a .qasm file, or text starting with 'OPENQASM' or an OpenQASM "
        "statement), or textual IR starting with the 'qcompile.ir' header")


def load_source(path: str | Path, *, include_path: Sequence[str | Path] = ()) -> Program:
    """Read and parse a file; unreadable files (missing, not regular, larger than
    :data:`~.limits.MAX_SOURCE_BYTES`, not UTF-8) are user errors, not tracebacks."""
    path = Path(path)
    try:
        text = read_file(path, MAX_SOURCE_BYTES, "file").decode("utf-8")
    except UnicodeDecodeError as err:
        raise QCompileError(f"{path}: not a text file ({err.reason} at byte {err.start})") \
            from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it
    return parse_source(text, str(path), include_path=include_path)
