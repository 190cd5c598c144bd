"""Training hybrid programs: data recipes, objectives, optimizers and the training loop
(``qcompile train`` and ``qcompile evaluate`` on the command line).

The names below are imported from their modules on first use, so that importing one module
of the package (the CLI reads :data:`~.optimizers.OPTIMIZERS` while it builds its parser)
does not import the simulator the training loop runs on.
"""

from importlib import import_module

#: Each public name and the module of this package that defines it.
_EXPORTS = {
    "ATTACKS": "adversarial", "attack": "adversarial", "input_gradient": "adversarial",
    "DATASETS": "data", "Dataset": "data", "features_to_inputs": "data", "load_data": "data",
    "TrainConfig": "loop", "Trainer": "loop", "TrainResult": "loop", "TrainState": "loop",
    "load_checkpoint": "loop", "save_checkpoint": "loop", "train": "loop",
    "LOSSES": "objectives", "Objective": "objectives", "choose_objective": "objectives",
    "metrics": "objectives", "output_range": "objectives",
    "OPTIMIZERS": "optimizers", "SCHEDULES": "optimizers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
