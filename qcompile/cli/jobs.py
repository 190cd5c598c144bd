"""``qcompile submit``, ``jobs`` and ``fetch``: programs run on a device as stored jobs."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import datetime

from .compile import compile_program
from .io import (add_model_argument, int_at_least, load_program, prepare_run, stderr, stdout,
                 write_results)


def cmd_submit(args) -> None:
    from ..jobs import JobStore, fetch_command, submit_job

    if args.pipeline is None:  # qcompile's own lowering to the device (its -O, its routing)
        args.target = args.backend
    program, inputs, weights = prepare_run(compile_program(load_program(args), args),
                                           args)

    def announce(job_id: str) -> None:
        sys.stdout.write(job_id + "\n")
        sys.stdout.flush()  # the id is the user's handle, even if the run is interrupted

    store = JobStore(args.store)
    job_id, _ = submit_job(store, program, backend=args.backend, inputs=inputs,
                           weights=weights, shots=args.shots, seed=args.seed, output=args.output,
                           idempotency_key=args.key, on_recorded=announce)
    stderr.print(f"job {job_id} done on {args.backend}; `{fetch_command(job_id, store)}` "
                 "shows the results", markup=False, highlight=False)


def cmd_jobs(args) -> None:
    from rich.table import Table

    from ..jobs import JobStore

    store = JobStore(args.store)
    table = Table("created", "backend", "status", "attempts", title=str(store.path),
                  title_justify="left")
    table.add_column("job", no_wrap=True, min_width=36)
    for job_id, created, backend, status, attempts in store.list():
        when = datetime.fromtimestamp(created).isoformat(sep=" ", timespec="seconds")
        table.add_row(when, backend, status, str(attempts), job_id)
    stdout.print(table)


def cmd_fetch(args) -> None:
    from ..jobs import JobStore, fetch_job
    from ..jobs.submit import WAIT_SECONDS

    wait = WAIT_SECONDS if args.wait is None else args.wait
    write_results(fetch_job(JobStore(args.store), args.job_id, retry=args.retry, wait=wait,
                            take_over=args.take_over), args.json)


def _seconds(text: str) -> float:
    """An argparse type for ``--wait``: non-negative seconds, ``inf`` for no limit."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number of seconds (or inf), "
                                         f"got {text!r}")
    return value


def add_job_commands(subparsers) -> None:
    store_help = "the job store (default: $QCOMPILE_JOBS_DB, else the user data directory)"

    submit = subparsers.add_parser("submit", help="run a model on a device as a stored job")
    add_model_argument(submit)
    submit.add_argument("--backend", required=True, metavar="NAME",
                        help="fake_manila, fake_brisbane, ..., aer, or an ibm_* device")
    submit.add_argument("--inputs", metavar="FILE", help=".npy, .npz (by name) or .csv")
    submit.add_argument("--weights", metavar="FILE", help=".npy (one weight) or .npz (by name)")
    submit.add_argument("--shots", type=int_at_least(1, "positive"), default=1024,
                        help="shots per circuit call (default 1024)")
    submit.add_argument("--seed", type=int_at_least(0, "non-negative"), default=0,
                        help="seed for the transpiler, the simulator and initial weights")
    submit.add_argument("--output", choices=("expval", "probs", "counts"),
                        help="read every circuit this way instead of the model's outputs")
    submit.add_argument("--key", metavar="KEY", help="idempotency key: submitting again "
                        "with the same key resumes that job instead of sending a new one")
    submit.add_argument("--store", metavar="PATH", help=store_help)
    submit.add_argument("-O", type=int, default=1, choices=range(4), metavar="N",
                        help="optimization level of qcompile's lowering to the device "
                        "(default 1)")
    submit.add_argument("--pipeline", help="passes to run instead of -O and the lowering "
                        "(Qiskit's preset pass manager then lowers to the device)")
    submit.set_defaults(func=cmd_submit)

    jobs = subparsers.add_parser("jobs", help="list stored jobs and their status")
    jobs.add_argument("--store", metavar="PATH", help=store_help)
    jobs.set_defaults(func=cmd_jobs)

    fetch = subparsers.add_parser("fetch", help="wait for a job's results (resuming it if "
                                  "its process died)")
    fetch.add_argument("job_id")
    fetch.add_argument("--json", action="store_true", help="one JSON document on stdout")
    fetch.add_argument("--store", metavar="PATH", help=store_help)
    fetch.add_argument("--retry", action="store_true",
                       help="run a failed job again instead of reporting its error")
    fetch.add_argument("--wait", type=_seconds, metavar="SECONDS",
                       help="how long to wait for another process that is running the job "
                       "(default 600; inf: no limit)")
    fetch.add_argument("--take-over", action="store_true",
                       help="run the job here even though the process that claimed it may "
                       "still run (it is hung, or on a host whose processes cannot be checked)")
    fetch.set_defaults(func=cmd_fetch)
