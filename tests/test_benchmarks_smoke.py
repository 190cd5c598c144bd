"""The benchmark harness in quick mode: every runner produces comparable results, the
agreement check catches a wrong one, and the docs section is replaced, not appended.
No timing is asserted."""

from __future__ import annotations


import numpy as np
import pytest

from benchmarks import harness
from benchmarks.__main__ import main
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


def test_document_section_is_replaced_and_prose_kept(tmp_path):
    path = tmp_path / "performance.md"
    path.write_text("# Performance\n\nprose before\n")
    harness.update_document(path, "| table one |", 3)
    harness.update_document(path, "| table two |", 3)
    text = path.read_text()
    assert "prose before" in text and "table two" in text and "table one" not in text
    assert text.count(harness.BEGIN) == 1 and text.count(harness.END) == 1
    assert "logical cores" in text and "numba" in text


def test_cli_quick_run_succeeds_and_filters(capsys):
    assert main(["--quick", "--only", "qft", "--runner", "qiskit-aer"]) == 0
    out = capsys.readouterr().out
    assert "qft22" in out and "qnn" not in out
    assert main(["--quick", "--only", "no-such-workload"]) == 2
