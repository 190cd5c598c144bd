"""Training a program's weights on a dataset: mini-batches, validation, early stopping,
checkpoints that resume bit for bit.

Everything random is drawn from generators seeded by (seed, epoch) or (seed, step) — the
shuffle of each epoch, the validation split, SPSA's directions — so the state of a run is
its weights, the optimizer's state and where it stands (epoch, batch), and a run resumed
from a checkpoint takes exactly the steps the uninterrupted one would have.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..backends.gradients import value_and_grad
from ..backends.runner import init_weights, run_program
from ..ir import Program, QCompileError
from .adversarial import attack, parse_attack
from .data import Dataset, features_to_inputs
from .objectives import Objective, choose_objective, metrics
from .optimizers import (OPTIMIZERS, SCHEDULES, learning_rate, make_optimizer, state_arrays,
                         state_from_arrays)


@dataclass(frozen=True)
class TrainConfig:
    """How to train; ``output`` names the program output the loss reads (default: its
    first), ``validation`` the fraction of the training part held out for early stopping
    after ``patience`` epochs without a better validation loss, ``evaluations`` the loss
    evaluations per epoch of the scipy optimizers."""

    epochs: int = 20
    batch: int = 32
    lr: float = 0.05
    optimizer: str = "adam"
    loss: str = "auto"
    schedule: str = "constant"
    seed: int = 0
    validation: float = 0.0
    patience: int | None = None
    output: str | None = None
    evaluations: int = 100
    #: adversarial training: ``"fgsm:EPS"`` or ``"pgd:EPS"`` examples (made at the current
    #: weights) join every mini-batch
    adversarial: str | None = None

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise QCompileError(f"unknown optimizer {self.optimizer!r}; choose one of "
                                f"{', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise QCompileError(f"unknown schedule {self.schedule!r}; choose one of "
                                f"{', '.join(SCHEDULES)}")
        for name, low in (("epochs", 1), ("batch", 1), ("evaluations", 1)):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < low:
                raise QCompileError(f"{name} must be a positive integer, got "
                                    f"{getattr(self, name)!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise QCompileError(f"the learning rate must be a positive number, got {self.lr}")
        if not 0.0 <= self.validation < 1.0:
            raise QCompileError(f"the validation fraction must be in [0, 1), got "
                                f"{self.validation}")
        if self.patience is not None and self.validation == 0.0:
            raise QCompileError("early stopping (patience) needs a validation fraction")
        if self.adversarial is not None:
            parse_attack(self.adversarial)
            if self.optimizer not in ("adam", "sgd"):
                raise QCompileError("adversarial training needs a gradient optimizer (adam "
                                    "or sgd): the attack follows input gradients")


@dataclass
class TrainState:
    """Where a run stands: updated after every step, so an interrupted run is saved from
    here (``batch``: steps done in epoch ``epoch``)."""

    weights: dict[str, np.ndarray]
    epoch: int = 0
    batch: int = 0
    history: list[dict] = field(default_factory=list)
    best: tuple[float, int] | None = None  # (validation loss, epoch)
    best_weights: dict[str, np.ndarray] | None = None
    optimizer: dict = field(default_factory=dict)
    stopped_early: bool = False


@dataclass(frozen=True)
class TrainResult:
    weights: dict[str, np.ndarray]
    history: list[dict]
    test: dict[str, float]
    objective: Objective
    stopped_early: bool


Progress = Callable[[str, dict], None]


class Trainer:
    """One model, one dataset, one configuration."""

    def __init__(self, program: Program, data: Dataset, config: TrainConfig = TrainConfig()):
        self.program, self.data, self.config = program, data, config
        self.output = config.output or program.outputs[0]
        if self.output not in program.outputs:
            raise QCompileError(f"the program has no output {self.output!r}; its outputs "
                                f"are {', '.join(program.outputs)}")
        self.trainable = [w.name for w in program.weights if w.trainable]
        if not self.trainable:
            raise QCompileError(f"{program.name} has no trainable weights: nothing to train")
        features_to_inputs(program, data.x_train[:1])  # the feature count fits, or say so
        self.objective = choose_objective(
            program, self.output, None if data.classes is None else len(data.classes),
            config.loss)
        if data.classes is not None:
            for part, y in (("training", data.y_train), ("test", data.y_test)):
                if len(y) and (y.min() < 0 or y.max() >= len(data.classes)):
                    raise QCompileError(f"the {part} labels lie outside the classes "
                                        f"0..{len(data.classes) - 1}")
        x, y = data.x_train, data.y_train
        order = np.random.default_rng([config.seed, 2 ** 31]).permutation(len(x))
        held = int(round(config.validation * len(x)))
        self.x_val, self.y_val = x[order[:held]], y[order[:held]]
        self.x_fit, self.y_fit = x[order[held:]], y[order[held:]]
        if len(self.x_fit) == 0:
            raise QCompileError("no training samples are left after the validation split")

    def initial_state(self) -> TrainState:
        return TrainState(init_weights(self.program, self.config.seed))

    def outputs(self, weights, x: np.ndarray) -> np.ndarray:
        result = run_program(self.program, features_to_inputs(self.program, x), weights,
                             seed=self.config.seed)[self.output]
        return np.asarray(result, dtype=float).reshape(len(x), -1)

    def loss(self, weights, x, y) -> float:
        return self.objective.value_and_grad(self.outputs(weights, x), y)[0]

    def _gradient(self, weights, x, y):
        shape = None

        def loss(outputs):
            nonlocal shape
            out = np.asarray(outputs[self.output], dtype=float)
            shape = out.shape
            value, grad = self.objective.value_and_grad(out.reshape(len(x), -1), y)
            return value, {self.output: grad.reshape(shape)}

        value, _, grads = value_and_grad(self.program, features_to_inputs(self.program, x),
                                         weights, loss)
        return value, grads

    def run(self, state: TrainState | None = None,
            progress: Progress | None = None) -> TrainResult:
        """Train from ``state`` (a fresh run when None), which is kept current after every
        step; ``progress(kind, info)`` hears of each ``"batch"`` and ``"epoch"``."""
        config = self.config
        state = state or self.initial_state()
        optimizer = make_optimizer(config.optimizer, config.seed)
        optimizer.state = dict(state.optimizer)
        n = len(self.x_fit)
        batches = [slice(i, i + config.batch) for i in range(0, n, config.batch)]
        while state.epoch < config.epochs and not state.stopped_early:
            epoch = state.epoch
            lr = learning_rate(config.lr, config.schedule, epoch, config.epochs)
            order = np.random.default_rng([config.seed, epoch]).permutation(n)
            if optimizer.uses == "epoch":
                state.weights = optimizer.run(state.weights, lambda w: self.loss(
                    w, self.x_fit, self.y_fit), config.evaluations)
            for index in range(state.batch, len(batches) if optimizer.uses != "epoch" else 0):
                rows = order[batches[index]]
                value = self._step(state, optimizer, self.x_fit[rows], self.y_fit[rows], lr,
                                   (config.seed, epoch, index))
                state.optimizer = dict(optimizer.state)
                state.batch = index + 1
                if progress:
                    progress("batch", {"epoch": epoch, "batch": index + 1,
                                       "batches": len(batches), "loss": value})
            record = {"epoch": epoch + 1, "lr": lr,
                      **{f"train_{k}": v for k, v in self.evaluate(state.weights, "fit").items()}}
            if len(self.x_val):
                record.update({f"val_{k}": v
                               for k, v in self.evaluate(state.weights, "val").items()})
                if state.best is None or record["val_loss"] < state.best[0]:
                    state.best = (record["val_loss"], epoch)
                    state.best_weights = dict(state.weights)
                elif config.patience is not None and epoch - state.best[1] >= config.patience:
                    state.stopped_early = True
            state.history.append(record)
            state.epoch, state.batch = epoch + 1, 0
            if progress:
                progress("epoch", record)
        weights = state.best_weights if (state.stopped_early and state.best_weights) \
            else state.weights
        return TrainResult(weights, list(state.history), self.evaluate(weights, "test"),
                           self.objective, state.stopped_early)

    def _step(self, state: TrainState, optimizer, x, y, lr: float, seed: tuple) -> float:
        """One optimizer step on a mini-batch (with its adversarial versions when asked);
        the batch loss before it."""
        if optimizer.uses == "loss":  # SPSA: two loss evaluations
            fixed = state.weights
            trained, value = optimizer.step({k: fixed[k] for k in self.trainable},
                                            lambda w: self.loss({**fixed, **w}, x, y), lr)
            state.weights = {**fixed, **trained}
            return value
        if self.config.adversarial is not None:
            kind, epsilon = parse_attack(self.config.adversarial)
            moved = attack(kind, self.program, self.output, self.objective, state.weights, x,
                           y, epsilon, seed=seed)
            x, y = np.concatenate([x, moved]), np.concatenate([y, y])
        value, grads = self._gradient(state.weights, x, y)
        state.weights = optimizer.step(state.weights, grads, lr)
        return value

    def evaluate(self, weights, part: str = "test", attacked: str | None = None
                 ) -> dict[str, float]:
        """Loss and metrics on the ``fit``, ``val`` or ``test`` part; with ``attacked``
        (``"pgd:0.1"``), on its adversarial versions."""
        x, y = {"fit": (self.x_fit, self.y_fit), "val": (self.x_val, self.y_val),
                "test": (self.data.x_test, self.data.y_test)}[part]
        if not len(x):
            return {}
        if attacked is not None:
            kind, epsilon = parse_attack(attacked)
            x = attack(kind, self.program, self.output, self.objective, weights, x, y,
                       epsilon, seed=self.config.seed)
        return metrics(self.objective, self.outputs(weights, x), y)


def train(program: Program, data: Dataset, config: TrainConfig = TrainConfig(),
          **options) -> TrainResult:
    """Train ``program`` on ``data``; ``options`` override fields of ``config``."""
    return Trainer(program, data, dataclasses.replace(config, **options)).run()


# --- checkpoints ---------------------------------------------------------------------------

def save_checkpoint(directory: Path, state: TrainState, config: TrainConfig,
                    recipe: str) -> None:
    """Weights, optimizer state and position as ``checkpoint.npz``, the rest as JSON; each
    file is written whole or not at all."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {f"w:{k}": v for k, v in state.weights.items()}
    arrays.update({f"b:{k}": v for k, v in (state.best_weights or {}).items()})
    arrays.update(state_arrays(state.optimizer))
    _atomic(directory / "checkpoint.npz", lambda f: np.savez(f, **arrays))
    meta = {"epoch": state.epoch, "batch": state.batch, "history": state.history,
            "best": state.best, "stopped_early": state.stopped_early,
            "config": dataclasses.asdict(config), "data": recipe}
    _atomic(directory / "checkpoint.json",
            lambda f: f.write(json.dumps(meta, indent=1).encode()))


def load_checkpoint(directory: Path) -> tuple[TrainState, TrainConfig, str]:
    try:
        meta = json.loads((directory / "checkpoint.json").read_text())
        with np.load(directory / "checkpoint.npz", allow_pickle=False) as arrays:
            stored = {k: arrays[k] for k in arrays.files}
        config = TrainConfig(**meta["config"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise QCompileError(f"{directory}: no readable checkpoint ({err})") from None
    state = TrainState(
        {k[2:]: v for k, v in stored.items() if k.startswith("w:")}, meta["epoch"],
        meta["batch"], meta["history"], tuple(meta["best"]) if meta["best"] else None,
        {k[2:]: v for k, v in stored.items() if k.startswith("b:")} or None,
        state_from_arrays(stored), meta["stopped_early"])
    return state, config, meta["data"]


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as file:
        write(file)
    tmp.replace(path)
