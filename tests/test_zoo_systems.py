"""Seed systems of the model zoo, each checked against a reference that does not go through
qcompile's simulator: the same circuit written by hand in Qiskit (``Statevector``,
``Operator``, ``DensityMatrix``, ``PauliEvolutionGate``, ``efficient_su2``) with the classical
ops in plain numpy. Each model also runs to the same outputs after -O2 and a trip through the
textual IR, and gradients match finite differences through dynamic and unitary circuits."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import efficient_su2
from qiskit.quantum_info import DensityMatrix, Operator, SparsePauliOp, Statevector

from finite_differences import assert_gradients_close, gradients_by_differences
from qcompile.backends.gradients import program_vjp
from qcompile.backends.runner import run_program
from qcompile.ir.parser import parse_program
from qcompile.ir.printer import print_program
from qcompile.models import list_models, load_model
from qcompile.passes import preset
from reference import outcome_distribution

BATCH = 3


def pauli(n: int, factors: dict[int, str]) -> SparsePauliOp:
    """The Pauli string with ``factors[q]`` on qubit q (Qiskit labels are big-endian)."""
    return SparsePauliOp("".join(factors.get(q, "I") for q in reversed(range(n))))


def z_expvals(state, qubits) -> np.ndarray:
    return np.array([state.expectation_value(pauli(state.num_qubits, {q: "Z"})).real
                     for q in qubits])


def linear(x, w, b):
    return w @ x + b


def softmax(y):
    e = np.exp(y - y.max())
    return e / e.sum()


# --- hand-written references, one sample at a time ---------------------------------------

def farhi_neven(x, theta):
    """Basis state |x>|1>, exp(i theta Z_j X_r) then exp(i theta X_j X_r); <Y_r>.
    As P^2 = 1, exp(i theta P) = cos(theta) + i sin(theta) P."""
    qc = QuantumCircuit(5)
    for j in np.flatnonzero(x):
        qc.x(int(j))
    qc.x(4)
    for layer, data_pauli in enumerate("ZX"):
        for j in range(4):
            generator = pauli(5, {j: data_pauli, 4: "X"}).to_matrix()
            t = theta[layer, j]
            qc.unitary(np.cos(t) * np.eye(32) + 1j * np.sin(t) * generator, range(5))
    return {"label": Statevector(qc).expectation_value(pauli(5, {4: "Y"})).real}


def efficientsu2_vqc(x, theta):
    qc = QuantumCircuit(5)
    for k in range(5):
        qc.ry(x[k], k)
    ansatz = efficient_su2(5, reps=2, entanglement="full")
    flat = np.concatenate([np.concatenate([layer[:, 0], layer[:, 1]]) for layer in theta])
    qc.compose(ansatz.assign_parameters(flat), inplace=True)
    return {"score": z_expvals(Statevector(qc), [0])[0]}


def quanv_random_layer() -> np.ndarray:
    """The recipe the model file documents for its fixed angles R[layer, (ry, rz), qubit]."""
    return np.random.default_rng(2023).uniform(0, 2 * np.pi, (2, 2, 4)).round(4)


def quanv(patch):
    qc = QuantumCircuit(4)
    for k in range(4):
        qc.ry(np.pi * patch[k], k)
    for layer, (ry_angles, rz_angles) in enumerate(quanv_random_layer()):
        for k in range(4):
            qc.ry(ry_angles[k], k)
        for k in range(4):
            qc.rz(rz_angles[k], k)
        if layer == 0:
            for k in range(4):
                qc.cx(k, (k + 1) % 4)
    return {"channels": z_expvals(Statevector(qc), range(4))}


def qrnn_step(x_t, w) -> QuantumCircuit:
    """One cell step on the hidden register q0, q1 and an input qubit q2."""
    qc = QuantumCircuit(3)
    qc.ry(x_t, 2)
    qc.cry(w[0], 2, 0)
    qc.cry(w[1], 2, 1)
    qc.cx(0, 1)
    qc.ry(w[2], 0)
    qc.ry(w[3], 1)
    qc.cx(1, 2)
    return qc


def qrnn_cell(x, w, readout, bias):
    """The cell on 3 qubits with the input qubit reset after each step, the form reuse gives
    the model (which writes a fresh input qubit per step, measured and never touched again):
    for the hidden register both are the same channel (Qiskit's DensityMatrix applies reset)."""
    rho = DensityMatrix.from_label("000")
    for t in range(3):
        step = qrnn_step(x[t], w)
        step.reset(2)
        rho = rho.evolve(step)
    return {"y": linear(z_expvals(rho, [0, 1]), readout, bias)}


def conv(qc, qubits, t):
    for first in (0, 1):
        for a, b in zip(qubits[first::2], qubits[first + 1::2]):
            qc.ry(t[0], a)
            qc.ry(t[1], b)
            qc.cx(a, b)
            qc.ry(t[2], a)
            qc.ry(t[3], b)


def pool(qc, qubits, t, reset_discarded=False):
    for keep, drop in zip(qubits[0::2], qubits[1::2]):
        qc.crz(t[0], drop, keep)
        qc.x(drop)
        qc.crx(t[1], drop, keep)
        qc.x(drop)
        if reset_discarded:
            qc.reset(drop)
    return qubits[0::2]


def qcnn_circuit(x, conv_w, pool_w, reset_discarded=False) -> QuantumCircuit:
    qc = QuantumCircuit(8)
    for k in range(8):
        qc.ry(x[k], k)
    qubits = list(range(8))
    for layer in range(3):
        conv(qc, qubits, conv_w[layer])
        qubits = pool(qc, qubits, pool_w[layer], reset_discarded)
    return qc


def qcnn(x, conv, pool):
    return {"score": z_expvals(Statevector(qcnn_circuit(x, conv, pool)), [0])[0]}


def qvf(coord, embed, embed_bias, theta):
    amp = linear(coord, embed, embed_bias)
    state = Statevector(amp / np.linalg.norm(amp))
    qc = QuantumCircuit(3)
    for layer in range(2):
        for k in range(3):
            qc.ry(theta[layer, k], k)
        qc.cz(0, 1)
        qc.cz(1, 2)
    return {"p": state.evolve(qc).probabilities()}


def hqnn_parallel(x, w0, w1, w2, head, head_bias):
    features = []
    for branch, w in enumerate((w0, w1, w2)):
        qc = QuantumCircuit(4)
        for k in range(4):
            qc.ry(x[4 * branch + k], k)
        for layer in range(2):
            if layer:
                for k in range(3):
                    qc.cz(k, k + 1)
            for k in range(4):
                qc.ry(w[layer, k, 0], k)
            for k in range(4):
                qc.rz(w[layer, k, 1], k)
        features.append(z_expvals(Statevector(qc), range(4)))
    return {"classes": softmax(linear(np.concatenate(features), head, head_bias))}


def dressed_circuit(x, w_in, b_in, theta, w_out, b_out):
    angles = np.pi / 2 * np.tanh(linear(x, w_in, b_in))
    qc = QuantumCircuit(4)
    qc.h(range(4))
    for k in range(4):
        qc.ry(angles[k], k)
    for layer in range(3):
        for k in range(3):
            qc.cx(k, k + 1)
        for k in range(4):
            qc.ry(theta[layer, k], k)
    return {"y": linear(z_expvals(Statevector(qc), range(4)), w_out, b_out)}


def qds_unitary(x, theta) -> np.ndarray:
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    for layer in range(2):
        for k in range(2):
            qc.ry(theta[layer, k, 0], k)
        for k in range(2):
            qc.rz(theta[layer, k, 1], k)
        qc.cx(0, 1)
    return Operator(qc).data


def qdsformer(x, v, theta):
    attention = np.abs(qds_unitary(x, theta)) ** 2  # [i, j] = |<i|U|j>|^2
    return {"attention": attention, "out": attention @ v}


REFERENCES = {
    "farhi-neven": farhi_neven,
    "efficientsu2-vqc": efficientsu2_vqc,
    "quanv": quanv,
    "qrnn-cell": qrnn_cell,
    "qcnn": qcnn,
    "qvf": qvf,
    "hqnn-parallel": hqnn_parallel,
    "dressed-circuit": dressed_circuit,
    "qdsformer": qdsformer,
}


def sample(program, rng) -> tuple[dict, dict]:
    """A batch of inputs (binary for the basis-state encoded Farhi-Neven model) and weights."""
    def draw(shape):
        if program.name == "farhi_neven":
            return rng.integers(0, 2, shape).astype(float)
        return rng.uniform(-1, 1, shape)
    inputs = {d.name: draw((BATCH, *d.shape)) for d in program.inputs}
    weights = {d.name: rng.uniform(-np.pi, np.pi, d.shape) for d in program.weights}
    return inputs, weights


def reference_outputs(name, inputs, weights) -> dict[str, np.ndarray]:
    per_sample = [REFERENCES[name](**{k: v[b] for k, v in inputs.items()}, **weights)
                  for b in range(BATCH)]
    return {key: np.array([s[key] for s in per_sample]) for key in per_sample[0]}


def assert_outputs_match(program, inputs, weights, expected):
    outputs = run_program(program, inputs, weights)
    assert set(outputs) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(outputs[key].reshape(value.shape), value, atol=1e-10,
                                   err_msg=key)


def test_the_systems_are_in_the_zoo():
    assert set(REFERENCES) <= set(list_models())


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_model_matches_its_hand_written_reference(name, rng):
    program = load_model(name)
    inputs, weights = sample(program, rng)
    assert_outputs_match(program, inputs, weights, reference_outputs(name, inputs, weights))


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_optimized_and_reparsed_model_still_matches(name, rng):
    program = load_model(name)
    optimized = parse_program(print_program(preset(2).run(program)))
    inputs, weights = sample(program, rng)
    assert_outputs_match(optimized, inputs, weights, reference_outputs(name, inputs, weights))


# --- structural properties the papers state ----------------------------------------------

@pytest.mark.parametrize("subset", [(0, 2, 3), (1,)])
def test_farhi_neven_represents_subset_parity(subset):
    """Farhi & Neven: ZX angles pi/4 on a subset S (0 elsewhere) rotate the readout by
    (pi/4) sum_{j in S} (-1)^{z_j}, so <Y_r> = -sin(pi |S| / 2) (-1)^{parity of z on S}."""
    program = load_model("farhi-neven")
    theta = np.zeros((2, 4))
    theta[0, list(subset)] = np.pi / 4
    x = np.array([[(z >> j) & 1 for j in range(4)] for z in range(16)], dtype=float)
    label = run_program(program, {"x": x}, {"theta": theta})["label"][:, 0]
    parity = x[:, list(subset)].sum(axis=1) % 2
    np.testing.assert_allclose(label, -np.sin(np.pi * len(subset) / 2) * (-1) ** parity,
                               atol=1e-12)


def test_quanv_has_no_trainable_weights_and_filters_a_whole_image(rng):
    """The random layer is fixed; the 16 2x2 patches (stride 2) of an 8x8 image run as one
    batch, each filtered as its reference says (a 4 x 4 x 4 feature map)."""
    program = load_model("quanv")
    assert not program.weights
    image = rng.uniform(0, 1, (8, 8))
    patches = image.reshape(4, 2, 4, 2).transpose(0, 2, 1, 3).reshape(16, 4)
    channels = run_program(program, {"patch": patches})["channels"]
    np.testing.assert_allclose(channels, [quanv(p)["channels"] for p in patches], atol=1e-10)


def test_qdsformer_attention_is_doubly_stochastic(rng):
    program = load_model("qdsformer")
    inputs, weights = sample(program, rng)
    attention = run_program(program, inputs, weights)["attention"]
    assert np.all(attention >= -1e-12)
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(attention.sum(axis=2), 1.0, atol=1e-12)


def test_qcnn_pooling_releases_the_discarded_qubits(rng):
    """Resetting every discarded qubit right after its pooling step leaves the readout
    unchanged: later layers act only on the kept qubits."""
    program = load_model("qcnn")
    inputs, weights = sample(program, rng)
    score = run_program(program, inputs, weights)["score"][:, 0]
    for b in range(BATCH):
        released = DensityMatrix.from_label("0" * 8).evolve(
            qcnn_circuit(inputs["x"][b], weights["conv"], weights["pool"], True))
        assert np.isclose(z_expvals(released, [0])[0], score[b], atol=1e-10)


def test_qrnn_measures_each_step_output_on_the_input_qubit(rng):
    """The first record bit y_0 has the probability of |1> on q2 after one cell step, and the
    three records form a distribution."""
    circuit = load_model("qrnn-cell").circuit("rnn")
    x, w = rng.uniform(-1, 1, 3), rng.uniform(-np.pi, np.pi, 4)
    records = outcome_distribution(circuit, {"x": x, "w": w})
    assert np.isclose(sum(records.values()), 1.0)
    first = Statevector(qrnn_step(x[0], w)).probabilities([2])[1]
    assert np.isclose(sum(p for bits, p in records.items() if bits[0] == 1), first)


# --- gradients ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["qrnn-cell", "dressed-circuit"])
def test_gradients_match_finite_differences(name, rng):
    """qrnn-cell differentiates a dynamic circuit (parameter shifts), dressed-circuit a
    unitary one between classical layers (adjoint), inputs and weights alike."""
    program = load_model(name)
    inputs, weights = sample(program, rng)
    (output,) = program.outputs
    cotangent = rng.normal(size=run_program(program, inputs, weights)[output].shape)

    def per_sample_loss(values):
        result = run_program(program, {k: values[k] for k in inputs},
                             {k: values[k] for k in weights})[output]
        return (result * cotangent).reshape(BATCH, -1).sum(axis=1)

    input_grads, weight_grads = program_vjp(program, inputs, weights, {output: cotangent})
    expected = gradients_by_differences(per_sample_loss, {**inputs, **weights}, set(inputs))
    assert_gradients_close({**input_grads, **weight_grads}, expected, rtol=1e-5)
