"""A circuit lowered to kernel steps: compiled once, bound to a batch of values per run.

Compiling settles everything that does not depend on parameter values (which kernel each
gate uses, its qubits, the matrices of constant gates), so a training loop only evaluates
the symbolic angles of each batch. Measurement, reset, classical writes and conditionals
stay as steps of their own for :mod:`.branches` to run. Later optimizations (gate fusion,
gradients) rewrite this step list rather than the simulator loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

import numpy as np

from ...ir import (Barrier, Circuit, Condition, Gate, IfElse, Measure, QCompileError, Reset,
                   SetBits)
from ...ir import Unitary, verify_circuit
from ...ir.expr import evaluate
from ...ir.gates import GATES, gate_matrix
from ...ir.ops import constant_matrix, is_diagonal
from . import kernels


@dataclass(frozen=True, eq=False)
class KernelStep:
    """One kernel launch with its operands: ``matrices`` is ``(M, d, d)`` for a dense gate or
    ``(M, d)`` for a diagonal one, ``M`` being 1 (shared) or the batch size."""

    qubits: np.ndarray
    matrices: np.ndarray
    diagonal: bool

    def apply(self, states: np.ndarray) -> None:
        if self.diagonal:
            kernels.apply_diagonal(states, self.matrices, self.qubits)
        elif self.qubits.size == 1:
            kernels.apply_1q(states, self.matrices, self.qubits[0])
        elif self.qubits.size == 2:
            kernels.apply_2q(states, self.matrices, self.qubits[0], self.qubits[1])
        else:
            kernels.apply_dense(states, self.matrices, self.qubits)


def kernel_step(qubits, matrices: np.ndarray, diagonal: bool, dtype) -> KernelStep:
    """Bring a matrix (``(d, d)`` or batched ``(B, d, d)``) into the kernels' layout."""
    if matrices.ndim == 2:
        matrices = matrices[None]
    if diagonal:
        matrices = np.diagonal(matrices, axis1=1, axis2=2)
    # A fresh writable copy: read-only arrays (e.g. Unitary.matrix) are a distinct numba type.
    return KernelStep(np.array(qubits, dtype=np.int64),
                      np.array(matrices, dtype=dtype, order="C"), diagonal)


@dataclass(frozen=True)
class SymbolicGate:
    """A gate whose angles depend on parameters; its matrices are built for each batch."""

    gate: Gate

    def bind(self, env: Mapping[str, np.ndarray], dtype) -> KernelStep:
        with np.errstate(all="ignore"):
            angles = [np.asarray(evaluate(p, env), dtype=float) for p in self.gate.params]
        for angle, expr in zip(angles, self.gate.params):
            if not np.all(np.isfinite(angle)):
                bad = np.flatnonzero(~np.isfinite(angle.reshape(-1)))[0]
                raise QCompileError(
                    f"gate {self.gate.name} on qubits {list(self.gate.qubits)}: its angle "
                    f"{expr} is not a finite number for sample {bad}; check the parameter "
                    f"values")
        spec = GATES[self.gate.name]
        return kernel_step(self.gate.qubits, gate_matrix(spec.name, angles), spec.diagonal,
                           dtype)


@dataclass(frozen=True)
class Conditional:
    """Feed-forward: which step list runs is decided per classical branch."""

    condition: Condition
    then_steps: tuple[Step, ...]
    else_steps: tuple[Step, ...]


Step = Union[KernelStep, SymbolicGate, Measure, Reset, SetBits, Conditional]


@lru_cache(maxsize=64)
def compile_circuit(circuit: Circuit, dtype=np.complex128) -> tuple[Step, ...]:
    """Verify ``circuit`` and lower it to steps (cached: circuits are immutable values)."""
    verify_circuit(circuit)
    return _lower(circuit.ops, np.dtype(dtype))


def _lower(ops, dtype) -> tuple[Step, ...]:
    steps: list[Step] = []
    for op in ops:
        if isinstance(op, (Gate, Unitary)):
            # Diagonal gates and fused diagonal blocks keep the cheap diagonal kernel.
            matrix = constant_matrix(op)
            steps.append(SymbolicGate(op) if matrix is None else
                         kernel_step(op.qubits, matrix, is_diagonal(op), dtype))
        elif isinstance(op, (Measure, Reset, SetBits)):
            steps.append(op)
        elif isinstance(op, IfElse):
            steps.append(Conditional(op.condition, _lower(op.then_body, dtype),
                                     _lower(op.else_body, dtype)))
        elif not isinstance(op, Barrier):
            raise QCompileError(f"the statevector simulator cannot run {op!r}")
    return tuple(steps)


def bind_steps(steps: tuple[Step, ...], env: Mapping[str, np.ndarray], dtype) -> tuple:
    """Replace every symbolic gate by its kernel step for this batch of values."""
    bound: list[Step] = []
    for step in steps:
        if isinstance(step, SymbolicGate):
            bound.append(step.bind(env, dtype))
        elif isinstance(step, Conditional):
            bound.append(Conditional(step.condition, bind_steps(step.then_steps, env, dtype),
                                     bind_steps(step.else_steps, env, dtype)))
        else:
            bound.append(step)
    return tuple(bound)
