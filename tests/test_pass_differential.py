"""Differential tests: every pass and preset keeps the meaning of random circuits.

Meaning is judged by the independent reference in ``reference.py`` (Qiskit density matrices
with measurement and feed-forward): the distribution of classical records and the final
density matrix must not change; circuits without measurement must also keep their unitary up
to global phase (``qiskit.quantum_info.Operator.equiv``). Each pipeline must also shrink the
circuits, so a pass that does nothing fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from differential import (Case, assert_same_meaning, num_gates, placement_of, random_cases,
                          semantics)
from qiskit.quantum_info import Operator

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.ir import GATES, Barrier, Circuit, Const, Gate, Measure, Program, Register, Symbol
from qcompile.ir import Param, Unitary, gate_matrix
from qcompile.passes import CancelInverses, Canonicalize, Merge1Q, PassManager, preset
from qcompile.passes.fusion import Fuse

NUM_CIRCUITS = 500


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return random_cases(20240611, NUM_CIRCUITS)


PIPELINES = {
    "canonicalize": lambda: PassManager([Canonicalize()]),
    "cancel-inverses": lambda: PassManager([CancelInverses()]),
    "commute-cancel": lambda: PassManager("commute-cancel"),
    "resynthesize-2q": lambda: PassManager("resynthesize-2q"),
    "resynthesize-2q(gate=cz)": lambda: PassManager("resynthesize-2q(gate=cz)"),
    "merge-1q": lambda: PassManager([Merge1Q()]),
    "merge-1q(basis=zsx)": lambda: PassManager("merge-1q(basis=zsx)"),
    "O1": lambda: preset(1),
    "O2": lambda: preset(2),
    "O3": lambda: preset(3),
    "fuse": lambda: PassManager([Fuse()]),
    "fuse(max_width=2)": lambda: PassManager([Fuse(max_width=2)]),
}

#: The least fraction of gates each pipeline must remove over the whole corpus (observed
#: values are comfortably above these).
MIN_REDUCTION = {"canonicalize": 0.05, "cancel-inverses": 0.2, "commute-cancel": 0.25,
                 "resynthesize-2q": 0.1, "resynthesize-2q(gate=cz)": 0.05,
                 "merge-1q": 0.2,
                 "merge-1q(basis=zsx)": 0.1, "O1": 0.25, "O2": 0.4, "O3": 0.4,
                 "fuse": 0.4, "fuse(max_width=2)": 0.3}


@pytest.mark.parametrize("pipeline", list(PIPELINES))
def test_pipeline_keeps_meaning_and_shrinks_circuits(cases, pipeline):
    before = after = 0
    for index, case in enumerate(cases):
        manager = PIPELINES[pipeline]()
        optimized = manager.run(Program.from_circuit(case.circuit)).circuits[0]
        placement = placement_of(manager.properties, optimized.name, optimized.num_qubits)
        assert_same_meaning(case, optimized, f"{pipeline}, circuit {index}", placement)
        before += num_gates(case.circuit)
        after += num_gates(optimized)
    assert after <= before * (1 - MIN_REDUCTION[pipeline]), (pipeline, before, after)


def test_higher_levels_do_more(cases):
    totals = {level: sum(num_gates(preset(level).run(Program.from_circuit(c.circuit))
                                    .circuits[0]) for c in cases[:100]) for level in range(3)}
    assert totals[0] > totals[1] > totals[2]


# --- targeted cases, each still judged by the reference -----------------------------------

def _circuit(num_qubits: int, ops, params=()) -> Circuit:
    return Circuit("t", (Register("q", num_qubits),), (Register("c", num_qubits),), params, ops)


def _check(circuit: Circuit, optimized: Circuit, values=None) -> None:
    case = Case(circuit, values, *semantics(circuit, values), None)
    assert_same_meaning(case, optimized, "targeted")
    assert Operator(to_qiskit(optimized, values)).equiv(Operator(to_qiskit(circuit, values)))


def _run(pass_, circuit: Circuit) -> Circuit:
    return pass_.run_circuit(circuit)


X, W = Symbol("x", (0,)), Symbol("w", (1,))
PARAMS = (Param("x", "input", (2,)), Param("w", "weight", (3,)))
VALUES = {"x": np.array([0.3, -1.1]), "w": np.array([0.7, 1.9, -0.4])}


CANONICAL_NAMES = {name: spec.canonical for name, spec in GATES.items()
                   if spec.canonical != name}


@pytest.mark.parametrize("alias", sorted(CANONICAL_NAMES))
def test_alias_has_exactly_the_canonical_matrix(alias):
    spec = GATES[alias]
    params = np.random.default_rng(5).uniform(-4, 4, spec.num_params)
    np.testing.assert_allclose(gate_matrix(alias, params),
                               gate_matrix(CANONICAL_NAMES[alias], params), atol=1e-14)
    assert GATES[CANONICAL_NAMES[alias]].num_params == spec.num_params


def test_canonicalize_drops_only_true_identities():
    two_pi, four_pi = Const(2 * np.pi), Const(4 * np.pi)
    ops = [Gate("h", (0,)), Gate("id", (1,)), Gate("rz", (0,), [four_pi]),
           Gate("p", (1,), [two_pi]), Gate("u", (0,), [0.0, 0.5, -0.5]),
           Gate("crz", (0, 1), [two_pi]), Gate("rx", (1,), [Const(1.0) - Const(1.0)]),
           Gate("CX", (0, 1)), Gate("u1", (1,), [X * Const(2.0) * Const(1.0)]), Gate("h", (0,))]
    circuit = _circuit(2, ops, PARAMS)
    optimized = _run(Canonicalize(), circuit)
    assert [op.name for op in optimized.ops] == ["h", "crz", "cx", "p", "h"]
    assert optimized.ops[3].params == (X * Const(2.0),)  # folded, still symbolic
    _check(circuit, optimized, VALUES)


def test_cancel_inverses_uses_symmetry_from_the_matrix():
    ops = [Gate("h", (0,)), Gate("h", (1,)),
           Gate("cz", (0, 1)), Gate("cz", (1, 0)),                # symmetric: cancels
           Gate("rzz", (0, 1), [W]), Gate("rzz", (1, 0), [-W]),   # symbolic, symmetric
           Gate("cx", (0, 1)), Gate("cx", (1, 0)),                # not symmetric: stays
           Gate("crx", (0, 1), [X]), Gate("crx", (1, 0), [-X])]   # not symmetric: stays
    circuit = _circuit(2, ops, PARAMS)
    optimized = _run(CancelInverses(), circuit)
    assert [op.name for op in optimized.ops] == ["h", "h", "cx", "cx", "crx", "crx"]
    _check(circuit, optimized, VALUES)


def test_cancel_inverses_nested_pairs_unitaries_and_boundaries():
    u = Unitary(np.linalg.qr(np.random.default_rng(3).normal(size=(4, 4))
                             + 1j * np.random.default_rng(4).normal(size=(4, 4)))[0], (0, 2))
    ops = [Gate("h", (2,)), Gate("cx", (0, 1)), Gate("s", (0,)), Gate("x", (2,)),
           Gate("sdg", (0,)), Gate("cx", (0, 1)),          # s/sdg, then cx/cx: all vanish
           u, u.inverse(),                                   # unitary and its adjoint
           Gate("t", (1,)), Barrier((1,)), Gate("tdg", (1,)),  # a barrier blocks
           Gate("y", (0,)), Measure(0, 0), Gate("y", (0,))]   # so does a measurement
    circuit = _circuit(3, ops)
    optimized = _run(CancelInverses(), circuit)
    assert [type(op).__name__ if not isinstance(op, Gate) else op.name
            for op in optimized.ops] == ["h", "x", "t", "Barrier", "tdg", "y", "Measure", "y"]
    assert _run(CancelInverses(), optimized) == optimized  # one sweep is a fixed point
    case = Case(circuit, None, *semantics(circuit, None), None)
    assert_same_meaning(case, optimized, "boundaries")


def test_merge_1q_symbolic_same_axis_and_constant_runs():
    ops = [Gate("rz", (0,), [X]), Gate("rz", (0,), [W]), Gate("rz", (0,), [0.25]),
           Gate("h", (1,)), Gate("t", (1,)), Gate("sx", (1,)),   # constant run: one u
           Gate("cx", (0, 1)),
           Gate("h", (0,)), Gate("h", (0,)),                       # identity: dropped
           Gate("ry", (1,), [X]), Gate("h", (1,))]                 # symbolic boundary
    circuit = _circuit(2, ops, PARAMS)
    optimized = _run(Merge1Q(), circuit)
    names = [op.name for op in optimized.ops]
    assert names == ["rz", "u", "cx", "ry", "h"]
    assert optimized.ops[0].params == (X + W + Const(0.25),)
    _check(circuit, optimized, VALUES)


def test_merge_1q_basis_option_emits_that_basis():
    ops = [Gate(name, (0,)) for name in ("h", "t", "y", "sx", "h", "s")] + [
        Gate("ry", (0,), [0.3])]
    circuit = _circuit(1, ops)
    optimized = _run(Merge1Q(basis="zsx"), circuit)
    assert {op.name for op in optimized.ops} <= {"rz", "sx"} and len(optimized.ops) <= 5
    _check(circuit, optimized)
