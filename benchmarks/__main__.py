"""``python -m benchmarks [--quick] [--only NAME] [--repeats N] [--no-write]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from .harness import as_markdown, as_table, run_all, update_document
from .peers import RUNNERS
from .workloads import workloads

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one timed run: a smoke test (never writes the docs)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only workloads whose name contains NAME (repeatable)")
    parser.add_argument("--runner", action="append", choices=list(RUNNERS),
                        help="run only these simulators (qcompile is always the reference)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (default 3)")
    parser.add_argument("--no-write", action="store_true",
                        help=f"do not update {DOCUMENT.relative_to(DOCUMENT.parents[1])}")
    args = parser.parse_args(argv)
    # Wide enough for the table when piped to a file or a CI log.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    chosen = [w for w in workloads(args.quick)
              if not args.only or any(name in w.name for name in args.only)]
    if not chosen:
        console.print(f"no workload matches {args.only}; names: "
                      f"{', '.join(w.name for w in workloads(args.quick))}")
        return 2
    runners = ["qcompile", *[r for r in RUNNERS if r != "qcompile"
                             and (not args.runner or r in args.runner)]]
    repeats = args.repeats or (1 if args.quick else 3)
    titles = {w.name: w.title for w in chosen}
    with console.status("benchmarking") as status:
        rows = run_all(chosen, runners, repeats, lambda text: status.update(text))
    console.print(as_table(rows, titles, runners))
    if not args.quick and not args.no_write:
        update_document(DOCUMENT, as_markdown(rows, titles, runners), repeats)
        console.print(f"updated {DOCUMENT}")
    disagreements = [r for row in rows for r in row if r.agrees is False]
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
