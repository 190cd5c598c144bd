"""split-independent, quantize-angles and quantize-weights against independent references.

Splitting must not change any output of a program (compared with the unsplit program and with
the Qiskit density-matrix reference in reference.py); angle quantization must stay within the
operator-norm bound its grid promises (judged with Qiskit's own gate matrices); weight
quantization must equal a numpy implementation of symmetric per-channel fake quantization.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector
from random_circuits import random_circuit, random_observables
from reference import final_density_matrix, outcome_distribution

import qcompile.passes.quantize  # noqa: F401  (registers quantize-angles, quantize-weights)
import qcompile.passes.split_independent  # noqa: F401  (registers split-independent)
from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.runner import run_program
from qcompile.cli import main
from qcompile.frontend.qm import parse_model
from qcompile.ir import (GATES, Barrier, Circuit, Condition, Const, Counts, ExpVal, Gate,
                         IfElse, Measure, PauliTerm, Probs, Program, QCompileError,
                         QuantumCall, Register, Reset, SetBits, State, TensorDecl, TensorOp,
                         Unitary, parse_program, print_program)
from qcompile.ir.expr import evaluate
from qcompile.ir.ops import walk
from qcompile.models import load_model
from qcompile.passes import PassManager
from qcompile.passes.quantize import bind_weight_scales, weight_scales
from qcompile.passes.split_independent import independent_groups

TOL = 1e-10


# --- split-independent -----------------------------------------------------------------------

def _shift(op, dq: int, dc: int):
    """The operation moved up by ``dq`` qubits and ``dc`` classical bits."""
    if isinstance(op, (Gate, Barrier)):
        return replace(op, qubits=tuple(q + dq for q in op.qubits))
    if isinstance(op, Unitary):
        return Unitary(op.matrix, tuple(q + dq for q in op.qubits), op.label)
    if isinstance(op, Measure):
        return Measure(op.qubit + dq, op.clbit + dc)
    if isinstance(op, Reset):
        return Reset(op.qubit + dq)
    if isinstance(op, SetBits):
        return SetBits(tuple(c + dc for c in op.clbits), op.value)
    return IfElse(Condition(tuple(c + dc for c in op.condition.clbits), op.condition.value),
                  [_shift(o, dq, dc) for o in op.then_body],
                  [_shift(o, dq, dc) for o in op.else_body])


def _side_by_side(blocks: list[Circuit]) -> Circuit:
    """Independent random blocks on disjoint qubits and bits, interleaved op by op, with a
    barrier across all of them in the middle (barriers must not join blocks)."""
    placed, dq, dc = [], 0, 0
    for block in blocks:
        placed.append([_shift(op, dq, dc) for op in block.ops])
        dq, dc = dq + block.num_qubits, dc + block.num_clbits
    ops = [op for layer in zip(*[iter(o) for o in placed]) for op in layer]
    ops += [op for o in placed for op in o[len(ops) // len(placed):]]
    ops.insert(len(ops) // 2, Barrier(tuple(range(dq))))
    cregs = (Register("c", dc),) if dc else ()
    return Circuit("blocks", (Register("q", dq),), cregs, blocks[0].params, ops)


def _pauli_operator(observable, num_qubits: int) -> SparsePauliOp:
    return SparsePauliOp.from_sparse_list(
        [("".join(p for _, p in t.paulis), [q for q, _ in t.paulis], t.coeff)
         for t in observable], num_qubits)


def _random_program(rng, dynamic: bool):
    sizes = [int(n) for n in rng.integers(1, 4, int(rng.integers(2, 4)))]
    blocks = [random_circuit(rng, n, int(rng.integers(6, 14)), dynamic=dynamic, symbolic=True,
                             num_clbits=1 + n % 2) for n in sizes]
    circuit = _side_by_side(blocks)
    n = circuit.num_qubits
    args = (("x", "x"), ("w", "w"))
    subset = tuple(int(q) for q in rng.permutation(n)[:max(2, n - 2)])
    calls = [QuantumCall("counts", "blocks", args, Counts(200)),  # seeded by its name
             QuantumCall("ev", "blocks", args, random_observables(rng, n, 4, 4)),
             QuantumCall("probs", "blocks", args, Probs()),
             QuantumCall("marginal", "blocks", args, Probs(subset))]
    if not dynamic:
        calls.append(QuantumCall("state", "blocks", args, State()))
    program = Program((TensorDecl("x", (2,)),), (TensorDecl("w", (3,)),), (circuit,), calls,
                      [c.result for c in calls])
    return program, len(blocks)


@pytest.mark.parametrize("dynamic", [False, True])
def test_split_random_blocks_keeps_every_output(dynamic):
    rng = np.random.default_rng(7 + dynamic)
    for case in range(12):
        program, num_blocks = _random_program(rng, dynamic)
        manager = PassManager("split-independent")
        split = manager.run(program)
        parts = manager.properties["split-independent"]["blocks"]
        assert parts >= num_blocks
        assert all(c.num_qubits <= 3 for c in split.circuits if c.name != "blocks")
        counts_call = split.body[0]
        assert counts_call.circuit == "blocks"  # sampling stays on the joint circuit
        assert sum(isinstance(s, QuantumCall) for s in split.body) > len(program.body)

        inputs = {"x": rng.uniform(-np.pi, np.pi, (3, 2))}
        weights = {"w": rng.uniform(-np.pi, np.pi, 3)}
        expected = run_program(program, inputs, weights, seed=5)
        got = run_program(split, inputs, weights, seed=5)
        for name in program.outputs:
            np.testing.assert_allclose(got[name], expected[name], atol=TOL, rtol=0,
                                       err_msg=f"case {case}, output {name}")

        # the same readouts from the independent density-matrix reference, first sample
        circuit = program.circuits[0]
        values = {"x": inputs["x"][0], "w": weights["w"]}
        rho = final_density_matrix(circuit, values)
        np.testing.assert_allclose(got["probs"][0], np.real(np.diag(rho)), atol=TOL)
        observables = program.body[1].output.observables
        reference = [np.real(np.trace(rho @ _pauli_operator(o, circuit.num_qubits).to_matrix()))
                     for o in observables]
        np.testing.assert_allclose(got["ev"][0], reference, atol=TOL)


WIDE_HQNN = """model hqnn_wide
input x[12]
weight w0[2, 4, 2]
weight w1[2, 4, 2]
weight w2[2, 4, 2]
weight head[2, 12]
weight head_bias[2]
circuit wide(f[12], a[2, 4, 2], b[2, 4, 2], c[2, 4, 2]) qubits 12 {
  angle_embedding(f, rotation=ry)
  hardware_efficient(a, entangler=cz) q[0], q[1], q[2], q[3]
  hardware_efficient(b, entangler=cz) q[4], q[5], q[6], q[7]
  hardware_efficient(c, entangler=cz) q[8], q[9], q[10], q[11]
  barrier
}
z = expval(wide(x, w0, w1, w2), Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11)
return softmax(linear(z, head, head_bias))
"""


def test_split_hqnn_parallel_as_one_wide_circuit_equals_the_zoo_model():
    """One 12-qubit circuit of three independent 4-qubit branches splits into three parts,
    each with only its own weights, and then computes exactly what the zoo's hqnn-parallel
    (three separate circuit calls) computes."""
    wide = parse_model(WIDE_HQNN)
    manager = PassManager("split-independent")
    split = manager.run(wide)
    assert manager.properties["split-independent"] == {"wide": 3}
    assert [(c.num_qubits, [p.name for p in c.params]) for c in split.circuits] == [
        (4, ["f", "a"]), (4, ["f", "b"]), (4, ["f", "c"])]
    assert [s.op for s in split.body if isinstance(s, TensorOp)] == [
        "concat", "linear", "softmax"]  # Z_k lie on one part each: no products needed

    zoo = load_model("hqnn-parallel")
    rng = np.random.default_rng(3)
    inputs = {"x": rng.uniform(-np.pi, np.pi, (5, 12))}
    weights = {w.name: rng.uniform(-np.pi, np.pi, w.shape) for w in zoo.weights}
    expected = run_program(zoo, inputs, weights)
    for program in (wide, split):
        got = run_program(program, inputs, weights)
        np.testing.assert_allclose(got[program.outputs[0]], expected["classes"], atol=TOL)


def test_groups_follow_gates_measurements_and_conditions():
    ops = [Gate("h", (0,)), Measure(0, 0), IfElse(Condition((0,), 1), [Gate("x", (3,))]),
           Gate("cx", (1, 2)), Gate("h", (4,)), Barrier(()), Barrier((1, 4, 5)),
           Measure(5, 1), Measure(6, 1),             # two qubits write one bit: joined
           Gate("rx", (7,), [0.3])]
    circuit = Circuit("c", (Register("a", 4), Register("b", 4)), (Register("m", 3),), (), ops)
    assert independent_groups(circuit) == [((0, 3), (0,)), ((1, 2), ()), ((4,), ()),
                                           ((5, 6), (1,)), ((7,), ())]
    constants = ExpVal(((), (PauliTerm(2.0, ((1, "I"),)), PauliTerm(-0.5, ())),
                        (PauliTerm(1.5, ((0, "Z"), (2, "I"), (7, "X"))),)))
    program = Program(circuits=[circuit], body=[
        QuantumCall("p", "c", (), Probs((7, 3, 0, 4))),
        QuantumCall("e", "c", (), random_observables(np.random.default_rng(0), 8, 3, 5)),
        QuantumCall("k", "c", (), constants)], outputs=("p", "e", "k"))
    split = PassManager("split-independent").run(program)
    assert [c.name for c in split.circuits] == [f"c_part{k}" for k in range(5)]
    assert split.circuits[0].ops[2] == IfElse(Condition((0,), 1), [Gate("x", (1,))])
    assert Barrier(()) in split.circuits[1].ops and Barrier((0,)) in split.circuits[2].ops
    expected, got = run_program(program), run_program(split)
    for name in ("p", "e", "k"):
        np.testing.assert_allclose(got[name], expected[name], atol=TOL)
    np.testing.assert_allclose(got["k"][0, :2], [0.0, 1.5], atol=TOL)  # empty sum; identities
    rho = final_density_matrix(circuit)
    diagonal = np.real(np.diag(rho)).reshape([2] * 8)  # axis k is qubit 7 - k
    marginal = diagonal.sum(axis=(1, 2, 5, 6)).transpose(1, 3, 2, 0)  # q4 q0 q3 q7
    np.testing.assert_allclose(got["p"][0], marginal.reshape(-1), atol=TOL)


def test_split_leaves_what_it_cannot_or_should_not_split():
    entangled = Circuit("bell", (Register("q", 2),), (), (), [Gate("h", (0,)),
                                                              Gate("cx", (0, 1))])
    two_parts = Circuit("pair", (Register("q", 2),), (), (), [Gate("h", (0,)),
                                                              Gate("x", (1,))])
    program = Program(circuits=[entangled, two_parts], body=[
        QuantumCall("a", "bell", (), Probs()), QuantumCall("b", "pair", (), Counts(10))],
        outputs=("a", "b"))
    manager = PassManager("split-independent")
    assert manager.run(program) == program  # entangled, and counts are joint samples
    assert manager.properties["split-independent"] == {}

    wanted = replace(program, body=(QuantumCall("b", "pair", (), Probs()),), outputs=("b",))
    manager = PassManager("split-independent(min_parts=3)")
    assert manager.run(wanted) == wanted
    manager = PassManager("split-independent(min_parts=2)")
    assert manager.run(wanted) != wanted and manager.properties["split-independent"] == {
        "pair": 2}


def test_split_program_round_trips_through_the_textual_ir():
    program, _ = _random_program(np.random.default_rng(11), dynamic=True)
    split = PassManager("split-independent").run(program)
    assert parse_program(print_program(split)) == split


@pytest.mark.parametrize("options", ["min_parts=1", "min_parts=true", "min_parts=2.5",
                                     "parts=2"])
def test_split_rejects_bad_options(options):
    with pytest.raises(QCompileError, match="split-independent"):
        PassManager(f"split-independent({options})")


# --- quantize-angles -------------------------------------------------------------------------

#: The 2π-periodic (phase) parameters, as docs/passes.md lists them; all others are 4π.
PHASE_PARAMETERS = {("p", 0), ("phase", 0), ("u1", 0), ("cp", 0), ("cphase", 0), ("cu1", 0),
                    ("u2", 0), ("u2", 1), ("cu", 1), ("cu", 2), ("cu", 3), ("cu3", 1), ("cu3", 2),
                    *((name, i) for name in ("u", "U", "u3") for i in (1, 2))}


def _qiskit_gate_matrix(gate: Gate) -> np.ndarray:
    circuit = Circuit("g", (Register("q", max(gate.qubits) + 1),), (), (), [gate])
    return Operator(to_qiskit(circuit)).data


def angle_period(name: str, index: int) -> float:
    return GATES[name].angles[index].period


@pytest.mark.parametrize("name", sorted(n for n, s in GATES.items() if s.num_params))
def test_angle_period_is_the_exact_period_of_the_qiskit_matrix(name):
    spec = GATES[name]
    base = np.random.default_rng(2).uniform(-3, 3, spec.num_params)
    qubits = tuple(range(spec.num_qubits))
    for index in range(spec.num_params):
        period = angle_period(name, index)
        assert period == (2 * np.pi if (name, index) in PHASE_PARAMETERS else 4 * np.pi)
        matrix = _qiskit_gate_matrix(Gate(name, qubits, base))
        for shift, same in ((period, True), (period / 2, False)):
            moved = base.copy()
            moved[index] += shift
            assert np.allclose(_qiskit_gate_matrix(Gate(name, qubits, moved)), matrix,
                               atol=1e-12) == same, (name, index, shift)


def _gate_pairs(original: Circuit, quantized: Circuit):
    before = [op for op in walk(original.ops) if isinstance(op, Gate)]
    after = [op for op in walk(quantized.ops) if isinstance(op, Gate)]
    assert len(before) == len(after)
    return list(zip(before, after))


def _operator_distance(a: Gate, b: Gate) -> float:
    return float(np.linalg.norm(_qiskit_gate_matrix(a) - _qiskit_gate_matrix(b), 2))


@pytest.mark.parametrize("bits", [3, 8])
def test_quantized_angles_lie_on_the_grid_within_half_a_step(bits):
    rng = np.random.default_rng(bits)
    seen = 0
    for _ in range(40):
        circuit = random_circuit(rng, 3, 15, dynamic=True, symbolic=True)
        quantized = PassManager(f"quantize-angles(bits={bits})").run(
            Program.from_circuit(circuit)).circuits[0]
        for old, new in _gate_pairs(circuit, quantized):
            assert (old.name, old.qubits) == (new.name, new.qubits)
            constant = 0
            for index, (a, b) in enumerate(zip(old.params, new.params)):
                if not isinstance(b, Const):
                    assert b == a  # symbolic angles are untouched
                    continue
                constant += 1
                period = angle_period(old.name, index)
                step = period / 2 ** bits
                k = round(b.value / step)
                assert b.value == k * step and -2 ** (bits - 1) <= k < 2 ** (bits - 1)
                original = float(evaluate(a, {}))
                error = (b.value - original + period / 2) % period - period / 2
                assert abs(error) <= period / 2 ** (bits + 1) * (1 + 1e-12)
                seen += 1
            if constant and all(isinstance(p, Const) for p in new.params):
                assert _operator_distance(old, new) <= constant * np.pi / 2 ** bits + 1e-12
    assert seen > 200


def _total_bound(circuit: Circuit, quantized: Circuit) -> float:
    """Σ over gates of ||U - U'||: bounds the total variation of the measurement records
    and the trace distance of the final states (each gate moves the channel that far)."""
    return sum(_operator_distance(a, b) for a, b in _gate_pairs(circuit, quantized) if a != b)


def test_quantized_circuits_stay_within_the_summed_gate_errors():
    rng = np.random.default_rng(21)
    largest = 0.0
    for _ in range(30):
        circuit = random_circuit(rng, 3, 14, dynamic=True)
        quantized = PassManager("quantize-angles(bits=4)").run(
            Program.from_circuit(circuit)).circuits[0]
        bound = _total_bound(circuit, quantized)
        p, q = outcome_distribution(circuit), outcome_distribution(quantized)
        variation = sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q)) / 2
        trace_distance = np.abs(np.linalg.eigvalsh(
            final_density_matrix(circuit) - final_density_matrix(quantized))).sum() / 2
        assert variation <= bound + 1e-9 and trace_distance <= bound + 1e-9
        largest = max(largest, variation)
    assert largest > 1e-3  # 4 bits is coarse enough to be seen


def test_fidelity_degrades_with_fewer_bits_as_bounded():
    rng = np.random.default_rng(8)
    circuits = [random_circuit(rng, 3, 16, dynamic=False) for _ in range(25)]
    mean_infidelity = {}
    for bits in (2, 4, 6, 8, 12):
        losses = []
        for circuit in circuits:
            quantized = PassManager(f"quantize-angles(bits={bits})").run(
                Program.from_circuit(circuit)).circuits[0]
            bound = _total_bound(circuit, quantized)
            fidelity = abs(Statevector(to_qiskit(circuit)).inner(
                Statevector(to_qiskit(quantized)))) ** 2
            if bound < math.sqrt(2):  # |<ψ|ψ'>| >= 1 - ||ψ - ψ'||²/2 >= 1 - bound²/2
                assert fidelity >= (1 - bound ** 2 / 2) ** 2 - 1e-12
            losses.append(1 - fidelity)
        mean_infidelity[bits] = np.mean(losses)
    values = [mean_infidelity[b] for b in sorted(mean_infidelity)]
    assert all(a > b for a, b in zip(values, values[1:])), mean_infidelity
    assert mean_infidelity[12] < 1e-5 < mean_infidelity[4]


@pytest.mark.parametrize("options", ["bits=0", "bits=33", "bits=true", "bits=2.5", "bits=x"])
def test_quantize_angles_rejects_bad_bits(options):
    with pytest.raises(QCompileError, match="quantize-angles"):
        PassManager(f"quantize-angles({options})")


def test_quantize_angles_rejects_a_non_finite_angle():
    circuit = Circuit("c", (Register("q", 1),), (), (), [Gate("rx", (0,), [Const(math.inf)])])
    with pytest.raises(QCompileError, match="non-finite angle"):
        PassManager("quantize-angles").run(Program.from_circuit(circuit))


# --- quantize-weights ------------------------------------------------------------------------

def fake_quantized(weight: np.ndarray, bits: int, per_channel: bool) -> np.ndarray:
    """Symmetric fake quantization (the whitepaper's scheme): per output row or per tensor,
    scale = max|w| / (2**(b-1) - 1), q = clip(round(w / scale), -2**(b-1), 2**(b-1) - 1)."""
    top = 2 ** (bits - 1) - 1
    largest = np.abs(weight).max(axis=1, keepdims=True) if per_channel else np.abs(weight).max()
    scale = np.where(largest > 0, largest / top, 1.0)
    return np.clip(np.round(weight / scale), -top - 1, top) * scale


MLP = """model mlp
input x[5]
weight w1[4, 5]
weight b1[4]
weight w2[3, 4]
a = linear(x, w1, b1)
return add(linear(tanh(a), w2), linear(relu(a), w2)), linear(x, 2 * w1)
"""


def _mlp_reference(x, w, bits, per_channel):
    w1, w2 = (fake_quantized(w[k], bits, per_channel) for k in ("w1", "w2"))
    a = x @ w1.T + w["b1"]
    y = np.tanh(a) @ w2.T + np.maximum(a, 0) @ w2.T
    return y, x @ (2 * w["w1"]).T  # a computed weight operand is not quantized


@pytest.mark.parametrize("bits, per_channel", [(8, True), (8, False), (4, True)])
def test_quantized_mlp_equals_numpy_fake_quantization(bits, per_channel):
    program = parse_model(MLP)
    manager = PassManager(f"quantize-weights(bits={bits}, per_channel="
                          f"{str(per_channel).lower()})")
    quantized = manager.run(program)
    assert manager.properties["quantize-weights"] == {"w1": "w1_scale", "w2": "w2_scale"}
    assert [(w.name, w.shape, w.trainable) for w in quantized.weights[3:]] == [
        ("w1_scale", (4, 1) if per_channel else (), False),
        ("w2_scale", (3, 1) if per_channel else (), False)]
    assert [s.op for s in quantized.body].count("quantize") == 2  # w2 is quantized once

    rng = np.random.default_rng(bits)
    weights = {w.name: rng.normal(size=w.shape) for w in program.weights}
    weights["w1"][2] = 0.0  # an all-zero channel stays exactly zero
    x = rng.normal(size=(6, 5))
    got = run_program(quantized, {"x": x}, bind_weight_scales(quantized, weights))
    exact = run_program(program, {"x": x}, weights)
    reference = _mlp_reference(x, weights, bits, per_channel)
    for name, expected in zip(program.outputs, reference):
        np.testing.assert_allclose(got[name], expected, atol=1e-12, rtol=0)
    assert np.abs(got[program.outputs[0]] - exact[program.outputs[0]]).max() > 1e-6


def test_quantized_head_of_a_hybrid_model_and_text_round_trip():
    program = load_model("hqnn-parallel")
    quantized = parse_program(print_program(PassManager("quantize-weights").run(program)))
    rng = np.random.default_rng(4)
    weights = {w.name: rng.uniform(-1, 1, w.shape) for w in program.weights}
    inputs = {"x": rng.uniform(-np.pi, np.pi, (4, 12))}
    got = run_program(quantized, inputs, bind_weight_scales(quantized, weights))
    with_quantized_head = dict(weights, head=fake_quantized(weights["head"], 8, True))
    expected = run_program(program, inputs, with_quantized_head)
    np.testing.assert_allclose(got["classes"], expected["classes"], atol=1e-12, rtol=0)


def test_quantize_weights_errors_name_the_problem():
    with pytest.raises(QCompileError, match="bits must be an integer from 2"):
        PassManager("quantize-weights(bits=1)")
    with pytest.raises(QCompileError, match="per_channel must be true or false"):
        PassManager("quantize-weights(per_channel=3)")
    quantized = PassManager("quantize-weights").run(parse_model(MLP))
    weights = {"w1": np.ones((4, 5)), "b1": np.zeros(4), "w2": np.ones((3, 4))}
    with pytest.raises(QCompileError, match="w1_scale"):
        run_program(quantized, {"x": np.ones(5)}, weights)  # scales not bound
    with pytest.raises(QCompileError, match="'w2' is not given"):
        bind_weight_scales(quantized, {"w1": np.ones((4, 5))})
    with pytest.raises(QCompileError, match="'w1' has shape"):
        bind_weight_scales(quantized, dict(weights, w1=np.ones((5, 4))))


def test_weight_scales_name_each_scale_and_the_weight_it_quantizes():
    assert weight_scales(parse_model(MLP)) == {}
    quantized = PassManager("quantize-weights").run(parse_model(MLP))
    assert weight_scales(quantized) == {"w1_scale": "w1", "w2_scale": "w2"}


def test_the_cli_quantizes_the_weights_it_is_given_and_never_random_ones(tmp_path, capsys):
    """Scales come from the --weights values (a stale scale in the file is recomputed);
    without --weights the run is refused, since random scales quantize nothing meaningful."""
    model = tmp_path / "mlp.qm"
    model.write_text(MLP)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(6, 5))
    weights = {w.name: rng.normal(size=w.shape) for w in parse_model(MLP).weights}
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "w.npz", **weights, w1_scale=np.full((4, 1), 99.0))
    run = ["run", str(model), "--pipeline", "quantize-weights(bits=4)", "--inputs",
           str(tmp_path / "x.npy"), "--json"]
    assert main([*run, "--weights", str(tmp_path / "w.npz")]) == 0
    got = json.loads(capsys.readouterr().out)
    outputs = parse_model(MLP).outputs
    for name, expected in zip(outputs, _mlp_reference(x, weights, 4, True)):
        np.testing.assert_allclose(got[name], expected, atol=1e-12, rtol=0)

    assert main(run) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err
    assert "quantizes the weights w1, w2 (quantize-weights)" in err and "--weights FILE" in err
    np.savez(tmp_path / "w.npz", **{k: v for k, v in weights.items() if k != "w2"})
    assert main([*run, "--weights", str(tmp_path / "w.npz")]) == 2
    assert "weight 'w2' is not given" in capsys.readouterr().err
