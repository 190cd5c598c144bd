"""Parameter-shift differentiation: gradients from forward evaluations only.

Each occurrence of a symbolic angle in the circuit is shifted on its own, and the readout at the
shifted angles gives its exact derivative by the rule of the gate's angle form
(:mod:`.gate_angles`): two evaluations for rotations and phases, four for controlled rotations.
The chain rule then sums occurrences into the circuit's inputs and weights. It needs nothing
but the readout, so it is what a device can run, and it covers dynamic circuits (mid-circuit
measurement, reset, feed-forward): their exact ExpVal and Probs readouts are linear in the
state after every gate, so the shift rules hold unchanged. Cost: 2 or 4 simulations per
symbolic angle occurrence, against about three passes for :mod:`.adjoint`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

import numpy as np

from ...ir import GATES, Circuit, ExpVal, Gate, IfElse, Probs, QCompileError
from ...ir.expr import Expr, is_constant
from ...ir.ops import walk
from ...ir.program import Output
from .adjoint import as_cotangent
from ..binding import bind_values
from .gate_angles import ParameterGradients
from .gradient_kernels import serial_when_small
from .simulate import simulate


def param_shift_vjp(circuit: Circuit, output: Output,
                    values: Mapping[str, np.ndarray] | None, cotangent: np.ndarray, *,
                    dtype=np.complex128, max_memory: int | str | None = None
                    ) -> dict[str, np.ndarray]:
    """d(Σ cotangent · simulate(circuit, output, values))/d values by parameter shifts.

    Same contract as :func:`.adjoint.adjoint_vjp` for ExpVal and Probs readouts.
    """
    if not isinstance(output, (ExpVal, Probs)):
        raise QCompileError(f"parameter-shift differentiates expval and probs readouts, not "
                            f"{type(output).__name__.lower()} (circuit {circuit.name!r})")
    binding = bind_values(circuit, values)
    with serial_when_small(binding.batch << circuit.num_qubits):
        readout = simulate(circuit, output, values, dtype=dtype, max_memory=max_memory)
        weights = as_cotangent(cotangent, readout.shape, f"the {type(output).__name__.lower()} "
                               f"readout of circuit {circuit.name!r}")
        grads = ParameterGradients(binding)
        for occurrence, (gate, index) in enumerate(symbolic_angles(circuit.ops)):
            d_angle = np.zeros(readout.shape[0])
            for coefficient, shift in GATES[gate.name].angles[index].shift_rule:
                plus, minus = (simulate(circuit.with_ops(_shifted(circuit.ops, occurrence,
                                                                  sign * shift)),
                                        output, values, dtype=dtype, max_memory=max_memory)
                               for sign in (1, -1))
                d_angle += coefficient * np.sum(weights * (plus - minus), axis=1)
            grads.add(gate.params[index], d_angle)
    return grads.grads


def symbolic_angles(ops) -> Iterator[tuple[Gate, int]]:
    """Every (gate, parameter index) whose angle depends on a symbol, in program order
    (conditional blocks included, then-block before else-block)."""
    for op in walk(ops):
        if isinstance(op, Gate):
            for index, angle in enumerate(op.params):
                if not is_constant(angle):
                    yield op, index


def _shifted(ops, occurrence: int, shift: float) -> tuple:
    """``ops`` with the ``occurrence``-th symbolic angle (order of :func:`symbolic_angles`)
    increased by ``shift``."""
    return _shift_ops(ops, occurrence, shift, itertools.count())


def _shift_ops(ops, occurrence: int, shift: float, counter) -> tuple:
    out = []
    for op in ops:
        if isinstance(op, Gate):
            params: list[Expr] = list(op.params)
            for index, angle in enumerate(params):
                if not is_constant(angle) and next(counter) == occurrence:
                    params[index] = angle + shift
            op = Gate(op.name, op.qubits, params)
        elif isinstance(op, IfElse):
            op = IfElse(op.condition, _shift_ops(op.then_body, occurrence, shift, counter),
                        _shift_ops(op.else_body, occurrence, shift, counter))
        out.append(op)
    return tuple(out)
