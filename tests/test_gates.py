"""The gate library against Qiskit's own gate definitions."""

import numpy as np
import pytest
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator

from qcompile.ir import GATES, Gate, gate_matrix
from qcompile.ir.expr import evaluate

QISKIT = get_standard_gate_name_mapping()
ALIASES = {"U": "u", "CX": "cx", "phase": "p", "cphase": "cp"}


def _qiskit_operator(name, params):
    qname = ALIASES.get(name, name)
    if qname == "iswapdg":
        return Operator(QISKIT["iswap"]).adjoint()
    gate = QISKIT[qname]
    return Operator(gate.base_class(*params) if len(params) else gate)


@pytest.mark.parametrize("name", sorted(GATES))
def test_matrix_equals_qiskit_exactly(name):
    rng = np.random.default_rng(0)
    spec = GATES[name]
    params = rng.uniform(-4, 4, spec.num_params)
    np.testing.assert_allclose(gate_matrix(name, params), _qiskit_operator(name, params).data,
                               atol=1e-12)


@pytest.mark.parametrize("name", sorted(GATES))
def test_batched_matrices_match_one_at_a_time(name):
    spec = GATES[name]
    if not spec.num_params:
        return
    rng = np.random.default_rng(1)
    batch = rng.uniform(-4, 4, (spec.num_params, 6))
    stacked = gate_matrix(name, list(batch))
    assert stacked.shape == (6, 2 ** spec.num_qubits, 2 ** spec.num_qubits)
    for i in range(6):
        np.testing.assert_allclose(stacked[i], gate_matrix(name, batch[:, i]), atol=1e-14)


@pytest.mark.parametrize("name", sorted(GATES))
def test_inverse_is_the_adjoint(name):
    rng = np.random.default_rng(2)
    spec = GATES[name]
    gate = Gate(name, tuple(range(spec.num_qubits)), list(rng.uniform(-4, 4, spec.num_params)))
    inverse = gate.inverse()
    values = [evaluate(p, {}) for p in inverse.params]
    np.testing.assert_allclose(gate_matrix(inverse.name, values),
                               gate_matrix(name, [p.value for p in gate.params]).conj().T,
                               atol=1e-12)


def test_diagonal_flag_is_truthful():
    rng = np.random.default_rng(3)
    for name, spec in GATES.items():
        m = gate_matrix(name, rng.uniform(-4, 4, spec.num_params))
        assert spec.diagonal == np.allclose(m, np.diag(np.diag(m))), name
