"""The pass framework: pipeline strings, presets, registration, reports, hooks, verification."""

from __future__ import annotations

import numpy as np
import pytest
from random_circuits import random_circuit
from qiskit.quantum_info import Operator
from rich.console import Console

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.cli.compile import pass_table
from qcompile.ir import (Circuit, Condition, Gate, IfElse, Measure, Program, QCompileError,
                         Register, Reset, VerificationError)
from qcompile.passes import (AnalysisPass, BlockPass, CancelInverses, Canonicalize,
                             CircuitPass, CommuteCancel, ElidePermutations, FixedPoint, Merge1Q,
                             PassManager, Resynthesize2Q, ResynthesizeClifford, available_passes,
                             circuit_stats, parse_pipeline, preset, register_pass)
from qcompile.ir.ops import qubits_of
from qcompile.passes import base


@pytest.fixture(autouse=True)
def scratch_registry(monkeypatch):
    """Passes registered by a test disappear after it."""
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))


def _program(ops, num_qubits=2, num_clbits=2) -> Program:
    circuit = Circuit("c", (Register("q", num_qubits),), (Register("m", num_clbits),), (), ops)
    return Program.from_circuit(circuit)


# --- pipeline strings ----------------------------------------------------------------------

def test_pipeline_string_builds_passes_with_typed_options():
    @register_pass("take-options")
    class TakeOptions(CircuitPass):
        """Remember its options."""

        def __init__(self, count=0, scale=1.0, strict=False, label="", mode=""):
            self.options = (count, scale, strict, label, mode)

        def run_circuit(self, circuit):
            return circuit

    steps = parse_pipeline(" canonicalize , take-options(count=3, scale=-2.5e-1, strict=true,"
                           " label='a, b', mode=fast), merge-1q(basis=zsx)")
    assert [type(s) for s in steps] == [Canonicalize, TakeOptions, Merge1Q]
    assert steps[1].options == (3, -0.25, True, "a, b", "fast")
    assert steps[2].basis == "zsx"
    assert parse_pipeline("") == []


@pytest.mark.parametrize("text, column, words", [
    ("canonicalize,cancel-inverse", 14, ["unknown pass", "'cancel-inverse'", "cancel-inverses"]),
    ("canonicalize, merge-1q(basis=u, depth=2)", 33, ["no option", "'depth'", "basis"]),
    ("merge-1q(basis=nope)", 1, ["unknown basis", "'nope'"]),
    ("merge-1q(basis=u, basis=zyz)", 19, ["given twice"]),
    ("canonicalize,,merge-1q", 14, ["cannot parse"]),
    ("merge-1q(basis=u", 17, ["cannot parse"]),
])
def test_pipeline_errors_name_the_problem_and_column(text, column, words):
    with pytest.raises(QCompileError) as info:
        PassManager(text)
    err = info.value
    assert err.location is not None and err.location.column == column
    for word in words:
        assert word in err.message
    assert str(err).splitlines()[-1].index("^") - 4 == column - 1  # caret under the column


# --- presets -------------------------------------------------------------------------------

def test_presets():
    assert preset(0).steps == []
    assert [type(s) for s in preset(1).steps] == [Canonicalize, CancelInverses]
    for level in (2, 3):  # commute-cancel, first in the loop, finds what cancel-inverses does
        steps = preset(level).steps
        assert type(steps[0]) is Canonicalize and CancelInverses not in map(type, steps)
        assert isinstance(steps[-1], FixedPoint)
        loop = [type(s) for s in steps[-1].passes]
        assert loop[0] is CommuteCancel and loop[-1] is Merge1Q
    assert ElidePermutations in [type(s) for s in preset(3).steps]
    assert {Resynthesize2Q, ResynthesizeClifford, ElidePermutations} <= {
        type(s) for s in preset(3).steps[-1].passes}
    with pytest.raises(QCompileError, match="optimization level"):
        preset(4)


def test_fixed_point_repeats_until_nothing_changes():
    # Round 1: merge-1q drops x z x z (= -I), so cancel-inverses can remove the cx pair;
    # only then are h and t adjacent, and round 2 merges them. Round 3 changes nothing.
    ops = [Gate("h", (0,)), Gate("cx", (0, 1)), Gate("x", (1,)), Gate("z", (1,)),
           Gate("x", (1,)), Gate("z", (1,)), Gate("cx", (0, 1)), Gate("t", (0,))]
    manager = preset(2)
    program = _program(ops)
    result = manager.run(program).circuits[0]
    rounds = [r for r in manager.report.records if r.round]
    assert max(r.round for r in rounds) == 3
    assert all(r.before == r.after for r in rounds if r.round == 3)
    assert [(op.name, op.qubits) for op in result.ops] == [("u", (0,))]
    assert Operator(to_qiskit(result)).equiv(Operator(to_qiskit(program.circuits[0])))


# --- report ------------------------------------------------------------------------------

def test_report_has_time_and_correct_statistics_per_pass():
    ops = [Gate("h", (0,)), Gate("h", (0,)), Gate("CX", (0, 1)), Gate("rz", (1,), [0.0]),
           Measure(0, 0), Gate("x", (1,)), Gate("t", (1,)), Gate("cz", (0, 1))]
    manager = PassManager("canonicalize,cancel-inverses,merge-1q")
    manager.run(_program(ops))
    rows = manager.report.rows()
    assert [r["pass"] for r in rows] == ["canonicalize", "cancel-inverses", "merge-1q"]
    assert all(r["seconds"] >= 0 for r in rows)
    # canonicalize drops rz(0) and renames CX; cancel-inverses removes h h; merge-1q fuses
    # x t. Depth: h h cx (rz) measure/x t cz = 7 -> 6 -> 4 (cx, measure | x t, cz) -> 3.
    assert [(r["gates_before"], r["gates_after"]) for r in rows] == [(7, 6), (6, 4), (4, 3)]
    assert all(r["two_qubit_gates_before"] == r["two_qubit_gates_after"] == 2 for r in rows)
    assert [(r["depth_before"], r["depth_after"]) for r in rows] == [(7, 6), (6, 4), (4, 3)]
    assert all(r["width_before"] == r["width_after"] == 2 for r in rows)
    after_merge = manager.report.records[-1].after["c"]
    assert after_merge.counts == {"cx": 1, "measure": 1, "u": 1, "cz": 1}
    console = Console(width=120, record=True)
    console.print(pass_table(manager.report))
    text = console.export_text()
    assert "merge-1q" in text and "6 → 4" in text


def test_stats_depth_matches_qiskit_on_random_circuits(rng):
    for i in range(60):
        circuit = random_circuit(rng, 2 + i % 3, 15, dynamic=i % 2 == 0)
        assert circuit_stats(circuit).depth == to_qiskit(circuit).depth(), i


def test_stats_of_conditional_block_and_width():
    # the if on m[0] is one layer after the measurement, on qubit 1 and bit 0;
    # qubit 3 is never used, so the width is 3.
    ops = [Gate("h", (0,)), Measure(0, 0),
           IfElse(Condition((0,), 1), [Gate("x", (1,)), Gate("h", (1,)), Gate("cx", (1, 2))]),
           Reset(2)]
    stats = circuit_stats(_program(ops, num_qubits=4).circuits[0])
    assert (stats.depth, stats.width, stats.gates, stats.two_qubit_gates) == (4, 3, 4, 1)
    assert stats.counts == {"h": 2, "measure": 1, "ifelse": 1, "x": 1, "cx": 1, "reset": 1}


# --- hooks, verification, analysis, registration -------------------------------------------

def test_print_after_calls_back_for_the_named_pass_only():
    seen = []
    manager = PassManager("canonicalize,cancel-inverses,merge-1q",
                          print_after={"cancel-inverses"},
                          printer=lambda name, program: seen.append((name, program)))
    result = manager.run(_program([Gate("x", (0,)), Gate("x", (0,)), Gate("h", (1,))]))
    assert [name for name, _ in seen] == ["cancel-inverses"]
    assert [op.name for op in seen[0][1].circuits[0].ops] == ["h"]
    assert result == seen[0][1]
    with pytest.raises(QCompileError, match="'merge-1'"):
        PassManager("merge-1q", print_after={"merge-1"}, printer=print)


def test_verification_failure_names_the_pass():
    @register_pass("break-qubits")
    class BreakQubits(BlockPass):
        """Move every gate to a qubit that does not exist."""

        def run_block(self, ops):
            return [Gate(op.name, [q + 10 for q in op.qubits], op.params)
                    if isinstance(op, Gate) else op for op in ops]

    manager = PassManager("canonicalize,break-qubits,merge-1q")
    with pytest.raises(VerificationError) as info:
        manager.run(_program([Gate("h", (0,))]))
    assert "after pass 'break-qubits'" in str(info.value)
    assert "qubit 10 is out of range" in str(info.value)
    assert [r.name for r in manager.report.records] == ["canonicalize"]


def test_analysis_pass_fills_the_property_set_and_keeps_the_program():
    @register_pass("count-measures")
    class CountMeasures(AnalysisPass):
        """Count measurements per circuit."""

        def analyze(self, program, properties):
            properties["measures"] = {c.name: c.gate_counts().get("measure", 0)
                                      for c in program.circuits}

    program = _program([Gate("h", (0,)), Measure(0, 0), Measure(1, 1), Gate("h", (0,))])
    manager = PassManager("count-measures,stats")
    assert manager.run(program, properties={"given": 1}) is program
    assert manager.properties["measures"] == {"c": 2}
    assert manager.properties["given"] == 1
    stats = manager.properties["stats"]["c"]  # written by the built-in analysis pass
    assert (stats.gates, stats.depth) == (2, 3)


def test_custom_pass_registration():
    @register_pass("drop-resets-at-start")
    class DropLeadingResets(BlockPass):
        """Drop resets before anything else touched their qubit.

        Qubits start in |0>, so such a reset does nothing.
        """

        recurse_into_blocks = False

        def run_block(self, ops):
            touched, out = set(), []
            for op in ops:
                if not (isinstance(op, Reset) and op.qubit not in touched):
                    out.append(op)
                    touched.update(qubits_of(op))
            return out

    assert available_passes()["drop-resets-at-start"] == (
        "Drop resets before anything else touched their qubit.")
    result = PassManager("drop-resets-at-start").run(
        _program([Reset(0), Gate("x", (0,)), Reset(0), Reset(1)]))
    assert result.circuits[0].ops == (Gate("x", (0,)), Reset(0))

    with pytest.raises(QCompileError, match="already taken"):
        register_pass("merge-1q")(DropLeadingResets)
    with pytest.raises(QCompileError, match="docstring"):
        @register_pass("no-doc")
        class NoDoc(CircuitPass):
            def run_circuit(self, circuit):
                return circuit
    with pytest.raises(QCompileError, match="not valid"):
        register_pass("Bad Name")


def test_passes_recurse_into_if_blocks():
    ops = [Measure(0, 0), IfElse(Condition((0,), 1), [Gate("x", (1,)), Gate("x", (1,))],
                                 [Gate("rz", (1,), [np.pi / 4]), Gate("rz", (1,), [np.pi / 4])])]
    result = preset(2).run(_program(ops)).circuits[0]
    if_else = result.ops[1]
    assert if_else.then_body == ()
    assert len(if_else.else_body) == 1
