"""Counts of dynamic circuits follow each shot's own outcomes (trajectories): against aer and
the exact distribution, beyond the exact method's branch limit, per sample of a batch."""

import numpy as np
import pytest

from aer_reference import aer_distribution
from sampling_checks import ALPHA, as_histogram, goodness_of_fit, homogeneity

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import outcome_probabilities, simulate
from qcompile.backends.statevector.branches import MAX_BRANCHES
from qcompile.ir import (Circuit, Condition, Counts, ExpVal, Gate, IfElse, Measure, Param,
                         PauliTerm, Probs, QCompileError, Register, Reset, State, Symbol)

MID, FINAL = 3, 3  # clbits written mid-circuit, clbits of the final measurements


def feed_forward_circuit(rng, rounds: int, num_qubits: int = 3) -> Circuit:
    """``rounds`` of: a random rotation on every qubit, a measurement of one qubit into one
    of the MID bits, a gate conditioned on one of those bits, sometimes a reset; then every
    qubit measured into the FINAL bits. Each round's measurement of a qubit in
    superposition doubles the exact branches."""
    ops = []
    for _ in range(rounds):
        for q in range(num_qubits):
            ops.append(Gate(str(rng.choice(["rx", "ry"])), (q,), [rng.uniform(0.4, 2.7)]))
        ops.append(Gate("cx", tuple(int(q) for q in rng.choice(num_qubits, 2, replace=False))))
        ops.append(Measure(int(rng.integers(num_qubits)), int(rng.integers(MID))))
        target = int(rng.integers(num_qubits))
        body = (Gate(str(rng.choice(["x", "h", "s"])), (target,)),)
        ops.append(IfElse(Condition((int(rng.integers(MID)),), int(rng.integers(2))), body))
        if rng.random() < 0.3:
            ops.append(Reset(int(rng.integers(num_qubits))))
    ops += [Measure(q, MID + q) for q in range(num_qubits)]
    return Circuit("ff", (Register("q", num_qubits),), (Register("m", MID), Register("f", FINAL)),
                   ops=ops)


@pytest.mark.parametrize("seed", range(6))
def test_counts_under_the_branch_limit_follow_the_exact_distribution(seed):
    rng = np.random.default_rng(8000 + seed)
    circuit = feed_forward_circuit(rng, rounds=5)
    exact = outcome_probabilities(circuit)[0]
    counts = simulate(circuit, Counts(20000), seed=seed)[0]
    assert counts.sum() == 20000 and goodness_of_fit(counts, exact) > ALPHA


@pytest.mark.parametrize("seed", range(4))
def test_counts_beyond_the_branch_limit_match_aer(seed):
    """14 rounds: up to 2**14 = 16384 exact branches, past MAX_BRANCHES; the shots are
    sampled instead, and agree with aer's shots of the same circuit (two-sample test)."""
    rng = np.random.default_rng(8100 + seed)
    circuit = feed_forward_circuit(rng, rounds=14)
    with pytest.raises(QCompileError, match=f"more than {MAX_BRANCHES} classical branches.*"
                                            "ask for counts"):
        simulate(circuit, Probs())
    ours = simulate(circuit, Counts(20000), seed=seed)[0]
    theirs = as_histogram(aer_distribution(to_qiskit(circuit), shots=20000, seed=seed), 64)
    assert homogeneity(ours, np.rint(theirs * 20000)) > ALPHA


def test_a_wrong_sampler_fails_the_two_sample_test():
    """The check has power: aer's shots of a circuit against ours of one whose final
    measurements of qubits 0 and 1 exchange their bits (a plausible bug) are told apart."""
    circuit = feed_forward_circuit(np.random.default_rng(8100), rounds=14)
    changed = circuit.with_ops(circuit.ops[:-3] + (Measure(0, MID + 1), Measure(1, MID),
                                                   circuit.ops[-1]))
    ours = simulate(changed, Counts(20000), seed=0)[0]
    theirs = as_histogram(aer_distribution(to_qiskit(circuit), shots=20000, seed=0), 64)
    assert homogeneity(ours, np.rint(theirs * 20000)) < ALPHA


def test_trajectories_are_reproducible_by_seed():
    circuit = feed_forward_circuit(np.random.default_rng(8200), rounds=14)
    first = simulate(circuit, Counts(2000), seed=11)
    assert np.array_equal(first, simulate(circuit, Counts(2000), seed=11))
    assert not np.array_equal(first, simulate(circuit, Counts(2000), seed=12))


def test_trajectories_hold_at_most_one_state_per_shot():
    """Exact simulation of this 12-qubit circuit would hold 16384 states of 64 KiB (1 GiB);
    8 shots hold at most 8 (512 KiB), so counts fit in 1 MiB, where exact read-outs do
    not."""
    rng = np.random.default_rng(8300)
    circuit = feed_forward_circuit(rng, rounds=14, num_qubits=3)
    wide = Circuit("wide", (Register("q", 12),), circuit.cregs, ops=circuit.ops)
    counts = simulate(wide, Counts(8), seed=0, max_memory="1M")
    assert counts.sum() == 8
    with pytest.raises(QCompileError, match="ask for counts"):
        simulate(wide, ExpVal(((PauliTerm(1.0, ((0, "Z"),)),),)), max_memory="1M")


def test_each_sample_of_a_batch_follows_its_own_trajectories():
    """Per-sample angles make sample 0 always measure 0, sample 1 always 1 and sample 2
    either: the branches then hold different subsets of the batch, and the per-sample gates
    after the measurement must use each row's own sample."""
    t = Symbol("t")
    ops = [Gate("rx", (0,), [t]), Measure(0, 0),
           IfElse(Condition((0,), 1), (Gate("ry", (1,), [t * 0.5]),), (Gate("rx", (1,), [t]),)),
           Gate("ry", (0,), [t * 0.3 + 0.2]), Measure(0, 1), Gate("h", (0,)),
           Measure(1, 2), Measure(0, 3)]
    circuit = Circuit("batch", (Register("q", 2),), (Register("c", 4),),
                      (Param("t", "input"),), ops)
    values = {"t": np.array([0.0, np.pi, 1.1])}
    exact = outcome_probabilities(circuit, values)
    counts = simulate(circuit, Counts(20000), values, seed=4)
    for b in range(3):
        assert goodness_of_fit(counts[b], exact[b]) > ALPHA


def test_state_of_a_branched_circuit_points_to_the_sampled_outputs():
    circuit = feed_forward_circuit(np.random.default_rng(8400), rounds=3)
    with pytest.raises(QCompileError, match="ask for probs, expval or counts"):
        simulate(circuit, State())
