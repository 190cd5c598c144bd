"""Issue 16: ``inv @``, ``pow(k) @`` and ``ctrl(n) @`` in the model language (and the
builder's ``inverse()``, ``power()``, ``controlled()``), against Qiskit's ``control`` and the
matrix inverse and power of the same gates — operators equal exactly, global phase
included, symbolic angles bound; and the tensor-network templates (MPS, TTN)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping
from qiskit.quantum_info import Operator

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.frontend.qm import parse_model
from qcompile.ir import GATES, QCompileError

QISKIT = get_standard_gate_name_mapping()
NAMES = sorted(n for n in set(QISKIT) & set(GATES) if n not in ("id",))
MODIFIERS = ["inv", "pow(2)", "pow(-3)", "ctrl", "ctrl(2)", "inv @ ctrl", "ctrl @ pow(2)",
             "ctrl @ inv"]


def _reference(name: str, angles, modifiers: str, width: int) -> QuantumCircuit:
    """Inverse and power by the matrix (Qiskit's ``inverse`` of a controlled ``cu`` drops a
    phase), control by Qiskit's ``control``."""
    gate = QISKIT[name].base_class(*angles) if angles else QISKIT[name]
    for modifier in reversed(modifiers.split(" @ ")):
        if modifier == "inv":
            gate = UnitaryGate(Operator(gate).data.conj().T)
        elif modifier.startswith("pow"):
            gate = UnitaryGate(np.linalg.matrix_power(Operator(gate).data,
                                                      int(modifier[4:-1])))
        else:
            gate = gate.control(int(modifier[5:-1]) if "(" in modifier else 1,
                                annotated=False)
    qc = QuantumCircuit(width)
    qc.append(gate, range(gate.num_qubits))
    return qc


@pytest.mark.parametrize("modifiers", MODIFIERS)
def test_modified_gates_equal_qiskit(modifiers):
    rng = np.random.default_rng(len(modifiers))
    for name in NAMES:
        spec = GATES[name]
        controls = sum(int(m[5:-1]) if "(" in m else 1 for m in modifiers.split(" @ ")
                       if m.startswith("ctrl"))
        width = spec.num_qubits + controls
        angles = rng.uniform(-3, 3, spec.num_params)
        args = f"({', '.join(f'x[{k}]' for k in range(spec.num_params))})" \
            if spec.num_params else ""
        qubits = ", ".join(f"q[{k}]" for k in range(width))
        text = (f"model m\ninput x[{max(spec.num_params, 1)}]\n"
                f"circuit c(x) qubits {width} {{\n  {modifiers} @ {name}{args} {qubits}\n}}\n"
                f"out = expval(c(x), Z0)\nreturn out\n")
        circuit = parse_model(text).circuits[0]
        values = {"x": np.resize(angles, max(spec.num_params, 1))}
        ours = Operator(to_qiskit(circuit, values)).data
        expected = Operator(_reference(name, list(angles), modifiers, width)).data
        np.testing.assert_allclose(ours, expected, atol=1e-9, err_msg=f"{modifiers} {name}")


def test_modifiers_on_gate_definitions_and_registers():
    text = """model m
input x[2]
gate blk(a) p, r {
  ry(a) p
  cx p, r
  rz(a * 2) r
}
circuit c(x) qubits 3 {
  h q[0]
  inv @ blk(x[0]) q[0], q[1]
  ctrl @ blk(x[1]) q[2], q[0], q[1]
  pow(2) @ inv @ blk(x[1]) q[1], q[2]
}
out = expval(c(x), Z0)
return out
"""
    x = np.array([0.7, -1.3])
    circuit = parse_model(text).circuits[0]

    def block(a):
        qc = QuantumCircuit(2)
        qc.ry(a, 0)
        qc.cx(0, 1)
        qc.rz(2 * a, 1)
        return qc.to_gate()

    qc = QuantumCircuit(3)
    qc.h(0)
    qc.append(block(x[0]).inverse(), [0, 1])
    qc.append(block(x[1]).control(1, annotated=False), [2, 0, 1])
    qc.append(block(x[1]).inverse().power(2), [1, 2])
    np.testing.assert_allclose(Operator(to_qiskit(circuit, {"x": x})).data, Operator(qc).data,
                               atol=1e-9)


@pytest.mark.parametrize("body, message", [
    ("ctrl @ h q[0]", "ctrl(1) takes its 1 control qubit(s) from the front"),
    ("ctrl @ cx q[0], q[0], q[1]", "acts on the control qubit q[0]"),
    ("ctrl(2) @ x q[1], q[1], q[0]", "qubit 1 is used twice in one operation"),
    ("pow(1.5) @ h q[0]", "expected an integer known at compile time"),
    ("pow(100000) @ h q[0]", "more than 10000 times"),
])
def test_bad_modifiers_are_located_errors(body, message):
    text = f"model m\ncircuit c() qubits 3 {{\n  {body}\n}}\nout = probs(c())\nreturn out\n"
    with pytest.raises(QCompileError, match=re.escape(message)) as err:
        parse_model(text, "bad.qm")
    assert "bad.qm:3:" in str(err.value)


def test_builder_modifiers_refuse_what_has_no_inverse_or_control():
    from qcompile.frontend.builder import ModelBuilder

    circuit = ModelBuilder("m").circuit("c", qubits=2, bits=1)
    with pytest.raises(QCompileError, match="a measure has no inverse"):
        with circuit.inverse():
            circuit.measure(0, 0)
    with pytest.raises(QCompileError, match="ctrl can only control gates, not a reset"):
        with circuit.controlled(1):
            circuit.reset(0)


@pytest.mark.parametrize("template, n", [("mps", 5), ("ttn", 8), ("ttn", 4)])
def test_tensor_network_templates_equal_their_qiskit_circuits(template, n):
    """An MPS is a ladder of ry-ry-cx blocks; a TTN pairs (0,1), (2,3), ... then the right
    qubits of the pairs, level by level (written here by hand in Qiskit)."""
    theta = np.random.default_rng(n).uniform(-3, 3, (n - 1, 2))
    text = (f"model m\nweight theta[{n - 1}, 2]\ncircuit c(theta) qubits {n} {{\n"
            f"  {template}(theta)\n}}\nout = expval(c(theta), Z{n - 1})\nreturn out\n")
    circuit = parse_model(text).circuits[0]
    qc, blocks = QuantumCircuit(n), []
    if template == "mps":
        blocks = [(k, k + 1) for k in range(n - 1)]
    else:
        level = list(range(n))
        while len(level) > 1:
            blocks += list(zip(level[0::2], level[1::2]))
            level = level[1::2]
    for (a, b), (t0, t1) in zip(blocks, theta):
        qc.ry(t0, a)
        qc.ry(t1, b)
        qc.cx(a, b)
    np.testing.assert_allclose(Operator(to_qiskit(circuit, {"theta": theta})).data,
                               Operator(qc).data, atol=1e-9)


def test_tensor_network_templates_check_their_shapes():
    for template, n, message in (("ttn", 6, "needs a power of two qubits, got 6"),
                                 ("mps", 4, r"theta must have shape \[blocks, 2\]")):
        width = 3 if template == "mps" else n - 1
        text = (f"model m\nweight theta[{width}, {3 if template == 'mps' else 2}]\n"
                f"circuit c(theta) qubits {n} {{\n  {template}(theta)\n}}\n"
                f"out = expval(c(theta), Z0)\nreturn out\n")
        with pytest.raises(QCompileError, match=message):
            parse_model(text)
