"""QuantumCircuit → IR, checked by converting back and comparing with the original circuit.

Unitary circuits compare as Qiskit Operators (up to global phase); dynamic ones compare the
exact outcome distribution of the import (tests/reference.py) with qiskit-aer shot counts of
the original.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import IfElseOp, Parameter, ParameterVector
from qiskit.circuit.library import QFTGate, UnitaryGate
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Operator, random_unitary
from aer_reference import aer_distribution as _aer_distribution
from aer_reference import total_variation as _distance
from reference import outcome_distribution

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.frontend.qiskit_circuit import from_qiskit
from qcompile.ir import Gate, Measure, QCompileError, Register, Unitary


@pytest.mark.parametrize("seed", range(25))
def test_random_unitary_circuits_round_trip(seed):
    qc = random_circuit(4, 6, max_operands=4, seed=seed)
    circuit = from_qiskit(qc)
    assert Operator(to_qiskit(circuit)).equiv(Operator(qc))


@pytest.mark.parametrize("seed", range(10))
def test_random_dynamic_circuits_match_aer(seed):
    qc = random_circuit(3, 6, max_operands=3, measure=True, conditional=True, reset=True,
                        seed=seed)
    circuit = from_qiskit(qc)
    assert _distance(outcome_distribution(circuit), _aer_distribution(qc)) < 0.03


def test_registers_measure_reset_barrier_and_if_else():
    q, a = QuantumRegister(2, "q"), QuantumRegister(1, "anc")
    c, d = ClassicalRegister(2, "c"), ClassicalRegister(1, "d")
    qc = QuantumCircuit(q, a, c, d)
    qc.h(q[0])
    qc.measure(q[0], c[1])
    qc.reset(q[0])
    qc.barrier()
    with qc.if_test((c, 2)) as else_:
        qc.x(a[0])
    with else_:
        qc.h(a[0])
    with qc.if_test((c[1], 1)):
        qc.measure(a[0], d[0])
    circuit = from_qiskit(qc)
    assert circuit.qregs == (Register("q", 2), Register("anc", 1))
    assert circuit.cregs == (Register("c", 2), Register("d", 1))
    assert circuit.ops[1] == Measure(0, 1)
    branch = circuit.ops[4]
    assert branch.condition.clbits == (0, 1) and branch.condition.value == 2
    assert branch.then_body == (Gate("x", (2,)),) and branch.else_body == (Gate("h", (2,)),)
    assert circuit.ops[5].condition.clbits == (1,)
    assert _distance(outcome_distribution(circuit), _aer_distribution(qc)) < 0.03


def test_unbound_parameters_become_symbolic_inputs(rng):
    a, b = Parameter("a"), Parameter("b")
    v = ParameterVector("v", 3)
    qc = QuantumCircuit(3)
    qc.rx(2 * a + v[0], 0)
    qc.ry((a * b).sin() - v[2] / 3, 1)
    qc.crz(b.cos() ** 2, 0, 2)
    qc.u(v[1], a.exp(), -b, 2)
    qc.rzz(v[0].arctan() + b.log(), 1, 2)
    circuit = from_qiskit(qc)
    assert {p.name: p.shape for p in circuit.params} == {"a": (), "b": (), "v": (3,)}
    values = {"a": rng.uniform(-2, 2), "b": rng.uniform(0.1, 2), "v": rng.uniform(-2, 2, 3)}
    bound = qc.assign_parameters({a: values["a"], b: values["b"],
                                  **{v[i]: values["v"][i] for i in range(3)}})
    assert Operator(to_qiskit(circuit, values)).equiv(Operator(bound))


def test_gates_outside_the_ir_become_unitaries():
    qc = QuantumCircuit(3)
    qc.append(UnitaryGate(random_unitary(4, seed=5)), [2, 0])
    qc.append(QFTGate(3), [0, 1, 2])
    qc.cx(0, 1, ctrl_state=0)
    qc.dcx(1, 2)
    circuit = from_qiskit(qc)
    assert all(isinstance(op, Unitary) for op in circuit.ops)
    assert Operator(to_qiskit(circuit)).equiv(Operator(qc))


def test_unbound_parameters_on_a_gate_without_ir_form_are_an_error():
    theta = Parameter("t")
    qc = QuantumCircuit(2)
    qc.rzx(theta, 0, 1)
    with pytest.raises(QCompileError, match="rzx"):
        from_qiskit(qc)


def test_other_control_flow_is_an_error():
    qc = QuantumCircuit(1, 1)
    with qc.for_loop(range(2)):
        qc.x(0)
    with pytest.raises(QCompileError, match="for_loop"):
        from_qiskit(qc)


def test_non_unitary_instructions_are_an_error():
    qc = QuantumCircuit(1)
    qc.initialize([0, 1], 0)
    with pytest.raises(QCompileError, match="initialize"):
        from_qiskit(qc)


def test_circuit_without_registers_gets_one():
    qc = QuantumCircuit(2)
    qc.h(0)
    circuit = from_qiskit(qc)
    assert circuit.qregs == (Register("q", 2),) and circuit.cregs == ()
    assert np.allclose(Operator(to_qiskit(circuit)).data, Operator(qc).data)


def test_if_else_blocks_built_apart_map_bits_by_position():
    body = QuantumCircuit(1)
    body.x(0)
    qc = QuantumCircuit(3, 2)
    qc.h(0)
    qc.measure(0, 1)
    qc.append(IfElseOp((qc.clbits[1], 1), body), [qc.qubits[2]], [])
    qc.measure(2, 0)
    circuit = from_qiskit(qc)
    assert circuit.ops[2].then_body == (Gate("x", (2,)),)
    assert _distance(outcome_distribution(circuit), {(0, 0): 0.5, (1, 1): 0.5}) < 1e-9
