"""Classical tensor ops: batched evaluation equals the textbook formula applied per sample."""

import numpy as np
import pytest
from scipy import special

from qcompile.backends.classical import IMPLEMENTATIONS, apply_tensor_op
from qcompile.ir.tensor_ops import TENSOR_OPS, infer_shape

RNG = np.random.default_rng(5)
B = 4

# op, per-sample operand shapes, attrs, per-sample reference
CASES = [
    ("relu", [(3,)], {}, lambda x: np.where(x > 0, x, 0.0)),
    ("tanh", [(3,)], {}, np.tanh),
    ("sigmoid", [(2, 3)], {}, special.expit),
    ("exp", [(3,)], {}, np.exp),
    ("log", [(3,)], {}, lambda x: np.log(x)),
    ("sin", [(3,)], {}, np.sin),
    ("cos", [(3,)], {}, np.cos),
    ("abs", [(3,)], {}, np.abs),
    ("neg", [(3,)], {}, lambda x: -x),
    ("sqrt", [(3,)], {}, np.sqrt),
    ("square", [(3,)], {}, lambda x: x * x),
    ("add", [(2, 3), (3,)], {}, lambda a, b: a + b),
    ("sub", [(), (3,)], {}, lambda a, b: a - b),
    ("mul", [(3,), (2, 1)], {}, lambda a, b: a * b),
    ("div", [(3,), ()], {}, lambda a, b: a / b),
    ("scale", [(3,)], {"factor": 2.5, "offset": -1.0}, lambda x: 2.5 * x - 1.0),
    ("linear", [(3,), (2, 3), (2,)], {}, lambda x, w, b: w @ x + b),
    ("linear", [(5, 3), (2, 3)], {}, lambda x, w: x @ w.T),
    ("matmul", [(2, 3), (3, 4)], {}, lambda a, b: a @ b),
    ("softmax", [(2, 3)], {"axis": 0}, lambda x: special.softmax(x, axis=0)),
    ("softmax", [(4,)], {}, special.softmax),
    ("layernorm", [(5,)], {"eps": 1e-5}, lambda x: (x - x.mean()) / np.sqrt(x.var() + 1e-5)),
    ("l2normalize", [(4,)], {}, lambda x: x / np.sqrt(np.sum(x ** 2))),
    ("concat", [(2,), (3,)], {}, lambda a, b: np.r_[a, b]),
    ("concat", [(2, 2), (2, 1)], {"axis": 1}, lambda a, b: np.c_[a, b]),
    ("slice", [(5,)], {"start": 1, "stop": 4}, lambda x: x[1:4]),
    ("slice", [(2, 5)], {"start": 2, "stop": 3, "axis": -1}, lambda x: x[:, 2:3]),
    ("reshape", [(6,)], {"shape": (2, 3)}, lambda x: x.reshape(2, 3)),
    ("sum", [(2, 3)], {}, lambda x: x.sum()),
    ("sum", [(2, 3)], {"axis": 1}, lambda x: x.sum(axis=1)),
    ("mean", [(2, 3)], {"axis": 0}, lambda x: x.mean(axis=0)),
    ("quantize", [(6,)], {"bits": 4, "scale": 0.1, "zero_point": 1},
     lambda x: np.array([min(max(round(v / 0.1) + 1, -8), 7) for v in x])),
    ("dequantize", [(3,)], {"scale": 0.5, "zero_point": 2}, lambda q: 0.5 * (q - 2)),
]


def _sample(shape, op):
    x = RNG.uniform(0.1, 2.0, shape) if op in ("log", "sqrt", "div") else RNG.normal(size=shape)
    return x * 3 if op == "quantize" else x


def test_every_ir_tensor_op_has_an_implementation():
    assert set(IMPLEMENTATIONS) == set(TENSOR_OPS)


@pytest.mark.parametrize("op,shapes,attrs,reference", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_batched_equals_per_sample(op, shapes, attrs, reference):
    operands = [_sample((B,) + s, op) for s in shapes]
    result = apply_tensor_op(op, operands, attrs)
    expected_shape = infer_shape(op, [tuple(s) for s in shapes], attrs)
    assert result.shape == (B,) + expected_shape
    for i in range(B):
        np.testing.assert_allclose(result[i], reference(*(o[i] for o in operands)),
                                   rtol=1e-12, atol=1e-12)


def test_fidelity_of_states():
    a = RNG.normal(size=(B, 8)) + 1j * RNG.normal(size=(B, 8))
    b = RNG.normal(size=(B, 8)) + 1j * RNG.normal(size=(B, 8))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    result = apply_tensor_op("fidelity", [a, b], {})
    for i in range(B):
        assert np.isclose(result[i], abs(np.vdot(a[i], b[i])) ** 2)
