"""Runners: turn a workload into a zero-argument callable for each simulator.

Preparation (building QNodes, estimators, compiled circuits) happens once, outside the timed
region; the callable does one complete evaluation and returns a numpy array: the ``(B,)``
expectation values, the gradient w.r.t. the weights (flattened), or the final state.
Qubit ``q`` of the IR is PennyLane wire ``n - 1 - q``, so PennyLane's big-endian state index
equals the IR's little-endian one.

qulacs and qsim (through cirq) simulate single states only. Both get the circuit as a plain
gate list (:func:`gate_list`): qulacs is little-endian like the IR, but its ``RX``/``RY``/``RZ``
rotate the other way (qulacs' ``RY(θ)`` is exp(+iθY/2)), so angles are negated; cirq's
``ry(rads)`` is the IR's ``ry``, and cirq's state index is big-endian, so qsim is asked for the
qubits in reverse order (:func:`cirq_order`). qsim computes in single precision
(``complex64``): its states are checked against :data:`SINGLE_PRECISION_ATOL`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence

import numpy as np

from qcompile.backends.qiskit_circuit import parameter_name, to_qiskit
from qcompile.backends.statevector import simulate
from qcompile.ir import Const, Gate, State, Symbol

from .workloads import Workload

Run = Callable[[], np.ndarray]


class Skip(Exception):
    """This runner does not do this workload; the message says why (shown in the table)."""


def installed(module: str) -> bool:
    """Whether ``module`` can be imported; for a submodule, False too when its package is
    missing (``find_spec`` imports the parents)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


# --- qcompile --------------------------------------------------------------------------------

def qcompile_runner(workload: Workload) -> Run:
    if workload.kind == "gradient":
        return _qcompile_gradient(workload)
    circuit, output, values = workload.circuit, workload.output, workload.values
    if isinstance(output, State):
        return lambda: simulate(circuit, output, values)[0]
    return lambda: simulate(circuit, output, values)[:, 0]


def _qcompile_gradient(workload: Workload) -> Run:
    """d(sum over the batch of the first read-out)/dw by the adjoint method."""
    try:
        from qcompile.backends.statevector.adjoint import adjoint_vjp
    except ImportError:
        raise Skip("gradient: pending") from None
    circuit, output, values = workload.circuit, workload.output, workload.values
    cotangent = np.ones((workload.batch, len(output.observables)))
    return lambda: adjoint_vjp(circuit, output, values, cotangent)["w"].reshape(-1)


# --- qiskit-aer ------------------------------------------------------------------------------

def aer_runner(workload: Workload) -> Run:
    if not installed("qiskit_aer"):
        raise Skip("not installed")
    if workload.kind == "gradient":
        raise Skip("no gradient API")
    qc = to_qiskit(workload.circuit)
    if isinstance(workload.output, State):
        from qiskit_aer import AerSimulator
        qc.save_statevector()
        simulator = AerSimulator(method="statevector")
        return lambda: np.asarray(simulator.run(qc).result().get_statevector(), dtype=complex)
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer.primitives import EstimatorV2
    (observable,) = workload.output.observables
    n = workload.circuit.num_qubits
    sparse = SparsePauliOp.from_sparse_list(
        [("".join(p for _, p in t.paulis), [q for q, _ in t.paulis], t.coeff) for t in observable],
        n)
    columns = _parameter_columns(workload, [p.name for p in qc.parameters])
    estimator = EstimatorV2()
    return lambda: np.asarray(estimator.run([(qc, sparse, columns)]).result()[0].data.evs)


def _parameter_columns(workload: Workload, names: list[str]) -> np.ndarray:
    """Values as a ``(B, P)`` array in the order of ``names`` (Qiskit's parameter order)."""
    by_name = {}
    for param in workload.circuit.params:
        value = np.asarray(workload.values[param.name], dtype=float)
        for index in np.ndindex(*param.shape):
            by_name[parameter_name(Symbol(param.name, index))] = value[(..., *index)]
    batch = workload.batch
    return np.stack([np.broadcast_to(by_name[name], (batch,)) for name in names], axis=1)


# --- gate lists: the input of qulacs, qsim and the latency benchmark's peers -----------------

#: (name, qubits, angles): one gate with constant angles.
GateTuple = tuple[str, tuple[int, ...], tuple[float, ...]]
#: The gates every gate-list peer translates.
TRANSLATED = ("ry", "rz", "rx", "h", "cx", "cp", "swap")
#: qsim computes in single precision (its rounding is about 1e-7 on an 8-qubit state); its
#: states agree within this (every other runner: harness.ATOL).
SINGLE_PRECISION_ATOL = 1e-6


def gate_list(circuit) -> list[GateTuple]:
    """The circuit's operations as plain gate tuples; :class:`Skip` for anything else (a
    measurement, a symbolic angle, a gate no peer translates)."""
    gates = []
    for op in circuit.ops:
        if not isinstance(op, Gate) or op.name not in TRANSLATED:
            raise Skip("gate not translated")
        if not all(isinstance(p, Const) for p in op.params):
            raise Skip("symbolic angle")
        gates.append((op.name, tuple(op.qubits), tuple(float(p.value) for p in op.params)))
    return gates


def qulacs_circuit(num_qubits: int, gates: Sequence[GateTuple]):
    """A ``qulacs.QuantumCircuit``; angles negated (qulacs' rotations turn the other way), a
    controlled phase as qulacs' 1-qubit matrix gate with a control."""
    import qulacs
    from qulacs.gate import DenseMatrix

    circuit = qulacs.QuantumCircuit(num_qubits)
    for name, qubits, angles in gates:
        if name == "ry":
            circuit.add_RY_gate(qubits[0], -angles[0])
        elif name == "rz":
            circuit.add_RZ_gate(qubits[0], -angles[0])
        elif name == "cx":
            circuit.add_CNOT_gate(qubits[0], qubits[1])
        elif name == "rx":
            circuit.add_RX_gate(qubits[0], -angles[0])
        elif name == "h":
            circuit.add_H_gate(qubits[0])
        elif name == "swap":
            circuit.add_SWAP_gate(qubits[0], qubits[1])
        elif name == "cp":
            phase = DenseMatrix(qubits[1], [[1, 0], [0, np.exp(1j * angles[0])]])
            phase.add_control_qubit(qubits[0], 1)
            circuit.add_gate(phase)
        else:
            raise Skip("gate not translated")
    return circuit


def qulacs_state(num_qubits: int, circuit) -> np.ndarray:
    """Run a qulacs circuit from |0…0> and return its state vector."""
    import qulacs
    state = qulacs.QuantumState(num_qubits)
    circuit.update_quantum_state(state)
    return state.get_vector()


def cirq_circuit(num_qubits: int, gates: Sequence[GateTuple]):
    """A ``cirq.Circuit`` on ``LineQubit(q)`` for IR qubit q (``cirq.Circuit(operations)``,
    cirq's usual way to build one)."""
    import cirq

    qubits = cirq.LineQubit.range(num_qubits)
    fixed = {"cx": cirq.CNOT, "h": cirq.H, "swap": cirq.SWAP}
    rotations = {"ry": cirq.ry, "rz": cirq.rz, "rx": cirq.rx}
    ops = []
    for name, wires, angles in gates:
        targets = [qubits[q] for q in wires]
        if name in rotations:
            ops.append(rotations[name](angles[0]).on(*targets))
        elif name in fixed:
            ops.append(fixed[name].on(*targets))
        elif name == "cp":
            ops.append(cirq.CZPowGate(exponent=angles[0] / np.pi).on(*targets))
        else:
            raise Skip("gate not translated")
    return cirq.Circuit(ops)


def cirq_order(num_qubits: int) -> list:
    """The qubit order that makes cirq's big-endian state index the IR's little-endian one."""
    import cirq
    return list(reversed(cirq.LineQubit.range(num_qubits)))


def qsim_simulator(num_qubits: int):
    """``qsimcirq.QSimSimulator`` on every core, fusing gates as its documentation advises
    (up to 2 qubits below 22 qubits, 4 from 22)."""
    import qsimcirq
    options = qsimcirq.QSimOptions(cpu_threads=os.cpu_count() or 1,
                                   max_fused_gate_size=2 if num_qubits < 22 else 4)
    return qsimcirq.QSimSimulator(options)


def qiskit_circuit(num_qubits: int, gates: Sequence[GateTuple]):
    """A qiskit ``QuantumCircuit`` (qiskit's qubit q is bit q of the index, as in the IR)."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(num_qubits)
    for name, qubits, angles in gates:
        getattr(circuit, name)(*angles, *qubits)
    return circuit


def _single_state(workload: Workload) -> tuple[int, list[GateTuple]]:
    if not isinstance(workload.output, State) or workload.values or workload.kind != "forward":
        raise Skip("single states only")
    return workload.circuit.num_qubits, gate_list(workload.circuit)


# --- qulacs ----------------------------------------------------------------------------------

def qulacs_runner(workload: Workload) -> Run:
    if not installed("qulacs"):
        raise Skip("not installed")
    n, gates = _single_state(workload)
    circuit = qulacs_circuit(n, gates)
    return lambda: qulacs_state(n, circuit)


# --- qsim (qsimcirq, through cirq) -----------------------------------------------------------

def qsim_runner(workload: Workload) -> Run:
    if not installed("qsimcirq"):
        raise Skip("not installed")
    n, gates = _single_state(workload)
    circuit, order, simulator = cirq_circuit(n, gates), cirq_order(n), qsim_simulator(n)
    return lambda: np.asarray(simulator.simulate(circuit, qubit_order=order)
                              .final_state_vector, dtype=complex)


# --- PennyLane -------------------------------------------------------------------------------

def pennylane_runner(device_name: str) -> Callable[[Workload], Run]:
    def runner(workload: Workload) -> Run:
        if not installed("pennylane") or (device_name == "lightning.qubit"
                                           and not installed("pennylane_lightning")):
            raise Skip("not installed")
        n = workload.circuit.num_qubits
        if device_name == "default.qubit" and (n > 12):
            raise Skip("fails at this size" if workload.batch > 1 else "not run")
        return _pennylane(workload, device_name)
    return runner


def _pennylane(workload: Workload, device_name: str) -> Run:
    import pennylane as qml
    from pennylane import numpy as pnp

    n = workload.circuit.num_qubits
    wire = {q: n - 1 - q for q in range(n)}
    gates = {"ry": qml.RY, "rz": qml.RZ, "rx": qml.RX, "h": qml.Hadamard, "cx": qml.CNOT,
             "cp": qml.ControlledPhaseShift, "swap": qml.SWAP}
    ops = workload.circuit.ops
    if not all(isinstance(op, Gate) and op.name in gates for op in ops):
        raise Skip("gate not translated")

    def angle(expr, env):
        if isinstance(expr, Const):
            return expr.value
        if isinstance(expr, Symbol):
            return env[expr.name][(..., *expr.index)]
        raise Skip("expression not translated")

    def body(env):
        for op in ops:
            gates[op.name](*(angle(p, env) for p in op.params),
                           wires=[wire[q] for q in op.qubits])

    device = qml.device(device_name, wires=n)
    if isinstance(workload.output, State):
        @qml.qnode(device)
        def state():
            body({})
            return qml.state()
        return lambda: np.asarray(state())

    (observable,) = workload.output.observables
    (term,) = observable
    (qubit, letter), = term.paulis
    pauli = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}[letter]
    diff_method = "backprop" if device_name == "default.qubit" else "adjoint"

    @qml.qnode(device, diff_method=diff_method)
    def expval(x, w):
        body({"x": x, "w": w})
        return qml.expval(pauli(wire[qubit]))

    x = pnp.array(workload.values["x"], requires_grad=False)
    w = pnp.array(workload.values["w"], requires_grad=True)
    if workload.kind == "forward":
        return lambda: np.asarray(expval(x, w)) * term.coeff
    gradient = qml.grad(lambda weights: pnp.sum(expval(x, weights)) * term.coeff)
    return lambda: np.asarray(gradient(w)).reshape(-1)


#: Display name -> runner factory, in table order; qcompile first (the reference).
RUNNERS: dict[str, Callable[[Workload], Run]] = {
    "qcompile": qcompile_runner,
    "qiskit-aer": aer_runner,
    "default.qubit": pennylane_runner("default.qubit"),
    "lightning.qubit": pennylane_runner("lightning.qubit"),
    "qulacs": qulacs_runner,
    "qsim": qsim_runner,
}


def tolerance(runner: str, atol: float) -> float:
    """The agreement tolerance for ``runner``'s results: ``atol``, or
    :data:`SINGLE_PRECISION_ATOL` for a single-precision simulator."""
    return max(atol, SINGLE_PRECISION_ATOL) if runner == "qsim" else atol
