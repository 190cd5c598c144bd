"""Vector–Jacobian products of the classical tensor operations (see :mod:`.classical`).

``tensor_op_vjp(op, operands, attrs, result, cotangent)`` maps the cotangent of an op's result
to one cotangent per operand, everything batched along axis 0 like the forward functions.
Complex operands (statevectors) get complex cotangents ∂L/∂Re z + i ∂L/∂Im z.
"""

from __future__ import annotations

import numpy as np

from ..ir import QCompileError
from .classical import align, batched_axis


def _unbroadcast(grad: np.ndarray, operand: np.ndarray) -> np.ndarray:
    """Sum a result-shaped cotangent down to an operand that ``align`` broadcast."""
    extra = grad.ndim - operand.ndim
    grad = grad.sum(axis=tuple(range(1, 1 + extra)))
    axes = tuple(i for i, n in enumerate(operand.shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def _elementwise(derivative):
    """VJP of y = f(x) from f'(x, y)."""
    return lambda ct, y, x: [ct * derivative(x, y)]


def _binary(partials):
    """VJP of a broadcasting binary op from its partials (da, db) on aligned operands."""
    def vjp(ct, y, a, b):
        aligned = align(a, b)
        da, db = partials(*aligned)
        return [_unbroadcast(ct * da, a), _unbroadcast(ct * db, b)]
    return vjp


def _rows(x: np.ndarray) -> np.ndarray:
    """``(B, ..., n)`` as ``(B, rows, n)``: the leading per-sample axes that a product maps
    row by row."""
    return x.reshape(x.shape[0], -1, x.shape[-1])


def _linear(ct, y, x, w, b=None):
    grads = [np.einsum("b...o,boi->b...i", ct, w), np.einsum("bro,bri->boi", _rows(ct), _rows(x))]
    if b is not None:
        grads.append(_rows(ct).sum(axis=1))
    return grads


def _softmax(ct, y, x, axis=-1):
    axis = batched_axis(x, axis)
    return [y * (ct - np.sum(ct * y, axis=axis, keepdims=True))]


def _layernorm(ct, y, x, eps=1e-5):
    inv_std = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return [inv_std * (ct - ct.mean(axis=-1, keepdims=True)
                       - y * np.mean(ct * y, axis=-1, keepdims=True))]


def _l2normalize(ct, y, x):
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return [(ct - y * np.sum(ct * y, axis=-1, keepdims=True)) / norm]


def _concat(ct, y, *xs, axis=0):
    bounds = np.cumsum([x.shape[batched_axis(xs[0], axis)] for x in xs])[:-1]
    return np.split(ct, bounds, axis=batched_axis(xs[0], axis))


def _slice(ct, y, x, start=0, stop=None, axis=0):
    grad = np.zeros(x.shape, dtype=ct.dtype)
    index = [slice(None)] * x.ndim
    index[batched_axis(x, axis)] = slice(int(start), None if stop is None else int(stop))
    grad[tuple(index)] = ct
    return [grad]


def _reduce(mean: bool):
    def vjp(ct, y, x, axis=None):
        if axis is None:
            kept = ct.reshape(ct.shape[:1] + (1,) * (x.ndim - 1))
            count = np.prod(x.shape[1:])
        else:
            kept = np.expand_dims(ct, batched_axis(x, axis))
            count = x.shape[batched_axis(x, axis)]
        grad = np.broadcast_to(kept, x.shape)
        return [grad / count if mean else grad.copy()]
    return vjp


def _fidelity(ct, y, a, b):
    """f = |s|², s = <a|b>: ∂f/∂a* = s* b and ∂f/∂b* = s a."""
    overlap = np.sum(np.conj(a) * b, axis=-1, keepdims=True)
    weight = 2 * ct[..., None]
    grads = [weight * np.conj(overlap) * b, weight * overlap * a]
    return [g if np.iscomplexobj(x) else g.real for g, x in zip(grads, (a, b))]


def _quantize(ct, y, x, **attrs):
    raise QCompileError("quantize rounds to an integer grid, so its derivative is zero almost "
                        "everywhere and gradients cannot flow through it; differentiate the "
                        "model before quantization (or dequantize weights ahead of time)")


VJPS = {
    "relu": _elementwise(lambda x, y: (x > 0).astype(float)),
    "tanh": _elementwise(lambda x, y: 1.0 - y * y),
    "sigmoid": _elementwise(lambda x, y: y * (1.0 - y)),
    "exp": _elementwise(lambda x, y: y),
    "log": _elementwise(lambda x, y: 1.0 / x),
    "sin": _elementwise(lambda x, y: np.cos(x)),
    "cos": _elementwise(lambda x, y: -np.sin(x)),
    "abs": _elementwise(lambda x, y: np.sign(x)),
    "neg": _elementwise(lambda x, y: -1.0),
    "sqrt": _elementwise(lambda x, y: 0.5 / y),
    "square": _elementwise(lambda x, y: 2.0 * x),
    "add": _binary(lambda a, b: (1.0, 1.0)),
    "sub": _binary(lambda a, b: (1.0, -1.0)),
    "mul": _binary(lambda a, b: (b, a)),
    "div": _binary(lambda a, b: (1.0 / b, -a / (b * b))),
    "scale": lambda ct, y, x, factor=1.0, offset=0.0: [factor * ct],
    "linear": _linear,
    "matmul": lambda ct, y, a, b: [np.einsum("b...m,bkm->b...k", ct, b),
                                   np.einsum("brk,brm->bkm", _rows(a), _rows(ct))],
    "softmax": _softmax,
    "layernorm": _layernorm,
    "l2normalize": _l2normalize,
    "concat": _concat,
    "slice": _slice,
    "reshape": lambda ct, y, x, shape: [ct.reshape(x.shape)],
    "transpose": lambda ct, y, x, axes: [ct.transpose((0, *(1 + int(a) for a in
                                                          np.argsort(axes))))],
    "sum": _reduce(mean=False),
    "mean": _reduce(mean=True),
    "quantize": _quantize,
    "dequantize": lambda ct, y, q, scale=1.0, zero_point=0: [scale * ct],
    "fidelity": _fidelity,
}


def tensor_op_vjp(op: str, operands: list[np.ndarray], attrs: dict, result: np.ndarray,
                  cotangent: np.ndarray) -> list[np.ndarray]:
    """One cotangent per operand, each with that operand's (batched) shape."""
    grads = VJPS[op](cotangent, result, *operands, **attrs)
    return [np.broadcast_to(g, x.shape) if np.shape(g) != x.shape else g
            for g, x in zip(grads, operands)]
