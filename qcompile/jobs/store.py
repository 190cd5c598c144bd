"""The job store: one SQLite file in WAL mode, safe for several processes at once.

Writes take the write lock up front (``BEGIN IMMEDIATE``) and readers wait for it
(``busy_timeout``), so two processes never interleave a read-modify-write. Nothing is ever
deleted or overwritten: a job's submission fields are written once when it is recorded, its
results once when it completes (a second write is refused), and every time the job is sent
to a provider an attempt row is appended.

A store that this process cannot write (a read-only file or directory, or
``read_only=True``) is opened through SQLite's ``mode=ro`` URI: it can be listed and its
finished jobs read, and any write is refused with a clear error instead of failing deep
inside SQLite.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..ir import QCompileError

SCHEMA_VERSION = 1
ENV_PATH = "QCOMPILE_JOBS_DB"

_SCHEMA = """
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


def default_store_path() -> Path:
    """``$QCOMPILE_JOBS_DB``, else ``jobs.sqlite`` in the user's data directory."""
    if os.environ.get(ENV_PATH):
        return Path(os.environ[ENV_PATH])
    from platformdirs import user_data_dir

    return Path(user_data_dir("qcompile")) / "jobs.sqlite"


@dataclass(frozen=True)
class JobRecord:
    id: str
    backend: str
    program: str
    inputs: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    options: dict
    status: str
    created: float
    owner: str | None
    error: str | None
    attempts: int
    reexecutions: int
    provider_job_ids: tuple[str, ...]  # of the latest attempt, in call order


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays by name as an ``.npz`` blob: exact dtypes and values, no pickling."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    return buffer.getvalue()


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _unwritable(path: Path) -> bool:
    """An existing store this process may not write: the file, or the directory SQLite must
    create its WAL and lock files in. (Root passes ``os.access`` everywhere; pass
    ``read_only=True`` there.)"""
    return path.is_file() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Bit-for-bit equality (names, dtypes, shapes, bytes), so NaNs compare equal too."""
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes()
        for k in a)


@dataclass(frozen=True)
class Request:
    """What a job is asked to do, in the form it is stored and read back in (arrays as
    arrays, options through JSON), so a resubmission equals its record exactly when nothing
    changed: an idempotency key is bound to it."""

    backend: str
    program: str
    inputs: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    options: dict

    @classmethod
    def of(cls, backend: str, program: str, inputs: dict, weights: dict,
           options: dict) -> Request:
        def arrays(values: dict) -> dict[str, np.ndarray]:
            return {k: np.asarray(v) for k, v in values.items()}

        return cls(backend, program, arrays(inputs), arrays(weights),
                   json.loads(json.dumps(options)))

    def differences(self, other: Request) -> list[str]:
        """The fields (options by name: shots, seed, ...) in which ``other`` differs."""
        differ = [field for field in ("backend", "program") if
                  getattr(self, field) != getattr(other, field)]
        differ += [field for field in ("inputs", "weights") if
                   not _same_arrays(getattr(self, field), getattr(other, field))]
        names = sorted(self.options.keys() | other.options.keys())
        return differ + [k for k in names if self.options.get(k) != other.options.get(k)]


class JobStore:
    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 30.0,
                 read_only: bool | None = None):
        """Open (creating it if needed) the store at ``path``.

        ``read_only=None`` opens read-only exactly when an existing store cannot be written
        by this process, so finished results on a read-only medium stay readable.
        """
        self.path = Path(path) if path is not None else default_store_path()
        self.read_only = _unwritable(self.path) if read_only is None else read_only
        try:
            self.db = self._connect_read_only() if self.read_only else self._connect(timeout)
            self.db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._check_version()
        except (OSError, sqlite3.DatabaseError) as err:
            raise QCompileError(f"{self.path}: cannot open the job store ({err})") from None

    def _connect(self, timeout: float) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        return db

    def _connect_read_only(self) -> sqlite3.Connection:
        """``mode=ro`` never writes; ``immutable`` too when the directory is not writable,
        since SQLite then cannot create the WAL index a read-only WAL open needs (nobody
        can write such a store, so it cannot change under us)."""
        if not self.path.is_file():
            raise QCompileError(f"{self.path}: no job store there (opened read-only, so none "
                                "is created)")
        uri = self.path.resolve().as_uri() + "?mode=ro"
        if not os.access(self.path.parent, os.W_OK):
            uri += "&immutable=1"
        return sqlite3.connect(uri, uri=True, isolation_level=None)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _write(self):
        if self.read_only:
            raise QCompileError(f"{self.path}: the job store is read-only; it can be listed "
                                "and its finished jobs fetched, but nothing can be recorded "
                                "or run in it")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _check_version(self) -> None:
        """Create the schema in a new store (writable only); refuse a newer one."""
        if self.read_only:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                raise QCompileError(f"{self.path}: not a job store (opened read-only)")
            self._refuse_newer(version)
            return
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._refuse_newer(version)

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise QCompileError(f"{self.path}: the job store has schema version {version}, "
                                f"newer than this qcompile understands ({SCHEMA_VERSION}); "
                                "upgrade qcompile")

    # --- recording ---------------------------------------------------------------------

    def record(self, *, backend: str, program: str, inputs: dict, weights: dict,
               options: dict, idempotency_key: str | None = None) -> tuple[str, bool]:
        """Record a submission before anything is sent; returns (job id, newly recorded).

        With an ``idempotency_key`` already in the store, the existing job is returned and
        nothing new is recorded, provided the request is the same: a key reused for a
        different request would silently hand back another job's results, so it is refused.
        """
        request = Request.of(backend, program, inputs, weights, options)
        with self._write() as db:
            if idempotency_key is not None:
                row = db.execute("SELECT id FROM jobs WHERE idempotency_key = ?",
                                 (idempotency_key,)).fetchone()
                if row:
                    self._check_same_request(idempotency_key, row[0], request)
                    return row[0], False
            job_id = str(uuid.uuid4())
            db.execute("INSERT INTO jobs (id, idempotency_key, created, backend, program, "
                       "inputs, weights, options, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                       "'recorded')",
                       (job_id, idempotency_key, time.time(), backend, program,
                        pack_arrays(request.inputs), pack_arrays(request.weights),
                        json.dumps(options)))
            return job_id, True

    def _check_same_request(self, key: str, job_id: str, request: Request) -> None:
        recorded = self.get(job_id)
        differ = Request(recorded.backend, recorded.program, recorded.inputs,
                         recorded.weights, recorded.options).differences(request)
        if differ:
            raise QCompileError(f"idempotency key {key!r} already belongs to job {job_id}, "
                                f"recorded with a different request (it differs in "
                                f"{', '.join(differ)}); use a new key, or the same request to "
                                "resume that job")

    def claim(self, job_id: str, *, stale_owner: str | None = None,
              reexecution: bool = False) -> int | None:
        """Take the job for sending and open a new attempt; returns its number, or None when
        another process holds it.

        A ``recorded`` job is claimed by exactly one process; a ``submitted`` one only when
        the caller names its current owner as gone (``stale_owner``). ``reexecution`` marks
        an attempt that runs again what a dead process had already sent.
        """
        with self._write() as db:
            if stale_owner is None:
                cursor = db.execute("UPDATE jobs SET status = 'submitted', owner = ? "
                                    "WHERE id = ? AND status = 'recorded'",
                                    (this_process(), job_id))
            else:
                cursor = db.execute("UPDATE jobs SET owner = ? WHERE id = ? AND "
                                    "status = 'submitted' AND owner IS ?",
                                    (this_process(), job_id, stale_owner))
            if cursor.rowcount != 1:
                return None
            number = db.execute("SELECT COUNT(*) FROM attempts WHERE job_id = ?",
                                (job_id,)).fetchone()[0] + 1
            db.execute("INSERT INTO attempts VALUES (?, ?, ?, ?)",
                       (job_id, number, time.time(), int(reexecution)))
            return number

    def add_provider_job(self, job_id: str, attempt: int, call_index: int,
                         provider_job_id: str) -> None:
        with self._write() as db:
            db.execute("INSERT INTO provider_jobs VALUES (?, ?, ?, ?, ?)",
                       (job_id, attempt, call_index, provider_job_id, time.time()))

    def store_results(self, job_id: str, results: dict[str, np.ndarray]) -> bool:
        """Write the results once; False (and nothing changed) when they are already there."""
        with self._write() as db:
            cursor = db.execute("UPDATE jobs SET results = ?, status = 'done', finished = ? "
                                "WHERE id = ? AND results IS NULL",
                                (pack_arrays(results), time.time(), job_id))
            return cursor.rowcount == 1

    def store_failure(self, job_id: str, message: str) -> None:
        """A job whose run failed: kept, with the reason, and not run again unless a retry
        is asked for (``reopen``), so a failing job cannot fail anew on every fetch."""
        with self._write() as db:
            db.execute("UPDATE jobs SET status = 'failed', error = ?, finished = ? "
                       "WHERE id = ? AND results IS NULL AND status != 'failed'",
                       (message, time.time(), job_id))

    def reopen(self, job_id: str) -> bool:
        """Make a ``failed`` job ``recorded`` again so it can be claimed and run anew (an
        explicit retry); False when it is not failed. Its last error is kept until then."""
        with self._write() as db:
            cursor = db.execute("UPDATE jobs SET status = 'recorded', owner = NULL, "
                                "finished = NULL WHERE id = ? AND status = 'failed'", (job_id,))
            return cursor.rowcount == 1

    # --- reading -----------------------------------------------------------------------

    def get(self, job_id: str) -> JobRecord:
        row = self.db.execute(
            "SELECT id, backend, program, inputs, weights, options, status, created, owner, "
            "error FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise QCompileError(f"no job {job_id!r} in the job store {self.path}; "
                                "`qcompile jobs` lists the jobs it holds")
        attempts, reexecutions = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(reexecution), 0) FROM attempts WHERE job_id = ?",
            (job_id,)).fetchone()
        provider_ids = self.db.execute(
            "SELECT provider_job_id FROM provider_jobs WHERE job_id = ? AND attempt = ? "
            "ORDER BY call_index", (job_id, attempts)).fetchall()
        return JobRecord(row[0], row[1], row[2], unpack_arrays(row[3]), unpack_arrays(row[4]),
                         json.loads(row[5]), row[6], row[7], row[8], row[9], attempts,
                         reexecutions, tuple(r[0] for r in provider_ids))

    def results(self, job_id: str) -> dict[str, np.ndarray] | None:
        row = self.db.execute("SELECT results FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise QCompileError(f"no job {job_id!r} in the job store {self.path}")
        return None if row[0] is None else unpack_arrays(row[0])

    def list(self) -> list[tuple]:
        """(id, created, backend, status, attempts) for every job, oldest first."""
        return self.db.execute(
            "SELECT id, created, backend, status, "
            "(SELECT COUNT(*) FROM attempts a WHERE a.job_id = jobs.id) "
            "FROM jobs ORDER BY created").fetchall()

    def provider_submissions(self, job_id: str) -> int:
        """How many distinct provider jobs were ever sent for this job."""
        return self.db.execute("SELECT COUNT(DISTINCT provider_job_id) FROM provider_jobs "
                               "WHERE job_id = ?",
                               (job_id,)).fetchone()[0]
