"""The optimizer and target lowering, judged at the program level against Qiskit.

Passes that move qubits between wires (elided swaps, routing) change a circuit's operator by
a permutation and fix up the program's outputs instead, so these tests compare what the
program returns — probabilities, expectation values and statevectors — with Qiskit's
density-matrix reference of the original circuit.
"""

from __future__ import annotations

import numpy as np
import pytest
from differential import assert_on_target
from qiskit.quantum_info import Statevector
from random_circuits import random_circuit, random_values
from reference import final_density_matrix

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.runner import run_program
from qcompile.ir import (GATES, Barrier, Circuit, ExpVal, Gate, IfElse, PauliTerm, Probs,
                         Program, QCompileError, Register, State)
from qcompile.passes import PassManager, preset
from qcompile.passes.coupling import parse_coupling

ATOL = 1e-8


def _program(circuit: Circuit, output) -> Program:
    return Program.from_circuit(circuit, output)


def _observables(rng, n: int) -> ExpVal:
    terms = []
    for _ in range(3):
        qubits = rng.choice(n, int(rng.integers(1, n + 1)), replace=False)
        terms.append((PauliTerm(float(rng.normal()),
                                tuple((int(q), "IXYZ"[rng.integers(1, 4)]) for q in qubits)),))
    return ExpVal(tuple(terms))


def _reference(circuit: Circuit, output, values):
    """What the original circuit's readout is, from Qiskit alone."""
    rho = final_density_matrix(circuit, values)
    n = circuit.num_qubits
    if isinstance(output, Probs):
        return np.real(np.diag(rho))
    from qiskit.quantum_info import DensityMatrix, SparsePauliOp
    state = DensityMatrix(rho)
    out = []
    for (term,) in output.observables:
        label = ["I"] * n
        for q, p in term.paulis:
            label[n - 1 - q] = p
        out.append(term.coeff * float(np.real(state.expectation_value(
            SparsePauliOp("".join(label))))))
    return np.array(out)


def _check_program(circuit, output, values, manager) -> Program:
    compiled = manager.run(_program(circuit, output))
    got = run_program(compiled, values and {"x": values["x"]}, values and {"w": values["w"]})
    expected = _reference(circuit, output, values)
    np.testing.assert_allclose(got["out"][0], expected, atol=ATOL)
    return compiled


def _values(rng, symbolic):
    return random_values(rng) if symbolic else None


@pytest.mark.parametrize("seed", range(60))
def test_elided_swaps_keep_every_output(seed):
    rng = np.random.default_rng(seed)
    n = 2 + seed % 3
    circuit = random_circuit(rng, n, 20, dynamic=seed % 2 == 0, symbolic=seed % 3 == 0)
    ops = list(circuit.ops)
    for _ in range(3):  # plant swaps among the gates
        ops.insert(int(rng.integers(len(ops) + 1)), Gate("swap", rng.choice(n, 2, False)))
    circuit = circuit.with_ops(ops)
    values = _values(rng, seed % 3 == 0)
    manager = PassManager("elide-permutations")
    for output in (Probs(), _observables(rng, n)):
        compiled = _check_program(circuit, output, values, manager)
        top = compiled.circuits[0].ops
        assert not any(isinstance(op, Gate) and op.name == "swap" for op in top)


@pytest.mark.parametrize("seed", range(20))
def test_elided_swaps_reorder_the_statevector(seed):
    rng = np.random.default_rng(100 + seed)
    n = 2 + seed % 3
    circuit = random_circuit(rng, n, 16, dynamic=False, symbolic=False)
    ops = list(circuit.ops)
    for _ in range(2):
        ops.insert(int(rng.integers(len(ops) + 1)), Gate("swap", rng.choice(n, 2, False)))
    circuit = circuit.with_ops(ops)
    compiled = PassManager("elide-permutations").run(_program(circuit, State()))
    got = run_program(compiled)["out"][0]
    expected = Statevector(to_qiskit(circuit)).data
    np.testing.assert_allclose(got, expected, atol=ATOL)


TARGETS = [("cx,rz,sx,x", None), ("cx,rz,sx,x", "line:5"), ("cz,rz,sx,x", "ring:5"),
           ("ecr,rz,sx,x", "grid:2x3"), ("cx,u", None), ("rzz,rx,ry,rz,cz", "line:6")]


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("basis,coupling", TARGETS)
def test_targets_keep_meaning_and_use_only_the_target(level, basis, coupling):
    rng = np.random.default_rng(level * 31 + len(basis) + len(coupling or ""))
    device = parse_coupling(coupling) if coupling else None
    names = tuple(basis.split(","))
    for k in range(16):
        n = 2 + k % 4
        symbolic = k % 3 == 0
        circuit = random_circuit(rng, n, 18, dynamic=k % 2 == 0, symbolic=symbolic)
        values = _values(rng, symbolic)
        manager = preset(level, basis=basis, coupling=coupling, seed=k)
        for output in (Probs(), _observables(rng, n)):
            compiled = _check_program(circuit, output, values, manager)
            assert_on_target(compiled.circuits[0], names, device)


def test_o3_removes_two_qubit_gates_that_commute_and_resynthesizes_blocks():
    # cx ... cx with an rz on the control and an x on the target between: they cancel.
    ops = [Gate("cx", (0, 1)), Gate("rz", (0,), [0.3]), Gate("x", (1,)), Gate("cx", (0, 2)),
           Gate("cx", (0, 1)), Gate("h", (1,)), Gate("cx", (1, 2)), Gate("cx", (2, 1)),
           Gate("cx", (1, 2)), Gate("cx", (2, 1))]
    circuit = Circuit("t", (Register("q", 3),), (), (), ops)
    out = preset(3, basis="cx,rz,sx,x").run(_program(circuit, Probs())).circuits[0]
    assert out.gate_counts()["cx"] <= 3


@pytest.mark.parametrize("bad,message", [
    ({"basis": "foo,cx"}, "basis gate 'foo'"),
    ({"basis": "rz,sx,x"}, "no two-qubit gate"),
    ({"coupling": "line:0"}, "no qubits"),
    ({"coupling": "grid:2"}, "grid:RxC"),
    ({"coupling": "nowhere.json"}, "neither"),
])
def test_bad_targets_are_named(bad, message):
    with pytest.raises(QCompileError, match=message):
        preset(2, **bad)


def test_a_coupling_map_smaller_than_the_circuit_is_refused():
    circuit = Circuit("wide", (Register("q", 4),), (), (),
                      [Gate("cx", (0, 3)), Barrier((0, 1, 2, 3))])
    with pytest.raises(QCompileError, match="needs 4 qubits.*only 3"):
        preset(1, coupling="line:3").run(_program(circuit, Probs()))


def test_a_disconnected_coupling_map_is_refused(tmp_path):
    path = tmp_path / "split.json"
    path.write_text("[[0, 1], [2, 3]]")
    with pytest.raises(QCompileError, match="not connected"):
        preset(1, coupling=str(path))


def test_a_coupling_map_of_self_loops_is_refused(tmp_path):
    path = tmp_path / "loops.json"
    path.write_text("[[0, 0], [1, 1]]")
    with pytest.raises(QCompileError, match="no edge between two different qubits"):
        preset(1, coupling=str(path))


def test_feed_forward_survives_routing():
    from qcompile.ir import Condition, Measure
    ops = [Gate("h", (0,)), Measure(0, 0),
           IfElse(Condition((0,), 1), [Gate("cx", (0, 3)), Gate("ry", (2,), [0.4])]),
           Gate("cx", (1, 3))]
    circuit = Circuit("ff", (Register("q", 4),), (Register("c", 1),), (), ops)
    compiled = _check_program(circuit, Probs(), None, preset(2, coupling="line:4", seed=3))
    assert_on_target(compiled.circuits[0], ("cx", "rz", "sx", "x"), parse_coupling("line:4"))
    assert set(GATES)  # the library is untouched by lowering


@pytest.mark.parametrize("seed", range(8))
def test_routing_keeps_the_statevector(seed):
    rng = np.random.default_rng(300 + seed)
    n = 2 + seed % 3
    circuit = random_circuit(rng, n, 16, dynamic=False, symbolic=False)
    ops = list(circuit.ops) + [Gate("swap", (0, n - 1))]
    circuit = circuit.with_ops(ops)
    manager = preset(3, coupling=f"line:{n + 1}", seed=seed)
    got = run_program(manager.run(_program(circuit, State())))["out"][0]
    expected = Statevector(to_qiskit(circuit)).data
    assert abs(abs(np.vdot(expected, got)) - 1) < 1e-8  # equal up to the dropped global phase


def test_the_library_call_lowers_to_a_device():
    import qcompile

    rng = np.random.default_rng(7)
    circuit = random_circuit(rng, 4, 30, dynamic=False, symbolic=False)
    target = qcompile.Target.device("fake_manila")
    assert set(target.basis) == {"cx", "rz", "sx", "x"} and target.coupling.num_qubits == 5
    output = _observables(rng, 4)
    compiled = qcompile.compile(_program(circuit, output), level=3, target=target, seed=2)
    assert_on_target(compiled.program.circuits[0], target.basis, target.coupling)
    got = run_program(compiled.program)["out"][0]
    np.testing.assert_allclose(got, _reference(circuit, output, None), atol=ATOL)
    assert compiled.final_wires(circuit.name) is not None
