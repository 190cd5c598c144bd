"""Lower a circuit onto a device: a circuit qcompile already lowered (``qcompile.compile``
with ``Target.device``: every gate a device instruction on physical qubits) is taken as it
is; any other goes through Qiskit's preset pass manager for the device's ``Target``. Either
way once, with symbolic parameters."""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from ...ir import QCompileError
from .devices import Device


def compile_for_device(circuit: QuantumCircuit, device: Device, *, seed: int | None = None,
                       optimization_level: int = 1) -> QuantumCircuit:
    """The ISA circuit for ``device``; ``seed`` fixes the transpiler's stochastic choices."""
    if circuit.num_qubits > device.num_qubits:
        raise QCompileError(f"circuit {circuit.name!r} needs {circuit.num_qubits} qubits, but "
                            f"{device.name} has only {device.num_qubits}")
    if is_lowered(circuit, device):  # placed, routed and translated: keep it as it is
        manager = generate_preset_pass_manager(
            optimization_level=0, backend=device.backend, seed_transpiler=seed,
            initial_layout=list(range(circuit.num_qubits)))
    else:
        manager = generate_preset_pass_manager(optimization_level=optimization_level,
                                               backend=device.backend, seed_transpiler=seed)
    return manager.run(circuit)


def is_lowered(circuit: QuantumCircuit, device: Device) -> bool:
    """Whether every instruction of ``circuit`` (wire p = physical qubit p, the device's
    width) is one the device runs on those qubits, inside control-flow blocks too."""
    target = device.backend.target
    if circuit.num_qubits != device.num_qubits:
        return False
    control_flow = {"if_else", "while_loop", "for_loop", "switch_case", "box"}
    return all(name in control_flow or name == "barrier"
               or target.instruction_supported(name, qargs)
               for name, qargs in _instructions(circuit, tuple(range(circuit.num_qubits))))


def error_budget(isa: QuantumCircuit, device: Device) -> float:
    """An upper bound on the probability that any error event occurs in one shot of ``isa``.

    Each gate's reported error r (average gate infidelity) is converted to the probability
    of a Pauli error, r * (d + 1) / d for d = 2**qubits (exact for the depolarizing part of
    the device's noise model, and for the Pauli twirl of its relaxation); measurements add
    their readout error. The union bound sums them. Anything measured on the circuit — a
    probability, or a Pauli expectation divided by 2 — is off by at most this much.
    """
    target = device.backend.target
    total = 0.0
    for name, qargs in _instructions(isa, tuple(range(isa.num_qubits))):
        properties = target[name].get(qargs) if name in target.operation_names else None
        if properties is None or properties.error is None:
            continue
        d = 2 ** len(qargs)
        total += properties.error * ((d + 1) / d if name != "measure" else 1.0)
    return min(total, 1.0)


def _instructions(circuit: QuantumCircuit, physical: tuple[int, ...]):
    """(name, physical qubits) of every operation, inside control-flow blocks too."""
    for instruction in circuit.data:
        qargs = tuple(physical[circuit.find_bit(q).index] for q in instruction.qubits)
        for block in getattr(instruction.operation, "blocks", ()):
            yield from _instructions(block, qargs)
        yield instruction.operation.name, qargs
