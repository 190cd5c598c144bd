"""Parameter shifts: equal to the adjoint method to 1e-10 on unitary circuits (every gate of the
library, no decomposition), and to finite differences of exact readouts on dynamic circuits."""

import numpy as np
import pytest
from finite_differences import assert_gradients_close, gradients_by_differences
from random_circuits import random_circuit, random_observables

from qcompile.backends.statevector import simulate
from qcompile.backends.statevector.adjoint import adjoint_vjp
from qcompile.backends.statevector.param_shift import param_shift_vjp, symbolic_angles
from qcompile.ir import (Circuit, Condition, Gate, IfElse, Measure, Param, Probs, QCompileError,
                         Register, Reset, State, Symbol)


def values_for(rng, batch: int = 3):
    return {"x": rng.uniform(-np.pi, np.pi, (batch, 2)), "w": rng.uniform(-np.pi, np.pi, 3)}


@pytest.mark.parametrize("seed", range(100))
def test_equals_adjoint_on_random_symbolic_circuits(seed):
    rng = np.random.default_rng(2000 + seed)
    circuit = random_circuit(rng, num_qubits=1 + seed % 4, length=20, dynamic=False,
                             symbolic=True)
    values = values_for(rng)
    output = random_observables(rng, circuit.num_qubits)
    cotangent = rng.normal(size=(3, 2))
    shifted = param_shift_vjp(circuit, output, values, cotangent)
    adjoint = adjoint_vjp(circuit, output, values, cotangent)
    for name in values:
        np.testing.assert_allclose(shifted[name], adjoint[name], rtol=0, atol=1e-10)


def test_every_shift_rule_is_exercised():
    """The random circuits above contain the two- and four-term rules and multi-angle gates."""
    names = set()
    for seed in range(100):
        rng = np.random.default_rng(2000 + seed)
        circuit = random_circuit(rng, num_qubits=1 + seed % 4, length=20, dynamic=False,
                                 symbolic=True)
        names |= {gate.name for gate, _ in symbolic_angles(circuit.ops)}
    assert {"rx", "p", "crx", "cu", "u3", "rzz"} <= names


@pytest.mark.parametrize("seed", range(4))
def test_equals_adjoint_for_probabilities(seed):
    rng = np.random.default_rng(3000 + seed)
    circuit = random_circuit(rng, num_qubits=3, length=20, dynamic=False, symbolic=True)
    values = values_for(rng)
    cotangent = rng.normal(size=(3, 4))
    shifted = param_shift_vjp(circuit, Probs((1, 2)), values, cotangent)
    adjoint = adjoint_vjp(circuit, Probs((1, 2)), values, cotangent)
    for name in values:
        np.testing.assert_allclose(shifted[name], adjoint[name], rtol=0, atol=1e-10)


def dynamic_reference(circuit, output, values, cotangent):
    def per_sample_loss(shifted):
        return np.sum(cotangent * simulate(circuit, output, shifted), axis=1)
    return gradients_by_differences(per_sample_loss, values, {"x"})


@pytest.mark.parametrize("seed", range(25))
def test_dynamic_circuits_match_finite_differences_of_exact_readouts(seed):
    rng = np.random.default_rng(4000 + seed)
    circuit = random_circuit(rng, num_qubits=2 + seed % 2, length=14, dynamic=True,
                             symbolic=True)
    values = values_for(rng, batch=2)
    output = random_observables(rng, circuit.num_qubits)
    cotangent = rng.normal(size=(2, 2))
    assert_gradients_close(param_shift_vjp(circuit, output, values, cotangent),
                           dynamic_reference(circuit, output, values, cotangent))


def test_gates_inside_feed_forward_blocks_are_differentiated():
    x, w = Symbol("x", (0,)), Symbol("w", (1,))
    ops = (Gate("ry", (0,), [x]), Measure(0, 0),
           IfElse(Condition((0,), 1), (Gate("crx", (0, 1), [w * x]),), (Gate("ry", (1,), [w]),)),
           Reset(0), Gate("cu", (1, 0), [w, x, Symbol("w", (0,)), w * 0.5]))
    circuit = Circuit("ff", (Register("q", 2),), (Register("c", 1),),
                      (Param("x", "input", (2,)), Param("w", "weight", (3,))), ops)
    rng = np.random.default_rng(5)
    values = values_for(rng)
    output = random_observables(rng, 2)
    cotangent = rng.normal(size=(3, 2))
    assert_gradients_close(param_shift_vjp(circuit, output, values, cotangent),
                           dynamic_reference(circuit, output, values, cotangent))
    probs = Probs(())
    weights = rng.normal(size=(3, 4))
    assert_gradients_close(param_shift_vjp(circuit, probs, values, weights),
                           dynamic_reference(circuit, probs, values, weights))


def test_statevector_readouts_are_refused():
    circuit = Circuit("s", (Register("q", 1),), (), (Param("t", "weight"),),
                      (Gate("rx", (0,), [Symbol("t")]),))
    with pytest.raises(QCompileError, match="expval and probs"):
        param_shift_vjp(circuit, State(), {"t": 0.1}, np.ones((1, 2)))
    with pytest.raises(QCompileError, match=r"shape \[1, 2\]"):
        param_shift_vjp(circuit, Probs(()), {"t": 0.1}, np.ones((2, 2)))


def test_equals_adjoint_on_states_spanning_several_kernel_chunks():
    """13 qubits x 4 samples: the adjoint kernels split each state and run in parallel."""
    rng = np.random.default_rng(6)
    n = 13
    x, w = Symbol("x", (0,)), Symbol("w", (1,))
    ops = [Gate("h", (q,)) for q in range(n)]
    ops += [Gate("crx", (0, 12), [x * w]), Gate("rzz", (12, 3), [w]), Gate("cx", (5, 11)),
            Gate("u", (11,), [x, w, Symbol("x", (1,))]), Gate("cp", (2, 7), [x + w]),
            Gate("ryy", (7, 12), [Symbol("w", (2,))])]
    circuit = Circuit("wide", (Register("q", n),), (),
                      (Param("x", "input", (2,)), Param("w", "weight", (3,))), ops)
    values = values_for(rng, batch=4)
    output = random_observables(rng, n)
    cotangent = rng.normal(size=(4, 2))
    shifted = param_shift_vjp(circuit, output, values, cotangent)
    adjoint = adjoint_vjp(circuit, output, values, cotangent)
    for name in values:
        np.testing.assert_allclose(shifted[name], adjoint[name], rtol=0, atol=1e-10)
