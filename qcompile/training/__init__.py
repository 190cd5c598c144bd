"""Training hybrid programs: data recipes, objectives, optimizers and the training loop
(``qcompile train`` and ``qcompile evaluate`` on the command line)."""

from .adversarial import ATTACKS, attack, input_gradient
from .data import DATASETS, Dataset, features_to_inputs, load_data
from .loop import (TrainConfig, Trainer, TrainResult, TrainState, load_checkpoint,
                   save_checkpoint, train)
from .objectives import LOSSES, Objective, choose_objective, metrics, output_range
from .optimizers import OPTIMIZERS, SCHEDULES

__all__ = ["ATTACKS", "DATASETS", "LOSSES", "OPTIMIZERS", "SCHEDULES", "Dataset", "Objective",
           "TrainConfig", "TrainResult", "TrainState", "Trainer", "attack", "choose_objective",
           "features_to_inputs", "input_gradient", "load_checkpoint", "load_data", "metrics",
           "output_range", "save_checkpoint", "train"]
