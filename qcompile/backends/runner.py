"""Run a whole hybrid program on a batch: classical ops with numpy, circuits on the simulator.

Values carry a leading batch axis when they depend on program inputs; weights and values
computed only from weights are shared by the batch and stay unbatched, so a circuit call
builds their gate matrices once instead of once per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..ir import Program, QCompileError, QuantumCall, TensorOp
from ..ir import verify_program
from .classical import apply_tensor_op
from .statevector import simulate


@dataclass
class _Value:
    array: np.ndarray
    batched: bool


def init_weights(program: Program, seed: int | None = None) -> dict[str, np.ndarray]:
    """Seeded uniform(-pi, pi) initial values for every declared weight."""
    rng = np.random.default_rng(seed)
    return {w.name: rng.uniform(-np.pi, np.pi, w.shape) for w in program.weights}


def batch_inputs(program: Program, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Check input arrays against the declarations; a single sample becomes a batch of one."""
    out = {}
    size = None
    for decl in program.inputs:
        if decl.name not in inputs:
            raise QCompileError(f"input {decl.name!r} (shape {list(decl.shape)}) is not given")
        array = np.asarray(inputs[decl.name], dtype=float)
        if array.shape == decl.shape:
            array = array[None]
        if array.shape[1:] != decl.shape:
            raise QCompileError(f"input {decl.name!r} has shape {list(array.shape)}; expected "
                                f"[batch, {', '.join(map(str, decl.shape))}]".replace(", ]", "]"))
        if size is not None and array.shape[0] != size:
            raise QCompileError(f"input {decl.name!r} has a batch of {array.shape[0]}, but "
                                f"another input has {size}")
        size = array.shape[0]
        out[decl.name] = array
    return out


def check_weights(program: Program, weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for decl in program.weights:
        if decl.name not in weights:
            raise QCompileError(f"weight {decl.name!r} (shape {list(decl.shape)}) is not given")
        array = np.asarray(weights[decl.name], dtype=float)
        if array.shape != decl.shape:
            raise QCompileError(f"weight {decl.name!r} has shape {list(array.shape)}; "
                                f"expected {list(decl.shape)}")
        out[decl.name] = array
    return out


def run_program(program: Program, inputs: Mapping[str, np.ndarray] | None = None,
                weights: Mapping[str, np.ndarray] | None = None, *,
                seed: int | None = None,
                execute: Callable[..., np.ndarray] = simulate) -> dict[str, np.ndarray]:
    """Evaluate every output of ``program`` for a batch; each result has a leading batch axis.

    ``seed`` makes sampled outputs (counts) reproducible: each quantum call gets its own
    stream spawned from it. ``execute(circuit, output, values, *, seed)`` runs one circuit
    call (default: the statevector simulator; a hardware executor plugs in here).
    """
    verify_program(program)  # names and shapes are consistent before any work starts
    values = {name: _Value(a, True) for name, a in batch_inputs(program, inputs or {}).items()}
    values.update((n, _Value(a, False)) for n, a in check_weights(program, weights or {}).items())
    batch = next((v.array.shape[0] for v in values.values() if v.batched), 1)
    calls = [s for s in program.body if isinstance(s, QuantumCall)]
    seeds = iter(np.random.SeedSequence(seed).spawn(len(calls)))
    circuits = {c.name: c for c in program.circuits}
    for stmt in program.body:
        if isinstance(stmt, QuantumCall):
            values[stmt.result] = _call(circuits[stmt.circuit], stmt, values, next(seeds),
                                        execute)
        elif isinstance(stmt, TensorOp):
            values[stmt.result] = _tensor_op(stmt, values, batch)
    return {name: _batched(values[name], batch) for name in program.outputs}


def _call(circuit, call: QuantumCall, values, seed, execute) -> _Value:
    bound, batched = {}, False
    for param_name, value_name in call.args:
        value = values[value_name]
        shape = circuit.param(param_name).shape
        lead = value.array.shape[:1] if value.batched else ()
        bound[param_name] = value.array.reshape(lead + shape)
        batched |= value.batched
    result = execute(circuit, call.output, bound, seed=int(seed.generate_state(1)[0]))
    return _Value(result, True) if batched else _Value(result[0], False)


def _tensor_op(stmt: TensorOp, values, batch: int) -> _Value:
    operands = [values[name] for name in stmt.operands]
    batched = any(v.batched for v in operands)
    size = batch if batched else 1
    arrays = [v.array if v.batched else np.broadcast_to(v.array, (size,) + v.array.shape)
              for v in operands]
    result = apply_tensor_op(stmt.op, arrays, stmt.attr_dict)
    return _Value(result, True) if batched else _Value(result[0], False)


def _batched(value: _Value, batch: int) -> np.ndarray:
    return value.array if value.batched else np.broadcast_to(value.array,
                                                             (batch,) + value.array.shape)
