"""A compiled program as a ``torch.nn.Module``, so a model's classical parts can be torch layers.

The quantum part stays qcompile's: the forward pass is one batched run of the program,
kept as a :class:`~qcompile.backends.gradients.Recording`, and the backward pass one
batched VJP of that recording (adjoint method), both in numpy float64 whatever the module's
dtype; torch tensors are converted at the boundary.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import torch

from ..backends.gradients import Recording
from ..backends.registry import executor
from ..backends.runner import init_weights
from ..ir import Program


class QuantumModule(torch.nn.Module):
    """``program``'s output ``output`` (default: its first) as a function of its inputs.

    Trainable weights are parameters of ``self.weights`` and frozen ones buffers of
    ``self.frozen``, under their program names with characters torch refuses replaced by
    ``_`` (``self.weight_keys`` maps program names to those keys). Initial values come from
    ``weights`` (numpy arrays by program name) or ``init_weights(program, seed)``.
    """

    def __init__(self, program: Program, *, output: str | None = None,
                 weights: Mapping[str, np.ndarray] | None = None, seed: int | None = None,
                 dtype: torch.dtype = torch.float64, backend: str = "statevector"):
        super().__init__()
        if not program.outputs:
            raise ValueError(f"program {program.name!r} has no outputs")
        self.output = program.outputs[0] if output is None else output
        if self.output not in program.outputs:
            raise ValueError(f"{self.output!r} is not an output of program {program.name!r}; "
                             f"its outputs are {', '.join(program.outputs)}")
        executor(backend)  # an unknown backend fails here, not at the first forward
        self.program, self.backend, self._dtype = program, backend, dtype
        values = init_weights(program, seed) if weights is None else weights
        self.weights, self.frozen = torch.nn.ParameterDict(), torch.nn.Module()
        self.weight_keys: dict[str, str] = {}
        for decl in program.weights:
            if decl.name not in values:
                raise ValueError(f"no initial value for weight {decl.name!r}")
            value = torch.as_tensor(np.asarray(values[decl.name], dtype=float), dtype=dtype)
            if value.shape != decl.shape:
                raise ValueError(f"weight {decl.name!r} has shape {list(value.shape)}; "
                                 f"expected {list(decl.shape)}")
            holder = self.weights if decl.trainable else self.frozen
            key = self.weight_keys[decl.name] = _key(decl.name, holder)
            if decl.trainable:
                self.weights[key] = torch.nn.Parameter(value)
            else:
                self.frozen.register_buffer(key, value)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the outputs: that of the weights (which ``.to()`` changes)."""
        return next((t.dtype for t in self._weight_tensors()), self._dtype)

    def _weight_tensors(self) -> list[torch.Tensor]:
        """Every weight in the program's declaration order."""
        return [self.weights[self.weight_keys[d.name]] if d.trainable
                else self.frozen.get_buffer(self.weight_keys[d.name]) for d in self.program.weights]

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The output for a batch: the inputs positionally in declaration order, each shaped
        ``(B, *shape)``, or one ``(B, F)`` tensor whose columns the inputs take in order."""
        tensors = self._split(inputs)
        return _ProgramCall.apply(self, len(tensors), *tensors, *self._weight_tensors())

    def _split(self, inputs) -> list[torch.Tensor]:
        decls = self.program.inputs
        inputs = [torch.as_tensor(x) for x in inputs]
        batches = {x.shape[0] for x in inputs if x.dim()}
        if (len(inputs) == len(decls) and len(batches) <= 1
                and all(x.shape[1:] == d.shape and x.dim() for x, d in zip(inputs, decls))):
            return inputs
        sizes = [math.prod(d.shape) for d in decls]
        if len(inputs) == 1 and inputs[0].dim() == 2 and inputs[0].shape[1] == sum(sizes) > 0:
            columns = torch.split(inputs[0], sizes, dim=1)
            return [c.reshape((-1, *d.shape)) for c, d in zip(columns, decls)]
        expected = ", ".join(f"{d.name}[B{''.join(f', {n}' for n in d.shape)}]" for d in decls)
        raise ValueError(f"program {self.program.name!r} takes inputs {expected or 'none'}"
                         + (f" (or one tensor [B, {sum(sizes)}])" if decls else "")
                         + f"; got shapes {', '.join(str(list(x.shape)) for x in inputs)}")


def _key(name: str, holder: torch.nn.Module) -> str:
    """``name`` as a parameter or buffer name of ``holder``: no character torch refuses, and
    no attribute it already has (an earlier weight, or ``training``, ``keys``...)."""
    key = base = re.sub(r"\W|^(?=\d)", "_", name) or "_"
    suffix = 1
    while hasattr(holder, key):
        key, suffix = f"{base}_{suffix}", suffix + 1
    return key


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)


def _tensor(array: np.ndarray, dtype: torch.dtype, device) -> torch.Tensor:
    """A copy (outputs shared by the batch are broadcast views, which torch cannot wrap)."""
    return torch.tensor(np.ascontiguousarray(array), dtype=dtype, device=device)


class _ProgramCall(torch.autograd.Function):
    """One batched program run; its backward is one batched VJP of the selected output."""

    @staticmethod
    def forward(ctx, module: QuantumModule, n_inputs: int, *tensors: torch.Tensor):
        program = module.program
        inputs = {d.name: _numpy(t) for d, t in zip(program.inputs, tensors[:n_inputs])}
        weights = {d.name: _numpy(t) for d, t in zip(program.weights, tensors[n_inputs:])}
        recording = Recording(program, inputs, weights, backend=module.backend)
        out = recording.outputs[module.output]
        if np.iscomplexobj(out):
            raise TypeError(f"output {module.output!r} is a complex statevector, which "
                            f"QuantumModule cannot return; read out expval or probs")
        ctx.module, ctx.recording = module, recording
        ctx.tensors = [(t.dtype, t.device) for t in tensors]
        return _tensor(out, module.dtype, tensors[-1].device if tensors else None)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        module = ctx.module
        input_grads, weight_grads = ctx.recording.vjp({module.output: _numpy(grad_output)})
        names = [d.name for d in module.program.inputs] + [d.name for d in module.program.weights]
        grads = {**input_grads, **weight_grads}  # frozen weights have none
        return (None, None, *(None if name not in grads else
                              _tensor(grads[name], dtype, device)
                              for name, (dtype, device) in zip(names, ctx.tensors)))
