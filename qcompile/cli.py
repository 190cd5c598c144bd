"""The ``qcompile`` command line: compile, run, and list passes and models.

Every user mistake ends as one clear message on stderr and exit status 2; internal errors
keep their traceback, since those are ours to fix.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console

from .ir import Counts, ExpVal, PauliTerm, Probs, Program, QCompileError, QuantumCall, State

USER_ERROR = 2

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def load_program(spec: str) -> Program:
    """``zoo:NAME`` (or a bare zoo name) loads a bundled model; anything else is a file."""
    from .frontend.source import load_source
    from .models import list_models, load_model

    if spec.startswith("zoo:") or (not Path(spec).exists() and spec in list_models()):
        return load_model(spec)
    return load_source(spec)


# --- compile -------------------------------------------------------------------------------

def compile_program(program: Program, args) -> Program:
    from .ir.printer import print_program
    from .passes import PassManager, preset

    def show(pass_name: str, result: Program) -> None:
        stderr.print(f"// ----- IR after {pass_name} -----", style="bold")
        stderr.print(print_program(result), markup=False, highlight=False)

    options = {"print_after": args.print_after, "printer": show}
    manager = (PassManager(args.pipeline, **options) if args.pipeline is not None
               else preset(args.O, **options))
    compiled = manager.run(program)
    if args.stats:
        stderr.print(manager.report.as_table())
    return compiled


def emit(program: Program, args) -> str:
    if args.emit == "ir":
        from .ir.printer import print_program
        return print_program(program)
    from .backends.qasm3 import emit_qasm3
    return emit_qasm3(_select_circuit(program, args.circuit))


def _select_circuit(program: Program, name: str | None):
    if name is not None:
        try:
            return program.circuit(name)
        except KeyError:
            raise QCompileError(f"no circuit named {name!r}; the program has "
                                f"{', '.join(c.name for c in program.circuits)}") from None
    if len(program.circuits) != 1:
        raise QCompileError(f"the program has {len(program.circuits)} circuits "
                            f"({', '.join(c.name for c in program.circuits)}); choose one "
                            "to emit with --circuit NAME")
    return program.circuits[0]


def cmd_compile(args) -> None:
    program = compile_program(load_program(args.model), args)
    text = emit(program, args)
    if args.output_file:
        _write(Path(args.output_file), text)
        stderr.print(f"wrote {args.output_file}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _write(path: Path, text: str) -> None:
    """Write via a temporary file so an interrupted run never leaves a half-written output."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as err:
        raise QCompileError(f"{path}: cannot write ({err.strerror})") from None


# --- run -----------------------------------------------------------------------------------

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


def with_output(program: Program, kind: str, shots: int) -> Program:
    """Replace what every circuit call reads out and return those reads directly."""
    from dataclasses import replace

    body, outputs, dropped = [], [], set()
    for stmt in program.body:
        if isinstance(stmt, QuantumCall):
            stmt = replace(stmt, output=_output(kind, program.circuit(stmt.circuit), shots))
            outputs.append(stmt.result)
        elif dropped.union(outputs).intersection(stmt.operands):
            dropped.add(stmt.result)  # post-processing of a read that is now returned raw
            continue
        body.append(stmt)
    return replace(program, body=tuple(body), outputs=tuple(outputs))


def _output(kind: str, circuit, shots: int):
    if kind == "expval":
        return ExpVal(tuple((PauliTerm(1.0, ((q, "Z"),)),) for q in range(circuit.num_qubits)))
    if kind == "probs":
        return Probs()
    if kind == "counts":
        return Counts(shots)
    return State()


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
    from .backends.runner import init_weights

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


def cmd_run(args) -> None:
    from .backends.runner import run_program

    program, inputs, weights = prepare_run(compile_program(load_program(args.model), args), args)
    write_results(run_program(program, inputs, weights, seed=args.seed), args.json)


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


# --- listings ------------------------------------------------------------------------------

def cmd_passes(args) -> None:
    from rich.table import Table

    from .passes import available_passes

    table = Table("pass", "description")
    for name, description in sorted(available_passes().items()):
        table.add_row(name, description)
    stdout.print(table)


def cmd_models(args) -> None:
    from rich.table import Table

    from .models import list_models

    table = Table("model", "description")
    for name, description in sorted(list_models().items()):
        table.add_row(f"zoo:{name}", description)
    stdout.print(table)


# --- entry point ---------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from .cli_jobs import add_job_commands

    parser = argparse.ArgumentParser(
        prog="qcompile", description="Compile and run hybrid quantum-classical models.")
    sub = parser.add_subparsers(dest="command", required=True)
    model_help = "a .qm model, an OpenQASM 2/3 file, textual IR, or zoo:NAME"

    comp = sub.add_parser("compile", help="compile a model to OpenQASM 3 or textual IR")
    comp.add_argument("model", help=model_help)
    _add_pipeline_options(comp)
    comp.add_argument("--emit", choices=("ir", "qasm3"), default="qasm3")
    comp.add_argument("--circuit", help="which circuit to emit as OpenQASM 3")
    comp.add_argument("-o", dest="output_file", metavar="FILE", help="write here, not stdout")
    comp.set_defaults(func=cmd_compile)

    run = sub.add_parser("run", help="compile, then simulate a model on a batch of inputs")
    run.add_argument("model", help=model_help)
    _add_pipeline_options(run)
    run.add_argument("--inputs", metavar="FILE", help=".npy, .npz (by name) or .csv")
    run.add_argument("--weights", metavar="FILE", help=".npy (one weight) or .npz (by name)")
    run.add_argument("--shots", type=int, default=1024, help="shots for counts (default 1024)")
    run.add_argument("--seed", type=int, default=0, help="seed for sampling and weights")
    run.add_argument("--output", choices=("expval", "probs", "counts", "state"),
                     help="read every circuit this way instead of the model's outputs")
    run.add_argument("--json", action="store_true", help="one JSON document on stdout")
    run.set_defaults(func=cmd_run)

    sub.add_parser("passes", help="list registered passes").set_defaults(func=cmd_passes)
    sub.add_parser("models", help="list the model zoo").set_defaults(func=cmd_models)
    add_job_commands(sub)
    return parser


def _add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-O", type=int, default=1, choices=range(4), metavar="N",
                        help="optimization level 0-3 (default 1)")
    parser.add_argument("--pipeline", help="comma-separated passes, e.g. "
                        "'canonicalize,cancel-inverses,merge-1q'; overrides -O")
    parser.add_argument("--stats", action="store_true", help="per-pass timing and gate counts")
    parser.add_argument("--print-after", action="append", default=[], metavar="PASS",
                        help="print the IR after this pass to stderr (repeatable)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except QCompileError as err:
        stderr.print(f"error: {err}", markup=False, highlight=False)
        return USER_ERROR
    except KeyboardInterrupt:
        stderr.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
