"""What every ``qcompile`` command shares: the consoles, loading a model, reading input and
weight files, writing results, and preparing a program to run (``run`` and ``submit``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console

from ..ir import Program, QCompileError, QuantumCall, State
from ..ir.outputs import with_output

MODEL_HELP = "a .qm model, an OpenQASM 2/3 file, textual IR, or zoo:NAME"

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def load_program(spec: str) -> Program:
    """``zoo:NAME`` (or a bare zoo name) loads a bundled model; anything else is a file."""
    from ..frontend.source import load_source
    from ..models import list_models, load_model

    if spec.startswith("zoo:") or (not Path(spec).exists() and spec in list_models()):
        return load_model(spec)
    return load_source(spec)


def write_text(path: Path, text: str) -> None:
    """Write via a temporary file so an interrupted run never leaves a half-written output."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as err:
        raise QCompileError(f"{path}: cannot write ({err.strerror})") from None


# --- inputs and weights --------------------------------------------------------------------

def read_array_file(path: str, what: str) -> dict[str, np.ndarray] | np.ndarray:
    """``.npy`` → one array; ``.npz`` → arrays by name; ``.csv`` → rows of numbers."""
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        if suffix == ".csv":
            return _read_csv(path)
    except FileNotFoundError:
        raise QCompileError(f"{path}: no such {what} file") from None
    except (OSError, ValueError) as err:
        raise QCompileError(f"{path}: cannot read {what}: {err}") from None
    raise QCompileError(f"{path}: {what} must be a .npy, .npz or .csv file")


def _read_csv(path: str) -> np.ndarray:
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
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
    if args.weights:
        weights = named_arrays(program.weights, read_array_file(args.weights, "weights"),
                               "weights", args.weights)
    else:
        weights = init_weights(program, args.seed)
        if program.weights:
            stderr.print(f"note: no --weights given; using random weights (seed {args.seed})")
    return program, inputs, weights


# --- results -------------------------------------------------------------------------------

def write_results(results: dict[str, np.ndarray], as_json: bool) -> None:
    if as_json:
        json.dump({name: _jsonable(value) for name, value in results.items()}, sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_results(results)


def _jsonable(value: np.ndarray):
    value = np.asarray(value)
    if np.iscomplexobj(value):
        return {"real": value.real.tolist(), "imag": value.imag.tolist()}
    return value.tolist()


def _print_results(results: dict[str, np.ndarray]) -> None:
    from rich.table import Table

    for name, value in results.items():
        table = Table(title=f"{name}  (batch of {value.shape[0]})", title_justify="left")
        table.add_column("sample", justify="right")
        table.add_column("value")
        with np.printoptions(precision=6, suppress=True, linewidth=100, threshold=64):
            for i, row in enumerate(value[:32]):
                table.add_row(str(i), str(row))
        stdout.print(table)
        if value.shape[0] > 32:
            stdout.print(f"... {value.shape[0] - 32} more samples (use --json for all)")


def int_at_least(minimum: int, kind: str):
    """An argparse type for ``--shots`` / ``--seed``: checked while parsing, before anything
    runs or is recorded (``--shots 0`` would otherwise fail deep inside a simulator)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a {kind} integer, got {text!r}")
        return value

    return parse
