"""``qcompile run``: compile, then simulate a model on a batch of inputs."""

from __future__ import annotations

import argparse

from ..ir import QCompileError
from .compile import add_pipeline_options, add_width_option, compile_program
from .io import add_model_argument, int_at_least, load_program, prepare_run, write_results


def cmd_run(args) -> None:
    from ..backends.registry import executor
    from ..backends.runner import run_program

    backend = executor(args.backend)
    program, inputs, weights = prepare_run(compile_program(load_program(args), args), args)
    backend.check_program(program)
    execute = backend.build(shots=args.shots, seed=args.seed, **_simulator_options(args))
    write_results(run_program(program, inputs, weights, seed=args.seed, execute=execute),
                  args.json)


def _simulator_options(args) -> dict:
    """``--dtype`` and ``--max-memory``, which only the statevector simulator takes."""
    options = {name: value for name, value in (("dtype", args.dtype),
                                               ("max_memory", args.max_memory))
               if value is not None}
    if options and args.backend != "statevector":
        raise QCompileError(f"--dtype and --max-memory set the statevector simulator; "
                            f"backend {args.backend!r} does not take them")
    return options


def _memory_size(text: str) -> int:
    """An argparse type for ``--max-memory``: checked while parsing, like ``--shots``."""
    from ..backends.statevector.memory import parse_size

    try:
        return parse_size(text)
    except QCompileError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_run_command(subparsers) -> None:
    run = subparsers.add_parser("run", help="compile, then simulate a model on a batch of inputs")
    add_model_argument(run)
    add_pipeline_options(run)
    add_width_option(run)
    run.add_argument("--inputs", metavar="FILE", help=".npy, .npz (by name) or .csv")
    run.add_argument("--weights", metavar="FILE", help=".npy (one weight) or .npz (by name)")
    run.add_argument("--shots", type=int_at_least(1, "positive"), default=1024,
                     help="shots for counts (default 1024)")
    run.add_argument("--seed", type=int_at_least(0, "non-negative"), default=0,
                     help="seed for sampling and weights")
    run.add_argument("--output", choices=("expval", "probs", "counts", "state"),
                     help="read every circuit this way instead of the model's outputs")
    run.add_argument("--json", action="store_true", help="one JSON document on stdout")
    run.add_argument("--backend", default="statevector", metavar="NAME",
                     help="statevector (default, exact), aer, or an offline fake device such "
                     "as fake_manila (sampled, with its noise)")
    run.add_argument("--dtype", choices=("complex64", "complex128"),
                     help="statevector precision (default complex128; complex64 halves the "
                     "memory)")
    run.add_argument("--max-memory", type=_memory_size, metavar="SIZE",
                     help="most memory the statevector simulator may allocate, e.g. 4G or "
                     "512M (default: the memory available)")
    run.set_defaults(func=cmd_run)
