"""Runners: turn a workload into a zero-argument callable for each simulator.

Preparation (building QNodes, estimators, compiled circuits) happens once, outside the timed
region; the callable does one complete evaluation and returns a numpy array: the ``(B,)``
expectation values, the gradient w.r.t. the weights (flattened), or the final state.
Qubit ``q`` of the IR is PennyLane wire ``n - 1 - q``, so PennyLane's big-endian state index
equals the IR's little-endian one.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

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
}
