"""One circuit call's vector–Jacobian product on the simulator: the adjoint method for
unitary circuits, terminal measurements included, parameter shifts for dynamic ones
(mid-circuit measurement, reset, feed-forward; :func:`qcompile.ir.terminal.dynamic_reason`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...ir import Circuit, Counts, QCompileError
from ...ir.program import Output
from ...ir.terminal import dynamic_reason
from .adjoint import adjoint_vjp
from .param_shift import param_shift_vjp


def circuit_vjp(circuit: Circuit, output: Output, values: Mapping[str, np.ndarray] | None,
                cotangent: np.ndarray) -> dict[str, np.ndarray]:
    """The VJP of one readout: adjoint when the circuit is unitary up to terminal
    measurements, else parameter shifts."""
    if isinstance(output, Counts):
        raise QCompileError(f"counts of circuit {circuit.name!r} are sampled, so they have no "
                            f"derivative; differentiate probs (their expectation) instead")
    if dynamic_reason(circuit):
        return param_shift_vjp(circuit, output, values, cotangent)
    return adjoint_vjp(circuit, output, values, cotangent)
