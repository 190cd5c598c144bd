"""docs/passes.md's worked example runs as written, by its registered name, and is correct."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from qiskit.quantum_info import Operator
from random_circuits import random_circuit
from reference import final_density_matrix, outcome_distribution

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.ir import Gate, Program
from qcompile.passes import PassManager, available_passes, base

DOC = Path(__file__).resolve().parents[1] / "docs" / "passes.md"


@pytest.fixture
def example_pass(monkeypatch) -> str:
    """Execute the first python block of the doc; return the name it registered."""
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    before = set(available_passes())
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert blocks, "docs/passes.md has no python example"
    exec(compile(blocks[0], str(DOC), "exec"), {"__name__": "passes_doc_example"})
    (name,) = set(available_passes()) - before
    return name


def _with_swaps(circuit, rng):
    """Insert swaps at random places, so the example pass has work to do."""
    ops = list(circuit.ops)
    for _ in range(3):
        a, b = rng.choice(circuit.num_qubits, 2, replace=False)
        ops.insert(int(rng.integers(len(ops) + 1)), Gate("swap", (a, b)))
    return circuit.with_ops(ops)


@pytest.mark.parametrize("reverse", ["false", "true"])
def test_doc_example_pass_runs_by_name_and_keeps_meaning(example_pass, reverse, rng):
    assert example_pass == "swap-to-cx"
    manager = PassManager(f"canonicalize,{example_pass}(reverse={reverse}),cancel-inverses")
    for i in range(20):
        circuit = _with_swaps(random_circuit(rng, 3, 12, dynamic=i % 2 == 0), rng)
        optimized = manager.run(Program.from_circuit(circuit)).circuits[0]
        assert "swap" not in optimized.gate_counts()
        assert manager.report.rows()[1]["two_qubit_gates_after"] > \
            manager.report.rows()[1]["two_qubit_gates_before"]
        got, want = outcome_distribution(optimized), outcome_distribution(circuit)
        assert all(abs(got.get(k, 0) - want.get(k, 0)) < 1e-8 for k in got.keys() | want)
        np.testing.assert_allclose(final_density_matrix(optimized),
                                   final_density_matrix(circuit), atol=1e-8)
        if i % 2:
            assert Operator(to_qiskit(optimized)).equiv(Operator(to_qiskit(circuit)))
