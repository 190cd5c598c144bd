"""Exact, batched statevector simulation with numba kernels.

A circuit is compiled once into kernel steps (:mod:`.steps`), bound to a batch of parameter
values, and run on ``(B, 2**n)`` states (:mod:`.kernels`); mid-circuit measurement, reset and
feed-forward are simulated exactly by keeping one branch per classical record
(:mod:`.branches`).
"""

from .simulate import outcome_probabilities, simulate
from .steps import compile_circuit

__all__ = ["compile_circuit", "outcome_probabilities", "simulate"]
