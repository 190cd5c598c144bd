"""Submit and fetch: drive a recorded job to ``done`` exactly once, whatever crashed before.

A job is recorded before anything is sent, then claimed atomically (only one process can
move it from ``recorded`` to ``submitted``), run through the device executor — each provider
job id is recorded as soon as the provider returns it — and its results stored once.

Resuming a ``submitted`` job whose owning process is gone: on IBM Quantum the recorded
provider jobs are re-attached, so nothing is sent twice; a local (fake/Aer) job died with its
process, so it is run again with the stored seeds — the same circuits, bindings and seeds,
hence the same results — and the attempt is marked as a re-execution.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
import time

import numpy as np

from ..backends.hardware import DeviceExecutor, resolve_device
from ..backends.hardware.primitives import TRANSIENT, Unreachable
from ..backends.runner import batch_inputs, check_weights, run_program
from ..ir import Program, QCompileError, QuantumCall, State, parse_program, print_program
from .store import JobRecord, JobStore, Owner, default_store_path, process_started

OUTPUTS = (None, "expval", "probs", "counts")  # what a device can return; None: the model's
PAUSE_ENV = "QCOMPILE_TEST_PAUSE_AFTER"  # tests only: "recorded" or "submitted"
WAIT_SECONDS = 600.0  # how long a fetch waits, by default, for another process's run


def submit_job(store: JobStore, program: Program, *, backend: str,
               inputs: dict[str, np.ndarray], weights: dict[str, np.ndarray], shots: int,
               seed: int, output: str | None = None, idempotency_key: str | None = None,
               on_recorded=None) -> tuple[str, dict[str, np.ndarray]]:
    """Check, record, then run ``program`` on ``backend``; returns (job id, results).

    Everything a user can get wrong is checked before the record is written, so a rejected
    request leaves nothing in the store. With an ``idempotency_key`` that is already
    recorded for the same request, the existing job is resumed (or its stored results
    returned) instead of sending it again; for a different request it is refused.
    ``on_recorded(job_id)`` is called once the record is durable, before anything is sent.
    """
    _check_options(shots=shots, seed=seed, output=output)
    device = resolve_device(backend)
    _check_runnable(program, device)
    inputs = batch_inputs(program, inputs)
    weights = check_weights(program, weights)
    options = {"shots": int(shots), "seed": int(seed), "output": output}
    job_id, _ = store.record(backend=backend, program=print_program(program), inputs=inputs,
                             weights=weights, options=options, idempotency_key=idempotency_key)
    if on_recorded is not None:
        on_recorded(job_id)
    _pause_for_tests("recorded")
    return job_id, fetch_job(store, job_id, device=device)


def fetch_job(store: JobStore, job_id: str, *, device=None, retry: bool = False,
              wait: float = WAIT_SECONDS, take_over: bool = False,
              poll_seconds: float = 0.5) -> dict[str, np.ndarray]:
    """The job's results: from the store when complete, else by driving the job there.

    A ``failed`` job reports its stored error rather than running again (it would most
    likely fail again, on every fetch); ``retry=True`` runs it once more. A ``submitted``
    job whose owner may still be running it (a live process on this host with the owner's
    pid and start time, or any process on another host, which cannot be checked) is waited
    for, at most ``wait`` seconds, so that a hung owner cannot block a fetch for ever; the
    error then says how to take the job over, which ``take_over=True`` does at once.
    """
    if retry:
        store.reopen(job_id)
    deadline = time.monotonic() + wait
    while True:
        record = store.get(job_id)
        if record.status == "done":
            return store.results(job_id)
        if record.status == "failed":
            raise QCompileError(f"job {job_id} failed on {record.backend}: {record.error} "
                                f"(`{fetch_command(job_id, store)} --retry` runs it again)")
        if record.status == "submitted" and not take_over and not _gone(record.owner):
            if time.monotonic() >= deadline:
                raise _still_held(store, record, wait)
            time.sleep(poll_seconds)
            continue
        program = _stored_program(store, record)
        device = device or resolve_device(record.backend)
        if record.status == "recorded":
            attempt, resume = store.claim(job_id), ()
        else:
            resume = record.provider_job_ids if device.remote else ()
            lost = bool(record.provider_job_ids) and not device.remote  # died with its process
            attempt = store.claim(job_id, stale_owner=record.owner, reexecution=lost)
        if attempt is None:
            continue  # another process claimed it first
        return _run(store, record, program, attempt, device, resume)


def fetch_command(job_id: str, store: JobStore) -> str:
    """The command that fetches this job: with ``--store`` unless it is the default store,
    which a plain ``qcompile fetch`` opens."""
    command = f"qcompile fetch {job_id}"
    if store.path == default_store_path():
        return command
    return f"{command} --store {shlex.quote(str(store.path))}"


def _gone(owner: Owner) -> bool:
    """Whether the process that claimed a job has certainly ended: no process on this host
    has its pid, or the one that has it started at another time (the pid was reused) or is a
    zombie. This very process is not running the job while it fetches it, so it counts as
    gone too. Whatever cannot be checked is not gone: a process on another host, a live pid
    whose start time was not recorded or cannot be read now."""
    if owner.host != socket.gethostname():
        return False
    if owner.pid == os.getpid():
        return True
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process, alive
    started = process_started(owner.pid)
    return None not in (owner.started, started) and started != owner.started


def _still_held(store: JobStore, record: JobRecord, wait: float) -> QCompileError:
    """Why a fetch stopped waiting, and how to go on: wait longer, or take the job over."""
    owner, command = record.owner, fetch_command(record.id, store)
    if owner.host == socket.gethostname():
        return QCompileError(
            f"job {record.id} is still being run by {owner} (waited {wait:g} s); its results "
            f"are stored when that process finishes, and `{command} --wait SECONDS` waits "
            f"longer. If it is hung, stop it (kill {owner.pid}) and fetch again, or take the "
            f"job over with `{command} --take-over` (while that process lives, both may "
            "send it)")
    return QCompileError(
        f"job {record.id} was claimed by {owner}, which cannot be checked from "
        f"{socket.gethostname()} (waited {wait:g} s); if it still runs there, its results are "
        f"stored when it finishes (`{command} --wait SECONDS` waits longer). If it is gone, "
        f"or this store was copied from {owner.host}, take the job over with "
        f"`{command} --take-over`")


def _stored_program(store: JobStore, record: JobRecord) -> Program:
    """The program to run, once its stored options are checked too: a row changed outside
    qcompile is reported before anything is claimed or sent."""
    options = record.options
    try:
        _check_options(shots=options.get("shots"), seed=options.get("seed"),
                       output=options.get("output"))
    except QCompileError as err:
        raise QCompileError(f"{store.path}: job {record.id}: the field 'options' cannot be "
                            f"used ({err}; the row is damaged)") from None
    try:
        return parse_program(record.program)
    except QCompileError as err:
        raise QCompileError(f"{store.path}: job {record.id}: the field 'program' does not "
                            f"parse (the row is damaged): {err}") from None


def _run(store: JobStore, record: JobRecord, program: Program, attempt: int, device,
         resume: tuple[str, ...]) -> dict[str, np.ndarray]:
    for index, provider_id in enumerate(resume):  # the new attempt owns the re-attached ones
        store.add_provider_job(record.id, attempt, index, provider_id)

    def submitted(call_index: int, provider_id: str) -> None:
        store.add_provider_job(record.id, attempt, call_index, provider_id)
        _pause_for_tests("submitted")

    options = record.options
    executor = DeviceExecutor(device, shots=options["shots"], transpile_seed=options["seed"],
                              resume=resume, on_submit=submitted)
    try:
        results = run_program(program, record.inputs, record.weights, seed=options["seed"],
                              execute=executor)
    except Exception as err:
        if _transient(err):
            raise _kept(store, record.id, device, err) from None
        store.store_failure(record.id, _describe(err))
        if isinstance(err, QCompileError) or _provider_error(err):
            raise QCompileError(f"job {record.id} failed on {device.name}: {err}") from None
        raise  # a bug of ours: the job is marked failed, the traceback is kept
    store.store_results(record.id, results)
    return store.results(record.id)  # what is stored wins, should another process race us


def _transient(err: Exception) -> bool:
    """A network failure, or the executor giving up after retrying one: the job is fine,
    only unreachable for now."""
    return isinstance(err, (*TRANSIENT, Unreachable))


def _kept(store: JobStore, job_id: str, device, err: Exception) -> QCompileError:
    """The error for a job left resumable, with the command that resumes it."""
    return QCompileError(f"job {job_id}: cannot reach {device.name} ({err}); the job is kept, "
                         f"run `{fetch_command(job_id, store)}` to resume it")


def _provider_error(err: Exception) -> bool:
    from qiskit.exceptions import QiskitError
    from qiskit_ibm_runtime.exceptions import IBMError

    return isinstance(err, (QiskitError, IBMError))


def _describe(err: Exception) -> str:
    """The error as stored: our own messages as they are, others with their type."""
    return str(err) if isinstance(err, QCompileError) else f"{type(err).__name__}: {err}"


def _check_options(*, shots, seed, output) -> None:
    """Reject what would only fail once the job is recorded and running (``shots=0`` ends
    in a ZeroDivisionError inside the simulator)."""
    if not _is_int(shots) or shots < 1:
        raise QCompileError(f"shots must be a positive integer, got {shots!r}")
    if not _is_int(seed) or seed < 0:
        raise QCompileError(f"seed must be a non-negative integer, got {seed!r}")
    if output not in OUTPUTS:
        raise QCompileError(f"output must be one of {', '.join(map(str, OUTPUTS))}, "
                            f"got {output!r}")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_runnable(program: Program, device) -> None:
    for stmt in program.body:
        if isinstance(stmt, QuantumCall):
            circuit = program.circuit(stmt.circuit)
            if isinstance(stmt.output, State):
                raise QCompileError(f"circuit {circuit.name!r} reads the statevector, which "
                                    f"{device.name} cannot return; use --output expval, "
                                    "probs or counts")
            if circuit.num_qubits > device.num_qubits:
                raise QCompileError(f"circuit {circuit.name!r} needs {circuit.num_qubits} "
                                    f"qubits, but {device.name} has only "
                                    f"{device.num_qubits}")


def _pause_for_tests(point: str) -> None:
    """Let a crash test kill this process at a known point; inert unless the variable is set."""
    if os.environ.get(PAUSE_ENV) == point:
        print(f"paused after {point}", file=sys.stderr, flush=True)
        time.sleep(3600)
