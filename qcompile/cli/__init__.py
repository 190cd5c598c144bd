"""The ``qcompile`` command line: compile, run, cut, train, draw, list passes and models,
and hardware jobs.

One module per command group, all on :mod:`.io`; this module only assembles the parser.
Every user mistake ends as one clear message on stderr and exit status 2; internal errors
keep their traceback, since those are ours to fix.
"""

from __future__ import annotations

import argparse
from importlib import metadata

from ..ir import QCompileError
from .compile import add_compile_command
from .cut import add_cut_command
from .draw import add_draw_command
from .io import stderr
from .jobs import add_job_commands
from .listings import add_listing_commands
from .run import add_run_command
from .train import add_train_commands

USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qcompile", description="Compile and run hybrid quantum-classical models.")
    parser.add_argument("--version", action="version",
                        version=f"qcompile {metadata.version('qcompile')}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_compile_command(sub)
    add_run_command(sub)
    add_cut_command(sub)
    add_train_commands(sub)
    add_draw_command(sub)
    add_listing_commands(sub)
    add_job_commands(sub)
    return parser


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
