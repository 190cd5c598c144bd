"""What every ``qcompile`` command shares: the consoles, loading a model, reading input and
weight files, writing results, and preparing a program to run (``run`` and ``submit``)."""

from __future__ import annotations

import argparse
import io
import math
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
from rich.console import Console

from ..frontend.limits import read_file
from ..ir import Program, QCompileError, QuantumCall, State
from ..ir.outputs import with_output

MODEL_HELP = "a .qm model, an OpenQASM 2/3 file, textual IR, zoo:NAME, or - (standard input)"

#: The most an .npy or .npz input or weight file may hold, its arrays uncompressed.
MAX_ARRAY_BYTES = 256 * 2**20
#: CSV becomes Python numbers before an array, about 30 bytes of memory per character.
MAX_CSV_BYTES = 16 * 2**20
#: Shots and seeds are numpy int64 values (a multinomial draw, a SeedSequence entropy).
MAX_INT64 = 2**63 - 1

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """The model a command reads, and where OpenQASM include files may come from."""
    parser.add_argument("model", help=MODEL_HELP)
    parser.add_argument("--include-path", metavar="DIR", action="append", default=[],
                        help="a directory OpenQASM include files may be read from besides "
                        "the including file's own (repeatable)")


def load_program(args: argparse.Namespace) -> Program:
    """``zoo:NAME`` (or a bare zoo name) loads a bundled model; anything else is a file."""
    from ..frontend.source import load_source
    from ..models import list_models, load_model

    spec = args.model
    if spec == "-":
        return _load_stdin(args)
    if spec.startswith("zoo:") or (not Path(spec).exists() and spec in list_models()):
        return load_model(spec)
    return load_source(spec, include_path=args.include_path)


def _load_stdin(args: argparse.Namespace) -> Program:
    """A source piped in; the language is told by its content, as for files."""
    from ..frontend.limits import MAX_SOURCE_BYTES
    from ..frontend.source import parse_source

    data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise QCompileError(f"<stdin>: more than {MAX_SOURCE_BYTES} bytes; a source may be "
                            f"at most that long")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise QCompileError(f"<stdin>: not text ({err.reason} at byte {err.start})") from None
    return parse_source(text.replace("\r\n", "\n"), "<stdin>", include_path=args.include_path)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file so an interrupted run never leaves a half-written output."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as err:
        raise QCompileError(f"{path}: cannot write ({err.strerror})") from None


def figure_bytes(figure, suffix: str) -> bytes:
    """A matplotlib figure rendered in the format ``suffix`` names (".png", ".svg", ...)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=suffix.lstrip("."))
    return buffer.getvalue()


# --- inputs and weights --------------------------------------------------------------------

def read_array_file(path: str, what: str) -> dict[str, np.ndarray] | np.ndarray:
    """``.npy`` → one array; ``.npz`` → arrays by name; ``.csv`` → rows of numbers. The file
    is size-checked before it is read (:data:`MAX_ARRAY_BYTES`, :data:`MAX_CSV_BYTES`, an
    .npz's arrays by their uncompressed size), and floats must be finite (the runner refuses
    what is no real number)."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise QCompileError(f"{path}: {what} must be a .npy, .npz or .csv file")
    data = read_file(Path(path), MAX_CSV_BYTES if suffix == ".csv" else MAX_ARRAY_BYTES,
                     f"{what} file")
    try:
        arrays = _read_csv(path, data) if suffix == ".csv" else _read_numpy(path, data)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise QCompileError(f"{path}: cannot read {what}: {err}") from None
    except MemoryError:  # a header declaring more than memory holds
        raise QCompileError(f"{path}: cannot read {what}: it declares an array larger than "
                            "the memory available") from None
    for name, array in arrays.items() if isinstance(arrays, dict) else [("", arrays)]:
        label = f"{what} {name!r}" if name else what
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise QCompileError(f"{path}: {label} must be finite numbers; the file holds NaN "
                                "or infinity")
    return arrays


def _read_numpy(path: str, data: bytes) -> dict[str, np.ndarray] | np.ndarray:
    """An array, or arrays by name, whatever the suffix says: numpy reads the format from
    the file's first bytes."""
    loaded = np.load(io.BytesIO(data), allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return loaded
    with loaded:
        size = sum(info.file_size for info in loaded.zip.infolist())
        if size > MAX_ARRAY_BYTES:
            raise QCompileError(f"{path}: its arrays hold {size:,} bytes uncompressed; at most "
                                f"{MAX_ARRAY_BYTES:,} are read")
        return {name: loaded[name] for name in loaded.files}


def _read_csv(path: str, data: bytes) -> np.ndarray:
    lines = [line for line in data.decode("utf-8").splitlines() if line.strip()]
    rows = []
    for number, line in enumerate(lines, 1):
        cells = [c.strip() for c in line.split(",")]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if number == 1:  # a header row
                continue
            raise QCompileError(f"{path}:{number}: not a number in {line.strip()!r}") from None
    if not rows:
        raise QCompileError(f"{path}: no rows of numbers")
    if len({len(r) for r in rows}) > 1:
        raise QCompileError(f"{path}: rows have different numbers of columns")
    return np.array(rows, dtype=float)


def named_arrays(program_decls, data, what: str, path: str) -> dict[str, np.ndarray]:
    """Map a file's arrays to declared names. A single array is split column-wise across
    the declarations in order (so one CSV can feed several inputs)."""
    if isinstance(data, dict):
        return data
    names = [d.name for d in program_decls]
    if len(program_decls) == 1 and (data.shape == program_decls[0].shape
                                    or data.shape[1:] == program_decls[0].shape):
        return {names[0]: data}
    if what == "weights" or data.ndim == 0:
        raise QCompileError(f"{path}: cannot split an array of shape {list(data.shape)} into "
                            f"{what} {', '.join(names)}; use an .npz file with one array per name")
    sizes = [int(np.prod(d.shape)) for d in program_decls]
    flat = data.reshape(data.shape[0], -1)
    if flat.shape[1] != sum(sizes):
        raise QCompileError(f"{path}: {flat.shape[1]} columns, but the inputs "
                            f"{', '.join(names)} need {sum(sizes)}")
    bounds = np.cumsum([0] + sizes)
    return {d.name: flat[:, lo:hi].reshape((flat.shape[0],) + d.shape)
            for d, lo, hi in zip(program_decls, bounds[:-1], bounds[1:])}


def default_output(program: Program) -> str | None:
    """A bare circuit file reads counts if it measures, else probabilities; a model keeps
    the outputs it declares."""
    calls = [s for s in program.body if isinstance(s, QuantumCall)]
    if len(program.body) == 1 and calls and isinstance(calls[0].output, State):
        circuit = program.circuits[0]
        return "counts" if circuit.num_clbits else "probs"
    return None


def prepare_run(program: Program, args) -> tuple[Program, dict, dict]:
    """Apply ``--output`` and read ``--inputs``/``--weights`` (shared by run and submit)."""
    from ..backends.runner import init_weights
    from ..passes.quantize import bind_weight_scales, weight_scales

    kind = args.output or default_output(program)
    if kind is not None:
        program = with_output(program, kind, args.shots)
    inputs = {}
    if args.inputs:
        inputs = named_arrays(program.inputs, read_array_file(args.inputs, "inputs"), "inputs",
                              args.inputs)
    elif program.inputs:
        decl = program.inputs[0]
        raise QCompileError(f"the program needs input {decl.name!r} of shape {list(decl.shape)}"
                            " per sample; pass --inputs FILE (.npy, .npz or .csv)")
    scales = weight_scales(program)  # computed from the weights they scale, never given
    if args.weights:
        given = [w for w in program.weights if w.name not in scales]
        weights = bind_weight_scales(program, named_arrays(
            given, read_array_file(args.weights, "weights"), "weights", args.weights))
    elif scales:
        quantized = ", ".join(dict.fromkeys(scales.values()))
        raise QCompileError(f"the program quantizes the weights {quantized} (quantize-weights) "
                            "with scales computed from their values, so it needs real weights: "
                            "pass them with --weights FILE (.npz by name, or .npy for a single "
                            "weight); random ones would make its quantized outputs meaningless")
    else:
        weights = init_weights(program, args.seed)
        if program.weights:
            stderr.print(f"note: no --weights given; using random weights (seed {args.seed})")
    return program, inputs, weights


# --- results -------------------------------------------------------------------------------

def write_results(results: dict[str, np.ndarray], as_json: bool) -> None:
    """The results as tables, or as one JSON object. Non-finite values are never silent: a
    warning names each output that has them, the tables print them as ``nan``/``inf``, and
    JSON (which has no NaN) writes them as null and lists them under ``"nonfinite"``."""
    nonfinite = {name: int(np.sum(~np.isfinite(value))) for name, value in results.items()
                 if np.issubdtype(np.asarray(value).dtype, np.number)
                 and not np.isfinite(value).all()}
    for name, count in nonfinite.items():
        stderr.print(f"warning: output {name!r} has {count} value(s) that are NaN or infinite "
                     f"(a log or division outside its domain, say)", markup=False,
                     highlight=False)
    if as_json:
        document = {name: _jsonable(value) for name, value in results.items()}
        if nonfinite:
            document["nonfinite"] = nonfinite
        json.dump(document, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        _print_results(results)


def _jsonable(value: np.ndarray):
    value = np.asarray(value)
    if np.iscomplexobj(value):
        return {"real": _jsonable(value.real), "imag": _jsonable(value.imag)}
    if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
        return np.where(np.isfinite(value), value, None).tolist()
    return value.tolist()


def _print_results(results: dict[str, np.ndarray]) -> None:
    from rich.table import Table
    from rich.text import Text

    for name, value in results.items():
        table = Table(title=f"{name}  (batch of {value.shape[0]})", title_justify="left")
        table.add_column("sample", justify="right")
        table.add_column("value")
        with np.printoptions(precision=6, suppress=True, linewidth=100, threshold=64):
            for i, row in enumerate(value[:32]):
                table.add_row(str(i), Text(str(row)))  # text, never markup: "[nan]"
        stdout.print(table)
        if value.shape[0] > 32:
            stdout.print(f"... {value.shape[0] - 32} more samples (use --json for all)")


def positive_float(text: str) -> float:
    """An argparse type for a positive, finite-or-infinite number (``--lr``, ``--time-limit``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isnan(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def int_at_least(minimum: int, kind: str, at_most: int = MAX_INT64):
    """An argparse type for ``--shots`` / ``--seed``: checked while parsing, before anything
    runs or is recorded (``--shots 0`` would otherwise fail deep inside a simulator, and
    numpy takes no integer beyond int64)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if not minimum <= value <= at_most:
            shown = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"
            raise argparse.ArgumentTypeError(f"must be a {kind} integer of at most {at_most}, "
                                             f"got {shown!r}")
        return value

    return parse
