"""``qcompile draw``: a circuit as a picture, in the terminal (Qiskit's text drawer) or as
an image (its matplotlib drawer), after the same passes ``compile`` would run."""

from __future__ import annotations

import sys
from pathlib import Path

from ..ir import QCompileError
from .compile import add_pipeline_options, add_width_option, compile_program
from .io import (add_model_argument, figure_bytes, load_program, stderr, write_bytes,
                 write_text)


def cmd_draw(args) -> None:
    from ..backends.qiskit_circuit import to_qiskit

    program = compile_program(load_program(args), args)
    names = [c.name for c in program.circuits]
    if args.circuit is None and len(names) > 1:
        raise QCompileError(f"the program has circuits {', '.join(names)}; pick one with "
                            f"--circuit")
    name = args.circuit or names[0]
    if name not in names:
        raise QCompileError(f"no circuit {name!r}; the program has {', '.join(names)}")
    drawing = to_qiskit(program.circuit(name))
    if args.output_file is None or Path(args.output_file).suffix.lower() not in (
            ".png", ".pdf", ".svg"):
        text = str(drawing.draw("text", fold=args.fold))
        if args.output_file is None:
            sys.stdout.write(text + "\n")
        else:
            write_text(Path(args.output_file), text + "\n")
        return
    import matplotlib

    matplotlib.use("Agg")
    path = Path(args.output_file)
    write_bytes(path, figure_bytes(drawing.draw("mpl", fold=args.fold), path.suffix))
    stderr.print(f"wrote {path}", markup=False, highlight=False)


def add_draw_command(subparsers) -> None:
    draw = subparsers.add_parser("draw", help="draw a circuit (text, or .png/.svg/.pdf with -o)")
    add_model_argument(draw)
    add_pipeline_options(draw)
    add_width_option(draw)
    draw.add_argument("--circuit", help="which circuit (when the model has several)")
    draw.add_argument("--fold", type=int, default=-1, help="wrap after this many columns "
                      "(default: never)")
    draw.add_argument("-o", dest="output_file", metavar="FILE", help="write here: text, or "
                      "an image for .png, .svg, .pdf")
    draw.set_defaults(func=cmd_draw)
