"""Shared pieces of the differential tests: a random corpus with its reference meaning, the
checks that a compiled circuit keeps that meaning — also when passes moved its qubits to other
wires (elided swaps, routing) — and that it uses only what its target allows.

Meaning comes from the independent reference in ``reference.py`` (Qiskit density matrices
with measurement and feed-forward) and from Qiskit's ``Operator``; nothing here asks qcompile
how it compiled, except the recorded layouts that say on which wires the qubits start and end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit.quantum_info import Operator
from random_circuits import GATE_NAMES, random_circuit, random_values
from reference import exact_outcomes

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.ir import GATES, Circuit, Gate, Unitary
from qcompile.ir.ops import walk

ATOL = 1e-8


@dataclass
class Case:
    """A circuit, values for its parameters and its meaning by the reference."""

    circuit: Circuit
    values: dict | None
    outcomes: dict[tuple[int, ...], float]
    density: np.ndarray
    operator: Operator | None  # only for circuits without measurement or reset


@dataclass(frozen=True)
class Placement:
    """Where compiled wires hold the circuit's qubits: qubit k starts on wire ``initial[k]``
    and ends on ``final[k]``; every other wire starts and ends in |0>."""

    initial: tuple[int, ...]
    final: tuple[int, ...]

    @classmethod
    def identity(cls, num_qubits: int) -> Placement:
        return cls(tuple(range(num_qubits)), tuple(range(num_qubits)))


def semantics(circuit: Circuit, values) -> tuple[dict[tuple[int, ...], float], np.ndarray]:
    """The probability of each classical record and the final density matrix."""
    records = exact_outcomes(circuit, values)
    outcomes = {bits: float(np.real(rho.trace())) for bits, rho in records.items()}
    density = sum(rho.data for rho in records.values())
    return outcomes, density


def make_case(circuit: Circuit, values=None) -> Case:
    dynamic = circuit.num_clbits or "reset" in circuit.gate_counts()
    operator = None if dynamic else Operator(to_qiskit(circuit, values))
    return Case(circuit, values, *semantics(circuit, values), operator)


def _reverse_planted_pairs(circuit: Circuit) -> Circuit:
    """Reverse the qubits of the second gate of each planted multi-qubit inverse pair, so the
    corpus also holds pairs that cancel only when the gate is symmetric (cz yes, cx no)."""
    ops = list(circuit.ops)
    for k in range(1, len(ops)):
        first, second = ops[k - 1], ops[k]
        if (isinstance(first, Gate) and isinstance(second, Gate) and len(second.qubits) > 1
                and second == first.inverse()):
            ops[k] = Gate(second.name, second.qubits[::-1], second.params)
    return circuit.with_ops(ops)


def random_cases(seed: int, count: int, names=GATE_NAMES) -> list[Case]:
    """``count`` circuits of the gates ``names`` on 2-4 qubits: half dynamic (measure, reset,
    if/else), half symbolic, half with reversed planted pairs."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        dynamic, symbolic, reverse = i % 2 == 0, (i // 2) % 2 == 0, (i // 4) % 2 == 0
        circuit = random_circuit(rng, 2 + i % 3, int(rng.integers(8, 20)), dynamic=dynamic,
                                 symbolic=symbolic, names=names)
        if reverse:
            circuit = _reverse_planted_pairs(circuit)
        out.append(make_case(circuit, random_values(rng) if symbolic else None))
    return out


def num_gates(circuit: Circuit) -> int:
    counts = circuit.gate_counts()
    return sum(n for kind, n in counts.items() if kind in GATES or kind == "unitary")


def _basis_indices(wires, width: int) -> np.ndarray:
    """For each basis state of len(wires) qubits, the index of the basis state of ``width``
    wires with qubit k on wire ``wires[k]`` and every other wire 0."""
    states = np.arange(2 ** len(wires))
    return sum(((states >> k) & 1) << wire for k, wire in enumerate(wires))


def assert_same_operator(case: Case, operator: Operator, placement: Placement,
                         label: str) -> None:
    """``operator`` (of the compiled wires), started with the qubits on their initial wires
    and the others in |0>, is the case's operator ending on the final wires, up to a global
    phase. Being unitary there also means the other wires end in |0>."""
    width = operator.num_qubits
    block = operator.data[np.ix_(_basis_indices(placement.final, width),
                                 _basis_indices(placement.initial, width))]
    assert Operator(block).equiv(case.operator), label


def assert_same_meaning(case: Case, compiled: Circuit, label: str,
                        placement: Placement | None = None) -> None:
    """Without measurement or reset, the same operator (which decides the state); otherwise
    the same distribution of classical records and final density matrix (qubits read on
    their final wires, every other wire |0>)."""
    placement = placement or Placement.identity(case.circuit.num_qubits)
    if case.operator is not None:
        assert_same_operator(case, Operator(to_qiskit(compiled, case.values)), placement,
                             label)
        return
    outcomes, density = semantics(compiled, case.values)
    for bits in set(outcomes) | set(case.outcomes):
        assert abs(outcomes.get(bits, 0.0) - case.outcomes.get(bits, 0.0)) < ATOL, (label, bits)
    final = _basis_indices(placement.final, compiled.num_qubits)
    expected = np.zeros_like(density)
    expected[np.ix_(final, final)] = case.density
    np.testing.assert_allclose(density, expected, atol=ATOL, err_msg=label)


def placement_of(properties: dict, circuit: str, num_qubits: int) -> Placement:
    """The placement recorded by elided swaps and then routing (the order the presets run
    them in): elision keeps where qubits start and changes where they end, routing maps the
    elided circuit's wires to physical ones."""
    final = properties.get("elide-permutations", {}).get(circuit, tuple(range(num_qubits)))
    layout = properties.get("route", {}).get(circuit)
    if layout is None:
        return Placement(tuple(range(num_qubits)), tuple(final))
    return Placement(tuple(layout.initial), tuple(layout.final[w] for w in final))


def assert_on_target(circuit: Circuit, basis=None, coupling=None, *,
                     directed: bool = True) -> None:
    """Every gate a ``basis`` gate (no unitary left), every two-qubit operation on a coupled
    pair — in the allowed direction unless ``directed`` is off — inside branches too; read
    off the circuit and the coupling map alone, never from the router."""
    if coupling is not None:
        assert circuit.num_qubits == coupling.num_qubits, circuit.num_qubits
    for op in walk(circuit.ops):
        if not isinstance(op, (Gate, Unitary)):
            continue
        if basis is not None:
            assert isinstance(op, Gate) and op.name in basis, op
        if coupling is not None:
            assert len(op.qubits) <= 2, op
            pair = tuple(op.qubits)
            assert len(pair) < 2 or coupling.allows(*pair) or (
                not directed and coupling.allows(*pair[::-1])), op
