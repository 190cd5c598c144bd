"""``qcompile compile``, and the pipeline options and pass statistics it shares with ``run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..backends.registry import emitters
from ..ir import Program, QCompileError
from ..ir.outputs import with_output
from .io import (add_model_argument, default_output, int_at_least, load_program, stderr,
                 write_text)

if TYPE_CHECKING:
    from rich.table import Table

    from ..passes.manager import PassReport


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-O", type=int, default=1, choices=range(4), metavar="N",
                        help="optimization level 0-3 (default 1)")
    parser.add_argument("--pipeline", help="comma-separated passes, e.g. "
                        "'canonicalize,cancel-inverses,merge-1q'; overrides -O")
    parser.add_argument("--basis", metavar="GATES",
                        help="write every gate in these, e.g. cx,rz,sx,x (or cz, ecr, rzz, u)")
    parser.add_argument("--coupling-map", metavar="MAP", help="route onto line:N, ring:N, "
                        "grid:RxC or a JSON file of edges (Qiskit's Sabre)")
    parser.add_argument("--target", metavar="DEVICE", help="a device's basis and coupling "
                        "map: fake_manila, fake_kolkata, ... (see docs/hardware.md)")
    parser.add_argument("--stats", action="store_true", help="per-pass timing and gate counts")
    parser.add_argument("--print-after", action="append", default=[], metavar="PASS",
                        help="print the IR after this pass to stderr (repeatable)")


def add_width_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-qubits", dest="qubit_budget", type=int_at_least(1, "positive"),
                        metavar="K", help="fit every circuit in K qubits: lift measurements "
                        "and reuse qubits (reset) where the dependencies allow")


def compile_program(program: Program, args) -> Program:
    from .. import compiler
    from ..ir.printer import print_program

    def show(pass_name: str, result: Program) -> None:
        stderr.print(f"// ----- IR after {pass_name} -----", style="bold")
        stderr.print(print_program(result), markup=False, highlight=False)

    target = _target(args)
    budget = getattr(args, "qubit_budget", None)
    if budget is not None:
        # A bare circuit file is narrowed for what run reads of it (its counts, when it
        # measures), not for its statevector, which needs every qubit to the end.
        kind = getattr(args, "output", None) or default_output(program)
        if kind is not None:
            program = with_output(program, kind, getattr(args, "shots", 1024))
    compiled = compiler.compile(program, args.O, target, pipeline=args.pipeline,
                                seed=getattr(args, "seed", None), max_qubits=budget,
                                print_after=getattr(args, "print_after", ()), printer=show)
    if getattr(args, "stats", False):
        stderr.print(pass_table(compiled.report))
    for circuit in compiled.program.circuits:
        narrowing = compiled.narrowing(circuit.name)
        if narrowing is not None:
            stderr.print(_narrowing_note(circuit.name, *narrowing), markup=False,
                         highlight=False)
    for circuit in compiled.program.circuits:
        wires = compiled.final_wires(circuit.name)
        if wires is not None and list(wires) != list(range(len(wires))):
            moves = ", ".join(f"{q}→{w}" for q, w in enumerate(wires))
            stderr.print(f"note: circuit {circuit.name!r} ends with its qubits on other "
                         f"wires (qubit→wire: {moves}); the program's outputs follow them",
                         markup=False, highlight=False)
    return compiled.program


def _narrowing_note(name: str, methods: tuple[str, ...], change) -> str:
    if change.after == change.before:
        return f"note: circuit {name!r} fits in {change.after} qubits as it is"
    return (f"note: circuit {name!r}: {change.before} → {change.after} qubits by "
            f"{' and '.join(methods)} (depth {change.depth_before} → {change.depth_after}, "
            f"two-qubit gates {change.two_qubit_gates_before} → "
            f"{change.two_qubit_gates_after})")


def _target(args):
    """The target the options ask for, or None."""
    from ..compiler import Target

    target, basis, coupling = (getattr(args, name, None)
                               for name in ("target", "basis", "coupling_map"))
    if target is not None:
        if basis is not None or coupling is not None:
            raise QCompileError("--target gives the basis and the coupling map itself; leave "
                                "out --basis and --coupling-map, or leave out --target")
        return Target.device(target)
    if basis is None and coupling is None:
        return None
    if args.pipeline is not None:
        raise QCompileError("--pipeline names every pass itself; it cannot be combined with "
                            "--basis or --coupling-map (use translate-basis and route in it)")
    return Target.of(basis, coupling)


def pass_table(report: PassReport) -> Table:
    """One line per pass execution, each measure as ``before → after``."""
    from rich.table import Table

    table = Table(title="passes")
    for column in ("pass", "time (ms)", "gates", "2q gates", "depth", "width"):
        table.add_column(column, justify="left" if column == "pass" else "right")
    for row in report.rows():
        name = row["pass"] + (f" #{row['round']}" if row["round"] else "")
        changes = [f"{row[k + '_before']} → {row[k + '_after']}"
                   for k in ("gates", "two_qubit_gates", "depth", "width")]
        table.add_row(name, f"{row['seconds'] * 1e3:.2f}", *changes)
    return table


def cmd_compile(args) -> None:
    from ..backends.registry import emitter

    program = compile_program(load_program(args), args)
    text = emitter(args.emit).emit(program, args.circuit)
    if args.output_file and args.output_file != "-":
        write_text(Path(args.output_file), text)
        stderr.print(f"wrote {args.output_file}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def add_compile_command(subparsers) -> None:
    comp = subparsers.add_parser("compile", help="compile a model to OpenQASM 3 or textual IR")
    add_model_argument(comp)
    add_pipeline_options(comp)
    add_width_option(comp)
    comp.add_argument("--emit", choices=list(emitters()), default="qasm3",
                      help="output format (default qasm3)")
    comp.add_argument("--circuit", help="which circuit to emit as OpenQASM 3")
    comp.add_argument("--seed", type=int_at_least(0, "non-negative"), default=None,
                      help="seed for routing (Sabre)")
    comp.add_argument("-o", dest="output_file", metavar="FILE", help="write here, not stdout "
                      "(- is stdout)")
    comp.set_defaults(func=cmd_compile)
