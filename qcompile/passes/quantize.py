"""Quantization: gate angles on a finite grid, and fake-quantized weights of linear layers.

``quantize-angles`` models hardware whose control electronics set an angle with a fixed number
of bits: every constant angle moves to the nearest of ``2**bits`` evenly spaced values per
period of its gate matrix.

``quantize-weights`` simulates int8 (or ``bits``-bit) inference of the classical layers, as in
the quantization whitepaper: symmetric, per output channel (one scale per row of the weight
matrix), biases kept in full precision. The weight values are not part of the IR, so the
scales cannot be constants of the program; they become frozen weights that
:func:`bind_weight_scales` computes from the weight values at bind time. This keeps the
program a pure function of its bound weights, round-trips through the textual IR (the
scales' recipe is the ``div → quantize → mul`` pattern itself), and fails loudly (an unbound
weight) rather than silently using stale scales when the scales are not bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from ..ir import GATES, Const, Gate, Operation, Program, QCompileError, TensorDecl, TensorOp
from ..ir.expr import evaluate, is_constant
from .base import BlockPass, Pass, PropertySet, fresh_name, option, register_pass


# --- angles ---------------------------------------------------------------------------------

def quantize_angle(value: float, period: float, bits: int) -> float:
    """The nearest of the ``2**bits`` angles ``k * period / 2**bits``, with ``k`` wrapped into
    ``[-2**(bits-1), 2**(bits-1))`` (the same matrix, one period)."""
    step = period / 2 ** bits
    half = 2 ** (bits - 1)
    k = (round(value / step) + half) % 2 ** bits - half
    return k * step


@register_pass("quantize-angles")
@dataclass(frozen=True)
class QuantizeAngles(BlockPass):
    """Round constant gate angles to a grid of 2**bits levels per period of the gate.

    For hardware with finite angle resolution. The period is that of the gate matrix in the
    angle (its :class:`~qcompile.ir.gates.AngleForm`: 2π for phases, 4π for half-angle
    rotations), so the
    rounding error is at most ``period / 2**(bits+1)`` per angle, which moves the gate by at
    most ``π / 2**bits`` in operator norm. Symbolic angles (bound at run time) and explicit
    unitaries are left alone.
    """

    bits: int = option(8, low=1, high=32)

    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        return [self._quantize(op) if isinstance(op, Gate) and op.params else op for op in ops]

    def _quantize(self, gate: Gate) -> Gate:
        params = []
        for index, expr in enumerate(gate.params):
            if is_constant(expr):
                value = float(evaluate(expr, {}))
                if not math.isfinite(value):
                    raise QCompileError(f"quantize-angles: gate {gate.name} on qubits "
                                        f"{list(gate.qubits)} has the non-finite angle {expr}")
                period = GATES[gate.name].angles[index].period
                expr = Const(quantize_angle(value, period, self.bits))
            params.append(expr)
        return replace(gate, params=tuple(params))


# --- weights --------------------------------------------------------------------------------

@register_pass("quantize-weights")
@dataclass(frozen=True)
class QuantizeWeights(Pass):
    """Fake-quantize the weight matrices of linear layers: symmetric, per output channel.

    For each program weight ``W`` used as the matrix of a ``linear`` op, the op reads
    ``mul(quantize(div(W, W_scale)) {bits, scale=1}, W_scale)`` instead, where ``W_scale`` is
    a new frozen weight of shape ``[out, 1]`` (``[]`` with ``per_channel=false``) holding
    ``max |W_row| / (2**(bits-1) - 1)``. Bind it with :func:`bind_weight_scales`. The
    quantize op's own ``scale`` attribute is a constant, so the per-channel scale is applied
    with ``div``/``mul`` around it (a dequantize with scale 1 would do nothing).
    ``properties["quantize-weights"]`` maps each quantized weight to its scale weight.
    """

    bits: int = option(8, low=2, high=32)
    per_channel: bool = option(True)

    def run(self, program: Program, properties: PropertySet) -> Program:
        weights = {w.name: w for w in program.weights}
        taken = set(weights) | {d.name for d in program.inputs} | {
            s.result for s in program.body}
        replaced: dict[str, str] = {}  # weight -> its fake-quantized value
        scales: list[TensorDecl] = []
        body = []
        for stmt in program.body:
            if isinstance(stmt, TensorOp) and stmt.op == "linear" and stmt.operands[1] in weights:
                name = stmt.operands[1]
                if name not in replaced:
                    shape = (weights[name].shape[0], 1) if self.per_channel else ()
                    scales.append(TensorDecl(fresh_name(f"{name}_scale", taken), shape, False))
                    replaced[name], chain = self._fake_quantize(name, scales[-1].name, taken)
                    body += chain
                operands = (stmt.operands[0], replaced[name], *stmt.operands[2:])
                stmt = replace(stmt, operands=operands)
            body.append(stmt)
        properties["quantize-weights"] = {w: d.name for w, d in zip(replaced, scales)}
        return replace(program, weights=program.weights + tuple(scales), body=tuple(body))

    def _fake_quantize(self, weight: str, scale: str, taken: set[str]):
        scaled, integer, result = (fresh_name(f"{weight}.{suffix}", taken)
                                   for suffix in ("scaled", "int", "fake_quant"))
        return result, [
            TensorOp(scaled, "div", (weight, scale)),
            TensorOp(integer, "quantize", (scaled,),
                     (("bits", self.bits), ("scale", 1.0), ("zero_point", 0))),
            TensorOp(result, "mul", (integer, scale)),
        ]


def bind_weight_scales(program: Program, weights: Mapping[str, np.ndarray]
                       ) -> dict[str, np.ndarray]:
    """``weights`` plus the value of every scale weight that quantize-weights declared.

    A scale weight is recognized by its use, ``quantize(div(W, scale))``: its value is the
    symmetric scale ``max |W| / (2**(bits-1) - 1)`` per row of ``W`` (shape ``[out, 1]``) or
    over all of ``W`` (shape ``[]``); an all-zero row gets scale 1, which quantizes it to 0
    exactly. Call it again whenever ``W`` changes; a scale value already in ``weights`` is
    replaced, since it is a function of ``W``.
    """
    out = dict(weights)
    for weight, scale, bits in _scale_uses(program):
        if weight.name not in weights:
            raise QCompileError(f"cannot compute the quantization scale {scale.name!r}: "
                                f"weight {weight.name!r} is not given")
        magnitude = np.abs(np.asarray(weights[weight.name], dtype=float))
        if magnitude.shape != weight.shape:
            raise QCompileError(f"weight {weight.name!r} has shape {list(magnitude.shape)}; "
                                f"expected {list(weight.shape)}")
        largest = magnitude.max(axis=-1, keepdims=True) if scale.shape else magnitude.max()
        out[scale.name] = np.where(largest > 0, largest / (2 ** (bits - 1) - 1), 1.0)
    return out


def weight_scales(program: Program) -> dict[str, str]:
    """Scale weight → the weight it quantizes, for every scale that quantize-weights declared.

    A caller binding weights gives values for the others only: these are computed from them
    by :func:`bind_weight_scales`, so they are neither read from a file nor drawn at random
    (random scales would quantize with a step that has nothing to do with the weights).
    """
    return {scale.name: weight.name for weight, scale, _ in _scale_uses(program)}


def _scale_uses(program: Program):
    """``(weight, scale weight, bits)`` for each ``quantize(div(W, scale))`` in the body
    where ``W`` is a weight and ``scale`` a frozen one: the pattern quantize-weights writes."""
    weights = {w.name: w for w in program.weights}
    producers = {s.result: s for s in program.body if isinstance(s, TensorOp)}
    for stmt in program.body:
        if not (isinstance(stmt, TensorOp) and stmt.op == "quantize"):
            continue
        source = producers.get(stmt.operands[0])
        if source is None or source.op != "div":
            continue
        weight, scale = (weights.get(name) for name in source.operands)
        if weight is not None and scale is not None and not scale.trainable:
            yield weight, scale, int(stmt.attr_dict.get("bits", 8))
