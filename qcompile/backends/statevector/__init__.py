"""Exact, batched statevector simulation with numba kernels.

A circuit is compiled once into kernel steps (:mod:`.steps`) and bound to a batch of
parameter values; each straight-line run of bound steps is fused and grouped into cache-sized
clusters (:mod:`.plan`) that numba kernels run with one memory pass each (:mod:`.tape`).
Mid-circuit measurement, reset and feed-forward are simulated exactly by keeping one branch
per classical record (:mod:`.branches`); read-outs of unitary circuits are computed without
holding the batch's states (:mod:`.batch_readout`). The per-gate kernels of :mod:`.kernels`
remain for callers that apply single steps (``KernelStep.apply``).
"""

from .simulate import outcome_probabilities, simulate
from .steps import compile_circuit

__all__ = ["compile_circuit", "outcome_probabilities", "simulate"]
