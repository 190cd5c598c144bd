"""The job store: one SQLite file in WAL mode, safe for several processes at once.

Writes take the write lock up front (``BEGIN IMMEDIATE``) and readers wait for it
(``busy_timeout``), so two processes never interleave a read-modify-write. Nothing is ever
deleted or overwritten: a job's submission fields are written once when it is recorded, its
results once when it completes (a second write is refused), and every time the job is sent
to a provider an attempt row is appended.
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


class JobStore:
    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 30.0):
        self.path = Path(path) if path is not None else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except (OSError, sqlite3.DatabaseError) as err:
            raise QCompileError(f"{self.path}: cannot open the job store ({err})") from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _write(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise QCompileError(f"{self.path}: the job store has schema version {version}, "
                                    f"newer than this qcompile understands ({SCHEMA_VERSION});"
                                    " upgrade qcompile")

    # --- recording ---------------------------------------------------------------------

    def record(self, *, backend: str, program: str, inputs: dict, weights: dict,
               options: dict, idempotency_key: str | None = None) -> tuple[str, bool]:
        """Record a submission before anything is sent; returns (job id, newly recorded).

        With an ``idempotency_key`` already in the store, the existing job is returned and
        nothing new is recorded.
        """
        with self._write() as db:
            if idempotency_key is not None:
                row = db.execute("SELECT id FROM jobs WHERE idempotency_key = ?",
                                 (idempotency_key,)).fetchone()
                if row:
                    return row[0], False
            job_id = str(uuid.uuid4())
            db.execute("INSERT INTO jobs (id, idempotency_key, created, backend, program, "
                       "inputs, weights, options, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                       "'recorded')",
                       (job_id, idempotency_key, time.time(), backend, program,
                        pack_arrays(inputs), pack_arrays(weights), json.dumps(options)))
            return job_id, True

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
        """A job the provider rejected for good: kept, with the reason, never retried."""
        with self._write() as db:
            db.execute("UPDATE jobs SET status = 'failed', error = ?, finished = ? "
                       "WHERE id = ? AND results IS NULL AND status != 'failed'",
                       (message, time.time(), job_id))

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
