"""Binding a batch of values to a circuit's parameters: the one rule every backend follows.

A value with one more axis than its parameter's shape is per-sample data (axis 0 is the
batch); a value of exactly the parameter's shape is shared by the whole batch (typically
weights), so a shared gate matrix is built once, not once per sample. The simulator, its
gradients and the hardware primitives all bind through :func:`bind_values`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..ir import Circuit, QCompileError


@dataclass(frozen=True)
class Binding:
    """Checked parameter values: float arrays by name, the batch size, and which parameters
    carry the batch axis."""

    values: dict[str, np.ndarray]
    batch: int
    batched: frozenset[str]


def bind_values(circuit: Circuit, values: Mapping[str, np.ndarray] | None) -> Binding:
    """Check ``values`` against the circuit's parameters and bind them."""
    values = {} if values is None else values
    env: dict[str, np.ndarray] = {}
    batched: dict[str, int] = {}
    for param in circuit.params:
        if param.name not in values:
            raise QCompileError(f"circuit {circuit.name!r} needs a value for its {param.role} "
                                f"parameter {param.name!r} of shape {list(param.shape)}")
        raw = values[param.name]
        try:
            array = np.asarray(raw, dtype=float) if not np.iscomplexobj(raw) else None
        except (TypeError, ValueError):
            array = None
        if array is None:
            raise QCompileError(f"parameter {param.name!r} of circuit {circuit.name!r} must be "
                                f"an array of real numbers, got {type(raw).__name__}")
        if array.shape[array.ndim - len(param.shape):] != param.shape or array.ndim not in (
                len(param.shape), len(param.shape) + 1):
            raise QCompileError(
                f"parameter {param.name!r} of circuit {circuit.name!r} has shape "
                f"{list(param.shape)}, so its value must have shape {list(param.shape)} "
                f"(shared by the batch) or [{', '.join(['B', *map(str, param.shape)])}] "
                f"(one per sample); got {list(array.shape)}")
        if array.ndim > len(param.shape):
            batched[param.name] = array.shape[0]
        env[param.name] = array
    sizes = set(batched.values())
    if len(sizes) > 1:
        listed = ", ".join(f"{name!r} has {size}" for name, size in batched.items())
        raise QCompileError(f"circuit {circuit.name!r}: batched parameters disagree on the "
                            f"batch size ({listed} samples)")
    if 0 in sizes:
        raise QCompileError(f"circuit {circuit.name!r}: the batch is empty (a batched "
                            f"parameter has 0 samples)")
    return Binding(env, sizes.pop() if sizes else 1, frozenset(batched))
