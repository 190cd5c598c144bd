"""The SQLite job store: lossless records, write-once results, atomic claims, and two
processes writing at once."""

import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from qcompile.ir import QCompileError, parse_program, print_program
from qcompile.jobs import JobStore, default_store_path
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
    assert other.claim(job_id, stale_owner="elsewhere:1") is None  # must name the owner
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
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
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
