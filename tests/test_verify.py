"""The verifier names the operation, the operand and the reason."""

import numpy as np
import pytest

from qcompile.ir import (Circuit, Condition, Const, ExpVal, Gate, IfElse, Measure, Param,
                         PauliTerm, Probs, Program, QuantumCall, Register, State, Symbol,
                         TensorDecl, TensorOp, Unitary, VerificationError, value_shapes,
                         verify_circuit)

Q2 = (Register("q", 2),)


def _circuit(*ops, params=(), clbits=1):
    return Circuit("c", Q2, (Register("c", clbits),), params, ops)


@pytest.mark.parametrize("op,message", [
    (Gate("cx", (0, 0)), r"operation 0 \(cx on qubits \[0, 0\]\): qubit q\[0\] is used twice"),
    (Gate("cx", (0,)), r"'cx' acts on 2 qubit\(s\), got 1"),
    (Gate("rx", (0,)), r"'rx' takes 1 parameter\(s\), got 0"),
    (Gate("foo", (0,)), r"unknown gate 'foo'"),
    (Gate("h", (5,)), r"qubit 5 is out of range \(the circuit has 2\)"),
    (Measure(0, 3), r"classical bit 3 is out of range"),
    (Unitary(np.eye(2), (0, 1)), r"matrix has shape \(2, 2\), expected \(4, 4\)"),
    (Unitary(np.ones((2, 2)), (0,)), r"matrix is not unitary"),
    (IfElse(Condition((0,), 2), ()), r"condition value 2 does not fit in 1 bit"),
    (IfElse(Condition((0,), 1), (Gate("h", (7,)),)), r"then-block.*qubit 7 is out of range"),
    (Gate("rx", (0,), (Symbol("theta"),)), r"parameter 'theta' is not declared"),
])
def test_circuit_errors(op, message):
    with pytest.raises(VerificationError, match=message):
        verify_circuit(_circuit(op))


def test_symbol_index_checked_against_parameter_shape():
    circuit = _circuit(Gate("rx", (0,), (Symbol("x", (2,)),)),
                       params=(Param("x", "input", (2,)),))
    with pytest.raises(VerificationError, match=r"index \[2\] is out of range for 'x' of shape"):
        verify_circuit(circuit)


def _program(*body, circuit=None, outputs=("e",)):
    circuit = circuit or _circuit(Gate("rx", (0,), (Symbol("x", (0,)),)),
                                  params=(Param("x", "input", (2,)),))
    return Program((TensorDecl("x", (2,)),), (TensorDecl("W", (3, 2)),), (circuit,), body,
                   outputs)


def test_shapes_flow_through_calls_and_tensor_ops():
    z0 = (PauliTerm(1.0, ((0, "Z"),)),)
    program = _program(QuantumCall("e", "c", (("x", "x"),), ExpVal((z0, z0))),
                       TensorOp("h", "linear", ("x", "W")),
                       TensorOp("s", "concat", ("e", "h")),
                       TensorOp("p", "softmax", ("s",)), outputs=("p",))
    shapes = value_shapes(program)
    assert shapes["e"] == (2,) and shapes["h"] == (3,) and shapes["s"] == (5,)


@pytest.mark.parametrize("stmt,message", [
    (QuantumCall("e", "nope", (), State()), r"calls undefined circuit 'nope'"),
    (QuantumCall("e", "c", (), State()), r"parameter 'x' of circuit 'c' is not bound"),
    (QuantumCall("e", "c", (("x", "y"),), State()), r"value 'y' is not defined before use"),
    (QuantumCall("e", "c", (("x", "W"),), State()),
     r"'W' has shape \[3, 2\] but parameter 'x' expects \[2\]"),
    (QuantumCall("e", "c", (("x", "x"), ("z", "x")), State()), r"has no parameter 'z'"),
    (QuantumCall("e", "c", (("x", "x"),), ExpVal(((PauliTerm(1, ((4, "Z"),)),),))),
     r"observable factor Z4 is not a Pauli on one of 2 qubits"),
    (QuantumCall("e", "c", (("x", "x"),), ExpVal(((PauliTerm(1, ((0, "Z"), (0, "X"))),),))),
     r"an observable term names qubit 0 twice"),
    (QuantumCall("e", "c", (("x", "x"),), Probs((1, 1))), r"probability qubit 1 is listed twice"),
    (TensorOp("e", "linear", ("W", "x")), r"linear: weight operand must be a matrix"),
    (TensorOp("e", "linear", ("x", "x", "x", "x")), r"takes 2 to 3 operands, got 4"),
    (TensorOp("e", "softmax", ("x",), (("temperature", 2),)),
     r"unknown attribute\(s\) temperature"),
    (TensorOp("e", "frobnicate", ("x",)), r"unknown operation 'frobnicate'"),
    (TensorOp("e", "reshape", ("x",), (("shape", (3,)),)), r"cannot reshape \[2\] into \[3\]"),
    (TensorOp("e", "slice", ("x",), (("start", 1), ("stop", 5))), r"slice 1:5 is out of range"),
])
def test_program_errors(stmt, message):
    with pytest.raises(VerificationError, match=message):
        value_shapes(_program(stmt))


def test_undefined_output_and_redefinition():
    call = QuantumCall("e", "c", (("x", "x"),), State())
    with pytest.raises(VerificationError, match="output 'zz' is not defined"):
        value_shapes(_program(call, outputs=("zz",)))
    with pytest.raises(VerificationError, match="value 'x' is defined twice"):
        value_shapes(_program(QuantumCall("x", "c", (("x", "x"),), State())))


def test_constant_parameters_are_fine():
    verify_circuit(_circuit(Gate("rx", (1,), (Const(0.3),)), Measure(1, 0)))
