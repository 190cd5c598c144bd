"""Crash safety: a real ``submit`` process killed with SIGKILL at a known point, then
``fetch``: the job is sent at most once more, and its results are stored exactly once."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from qcompile.cli import main
from qcompile.jobs import JobStore, fetch_job, submit_job
from qcompile.models import load_model

BACKEND = "fake_manila"


@pytest.fixture
def inputs_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(2).uniform(0, np.pi, (4, 2)))
    return path


def _submit_and_kill(store_path, inputs_file, pause_after):
    """Start ``submit``, wait until it reports the pause point, kill it; its job id."""
    env = dict(os.environ, QCOMPILE_TEST_PAUSE_AFTER=pause_after)
    process = subprocess.Popen(
        [sys.executable, "-m", "qcompile.cli", "submit", "zoo:zz-vqc", "--backend",
         BACKEND, "--inputs", str(inputs_file), "--shots", "300", "--seed", "9",
         "--store", str(store_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id = process.stdout.readline().strip()
        for _ in range(5):  # notes may come first
            line = process.stderr.readline().strip()
            if line == f"paused after {pause_after}":
                break
        else:
            raise AssertionError(f"submit never paused after {pause_after}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)  # reaped: its pid no longer looks alive
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    return job_id


def _uninterrupted_results(tmp_path, inputs_file):
    """The same submission run to completion without a crash, in a separate store (what
    ``submit`` sends: the model lowered to the device by ``qcompile.compile`` at -O1)."""
    from qcompile import Target, compile
    from qcompile.backends.runner import init_weights

    model = load_model("zoo:zz-vqc")
    program = compile(model, 1, Target.device(BACKEND), seed=9).program
    _, results = submit_job(JobStore(tmp_path / "reference.db"), program, backend=BACKEND,
                            inputs={"x": np.load(inputs_file)},
                            weights=init_weights(model, 9), shots=300, seed=9)
    return results


def test_killed_after_recording_then_fetch_sends_it_once(tmp_path, inputs_file, capsys):
    store_path = tmp_path / "jobs.db"
    job_id = _submit_and_kill(store_path, inputs_file, "recorded")
    store = JobStore(store_path)
    record = store.get(job_id)
    assert record.status == "recorded" and store.provider_submissions(job_id) == 0
    assert store.results(job_id) is None

    assert main(["fetch", job_id, "--json", "--store", str(store_path)]) == 0
    capsys.readouterr()
    assert main(["fetch", job_id, "--json", "--store", str(store_path)]) == 0  # from store
    assert capsys.readouterr().out.startswith('{"p": [[')
    record = store.get(job_id)
    assert record.status == "done" and record.attempts == 1 and record.reexecutions == 0
    assert store.provider_submissions(job_id) == 1
    np.testing.assert_array_equal(store.results(job_id)["p"],
                                  _uninterrupted_results(tmp_path, inputs_file)["p"])


def test_killed_while_submitted_then_fetch_reexecutes_deterministically(tmp_path,
                                                                        inputs_file):
    store_path = tmp_path / "jobs.db"
    job_id = _submit_and_kill(store_path, inputs_file, "submitted")
    store = JobStore(store_path)
    record = store.get(job_id)
    assert record.status == "submitted" and store.provider_submissions(job_id) == 1

    results = fetch_job(store, job_id)
    again = fetch_job(store, job_id)  # complete: read back, nothing sent
    record = store.get(job_id)
    assert record.status == "done" and record.attempts == 2 and record.reexecutions == 1
    assert store.provider_submissions(job_id) == 2  # the lost local job and its re-run
    assert not store.store_results(job_id, {"p": np.zeros((4, 1))})  # stored exactly once
    np.testing.assert_array_equal(results["p"], again["p"])
    np.testing.assert_array_equal(results["p"],
                                  _uninterrupted_results(tmp_path, inputs_file)["p"])


def test_resubmitting_with_the_same_key_does_not_send_twice(tmp_path):
    program = load_model("zoo:zz-vqc")
    store = JobStore(tmp_path / "jobs.db")
    arguments = dict(backend="aer", inputs={"x": np.ones((2, 2))},
                     weights={"theta": np.zeros((2, 2, 2))}, shots=50, seed=1,
                     idempotency_key="run-42")
    first_id, first = submit_job(store, program, **arguments)
    second_id, second = submit_job(store, program, **arguments)
    assert first_id == second_id and len(store.list()) == 1
    assert store.provider_submissions(first_id) == 1
    np.testing.assert_array_equal(first["p"], second["p"])
