"""One circuit call's vector–Jacobian product on the simulator: the adjoint method for
unitary circuits, parameter shifts for dynamic ones (mid-circuit measurement, reset,
feed-forward)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...ir import Circuit, Counts, QCompileError
from ...ir.program import Output
from .adjoint import adjoint_vjp, non_unitary_reason
from .param_shift import param_shift_vjp


def circuit_vjp(circuit: Circuit, output: Output, values: Mapping[str, np.ndarray] | None,
                cotangent: np.ndarray) -> dict[str, np.ndarray]:
    """The VJP of one readout: adjoint when the circuit is unitary, else parameter shifts."""
    if isinstance(output, Counts):
        raise QCompileError(f"counts of circuit {circuit.name!r} are sampled, so they have no "
                            f"derivative; differentiate probs (their expectation) instead")
    if non_unitary_reason(circuit):
        return param_shift_vjp(circuit, output, values, cotangent)
    return adjoint_vjp(circuit, output, values, cotangent)
