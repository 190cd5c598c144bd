"""The job store: one SQLite file in WAL mode, safe for several processes at once.

Writes take the write lock up front (``BEGIN IMMEDIATE``) and readers wait for it
(``busy_timeout``), so two processes never interleave a read-modify-write. Nothing is ever
deleted or overwritten: a job's submission fields are written once when it is recorded, its
results once when it completes (a second write is refused), and every time the job is sent
to a provider an attempt row is appended.

The schema carries its version in ``PRAGMA user_version``. An older store is migrated in
one transaction when it is opened for writing; a newer one is refused rather than misread,
and so is any file that is not a job store (another application's database, a file that is
not SQLite, a damaged one). Rows are checked as they are read, so a value that qcompile did
not write is reported with the job and the field it is in instead of failing later; arrays
are ``.npz`` blobs read without unpickling.

A store that this process cannot write (a read-only file or directory, or
``read_only=True``) is opened through SQLite's ``mode=ro`` URI: it can be listed and its
finished jobs read, in the layout of its own version (nothing is migrated), and any write
is refused with a clear error instead of failing deep inside SQLite.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
import time
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np

from ..ir import QCompileError

SCHEMA_VERSION = 2
ENV_PATH = "QCOMPILE_JOBS_DB"
STATUSES = ("recorded", "submitted", "done", "failed")
PROC = Path("/proc")  # Linux's process table, where process start times are read
EXITED = "exited"  # the start token of a zombie, which no running process has

_JOBS = """
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
    owner_host TEXT,
    owner_pid INTEGER,
    owner_started TEXT,
    results BLOB,
    error TEXT,
    finished REAL
)"""
_SCHEMA = _JOBS + """;
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
# Messages of SQLite errors that mean the file cannot be used as a store, explained.
_UNUSABLE = {
    "file is not a database": "not a job store: the file is not an SQLite database",
    "database disk image is malformed": "the job store is damaged (its SQLite file is "
                                        "truncated or overwritten); restore it from a backup",
    "database is locked": "the job store stayed locked by another process for longer than "
                          "the timeout",
}


def _layout(schema: str) -> dict[str, tuple[str, ...]]:
    """Table name → column names of a schema, as SQLite reports them."""
    db = sqlite3.connect(":memory:")
    db.executescript(schema)
    layout = _tables(db)
    db.close()
    return layout


def _tables(db: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    names = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                       "name NOT LIKE 'sqlite_%'").fetchall()
    return {name: tuple(row[1] for row in db.execute(f"PRAGMA table_info({name})"))
            for (name,) in names}


# Each schema version's tables and columns: a database is opened as a job store only when it
# has exactly those of its version.
_LAYOUTS = {SCHEMA_VERSION: _layout(_SCHEMA)}
# Version 1 (qcompile up to commit 31b00cd) kept the owner as one text column "host:pid".
_LAYOUTS[1] = {**_LAYOUTS[2], "jobs": (
    "id", "idempotency_key", "created", "backend", "program", "inputs", "weights", "options",
    "status", "owner", "results", "error", "finished")}
_OWNER_COLUMNS = "owner_host, owner_pid, owner_started"


def default_store_path() -> Path:
    """``$QCOMPILE_JOBS_DB``, else ``jobs.sqlite`` in the user's data directory."""
    if os.environ.get(ENV_PATH):
        return Path(os.environ[ENV_PATH])
    from platformdirs import user_data_dir

    return Path(user_data_dir("qcompile")) / "jobs.sqlite"


@dataclass(frozen=True)
class Owner:
    """The process that claimed a job: its host, pid and start time (:func:`process_started`;
    None where that cannot be read), so that a later process given the same pid, or a
    process on another host, is not taken for it."""

    host: str
    pid: int
    started: str | None

    @classmethod
    def current(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), process_started(os.getpid()))

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}"


def process_started(pid: int) -> str | None:
    """When process ``pid`` started, as a token that a later process reusing the pid does not
    share: on Linux the boot id and field 22 of ``/proc/PID/stat`` (the start time in clock
    ticks since boot), else psutil's creation time. ``EXITED`` for a zombie (it has ended,
    only its parent has not reaped it); None when it cannot be read (no such process, no
    ``/proc`` and no psutil, or another user's process hidden by ``hidepid``)."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip()
        stat = (PROC / str(pid) / "stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # the name in (...) may hold spaces
        return EXITED if fields[0] in ("Z", "X") else f"{boot}:{fields[19]}"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return EXITED
        return f"psutil:{process.create_time()!r}"
    except psutil.Error:
        return None


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
    owner: Owner | None
    error: str | None
    attempts: int
    reexecutions: int
    provider_job_ids: tuple[str, ...]  # of the latest attempt, in call order


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays by name as an ``.npz`` blob: exact dtypes and values. Arrays of Python objects
    are refused, since ``np.savez`` would pickle them and the store never unpickles."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise QCompileError(f"{name!r} holds Python objects, which the job store cannot "
                                "keep; pass arrays of numbers")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` blob, read member by member with ``allow_pickle=False`` (no
    format sniffing that could fall back to pickle); ValueError for anything else."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            arrays = {}
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    raise ValueError(f"its member {member!r} is not an .npy array")
                with archive.open(member) as data:
                    arrays[member[:-4]] = np.lib.format.read_array(data, allow_pickle=False)
            return arrays
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(str(err)) from None


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
        """Open (creating it if needed, migrating it if it is older) the store at ``path``.

        ``read_only=None`` opens read-only exactly when an existing store cannot be written
        by this process, so finished results on a read-only medium stay readable.
        """
        self.path = Path(path) if path is not None else default_store_path()
        self.read_only = _unwritable(self.path) if read_only is None else read_only
        self.timeout = timeout
        try:
            self.db = self._connect_read_only() if self.read_only else self._connect()
        except OSError as err:
            raise QCompileError(f"{self.path}: cannot open the job store ({err})") from None
        try:
            self._open()
        except QCompileError:
            self.db.close()
            raise

    def _open(self) -> None:
        """Check what the file holds; create, or migrate, a store opened for writing."""
        self._query(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        if self.read_only:
            self.version = self._checked_version()
            return
        with self._write():
            self.version = self._checked_version()
            if self.version < SCHEMA_VERSION:
                self._upgrade()
        self._query("PRAGMA journal_mode = WAL")  # only once the file is known to be ours
        self._query("PRAGMA foreign_keys = ON")  # only now: a migration rebuilds jobs

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._sqlite_errors():
            return sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)

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
        with self._sqlite_errors():
            return sqlite3.connect(uri, uri=True, isolation_level=None)

    def close(self) -> None:
        self.db.close()

    # --- SQL, with SQLite's failures as messages about the store ------------------------

    @contextmanager
    def _sqlite_errors(self):
        """SQLite errors that mean the file cannot be used (not a database, damaged, locked,
        unreadable) become a QCompileError naming the store; integrity and programming
        errors are bugs of ours and keep their traceback."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            if type(err) not in (sqlite3.DatabaseError, sqlite3.OperationalError):
                raise
            problem = _UNUSABLE.get(str(err), f"cannot use the job store ({err})")
            raise QCompileError(f"{self.path}: {problem}") from None

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._sqlite_errors():
            return self.db.execute(sql, params).fetchall()

    def _change(self, sql: str, params: tuple = ()) -> int:
        """Run a write; the number of rows it changed."""
        with self._sqlite_errors():
            return self.db.execute(sql, params).rowcount

    @contextmanager
    def _write(self):
        if self.read_only:
            raise QCompileError(f"{self.path}: the job store is read-only; it can be listed "
                                "and its finished jobs fetched, but nothing can be recorded "
                                "or run in it")
        self._query("BEGIN IMMEDIATE")
        try:
            yield
            self._query("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    # --- the schema and its versions -----------------------------------------------------

    def _checked_version(self) -> int:
        """The store's schema version, once its tables are known to be a job store's: 0 for
        an empty database opened for writing (a new store)."""
        version = self._query("PRAGMA user_version")[0][0]
        with self._sqlite_errors():
            tables = _tables(self.db)
        if version > SCHEMA_VERSION:
            raise QCompileError(f"{self.path}: the job store has schema version {version}, "
                                f"newer than this qcompile understands ({SCHEMA_VERSION}); "
                                "upgrade qcompile")
        if version == 0 and not tables and not self.read_only:
            return 0
        if tables != _LAYOUTS.get(version):
            found = ", ".join(sorted(tables)) or "none"
            raise QCompileError(f"{self.path}: not a job store: an SQLite database whose "
                                f"tables ({found}) and schema version ({version}) are not "
                                "those of a qcompile job store; point --store (or "
                                f"${ENV_PATH}) at a job store or a new file")
        return version

    def _upgrade(self) -> None:
        """Inside the opening transaction: the schema of a new store, else the migrations
        from the store's version on, so an interrupted upgrade leaves the store as it was."""
        if self.version == 0:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._query(statement)
        if self.version == 1:
            self._migrate_owner_columns()
        self._query(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.version = SCHEMA_VERSION

    def _migrate_owner_columns(self) -> None:
        """Version 1 → 2: the owner's "host:pid" text becomes host, pid and start time
        columns. SQLite cannot change a column in place, so jobs is rebuilt (foreign keys
        are not enforced yet while the store is being opened)."""
        self._query(_JOBS.replace("CREATE TABLE jobs", "CREATE TABLE jobs_v2"))
        kept = ", ".join(name for name in _LAYOUTS[1]["jobs"] if name != "owner")
        self._query(f"INSERT INTO jobs_v2 ({kept}) SELECT {kept} FROM jobs")
        for job_id, text in self._query("SELECT id, owner FROM jobs WHERE owner IS NOT NULL"):
            owner = self._v1_owner(job_id, text, migrating=True)
            self._change("UPDATE jobs_v2 SET owner_host = ?, owner_pid = ? WHERE id = ?",
                         (owner.host, owner.pid, job_id))
        self._query("DROP TABLE jobs")
        self._query("ALTER TABLE jobs_v2 RENAME TO jobs")

    def _v1_owner(self, job_id, text, *, migrating: bool = False) -> Owner:
        host, _, pid = text.rpartition(":") if isinstance(text, str) else ("", "", "")
        if not (host and pid.isdecimal()):
            after = ("; the store was not migrated to this qcompile's version (nothing was "
                     "changed): clear that owner or restore the store") if migrating else ""
            raise self._damaged(job_id, "owner", f"{text!r} is not 'host:pid'{after}")
        return Owner(host, int(pid), None)

    # --- recording ---------------------------------------------------------------------

    def record(self, *, backend: str, program: str, inputs: dict, weights: dict,
               options: dict, idempotency_key: str | None = None) -> tuple[str, bool]:
        """Record a submission before anything is sent; returns (job id, newly recorded).

        With an ``idempotency_key`` already in the store, the existing job is returned and
        nothing new is recorded, provided the request is the same: a key reused for a
        different request would silently hand back another job's results, so it is refused.
        """
        request = Request.of(backend, program, inputs, weights, options)
        with self._write():
            if idempotency_key is not None:
                rows = self._query("SELECT id FROM jobs WHERE idempotency_key = ?",
                                   (idempotency_key,))
                if rows:
                    self._check_same_request(idempotency_key, rows[0][0], request)
                    return rows[0][0], False
            job_id = str(uuid.uuid4())
            self._change("INSERT INTO jobs (id, idempotency_key, created, backend, program, "
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

    def claim(self, job_id: str, *, stale_owner: Owner | None = None,
              reexecution: bool = False) -> int | None:
        """Take the job for sending and open a new attempt; returns its number, or None when
        another process holds it.

        A ``recorded`` job is claimed by exactly one process; a ``submitted`` one only when
        the caller names its current owner as gone (``stale_owner``). ``reexecution`` marks
        an attempt that runs again what a dead process had already sent.
        """
        owner = astuple(Owner.current())
        with self._write():
            if stale_owner is None:
                changed = self._change(
                    "UPDATE jobs SET status = 'submitted', owner_host = ?, owner_pid = ?, "
                    "owner_started = ? WHERE id = ? AND status = 'recorded'", (*owner, job_id))
            else:
                changed = self._change(
                    "UPDATE jobs SET owner_host = ?, owner_pid = ?, owner_started = ? "
                    "WHERE id = ? AND status = 'submitted' AND owner_host IS ? AND "
                    "owner_pid IS ? AND owner_started IS ?",
                    (*owner, job_id, *astuple(stale_owner)))
            if changed != 1:
                return None
            number = self._query("SELECT COUNT(*) FROM attempts WHERE job_id = ?",
                                 (job_id,))[0][0] + 1
            self._change("INSERT INTO attempts VALUES (?, ?, ?, ?)",
                         (job_id, number, time.time(), int(reexecution)))
            return number

    def add_provider_job(self, job_id: str, attempt: int, call_index: int,
                         provider_job_id: str) -> None:
        with self._write():
            self._change("INSERT INTO provider_jobs VALUES (?, ?, ?, ?, ?)",
                         (job_id, attempt, call_index, provider_job_id, time.time()))

    def store_results(self, job_id: str, results: dict[str, np.ndarray]) -> bool:
        """Write the results once; False (and nothing changed) when they are already there."""
        with self._write():
            return self._change("UPDATE jobs SET results = ?, status = 'done', finished = ? "
                                "WHERE id = ? AND results IS NULL",
                                (pack_arrays(results), time.time(), job_id)) == 1

    def store_failure(self, job_id: str, message: str) -> None:
        """A job whose run failed: kept, with the reason, and not run again unless a retry
        is asked for (``reopen``), so a failing job cannot fail anew on every fetch."""
        with self._write():
            self._change("UPDATE jobs SET status = 'failed', error = ?, finished = ? "
                         "WHERE id = ? AND results IS NULL AND status != 'failed'",
                         (message, time.time(), job_id))

    def reopen(self, job_id: str) -> bool:
        """Make a ``failed`` job ``recorded`` again so it can be claimed and run anew (an
        explicit retry); False when it is not failed. Its last error is kept until then."""
        with self._write():
            return self._change("UPDATE jobs SET status = 'recorded', owner_host = NULL, "
                                "owner_pid = NULL, owner_started = NULL, finished = NULL "
                                "WHERE id = ? AND status = 'failed'", (job_id,)) == 1

    # --- reading, every field checked ----------------------------------------------------

    def get(self, job_id: str) -> JobRecord:
        owner = "owner, NULL, NULL" if self.version == 1 else _OWNER_COLUMNS
        rows = self._query(
            "SELECT id, backend, program, inputs, weights, options, status, created, error, "
            f"{owner} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise QCompileError(f"no job {job_id!r} in the job store {self.path}; "
                                "`qcompile jobs` lists the jobs it holds")
        _, backend, program, inputs, weights, options, status, created, error = rows[0][:9]
        attempts, reexecutions = self._query(
            "SELECT COUNT(*), COALESCE(SUM(reexecution), 0) FROM attempts WHERE job_id = ?",
            (job_id,))[0]
        provider_ids = tuple(row[0] for row in self._query(
            "SELECT provider_job_id FROM provider_jobs WHERE job_id = ? AND attempt = ? "
            "ORDER BY call_index", (job_id, attempts)))
        record = JobRecord(
            job_id, self._text(job_id, "backend", backend),
            self._text(job_id, "program", program), self._arrays(job_id, "inputs", inputs),
            self._arrays(job_id, "weights", weights), self._options(job_id, options),
            self._status(job_id, status), self._number(job_id, "created", created),
            self._owner(job_id, *rows[0][9:]),
            None if error is None else self._text(job_id, "error", error),
            attempts, int(reexecutions),
            tuple(self._text(job_id, "provider_job_id", p) for p in provider_ids))
        if record.status == "submitted" and record.owner is None:
            raise self._damaged(job_id, "owner", "is missing, but the job is submitted")
        return record

    def results(self, job_id: str) -> dict[str, np.ndarray] | None:
        rows = self._query("SELECT results FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise QCompileError(f"no job {job_id!r} in the job store {self.path}")
        return None if rows[0][0] is None else self._arrays(job_id, "results", rows[0][0])

    def list(self) -> list[tuple]:
        """(id, created, backend, status, attempts) for every job, oldest first."""
        rows = self._query("SELECT id, created, backend, status, "
                           "(SELECT COUNT(*) FROM attempts a WHERE a.job_id = jobs.id) "
                           "FROM jobs ORDER BY created")
        return [(self._text(job_id, "id", job_id), self._number(job_id, "created", created),
                 self._text(job_id, "backend", backend), self._status(job_id, status), count)
                for job_id, created, backend, status, count in rows]

    def provider_submissions(self, job_id: str) -> int:
        """How many distinct provider jobs were ever sent for this job."""
        return self._query("SELECT COUNT(DISTINCT provider_job_id) FROM provider_jobs "
                           "WHERE job_id = ?", (job_id,))[0][0]

    def _damaged(self, job_id, field: str, problem: str) -> QCompileError:
        return QCompileError(f"{self.path}: job {job_id}: the field {field!r} {problem} "
                             "(qcompile did not write it; the row is damaged)")

    def _text(self, job_id, field: str, value) -> str:
        if not isinstance(value, str):
            raise self._damaged(job_id, field, f"holds {type(value).__name__} {value!r}, not "
                                "text")
        return value

    def _number(self, job_id, field: str, value) -> float:
        if not isinstance(value, (int, float)):
            raise self._damaged(job_id, field, f"holds {type(value).__name__} {value!r}, not "
                                "a number")
        return value

    def _status(self, job_id, value) -> str:
        if value not in STATUSES:
            raise self._damaged(job_id, "status", f"holds {value!r}, not one of "
                                f"{', '.join(STATUSES)}")
        return value

    def _arrays(self, job_id, field: str, blob) -> dict[str, np.ndarray]:
        if not isinstance(blob, bytes):
            raise self._damaged(job_id, field, f"holds {type(blob).__name__}, not an .npz "
                                "blob of arrays")
        try:
            return unpack_arrays(blob)
        except ValueError as err:
            raise self._damaged(job_id, field, f"is not an .npz blob of arrays ({err})") from None

    def _options(self, job_id, text) -> dict:
        try:
            options = json.loads(self._text(job_id, "options", text))
        except ValueError as err:
            raise self._damaged(job_id, "options", f"is not JSON ({err})") from None
        if not isinstance(options, dict):
            raise self._damaged(job_id, "options", f"holds {options!r}, not a JSON object")
        return options

    def _owner(self, job_id, host, pid, started) -> Owner | None:
        if self.version == 1:  # a read-only store of version 1, read as it is
            return None if host is None else self._v1_owner(job_id, host)
        if host is None and pid is None and started is None:
            return None
        if not (isinstance(host, str) and type(pid) is int and pid > 0
                and (started is None or isinstance(started, str))):
            raise self._damaged(job_id, "owner", f"is host {host!r}, pid {pid!r}, started "
                                f"{started!r}, not a host name, a positive pid and a start "
                                "time")
        return Owner(host, pid, started)
