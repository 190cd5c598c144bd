"""``python -m benchmarks [--quick] [--only NAME] [--repeats N] [--no-write]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

from . import compile as compiler_benchmark
from . import cutting as cutting_benchmark
from . import latency as latency_benchmark
from . import reuse as reuse_benchmark
from . import training as training_benchmark
from .harness import (as_markdown, as_table, generated_section, run_all, timing_note,
                      update_document)
from .peers import RUNNERS
from .workloads import workloads

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
#: The name ``--only`` selects the compiler benchmark by (the workloads are the simulator's).
COMPILE = "compile"
#: ... and the circuit-cutting benchmark.
CUT = "cut"
#: ... and the qubit-reuse benchmark.
REUSE = "reuse"
#: ... and the training and kernel benchmark.
TRAIN = "train"
#: ... and the latency benchmark (small circuits, parsing, process start, single states).
LATENCY = "latency"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one timed run: a smoke test (never writes the docs)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only workloads whose name contains NAME (repeatable); "
                             f"'{COMPILE}': the compiler benchmark, '{CUT}': the cutting "
                             f"benchmark, '{REUSE}': the qubit-reuse benchmark, '{TRAIN}': the "
                             f"training and kernel benchmark, '{LATENCY}': the latency "
                             f"benchmark")
    parser.add_argument("--runner", action="append", choices=list(RUNNERS),
                        help="run only these simulators (qcompile is always the reference)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs of each simulator workload (default 3)")
    parser.add_argument("--no-write", action="store_true",
                        help=f"do not update {DOCUMENT.relative_to(DOCUMENT.parents[1])}")
    args = parser.parse_args(argv)
    # Wide enough for the table when piped to a file or a CI log.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    chosen = [w for w in workloads(args.quick) if _selected(w.name, args.only)]
    run_compiler = _selected(COMPILE, args.only)
    run_cutting = _selected(CUT, args.only)
    run_reuse = _selected(REUSE, args.only)
    run_training = _selected(TRAIN, args.only)
    run_latency = _selected(LATENCY, args.only)
    if not (chosen or run_compiler or run_cutting or run_reuse or run_training or run_latency):
        names = [w.name for w in workloads(args.quick)] + [COMPILE, CUT, REUSE, TRAIN, LATENCY]
        console.print(f"no workload matches {args.only}; names: {', '.join(names)}")
        return 2
    write = not args.quick and not args.no_write
    failed = bool(chosen) and not simulators(chosen, args, console, write)
    if run_compiler:
        failed |= not compiler(args.quick, console, write)
    if run_cutting:
        failed |= not cutting(args.quick, console, write)
    if run_reuse:
        failed |= not reuse(args.quick, console, write)
    if run_training:
        failed |= not training(args.quick, console, write)
    if run_latency:
        failed |= not latency(args, console, write)
    return 1 if failed else 0


def _selected(name: str, only: list[str] | None) -> bool:
    return not only or any(part in name for part in only)


def simulators(chosen, args, console: Console, write: bool) -> bool:
    """The simulator workloads; False when some result disagrees with qcompile's."""
    runners = ["qcompile", *[r for r in RUNNERS if r != "qcompile"
                             and (not args.runner or r in args.runner)]]
    repeats = args.repeats or (1 if args.quick else 3)
    titles = {w.name: w.title for w in chosen}
    with console.status("benchmarking simulators") as status:
        rows = run_all(chosen, runners, repeats, status.update)
    console.print(as_table(rows, titles, runners))
    if write:
        update_document(DOCUMENT, generated_section(timing_note(repeats),
                                                    as_markdown(rows, titles, runners)))
        console.print(f"updated {DOCUMENT}")
    return not any(r.agrees is False for row in rows for r in row)


def compiler(quick: bool, console: Console, write: bool) -> bool:
    """The compiler benchmark; False when some output is not equivalent to its input."""
    with console.status("benchmarking compilers") as status:
        report = compiler_benchmark.run(quick, status.update)
    notes = [compiler_benchmark.skipped_note(report)] if report.skipped else []
    return _shown(console, write, compiler_benchmark.as_rich(report), notes,
                  report.disagreements, lambda: compiler_benchmark.document_section(report),
                  compiler_benchmark.MARKERS)


def cutting(quick: bool, console: Console, write: bool) -> bool:
    """The circuit-cutting benchmark; False when qcompile's exact reconstruction of some
    distribution is off, or its mean error is over three stated standard errors."""
    start = time.perf_counter()
    with console.status("benchmarking circuit cutting") as status:
        rows = cutting_benchmark.run(quick, status.update)
    elapsed = time.perf_counter() - start
    return _shown(console, write, cutting_benchmark.as_rich(rows, cutting_benchmark.seeds(quick)),
                  cutting_benchmark.legend(rows) + cutting_benchmark.notes(rows),
                  cutting_benchmark.disagreements(rows),
                  lambda: cutting_benchmark.document_section(rows, elapsed),
                  cutting_benchmark.MARKERS)


def _shown(console: Console, write: bool, tables, lines, failures, section, markers, *,
           failure: str = "DISAGREES") -> bool:
    """Print a benchmark's tables, notes and failures, write its section of the document
    (``section()``) when asked; True when nothing failed."""
    for table in tables:
        console.print(table)
    for line in lines:
        console.print(line)
    for text in failures:
        console.print(f"[bold red]{failure}[/]: {text}")
    if write:
        update_document(DOCUMENT, section(), markers)
        console.print(f"updated {DOCUMENT}")
    return not failures


def reuse(quick: bool, console: Console, write: bool) -> bool:
    """The qubit-reuse benchmark; False when the pipeline crashed on some circuit (circuits
    the baseline gets narrower are reported, not failed)."""
    with console.status("benchmarking qubit reuse") as status:
        report = reuse_benchmark.run(quick, status.update)
    return _shown(console, write, reuse_benchmark.as_rich(report),
                  reuse_benchmark.legend(report) + reuse_benchmark.notes(report),
                  [f"{row.case.name}\n{row.crash}" for row in report.crashes],
                  lambda: reuse_benchmark.document_section(report), reuse_benchmark.MARKERS,
                  failure="CRASH")


def training(quick: bool, console: Console, write: bool) -> bool:
    """The training and kernel benchmark; False when qcompile's training failed or some Gram
    matrix differs from qcompile's (a peer's training failing is reported, not failed)."""
    with console.status("benchmarking training and kernels") as status:
        report = training_benchmark.run(quick, status.update)
    return _shown(console, write, training_benchmark.as_rich(report),
                  training_benchmark.targets(report), report.disagreements,
                  lambda: training_benchmark.document_section(report),
                  training_benchmark.MARKERS)


def latency(args, console: Console, write: bool) -> bool:
    """The latency benchmark; False when some peer's state, parsed circuit or command result
    differs from qcompile's (or the expected one)."""
    with console.status("benchmarking latency") as status:
        report = latency_benchmark.run(args.quick, args.runner, status.update)
    return _shown(console, write, latency_benchmark.as_rich(report), [], report.disagreements,
                  lambda: latency_benchmark.document_section(report), latency_benchmark.MARKERS)


if __name__ == "__main__":
    sys.exit(main())
