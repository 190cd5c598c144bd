"""The Python builder produces the same IR as the .qm files, with the same checks."""

import numpy as np
import pytest

from qcompile.frontend.builder import ModelBuilder, X, Y, Z, as_observable
from qcompile.frontend.qm import parse_model
from qcompile.ir import (Condition, Gate, IfElse, Measure, PauliTerm, QCompileError, Symbol,
                         verify_program)
from qcompile.models import load_model


def zz_vqc():
    m = ModelBuilder("zz_vqc")
    x = m.input("x", 2)
    theta = m.weight("theta", 2, 2, 2)
    with m.circuit("classifier", qubits=2, params=[x, theta]) as c:
        c.zz_feature_map(x, reps=2)
        for layer in range(2):
            for i in range(2):
                c.ry(theta[layer, i, 0], i)
                c.rz(theta[layer, i, 1], i)
            c.cz(0, 1)
    parity = m.expval(c, Z(0) @ Z(1), name="parity")
    m.output(m.scale(parity, factor=0.5, offset=0.5, name="p"))
    return m.build()


def daruan():
    m = ModelBuilder("daruan")
    x, w, b = m.input("x"), m.weight("w", 4), m.weight("b", 4)
    theta = m.weight("theta", 5, 3)
    with m.circuit("activation", qubits=1, params=[x, w, b, theta]) as c:
        c.reupload(x, w, b, theta)
    m.output(m.expval(c(x, w, b, theta), "Z0", name="phi"))
    return m.build()


def zz_kernel():
    m = ModelBuilder("zz_kernel")
    x1, x2 = m.input("x1", 2), m.input("x2", 2)
    with m.circuit("feature_map", qubits=2, params=[("v", (2,))]) as c:
        c.zz_feature_map(c.param("v"), reps=2)
    m.output(m.fidelity(m.state(c(x1)), m.state(c(x2)), name="k"))
    return m.build()


@pytest.mark.parametrize("name, build", [("zz-vqc", zz_vqc), ("daruan", daruan),
                                         ("zz-kernel", zz_kernel)])
def test_builder_equals_zoo_file(name, build):
    assert build() == load_model(name)


def test_roles_follow_bindings():
    program = zz_vqc()
    assert [(p.name, p.role) for p in program.circuit("classifier").params] == [
        ("x", "input"), ("theta", "weight")]


def test_observable_algebra_matches_text():
    built = 0.5 * Z(0) @ Z(1) - X(2) + Y(1)
    assert built.terms == as_observable("0.5 Z0 Z1 - X2 + Y1").terms
    assert built.terms[1] == PauliTerm(-1.0, ((2, "X"),))
    with pytest.raises(QCompileError, match="twice on qubit 0"):
        Z(0) @ X(0)


def test_conditional_blocks():
    m = ModelBuilder()
    w = m.weight("w")
    with m.circuit("c", qubits=2, bits=1, params=[w]) as c:
        c.h(0)
        c.measure(0, 0)
        with c.if_test(0, 1):
            c.rx(w[()] * 2.0, 1)
        with c.else_():
            c.x(1)
    m.output(m.probs(c))
    ops = m.build().circuit("c").ops
    assert ops[1] == Measure(0, 0)
    assert ops[2] == IfElse(Condition((0,), 1), (Gate("rx", (1,), (Symbol("w") * 2.0,)),),
                            (Gate("x", (1,)),))


def test_value_arithmetic_builds_tensor_ops():
    m = ModelBuilder()
    a, b = m.input("a", 3), m.weight("b", 3)
    m.output(2.0 * (a + b) - 1.0)
    program = m.build()
    verify_program(program)
    assert [s.op for s in program.body] == ["add", "scale", "scale"]
    assert program.body[2].attr_dict == {"offset": -1.0}


@pytest.mark.parametrize("action, fragment", [
    (lambda m, c, x: c.gate("foo", (0,)), "unknown gate 'foo'"),
    (lambda m, c, x: c.ry(x[0], 3), "qubit 3 is out of range"),
    (lambda m, c, x: c.cx(0, 0), "used twice"),
    (lambda m, c, x: c.ry(Symbol("z", (0,)), 0), "'z' is not a parameter"),
    (lambda m, c, x: c.ry(x, 0), "needs a scalar angle"),
    (lambda m, c, x: x[5], "out of range"),
    (lambda m, c, x: c.zz_feature_map(x, reps=0), "positive integer"),
    (lambda m, c, x: c.angle_embedding(x, rotation="rq"), "one of rx, ry, rz"),
    (lambda m, c, x: m.expval(c(m.weight("w", 3)), "Z0"), "expects [2]"),
    (lambda m, c, x: m.expval(c, "Z2"), "qubit 2"),
    (lambda m, c, x: m.linear(x, x), "weight operand must be a matrix"),
    (lambda m, c, x: m.input("x", 1), "already defined"),
    (lambda m, c, x: m.counts(c, shots=0), "positive integer"),
])
def test_mistakes_raise_qcompile_errors(action, fragment):
    m = ModelBuilder()
    x = m.input("x", 2)
    c = m.circuit("c", qubits=2, params=[x])
    with pytest.raises(QCompileError) as info:
        action(m, c, x)
    assert fragment in info.value.message


def test_conflicting_roles_are_rejected():
    m = ModelBuilder()
    x, w = m.input("x", 2), m.weight("w", 2)
    c = m.circuit("c", qubits=2, params=[("a", (2,))])
    c.angle_embedding(c.param("a"))
    m.expval(c(x), "Z0")
    with pytest.raises(QCompileError, match="bound to a weight here but to data"):
        m.expval(c(w), "Z0")


def test_language_and_builder_agree_on_a_dynamic_circuit():
    text = """
model dyn
input x[2]
circuit c(x) qubits 2 bits 1 {
  angle_embedding(x, rotation=rx)
  measure q[0] -> c[0]
  if (c[0]) { ry(x[1] * x[0]) q[1] }
}
y = probs(c(x), 1)
return y
"""
    m = ModelBuilder("dyn")
    x = m.input("x", 2)
    with m.circuit("c", qubits=2, bits=1, params=[x]) as c:
        c.angle_embedding(x, rotation="rx")
        c.measure(0, 0)
        with c.if_test(0):
            c.ry(x[1] * x[0], 1)
    m.output(m.probs(c, 1, name="y"))
    assert m.build() == parse_model(text)


def test_value_indexing_gives_symbols():
    m = ModelBuilder()
    t = m.weight("t", 2, 3)
    assert t[1, 2] == Symbol("t", (1, 2))
    row = t[1]
    assert isinstance(row, np.ndarray) and list(row) == [Symbol("t", (1, k)) for k in range(3)]


def test_language_and_builder_agree_on_frozen_weights():
    """A reservoir: a frozen random layer, then a trainable one; ``frozen`` is still a valid
    name elsewhere."""
    text = """
model reservoir
input x[2]
weight fixed[2, 2] frozen
weight w[2]
weight frozen frozen
circuit c(x, fixed, w, frozen) qubits 2 {
  for k in 0..2 { ry(x[k]) q[k]; rx(fixed[0, k]) q[k]; rz(fixed[1, k] * frozen) q[k] }
  cx q[0], q[1]
  for k in 0..2 { ry(w[k]) q[k] }
}
y = expval(c(x, fixed, w, frozen), Z0 Z1)
return y
"""
    m = ModelBuilder("reservoir")
    x = m.input("x", 2)
    fixed, w = m.weight("fixed", 2, 2, frozen=True), m.weight("w", 2)
    scale = m.weight("frozen", frozen=True)
    with m.circuit("c", qubits=2, params=[x, fixed, w, scale]) as c:
        for k in range(2):
            c.ry(x[k], k)
            c.rx(fixed[0, k], k)
            c.rz(fixed[1, k] * scale[()], k)
        c.cx(0, 1)
        for k in range(2):
            c.ry(w[k], k)
    m.output(m.expval(c, "Z0 Z1", name="y"))
    program = m.build()
    assert program == parse_model(text)
    assert [(d.name, d.trainable) for d in program.weights] == [
        ("fixed", False), ("w", True), ("frozen", False)]
    # a frozen weight is still a weight for binding
    assert [p.role for p in program.circuit("c").params] == ["input", "weight", "weight",
                                                             "weight"]


def test_a_python_function_is_the_builders_gate_definition():
    """``gate`` in the language is inlined like calling a Python function in the builder."""
    text = """
model ring
input x[4]
weight w[4]
gate block(a, b) q0, q1 { ry(a) q0; cx q0, q1; rz(b) q1 }
gate twice(t) u, v { block(t[0], 2 * t[1]) u, v; block(t[1], t[0]) v, u }
circuit c(x, w) qubits 4 {
  for j in 0..4 { block(w[j], x[j]) q[j], q[(j + 1) % 4] }
  twice(x) q[3], q[0]
}
y = expval(c(x, w), Z0)
return y
"""

    def block(c, a, b, q0, q1):
        c.ry(a, q0)
        c.cx(q0, q1)
        c.rz(b, q1)

    def twice(c, t, u, v):
        block(c, t[0], 2 * t[1], u, v)
        block(c, t[1], t[0], v, u)

    m = ModelBuilder("ring")
    x, w = m.input("x", 4), m.weight("w", 4)
    with m.circuit("c", qubits=4, params=[x, w]) as c:
        for j in range(4):
            block(c, w[j], x[j], j, (j + 1) % 4)
        twice(c, x, 3, 0)
    m.output(m.expval(c, "Z0", name="y"))
    assert m.build() == parse_model(text)
