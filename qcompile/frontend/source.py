"""Read any supported source into a Program, deciding the language from the content.

Users pass ``.qm`` models, OpenQASM 2/3 files and saved textual IR to the same commands, so the
header, not the file name, decides the frontend.
"""

from __future__ import annotations

from pathlib import Path

from ..ir import Program, QCompileError
from ..ir.parser import looks_like_ir, parse_program
from .qasm import load_qasm, looks_like_qasm
from .qm import looks_like_model, parse_model


def parse_source(text: str, filename: str = "<source>") -> Program:
    """Parse model-language, OpenQASM or textual-IR text."""
    if looks_like_ir(text):
        return parse_program(text, filename)
    if looks_like_qasm(text):
        return Program.from_circuit(load_qasm(text, filename))
    if looks_like_model(text):
        return parse_model(text, filename)
    raise QCompileError(
        f"{filename}: cannot tell which language this is: expected a model starting with "
        "'model NAME', an OpenQASM program starting with 'OPENQASM', or textual IR starting "
        "with the 'qcompile.ir' header")


def load_source(path: str | Path) -> Program:
    """Read and parse a file; unreadable files are user errors, not tracebacks."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QCompileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise QCompileError(f"{path}: is a directory, expected a source file") from None
    except UnicodeDecodeError as err:
        raise QCompileError(f"{path}: not a text file ({err.reason} at byte {err.start})") \
            from None
    except OSError as err:
        raise QCompileError(f"{path}: cannot read ({err.strerror})") from None
    return parse_source(text, str(path))
