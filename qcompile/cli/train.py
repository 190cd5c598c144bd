"""``qcompile train`` and ``qcompile evaluate``: fit a model's weights on a data recipe.

A run writes into its directory the final weights (``weights.npz``, the format ``run
--weights`` reads), the metrics per epoch and on the test part (``metrics.json``), the
configuration (``config.json``), the training curves (``curves.png``) and a checkpoint after
every epoch; Ctrl-C saves one at the step reached, and ``--resume DIR`` continues from it
exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from pathlib import Path

from ..ir import QCompileError
from .io import (add_model_argument, figure_bytes, int_at_least, load_program,
                 positive_float, read_array_file, stderr, stdout, write_bytes, write_text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _fingerprint(program) -> str:
    from ..ir.printer import print_program

    return hashlib.sha256(print_program(program).encode()).hexdigest()[:16]


def cmd_train(args) -> None:
    from ..training import (TrainConfig, Trainer, load_checkpoint, load_data,
                            save_checkpoint)

    program = load_program(args)
    out = Path(args.out or f"runs/{program.name}")
    test_fraction = args.test_fraction
    if args.resume:
        out = Path(args.resume)
        state, config, recipe = load_checkpoint(out)
        try:
            meta = json.loads((out / "config.json").read_text())
        except (OSError, ValueError) as err:
            raise QCompileError(f"{out}: no readable config.json ({err})") from None
        if meta.get("model") != _fingerprint(program):
            raise QCompileError(f"{out}: the checkpoint was trained on another model than "
                                f"{args.model}")
        test_fraction = meta["test_fraction"]
    else:
        if args.data is None:
            raise QCompileError("name the training data: --data RECIPE (e.g. "
                                "'digits:3,5:pca8:scale-pi'; see docs/training.md)")
        recipe, state = args.data, None
        config = TrainConfig(epochs=args.epochs, batch=args.batch, lr=args.lr,
                             optimizer=args.optimizer, loss=args.loss,
                             schedule=args.schedule, seed=args.seed,
                             validation=args.validation, patience=args.patience,
                             output=args.output, adversarial=args.adversarial)
    data = load_data(recipe, seed=config.seed, test_fraction=test_fraction)
    trainer = Trainer(program, data, config)
    state = state or trainer.initial_state()
    write_text(out / "config.json", json.dumps(
        {"model": _fingerprint(program), "source": args.model, "data": recipe,
         "test_fraction": test_fraction, "loss": trainer.objective.loss,
         "config": dataclasses.asdict(config)}, indent=1) + "\n")
    stderr.print(f"training {program.name} on {recipe}: {len(trainer.x_fit)} samples "
                 f"({len(trainer.x_val)} validation, {len(data.x_test)} test), loss "
                 f"{trainer.objective.loss}, {config.optimizer}", markup=False,
                 highlight=False)
    try:
        result = _run_with_progress(trainer, state, out, recipe)
    except KeyboardInterrupt:
        save_checkpoint(out, state, config, recipe)
        stderr.print(f"interrupted at epoch {state.epoch + 1}, step {state.batch}; saved; "
                     f"continue with: qcompile train {args.model} --resume {out}",
                     markup=False, highlight=False)
        raise
    save_checkpoint(out, state, config, recipe)
    _write_results(out, result, data)
    shown = ", ".join(f"{k} {v:.4f}" for k, v in result.test.items())
    stdout.print(f"test: {shown}" + (" (stopped early)" if result.stopped_early else ""),
                 markup=False, highlight=False)
    stderr.print(f"wrote {out}/weights.npz, metrics.json, curves.png", markup=False,
                 highlight=False)


def _run_with_progress(trainer, state, out: Path, recipe: str):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    from ..training import save_checkpoint

    config = trainer.config
    steps = -(-len(trainer.x_fit) // config.batch)
    per_epoch = steps if config.optimizer not in ("cobyla", "nelder-mead") else 1
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=stderr, transient=True) as bar:
        task = bar.add_task("epoch 1", total=config.epochs * per_epoch,
                            completed=state.epoch * per_epoch + min(state.batch, per_epoch))

        def progress(kind: str, info: dict) -> None:
            if kind == "batch":
                bar.update(task, advance=1, description=f"epoch {info['epoch'] + 1} loss "
                                                        f"{info['loss']:.4f}")
                return
            if per_epoch == 1:
                bar.update(task, advance=1)
            save_checkpoint(out, state, config, recipe)
            shown = " ".join(f"{k} {v:.4f}" for k, v in info.items()
                             if k.startswith(("train_", "val_")))
            bar.console.print(f"epoch {info['epoch']}: {shown}", markup=False,
                              highlight=False)

        return trainer.run(state, progress)


def _write_results(out: Path, result, data) -> None:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **result.weights)
    write_bytes(out / "weights.npz", buffer.getvalue())
    write_text(out / "metrics.json", json.dumps(
        {"loss": result.objective.loss, "classes": data.classes, "history": result.history,
         "test": result.test, "stopped_early": result.stopped_early}, indent=1) + "\n")
    _plot(out / "curves.png", result.history)


def _plot(path: Path, history: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({k for record in history for k in record if k.startswith(("train_", "val_"))})
    metrics = sorted({k.split("_", 1)[1] for k in keys})
    figure, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3), squeeze=False)
    epochs = [record["epoch"] for record in history]
    for axis, metric in zip(axes[0], metrics):
        for part in ("train", "val"):
            key = f"{part}_{metric}"
            if key in keys:
                axis.plot(epochs, [record.get(key) for record in history], label=part)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
    figure.tight_layout()
    write_bytes(path, figure_bytes(figure, path.suffix))
    plt.close(figure)


def cmd_evaluate(args) -> None:
    from ..backends.runner import check_weights
    from ..training import TrainConfig, Trainer, load_data

    program = load_program(args)
    arrays = read_array_file(args.weights, "weights")
    if not isinstance(arrays, dict):
        raise QCompileError(f"{args.weights}: weights are an .npz file of arrays by name")
    weights = check_weights(program, arrays)
    data = load_data(args.data, seed=args.seed, test_fraction=args.test_fraction)
    trainer = Trainer(program, data, TrainConfig(loss=args.loss, seed=args.seed,
                                                 output=args.output))
    found = {part: trainer.evaluate(weights, part) for part in ("fit", "test")}
    if args.attack is not None:
        found[f"test under {args.attack}"] = trainer.evaluate(weights, "test", args.attack)
    if args.json:
        stdout.print(json.dumps({"loss": trainer.objective.loss, **found}), markup=False,
                     highlight=False, soft_wrap=True)
        return
    for part, values in found.items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
        stdout.print(f"{'train' if part == 'fit' else part}: {shown}", markup=False,
                     highlight=False)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--test-fraction", type=_fraction, default=0.25, metavar="F",
                        help="the held-out test part (default 0.25)")
    parser.add_argument("--loss", default="auto", help="auto (from the output's range), "
                        "cross-entropy, softmax-cross-entropy, logistic, mse, hinge")
    parser.add_argument("--output", metavar="NAME", help="the program output the loss reads "
                        "(default: the first)")
    parser.add_argument("--seed", type=int_at_least(0, "non-negative", 2 ** 32 - 1),
                        default=0, help="seed for the split, shuffling and initial weights")


def add_train_commands(subparsers) -> None:
    from ..training import OPTIMIZERS, SCHEDULES

    train = subparsers.add_parser("train", help="train a model's weights on a data recipe")
    add_model_argument(train)
    train.add_argument("--data", metavar="RECIPE", help="e.g. digits:3,5:pca8:scale-pi, "
                       "breast_cancer:standard:pca6, moons, or a .csv / .npz file")
    train.add_argument("--epochs", type=int_at_least(1, "positive", 10 ** 6), default=20)
    train.add_argument("--batch", type=int_at_least(1, "positive", 10 ** 6), default=32)
    train.add_argument("--lr", type=positive_float, default=0.05, help="learning rate")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument("--schedule", choices=SCHEDULES, default="constant",
                       help="learning-rate schedule")
    train.add_argument("--validation", type=_fraction, default=0.0, metavar="F",
                       help="fraction of the training part held out for early stopping")
    train.add_argument("--patience", type=int_at_least(1, "positive", 10 ** 6),
                       help="stop after this many epochs without a better validation loss")
    train.add_argument("--adversarial", metavar="ATTACK", help="adversarial training: "
                       "fgsm:EPS or pgd:EPS examples join every mini-batch")
    train.add_argument("--out", metavar="DIR", help="where the run is written "
                       "(default runs/MODEL)")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    _add_data_options(train)
    train.set_defaults(func=cmd_train)

    evaluate = subparsers.add_parser("evaluate", help="metrics of trained weights on a "
                                     "data recipe's training and test parts")
    add_model_argument(evaluate)
    evaluate.add_argument("--weights", required=True, metavar="FILE", help=".npz weights")
    evaluate.add_argument("--data", required=True, metavar="RECIPE")
    evaluate.add_argument("--attack", metavar="ATTACK", help="also on adversarial test "
                          "samples: fgsm:EPS or pgd:EPS (L∞, on the features)")
    evaluate.add_argument("--json", action="store_true")
    _add_data_options(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)
