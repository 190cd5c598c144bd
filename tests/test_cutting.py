"""Circuit cutting: each decomposition is an exact identity of channels, plans respect their
budget and are no worse than any qubit partition, and reconstruction from the fragments'
sub-experiments equals the uncut circuit (Qiskit ``Statevector``) to 1e-9."""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest
from qiskit import qasm3
from qiskit.quantum_info import SparsePauliOp, Statevector
from random_circuits import NARROW_GATE_NAMES, random_circuit, random_observables, random_values
from scipy.stats import unitary_group

from qcompile.backends.qasm3 import emit_qasm3
from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.cutting import (Experiments, estimate, find_cuts, gate_cut, reconstruct,
                              wire_cut)
from qcompile.cutting.decompositions import Measurement
from qcompile.cutting.plan import gate_cost
from qcompile.cutting.experiments import Readout, output_qubits
from qcompile.ir import (GATES, Circuit, ExpVal, Gate, Measure, PauliTerm, Probs, QCompileError,
                         Register)
from qcompile.ir.bind import bind
from qcompile.models import load_model

_P = (np.diag([1, 0]).astype(complex), np.diag([0, 1]).astype(complex))


def _apply(side, rho: np.ndarray, qubit: int, width: int) -> np.ndarray:
    """One side's steps on ``qubit`` of an operator (bit k of the index is qubit k)."""
    def lift(k):
        factors = [np.eye(2)] * width
        factors[width - 1 - qubit] = k
        return np.array(factors[0]) if width == 1 else np.kron(*factors)
    for step in side.steps:
        if isinstance(step, Measurement):
            rho = sum(w * lift(p) @ rho @ lift(p) for w, p in zip(step.weights, _P))
        else:
            rho = lift(step) @ rho @ lift(step).conj().T
    return rho


def _random_density(rng, dim: int) -> np.ndarray:
    a = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def _two_qubit_gates():
    return sorted(name for name, spec in GATES.items() if spec.num_qubits == 2)


@pytest.mark.parametrize("name", _two_qubit_gates())
def test_gate_cut_is_the_gate_channel(name, rng):
    spec = GATES[name]
    matrix = spec.matrix(*rng.uniform(-np.pi, np.pi, spec.num_params))
    decomposition = gate_cut(matrix)
    for _ in range(3):
        rho = _random_density(rng, 4)
        cut = sum(t.coefficient * _apply(t.second, _apply(t.first, rho, 0, 2), 1, 2)
                  for t in decomposition.terms)
        np.testing.assert_allclose(cut, matrix @ rho @ matrix.conj().T, atol=1e-10)


def test_gate_cut_of_random_unitaries(rng):
    for _ in range(20):
        matrix = unitary_group.rvs(4, random_state=rng)
        rho = _random_density(rng, 4)
        cut = sum(t.coefficient * _apply(t.second, _apply(t.first, rho, 0, 2), 1, 2)
                  for t in gate_cut(matrix).terms)
        np.testing.assert_allclose(cut, matrix @ rho @ matrix.conj().T, atol=1e-10)


@pytest.mark.parametrize("name", ["cx", "cy", "cz", "ch", "ecr"])
def test_clifford_entanglers_cost_three(name):
    assert gate_cut(GATES[name].matrix()).gamma == pytest.approx(3.0)


@pytest.mark.parametrize("theta", [0.0, 0.3, 1.2, np.pi / 2, 2.5, -0.7])
def test_rotation_costs_follow_their_angle(theta):
    assert gate_cut(GATES["rzz"].matrix(theta)).gamma == pytest.approx(1 + 2 * abs(np.sin(theta)))
    # crz(θ) is rzz(-θ/2) after a local rz: γ = 1 + 2|sin(θ/2)|
    assert gate_cut(GATES["crz"].matrix(theta)).gamma == pytest.approx(
        1 + 2 * abs(np.sin(theta / 2)))


def test_wire_cut_is_the_identity_channel(rng):
    decomposition = wire_cut()
    assert decomposition.gamma == pytest.approx(4.0)
    zero = np.diag([1, 0]).astype(complex)
    for _ in range(5):
        rho = _random_density(rng, 2)
        out = sum(t.coefficient * np.trace(_apply(t.first, rho, 0, 1))
                  * _apply(t.second, zero, 0, 1) for t in decomposition.terms)
        np.testing.assert_allclose(out, rho, atol=1e-12)


# --- reconstruction against the uncut circuit ----------------------------------------------------

def _reference(circuit: Circuit, values, output) -> np.ndarray:
    state = Statevector(to_qiskit(bind(circuit, values) if values else circuit))
    if isinstance(output, Probs):
        return state.probabilities()
    return np.array([sum(term.coeff * state.expectation_value(_pauli(term, circuit.num_qubits))
                         for term in observable).real for observable in output.observables])


def _pauli(term: PauliTerm, n: int) -> SparsePauliOp:
    label = ["I"] * n
    for q, p in term.paulis:
        label[n - 1 - q] = p
    return SparsePauliOp("".join(label))


def test_reconstruction_equals_the_uncut_circuit(rng):
    cuts = {"gate": 0, "wire": 0}
    for trial in range(200):
        n = int(rng.integers(3, 7))
        circuit = random_circuit(rng, num_qubits=n, length=int(rng.integers(4, 18)),
                                 dynamic=False, symbolic=True, names=NARROW_GATE_NAMES)
        values = {name: v for name, v in random_values(rng).items()
                  if circuit.param(name) is not None}
        budget = int(rng.integers(2, n))
        plan = find_cuts(circuit, budget, time_limit=5)
        assert all(len(fragment) <= budget for fragment in plan.fragments)
        for cut in plan.cuts:
            cuts[cut.kind] += 1
        output = random_observables(rng, n) if trial % 2 else Probs()
        np.testing.assert_allclose(reconstruct(plan, output, values),
                                   _reference(circuit, values, output), atol=1e-9)
    assert cuts["gate"] > 100 and cuts["wire"] > 5, cuts


def test_probabilities_of_some_qubits_in_their_order(rng):
    circuit = random_circuit(rng, num_qubits=5, length=14, dynamic=False,
                             names=NARROW_GATE_NAMES)
    plan = find_cuts(circuit, 3)
    full = _reference(circuit, None, Probs()).reshape((2,) * 5)
    # axes of ``full`` are qubits 4..0; index bit 0 of the result is qubit 3, bit 1 qubit 1
    expected = np.einsum("abcde->db", full).reshape(-1)
    np.testing.assert_allclose(reconstruct(plan, Probs((3, 1))), expected, atol=1e-9)


def test_sampled_estimates_lie_within_four_standard_errors(rng):
    inside = total = 0
    for trial in range(40):
        n = int(rng.integers(3, 6))
        circuit = random_circuit(rng, num_qubits=n, length=10, dynamic=False, symbolic=True,
                                 names=NARROW_GATE_NAMES)
        values = {name: v for name, v in random_values(rng).items()
                  if circuit.param(name) is not None}
        plan = find_cuts(circuit, int(rng.integers(2, n)))
        output = random_observables(rng, n, count=1) if trial % 2 else Probs()
        exact_value = _reference(circuit, values, output)
        found = estimate(plan, output, values, shots=2000, seed=trial)
        assert found.value.shape == exact_value.shape
        ok = np.abs(found.value - exact_value) <= 4 * found.standard_error + 1e-9
        inside, total = inside + ok.sum(), total + ok.size
    assert inside >= 0.99 * total


def test_allocated_shots_estimate_within_their_errors_and_beat_joint_sampling(monkeypatch):
    """Few sub-experiments for the shots: each gets its own (the allocation path); its
    estimates lie within 4 standard errors, and at equal shots their error is smaller than
    drawing one term combination per joint shot (forced by raising MIN_SHOTS_EACH)."""
    from qcompile.cutting import sampling

    circuit = _chain(5, "cx")
    circuit = circuit.with_ops([*circuit.ops, Gate("ry", (2,), (0.7,)), Gate("cx", (2, 3))])
    plan = find_cuts(circuit, 3)
    z = ExpVal(((PauliTerm(1.0, ((0, "Z"), (4, "Z"))), PauliTerm(0.5, ((2, "X"),))),))
    exact_value = float(_reference(circuit, None, z)[0])
    allocated = [estimate(plan, z, shots=20_000, seed=s) for s in range(12)]
    assert all(abs(float(e.value[0]) - exact_value) <= 4 * float(e.standard_error[0])
               for e in allocated)
    monkeypatch.setattr(sampling, "MIN_SHOTS_EACH", 10 ** 9)
    joint = [estimate(plan, z, shots=20_000, seed=s) for s in range(12)]
    error = [np.mean([abs(float(e.value[0]) - exact_value) for e in found])
             for found in (allocated, joint)]
    assert error[0] < error[1] / 1.5, error


def test_the_standard_error_shrinks_with_shots():
    plan = find_cuts(_chain(4), 2)
    errors = [estimate(plan, Probs((0, 3)), shots=shots, seed=1).standard_error.max()
              for shots in (500, 8000)]
    assert errors[1] < errors[0] / 2.5


def _chain(n: int, gate: str = "cx", angle=None) -> Circuit:
    ops = [Gate("h", (q,)) for q in range(n)]
    ops += [Gate(gate, (q, q + 1), () if angle is None else (angle,)) for q in range(n - 1)]
    return Circuit("chain", (Register("q", n),), (), (), ops)


def _partition_cost(circuit: Circuit, groups) -> float:
    group_of = {q: k for k, group in enumerate(groups) for q in group}
    cost = 1.0
    for op in circuit.ops:
        if len(op.qubits) == 2 and group_of[op.qubits[0]] != group_of[op.qubits[1]]:
            cost *= gate_cost(op) ** 2
    return cost


def _partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _partitions(rest):
        yield [[first]] + partition
        for k in range(len(partition)):
            yield partition[:k] + [[first] + partition[k]] + partition[k + 1:]


def test_plans_are_no_worse_than_any_partition_into_gate_cuts(rng):
    for _ in range(15):
        n = int(rng.integers(3, 6))
        circuit = random_circuit(rng, num_qubits=n, length=10, dynamic=False,
                                 names=NARROW_GATE_NAMES)
        budget = int(rng.integers(2, n))
        plan = find_cuts(circuit, budget)
        assert plan.optimal
        best = min(_partition_cost(circuit, groups) for groups in _partitions(list(range(n)))
                   if max(map(len, groups)) <= budget)
        assert plan.sampling_overhead <= best * (1 + 1e-9)


def test_a_chain_is_cut_once_per_boundary():
    plan = find_cuts(_chain(6), 3)
    assert [c.kind for c in plan.cuts] == ["gate"]
    assert plan.sampling_overhead == pytest.approx(9.0)
    assert sorted(map(len, plan.fragments)) == [3, 3]


def test_a_qubit_meeting_every_other_is_cut_by_wire():
    # q0 talks to q1..q3, then q4..q6: one wire cut (16) beats three gate cuts (729).
    ops = [Gate("cx", (0, q)) for q in range(1, 7)]
    circuit = Circuit("star", (Register("q", 7),), (), (), ops)
    plan = find_cuts(circuit, 4)
    assert [(c.kind, c.qubits) for c in plan.cuts] == [("wire", (0,))]
    np.testing.assert_allclose(reconstruct(plan, Probs()),
                               _reference(circuit, None, Probs()), atol=1e-12)


def test_the_beam_search_finishes_when_time_runs_out(rng):
    circuit = random_circuit(rng, num_qubits=6, length=30, dynamic=False,
                             names=NARROW_GATE_NAMES)
    plan = find_cuts(circuit, 3, time_limit=0.0)
    assert not plan.optimal and all(len(f) <= 3 for f in plan.fragments)
    assert plan.sampling_overhead >= find_cuts(circuit, 3).sampling_overhead * (1 - 1e-9)
    np.testing.assert_allclose(reconstruct(plan, Probs()),
                               _reference(circuit, None, Probs()), atol=1e-9)


def test_equal_sub_experiments_run_once():
    circuit = _chain(4)
    plan = find_cuts(circuit, 2)
    runs = []

    def execute(c):
        runs.append(c)
        from qcompile.cutting import exact
        return exact(c)

    reconstruct(plan, Probs(), execute=execute)
    # six terms per cut, but the control side of a CX cut has four distinct actions
    combinations = math.prod(len(plan.fragments[f]) and 6 ** len(plan.fragment_cuts[f])
                             for f in range(len(plan.fragments)))
    assert len(runs) < combinations


def test_impossible_budgets_are_refused():
    circuit = Circuit("c", (Register("q", 3),), (), (), [Gate("ccx", (0, 1, 2))])
    with pytest.raises(QCompileError, match="budget of 2 qubit.*ccx.*at least 3"):
        find_cuts(circuit, 2)
    with pytest.raises(QCompileError, match="overhead 81.*limit of 10"):
        find_cuts(_chain(6), 2, max_overhead=10)


def test_measured_circuits_are_refused_with_the_operation():
    circuit = Circuit("m", (Register("q", 2),), (Register("c", 1),), (),
                      [Gate("h", (0,)), Measure(0, 0), Gate("cx", (0, 1))])
    with pytest.raises(QCompileError, match="operation 1 .measure.*unitary circuits"):
        find_cuts(circuit, 1)


def test_qcnn_cut_for_five_qubit_devices(rng):
    """The qcnn-dist system: the 8-qubit QCNN on 5-qubit fragments, each sub-experiment
    written as OpenQASM 3 that Qiskit reads, the reconstruction equal to the uncut model."""
    circuit = load_model("qcnn").circuit("qcnn")
    plan = find_cuts(circuit, 5)
    assert all(len(f) <= 5 for f in plan.fragments) and len(plan.fragments) >= 2
    values = {"x": rng.uniform(0, np.pi, 8), "conv": rng.uniform(0, np.pi, (3, 4)),
              "pool": rng.uniform(0, np.pi, (3, 2))}
    readout = ExpVal(((PauliTerm(1.0, ((0, "Z"),)),),))
    np.testing.assert_allclose(reconstruct(plan, readout, values),
                               _reference(circuit, values, readout), atol=1e-9)
    experiments = Experiments(plan, bind(circuit, values), lambda c: None)
    for fragment in range(len(plan.fragments)):
        cuts = plan.fragment_cuts[fragment]
        bases = Readout(("Z",) * len(output_qubits(plan, fragment)))
        for index in itertools.product(*(range(len(experiments.terms[k].terms)) for k in cuts)):
            sub, _ = experiments.build(fragment, dict(zip(cuts, index)), bases)
            assert sub.num_qubits <= 5
            assert qasm3.loads(emit_qasm3(sub)).num_qubits == sub.num_qubits


# --- qcompile cut ------------------------------------------------------------------------------

def test_cli_prints_the_plan_as_json(capsys, tmp_path):
    from qcompile.cli import main

    assert main(["cut", "zoo:qcnn", "--max-qubits", "5", "--json",
                 "--experiments", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sampling_overhead"] == pytest.approx(
        math.prod(c["gamma_squared"] for c in summary["cuts"]))
    assert all(f["width"] <= 5 for f in summary["fragments"])
    files = sorted(tmp_path.glob("*.qasm"))
    assert len(files) == summary["subexperiments"] > 0
    for path in files[:: max(1, len(files) // 10)]:
        assert qasm3.loads(path.read_text()).num_qubits <= 5


@pytest.mark.parametrize("args, message", [
    (["--max-qubits", "1"], "budget of 1 qubit.*at least 2"),
    (["--max-qubits", "5", "--max-overhead", "10"], "overhead 1296.*limit of 10"),
    (["--max-qubits", "0"], "positive"),
    (["--max-qubits", "5", "--time-limit", "nan"], "positive number"),
    (["--max-qubits", "5", "--circuit", "other"], "no circuit 'other'"),
])
def test_cli_refuses_impossible_requests(args, message, capsys):
    from qcompile.cli import main

    try:
        status = main(["cut", "zoo:qcnn", *args])
    except SystemExit as exit:  # argparse's own refusals
        status = exit.code
    assert status == 2
    assert re.search(message, capsys.readouterr().err)
