"""The classical tensor operations that surround circuits in a hybrid program.

Each entry says how many operands it takes, which attributes it accepts, and how it maps
operand shapes to a result shape. Shapes are per sample: the batch axis is implicit, so
``linear`` maps ``[n]`` to ``[m]`` whatever the batch size. Numeric semantics live in the
backends; this table is what the verifier and the printer need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable

Shape = tuple[int, ...]


class ShapeError(ValueError):
    """Operand shapes do not fit the operation (message names the operand)."""


@dataclass(frozen=True)
class TensorOpSpec:
    name: str
    min_operands: int
    max_operands: int | None
    attrs: frozenset[str]
    infer: Callable[[list[Shape], dict], Shape]
    description: str


def _same(shapes, attrs):
    return shapes[0]


def _broadcast(shapes, attrs):
    out: list[int] = []
    for shape in shapes:
        for i, n in enumerate(reversed(shape)):
            if i >= len(out):
                out.append(n)
            elif out[i] == 1:
                out[i] = n
            elif n not in (1, out[i]):
                raise ShapeError(f"shapes {list(shapes[0])} and {list(shape)} do not broadcast")
    return tuple(reversed(out))


def _linear(shapes, attrs):
    x, w = shapes[0], shapes[1]
    if len(w) != 2:
        raise ShapeError(f"weight operand must be a matrix [out, in], got {list(w)}")
    if not x or x[-1] != w[1]:
        raise ShapeError(f"input has shape {list(x)} but the weight expects {w[1]} features")
    if len(shapes) == 3 and shapes[2] != (w[0],):
        raise ShapeError(f"bias must have shape [{w[0]}], got {list(shapes[2])}")
    return x[:-1] + (w[0],)


def _matmul(shapes, attrs):
    a, b = shapes
    if len(a) < 1 or len(b) != 2 or a[-1] != b[0]:
        raise ShapeError(f"cannot multiply shapes {list(a)} and {list(b)}")
    return a[:-1] + (b[1],)


def _axis(shape, attrs) -> int:
    axis = int(attrs.get("axis", -1))
    if not -len(shape) <= axis < max(len(shape), 1):
        raise ShapeError(f"axis {axis} is out of range for shape {list(shape)}")
    return axis % max(len(shape), 1)


def _concat(shapes, attrs):
    axis = _axis(shapes[0], {"axis": attrs.get("axis", 0)})
    for s in shapes[1:]:
        if len(s) != len(shapes[0]) or any(
                a != b for i, (a, b) in enumerate(zip(s, shapes[0])) if i != axis):
            raise ShapeError(f"cannot concatenate shapes {list(shapes[0])} and {list(s)}")
    return tuple(sum(s[axis] for s in shapes) if i == axis else n
                 for i, n in enumerate(shapes[0]))


def _slice(shapes, attrs):
    shape = shapes[0]
    axis = _axis(shape, {"axis": attrs.get("axis", 0)})
    start, stop = int(attrs.get("start", 0)), int(attrs.get("stop", shape[axis]))
    if not 0 <= start < stop <= shape[axis]:
        raise ShapeError(f"slice {start}:{stop} is out of range for length {shape[axis]}")
    return shape[:axis] + (stop - start,) + shape[axis + 1:]


def _reshape(shapes, attrs):
    new = tuple(int(n) for n in attrs["shape"])
    if math.prod(new) != math.prod(shapes[0]):
        raise ShapeError(f"cannot reshape {list(shapes[0])} into {list(new)}")
    return new


def _transpose(shapes, attrs):
    shape, axes = shapes[0], tuple(int(a) for a in attrs["axes"])
    if sorted(axes) != list(range(len(shape))):
        raise ShapeError(f"axes {list(axes)} are not a permutation of the {len(shape)} axes of "
                         f"{list(shape)}")
    return tuple(shape[a] for a in axes)


def _reduce(shapes, attrs):
    shape = shapes[0]
    if "axis" not in attrs:
        return ()
    axis = _axis(shape, attrs)
    return shape[:axis] + shape[axis + 1:]


def _fidelity(shapes, attrs):
    if shapes[0] != shapes[1] or len(shapes[0]) != 1:
        raise ShapeError(f"fidelity needs two states of equal size, got {list(shapes[0])} "
                         f"and {list(shapes[1])}")
    return ()


def _spec(name, lo, hi, attrs, infer, description):
    return TensorOpSpec(name, lo, hi, frozenset(attrs), infer, description)


ELEMENTWISE_UNARY = ("relu", "tanh", "sigmoid", "exp", "log", "sin", "cos", "abs", "neg",
                     "sqrt", "square")
ELEMENTWISE_BINARY = ("add", "sub", "mul", "div")

_SPECS = [
    *(_spec(n, 1, 1, (), _same, f"elementwise {n}") for n in ELEMENTWISE_UNARY),
    *(_spec(n, 2, 2, (), _broadcast, f"elementwise {n} with broadcasting")
      for n in ELEMENTWISE_BINARY),
    _spec("scale", 1, 1, ("factor", "offset"), _same, "factor * x + offset (constants)"),
    _spec("linear", 2, 3, (), _linear, "x @ W.T + b, W of shape [out, in]"),
    _spec("matmul", 2, 2, (), _matmul, "matrix product"),
    _spec("softmax", 1, 1, ("axis",), _same, "softmax along an axis (default last)"),
    _spec("layernorm", 1, 1, ("eps",), _same, "zero mean, unit variance over the last axis"),
    _spec("l2normalize", 1, 1, (), _same, "divide by the Euclidean norm (amplitude encoding)"),
    _spec("concat", 1, None, ("axis",), _concat, "concatenate along an axis (default 0)"),
    _spec("slice", 1, 1, ("start", "stop", "axis"), _slice, "a contiguous range on one axis"),
    _spec("reshape", 1, 1, ("shape",), _reshape, "same elements, new shape"),
    _spec("transpose", 1, 1, ("axes",), _transpose, "axes reordered: result axis k is axes[k]"),
    _spec("sum", 1, 1, ("axis",), _reduce, "sum over an axis, or all elements"),
    _spec("mean", 1, 1, ("axis",), _reduce, "mean over an axis, or all elements"),
    _spec("quantize", 1, 1, ("bits", "scale", "zero_point"), _same,
          "round to a signed integer grid: clip(round(x/scale) + zero_point)"),
    _spec("dequantize", 1, 1, ("scale", "zero_point"), _same, "(q - zero_point) * scale"),
    _spec("fidelity", 2, 2, (), _fidelity, "|<a|b>|^2 of two statevectors (kernel entry)"),
]

TENSOR_OPS: dict[str, TensorOpSpec] = {spec.name: spec for spec in _SPECS}


def infer_shape(op: str, shapes: list[Shape], attrs: dict) -> Shape:
    """Result shape of ``op`` or :class:`ShapeError` saying which operand does not fit."""
    spec = TENSOR_OPS[op]
    if len(shapes) < spec.min_operands or (
            spec.max_operands is not None and len(shapes) > spec.max_operands):
        expected = (str(spec.min_operands) if spec.min_operands == spec.max_operands
                    else f"{spec.min_operands} or more" if spec.max_operands is None
                    else f"{spec.min_operands} to {spec.max_operands}")
        raise ShapeError(f"takes {expected} operands, got {len(shapes)}")
    unknown = set(attrs) - spec.attrs
    if unknown:
        raise ShapeError(f"unknown attribute(s) {', '.join(sorted(unknown))}")
    try:
        return spec.infer(shapes, attrs)
    except ShapeError:
        raise
    except KeyError as err:
        raise ShapeError(f"missing attribute {err.args[0]}") from None
    except (TypeError, ValueError):
        raise ShapeError(f"invalid attribute value(s) {attrs}") from None
