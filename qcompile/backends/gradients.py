"""Reverse-mode differentiation of a whole hybrid program: classical ops and circuit calls.

The forward pass is the runner's (:func:`.runner.forward`), which keeps every intermediate
value; the backward pass walks the body in reverse and hands each statement the cotangent of
its result. Classical ops use :mod:`.classical_grad`; a circuit call uses its backend's
``vjp`` (on the statevector simulator: the adjoint method for unitary circuits, also when they
end in terminal measurements, parameter shifts for dynamic ones), with respect to every
argument, weights and data alike. Values
shared by the
batch (weights and what is computed from them alone) collect the sum of their per-sample
cotangents, so weight gradients are batch sums and input gradients stay per sample.
Frozen weights (``TensorDecl.trainable`` false) get no entry in the weight gradients: they
are bound like any weight but are not trained, so an optimiser that updates what it is given
leaves them alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..ir import Circuit, Counts, Program, QCompileError, QuantumCall
from .classical_grad import tensor_op_vjp
from .runner import Value, bind_call, forward
from .registry import Executor, executor


class Recording:
    """One forward run of a program kept for its backward pass (an autodiff framework's
    tape): ``outputs`` as ``run_program`` returns them, then any number of ``vjp`` calls
    without running the program again."""

    def __init__(self, program: Program, inputs: Mapping[str, np.ndarray] | None,
                 weights: Mapping[str, np.ndarray] | None, *, backend: str = "statevector"):
        self.program, self.inputs = program, inputs
        self.runner = _differentiable(backend)
        self.values, self.batch = forward(program, inputs, weights,
                                          execute=self.runner.build())

    @property
    def outputs(self) -> dict[str, np.ndarray]:
        return {name: self.values[name].broadcast(self.batch) for name in self.program.outputs}

    def vjp(self, cotangents: Mapping[str, np.ndarray]) -> tuple[dict, dict]:
        """``(input_grads, weight_grads)`` of Σ cotangent · output (see :func:`program_vjp`)."""
        return _backward(self.program, self.inputs, self.values, self.batch, cotangents,
                         self.runner)


def program_vjp(program: Program, inputs: Mapping[str, np.ndarray] | None,
                weights: Mapping[str, np.ndarray] | None,
                cotangents: Mapping[str, np.ndarray], *,
                backend: str = "statevector") -> tuple[dict, dict]:
    """Gradients of Σ_outputs Σ cotangent · output with respect to inputs and weights.

    ``cotangents`` maps output names to arrays shaped like the outputs of ``run_program``
    (batch first; complex for statevector outputs); outputs left out contribute nothing.
    Returns ``(input_grads, weight_grads)`` shaped like the given inputs and weights;
    ``weight_grads`` has the trainable weights only (frozen ones are left out). ``backend``
    names the executor that runs and differentiates the circuit calls.
    """
    return Recording(program, inputs, weights, backend=backend).vjp(cotangents)


def value_and_grad(program: Program, inputs: Mapping[str, np.ndarray] | None,
                   weights: Mapping[str, np.ndarray] | None,
                   loss: Callable[[dict[str, np.ndarray]], tuple[float, Mapping]], *,
                   backend: str = "statevector") -> tuple[float, dict, dict]:
    """Run the program once, apply ``loss`` to its outputs and differentiate.

    ``loss(outputs)`` gets the outputs as ``run_program`` returns them and gives back
    ``(value, cotangents)``: the scalar loss and its gradient with respect to each output it
    uses. Returns ``(value, input_grads, weight_grads)``, trainable weights only.
    """
    recording = Recording(program, inputs, weights, backend=backend)
    value, cotangents = loss(recording.outputs)
    return (float(value), *recording.vjp(cotangents))


def _differentiable(name: str) -> Executor:
    runner = executor(name)
    if runner.vjp is None:
        raise QCompileError(f"backend {name!r} cannot differentiate circuits; use the "
                            f"statevector simulator for gradients")
    return runner


def _backward(program: Program, inputs, values: dict[str, Value], batch: int,
              cotangents: Mapping[str, np.ndarray], runner: Executor) -> tuple[dict, dict]:
    for name in cotangents:
        if name not in program.outputs:
            raise QCompileError(f"{name!r} is not an output of program {program.name!r}; its "
                                f"outputs are {', '.join(program.outputs)}")
    grads: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(program.outputs):
        if name in cotangents:
            value = values[name]
            expected = (batch,) + value.array.shape[1 if value.batched else 0:]
            cotangent = np.asarray(cotangents[name])
            if cotangent.shape != expected:
                raise QCompileError(f"the cotangent of output {name!r} must have shape "
                                    f"{list(expected)} like the output; got "
                                    f"{list(cotangent.shape)}")
            _accumulate(grads, name, value, cotangent)
    circuits = {c.name: c for c in program.circuits}
    for stmt in reversed(program.body):
        if stmt.result not in grads:
            continue
        cotangent = grads.pop(stmt.result)
        result = values[stmt.result]
        if isinstance(stmt, QuantumCall):
            _call_vjp(runner, circuits[stmt.circuit], stmt, values, result, cotangent, grads)
        else:
            size = batch if result.batched else 1
            operands = [values[name] for name in stmt.operands]
            per_operand = tensor_op_vjp(stmt.op, [v.broadcast(size) for v in operands],
                                        stmt.attr_dict, result.broadcast(size),
                                        cotangent if result.batched else cotangent[None])
            for name, value, grad in zip(stmt.operands, operands, per_operand):
                _accumulate(grads, name, value, grad)
    return _result_grads(program, inputs, grads, batch)


def _call_vjp(runner: Executor, circuit: Circuit, call: QuantumCall, values, result: Value,
              cotangent, grads):
    if isinstance(call.output, Counts):
        raise QCompileError(f"{call.result!r} holds sampled counts of circuit "
                            f"{circuit.name!r}, which have no derivative; read out probs "
                            f"(their expectation) to train through this call")
    bound, _ = bind_call(circuit, call, values)
    per_param = runner.vjp(circuit, call.output, bound,
                            cotangent if result.batched else cotangent[None])
    for param_name, value_name in call.args:
        value = values[value_name]
        _accumulate(grads, value_name, value,
                    per_param[param_name].reshape(value.array.shape), summed=True)


def _accumulate(grads: dict, name: str, value: Value, grad: np.ndarray, *,
                summed: bool = False) -> None:
    """Add a cotangent for ``name``: per sample (batch first) unless ``summed`` says it is
    already in the value's own layout; shared values keep the batch sum."""
    if not summed and not value.batched:
        grad = grad.sum(axis=0)
    if not np.iscomplexobj(value.array):
        grad = np.real(grad)
    grads[name] = grads[name] + grad if name in grads else np.array(grad)


def _result_grads(program: Program, inputs, grads, batch) -> tuple[dict, dict]:
    input_grads = {}
    for decl in program.inputs:
        grad = grads.get(decl.name, np.zeros((batch,) + decl.shape))
        given = np.shape((inputs or {})[decl.name])
        input_grads[decl.name] = grad.reshape(given)
    weight_grads = {decl.name: grads.get(decl.name, np.zeros(decl.shape))
                    for decl in program.weights if decl.trainable}
    return input_grads, weight_grads
