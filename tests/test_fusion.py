"""The fuse pass: blocks obey their widths and the cost model, boundaries hold, and the fused
circuit means the same (Qiskit Operator, the density-matrix reference, and the simulator)."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Operator, Statevector
from random_circuits import random_circuit, random_values
from reference import final_density_matrix, outcome_distribution

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import simulate
from qcompile.ir import (Barrier, Circuit, Gate, Measure, Param, Program, QCompileError,
                         Register, State, Symbol, Unitary)
from qcompile.passes import PassManager
from qcompile.passes.fusion import Fuse


def layered(num_qubits: int, layers: int, seed: int = 0) -> Circuit:
    rng = np.random.default_rng(seed)
    ops = []
    for _ in range(layers):
        ops += [Gate("ry", (q,), [rng.uniform(-3, 3)]) for q in range(num_qubits)]
        ops += [Gate("cx", (q, q + 1)) for q in range(num_qubits - 1)]
    return Circuit("layered", (Register("q", num_qubits),), ops=ops)


def widths(circuit: Circuit) -> list[int]:
    return [len(op.qubits) for op in circuit.ops if isinstance(op, Unitary)]


@pytest.mark.parametrize("max_width", [2, 3, 4, 5])
def test_blocks_respect_max_width_and_keep_the_operator(max_width):
    circuit = layered(6, 4)
    fused = Fuse(max_width=max_width, pass_cost=100.0).run_circuit(circuit)
    assert widths(fused) and max(widths(fused)) <= max_width
    assert len(fused.ops) < len(circuit.ops)
    # exact, global phase included
    np.testing.assert_allclose(Operator(to_qiskit(fused)).data,
                               Operator(to_qiskit(circuit)).data, atol=1e-10)


def test_cost_model_limits_the_block_width():
    """With free memory passes a 4-qubit block (16 multiply-adds) never pays off against a
    3-qubit block and a 1-qubit gate (8 + 2); with costly passes it does."""
    circuit = layered(6, 4)
    cheap = Fuse(max_width=5, pass_cost=0.0).run_circuit(circuit)
    costly = Fuse(max_width=5, pass_cost=64.0).run_circuit(circuit)
    assert max(widths(cheap)) <= 3
    assert max(widths(costly)) == 5
    assert len(costly.ops) < len(cheap.ops)


def test_diagonal_runs_become_one_diagonal_block():
    ops = [Gate("h", (q,)) for q in range(5)]
    ops += [Gate("cp", (q, 4), [np.pi / 2 ** q]) for q in range(4)]
    ops += [Gate("rzz", (0, 2), [0.3]), Gate("t", (1,)), Gate("cz", (3, 1))]
    circuit = Circuit("qft-like", (Register("q", 5),), ops=ops)
    fused = Fuse(max_width=2, max_diagonal_width=5, pass_cost=8.0).run_circuit(circuit)
    diagonal_blocks = [op for op in fused.ops if isinstance(op, Unitary)
                       and np.allclose(op.matrix, np.diag(np.diag(op.matrix)))]
    assert any(len(op.qubits) == 5 for op in diagonal_blocks)
    np.testing.assert_allclose(Operator(to_qiskit(fused)).data,
                               Operator(to_qiskit(circuit)).data, atol=1e-10)


def test_symbolic_gates_measurement_and_barriers_are_boundaries():
    x = Symbol("x", (0,))
    ops = [Gate("h", (0,)), Gate("rx", (0,), [x]), Gate("h", (0,)),   # symbolic in between
           Gate("s", (1,)), Barrier((1,)), Gate("s", (1,)),             # barrier in between
           Gate("x", (2,)), Measure(2, 0), Gate("x", (2,))]            # measurement
    circuit = Circuit("c", (Register("q", 3),), (Register("c", 1),),
                      (Param("x", "input", (1,)),), ops)
    # max_width=1: only same-qubit neighbours could fuse, and each pair is split by a boundary
    fused = Fuse(max_width=1).run_circuit(circuit)
    assert fused.ops == circuit.ops
    doubled = circuit.with_ops(ops[:1] + ops)  # h h rx h ...: the leading pair does fuse
    assert [type(op) for op in Fuse(max_width=1).run_circuit(doubled).ops] == [
        Unitary, *map(type, ops[1:])]


def test_fused_circuits_simulate_like_qiskit():
    rng = np.random.default_rng(5)
    for _ in range(20):
        circuit = random_circuit(rng, 5, 60, dynamic=False, symbolic=True)
        values = random_values(rng)
        fused = PassManager("fuse(max_width=3)").run(Program.from_circuit(circuit)).circuits[0]
        assert fused.gate_counts().get("unitary", 0) > 0
        np.testing.assert_allclose(simulate(fused, State(), values)[0],
                                   Statevector(to_qiskit(circuit, values)).data, atol=1e-10)


def test_dynamic_circuits_keep_their_outcomes():
    rng = np.random.default_rng(6)
    for _ in range(20):
        circuit = random_circuit(rng, 3, 25, num_clbits=2)
        fused = Fuse(max_width=2).run_circuit(circuit)
        want, got = outcome_distribution(circuit), outcome_distribution(fused)
        assert all(abs(want.get(k, 0) - got.get(k, 0)) < 1e-9 for k in want.keys() | got)
        np.testing.assert_allclose(final_density_matrix(fused), final_density_matrix(circuit),
                                   atol=1e-9)


@pytest.mark.parametrize("options", ["max_width=0", "max_width=11", "max_width=2.5",
                                     "max_diagonal_width=0", "pass_cost=-1"])
def test_bad_options_are_reported(options):
    with pytest.raises(QCompileError, match="fuse"):
        PassManager(f"fuse({options})")
