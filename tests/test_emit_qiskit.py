"""OpenQASM 3 for Qiskit's importer, which reads no function calls or ``**`` in gate angles.

With ``hoist_functions`` (``qcompile compile --emit qasm3-qiskit``) every zoo circuit loads
in ``qiskit.qasm3.loads`` and, bound with the same batch of inputs (the hoisted angles
computed by ``evaluate`` from ``hoisted_angles``), has qcompile's simulated statevector; the
comments in the text record each hoisted expression faithfully. Without it, a text Qiskit
cannot read says so in its own comment. (Dynamic circuits have no statevector; their
outcome distributions are compared in tests/test_zoo_qasm.py.)"""

import math
import re

import numpy as np
import pytest
import qiskit.qasm3
from qiskit.qasm3 import QASM3ImporterError
from qiskit.quantum_info import Statevector

from qcompile.backends.names import parameter_name
from qcompile.backends.qasm3 import emit_qasm3, hoisted_angles
from qcompile.backends.statevector import simulate
from qcompile.cli import main
from qcompile.ir import (Circuit, Gate, IfElse, Measure, Param, Register, Reset, State, Symbol,
                         Unary)
from qcompile.ir.expr import UNARY_FUNCTIONS, evaluate
from qcompile.ir.ops import walk
from qcompile.models import list_models, load_model

BATCH = 3
UNITARY = [(model, circuit) for model in list_models() for circuit in load_model(model).circuits
           if not any(isinstance(op, (Measure, Reset, IfElse))
                      for op in walk(circuit.ops))]


def _values(circuit: Circuit, rng) -> dict[str, np.ndarray]:
    """A batch of inputs (leading axis) and weights shared by the batch: the binding rule."""
    return {p.name: rng.uniform(-np.pi, np.pi, ((BATCH,) if p.role == "input" else ()) + p.shape)
            for p in circuit.params}


def _bound(text: str, circuit: Circuit, values, hoisted, sample: int):
    """The text loaded by Qiskit, every parameter bound by name for one sample."""
    by_name = {}
    for p in circuit.params:
        value = values[p.name][sample] if p.role == "input" else values[p.name]
        by_name.update((parameter_name(Symbol(p.name, index)), float(value[index]))
                       for index in np.ndindex(*p.shape))
    for name, expr in hoisted.items():
        by_name[name] = float(np.broadcast_to(evaluate(expr, values), (BATCH,))[sample])
    loaded = qiskit.qasm3.loads(text)
    return loaded.assign_parameters({p: by_name[p.name] for p in loaded.parameters})


def test_the_zoo_has_unitary_circuits_with_hoisted_angles():
    assert len(UNITARY) >= 10
    assert any(hoisted_angles(c) for m, c in UNITARY if m == "qvf")


@pytest.mark.parametrize("model, circuit", UNITARY, ids=[f"{m}:{c.name}" for m, c in UNITARY])
def test_zoo_circuits_load_in_qiskit_with_the_simulated_statevector(model, circuit):
    rng = np.random.default_rng(sum(map(ord, model)))
    values = _values(circuit, rng)
    text = emit_qasm3(circuit, hoist_functions=True)
    hoisted = hoisted_angles(circuit)
    expected = simulate(circuit, State(), values)
    for sample in range(BATCH):
        got = Statevector(_bound(text, circuit, values, hoisted, sample)).data
        np.testing.assert_allclose(got, expected[sample], atol=1e-10)


def _comment_expressions(text: str) -> dict[str, str]:
    return dict(re.findall(r"^// (angle_\d+) = (.*)$", text, flags=re.MULTILINE))


def test_the_comments_record_each_hoisted_expression(rng):
    """Each comment, read as the expression it spells (OpenQASM's function names are the
    IR's), evaluates to the value the caller must bind."""
    circuit = load_model("qvf").circuits[0]
    text = emit_qasm3(circuit, hoist_functions=True)
    hoisted = hoisted_angles(circuit)
    comments = _comment_expressions(text)
    assert list(comments) == list(hoisted)
    assert "computed by the caller" in text.splitlines()[1]
    values = {p.name: rng.uniform(-1, 1, p.shape) for p in circuit.params}
    names = {parameter_name(Symbol(p.name, index)): values[p.name][index]
             for p in circuit.params for index in np.ndindex(*p.shape)}
    for name, spelled in comments.items():
        value = eval(spelled, {"__builtins__": {}}, {**UNARY_FUNCTIONS, "pi": math.pi, **names})
        assert value == pytest.approx(evaluate(hoisted[name], values), rel=1e-12)


def test_a_text_qiskit_cannot_read_says_so():
    x = Symbol("x", (0,))
    circuit = Circuit("t", (Register("q", 1),), (), (Param("x", "input", (1,)),),
                      [Gate("ry", (0,), [Unary("arccos", x)]), Gate("rz", (0,), [x ** 2.0]),
                       Gate("rx", (0,), [2.0 * x + 1.0])])
    text = emit_qasm3(circuit)
    assert text.splitlines()[1] == (
        "// Qiskit's importer (qiskit.qasm3.loads) cannot read the gate angles here that use "
        "**, arccos; emit with hoist_functions=True (qcompile compile --emit qasm3-qiskit) "
        "for it")
    with pytest.raises(QASM3ImporterError, match="cannot be resolved"):  # the comment is right
        qiskit.qasm3.loads(text)
    arithmetic = Circuit("t", (Register("q", 1),), (), (Param("x", "input", (1,)),),
                         [Gate("rx", (0,), [2.0 * x + 1.0])])
    assert "//" not in emit_qasm3(arithmetic) and "//" not in emit_qasm3(arithmetic,
                                                                           hoist_functions=True)


def test_the_cli_emits_for_qiskit(tmp_path, capsys):
    assert main(["compile", "zoo:qvf", "--emit", "qasm3-qiskit", "-O0"]) == 0
    text = capsys.readouterr().out
    assert _comment_expressions(text) and qiskit.qasm3.loads(text).num_qubits == 3
    assert main(["compile", "zoo:qvf", "--emit", "qasm3", "-O0"]) == 0
    assert "--emit qasm3-qiskit" in capsys.readouterr().out.splitlines()[1]
