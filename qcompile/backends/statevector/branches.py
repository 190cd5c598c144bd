"""Exact measurement, reset and feed-forward by keeping classical branches.

A branch is one classical record (the value of every classical bit) together with the
unnormalized states ``(B, 2**n)`` of the whole batch under that record; the squared norm of a
sample's state is the probability of the record for that sample. All samples of a branch share
their record, so an if/else is decided once per branch. Measurement splits a branch into its
two projections; reset does too, mapping the |1> part onto |0>, and the two parts stay
separate (incoherent) branches. Every output is then a sum over branches, which is exact,
unlike sampling trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir import Measure, QCompileError, Reset
from .plan import Plan
from .steps import Conditional, KernelStep, Step

#: Each measurement or reset of a qubit in superposition can double the branches; past this
#: many the exact method costs more than it is worth.
MAX_BRANCHES = 4096


@dataclass(frozen=True)
class Branch:
    record: tuple[int, ...]
    states: np.ndarray


def initial_branch(num_qubits: int, num_clbits: int, batch: int, dtype) -> Branch:
    """Every sample in |0...0>, every classical bit 0."""
    states = np.zeros((batch, 2 ** num_qubits), dtype=dtype)
    states[:, 0] = 1
    return Branch((0,) * num_clbits, states)


def run_steps(steps: tuple[Step, ...], branches: list[Branch]) -> list[Branch]:
    """Apply bound steps to every branch, splitting branches where the circuit measures."""
    for step in steps:
        if isinstance(step, (KernelStep, Plan)):
            for branch in branches:
                step.apply(branch.states)
        elif isinstance(step, Measure):
            branches = _limit([part for branch in branches for part in _measure(branch, step)])
        elif isinstance(step, Reset):
            branches = _limit([part for branch in branches for part in _reset(branch, step)])
        elif isinstance(step, Conditional):
            branches = _limit([part for branch in branches for part in run_steps(
                step.then_steps if step.condition.holds(branch.record) else step.else_steps,
                [branch])])
        else:
            raise TypeError(f"unbound or unknown step {step!r}")
    return branches


def _halves(states: np.ndarray, qubit: int) -> np.ndarray:
    """A view ``(B, high, 2, low)`` whose axis 2 is the value of ``qubit``."""
    return states.reshape(states.shape[0], -1, 2, 1 << qubit)


def _measure(branch: Branch, op: Measure) -> list[Branch]:
    parts = []
    for outcome in (0, 1):
        states = branch.states.copy()
        _halves(states, op.qubit)[:, :, 1 - outcome] = 0
        record = branch.record[:op.clbit] + (outcome,) + branch.record[op.clbit + 1:]
        parts.append(Branch(record, states))
    return [part for part in parts if not _negligible(part.states)]


def _reset(branch: Branch, op: Reset) -> list[Branch]:
    kept = branch.states.copy()
    _halves(kept, op.qubit)[:, :, 1] = 0
    moved = np.zeros_like(branch.states)
    _halves(moved, op.qubit)[:, :, 0] = _halves(branch.states, op.qubit)[:, :, 1]
    return [Branch(branch.record, s) for s in (kept, moved) if not _negligible(s)]


def _negligible(states: np.ndarray) -> bool:
    """True when the branch has (numerically) zero weight for every sample."""
    tiny = (64 * np.finfo(states.real.dtype).eps) ** 2
    return not np.any(np.einsum("bi,bi->b", states.real, states.real)
                      + np.einsum("bi,bi->b", states.imag, states.imag) > tiny)


def _limit(branches: list[Branch]) -> list[Branch]:
    if len(branches) > MAX_BRANCHES:
        raise QCompileError(
            f"exact simulation of this circuit needs more than {MAX_BRANCHES} classical "
            f"branches: every mid-circuit measurement or reset of a qubit in superposition "
            f"doubles them; measure fewer qubits mid-circuit, or defer measurement to the end")
    return branches
