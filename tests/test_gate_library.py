"""The gate library is the one place a gate is described: its facts are checked against
Qiskit, and every gate — a newly registered one included — flows through the importer, the
emitter, the simulator, gradients, the quantizer and deferral with nothing else to edit."""

import numpy as np
import pytest
from finite_differences import assert_gradients_close, gradients_by_differences
from qiskit import QuantumCircuit
from qiskit.circuit.library import RZXGate, UnitaryGate
from qiskit.quantum_info import Operator, Statevector
from reference import outcome_distribution

from qcompile.backends.qasm3 import emit_qasm3
from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import simulate
from qcompile.backends.statevector.adjoint import adjoint_vjp
from qcompile.frontend.qasm import load_qasm
from qcompile.ir import (GATES, Circuit, Condition, ExpVal, Gate, IfElse, Measure, Param,
                         PauliTerm, Program, Register, State, Symbol)
from qcompile.ir.gates import ROTATION, GateSpec
from qcompile.passes import DeferMeasurements, QuantizeAngles

NAMES = sorted(GATES)


def _circuit(ops, num_qubits, num_clbits=0, params=()):
    cregs = (Register("c", num_clbits),) if num_clbits else ()
    return Circuit("g", (Register("q", num_qubits),), cregs, params, ops)


@pytest.mark.parametrize("name", sorted(n for n, s in GATES.items() if s.definition))
def test_definitions_are_exact_including_phase(name):
    spec = GATES[name]
    params = list(np.random.default_rng(len(name)).uniform(-np.pi, np.pi, spec.num_params))
    gate = Gate(name, range(spec.num_qubits), params)
    written = Operator(to_qiskit(_circuit(gate.definition(), spec.num_qubits)))
    np.testing.assert_allclose(written.data, spec.matrix(*params), atol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n, s in GATES.items() if s.controlled))
def test_the_controlled_form_is_the_gate_under_one_more_control(name):
    spec = GATES[name]
    params = list(np.random.default_rng(len(name) + 1).uniform(-np.pi, np.pi, spec.num_params))
    reference = UnitaryGate(spec.matrix(*params)).control(1)  # Qiskit adds the control
    np.testing.assert_allclose(GATES[spec.controlled].matrix(*params),
                               Operator(reference).data, atol=1e-12)


def _flows(name: str) -> None:
    """One gate through every stage, each against an independent reference."""
    spec = GATES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    n, k = spec.num_qubits + 1, spec.num_params
    qubits = tuple(int(q) for q in rng.permutation(n)[:spec.num_qubits])
    angles = [Symbol("w", (j,)) * Symbol("x", (j,)) for j in range(k)]
    params = (Param("x", "input", (k,)), Param("w", "weight", (k,))) if k else ()
    values = {"x": rng.uniform(-2, 2, (3, k)), "w": rng.uniform(0.5, 1.5, k)} if k else {}
    spread = [Gate("ry", (q,), [0.3 + 0.4 * q]) for q in range(n)]
    circuit = _circuit([*spread, Gate(name, qubits, angles)], n, params=params)

    # simulator: every sample against Qiskit's statevector of the bound circuit
    states = simulate(circuit, State(), values or None)
    for b in range(states.shape[0]):
        sample = {key: v[b] if key == "x" else v for key, v in values.items()}
        np.testing.assert_allclose(states[b], Statevector(to_qiskit(circuit, sample)).data,
                                   atol=1e-10)
    # emitter and importer: the OpenQASM 3 text reads back as the same operator
    bound = {key: v[0] if key == "x" else v for key, v in values.items()}
    constant = _circuit([*spread, Gate(name, qubits, [float(bound["w"][j] * bound["x"][j])
                                                      for j in range(k)])], n)
    text = emit_qasm3(constant)
    assert Operator(to_qiskit(load_qasm(text))).equiv(Operator(to_qiskit(constant))), text
    # quantizer: each angle moves by at most half a grid step of its period
    quantized = QuantizeAngles(bits=6).run_circuit(constant).ops[-1]
    for form, before, after in zip(spec.angles, constant.ops[-1].params, quantized.params):
        error = (after.value - before.value + form.period / 2) % form.period - form.period / 2
        assert abs(error) <= form.period / 2 ** 7 * (1 + 1e-12)
    # gradients: the adjoint method against finite differences
    if k:
        observable = ExpVal(((PauliTerm(1.0, ((q, "Z") for q in range(n))),),
                             (PauliTerm(0.5, ((qubits[0], "X"),)),)))
        cotangent = rng.normal(size=(3, 2))

        def loss(shifted):
            return np.sum(cotangent * simulate(circuit, observable, shifted), axis=1)
        assert_gradients_close(adjoint_vjp(circuit, observable, values, cotangent),
                               gradients_by_differences(loss, values, {"x"}))
    # deferral: the gate under feed-forward keeps the record distribution
    dynamic = _circuit([*spread, Measure(n - 1, 0),
                        IfElse(Condition((0,), 1), [Gate(name, qubits, angles)]),
                        *(Measure(q, 1 + q) for q in range(n))], n, n + 1, params)
    deferred = DeferMeasurements().run(_program(dynamic), {}).circuits[0]
    expected = outcome_distribution(dynamic, bound)
    got = outcome_distribution(deferred, bound)
    assert got.keys() == expected.keys()
    for record, probability in expected.items():
        assert got[record] == pytest.approx(probability, abs=1e-10)


def _program(circuit):
    return Program.from_circuit(circuit)


@pytest.mark.parametrize("name", NAMES)
def test_every_gate_flows_through_the_toolkit(name):
    _flows(name)


def _rzx(theta):
    """exp(-i θ/2 Z⊗X): Z on the first qubit, X on the second (Qiskit's RZXGate)."""
    zx = np.kron(np.array([[0, 1], [1, 0]]), np.diag([1.0, -1.0]))  # bit 0 is the first qubit
    theta = np.asarray(theta, dtype=float)[..., None, None]
    return np.cos(theta / 2) * np.eye(4) - 1j * np.sin(theta / 2) * zx


def test_a_new_parametric_gate_is_one_entry(monkeypatch):
    """Registering the gate is all it takes: its matrix, how its angle enters, and its
    definition in other gates (which the OpenQASM emitter and deferral use)."""
    spec = GateSpec("rzx", 2, _rzx, (ROTATION,), description="exp(-i t ZX/2)",
                    definition=lambda t: [("h", (1,)), ("rzz", (0, 1), t), ("h", (1,))])
    monkeypatch.setitem(GATES, "rzx", spec)
    np.testing.assert_allclose(_rzx(0.7), Operator(RZXGate(0.7)).data, atol=1e-12)
    _flows("rzx")
    text = emit_qasm3(_circuit([Gate("rzx", (1, 0), [Symbol("theta")])], 2,
                               params=(Param("theta", "input"),)))
    assert "gate rzx(p0) a, b" in text
    qc = QuantumCircuit(2)
    qc.append(RZXGate(0.4), [1, 0])
    assert Operator(to_qiskit(load_qasm(text), {"theta": 0.4})).equiv(Operator(qc))
