"""Issue 16, kernels as circuits: ``kernel-circuits`` rewrites fidelity kernels of two
statevector calls as compute-uncompute or swap-test circuits read by probabilities, with the
same values (against fidelities of Qiskit statevectors) and the same gradients, so kernel
models emit as OpenQASM 3 and run on devices."""

from __future__ import annotations

import numpy as np
import pytest
import qiskit.qasm3
from qiskit.quantum_info import Statevector
from random_circuits import NARROW_GATE_NAMES, random_circuit

from qcompile import Target, compile
from qcompile.backends.gradients import program_vjp
from qcompile.backends.hardware import DeviceExecutor, resolve_device
from qcompile.backends.qasm3 import emit_qasm3
from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.runner import run_program
from qcompile.ir import Measure, Program, QuantumCall, Register, State, TensorDecl, TensorOp
from qcompile.models import load_model
from qcompile.passes import PassManager

METHODS = ["compute-uncompute", "swap-test"]


def _kernel_program(feature_map) -> Program:
    """k = fidelity(state(fm(a)), state(fm(b))) for a feature map whose inputs are x, w."""
    a, b = ("a", "b")
    shapes = {p.name: p.shape for p in feature_map.params}
    inputs = [TensorDecl(f"{name}_{side}", shapes[name]) for side in (a, b)
              for name in shapes]
    body = [QuantumCall(f"s_{side}", feature_map.name,
                        tuple((name, f"{name}_{side}") for name in shapes), State())
            for side in (a, b)]
    body.append(TensorOp("k", "fidelity", ("s_a", "s_b")))
    return Program(inputs, [], (feature_map,), body, ("k",), name="kernel")


def _values(program: Program, rng, batch: int = 4) -> dict[str, np.ndarray]:
    return {d.name: rng.uniform(-np.pi, np.pi, (batch,) + tuple(d.shape))
            for d in program.inputs}


@pytest.mark.parametrize("method", METHODS)
def test_random_feature_maps_keep_their_kernel_values(method):
    rng = np.random.default_rng(21)
    for trial in range(25):
        fm = random_circuit(rng, 2 + trial % 3, 12, dynamic=False, symbolic=True,
                            names=NARROW_GATE_NAMES)
        program = _kernel_program(fm)
        values = _values(program, rng)
        rewritten = PassManager(f"kernel-circuits(method={method})").run(program)
        assert not any(isinstance(s, QuantumCall) and isinstance(s.output, State)
                       for s in rewritten.body)
        found = run_program(rewritten, values)["k"]
        for i in range(4):
            states = [Statevector(to_qiskit(fm, {p.name: values[f"{p.name}_{side}"][i]
                                                 for p in fm.params})).data
                      for side in ("a", "b")]
            assert abs(found[i] - abs(np.vdot(states[1], states[0])) ** 2) < 1e-9, trial


@pytest.mark.parametrize("method", METHODS)
def test_gradients_are_those_of_the_statevector_kernel(method):
    program = load_model("zz-kernel")
    rewritten = PassManager(f"kernel-circuits(method={method})").run(program)
    rng = np.random.default_rng(22)
    values = _values(program, rng, 5)
    cotangent = {"k": rng.normal(size=5)}
    before = program_vjp(program, values, {}, cotangent)[0]
    after = program_vjp(rewritten, values, {}, cotangent)[0]
    for name in values:
        np.testing.assert_allclose(after[name], before[name], atol=1e-9)


def test_kernels_emit_and_run_on_a_device():
    program = load_model("zz-kernel")
    lowered = compile(program, level=2, target=Target.device("fake_manila"), seed=2).program
    (circuit,) = lowered.circuits
    qiskit.qasm3.loads(emit_qasm3(circuit))
    values = _values(program, np.random.default_rng(23), 3)
    executor = DeviceExecutor(resolve_device("aer"), shots=4000, transpile_seed=1)
    measured = run_program(lowered, values, seed=3, execute=executor)["k"]
    np.testing.assert_allclose(measured, run_program(program, values)["k"], atol=0.05)


def test_fidelities_the_pass_cannot_rewrite_stay():
    program = load_model("zz-kernel")
    fm = program.circuits[0]
    measured = fm.with_ops([*fm.ops, Measure(0, 0)])
    measured = type(fm)(fm.name, fm.qregs, (Register("c", 1),), fm.params, measured.ops)
    kept = [_kernel_program(measured),
            type(program)(program.inputs, program.weights, program.circuits,
                          program.body, ("k", "_v0"), name="reads_a_state")]
    for candidate in kept:
        assert PassManager("kernel-circuits").run(candidate) == candidate
