"""The compiler benchmark's circuits: QASMBench files and seeded generated families.

Every case carries two forms of one circuit: the Qiskit form (standard gates, one register,
no measurements or barriers), which Qiskit and pytket compile and every output is checked
against, and the IR that qcompile compiles — from qcompile's own OpenQASM frontend for the
corpus, so a frontend bug shows as a disagreement too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import qiskit.qasm2
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterVector
from qiskit.circuit.library import QFTGate, get_standard_gate_name_mapping

from qcompile.frontend.qasm import load_qasm
from qcompile.frontend.qiskit_circuit import from_qiskit
from qcompile.ir import Barrier, Circuit, IfElse, Measure, Reset
from qcompile.ir.ops import qubits_of, walk

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "qasmbench"
#: Files that use a register they never declare (not valid OpenQASM 2; see tests/test_corpus.py).
INVALID = {"vqe_uccsd_n4.qasm", "vqe_uccsd_n6.qasm"}
MAX_QUBITS = 20
SIZES = (4, 8, 12, 16, 20)
_STANDARD_GATES = list(get_standard_gate_name_mapping())


@dataclass(frozen=True)
class Case:
    """One circuit to compile; ``family`` is ``corpus`` or the generator's name."""

    name: str
    family: str
    qiskit: QuantumCircuit
    ir: Circuit

    @property
    def num_qubits(self) -> int:
        return self.qiskit.num_qubits


def generated_case(family: str, qc: QuantumCircuit) -> Case:
    standard = standard_gates(qc)
    return Case(qc.name, family, standard, from_qiskit(standard))


def standard_gates(qc: QuantumCircuit) -> QuantumCircuit:
    """``qc`` on one register, library and custom gates unrolled to Qiskit's standard gates
    (pytket converts only those), measurements and barriers dropped."""
    flat = QuantumCircuit(qc.num_qubits, global_phase=qc.global_phase, name=qc.name)
    for instruction in qc.data:
        if instruction.operation.name not in ("measure", "barrier"):
            flat.append(instruction.operation, [qc.find_bit(q).index for q in instruction.qubits])
    return transpile(flat, basis_gates=_STANDARD_GATES, optimization_level=0)


# --- the corpus ------------------------------------------------------------------------------

def corpus_cases(root: Path = CORPUS, names: Sequence[str] | None = None
                 ) -> tuple[list[Case], dict[str, str]]:
    """The static circuits of at most ``MAX_QUBITS`` qubits (all, or those in ``names``), and
    the skipped files with the reason."""
    cases, skipped = [], {}
    for path in sorted(root.glob("**/*.qasm")):
        if path.name in INVALID or (names is not None and path.stem not in names):
            continue
        text = path.read_text()
        circuit = load_qasm(text, str(path))
        reason = (f"{circuit.num_qubits} qubits" if circuit.num_qubits > MAX_QUBITS
                  else "dynamic" if _dynamic(circuit) else None)
        if reason:
            skipped[path.stem] = reason
            continue
        original = qiskit.qasm2.loads(text,
                                      custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        ops = [op for op in circuit.ops if not isinstance(op, (Measure, Barrier))]
        cases.append(Case(path.stem, "corpus", standard_gates(original), circuit.with_ops(ops)))
    return cases, skipped


def _dynamic(circuit: Circuit) -> bool:
    """Resets, conditions, or an operation on a qubit after it was measured: dropping the
    measurements would change what such a circuit does."""
    measured: set[int] = set()
    for op in walk(circuit.ops):
        if isinstance(op, (IfElse, Reset)):
            return True
        if isinstance(op, Measure):
            measured.add(op.qubit)
        elif not isinstance(op, Barrier) and measured.intersection(qubits_of(op)):
            return True
    return False


# --- generated families ----------------------------------------------------------------------

def qft(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"qft_{n}")
    qc.append(QFTGate(n), range(n))
    return qc


def qaoa_ring(n: int, p: int = 2, seed: int = 7) -> QuantumCircuit:
    """MaxCut QAOA on the n-ring: ZZ phases as cx-rz-cx, then an rx mixer, ``p`` times."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n, name=f"qaoa_ring_{n}")
    qc.h(range(n))
    for gamma, beta in rng.uniform(0, np.pi, (p, 2)):
        for q in range(n):
            qc.cx(q, (q + 1) % n)
            qc.rz(2 * gamma, (q + 1) % n)
            qc.cx(q, (q + 1) % n)
        qc.rx(2 * beta, range(n))
    return qc


def hea(n: int, layers: int, angles: Sequence) -> QuantumCircuit:
    """Hardware-efficient ansatz: ry and rz on every qubit, then a cx ladder, per layer;
    ``angles`` (numbers or Parameters) holds ``2 * n * layers`` of them, layer by layer."""
    qc = QuantumCircuit(n, name=f"hea_{n}")
    angles = iter(angles)
    for _ in range(layers):
        for q in range(n):
            qc.ry(next(angles), q)
            qc.rz(next(angles), q)
        for q in range(n - 1):
            qc.cx(q, q + 1)
    return qc


def symbolic_hea(n: int, layers: int) -> QuantumCircuit:
    """The ansatz with independent parameters ``w[0 .. 2 n layers - 1]``."""
    return hea(n, layers, ParameterVector("w", 2 * n * layers))


def clifford_t(n: int, gates_per_qubit: int = 15, seed: int = 7) -> QuantumCircuit:
    """Random h, s, sdg, t, tdg and cx (a third of the gates) on random qubits."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n, name=f"clifford_t_{n}")
    for _ in range(gates_per_qubit * n):
        if rng.random() < 1 / 3:
            qc.cx(*rng.choice(n, 2, replace=False).tolist())
        else:
            getattr(qc, rng.choice(["h", "s", "sdg", "t", "tdg"]))(int(rng.integers(n)))
    return qc


def generated_cases(sizes: Sequence[int] = SIZES) -> list[Case]:
    families = {
        "qft": qft,
        "qaoa-ring": qaoa_ring,
        "hea": lambda n: hea(n, 4, np.random.default_rng(n).uniform(-np.pi, np.pi, 8 * n)),
        "clifford+t": clifford_t,
    }
    return [generated_case(family, build(n)) for family, build in families.items()
            for n in sizes]
