"""Run a whole hybrid program on a batch: classical ops with numpy, circuits on the simulator.

Values carry a leading batch axis when they depend on program inputs; weights and values
computed only from weights are shared by the batch and stay unbatched, so a circuit call
builds their gate matrices once instead of once per sample.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..ir import Circuit, Program, QCompileError, QuantumCall, TensorOp
from ..ir import verify_program
from .classical import apply_tensor_op
from .statevector import simulate


@dataclass
class Value:
    """A program value; ``batched`` values carry the batch as their first axis."""

    array: np.ndarray
    batched: bool

    def broadcast(self, batch: int) -> np.ndarray:
        """With a batch axis, copying nothing for shared values."""
        return self.array if self.batched else np.broadcast_to(self.array[None],
                                                               (batch,) + self.array.shape)


#: Initial circuit angles are drawn from [-ANGLE_RANGE, ANGLE_RANGE): small enough to
#: start near the ansatz's reference point, large enough not to sit on a flat gradient.
ANGLE_RANGE = np.pi / 4


def init_weights(program: Program, seed: int | None = None) -> dict[str, np.ndarray]:
    """Seeded initial values by how each weight is used: the matrix of a ``linear`` layer
    Glorot-uniform (He-uniform when a ``relu`` reads the layer), a bias zeros, anything else
    (circuit angles above all) uniform in ±:data:`ANGLE_RANGE`. Uniform angles in [-π, π)
    for classical layers would saturate ``tanh`` and silence ReLUs."""
    rng = np.random.default_rng(seed)
    matrices, biases, relu_inputs = {}, set(), set()
    for stmt in program.body:
        if isinstance(stmt, TensorOp) and stmt.op == "linear":
            matrices[stmt.operands[1]] = stmt.result
            biases.update(stmt.operands[2:])
        elif isinstance(stmt, TensorOp) and stmt.op == "relu":
            relu_inputs.update(stmt.operands)
    values = {}
    for w in program.weights:
        if w.name in matrices and len(w.shape) == 2:
            fan_out, fan_in = w.shape
            limit = np.sqrt(6 / fan_in if matrices[w.name] in relu_inputs
                            else 6 / (fan_in + fan_out))
            values[w.name] = rng.uniform(-limit, limit, w.shape)
        elif w.name in biases:
            values[w.name] = np.zeros(w.shape)
        else:
            values[w.name] = rng.uniform(-ANGLE_RANGE, ANGLE_RANGE, w.shape)
    return values


def batch_inputs(program: Program, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Check input arrays against the declarations; a single sample becomes a batch of one."""
    out = {}
    size = None
    for decl in program.inputs:
        if decl.name not in inputs:
            raise QCompileError(f"input {decl.name!r} (shape {list(decl.shape)}) is not given")
        array = _real_array(inputs[decl.name], f"input {decl.name!r}")
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


def _real_array(value, what: str) -> np.ndarray:
    """Inputs and weights are real numbers; anything else is refused, never silently cast."""
    array = np.asarray(value)
    if np.iscomplexobj(array) or not (np.issubdtype(array.dtype, np.number)
                                      or array.dtype == bool):
        raise QCompileError(f"{what} must hold real numbers, got {array.dtype} values")
    return array.astype(float)


def check_weights(program: Program, weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for decl in program.weights:
        if decl.name not in weights:
            raise QCompileError(f"weight {decl.name!r} (shape {list(decl.shape)}) is not given")
        array = _real_array(weights[decl.name], f"weight {decl.name!r}")
        if array.shape != decl.shape:
            raise QCompileError(f"weight {decl.name!r} has shape {list(array.shape)}; "
                                f"expected {list(decl.shape)}")
        out[decl.name] = array
    return out


def forward(program: Program, inputs: Mapping[str, np.ndarray] | None = None,
            weights: Mapping[str, np.ndarray] | None = None, *, seed: int | None = None,
            execute: Callable[..., np.ndarray] = simulate) -> tuple[dict[str, Value], int]:
    """Every value of the program for a batch, and the batch size (gradients need them all).

    ``seed`` makes sampled outputs (counts) reproducible: each quantum call gets its own
    stream (:func:`call_seed`). ``execute(circuit, output, values, *, seed)`` runs one circuit
    call (default: the statevector simulator; a hardware executor plugs in here).
    """
    verify_program(program)  # names and shapes are consistent before any work starts
    values = {name: Value(a, True) for name, a in batch_inputs(program, inputs or {}).items()}
    values.update((n, Value(a, False)) for n, a in check_weights(program, weights or {}).items())
    batch = next((v.array.shape[0] for v in values.values() if v.batched), 1)
    circuits = {c.name: c for c in program.circuits}
    for stmt in program.body:
        if isinstance(stmt, QuantumCall):
            circuit = circuits[stmt.circuit]
            bound, batched = bind_call(circuit, stmt, values)
            result = execute(circuit, stmt.output, bound,
                             seed=call_seed(seed, stmt.result))
            values[stmt.result] = Value(result if batched else result[0], batched)
        elif isinstance(stmt, TensorOp):
            operands = [values[name] for name in stmt.operands]
            batched = any(v.batched for v in operands)
            result = apply_tensor_op(stmt.op, [v.broadcast(batch if batched else 1)
                                               for v in operands], stmt.attr_dict)
            values[stmt.result] = Value(result if batched else result[0], batched)
    return values, batch


def call_seed(seed: int | None, result: str) -> int:
    """The sampling seed of the call defining ``result``: it depends on the program seed and
    that name only, so a pass that adds, removes or reorders other calls leaves this call's
    samples unchanged."""
    key = zlib.crc32(result.encode())
    return int(np.random.SeedSequence(seed, spawn_key=(key,)).generate_state(1)[0])


def run_program(program: Program, inputs: Mapping[str, np.ndarray] | None = None,
                weights: Mapping[str, np.ndarray] | None = None, *,
                seed: int | None = None,
                execute: Callable[..., np.ndarray] = simulate) -> dict[str, np.ndarray]:
    """Evaluate every output of ``program`` for a batch; each result has a leading batch
    axis. Options as for :func:`forward`."""
    values, batch = forward(program, inputs, weights, seed=seed, execute=execute)
    return {name: values[name].broadcast(batch) for name in program.outputs}


def bind_call(circuit: Circuit, call: QuantumCall, values: Mapping[str, Value]
              ) -> tuple[dict[str, np.ndarray], bool]:
    """The call's arguments reshaped to the circuit's parameters (batch axis kept), and
    whether any of them is batched."""
    bound, batched = {}, False
    for param_name, value_name in call.args:
        value = values[value_name]
        lead = value.array.shape[:1] if value.batched else ()
        bound[param_name] = value.array.reshape(lead + circuit.param(param_name).shape)
        batched |= value.batched
    return bound, batched
