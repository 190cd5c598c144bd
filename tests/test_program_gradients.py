"""Vector–Jacobian products through whole hybrid programs against finite differences of
``run_program``, and each classical op's VJP against finite differences of its forward."""

import numpy as np
import pytest
from finite_differences import assert_gradients_close, gradients_by_differences

from qcompile.backends.classical import apply_tensor_op
from qcompile.backends.classical_grad import VJPS, tensor_op_vjp
from qcompile.backends.gradients import program_vjp, value_and_grad
from qcompile.backends.runner import init_weights, run_program
from qcompile.frontend.builder import ModelBuilder
from qcompile.ir import QCompileError
from qcompile.ir.tensor_ops import TENSOR_OPS
from qcompile.models import load_model


def program_reference(program, inputs, weights, cotangents):
    """Finite differences of Σ cotangent · run_program, inputs per sample, weights summed."""
    def per_sample_loss(values):
        outputs = run_program(program, {n: values[n] for n in inputs},
                              {n: values[n] for n in weights})
        return sum(np.sum((np.conj(ct) * outputs[n]).real.reshape(len(ct), -1), axis=1)
                   for n, ct in cotangents.items())
    grads = gradients_by_differences(per_sample_loss, {**inputs, **weights}, set(inputs))
    return {n: grads[n] for n in inputs}, {n: grads[n] for n in weights}


def check_program(program, inputs, weights, seed=0):
    rng = np.random.default_rng(seed)
    outputs = run_program(program, inputs, weights)
    cotangents = {n: rng.normal(size=o.shape) for n, o in outputs.items()}
    input_grads, weight_grads = program_vjp(program, inputs, weights, cotangents)
    ref_inputs, ref_weights = program_reference(program, inputs, weights, cotangents)
    assert_gradients_close(input_grads, ref_inputs)
    assert_gradients_close(weight_grads, ref_weights)


@pytest.mark.parametrize("name", ["zz-vqc", "daruan", "qkan-layer", "qksan", "zz-kernel"])
def test_zoo_models_match_finite_differences(name):
    """qksan measures mid-circuit (parameter shifts); zz-kernel differentiates fidelity of
    two statevectors (adjoint with a statevector costate)."""
    program = load_model(name)
    rng = np.random.default_rng(len(name))
    inputs = {d.name: rng.uniform(-1, 1, (3,) + d.shape) for d in program.inputs}
    check_program(program, inputs, init_weights(program, seed=1))


def mixed_program():
    """Batched and shared values around three calls: weight-only branches (tanh(s), sin(s))
    feed circuit arguments, one call has only shared arguments, and probabilities and
    expectations are mixed classically."""
    m = ModelBuilder("mixed")
    x = m.input("x", 3)
    W, b, s = m.weight("W", 2, 3), m.weight("b", 2), m.weight("s", 2)
    W2 = m.weight("W2", 3, 6)
    hidden = m.linear(x, W, b)
    shared = m.tanh(s)
    with m.circuit("c", qubits=2, params=[("a", (2,)), ("t", (2,))]) as c:
        a, t = c.param("a"), c.param("t")
        c.ry(a[0], 0)
        c.crx(t[0] * a[1], 0, 1)
        c.rzz(t[1], 0, 1)
        c.u(a[1], t[0], a[0] * t[1], 1)
    probs = m.probs(c(hidden, shared), 0, 1)
    z = m.expval(c(hidden, shared), "Z0", "X1 Y0")
    offset = m.expval(c(m.sin(s), shared), "Y1")  # every argument shared: computed once
    features = m.concat(m.softmax(probs), m.mul(m.add(z, offset),
                                                m.slice(hidden, start=0, stop=1)))
    logits = m.linear(m.reshape(features, shape=(1, 6)), W2)
    m.output(m.mean(m.square(logits)), m.layernorm(m.sum(logits, axis=0)))
    return m.build()


def test_mixed_program_matches_finite_differences():
    program = mixed_program()
    rng = np.random.default_rng(3)
    weights = {n: rng.uniform(-1, 1, d.shape) for n, d in
               ((d.name, d) for d in program.weights)}
    check_program(program, {"x": rng.uniform(-1, 1, (4, 3))}, weights)


def test_single_sample_inputs_keep_their_shape():
    program = load_model("zz-vqc")
    weights = init_weights(program, seed=2)
    grads, _ = program_vjp(program, {"x": np.array([0.1, 0.2])}, weights,
                            {"p": np.ones((1, 1))})
    assert grads["x"].shape == (2,)


def test_value_and_grad_is_a_loss_and_its_gradient():
    program = load_model("zz-vqc")
    rng = np.random.default_rng(4)
    inputs, weights = {"x": rng.uniform(-1, 1, (5, 2))}, init_weights(program, seed=3)
    targets = rng.integers(0, 2, (5, 1)).astype(float)

    def mse(outputs):
        error = outputs["p"] - targets
        return np.mean(error ** 2), {"p": 2 * error / error.size}

    value, input_grads, weight_grads = value_and_grad(program, inputs, weights, mse)
    assert value == pytest.approx(mse(run_program(program, inputs, weights))[0], abs=1e-14)
    step = 1e-5
    for name, grad in weight_grads.items():
        for index in np.ndindex(*grad.shape):
            plus, minus = dict(weights), dict(weights)
            plus[name], minus[name] = weights[name].copy(), weights[name].copy()
            plus[name][index] += step
            minus[name][index] -= step
            reference = (mse(run_program(program, inputs, plus))[0]
                         - mse(run_program(program, inputs, minus))[0]) / (2 * step)
            assert grad[index] == pytest.approx(reference, rel=1e-6, abs=1e-9)


# op, per-sample operand shapes, attrs (every differentiable tensor op)
OP_CASES = [
    *((op, [(3,)], {}) for op in ("relu", "tanh", "sigmoid", "exp", "log", "sin", "cos", "abs",
                                  "neg", "sqrt", "square")),
    ("add", [(2, 3), (3,)], {}), ("sub", [(), (3,)], {}), ("mul", [(3,), (2, 1)], {}),
    ("div", [(3,), ()], {}),
    ("scale", [(3,)], {"factor": 2.5, "offset": -1.0}),
    ("linear", [(3,), (2, 3), (2,)], {}), ("linear", [(5, 3), (2, 3)], {}),
    ("matmul", [(2, 3), (3, 4)], {}),
    ("softmax", [(2, 3)], {"axis": 0}), ("softmax", [(4,)], {}),
    ("layernorm", [(5,)], {"eps": 1e-5}), ("l2normalize", [(4,)], {}),
    ("concat", [(2,), (3,)], {}), ("concat", [(2, 2), (2, 1)], {"axis": 1}),
    ("slice", [(5,)], {"start": 1, "stop": 4}), ("slice", [(2, 4)], {"start": 1, "axis": 1}),
    ("reshape", [(2, 3)], {"shape": (3, 2)}),
    ("transpose", [(2, 3, 4)], {"axes": (2, 0, 1)}),
    ("sum", [(2, 3)], {}), ("sum", [(2, 3)], {"axis": 1}), ("mean", [(2, 3)], {"axis": 0}),
    ("mean", [(4,)], {}),
    ("dequantize", [(3,)], {"scale": 0.5, "zero_point": 2}),
    ("fidelity", [(4,), (4,)], {}),
]


def test_every_differentiable_op_has_a_case():
    assert set(VJPS) == set(TENSOR_OPS)
    assert {case[0] for case in OP_CASES} == set(TENSOR_OPS) - {"quantize"}


@pytest.mark.parametrize("op, shapes, attrs", OP_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(OP_CASES)])
def test_op_vjp_matches_finite_differences(op, shapes, attrs):
    rng = np.random.default_rng(7)
    batch = 3
    operands = {f"o{i}": rng.uniform(0.3, 1.5, (batch,) + s) * rng.choice([-1, 1], (batch,) + s)
                if op not in ("log", "sqrt") else rng.uniform(0.3, 1.5, (batch,) + s)
                for i, s in enumerate(shapes)}
    result = apply_tensor_op(op, list(operands.values()), attrs)
    cotangent = rng.normal(size=result.shape)
    grads = tensor_op_vjp(op, list(operands.values()), attrs, result, cotangent)

    def per_sample_loss(values):
        out = apply_tensor_op(op, list(values.values()), attrs)
        return np.sum((cotangent * out).reshape(batch, -1), axis=1)

    assert_gradients_close(dict(zip(operands, grads)),
                           gradients_by_differences(per_sample_loss, operands, set(operands)))


def test_non_differentiable_paths_and_bad_cotangents_are_reported():
    m = ModelBuilder("sampled")
    x = m.input("x")
    with m.circuit("c", qubits=1, params=[x]) as c:
        c.rx(c.param("x"), 0)
    m.output(m.counts(c(x), shots=10), m.quantize(x, bits=4, scale=0.1))
    program = m.build()
    inputs = {"x": np.array([0.3, 0.4])}
    counts, quantized = program.outputs
    with pytest.raises(QCompileError, match="probs"):
        program_vjp(program, inputs, {}, {counts: np.ones((2, 2))})
    with pytest.raises(QCompileError, match="quantize"):
        program_vjp(program, inputs, {}, {quantized: np.ones(2)})
    with pytest.raises(QCompileError, match="not an output"):
        program_vjp(program, inputs, {}, {"x": np.ones(2)})
    with pytest.raises(QCompileError, match=r"shape \[2\]"):
        program_vjp(program, inputs, {}, {quantized: np.ones(3)})


def frozen_layer_program():
    """Hybrid fusion: a fixed random layer (frozen) and a trainable layer in one circuit,
    and a frozen classical projection next to a trainable head."""
    m = ModelBuilder("fusion")
    x = m.input("x", 2)
    fixed, w = m.weight("fixed", 2, frozen=True), m.weight("w", 2)
    project, head = m.weight("project", 2, 2, frozen=True), m.weight("head", 1, 4)
    with m.circuit("c", qubits=2, params=[x, fixed, w]) as c:
        for k in range(2):
            c.ry(x[k], k)
            c.rx(fixed[k], k)
        c.cx(0, 1)
        for k in range(2):
            c.ry(w[k] * x[k], k)
    quantum = m.expval(c, "Z0", "Z1")
    features = m.concat(quantum, m.linear(x, project))
    m.output(m.linear(features, head, name="y"))
    return m.build()


def test_frozen_weights_get_no_gradient():
    """The outputs depend on the frozen weights (their finite-difference gradients are not
    zero), yet only trainable weights and inputs get gradients, and those are exact."""
    program = frozen_layer_program()
    assert [d.name for d in program.weights if not d.trainable] == ["fixed", "project"]
    rng = np.random.default_rng(5)
    inputs = {"x": rng.uniform(-1, 1, (3, 2))}
    weights = {d.name: rng.uniform(-1, 1, d.shape) for d in program.weights}
    cotangents = {"y": rng.normal(size=(3, 1))}
    input_grads, weight_grads = program_vjp(program, inputs, weights, cotangents)
    ref_inputs, ref_weights = program_reference(program, inputs, weights, cotangents)
    assert_gradients_close(input_grads, ref_inputs)
    assert_gradients_close(weight_grads, {n: ref_weights[n] for n in ("w", "head")})
    assert all(np.abs(ref_weights[n]).max() > 1e-3 for n in ("fixed", "project"))

    def loss(outputs):
        return float(np.sum(cotangents["y"] * outputs["y"])), cotangents
    value, _, grads = value_and_grad(program, inputs, weights, loss)
    assert set(grads) == {"w", "head"}
    assert value == pytest.approx(np.sum(cotangents["y"]
                                         * run_program(program, inputs, weights)["y"]))
