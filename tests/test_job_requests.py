"""What reaches the job store: requests checked before anything is recorded, idempotency
keys refused for a different request, failed runs kept as ``failed`` (not re-run on every
fetch unless asked), and a ``fetch`` hint that names the store it used."""

import numpy as np
import pytest

import qcompile.jobs.submit as submit_module
from qcompile import Target, compile
from qcompile.cli import main
from qcompile.ir import QCompileError
from qcompile.jobs import JobStore, fetch_job, submit_job
from qcompile.models import load_model

PROGRAM = load_model("zoo:zz-vqc")


def _arguments(**changes):
    arguments = dict(backend="aer", inputs={"x": np.ones((2, 2))},
                     weights={"theta": np.zeros((2, 2, 2))}, shots=50, seed=1)
    return {**arguments, **changes}


@pytest.fixture
def store(tmp_path):
    return JobStore(tmp_path / "jobs.db")


@pytest.mark.parametrize("changes, message", [
    ({"shots": 0}, "shots must be a positive integer, got 0"),
    ({"shots": -1}, "shots must be a positive integer"),
    ({"shots": 2.5}, "shots must be a positive integer"),
    ({"shots": True}, "shots must be a positive integer"),
    ({"seed": -3}, "seed must be a non-negative integer"),
    ({"output": "state"}, "output must be one of"),
    ({"backend": "nope"}, "unknown backend 'nope'"),
])
def test_a_rejected_request_records_nothing(store, changes, message):
    with pytest.raises(QCompileError, match=message):
        submit_job(store, PROGRAM, **_arguments(**changes))
    assert store.list() == []


def test_same_key_resumes_the_same_request_and_refuses_another(store):
    first_id, first = submit_job(store, PROGRAM, **_arguments(idempotency_key="k"))
    again_id, again = submit_job(store, PROGRAM, **_arguments(idempotency_key="k"))
    assert first_id == again_id
    np.testing.assert_array_equal(first["p"], again["p"])
    with pytest.raises(QCompileError, match=r"key 'k' already belongs to job .* shots\)"):
        submit_job(store, PROGRAM, **_arguments(shots=51, idempotency_key="k"))
    lowered = compile(PROGRAM, 1, Target.device("fake_manila"), seed=1).program
    with pytest.raises(QCompileError, match=r"differs in program\)"):
        submit_job(store, lowered, **_arguments(idempotency_key="k"))
    assert len(store.list()) == 1 and store.provider_submissions(first_id) == 1


def _failing_run(monkeypatch):
    """Make the next runs raise as a crash inside the simulator would; counts the calls."""
    calls = []

    def run_program(*args, **kwargs):
        calls.append(1)
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(submit_module, "run_program", run_program)
    return calls


def test_a_failing_run_is_kept_failed_and_only_retried_when_asked(store, monkeypatch):
    calls = _failing_run(monkeypatch)
    recorded = []
    with pytest.raises(ZeroDivisionError):  # our bug: the traceback is kept
        submit_job(store, PROGRAM, **_arguments(), on_recorded=recorded.append)
    job_id = recorded[0]
    record = store.get(job_id)
    assert record.status == "failed" and record.error == "ZeroDivisionError: division by zero"
    for _ in range(2):  # reported from the store, not run again
        with pytest.raises(QCompileError, match="failed on aer: ZeroDivisionError"):
            fetch_job(store, job_id)
    assert len(calls) == 1
    monkeypatch.undo()
    results = fetch_job(store, job_id, retry=True)
    assert store.get(job_id).status == "done" and store.get(job_id).attempts == 2
    np.testing.assert_array_equal(fetch_job(store, job_id, retry=True)["p"], results["p"])


def test_a_provider_failure_is_reported_as_a_user_error(store, monkeypatch):
    from qiskit.exceptions import QiskitError

    def run_program(*args, **kwargs):
        raise QiskitError("backend rejected the circuit")

    monkeypatch.setattr(submit_module, "run_program", run_program)
    with pytest.raises(QCompileError, match="failed on aer: .*backend rejected"):
        submit_job(store, PROGRAM, **_arguments())
    assert [row[3] for row in store.list()] == ["failed"]


def test_a_transient_failure_leaves_the_job_resumable(store, monkeypatch):
    def run_program(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(submit_module, "run_program", run_program)
    with pytest.raises(QCompileError, match="cannot reach aer .*the job is kept"):
        submit_job(store, PROGRAM, **_arguments())
    assert [row[3] for row in store.list()] == ["submitted"]


@pytest.fixture
def inputs_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones((2, 2)))
    return path


def _submit(inputs_file, store_path, *extra):
    return main(["submit", "zoo:zz-vqc", "--backend", "aer", "--inputs", str(inputs_file),
                 "--shots", "40", "--store", str(store_path), *extra])


@pytest.mark.parametrize("option, value", [("--shots", "0"), ("--shots", "-1"),
                                           ("--shots", "many"), ("--seed", "-1")])
def test_cli_rejects_bad_numbers_before_opening_the_store(tmp_path, inputs_file, capsys,
                                                         option, value):
    with pytest.raises(SystemExit) as exit_info:
        _submit(inputs_file, tmp_path / "jobs.db", option, value)
    assert exit_info.value.code == 2
    assert f"argument {option}: must be a" in capsys.readouterr().err
    assert not (tmp_path / "jobs.db").exists()


def test_cli_hint_names_the_store_and_fetch_reports_failures(tmp_path, inputs_file, capsys,
                                                             monkeypatch):
    store_path = tmp_path / "my store.db"
    assert _submit(inputs_file, store_path) == 0
    out, err = capsys.readouterr()
    job_id = out.strip()
    assert f"`qcompile fetch {job_id} --store '{store_path}'`" in " ".join(err.split())

    JobStore(store_path).store_failure(job_id, "never")  # done: not turned into a failure
    calls = _failing_run(monkeypatch)
    with pytest.raises(ZeroDivisionError):
        _submit(inputs_file, store_path)
    failed = capsys.readouterr().out.strip()
    assert main(["fetch", failed, "--store", str(store_path)]) == 2
    assert "ZeroDivisionError: division by zero" in capsys.readouterr().err
    assert main(["jobs", "--store", str(store_path)]) == 0
    listing = capsys.readouterr().out
    assert "failed" in listing and "done" in listing
    monkeypatch.undo()
    assert main(["fetch", failed, "--json", "--retry", "--store", str(store_path)]) == 0
    assert capsys.readouterr().out.startswith('{"p": [[') and len(calls) == 1


@pytest.mark.parametrize("argv", [["--shots", "0"], ["--shots", "-5"], ["--seed", "-1"]])
def test_run_checks_shots_and_seed_too(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "zoo:zz-vqc", *argv])
    assert exit_.value.code == 2
    assert f"argument {argv[0]}" in capsys.readouterr().err
