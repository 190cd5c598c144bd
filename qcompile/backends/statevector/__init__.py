"""Exact, batched statevector simulation with numba kernels.

A circuit is compiled once into kernel steps (:mod:`.steps`) and bound to a batch of
parameter values; each straight-line run of bound steps is fused and grouped into cache-sized
clusters (:mod:`.plan`) that numba kernels run with one memory pass each (:mod:`.tape`).
Terminal measurements are read from the final state (:mod:`.sampling` draws counts);
mid-circuit measurement, reset and feed-forward keep classical branches, exactly or one per
group of shots (:mod:`.branches`); read-outs of unitary circuits are computed without
holding the batch's states (:mod:`.batch_readout`); memory is estimated before anything
large is allocated (:mod:`.memory`). The per-gate kernels of :mod:`.kernels` remain for
callers that apply single steps (``KernelStep.apply``). One sample of a small circuit runs
lean instead (:mod:`.gate_list`), and importing this package loads no numba: a one-off
command that simulates a few qubits never pays for it.
"""

from .simulate import outcome_probabilities, simulate, simulate_many

__all__ = ["outcome_probabilities", "simulate", "simulate_many"]
