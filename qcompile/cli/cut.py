"""``qcompile cut``: plan the cuts that fit a circuit into a smaller device, without running.

It prints the plan (which cut where, its γ², the fragments' widths; ``--json`` as one object)
and with ``--experiments DIR`` writes every distinct sub-experiment as OpenQASM 3, for the
read-out ``--observable`` asks for (probabilities of every qubit by default).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from ..ir import QCompileError
from .compile import add_pipeline_options, compile_program
from .io import (add_model_argument, int_at_least, load_program, positive_float, stderr,
                 write_text)


def cmd_cut(args) -> None:
    from ..cutting import find_cuts
    from ..cutting.experiments import count_subexperiments

    program = compile_program(load_program(args), args)
    names = [c.name for c in program.circuits]
    if args.circuit is None and len(names) != 1:
        raise QCompileError(f"the model has circuits {', '.join(names)}: choose one with "
                            f"--circuit")
    name = args.circuit or names[0]
    if name not in names:
        raise QCompileError(f"no circuit {name!r}; the model has {', '.join(names)}")
    plan = find_cuts(program.circuit(name), args.max_qubits, max_overhead=args.max_overhead,
                     time_limit=args.time_limit)
    if args.experiments:
        written = _write_experiments(plan, args.observable, Path(args.experiments))
        stderr.print(f"wrote {written} sub-experiment(s) to {args.experiments}")
    count = count_subexperiments(plan)
    if args.json:
        summary = plan.summary() | {"subexperiments": count}
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        sys.stdout.write(f"{plan.explain()}\n  {count} distinct sub-experiment(s) per "
                         f"read-out basis\n")


def _write_experiments(plan, observable: str | None, directory: Path) -> int:
    from ..backends.qasm3 import emit_qasm3
    from ..cutting.experiments import Experiments, Readout, output_qubits
    from ..frontend.observables import parse_observable

    terms = parse_observable(observable).terms if observable else None
    experiments = Experiments(plan, plan.circuit, lambda circuit: None)
    count = 0
    for fragment in range(len(plan.fragments)):
        outputs = output_qubits(plan, fragment)
        readouts = ({Readout(("P",) * len(outputs))} if terms is None else
                    {Readout(tuple(dict(t.paulis).get(q, "I") for q in outputs))
                     for t in terms})
        for readout in sorted(readouts, key=lambda r: r.bases):
            for circuit in experiments.distinct(fragment, readout):
                write_text(directory / f"{circuit.name}_{count:04d}.qasm", emit_qasm3(circuit))
                count += 1
    return count


def add_cut_command(subparsers) -> None:
    cut = subparsers.add_parser("cut", help="plan gate and wire cuts that fit a circuit into "
                                "fewer qubits (prints the plan; does not run)")
    add_model_argument(cut)
    add_pipeline_options(cut)
    cut.add_argument("--max-qubits", type=int_at_least(1, "positive"), required=True,
                     metavar="K", help="the most qubits any fragment may use")
    cut.add_argument("--circuit", help="which circuit to cut (when the model has several)")
    cut.add_argument("--max-overhead", type=positive_float, default=math.inf, metavar="X",
                     help="refuse plans whose sampling overhead (the product of γ²) is "
                     "larger")
    cut.add_argument("--time-limit", type=positive_float, default=10.0, metavar="SECONDS",
                     help="time for the exact search before a beam search finishes "
                     "(default 10)")
    cut.add_argument("--observable", metavar="PAULIS", help="the read-out the "
                     "sub-experiments measure, e.g. 'Z0 Z1 - 0.5 X2' (default: "
                     "probabilities of every qubit)")
    cut.add_argument("--experiments", metavar="DIR", help="write every distinct "
                     "sub-experiment here as OpenQASM 3")
    cut.add_argument("--json", action="store_true", help="the plan as one JSON object")
    cut.set_defaults(func=cmd_cut)

