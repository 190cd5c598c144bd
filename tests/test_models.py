"""The model zoo: every model verifies, and each computes what its paper says, checked with
independent references (closed forms, Qiskit circuits, the density-matrix reference)."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import RYGate, zz_feature_map
from qiskit.quantum_info import SparsePauliOp, Statevector

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.ir import QCompileError, verify_program
from qcompile.ir.parser import parse_program
from qcompile.ir.printer import print_program
from qcompile.models import list_models, load_model, model_source
from reference import final_density_matrix, outcome_distribution

SEED_MODELS = ["zz-vqc", "daruan", "zz-kernel", "qkan-layer", "qksan", "farhi-neven",
               "efficientsu2-vqc", "quanv", "qrnn-cell", "qcnn", "qvf", "hqnn-parallel",
               "dressed-circuit", "qdsformer"]


def test_zoo_lists_the_seed_models_with_descriptions():
    models = list_models()
    assert set(SEED_MODELS) <= set(models)
    assert all(description for description in models.values())


@pytest.mark.parametrize("name", sorted(list_models()))
def test_every_model_verifies_and_round_trips_through_the_textual_ir(name):
    program = load_model(name)
    verify_program(program)
    assert load_model(f"zoo:{name}") == program
    assert parse_program(print_program(program)) == program
    assert model_source(name).lstrip().startswith("#")


def test_missing_model_lists_the_available_ones():
    with pytest.raises(QCompileError) as info:
        load_model("zoo:nope")
    assert "'nope'" in info.value.message and "zz-vqc" in info.value.message


def _rz(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def _ry(t):
    return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]])


def daruan_closed_form(x, w, b, theta):
    """<Z> of W_L+1 RZ(w_L x + b_L) ... RZ(w_1 x + b_1) W_1 |0>, W = RZ RY RZ (Euler)."""
    def euler(t):
        return _rz(t[2]) @ _ry(t[1]) @ _rz(t[0])
    psi = euler(theta[0]) @ np.array([1, 0], dtype=complex)
    for layer in range(len(w)):
        psi = euler(theta[layer + 1]) @ _rz(w[layer] * x + b[layer]) @ psi
    return abs(psi[0]) ** 2 - abs(psi[1]) ** 2


def test_daruan_matches_the_closed_form(rng):
    program = load_model("daruan")
    circuit = program.circuit("activation")
    for _ in range(5):
        values = {"x": rng.uniform(-2, 2), "w": rng.normal(size=4), "b": rng.normal(size=4),
                  "theta": rng.uniform(-np.pi, np.pi, (5, 3))}
        state = Statevector(to_qiskit(circuit, values))
        expected = daruan_closed_form(**values)
        assert np.isclose(state.expectation_value(SparsePauliOp("Z")).real, expected)


def test_zz_vqc_parity_matches_a_qiskit_classifier(rng):
    circuit = load_model("zz-vqc").circuit("classifier")
    for _ in range(4):
        x, theta = rng.uniform(0, 2 * np.pi, 2), rng.uniform(-np.pi, np.pi, (2, 2, 2))
        reference = zz_feature_map(2, reps=2)
        reference = reference.assign_parameters(dict(zip(reference.parameters, x)))
        for layer in range(2):
            for i in range(2):
                reference.ry(theta[layer, i, 0], i)
                reference.rz(theta[layer, i, 1], i)
            reference.cz(0, 1)
        parity = SparsePauliOp("ZZ")
        ours = Statevector(to_qiskit(circuit, {"x": x, "theta": theta}))
        assert np.isclose(ours.expectation_value(parity), Statevector(reference)
                          .expectation_value(parity))


def test_zz_kernel_matches_qiskit_state_overlap(rng):
    circuit = load_model("zz-kernel").circuit("feature_map")
    x1, x2 = rng.uniform(0, 2 * np.pi, (2, 2))

    def qiskit_state(x):
        fm = zz_feature_map(2, reps=2)
        return Statevector(fm.assign_parameters(dict(zip(fm.parameters, x)))).data

    ours = [Statevector(to_qiskit(circuit, {"v": v})).data for v in (x1, x2)]
    expected = abs(np.vdot(qiskit_state(x2), qiskit_state(x1))) ** 2
    assert np.isclose(abs(np.vdot(ours[1], ours[0])) ** 2, expected)
    assert np.isclose(abs(np.vdot(ours[0], ours[0])) ** 2, 1.0)


def test_qksan_score_and_value_follow_the_kernel(rng):
    """The score record is 00 with the kernel's probability; the value register's Z
    expectations are those of the deferred circuit (score qubits as quantum controls, the
    feed-forward on c == 0 as a rotation controlled on |00>), built in Qiskit."""
    circuit = load_model("qksan").circuit("attention")
    query, key, v = rng.uniform(-np.pi, np.pi, (3, 2))
    theta = rng.uniform(-np.pi, np.pi, 4)
    values = {"query": query, "key": key, "v": v, "theta": theta}

    def encoder(a):  # U(a) = rx-layer . cz . ry-layer
        qc = QuantumCircuit(2)
        for i in range(2):
            qc.ry(a[i], i)
        qc.cz(0, 1)
        for i in range(2):
            qc.rx(a[i], i)
        return qc

    kernel = abs(np.vdot(Statevector(encoder(key)).data,
                         Statevector(encoder(query)).data)) ** 2
    assert np.isclose(outcome_distribution(circuit, values).get((0, 0), 0.0), kernel)
    deferred = QuantumCircuit(4)
    deferred.compose(encoder(query), [0, 1], inplace=True)
    deferred.compose(encoder(key).inverse(), [0, 1], inplace=True)
    for i in range(2):
        deferred.ry(v[i], 2 + i)
        deferred.cry(theta[i], i, 2 + i)
    deferred.append(RYGate(theta[2]).control(2, ctrl_state=0, annotated=False), [0, 1, 2])
    deferred.cx(2, 3)
    deferred.ry(theta[3], 3)
    rho = final_density_matrix(circuit, values)
    for label in ("IZII", "ZIII"):
        expected = Statevector(deferred).expectation_value(SparsePauliOp(label)).real
        assert np.isclose(np.real(np.trace(rho @ SparsePauliOp(label).to_matrix())), expected)


def test_qkan_layer_sums_edge_activations(rng):
    program = load_model("qkan-layer")
    circuit = program.circuit("edges")
    x = rng.uniform(-1, 1, 2)
    w, b = rng.normal(size=(2, 2, 3)), rng.normal(size=(2, 2, 3))
    theta = rng.uniform(-np.pi, np.pi, (2, 2, 4, 3))
    state = Statevector(to_qiskit(circuit, {"x": x, "w": w, "b": b, "theta": theta}))
    for i in range(2):
        for j in range(2):
            label = ["I"] * 4
            label[3 - (2 * i + j)] = "Z"
            expected = daruan_closed_form(x[i], w[i, j], b[i, j], theta[i, j])
            assert np.isclose(state.expectation_value(SparsePauliOp("".join(label))).real,
                              expected)
