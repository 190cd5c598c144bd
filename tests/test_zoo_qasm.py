"""Issue 4 acceptance for the model zoo: every circuit's OpenQASM 3 parses with the
``openqasm3`` reference parser, loads with Qiskit's importer, and means the same as the source
(Qiskit ``Operator`` for unitary circuits; for dynamic ones, exact outcome probabilities from
tests/reference.py against qiskit-aer shots of the loaded circuit)."""

from __future__ import annotations

import numpy as np
import openqasm3
import pytest
import qiskit.qasm3
from aer_reference import aer_distribution, total_variation
from openqasm3 import ast
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator
from random_circuits import random_circuit, random_values
from reference import outcome_distribution

from qcompile.backends.names import parameter_name
from qcompile.backends.qasm3 import emit_qasm3, hoisted_angles
from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.ir import Circuit, Gate, IfElse, Measure, Param, Register, Reset, Symbol, Unary
from qcompile.ir.expr import evaluate
from qcompile.ir.ops import walk
from qcompile.models import list_models, load_model

ZOO = [(model, circuit) for model in list_models() for circuit in load_model(model).circuits]


def _is_dynamic(circuit: Circuit) -> bool:
    return any(isinstance(op, (Measure, Reset, IfElse)) for op in walk(circuit.ops))


def _random_values(circuit: Circuit, rng) -> dict[str, np.ndarray]:
    return {p.name: rng.uniform(-np.pi, np.pi, p.shape) for p in circuit.params}


def _bound(loaded: QuantumCircuit, circuit: Circuit, values, hoisted) -> QuantumCircuit:
    """``loaded`` with every parameter bound by name: circuit inputs as ``parameter_name``
    gives them, hoisted angles by evaluating their expressions at the same values."""
    by_name = {parameter_name(Symbol(p.name, index)): float(np.asarray(values[p.name])[index])
               for p in circuit.params for index in np.ndindex(*p.shape)}
    angles = {name: float(evaluate(expr, values)) for name, expr in hoisted.items()}
    assert all(np.isfinite(list(angles.values()))), angles
    by_name.update(angles)
    return loaded.assign_parameters({p: by_name[p.name] for p in loaded.parameters})


def _declared_inputs(text: str) -> list[str]:
    return [s.identifier.name for s in openqasm3.parse(text).statements
            if isinstance(s, ast.IODeclaration)]


def test_zoo_has_dynamic_models():
    """The distribution comparison below must have circuits to check."""
    dynamic = {model for model, circuit in ZOO if _is_dynamic(circuit)}
    assert {"qksan", "qrnn-cell"} <= dynamic


@pytest.mark.parametrize("model, circuit", ZOO, ids=[f"{m}:{c.name}" for m, c in ZOO])
def test_zoo_circuit_loads_and_is_equivalent(model, circuit):
    rng = np.random.default_rng(sum(map(ord, model)))
    default = emit_qasm3(circuit)
    openqasm3.parse(default)
    text = emit_qasm3(circuit, hoist_functions=True)
    hoisted = hoisted_angles(circuit)
    declared = _declared_inputs(text)  # parses the text with openqasm3
    assert declared[len(declared) - len(hoisted):] == list(hoisted)
    if not hoisted:  # then the default text is exactly what Qiskit loads below
        assert text == default
    loaded = qiskit.qasm3.loads(text)

    values = _random_values(circuit, rng)
    bound = _bound(loaded, circuit, values, hoisted)
    if not _is_dynamic(circuit):
        assert Operator(bound).equiv(Operator(to_qiskit(circuit, values)))
        return
    exact = outcome_distribution(circuit, values)
    shots = 50000
    sampled = aer_distribution(bound, shots=shots, seed=7)
    # With K = 2**clbits records, E[TV] <= 1/2 sum_k sqrt(p_k / N) <= 1/2 sqrt(K / N) by
    # Cauchy-Schwarz (0.009 for K = 4); the bound is three times that.
    bound_tv = 1.5 * np.sqrt(2 ** circuit.num_clbits / shots)
    assert total_variation(sampled, exact) < bound_tv, (sampled, exact)


# --- hoisting itself -------------------------------------------------------------------------

def test_hoisting_shares_inputs_and_avoids_taken_names(rng):
    x0, x1, angle0 = Symbol("x", (0,)), Symbol("x", (1,)), Symbol("angle", (0,))
    circuit = Circuit("t", (Register("q", 2),), (),
                      (Param("x", "input", (2,)), Param("angle", "weight", (1,))),
                      [Gate("ry", (0,), [Unary("sin", x0)]),
                       Gate("rz", (0,), [angle0]),  # declared as angle_0: hoisting skips it
                       Gate("rx", (1,), [x1 ** 2]),
                       Gate("crx", (0, 1), [Unary("sin", x0) + 0.0]),  # folds to sin(x[0])
                       Gate("rz", (1,), [2.0 * x1 + 0.5]),  # arithmetic stays inline
                       Gate("u", (1,), [Unary("arctan", x1), -x1 / 3.0, x1 ** 2])])
    hoisted = hoisted_angles(circuit)
    assert hoisted == {"angle_1": Unary("sin", x0), "angle_2": x1 ** 2.0,
                       "angle_3": Unary("arctan", x1)}
    text = emit_qasm3(circuit, hoist_functions=True)
    # x[0] appears only inside hoisted angles, so it is no input of the program
    assert _declared_inputs(text) == ["x_1", "angle_0", "angle_1", "angle_2", "angle_3"]
    assert "2.0 * x_1 + 0.5" in text
    values = {"x": rng.uniform(-np.pi, np.pi, 2), "angle": rng.uniform(-np.pi, np.pi, 1)}
    bound = _bound(qiskit.qasm3.loads(text), circuit, values, hoisted)
    np.testing.assert_allclose(Operator(bound).data, Operator(to_qiskit(circuit, values)).data,
                               atol=1e-12)


@pytest.mark.parametrize("options", [{}, {"decompose_unitaries": True},
                                     {"basis": ("rz", "sx", "x", "cx")}],
                         ids=["default", "decompose_unitaries", "basis"])
def test_hoisting_follows_the_other_options(options, rng):
    """The angles written depend on the options (a basis rewrites them), and so do the
    hoisted definitions: binding them must still give the source's operator."""
    hoisted_any = False
    for k in range(12):
        circuit = random_circuit(rng, num_qubits=1 + k % 3, length=10, dynamic=False,
                                 symbolic=True)
        hoisted = hoisted_angles(circuit, **options)
        hoisted_any |= bool(hoisted)
        text = emit_qasm3(circuit, hoist_functions=True, **options)
        openqasm3.parse(text)
        values = random_values(rng)
        bound = _bound(qiskit.qasm3.loads(text), circuit, values, hoisted)
        assert Operator(bound).equiv(Operator(to_qiskit(circuit, values))), text
    assert hoisted_any
