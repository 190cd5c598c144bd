"""The benchmark harness in quick mode: every runner produces comparable results, every
compiler an equivalent circuit, the checks catch a wrong one, and the docs sections are
replaced, not appended. No timing is asserted."""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from benchmarks import compile as compile_benchmark
from benchmarks import harness
from benchmarks.__main__ import main
from benchmarks.compile_circuits import CORPUS, generated_cases
from benchmarks.workloads import workloads


@pytest.fixture(scope="module")
def quick_rows():
    chosen = [w for w in workloads(quick=True) if w.kind == "forward"]
    return chosen, harness.run_all(chosen, ["qcompile", "qiskit-aer"], repeats=1)


def test_quick_workloads_agree_with_qiskit_aer(quick_rows):
    chosen, rows = quick_rows
    assert [row[0].workload for row in rows] == [w.name for w in chosen]
    for row in rows:
        ours, aer = row
        assert ours.value is not None and ours.seconds, ours.note
        assert aer.agrees is True, (aer.workload, aer.note)


def test_agreement_check_catches_a_wrong_result(quick_rows):
    _, rows = quick_rows
    state = rows[-1][0].value
    assert harness.agree(state, state * np.exp(0.7j))  # a global phase is no difference
    wrong = state.copy()
    wrong[[0, 1]] = wrong[[1, 0]]
    assert not harness.agree(state, wrong)
    expvals = rows[0][0].value
    assert not harness.agree(expvals, expvals + 1e-4)
    broken = [harness.Measurement("w", "qcompile", [1.0], expvals),
              harness.Measurement("w", "peer", [2.0], expvals + 1e-3)]
    harness.check_agreement(broken)
    assert broken[1].agrees is False
    assert "DISAGREES" in harness.summary_rows([broken], {"w": "w"})[0][2]


def test_document_sections_are_replaced_and_prose_kept(tmp_path):
    path = tmp_path / "performance.md"
    path.write_text("# Performance\n\nprose before\n")
    for version in ("one", "two"):
        harness.update_document(path, harness.generated_section("note", f"| sim {version} |"))
        harness.update_document(path, f"| compile {version} |", compile_benchmark.MARKERS)
    text = path.read_text()
    assert "prose before" in text and "sim two" in text and "compile two" in text
    assert "one |" not in text
    for marker in (harness.BEGIN, harness.END, *compile_benchmark.MARKERS):
        assert text.count(marker) == 1
    assert "logical cores" in text and "numba" in text


def test_cli_quick_run_succeeds_and_filters(capsys):
    assert main(["--quick", "--only", "qft", "--runner", "qiskit-aer"]) == 0
    out = capsys.readouterr().out
    assert "qft22" in out and "qnn" not in out
    assert main(["--quick", "--only", "no-such-workload"]) == 2


# --- the compiler benchmark ------------------------------------------------------------------

def _with_extra_x(compiler):
    """``compiler`` with an X appended to its output: a deliberately wrong circuit."""
    def run(case):
        output = compiler(case)
        circuit = output.circuit.copy()
        circuit.x(0)
        return replace(output, circuit=circuit)
    return run


@pytest.fixture(scope="module")
def compile_rows():
    cases = [case for case in generated_cases((4,)) if case.family in ("qft", "hea")]
    compilers = compile_benchmark.basis_compilers()
    compilers = {name: compilers[name] for name in ("qcompile -O3", "Qiskit -O3")}
    compilers["broken"] = _with_extra_x(compilers["Qiskit -O3"])
    return compile_benchmark.run_suite(cases, compilers, progress=lambda text: None)


def test_compiled_circuits_agree_with_their_inputs(compile_rows):
    assert [row.case.name for row in compile_rows] == ["qft_4", "hea_4"]
    for row in compile_rows:
        for name in ("qcompile -O3", "Qiskit -O3"):
            result = row.results[name]
            assert result.metrics is not None and result.seconds is not None, result.note
            assert result.agrees is True, (row.case.name, name)
            assert result.metrics.two_qubit <= row.baseline.two_qubit


def test_equivalence_check_catches_a_wrong_circuit(compile_rows):
    assert all(row.results["broken"].agrees is False for row in compile_rows)
    bindings = compile_benchmark.parametrized(3, 1, 2)
    report = compile_benchmark.Report(compile_rows, compile_rows, bindings, "ansatz", {})
    assert "qft_4: broken" in report.disagreements
    assert not any("qcompile" in entry for entry in report.disagreements)
    assert "DISAGREES" in compile_benchmark.as_markdown(report)
    # The geomeans leave out circuits some compiler got wrong.
    assert compile_benchmark.comparable(compile_rows) == []


def test_compile_once_bind_many_matches_qiskit():
    ours, each, once = compile_benchmark.parametrized(4, 2, 3)
    assert ours.agrees and each.agrees and once.agrees
    assert ours.two_qubit == each.two_qubit


def test_a_missing_pytket_is_reported_not_failed(monkeypatch):
    assert not compile_benchmark.installed("no_such_package.extensions.qiskit")
    monkeypatch.setattr(compile_benchmark, "installed", lambda module: False)
    case = generated_cases((4,))[0]
    result = compile_benchmark.attempt(compile_benchmark.pytket_compiler, case,
                                       compile_benchmark.Checker(case.qiskit))
    assert result.note == "not installed" and result.agrees is None


def test_routed_circuits_agree_with_their_inputs():
    qft = generated_cases((4,))[0]  # its final swaps are elided, then the circuit is routed
    (row,) = compile_benchmark.run_suite([qft], compile_benchmark.device_compilers(),
                                         progress=lambda text: None)
    assert {name: result.agrees for name, result in row.results.items()} == {
        "qcompile -O3": True, "Qiskit -O3": True}


def test_cli_quick_compile_run(capsys):
    status = main(["--quick", "--only", "compile"])
    out = capsys.readouterr().out
    assert "Two-qubit count" in out and "fake_guadalupe" in out and "Compile once" in out
    assert "bell_n4" in out or not CORPUS.exists()
    assert "qnn" not in out
    assert status == (1 if "DISAGREES" in out else 0)


def test_cli_quick_cut_run(capsys):
    assert main(["--quick", "--only", "cut"]) == 0
    out = capsys.readouterr().out
    assert "qaoa_6" in out and "hea_4" in out and "DISAGREES" not in out


def test_cli_quick_reuse_run(capsys):
    assert main(["--quick", "--only", "reuse", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "bv_5" in out and "ghz_8" in out and "CRASH" not in out
    assert "qft22" not in out and "qaoa_6" not in out


def test_caqr_baseline_reuses_bernstein_vazirani_in_wire_order():
    from benchmarks import reuse
    from qcompile.frontend.qiskit_circuit import from_qiskit
    # Plain wire order: data qubits can follow one another only in the order of their CX on
    # the ancilla, and nothing can follow or precede the ancilla.
    found = reuse.caqr_baseline(from_qiskit(reuse.bernstein_vazirani(5)))
    assert 2 <= found.width < 5 and found.reuses == 5 - found.width
    ghz = reuse.caqr_baseline(from_qiskit(reuse.ghz(4)))
    assert ghz.width < 4 and ghz.depth >= 5


@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("torch", "pennylane")),
                    reason="the training benchmark's peers need torch and pennylane")
def test_cli_quick_train_run(capsys):
    assert main(["--quick", "--only", "train", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "default.qubit" in out and "FidelityStatevectorKernel" in out
    assert "Training speed" in out and "Kernel agreement" in out and "DISAGREES" not in out
    assert "qft22" not in out and "bv_5" not in out


def test_cli_quick_latency_run(capsys):
    assert main(["--quick", "--only", "latency", "--no-write"]) == 0
    out = capsys.readouterr().out
    for part in ("simulate_many", "load_qasm", "qiskit.qasm2.loads", "--help", "layered10"):
        assert part in out, part
    assert "DISAGREES" not in out and "qft22" not in out


def test_latency_state_check_catches_a_wrong_state():
    from benchmarks import latency
    state = np.exp(1j * np.linspace(0, 3, 8)) / np.sqrt(8)
    assert latency.state_deviation(state, state * np.exp(0.4j)) < 1e-12
    swapped = state.copy()
    swapped[[0, 5]] = swapped[[5, 0]]
    row = latency.Row("peer", "qulacs")
    latency._compare_states(row, [state], [swapped])
    assert row.agrees is False
