"""Numeric semantics of the classical tensor operations, over a batch.

Every function receives operands that all carry a leading batch axis (the runner broadcasts
shared values such as weights with ``np.broadcast_to``, which copies nothing) and returns a
batched result. Attribute axes are per-sample, as in the IR, so they are shifted by one here.
"""

from __future__ import annotations

import numpy as np


def batched_axis(x: np.ndarray, axis: int) -> int:
    """Per-sample axis → axis of the batched array."""
    return int(axis) % max(x.ndim - 1, 1) + 1


def align(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right-align per-sample shapes while keeping the batch axis first, for broadcasting."""
    rank = max(a.ndim, b.ndim)

    def pad(x):
        return x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:])

    return pad(a), pad(b)


def _binary(fn):
    return lambda a, b: fn(*align(a, b))


def _linear(x, w, b=None):
    y = np.einsum("b...i,boi->b...o", x, w)
    return y if b is None else y + b.reshape(b.shape[:1] + (1,) * (y.ndim - 2) + b.shape[1:])


def _softmax(x, axis=-1):
    axis = batched_axis(x, axis)
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _layernorm(x, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=-1, keepdims=True) + eps)


def _l2normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _slice(x, start=0, stop=None, axis=0):
    index = [slice(None)] * x.ndim
    index[batched_axis(x, axis)] = slice(int(start), None if stop is None else int(stop))
    return x[tuple(index)]


def _reduce(fn):
    def apply(x, axis=None):
        per_sample_axes = tuple(range(1, x.ndim)) if axis is None else batched_axis(x, axis)
        return fn(x, axis=per_sample_axes)
    return apply


def _quantize(x, bits=8, scale=1.0, zero_point=0):
    low, high = -(2 ** (int(bits) - 1)), 2 ** (int(bits) - 1) - 1
    return np.clip(np.round(x / scale) + zero_point, low, high)


def _fidelity(a, b):
    return np.abs(np.sum(np.conj(a) * b, axis=-1)) ** 2


IMPLEMENTATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "exp": np.exp,
    "log": np.log,
    "sin": np.sin,
    "cos": np.cos,
    "abs": np.abs,
    "neg": np.negative,
    "sqrt": np.sqrt,
    "square": np.square,
    "add": _binary(np.add),
    "sub": _binary(np.subtract),
    "mul": _binary(np.multiply),
    "div": _binary(np.divide),
    "scale": lambda x, factor=1.0, offset=0.0: factor * x + offset,
    "linear": _linear,
    "matmul": lambda a, b: np.einsum("b...k,bkm->b...m", a, b),
    "softmax": _softmax,
    "layernorm": _layernorm,
    "l2normalize": _l2normalize,
    "concat": lambda *xs, axis=0: np.concatenate(xs, axis=batched_axis(xs[0], axis)),
    "slice": _slice,
    "reshape": lambda x, shape: x.reshape(x.shape[:1] + tuple(shape)),
    "transpose": lambda x, axes: x.transpose((0, *(1 + int(a) for a in axes))),
    "sum": _reduce(np.sum),
    "mean": _reduce(np.mean),
    "quantize": _quantize,
    "dequantize": lambda q, scale=1.0, zero_point=0: (q - zero_point) * scale,
    "fidelity": _fidelity,
}



def apply_tensor_op(op: str, operands: list[np.ndarray], attrs: dict) -> np.ndarray:
    """Evaluate one tensor op on batched operands. A value outside an op's domain (log of a
    negative) gives NaN, which the result's reader reports; numpy's warning would only
    name this line."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return IMPLEMENTATIONS[op](*operands, **attrs)
