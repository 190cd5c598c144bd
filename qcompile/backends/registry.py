"""Backends behind one interface: executors that run circuit calls, emitters that write
compiled programs out, each found by name.

An *executor* runs one circuit call on a batch of parameter values with the signature of
:func:`~qcompile.backends.statevector.simulate` (that is how the program runner and the job
store drive it) and declares what it can read out and how it differentiates. An *emitter*
turns a compiled program into text. ``qcompile run --backend NAME`` and
``qcompile compile --emit NAME`` look them up here, so a new device or output format is one
:func:`register_executor` or :func:`register_emitter` call. Heavy libraries are imported
only when an executor is built or an emitter runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..ir import Circuit, Program, QCompileError, QuantumCall
from ..ir.program import Output

#: ``execute(circuit, output, values, *, seed) -> (B, ...) array``: one circuit call.
Execute = Callable[..., np.ndarray]
#: ``vjp(circuit, output, values, cotangent) -> {parameter: gradient}``.
Vjp = Callable[[Circuit, Output, Mapping[str, np.ndarray] | None, np.ndarray], dict]

OUTPUT_KINDS = ("state", "probs", "expval", "counts")


@dataclass(frozen=True)
class Executor:
    """A named way to run circuit calls, with what it can do.

    ``build(shots=..., seed=...)`` makes the callable (a device executor keeps per-run
    state; the statevector simulator also takes ``dtype`` and ``max_memory``); ``outputs``
    are the readout kinds it returns; ``vjp`` differentiates one call (None: no gradients)
    and ``gradients`` says how, for listings.
    """

    name: str
    description: str
    build: Callable[..., Execute]
    outputs: frozenset[str]
    gradients: str = ""
    vjp: Vjp | None = None

    def check_program(self, program: Program) -> None:
        """Refuse, before any work, a program that reads out what this backend cannot."""
        for stmt in program.body:
            kind = type(getattr(stmt, "output", None)).__name__.lower()
            if isinstance(stmt, QuantumCall) and kind not in self.outputs:
                raise QCompileError(
                    f"circuit {stmt.circuit!r} reads out {kind}, which backend "
                    f"{self.name!r} cannot return; it returns "
                    f"{', '.join(k for k in OUTPUT_KINDS if k in self.outputs)} "
                    f"(choose one with --output)")


@dataclass(frozen=True)
class Emitter:
    """A named output format: ``emit(program, circuit=None) -> text`` (``circuit`` picks
    one circuit for formats that hold one)."""

    name: str
    description: str
    emit: Callable[..., str]


_EXECUTORS: dict[str, Executor] = {}
_EMITTERS: dict[str, Emitter] = {}


def register_executor(executor: Executor) -> Executor:
    _register(_EXECUTORS, executor, "backend")
    return executor


def register_emitter(emitter: Emitter) -> Emitter:
    _register(_EMITTERS, emitter, "emitter")
    return emitter


def _register(table: dict, entry, what: str) -> None:
    existing = table.get(entry.name)
    if existing is not None and existing != entry:
        raise QCompileError(f"{what} name {entry.name!r} is already taken")
    table[entry.name] = entry


def executors() -> dict[str, Executor]:
    """The registered executors by name (devices are resolved by :func:`executor`)."""
    return dict(sorted(_EXECUTORS.items()))


def emitters() -> dict[str, Emitter]:
    return dict(sorted(_EMITTERS.items()))


def executor(name: str) -> Executor:
    """The executor called ``name``: a registered one, else a Qiskit device (``aer``, the
    offline fake devices, ``ibm_*``)."""
    if name in _EXECUTORS:
        return _EXECUTORS[name]
    from .hardware import resolve_device

    try:
        device = resolve_device(name)
    except QCompileError as err:
        raise QCompileError(f"{err.message}; or a simulator: "
                            f"{', '.join(executors())}") from None
    return _device_executor(device)


def emitter(name: str) -> Emitter:
    if name not in _EMITTERS:
        raise QCompileError(f"unknown output format {name!r}; choose one of "
                            f"{', '.join(emitters())}")
    return _EMITTERS[name]


# --- the built-in backends -------------------------------------------------------------------

def _statevector(*, shots: int | None = None, seed: int | None = None,
                 dtype=np.complex128, max_memory: int | str | None = None) -> Execute:
    """The simulator with its options bound (shots and seeds come with each call)."""
    from .statevector import simulate
    return partial(simulate, dtype=dtype, max_memory=max_memory)


def _statevector_vjp(circuit, output, values, cotangent):
    from .statevector.vjp import circuit_vjp
    return circuit_vjp(circuit, output, values, cotangent)


def _device_executor(device) -> Executor:
    def build(*, shots: int = 1024, seed: int | None = None) -> Execute:
        from .hardware import DeviceExecutor
        return DeviceExecutor(device, shots=shots, transpile_seed=seed)

    return Executor(device.name, f"Qiskit device {device.name} ({device.num_qubits} qubits)",
                    build, frozenset({"probs", "expval", "counts"}))


def _emit_ir(program: Program, circuit: str | None = None) -> str:
    from ..ir.printer import print_program
    return print_program(program)


def _emit_qasm3(program: Program, circuit: str | None = None, **options) -> str:
    from .qasm3 import emit_qasm3
    return emit_qasm3(select_circuit(program, circuit), **options)


def select_circuit(program: Program, name: str | None) -> Circuit:
    """The circuit called ``name``, or the program's only circuit."""
    if name is not None:
        try:
            return program.circuit(name)
        except KeyError:
            raise QCompileError(f"no circuit named {name!r}; the program has "
                                f"{', '.join(c.name for c in program.circuits)}") from None
    if len(program.circuits) != 1:
        raise QCompileError(f"the program has {len(program.circuits)} circuits "
                            f"({', '.join(c.name for c in program.circuits)}); choose one "
                            "to emit with --circuit NAME")
    return program.circuits[0]


register_executor(Executor(
    "statevector", "qcompile's exact batched simulator (numba)", _statevector,
    frozenset(OUTPUT_KINDS), "adjoint (unitary circuits, terminal measurements included), "
    "parameter shift (mid-circuit measurement, reset, feed-forward)", _statevector_vjp))
register_emitter(Emitter("qasm3", "OpenQASM 3 of one circuit", _emit_qasm3))
register_emitter(Emitter("qasm3-qiskit", "OpenQASM 3 that Qiskit's importer reads: angles that "
                         "call functions become inputs, their expressions in comments",
                         partial(_emit_qasm3, hoist_functions=True)))
register_emitter(Emitter("ir", "qcompile's textual IR of the whole program", _emit_ir))
