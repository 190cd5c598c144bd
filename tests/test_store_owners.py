"""Who owns a submitted job, and how long ``fetch`` waits for it.

The owner is recorded as host, pid and process start time, so a pid reused by an unrelated
process (same pid, another start time) or a zombie is seen as gone and the job resumed at
once; a live owner, or one on another host, is waited for at most ``--wait`` seconds, and the
message then says how to take the job over (``--take-over``). Hints name ``--store`` when the
store is not the default one, the network-failure hint after ``submit`` too."""

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import qcompile.jobs.submit as submit_module
from qcompile.backends.hardware.primitives import Unreachable
from qcompile.cli import build_parser, main
from qcompile.ir import QCompileError, print_program
from qcompile.jobs import JobStore, Owner, fetch_command, fetch_job
from qcompile.jobs.store import EXITED, process_started
from qcompile.jobs.submit import WAIT_SECONDS
from qcompile.models import load_model

RESULTS = {"p": np.array([[0.5], [0.25]])}


@pytest.fixture
def sleeper():
    """A live process that is not the job's owner; its pid is what a reused pid looks like."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def runs(monkeypatch):
    """Runs of a job are counted and return RESULTS at once (no simulation needed here)."""
    calls = []

    def run_program(program, inputs, weights, **kwargs):
        calls.append(1)
        return RESULTS

    monkeypatch.setattr(submit_module, "run_program", run_program)
    return calls


def _held_job(path, owner: Owner) -> str:
    """A submitted job whose attempt belongs to ``owner``."""
    store = JobStore(path)
    job_id, _ = store.record(backend="aer", program=print_program(load_model("zoo:zz-vqc")),
                             inputs={"x": np.ones((2, 2))}, weights={"theta": np.zeros((2, 2, 2))},
                             options={"shots": 10, "seed": 1, "output": None})
    store.claim(job_id)
    store.db.execute("UPDATE jobs SET owner_host = ?, owner_pid = ?, owner_started = ? "
                     "WHERE id = ?", (owner.host, owner.pid, owner.started, job_id))
    store.close()
    return job_id


# --- process identity ------------------------------------------------------------------------

def test_the_start_time_tells_processes_with_one_pid_apart(sleeper):
    mine = process_started(os.getpid())
    assert mine is not None and mine == process_started(os.getpid())
    assert Owner.current() == Owner(socket.gethostname(), os.getpid(), mine)
    assert process_started(sleeper.pid) not in (None, mine)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 20
    while process_started(child.pid) != EXITED:  # it ends; until reaped it is a zombie
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.wait()
    assert process_started(child.pid) is None  # no such process


def test_without_proc_the_start_time_comes_from_psutil_or_is_unknown(tmp_path, monkeypatch):
    pytest.importorskip("psutil")
    monkeypatch.setattr("qcompile.jobs.store.PROC", tmp_path / "no-proc")
    token = process_started(os.getpid())
    assert token.startswith("psutil:") and token == process_started(os.getpid())
    monkeypatch.setitem(sys.modules, "psutil", None)  # not installed
    assert process_started(os.getpid()) is None


# --- waiting, and not waiting ----------------------------------------------------------------

def test_a_reused_pid_is_not_taken_for_the_owner(tmp_path, sleeper, runs):
    path = tmp_path / "jobs.db"
    job_id = _held_job(path, Owner(socket.gethostname(), sleeper.pid, "an-earlier-start"))
    start = time.monotonic()
    np.testing.assert_array_equal(fetch_job(JobStore(path), job_id, wait=30)["p"],
                                  RESULTS["p"])
    assert time.monotonic() - start < 10 and len(runs) == 1
    assert JobStore(path).get(job_id).attempts == 2


@pytest.mark.parametrize("where", ["this host", "another host"])
def test_a_live_owner_is_waited_for_up_to_wait_then_taken_over(tmp_path, sleeper, runs,
                                                               where):
    path = tmp_path / "my jobs.db"
    owner = (Owner(socket.gethostname(), sleeper.pid, process_started(sleeper.pid))
             if where == "this host" else Owner("elsewhere.example", os.getpid(), None))
    job_id = _held_job(path, owner)
    store = JobStore(path)
    start = time.monotonic()
    with pytest.raises(QCompileError) as error:
        fetch_job(store, job_id, wait=0.3, poll_seconds=0.05)
    assert time.monotonic() - start >= 0.3 and runs == []
    message = str(error.value)
    assert str(owner) in message and "(waited 0.3 s)" in message
    assert f"`qcompile fetch {job_id} --store '{path}' --take-over`" in message
    assert ("kill " in message) == (where == "this host")
    assert ("cannot be checked from" in message) == (where == "another host")
    np.testing.assert_array_equal(fetch_job(store, job_id, take_over=True)["p"], RESULTS["p"])
    record = store.get(job_id)
    assert record.status == "done" and record.owner == Owner.current() and len(runs) == 1


def test_a_live_pid_whose_start_time_is_not_known_is_waited_for(tmp_path, sleeper, runs,
                                                                 monkeypatch):
    """An owner migrated from a version-1 store has no start time, and another user's
    process may hide its /proc entry: then the pid alone decides."""
    path = tmp_path / "jobs.db"
    job_id = _held_job(path, Owner(socket.gethostname(), sleeper.pid, None))
    with pytest.raises(QCompileError, match="is still being run by"):
        fetch_job(JobStore(path), job_id, wait=0.1, poll_seconds=0.05)
    JobStore(path).db.execute("UPDATE jobs SET owner_started = 'recorded-start'")
    monkeypatch.setattr(submit_module, "process_started", lambda pid: None)  # unreadable
    with pytest.raises(QCompileError, match="is still being run by"):
        fetch_job(JobStore(path), job_id, wait=0.1, poll_seconds=0.05)
    assert runs == []


def test_a_zombie_owner_is_gone(tmp_path, runs):
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    started = process_started(child.pid)
    job_id = _held_job(tmp_path / "jobs.db", Owner(socket.gethostname(), child.pid, started))
    child.stdin.close()  # it ends now
    while process_started(child.pid) != EXITED:
        time.sleep(0.05)
    try:
        fetch_job(JobStore(tmp_path / "jobs.db"), job_id, wait=30)
    finally:
        child.wait()
    assert len(runs) == 1


def test_the_cli_waits_as_told_and_takes_over(tmp_path, sleeper, runs, capsys):
    path = tmp_path / "jobs.db"
    job_id = _held_job(path, Owner(socket.gethostname(), sleeper.pid,
                                   process_started(sleeper.pid)))
    assert main(["fetch", job_id, "--store", str(path), "--wait", "0.2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"process {sleeper.pid} on" in err and runs == []
    assert main(["fetch", job_id, "--store", str(path), "--take-over", "--json"]) == 0
    assert capsys.readouterr().out.startswith('{"p": [[0.5], [0.25]]')


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_the_cli_refuses_a_bad_wait(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fetch", "some-id", "--wait", value])
    assert exit_info.value.code == 2
    assert "argument --wait: must be a non-negative number of seconds" in capsys.readouterr().err


def test_the_cli_documents_the_library_default_wait(capsys):
    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    assert f"(default {WAIT_SECONDS:g};" in " ".join(capsys.readouterr().out.split())
    assert build_parser().parse_args(["fetch", "j", "--wait", "inf"]).wait == float("inf")


# --- hints that name the store -----------------------------------------------------------------

def test_the_fetch_command_names_the_store_unless_it_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("QCOMPILE_JOBS_DB", str(tmp_path / "default.db"))
    assert fetch_command("j", JobStore(tmp_path / "default.db")) == "qcompile fetch j"
    assert fetch_command("j", JobStore(tmp_path / "o'ther.db")) == (
        f"qcompile fetch j --store '{tmp_path}/o'\"'\"'ther.db'")


@pytest.mark.parametrize("failure", [ConnectionError("no route to host"),
                                     Unreachable("fetching the result of job p-1 failed 5 "
                                                 "times; last error: timed out")],
                         ids=["connection", "retries-exhausted"])
def test_the_network_failure_hint_after_submit_names_the_store(tmp_path, monkeypatch, capsys,
                                                               failure):
    def run_program(*args, **kwargs):
        raise failure

    monkeypatch.setattr(submit_module, "run_program", run_program)
    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    path = tmp_path / "my store.db"
    assert main(["submit", "zoo:zz-vqc", "--backend", "aer", "--inputs",
                 str(tmp_path / "x.npy"), "--shots", "20", "--store", str(path)]) == 2
    out, err = capsys.readouterr()
    job_id = out.strip()
    err = " ".join(err.split())
    assert "Traceback" not in err and f"cannot reach aer ({failure})" in err
    assert f"run `qcompile fetch {job_id} --store '{path}'` to resume it" in err
    assert JobStore(path).get(job_id).status == "submitted"
