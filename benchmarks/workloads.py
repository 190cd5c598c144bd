"""The benchmark workloads as IR circuits plus values: the single source every runner uses.

Peers get the same gate sequence (translated by :mod:`.peers`), so a disagreement in the
results points at a simulator, never at two different circuits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qcompile.ir import Circuit, ExpVal, Gate, Param, PauliTerm, Register, State, Symbol
from qcompile.ir.program import Output

Z0 = ExpVal(((PauliTerm(1.0, ((0, "Z"),)),),))


@dataclass(frozen=True)
class Workload:
    """One timed task. ``kind`` is ``forward`` (run the circuit for ``values``) or
    ``gradient`` (d/dw of the batch-summed first output)."""

    name: str
    title: str
    circuit: Circuit
    output: Output
    values: dict[str, np.ndarray] = field(default_factory=dict)
    kind: str = "forward"

    @property
    def batch(self) -> int:
        x = self.values.get("x")
        return 1 if x is None or x.ndim < 2 else x.shape[0]


def qnn_circuit(num_qubits: int, layers: int) -> Circuit:
    """RY(x_i) embedding, then layers of RY(w), RZ(w) on every qubit and a CNOT ring."""
    ops = [Gate("ry", (q,), [Symbol("x", (q,))]) for q in range(num_qubits)]
    for layer in range(layers):
        for q in range(num_qubits):
            ops += [Gate("ry", (q,), [Symbol("w", (layer, q, 0))]),
                    Gate("rz", (q,), [Symbol("w", (layer, q, 1))])]
        ops += [Gate("cx", (q, (q + 1) % num_qubits)) for q in range(num_qubits)]
    params = (Param("x", "input", (num_qubits,)), Param("w", "weight", (layers, num_qubits, 2)))
    return Circuit(f"qnn{num_qubits}", (Register("q", num_qubits),), params=params, ops=ops)


def layered_circuit(num_qubits: int, layers: int, seed: int = 7) -> Circuit:
    """Constant random RY, RZ on every qubit, then a CNOT ladder, ``layers`` times."""
    rng = np.random.default_rng(seed)
    ops = []
    for _ in range(layers):
        for q in range(num_qubits):
            ops += [Gate("ry", (q,), [float(rng.uniform(-np.pi, np.pi))]),
                    Gate("rz", (q,), [float(rng.uniform(-np.pi, np.pi))])]
        ops += [Gate("cx", (q, q + 1)) for q in range(num_qubits - 1)]
    return Circuit(f"layered{num_qubits}", (Register("q", num_qubits),), ops=ops)


def qft_circuit(num_qubits: int) -> Circuit:
    """H on every qubit, then the textbook QFT (controlled phases, final swaps)."""
    ops = [Gate("h", (q,)) for q in range(num_qubits)]
    for target in reversed(range(num_qubits)):
        ops.append(Gate("h", (target,)))
        for control in reversed(range(target)):
            ops.append(Gate("cp", (control, target), [np.pi / 2 ** (target - control)]))
    ops += [Gate("swap", (q, num_qubits - 1 - q)) for q in range(num_qubits // 2)]
    return Circuit(f"qft{num_qubits}", (Register("q", num_qubits),), ops=ops)


def _qnn_values(num_qubits: int, layers: int, batch: int, seed: int = 11) -> dict:
    rng = np.random.default_rng(seed)
    return {"x": rng.uniform(-np.pi, np.pi, (batch, num_qubits)),
            "w": rng.uniform(-np.pi, np.pi, (layers, num_qubits, 2))}


def workloads(quick: bool = False) -> list[Workload]:
    """The issue-3 workloads, and the gradient of one large sample; ``quick`` shrinks every
    size for a smoke test."""
    small, small_batch, big, big_batch, wide = (4, 16, 6, 8, 8) if quick else (8, 1024, 16,
                                                                                128, 22)
    layers = 2 if quick else 4
    out = []
    for label, n, batch in (("qnn", small, small_batch), ("qnn16", big, big_batch)):
        circuit, values = qnn_circuit(n, layers), _qnn_values(n, layers, batch)
        title = f"QNN {n}q, {layers} layers, batch {batch}"
        out += [Workload(f"{label}-forward", f"{title}: <Z0>", circuit, Z0, values),
                Workload(f"{label}-gradient", f"{title}: d sum<Z0> / dw", circuit, Z0, values,
                         "gradient")]
    single = 6 if quick else 20
    out.append(Workload("qnn20-gradient", f"QNN {single}q, {layers} layers, one sample: "
                        f"d<Z0> / dw", qnn_circuit(single, layers),
                        Z0, _qnn_values(single, layers, 1), "gradient"))
    out += [Workload("layered22", f"one {wide}q state, 10 layers RY,RZ + CNOT ladder",
                     layered_circuit(wide, 10), State()),
            Workload("qft22", f"{wide}q QFT after H on all", qft_circuit(wide), State())]
    return out
