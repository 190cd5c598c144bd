"""Seed models end to end: model language → passes → OpenQASM 3 → simulation of a batch,
checked against qiskit-aer running the emitted OpenQASM."""

from __future__ import annotations

import numpy as np
import pytest
import qiskit.qasm3
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.primitives import EstimatorV2

from qcompile.backends.qasm3 import emit_qasm3
from qcompile.backends.names import parameter_name
from qcompile.backends.runner import init_weights, run_program
from qcompile.backends.statevector import simulate
from qcompile.ir import ExpVal, QuantumCall, Symbol
from qcompile.models import load_model
from qcompile.passes import preset

BATCH = 256


def _sparse_pauli_op(observable, num_qubits: int) -> SparsePauliOp:
    terms = [("".join(p for _, p in term.paulis) or "I", [q for q, _ in term.paulis],
              term.coeff) for term in observable]
    return SparsePauliOp.from_sparse_list(terms, num_qubits)


def _parameter_array(circuit, qiskit_circuit, values, batch):
    """Aer's parameter array (batch, #params) in the order of the loaded circuit."""
    by_name = {}
    for param in circuit.params:
        array = np.asarray(values[param.name])
        batched = array.ndim == len(param.shape) + 1
        for index in np.ndindex(*param.shape):
            column = array[(slice(None), *index)] if batched else np.full(batch, array[index])
            by_name[parameter_name(Symbol(param.name, index))] = column
    return np.stack([by_name[p.name] for p in qiskit_circuit.parameters], axis=-1)


@pytest.mark.parametrize("model", ["zz-vqc", "daruan"])
@pytest.mark.parametrize("level", [0, 2])
def test_model_batch_matches_aer_on_emitted_openqasm(model, level):
    rng = np.random.default_rng(11)
    program = preset(level).run(load_model(model))
    inputs = {d.name: rng.uniform(-np.pi, np.pi, (BATCH, *d.shape)) for d in program.inputs}
    weights = init_weights(program, seed=5)
    calls = [s for s in program.body if isinstance(s, QuantumCall)]
    assert calls and all(isinstance(c.output, ExpVal) for c in calls)
    for call in calls:
        circuit = program.circuit(call.circuit)
        values = {param: {**inputs, **weights}[value] for param, value in call.args}
        ours = simulate(circuit, call.output, values)

        loaded = qiskit.qasm3.loads(emit_qasm3(circuit))
        observables = [_sparse_pauli_op(o, circuit.num_qubits) for o in call.output.observables]
        pub = (loaded, [[o] for o in observables],
               _parameter_array(circuit, loaded, values, BATCH))
        aer = EstimatorV2().run([pub]).result()[0].data.evs  # (k, batch), exact expvals
        np.testing.assert_allclose(ours, aer.T, atol=1e-10)


@pytest.mark.parametrize("model", ["zz-vqc", "daruan", "zz-kernel", "qkan-layer", "qksan"])
def test_every_optimization_level_computes_the_same_model(model):
    rng = np.random.default_rng(3)
    program = load_model(model)
    inputs = {d.name: rng.uniform(-np.pi, np.pi, (16, *d.shape)) for d in program.inputs}
    weights = init_weights(program, seed=1)
    expected = run_program(program, inputs, weights, seed=0)
    for level in (1, 2, 3):
        got = run_program(preset(level).run(program), inputs, weights, seed=0)
        for name in program.outputs:
            np.testing.assert_allclose(got[name], expected[name], atol=1e-10)
