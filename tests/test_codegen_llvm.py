"""The per-circuit LLVM kernel experiment (benchmarks/codegen_llvm.py) still computes the right
state: checked against qiskit's Statevector so the experiment cannot rot silently."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.ir import Circuit, Gate, Register

pytest.importorskip("llvmlite.binding")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import codegen_llvm as codegen  # noqa: E402


def _compile_or_skip(circuit: Circuit, fuse: bool = False):
    try:
        return codegen.CompiledKernel(codegen.generate_ir(circuit, fuse))
    except (ImportError, OSError, RuntimeError) as err:  # no native target / JIT on this host
        pytest.skip(f"llvmlite JIT unavailable: {err}")


@pytest.mark.parametrize("num_qubits, fuse", [(4, False), (6, False), (6, True)])
def test_ladder_kernel_matches_qiskit(num_qubits, fuse):
    circuit = codegen.ladder_circuit(num_qubits, layers=2, seed=num_qubits)
    state = codegen.run_generated(_compile_or_skip(circuit, fuse), num_qubits)
    np.testing.assert_allclose(state, Statevector(to_qiskit(circuit)).data, rtol=0, atol=1e-12)


def test_reversed_and_distant_cx_match_qiskit():
    """cx with control above target and non-adjacent qubits, gates on the lowest bit."""
    ops = [Gate("ry", (q,), [0.3 + 0.4 * q]) for q in range(5)]
    ops += [Gate("cx", (3, 0)), Gate("rz", (0,), [1.1]), Gate("cx", (1, 4)), Gate("cx", (4, 2)),
            Gate("ry", (4,), [-0.7])]
    circuit = Circuit("mixed", (Register("q", 5),), ops=ops)
    state = codegen.run_generated(_compile_or_skip(circuit), 5)
    np.testing.assert_allclose(state, Statevector(to_qiskit(circuit)).data, rtol=0, atol=1e-12)
