"""``qcompile run``: compile, then simulate a model on a batch of inputs."""

from __future__ import annotations

from .compile import add_pipeline_options, compile_program
from .io import MODEL_HELP, int_at_least, load_program, prepare_run, write_results


def cmd_run(args) -> None:
    from ..backends.registry import executor
    from ..backends.runner import run_program

    backend = executor(args.backend)
    program, inputs, weights = prepare_run(compile_program(load_program(args.model), args), args)
    backend.check_program(program)
    execute = backend.build(shots=args.shots, seed=args.seed)
    write_results(run_program(program, inputs, weights, seed=args.seed, execute=execute),
                  args.json)


def add_run_command(subparsers) -> None:
    run = subparsers.add_parser("run", help="compile, then simulate a model on a batch of inputs")
    run.add_argument("model", help=MODEL_HELP)
    add_pipeline_options(run)
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
    run.set_defaults(func=cmd_run)
