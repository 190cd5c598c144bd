"""One circuit call on a batch → one primitive unit (PUB) → the simulator's output arrays.

The circuit is converted with symbolic parameters and transpiled once; the whole batch of
inputs (and the shared weights) goes to the primitive as one parameter array
(``BindingsArray``), so a batch of B samples is one job, not B.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.primitives import BindingsArray
from qiskit.quantum_info import SparsePauliOp

from ...ir import Circuit, Counts, ExpVal, Probs, QCompileError, State, Symbol
from ...ir.program import Output
from ..binding import bind_values
from ..names import parameter_name
from ..qiskit_circuit import to_qiskit
from .devices import Device
from .target import compile_for_device

TRANSIENT = (ConnectionError, TimeoutError, OSError)  # requests' errors are OSErrors too


class Unreachable(QCompileError):
    """The provider stayed unreachable through every retry: the job itself is fine."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for provider calls that are safe to repeat (fetching, attaching)."""

    attempts: int = 5
    first_delay: float = 1.0
    factor: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, action: Callable[[], object], what: str):
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                return action()
            except TRANSIENT as err:
                if attempt == self.attempts:
                    raise Unreachable(f"{what} failed {self.attempts} times; last error: "
                                        f"{err}") from None
                self.sleep(delay)
                delay *= self.factor
        raise AssertionError("unreachable")


class DeviceExecutor:
    """Runs circuit calls on a device with the signature of ``statevector.simulate``, so it
    plugs into ``run_program(execute=...)``.

    ``resume`` lists provider job ids of calls an earlier process already submitted (in call
    order); on a remote device those are re-attached instead of submitted again.
    ``on_submit(call_index, provider_job_id)`` is told of every new submission before its
    result is awaited, so a job store can record it.
    """

    def __init__(self, device: Device, *, shots: int, transpile_seed: int | None = None,
                 resume: tuple[str, ...] = (), on_submit=None,
                 retry: RetryPolicy = RetryPolicy()):
        self.device, self.shots, self.transpile_seed = device, shots, transpile_seed
        self.resume, self.on_submit, self.retry = resume, on_submit, retry
        self.calls = 0
        self.isa_circuits: list[QuantumCircuit] = []

    def __call__(self, circuit: Circuit, output: Output,
                 values: Mapping[str, np.ndarray] | None = None, *,
                 seed: int | None = None) -> np.ndarray:
        index, self.calls = self.calls, self.calls + 1
        if isinstance(output, State):
            raise QCompileError(f"circuit {circuit.name!r}: the statevector is not observable "
                                f"on {self.device.name}; ask for expval, probs or counts")
        qc, read = _with_readout(circuit, output)
        isa = compile_for_device(qc, self.device, seed=self.transpile_seed)
        self.isa_circuits.append(isa)
        bindings, batch = _bindings(circuit, isa, values or {})
        dynamic = any(getattr(i.operation, "blocks", ()) for i in isa.data)
        if isinstance(output, ExpVal):
            primitive = self.device.estimator(shots=self.shots, seed=seed, dynamic=dynamic)
            observables = [[_observable(o, circuit.num_qubits).apply_layout(isa.layout)
                            for o in output.observables]]
            pub = (isa, observables, _column(bindings))
        else:
            primitive = self.device.sampler(shots=self.shots, seed=seed, dynamic=dynamic)
            pub = (isa, bindings)
        result = self._result(index, lambda: primitive.run([pub]))[0]
        if isinstance(output, ExpVal):
            return np.asarray(result.data.evs, dtype=float).reshape(batch, -1)
        counts = _histograms(result, read, batch)
        if isinstance(output, Probs):
            return counts / counts.sum(axis=1, keepdims=True)
        return counts

    def _result(self, index: int, submit):
        if index < len(self.resume) and self.device.remote:
            job = self.retry.call(lambda: self.device.attach(self.resume[index]),
                                  f"attaching to job {self.resume[index]}")
        else:
            job = submit()
            if self.on_submit is not None:
                self.on_submit(index, job.job_id())
        return self.retry.call(job.result, f"fetching the result of job {job.job_id()}")


def _with_readout(circuit: Circuit, output: Output) -> tuple[QuantumCircuit, list[str]]:
    """The Qiskit circuit plus the classical registers to read, lowest bits first.

    Counts reads the circuit's own bits (index bit j = clbit j) or, without any, every qubit
    measured at the end; Probs reads the chosen qubits measured at the end, as the simulator
    gives the final state's probabilities whatever was measured before.
    """
    qc = to_qiskit(circuit)
    if isinstance(output, Counts) and circuit.num_clbits:
        return qc, [r.name for r in circuit.cregs]
    if isinstance(output, ExpVal):
        return qc, []
    qubits = (output.qubits if isinstance(output, Probs) else ()) or range(circuit.num_qubits)
    names = {r.name for r in qc.cregs}
    name = next(f"readout{i}" for i in range(len(names) + 1) if f"readout{i}" not in names)
    register = ClassicalRegister(len(qubits), name)
    qc.add_register(register)
    qc.measure([qc.qubits[q] for q in qubits], register)
    return qc, [name]


def _bindings(circuit: Circuit, isa: QuantumCircuit, values) -> tuple[BindingsArray, int]:
    """One row of parameter values per sample, in the ISA circuit's parameter order."""
    binding = bind_values(circuit, values)
    columns: dict[str, np.ndarray] = {}
    for param in circuit.params:
        array = binding.values[param.name]
        for index in np.ndindex(*param.shape):
            column = array[(slice(None), *index)] if param.name in binding.batched else array[index]
            columns[parameter_name(Symbol(param.name, index))] = column
    parameters = list(isa.parameters)
    if not parameters:
        return BindingsArray(shape=(binding.batch,)), binding.batch
    table = np.stack([np.broadcast_to(columns[p.name], (binding.batch,)) for p in parameters],
                     axis=-1)
    return BindingsArray({tuple(parameters): table}), binding.batch


def _column(bindings: BindingsArray) -> BindingsArray:
    """(B,) bindings as (B, 1), so they broadcast against a (1, k) row of observables."""
    return bindings.reshape(bindings.shape + (1,))


def _observable(pauli_sum, num_qubits: int) -> SparsePauliOp:
    terms = [("".join(p for _, p in term.paulis), [q for q, _ in term.paulis], term.coeff)
             for term in pauli_sum]
    return SparsePauliOp.from_sparse_list(terms or [("", [], 0.0)], num_qubits=num_qubits)


def _histograms(result, registers: list[str], batch: int) -> np.ndarray:
    """(B, 2**k) int64 counts; ``join_data`` puts the first register in the lowest bits."""
    bits = result.join_data(registers)
    out = np.zeros((batch, 2 ** bits.num_bits), dtype=np.int64)
    for sample in range(batch):
        for value, count in bits.get_int_counts(loc=sample).items():
            out[sample, value] = count
    return out
