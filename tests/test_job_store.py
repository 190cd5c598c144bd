"""The SQLite job store: lossless records, write-once results, atomic claims, two
processes writing at once, idempotency keys bound to their request, and read-only stores."""

import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from qcompile.cli import main
from qcompile.ir import QCompileError, parse_program, print_program
from qcompile.jobs import JobStore, Owner, default_store_path, fetch_job
from qcompile.jobs.store import SCHEMA_VERSION
from qcompile.models import load_model


@pytest.fixture
def store(tmp_path):
    return JobStore(tmp_path / "jobs.db")


def _record(store, key=None):
    program = print_program(load_model("zoo:zz-vqc"))
    inputs = {"x": np.random.default_rng(0).normal(size=(3, 2))}
    weights = {"theta": np.random.default_rng(1).normal(size=(2, 2, 2))}
    return store.record(backend="fake_manila", program=program, inputs=inputs,
                        weights=weights, options={"shots": 10, "seed": 4, "output": None},
                        idempotency_key=key), program, inputs, weights


def test_record_is_lossless_and_reparses(store):
    (job_id, new), program, inputs, weights = _record(store)
    record = store.get(job_id)
    assert new and record.status == "recorded" and record.attempts == 0
    assert parse_program(record.program) == parse_program(program) == load_model("zoo:zz-vqc")
    np.testing.assert_array_equal(record.inputs["x"], inputs["x"])  # bit for bit
    np.testing.assert_array_equal(record.weights["theta"], weights["theta"])
    assert record.options == {"shots": 10, "seed": 4, "output": None}


def test_results_are_written_once(store):
    (job_id, _), *_ = _record(store)
    first = {"p": np.array([[0.25], [0.5], [0.75]])}
    assert store.store_results(job_id, first)
    assert not store.store_results(job_id, {"p": np.zeros((3, 1))})
    np.testing.assert_array_equal(store.results(job_id)["p"], first["p"])
    store.store_failure(job_id, "late failure")  # cannot turn a finished job into a failure
    assert store.get(job_id).status == "done"


def test_only_one_process_claims_a_recorded_job(store):
    (job_id, _), *_ = _record(store)
    other = JobStore(store.path)
    assert store.claim(job_id) == 1
    assert other.claim(job_id) is None
    owner = store.get(job_id).owner
    assert other.claim(job_id, stale_owner=Owner("elsewhere", 1, None)) is None  # must name it
    assert other.claim(job_id, stale_owner=owner, reexecution=True) == 2
    assert other.get(job_id).reexecutions == 1


def test_idempotency_key_returns_the_recorded_job(store):
    (first, new), *_ = _record(store, key="nightly-1")
    (again, again_new), *_ = _record(store, key="nightly-1")
    assert new and not again_new and first == again
    assert len(store.list()) == 1


def test_unknown_job_id(store):
    with pytest.raises(QCompileError, match="no job 'missing'"):
        store.get("missing")


def test_schema_is_versioned_and_wal(store):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(QCompileError, match="schema version 99, newer"):
        JobStore(store.path)


def test_default_path_is_overridable(tmp_path, monkeypatch):
    monkeypatch.setenv("QCOMPILE_JOBS_DB", str(tmp_path / "elsewhere.db"))
    assert default_store_path() == tmp_path / "elsewhere.db"
    monkeypatch.delenv("QCOMPILE_JOBS_DB")
    assert default_store_path().name == "jobs.sqlite"
    assert "qcompile" in str(default_store_path())


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from qcompile.jobs import JobStore
    store, tag, n = JobStore(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(n):
        job_id, _ = store.record(backend=tag, program=f"{tag} {i}",
                                 inputs={"x": np.full((2, 3), i)}, weights={},
                                 options={"i": i})
        assert store.claim(job_id) == 1
        store.add_provider_job(job_id, 1, 0, f"{tag}-{i}")
        assert store.store_results(job_id, {"y": np.arange(i + 1)})
""")


def test_two_processes_record_and_complete_jobs_at_once(tmp_path):
    path, n = tmp_path / "shared.db", 40
    JobStore(path).close()  # schema created once; the writers race on the jobs only
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(n)])
               for tag in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    store = JobStore(path)
    rows = store.list()
    assert len(rows) == 2 * n and {r[3] for r in rows} == {"done"}
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for job_id, _, tag, _, attempts in rows:
        record = store.get(job_id)
        i = record.options["i"]
        assert record.program == f"{tag} {i}" and attempts == 1
        assert record.provider_job_ids == (f"{tag}-{i}",)
        np.testing.assert_array_equal(record.inputs["x"], np.full((2, 3), i))
        np.testing.assert_array_equal(store.results(job_id)["y"], np.arange(i + 1))


def test_idempotency_key_with_a_different_request_is_refused(store):
    (job_id, _), program, inputs, weights = _record(store, key="nightly-1")
    with pytest.raises(QCompileError, match=r"key 'nightly-1' .* differs in seed, shots\)"):
        store.record(backend="fake_manila", program=program, inputs=inputs, weights=weights,
                     options={"shots": 11, "seed": 5, "output": None},
                     idempotency_key="nightly-1")
    with pytest.raises(QCompileError, match=r"differs in backend, inputs\)"):
        store.record(backend="aer", program=program, inputs={"x": inputs["x"] + 1},
                     weights=weights, options={"shots": 10, "seed": 4, "output": None},
                     idempotency_key="nightly-1")
    with pytest.raises(QCompileError, match=r"differs in program, weights\)"):
        store.record(backend="fake_manila", program=program + "\n", inputs=inputs,
                     weights={"theta": weights["theta"].astype(np.float32)},
                     options={"shots": 10, "seed": 4, "output": None},
                     idempotency_key="nightly-1")
    assert [row[0] for row in store.list()] == [job_id]


def test_reopen_makes_only_a_failed_job_runnable_again(store):
    (job_id, _), *_ = _record(store)
    assert not store.reopen(job_id)  # recorded, not failed
    store.store_failure(job_id, "ZeroDivisionError: division by zero")
    record = store.get(job_id)
    assert record.status == "failed" and record.error.startswith("ZeroDivisionError")
    assert store.reopen(job_id) and store.get(job_id).status == "recorded"
    assert store.claim(job_id) == 1


def _finished_store(path):
    store = JobStore(path)
    (job_id, _), *_ = _record(store)
    store.claim(job_id)
    store.store_results(job_id, {"p": np.array([[0.5]])})
    store.close()
    return job_id


def _assert_read_only(store, job_id):
    assert store.read_only
    assert [(row[0], row[3]) for row in store.list()] == [(job_id, "done")]
    np.testing.assert_array_equal(fetch_job(store, job_id)["p"], [[0.5]])
    with pytest.raises(QCompileError, match="the job store is read-only"):
        _record(store)
    with pytest.raises(QCompileError, match="the job store is read-only"):
        store.store_failure(job_id, "x")


def test_a_store_opened_read_only_lists_and_fetches_but_never_writes(tmp_path):
    path = tmp_path / "jobs.db"
    job_id = _finished_store(path)
    before = path.read_bytes()
    _assert_read_only(JobStore(path, read_only=True), job_id)
    assert path.read_bytes() == before  # (SQLite may add a WAL index beside it, if it can)
    with pytest.raises(QCompileError, match="no job store there"):
        JobStore(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission")
def test_an_unwritable_store_is_opened_read_only(tmp_path):
    directory = tmp_path / "medium"
    directory.mkdir()
    job_id = _finished_store(directory / "jobs.db")
    (directory / "jobs.db").chmod(0o444)
    directory.chmod(0o555)
    try:
        _assert_read_only(JobStore(directory / "jobs.db"), job_id)
    finally:
        directory.chmod(0o755)


def test_the_cli_lists_and_fetches_a_read_only_store(tmp_path, monkeypatch, capsys):
    path = tmp_path / "jobs.db"
    job_id = _finished_store(path)
    monkeypatch.setattr("qcompile.jobs.store._unwritable", lambda path: True)
    assert main(["jobs", "--store", str(path)]) == 0
    assert "done" in capsys.readouterr().out
    assert main(["fetch", job_id, "--json", "--store", str(path)]) == 0
    assert capsys.readouterr().out.startswith('{"p": [[0.5]]')
