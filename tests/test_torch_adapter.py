"""QuantumModule: torch autograd through qcompile's batched forward and adjoint VJP."""

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from qcompile.adapters.torch import QuantumModule, _key  # noqa: E402
from qcompile.frontend.qm import parse_model  # noqa: E402
from qcompile.models import load_model  # noqa: E402

# The same 2-qubit circuit as `_pennylane_circuit` below.
CHECK_QM = """
model pl_check
input x[2]
weight theta[2, 2]
circuit c(x, theta) qubits 2 {
  ry(x[0]) q[0]; ry(x[1]) q[1]
  cx q[0], q[1]
  rx(theta[0, 0]) q[0]; ry(theta[0, 1]) q[1]
  crz(theta[1, 0] * x[0]) q[0], q[1]
  rz(theta[1, 1]) q[1]; h q[0]
}
z = expval(c(x, theta), Z0, Z1, Z0 Z1)
return z
"""

FROZEN_QM = """
model reservoir
input x[2]
weight r[2, 2] frozen
weight theta[2]
circuit c(x, r, theta) qubits 2 {
  ry(x[0]) q[0]; ry(x[1]) q[1]
  rx(r[0, 0]) q[0]; rx(r[0, 1]) q[1]; cx q[0], q[1]; rz(r[1, 0]) q[1]; ry(r[1, 1]) q[0]
  ry(theta[0]) q[0]; ry(theta[1]) q[1]
}
z = expval(c(x, r, theta), Z0, Z1)
return z
"""


def _gradients(module, *inputs):
    """d(Σ g · output)/d(inputs, trainable weights) for a fixed random cotangent g."""
    inputs = [x.detach().clone().requires_grad_() for x in inputs]
    module.zero_grad()
    out = module(*inputs)
    g = torch.as_tensor(np.random.default_rng(1).normal(size=out.shape), dtype=out.dtype)
    (out * g).sum().backward()
    return out, [x.grad for x in inputs], {n: p.grad for n, p in module.named_parameters()}


def _batch(program, size=3, seed=0):
    rng = np.random.default_rng(seed)
    return [torch.as_tensor(rng.uniform(-1, 1, (size, *d.shape))) for d in program.inputs]


@pytest.mark.parametrize("name", ["zz-vqc", "dressed-circuit", "qkan-layer", "qrnn-cell",
                                  "zz-kernel", "qksan"])
def test_gradients_match_finite_differences(name):
    module = QuantumModule(load_model(name), seed=0)
    names, params = zip(*module.named_parameters()) if list(module.parameters()) else ((), ())

    n = len(module.program.inputs)

    def call(*tensors):
        inputs, weights = tensors[:n], tensors[n:]
        return torch.func.functional_call(module, dict(zip(names, weights)), inputs)

    tensors = [t.requires_grad_() for t in _batch(module.program)]
    tensors += [p.detach().clone().requires_grad_() for p in params]
    assert torch.autograd.gradcheck(call, tensors, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_sequential_with_torch_layers_trains_with_adam():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2, dtype=torch.float64),
                                QuantumModule(load_model("zz-vqc"), seed=0),
                                torch.nn.Linear(1, 1, dtype=torch.float64))
    x = torch.randn(16, 3, dtype=torch.float64)
    y = torch.sin(x.sum(dim=1, keepdim=True))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_float32_matches_float64():
    program = load_model("dressed-circuit")
    x = _batch(program)[0]
    out64, (dx64,), dw64 = _gradients(QuantumModule(program, seed=0), x)
    module = QuantumModule(program, seed=0, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in module.parameters())
    out32, (dx32,), dw32 = _gradients(module, x.float())
    assert out32.dtype == dx32.dtype == torch.float32
    np.testing.assert_allclose(out32.detach().numpy(), out64.detach().numpy(), atol=1e-4)
    np.testing.assert_allclose(dx32.numpy(), dx64.numpy(), atol=1e-4)
    for name, grad in dw64.items():
        assert dw32[name].dtype == torch.float32 and torch.isfinite(dw32[name]).all()
        np.testing.assert_allclose(dw32[name].numpy(), grad.numpy(), atol=1e-4, err_msg=name)
    assert module.double()(x).dtype == torch.float64  # the dtype follows .to()


def test_frozen_weights_are_buffers():
    program = parse_model(FROZEN_QM)
    weights = {"r": np.arange(4.0).reshape(2, 2) / 4, "theta": np.array([0.3, -0.2])}
    module = QuantumModule(program, weights=weights)
    assert [n for n, _ in module.named_parameters()] == ["weights.theta"]
    assert [n for n, _ in module.named_buffers()] == ["frozen.r"]
    assert sum(p.numel() for p in module.parameters()) == sum(
        int(np.prod(d.shape)) for d in program.weights if d.trainable)
    np.testing.assert_array_equal(module.state_dict()["frozen.r"].numpy(), weights["r"])
    _, (dx,), dw = _gradients(module, *_batch(program))
    assert set(dw) == {"weights.theta"} and dx.shape == (3, 2)
    zoo = QuantumModule(load_model("dressed-circuit"))
    assert sum(p.numel() for p in zoo.parameters()) == 32 + 4 + 12 + 8 + 2


def test_parameter_names_are_sanitised():
    holder = torch.nn.ParameterDict({"a_b": torch.zeros(1), "a_b_1": torch.zeros(1)})
    assert _key("layer.0", holder) == "layer_0"
    assert _key("0w", holder) == "_0w"
    assert _key("a.b", holder) == "a_b_2"
    assert _key("training", holder) == "training_1"
    program = parse_model(re.sub(r"\br\b", "training", FROZEN_QM.replace("theta", "keys")))
    module = QuantumModule(program, seed=0)
    assert module.weight_keys == {"training": "training_1", "keys": "keys_1"}
    assert module(torch.zeros(2, 2)).shape == (2, 2)


def test_several_inputs_positional_or_columns():
    module = QuantumModule(load_model("qksan"), seed=0)
    query, key, v = _batch(module.program, size=4)
    positional = module(query, key, v)
    columns = module(torch.cat([query, key, v], dim=1))
    assert positional.shape == (4, 2)
    torch.testing.assert_close(positional, columns)


def test_bad_shapes_name_the_expected_ones():
    with pytest.raises(ValueError, match=r"x\[B, 2\].*got shapes \[4, 3\]"):
        QuantumModule(load_model("zz-vqc"), seed=0)(torch.zeros(4, 3))
    qksan = QuantumModule(load_model("qksan"), seed=0)
    with pytest.raises(ValueError, match=r"query\[B, 2\], key\[B, 2\], v\[B, 2\] "
                                         r"\(or one tensor \[B, 6\]\)"):
        qksan(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="takes inputs"):  # batches disagree
        qksan(torch.zeros(4, 2), torch.zeros(4, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="not an output"):
        QuantumModule(load_model("zz-vqc"), output="nope")


def test_statevector_output_is_refused():
    program = parse_model("model s\ninput x\ncircuit c(x) qubits 1 { ry(x) q[0] }\n"
                          "psi = state(c(x))\nreturn psi")
    with pytest.raises(TypeError, match="complex statevector"):
        QuantumModule(program)(torch.zeros(2))


def _pennylane_circuit(qml):
    dev = qml.device("default.qubit", wires=2)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(x, theta):
        qml.RY(x[..., 0], wires=0)
        qml.RY(x[..., 1], wires=1)
        qml.CNOT(wires=[0, 1])
        qml.RX(theta[0, 0], wires=0)
        qml.RY(theta[0, 1], wires=1)
        qml.CRZ(theta[1, 0] * x[..., 0], wires=[0, 1])
        qml.RZ(theta[1, 1], wires=1)
        qml.Hadamard(wires=0)
        return (qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliZ(1)),
                qml.expval(qml.PauliZ(0) @ qml.PauliZ(1)))

    return circuit


def test_matches_pennylane():
    qml = pytest.importorskip("pennylane")
    program = parse_model(CHECK_QM)
    theta = np.random.default_rng(2).uniform(-np.pi, np.pi, (2, 2))
    module = QuantumModule(program, weights={"theta": theta})
    x = _batch(program, size=5)[0]
    out, (dx,), dw = _gradients(module, x)

    xp = x.clone().requires_grad_()
    thetap = torch.tensor(theta, requires_grad=True)
    expected = torch.stack(_pennylane_circuit(qml)(xp, thetap), dim=1)
    g = torch.as_tensor(np.random.default_rng(1).normal(size=expected.shape))
    (expected * g).sum().backward()
    torch.testing.assert_close(out, expected.detach(), atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(dx, xp.grad, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(dw["weights.theta"], thetap.grad, atol=1e-10, rtol=1e-10)
