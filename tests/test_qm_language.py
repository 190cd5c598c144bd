"""The .qm language: templates against Qiskit, loop unrolling, lowering, and error locations."""

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import efficient_su2, zz_feature_map
from qiskit.quantum_info import Operator, Statevector

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.frontend.observables import parse_observable
from qcompile.frontend.qm import looks_like_model, parse_model
from qcompile.frontend.templates import apply_template
from qcompile.ir import (Circuit, Condition, Gate, IfElse, Measure, Param, PauliTerm,
                         QCompileError, Register, Reset, Symbol, TensorOp)
from qcompile.ir.expr import evaluate


def template_circuit(name, shapes, options=None, qubits=None, num_qubits=None):
    """A circuit holding one template applied to symbolic tensors of the given shapes."""
    args = [np.array([Symbol(p, i) for i in np.ndindex(*s)] or [Symbol(p)],
                     dtype=object).reshape(s) for p, s in shapes.items()]
    ops = apply_template(name, args, options, qubits)
    n = num_qubits or max(q for op in ops for q in op.qubits) + 1
    params = [Param(p, "input", s) for p, s in shapes.items()]
    return Circuit(name, (Register("q", n),), (), params, ops)


def statevector(circuit, values):
    return Statevector(to_qiskit(circuit, values)).data


@pytest.mark.parametrize("n, reps, entanglement", [(2, 2, "full"), (3, 1, "full"),
                                                   (3, 2, "linear"), (4, 1, "circular")])
def test_zz_feature_map_matches_qiskit(rng, n, reps, entanglement):
    circuit = template_circuit("zz_feature_map", {"x": (n,)},
                               {"reps": reps, "entanglement": entanglement})
    for _ in range(3):
        x = rng.uniform(-np.pi, np.pi, n)
        reference = zz_feature_map(n, reps=reps, entanglement=entanglement)
        reference = reference.assign_parameters(dict(zip(reference.parameters, x)))
        # Same gates (p, not rz) as Qiskit, so the states agree including global phase.
        assert np.allclose(statevector(circuit, {"x": x}), Statevector(reference).data)


@pytest.mark.parametrize("vector", [
    [0.3, -0.1, 0.7, 0.2], [1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, -2.5],
    [0, -1, 0, 0, -2, 0, 0, 3], [-1, 0, -1, 0], [0.0, 1.0],
])
def test_amplitude_embedding_prepares_the_normalized_vector(vector):
    v = np.array(vector, dtype=float)
    circuit = template_circuit("amplitude_embedding", {"x": (len(v),)})
    assert np.allclose(statevector(circuit, {"x": v}), v / np.linalg.norm(v), atol=1e-12)


def test_amplitude_embedding_random_signed_vectors(rng):
    circuit = template_circuit("amplitude_embedding", {"x": (16,)})
    for _ in range(5):
        v = rng.normal(size=16) * (rng.random(16) < 0.7)
        assert np.allclose(statevector(circuit, {"x": v}), v / np.linalg.norm(v), atol=1e-12)


@pytest.mark.parametrize("entanglement", ["linear", "circular", "full"])
def test_hardware_efficient_matches_efficient_su2(rng, entanglement):
    n, layers = 3, 3
    circuit = template_circuit("hardware_efficient", {"theta": (layers, n, 2)},
                               {"entanglement": entanglement})
    theta = rng.uniform(-np.pi, np.pi, (layers, n, 2))
    reference = efficient_su2(n, reps=layers - 1, entanglement=entanglement)
    # Qiskit orders parameters layer by layer: all RY angles, then all RZ angles.
    flat = np.concatenate([np.concatenate([t[:, 0], t[:, 1]]) for t in theta])
    reference = reference.assign_parameters(flat)
    assert np.allclose(Operator(to_qiskit(circuit, {"theta": theta})), Operator(reference))


def test_hardware_efficient_with_cz_matches_hand_built(rng):
    theta = rng.uniform(-np.pi, np.pi, (2, 3, 2))
    circuit = template_circuit("hardware_efficient", {"theta": (2, 3, 2)}, {"entangler": "cz"})
    qc = QuantumCircuit(3)
    for layer in range(2):
        if layer:
            qc.cz(0, 1)
            qc.cz(1, 2)
        for k in range(3):
            qc.ry(theta[layer, k, 0], k)
        for k in range(3):
            qc.rz(theta[layer, k, 1], k)
    assert np.allclose(Operator(to_qiskit(circuit, {"theta": theta})), Operator(qc))


def test_strongly_entangling_matches_hand_built(rng):
    layers, n = 3, 3
    theta = rng.uniform(-np.pi, np.pi, (layers, n, 3))
    circuit = template_circuit("strongly_entangling", {"theta": (layers, n, 3)})
    qc = QuantumCircuit(n)
    for layer in range(layers):
        for k in range(n):
            phi, th, omega = theta[layer, k]
            qc.rz(phi, k)
            qc.ry(th, k)
            qc.rz(omega, k)
        r = layer % (n - 1) + 1
        for k in range(n):
            qc.cx(k, (k + r) % n)
    assert np.allclose(Operator(to_qiskit(circuit, {"theta": theta})), Operator(qc))


def test_qcnn_pool_applies_crz_on_one_and_crx_on_zero(rng):
    t = rng.uniform(-np.pi, np.pi, 2)
    circuit = template_circuit("qcnn_pool", {"theta": (2,)}, qubits=(0, 1))
    qc = QuantumCircuit(2)
    # Controlled on the discarded qubit 1: RZ(t0) when it is 1, RX(t1) when it is 0.
    qc.crz(t[0], 1, 0)
    qc.crx(t[1], 1, 0, ctrl_state=0)
    assert np.allclose(Operator(to_qiskit(circuit, {"theta": t})), Operator(qc))


def test_qcnn_conv_acts_on_even_then_odd_pairs():
    circuit = template_circuit("qcnn_conv", {"theta": (4,)}, qubits=(0, 1, 2, 3))
    pairs = [op.qubits for op in circuit.ops if op.name == "cx"]
    assert pairs == [(0, 1), (2, 3), (1, 2)]


def test_loops_unroll_to_constant_indices_and_angles():
    program = parse_model("""
model loops
input x[3]
circuit c(x) qubits 3 {
  for i in 0..3 { ry((i + 1) * x[i]) q[i] }
  repeat 2 { for i in 0..2 { cx q[i], q[i + 1] } }
  rz(x[2] / 2 - pi) q[0]
}
y = expval(c(x), Z0)
return y
""")
    x = [Symbol("x", (i,)) for i in range(3)]
    ops = program.circuit("c").ops
    assert [(op.name, op.qubits) for op in ops] == [
        ("ry", (0,)), ("ry", (1,)), ("ry", (2,)),
        ("cx", (0, 1)), ("cx", (1, 2)), ("cx", (0, 1)), ("cx", (1, 2)), ("rz", (0,))]
    env = {"x": np.array([0.3, -1.2, 2.0])}
    for k in range(3):
        assert ops[k].params[0] is not None
        assert math.isclose(evaluate(ops[k].params[0], env), (k + 1) * env["x"][k])
        assert ops[k].params[0] == (k + 1) * x[k]
    assert math.isclose(evaluate(ops[-1].params[0], env), 1.0 - math.pi)


def test_gate_definitions_unroll_to_their_bodies():
    """The ring of the language docs, against the gates written out by hand."""
    program = parse_model("""
model ring
input x[4]
weight w[4]
gate block(a, b) q0, q1 { ry(a) q0; cx q0, q1; rz(b) q1 }
circuit c(x, w) qubits 4 { for j in 0..4 { block(w[j], x[j]) q[j], q[(j + 1) % 4] } }
y = expval(c(x, w), Z0)
return y
""")
    expected = []
    for j in range(4):
        expected += [Gate("ry", (j,), (Symbol("w", (j,)),)), Gate("cx", (j, (j + 1) % 4)),
                     Gate("rz", ((j + 1) % 4,), (Symbol("x", (j,)),))]
    assert list(program.circuit("c").ops) == expected


def test_nested_gate_definitions_match_qiskit(rng):
    """Gates using gates and templates, applied to whole registers and permuted qubits, with
    tensor and computed arguments."""
    program = parse_model("""
model nested
input x[3]
weight w[2, 3]
gate rot3(t) a { rz(t[0]) a; ry(t[1]) a; rz(t[2]) a }
gate entangle(t, s) a, b, c {
  rot3(t) a
  crx(2 * s - 1) a, b
  angle_embedding([s, s ** 2], rotation=rx) b, c
  rot3([s, t[0] + t[1], cos(t[2])]) c
  barrier
}
circuit c(x, w) qubits 3 {
  h q
  rot3(x) q                     # a one-qubit gate on every qubit
  entangle(w[0], x[1]) q[2], q[0], q[1]
  entangle(w[1], w[0, 2]) q[0], q[1], q[2]
}
y = probs(c(x, w))
return y
""")

    def rot3(qc, t, a):
        qc.rz(t[0], a)
        qc.ry(t[1], a)
        qc.rz(t[2], a)

    def entangle(qc, t, s, a, b, c):
        rot3(qc, t, a)
        qc.crx(2 * s - 1, a, b)
        qc.rx(s, b)
        qc.rx(s ** 2, c)
        rot3(qc, [s, t[0] + t[1], np.cos(t[2])], c)

    for _ in range(3):
        x, w = rng.uniform(-np.pi, np.pi, 3), rng.uniform(-np.pi, np.pi, (2, 3))
        reference = QuantumCircuit(3)
        reference.h(range(3))
        for q in range(3):
            rot3(reference, x, q)
        entangle(reference, w[0], x[1], 2, 0, 1)
        entangle(reference, w[1], w[0, 2], 0, 1, 2)
        assert np.allclose(statevector(program.circuit("c"), {"x": x, "w": w}),
                           Statevector(reference).data)


def test_functions_and_powers_evaluate_like_numpy():
    program = parse_model("""
model f
input x[2]
circuit c(x) qubits 1 {
  ry(sin(x[0]) ** 2 + arctan(x[1]) * sqrt(2) - exp(-x[0]) / log(3)) q[0]
}
y = expval(c(x), Z0)
return y
""")
    (gate,) = program.circuit("c").ops
    a, b = 0.7, -0.4
    expected = np.sin(a) ** 2 + np.arctan(b) * np.sqrt(2) - np.exp(-a) / np.log(3)
    assert math.isclose(evaluate(gate.params[0], {"x": np.array([a, b])}), expected)


def test_dynamic_circuit_statements():
    program = parse_model("""
model dyn
input x
circuit c(x) qubits 2 bits 2 {
  h q
  measure q -> c
  if (c[1] == 0) { rx(x) q[0] } else { reset q[1] }
  if (c == 2) { z q[0] }
  barrier
}
y = probs(c(x), 1)
return y
""")
    ops = program.circuit("c").ops
    assert ops[:4] == (Gate("h", (0,)), Gate("h", (1,)), Measure(0, 0), Measure(1, 1))
    assert ops[4] == IfElse(Condition((1,), 0), (Gate("rx", (0,), (Symbol("x"),)),),
                            (Reset(1),))
    assert ops[5] == IfElse(Condition((0, 1), 2), (Gate("z", (0,)),))


def test_observables_parse_to_pauli_sums():
    obs = parse_observable("Z0 Z1 + 0.5 * X0 - 2 Y2 X1")
    assert obs.terms == (PauliTerm(1.0, ((0, "Z"), (1, "Z"))), PauliTerm(0.5, ((0, "X"),)),
                         PauliTerm(-2.0, ((1, "X"), (2, "Y"))))
    assert parse_observable("-Z3").terms == (PauliTerm(-1.0, ((3, "Z"),)),)


def test_dataflow_statements_lower_to_tensor_ops():
    program = parse_model("""
model flow
input x[4]
weight W[2, 3]
weight bias[2]
circuit enc(h[3]) qubits 3 { angle_embedding(h) }
h = tanh(slice(x, 0, 3))
e = expval(enc(h), Z0, Z1, Z2)
z = 2 * linear(e, W, bias) + 1
p = softmax(concat(z, slice(x, 3, 4)), axis=0)
return p, z
""")
    ops = {s.result: s for s in program.body if isinstance(s, TensorOp)}
    assert ops["h"].op == "tanh"
    assert ops["z"] == TensorOp("z", "scale", (ops["z"].operands[0],), (("offset", 1.0),))
    assert ops[ops["z"].operands[0]].attr_dict == {"factor": 2.0}
    assert ops["p"].attr_dict == {"axis": 0}
    assert program.outputs == ("p", "z")
    # A circuit parameter bound to an intermediate value is data.
    assert program.circuit("enc").params == (Param("h", "input", (3,)),)


def test_parameter_roles_follow_bindings():
    program = parse_model("""
model roles
input x[2]
weight w[2]
circuit c(a[2], b[2]) qubits 2 { angle_embedding(a); angle_embedding(b, rotation=rz) }
y = expval(c(x, w), Z0)
return y
""")
    assert [(p.name, p.role) for p in program.circuit("c").params] == [
        ("a", "input"), ("b", "weight")]


def test_looks_like_model():
    assert looks_like_model("# comment\n\nmodel zz_vqc\ninput x[2]\n")
    assert looks_like_model("model m; input x")
    assert not looks_like_model("OPENQASM 3.0;\nqubit q;")
    assert not looks_like_model("input x\nmodel m")


HEADER = "model m\ninput x[2]\nweight w[3]\n"
ERRORS = [
    # (body, line, column, message fragment)
    ("circuit c(x) qubits 2 {\n  ry(x[0]) q[0\n}\n", 5, 15, "syntax error"),
    ("circuit c(x) qubits 2 {\n  foo(x[0]) q[0]\n}\n", 5, 3, "unknown gate or template 'foo'"),
    ("circuit c(x) qubits 2 {\n  ry(x[0], x[1]) q[0]\n}\n", 5, 3, "takes 1 parameter"),
    ("circuit c(x) qubits 2 {\n  cx q[0]\n}\n", 5, 3, "acts on 2 qubit"),
    ("circuit c(x) qubits 2 {\n  ry(x[2]) q[0]\n}\n", 5, 6, "out of range"),
    ("circuit c(x) qubits 2 {\n  ry(x[0]) q[5]\n}\n", 5, 14, "qubit index 5 is out of range"),
    ("circuit c(x) qubits 2 {\n  ry(v[0]) q[0]\n}\n", 5, 6, "'v' is not defined"),
    ("circuit c(x) qubits 2 {\n  ry(w[0]) q[0]\n}\n", 5, 6, "not a parameter of this circuit"),
    ("circuit c(x) qubits 2 {\n  ry(x) q[0]\n}\n", 5, 3, "needs a scalar angle"),
    ("circuit c(x) qubits 2 {\n  zz_feature_map(x, depth=2)\n}\n", 5, 3, "no option 'depth'"),
    ("circuit c(x) qubits 1 {\n  zz_feature_map(x)\n}\n", 5, 3, "needs 2 qubits"),
    ("circuit c(x) qubits 2 {\n  h q[0]\n}\ny = expval(c(w), Z0)\nreturn y\n", 7, 12,
     "expects [2]"),
    ("circuit c(x) qubits 2 {\n  h q[0]\n}\ny = expval(c(x), Z3)\nreturn y\n", 7, 5,
     "observable acts on qubit 3"),
    ("circuit c(x) qubits 2 {\n  h q[0]\n}\ny = expval(c(x, w), Z0)\nreturn y\n", 7, 12,
     "takes 1 argument"),
    ("y = linear(x, w)\nreturn y\n", 4, 5, "linear: weight operand must be a matrix"),
    ("y = softmx(x)\nreturn y\n", 4, 5, "did you mean 'softmax'"),
    ("y = tanh(z)\nreturn y\n", 4, 10, "'z' is not defined"),
    ("y = tanh(x)\n", 1, 1, "no return statement"),
    ("y = tanh(x)\ny = relu(x)\nreturn y\n", 5, 1, "'y' is already defined"),
    ("input x[3]\n", 4, 1, "'x' is already defined"),
    ("circuit c(x) qubits 2 {\n  ry(x[0] % 2) q[0]\n}\n", 5, 6,
     "'%' needs numbers known at compile time"),
    # gate definitions
    ("gate g(a) u, v { ry(a) u; cx u, v }\ncircuit c(x) qubits 2 {\n  g(x[0]) q[0]\n}\n", 6, 11,
     "gate 'g' acts on 2 qubit(s), got 1"),
    ("gate g(a) u { ry(a) u }\ncircuit c(x) qubits 2 {\n  g(x[0], x[1]) q[0]\n}\n", 6, 3,
     "gate 'g' takes 1 positional parameter(s), got 2"),
    ("gate g(a) u, v { cx u, v }\ncircuit c(x) qubits 2 {\n  g(x[0]) q[1], q[1]\n}\n", 6, 11,
     "qubit q[1] is given twice"),
    ("gate g(a) u { ry(a) v }\n", 4, 21, "'v' is not a qubit of gate 'g' (its qubits are u)"),
    ("gate g(a) u { ry(a) q[0] }\n", 4, 21, "'q' is not a qubit of gate 'g'"),
    ("gate g u { x u; g u }\n", 4, 17, "cannot be recursive"),
    ("gate g u { k u }\ngate k u { g u }\n", 4, 12, "gates defined above it"),
    ("gate g u { measure u -> c[0] }\n", 4, 12, "only unitary operations"),
    ("gate rx u { x u }\n", 4, 6, "'rx' is a built-in gate"),
    ("gate g(t) u { ry(t[5]) u }\ncircuit c(w) qubits 1 {\n  g(w) q[0]\n}\n", 4, 18,
     "index 5 is out of range for axis 0 of 't' (size 3) (in gate 'g' applied at bad.qm:6:3)"),
    ("gate g u { ry(x[0]) u }\ncircuit c(x) qubits 1 {\n  g q[0]\n}\n", 4, 15,
     "'x' is not a parameter of gate 'g'; pass it to the gate as an argument"),
]


@pytest.mark.parametrize("body, line, column, fragment", ERRORS)
def test_errors_point_at_the_mistake(body, line, column, fragment):
    with pytest.raises(QCompileError) as info:
        parse_model(HEADER + body, filename="bad.qm")
    err = info.value
    assert fragment in err.message
    assert (err.location.file, err.location.line, err.location.column) == ("bad.qm", line,
                                                                            column)
    source_line = (HEADER + body).splitlines()[line - 1]
    text = str(err)
    assert text.startswith(f"bad.qm:{line}:{column}: ")
    assert text.endswith(f"    {source_line}\n    {' ' * (column - 1)}^")


def test_syntax_error_at_end_of_input():
    with pytest.raises(QCompileError) as info:
        parse_model("model m\ncircuit c() qubits 1 {\n  h q[0]\n")
    assert "end of input" in info.value.message
    assert info.value.location.line == 3
