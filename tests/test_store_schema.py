"""The job store and files it did not write, or wrote long ago.

A version-1 store (built here with the CREATE TABLE statements of qcompile up to commit
31b00cd) is migrated in one transaction when opened for writing and read as it is when
opened read-only. Newer stores, other applications' databases, files that are not SQLite,
truncated files and rows changed behind qcompile's back are refused with a message naming the
store (and, for a row, the job and the field), through the library and through the CLI (exit
status 2, no traceback). Nothing stored is ever unpickled."""

import io
import os
import pickle
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from qcompile.cli import main
from qcompile.ir import QCompileError, print_program
from qcompile.jobs import JobStore, Owner, fetch_job
from qcompile.jobs.store import SCHEMA_VERSION
from qcompile.models import load_model

V1_SCHEMA = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    created REAL NOT NULL,
    backend TEXT NOT NULL,
    program TEXT NOT NULL,
    inputs BLOB NOT NULL,
    weights BLOB NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('recorded', 'submitted', 'done', 'failed')),
    owner TEXT,
    results BLOB,
    error TEXT,
    finished REAL
);
CREATE TABLE attempts (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    number INTEGER NOT NULL,
    started REAL NOT NULL,
    reexecution INTEGER NOT NULL,
    PRIMARY KEY (job_id, number)
);
CREATE TABLE provider_jobs (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    attempt INTEGER NOT NULL,
    call_index INTEGER NOT NULL,
    provider_job_id TEXT NOT NULL,
    submitted REAL NOT NULL,
    PRIMARY KEY (job_id, attempt, call_index)
);
"""
OPTIONS = '{"shots": 10, "seed": 4, "output": null}'
RESULTS = np.array([[0.25], [0.75]])


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _v1_store(path: Path, owner: str = "builder:4242") -> None:
    """A store as qcompile's version-1 code left it: WAL, user_version 1, a done job with
    results and a provider job, a submitted one owned by ``owner``, a recorded one."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(V1_SCHEMA)
    db.execute("PRAGMA user_version = 1")
    inputs, weights = _npz(x=np.ones((2, 2))), _npz(theta=np.zeros((2, 2, 2)))
    program = print_program(load_model("zoo:zz-vqc"))
    for job_id, status, job_owner, results in [("done-1", "done", "builder:17", _npz(p=RESULTS)),
                                               ("held-1", "submitted", owner, None),
                                               ("new-1", "recorded", None, None)]:
        db.execute("INSERT INTO jobs VALUES (?, NULL, 1.0, 'aer', ?, ?, ?, ?, ?, ?, ?, NULL, "
                   "NULL)", (job_id, program, inputs, weights, OPTIONS, status, job_owner,
                             results))
    db.execute("INSERT INTO attempts VALUES ('done-1', 1, 2.0, 0)")
    db.execute("INSERT INTO provider_jobs VALUES ('done-1', 1, 0, 'provider-7', 3.0)")
    db.close()


def _schema(path: Path) -> tuple[int, list[str]]:
    db = sqlite3.connect(path)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    columns = [row[1] for row in db.execute("PRAGMA table_info(jobs)")]
    db.close()
    return version, columns


def _cli_error(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


# --- versions ----------------------------------------------------------------------------------

def test_a_version_1_store_is_migrated_once_and_keeps_every_row(tmp_path, capsys):
    path = tmp_path / "old.db"
    _v1_store(path)
    store = JobStore(path)
    assert store.version == SCHEMA_VERSION == 2
    version, columns = _schema(path)
    assert version == 2 and "owner" not in columns
    assert columns[9:12] == ["owner_host", "owner_pid", "owner_started"]
    assert store.get("held-1").owner == Owner("builder", 4242, None)
    done = store.get("done-1")
    assert (done.status, done.owner, done.attempts, done.provider_job_ids) == (
        "done", Owner("builder", 17, None), 1, ("provider-7",))
    np.testing.assert_array_equal(done.inputs["x"], np.ones((2, 2)))
    np.testing.assert_array_equal(fetch_job(store, "done-1")["p"], RESULTS)
    assert [row[0] for row in store.list()] == ["done-1", "held-1", "new-1"]
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()
    assert JobStore(path).version == 2  # opening it again migrates nothing
    assert main(["fetch", "done-1", "--json", "--store", str(path)]) == 0
    assert capsys.readouterr().out.startswith('{"p": [[0.25], [0.75]]')


def test_a_migration_that_fails_changes_nothing(tmp_path, capsys):
    path = tmp_path / "old.db"
    _v1_store(path, owner="no-pid-here")
    with pytest.raises(QCompileError, match=rf"{re.escape(str(path))}: job held-1: the field "
                                            r"'owner' 'no-pid-here' is not 'host:pid'.*not "
                                            "migrated"):
        JobStore(path)
    assert _schema(path)[0] == 1 and "owner" in _schema(path)[1]
    assert "job held-1: the field 'owner'" in _cli_error(capsys, "jobs", "--store", str(path))
    assert _schema(path)[0] == 1


def test_a_read_only_version_1_store_is_read_without_migrating(tmp_path):
    path = tmp_path / "old.db"
    _v1_store(path)
    before = path.read_bytes()
    store = JobStore(path, read_only=True)
    assert store.version == 1
    assert store.get("held-1").owner == Owner("builder", 4242, None)
    np.testing.assert_array_equal(fetch_job(store, "done-1")["p"], RESULTS)
    assert [row[3] for row in store.list()] == ["done", "submitted", "recorded"]
    with pytest.raises(QCompileError, match="the job store is read-only"):
        store.claim("new-1")
    store.close()
    assert path.read_bytes() == before and _schema(path)[0] == 1


# --- files that are not job stores ---------------------------------------------------------

def _foreign(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute("INSERT INTO notes (text) VALUES ('keep me')")
    db.commit()
    db.close()


def _foreign_versioned(path: Path) -> None:
    """Another application that also numbers its schema, with a table called jobs."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE jobs (id TEXT, title TEXT)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(5000))


def _truncated(path: Path) -> None:
    store = JobStore(path)
    for i in range(20):
        store.record(backend="aer", program="p" * 2000, inputs={"x": np.full((40, 20), i)},
                     weights={}, options={})
    store.close()
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])


def _newer(path: Path) -> None:
    JobStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 3")
    db.close()


@pytest.mark.parametrize("make, message", [
    (_foreign, r"not a job store: an SQLite database whose tables \(notes\) and schema "
               r"version \(0\)"),
    (_foreign_versioned, r"not a job store: .*tables \(jobs\) and schema version \(1\)"),
    (_garbage, "not a job store: the file is not an SQLite database"),
    (_truncated, r"the job store is damaged \(its SQLite file is truncated"),
    (_newer, r"the job store has schema version 3, newer than this qcompile understands "
             r"\(2\); upgrade"),
], ids=["foreign", "foreign-versioned", "garbage", "truncated", "newer"])
@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
def test_a_file_that_is_no_usable_store_is_refused_and_left_alone(tmp_path, capsys, make,
                                                                 message, read_only):
    path = tmp_path / "other.db"
    make(path)
    before = path.read_bytes()
    expected = rf"{re.escape(str(path))}: {message}"
    with pytest.raises(QCompileError, match=f"^{expected}"):
        JobStore(path, read_only=read_only)
    if not read_only:
        for argv in (["jobs"], ["fetch", "some-id"]):
            assert re.match(f"error: {expected}",
                            _cli_error(capsys, *argv, "--store", str(path)))
    assert path.read_bytes() == before


# --- rows changed behind qcompile's back -----------------------------------------------------

class _Touch:
    """Unpickling this creates ``path``: a blob that ran code when read would show."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return Path.touch, (self.path,)


def _done_store(path: Path) -> str:
    store = JobStore(path)
    job_id, _ = store.record(backend="aer", program=print_program(load_model("zoo:zz-vqc")),
                             inputs={"x": np.ones((2, 2))}, weights={"theta": np.zeros((2, 2, 2))},
                             options={"shots": 10, "seed": 4, "output": None})
    store.claim(job_id)
    store.store_results(job_id, {"p": RESULTS})
    store.close()
    return job_id


def _change(path: Path, assignments: str, *values) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA ignore_check_constraints = ON")  # so that a bad status can be written
    db.execute(f"UPDATE jobs SET {assignments}", values)
    db.commit()
    db.close()


MARKER = "unpickled"

DAMAGE = [
    ("results", "results = ?", (b"not an npz",), r"is not an .npz blob of arrays"),
    ("results", "results = ?", (pickle.dumps(_Touch(Path(MARKER))),), "is not an .npz blob"),
    ("results", "results = ?", (_npz(p=np.array([_Touch(Path(MARKER))], dtype=object)),),
     r"is not an .npz blob of arrays \(Object arrays cannot be loaded"),
    ("inputs", "inputs = ?", (7,), "holds int, not an .npz blob"),
    ("owner", "owner_pid = ?", ("twelve",), "is host '.*', pid 'twelve', started"),
    ("owner", "owner_host = ?", (b"host",), "is host b'host', pid"),
    ("owner", "owner_pid = ?", (1.5,), "is host '.*', pid 1.5, started"),
    ("owner", "status = 'submitted', owner_host = NULL, owner_pid = NULL, "
              "owner_started = NULL", (), "is missing, but the job is submitted"),
    ("status", "status = ?", ("paused",), "holds 'paused', not one of recorded, submitted"),
    ("options", "options = ?", ('{"shots": ',), "is not JSON"),
    ("options", "options = ?", ("[1, 2]",), r"holds \[1, 2\], not a JSON object"),
    ("created", "created = ?", ("yesterday",), "holds str 'yesterday', not a number"),
]


@pytest.mark.parametrize("field, assignments, values, problem", DAMAGE,
                         ids=[f"{d[0]}-{k}" for k, d in enumerate(DAMAGE)])
def test_a_damaged_row_names_the_store_the_job_and_the_field(tmp_path, capsys, monkeypatch,
                                                            field, assignments, values,
                                                            problem):
    monkeypatch.chdir(tmp_path)  # where MARKER would appear, were anything unpickled
    path = tmp_path / "jobs.db"
    job_id = _done_store(path)
    _change(path, assignments, *values)
    named = f"{path}: job {job_id}: the field '{field}'"
    with pytest.raises(QCompileError, match=f"{re.escape(named)} {problem}"):
        fetch_job(JobStore(path), job_id)
    assert named in _cli_error(capsys, "fetch", job_id, "--store", str(path))
    if field in ("status", "created"):  # the listing reads these too
        assert f"job {job_id}: the field '{field}'" in _cli_error(capsys, "jobs", "--store",
                                                                  str(path))
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("assignments, value, message", [
    ("options = ?", '{"seed": 4}', r"the field 'options' cannot be used \(shots must be a "
                                   "positive integer, got None"),
    ("program = ?", "circuit {", "the field 'program' does not parse"),
])
def test_a_damaged_request_is_reported_before_anything_is_claimed(tmp_path, capsys,
                                                                  assignments, value, message):
    path = tmp_path / "jobs.db"
    store = JobStore(path)
    job_id, _ = store.record(backend="aer", program=print_program(load_model("zoo:zz-vqc")),
                             inputs={"x": np.ones((2, 2))}, weights={"theta": np.zeros((2, 2, 2))},
                             options={"shots": 10, "seed": 4, "output": None})
    _change(path, assignments, value)
    with pytest.raises(QCompileError, match=rf"{re.escape(str(path))}: job {job_id}: {message}"):
        fetch_job(store, job_id)
    assert "the field" in _cli_error(capsys, "fetch", job_id, "--store", str(path))
    record = store.get(job_id)
    assert record.status == "recorded" and record.attempts == 0


def test_arrays_of_python_objects_are_never_stored(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    with pytest.raises(QCompileError, match="'x' holds Python objects"):
        store.record(backend="aer", program="p", inputs={"x": np.array([{}], dtype=object)},
                     weights={}, options={})
    assert store.list() == []


def test_an_unopenable_path_is_reported(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(QCompileError, match="dir.db: cannot use the job store"):
        JobStore(tmp_path / "dir.db")
    assert os.listdir(tmp_path / "dir.db") == []
