"""Sub-experiments: each fragment under one choice of term per cut it touches, as a circuit.

A sub-experiment is an ordinary IR circuit (any backend runs it, ``--emit qasm3`` writes it):
the fragment's operations on its own qubits, each cut replaced by its term's side
(:mod:`.decompositions`), every cut measurement writing a classical bit of its own, and the
fragment's output qubits measured at the end in the basis the read-out needs (``"Z"`` for
probabilities, a term's Pauli for expectation values, none for its identity factors). Its
value is its record distribution weighed bit by bit: a cut bit by its measurement's weights,
an output bit by ``(1, -1)`` when it reads a Pauli factor, or kept as an axis when it reads a
probability.

Terms that do the same on a fragment's side give the same circuit: :class:`Experiments`
builds and runs each distinct one once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..ir import Barrier, Circuit, Measure, QCompileError, Register, Unitary
from ..ir.bind import bind
from ..ir.ops import op_symbols, qubits_of
from ..ir.rewrite import remap
from .decompositions import TO_Z_BASIS, Decomposition, Measurement, Side, gate_cut, wire_cut
from .plan import CutPlan

#: ``execute(circuit) -> distribution over its classical bits`` (index bit j is clbit j).
Execute = Callable[[Circuit], np.ndarray]


@dataclass(frozen=True)
class Readout:
    """What a fragment's output qubits read: ``bases[k]`` for its k-th output qubit is
    ``"Z"``/``"X"``/``"Y"`` with the sign (a Pauli factor), ``"P"`` (measured in Z, kept as
    a probability axis) or ``"I"`` (not measured)."""

    bases: tuple[str, ...]


#: The most term combinations of one fragment that are enumerated (each cut it touches
#: multiplies them by its number of terms).
MAX_COMBINATIONS = 200_000


def decompositions(plan: CutPlan, circuit: Circuit) -> tuple[Decomposition, ...]:
    """Each cut's terms, for ``circuit`` (the plan's circuit, its parameters bound where a
    cut gate uses them)."""
    return tuple(gate_cut(_matrix(circuit.ops[cut.position], cut.position)) if cut.kind == "gate"
                 else wire_cut() for cut in plan.cuts)


def _matrix(op, position: int) -> np.ndarray:
    if isinstance(op, Unitary):
        return op.matrix
    if op.constant_params is None:
        raise QCompileError(f"the cut gate {op.name} (operation {position}) has symbolic "
                            f"angles: its decomposition depends on their values, so bind "
                            f"them first")
    return op.matrix()


def combinations(plan: CutPlan, terms: tuple[Decomposition, ...], fragment: int):
    """Every choice of one term per cut the fragment touches, as ``{cut: term}``."""
    cuts = plan.fragment_cuts[fragment]
    sizes = [len(terms[k].terms) for k in cuts]
    if math.prod(sizes) > MAX_COMBINATIONS:
        raise QCompileError(f"fragment {fragment} touches {len(cuts)} cuts: "
                            f"{math.prod(sizes):.3g} term combinations, more than the "
                            f"{MAX_COMBINATIONS} that can be enumerated; allow more qubits "
                            f"per fragment")
    for index in itertools.product(*(range(n) for n in sizes)):
        yield dict(zip(cuts, index))


def output_qubits(plan: CutPlan, fragment: int) -> tuple[int, ...]:
    """The original qubits whose final state this fragment holds, in its qubit order."""
    return tuple(q for q, s in plan.fragments[fragment] if (q, s) == plan.final_segment(q))


def count_subexperiments(plan: CutPlan) -> int:
    """How many distinct sub-experiments one read-out basis needs: per fragment, the product
    over its cuts of their distinct actions on its side(s). Symbolic angles are probed at
    arbitrary values (their structure, not their values, decides the count)."""
    rng = np.random.default_rng(0)
    circuit = bind(plan.circuit, {p.name: rng.uniform(0.1, 3.0, p.shape) if p.shape else
                                  float(rng.uniform(0.1, 3.0)) for p in plan.circuit.params})
    terms = decompositions(plan, circuit)
    total = 0
    for fragment in range(len(plan.fragments)):
        count = 1
        for k in plan.fragment_cuts[fragment]:
            sides = zip(*((t.first.key, t.second.key) for t in terms[k].terms))
            here = [plan.fragment_of[segment][0] == fragment
                    for segment in plan.sides(plan.cuts[k])]
            count *= len(set(zip(*(keys for keys, kept in zip(sides, here) if kept))))
        total += count
    return total


@dataclass
class Experiments:
    """Builds, deduplicates and runs the sub-experiments of one bound circuit."""

    plan: CutPlan
    circuit: Circuit
    execute: Execute
    terms: tuple[Decomposition, ...] = ()
    values: dict = field(default_factory=dict)

    def __post_init__(self):
        self.terms = decompositions(self.plan, self.circuit)

    def value(self, fragment: int, choice: Mapping[int, int], readout: Readout) -> np.ndarray:
        """The weighed distribution: an array with one axis per ``"P"`` output, in output
        order (a scalar when there is none)."""
        key = self.key(fragment, choice, readout)
        if key not in self.values:
            circuit, weights = self.build(fragment, choice, readout)
            distribution = np.asarray(self.execute(circuit), dtype=float)
            self.values[key] = weigh(distribution, weights)
        return self.values[key]

    def distinct(self, fragment: int, readout: Readout) -> list[Circuit]:
        """The fragment's distinct sub-experiments for ``readout``, in a fixed order."""
        found: dict = {}
        for choice in combinations(self.plan, self.terms, fragment):
            key = self.key(fragment, choice, readout)
            if key not in found:
                found[key] = self.build(fragment, choice, readout)[0]
        return list(found.values())

    def key(self, fragment: int, choice: Mapping[int, int], readout: Readout) -> tuple:
        sides = []
        for k in self.plan.fragment_cuts[fragment]:
            term = self.terms[k].terms[choice[k]]
            first, second = self.plan.sides(self.plan.cuts[k])
            sides.append(tuple(side.key if self.plan.fragment_of[segment][0] == fragment
                               else None for side, segment
                               in ((term.first, first), (term.second, second))))
        return fragment, tuple(sides), readout.bases

    def build(self, fragment: int, choice: Mapping[int, int], readout: Readout
              ) -> tuple[Circuit, list]:
        """The sub-experiment circuit and, per classical bit, its weights (None: a
        probability axis)."""
        plan = self.plan
        local = {segment: k for segment, (f, k) in plan.fragment_of.items() if f == fragment}
        ops: list = []
        weights: list = []

        def apply(side: Side, qubit: int) -> None:
            for step in side.steps:
                if isinstance(step, Measurement):
                    ops.append(Measure(qubit, len(weights)))
                    weights.append(step.weights)
                else:
                    ops.append(Unitary(step, (qubit,), "cut"))

        cuts_at: dict = {}
        for k, cut in enumerate(plan.cuts):
            cuts_at.setdefault((cut.position, cut.kind), []).append(k)

        def sides_at(position: int, kind: str) -> None:
            for k in cuts_at.get((position, kind), ()):
                term = self.terms[k].terms[choice.get(k, 0)]
                for side, segment in zip((term.first, term.second), plan.sides(plan.cuts[k])):
                    if segment in local:
                        apply(side, local[segment])

        for position, op in enumerate(self.circuit.ops):
            sides_at(position, "wire")
            if (position, "gate") in cuts_at:
                sides_at(position, "gate")
                continue
            segments = [(q, plan.segment(q, position)) for q in qubits_of(op)]
            if segments and segments[0] in local and not isinstance(op, Barrier):
                ops.append(remap(op, {q: local[s] for q, s in zip(qubits_of(op), segments)}.get))
        for qubit, basis in zip(output_qubits(plan, fragment), readout.bases):
            if basis == "I":
                continue
            wire = local[plan.final_segment(qubit)]
            if basis in "XY":
                ops.append(Unitary(TO_Z_BASIS[basis], (wire,), "basis"))
            ops.append(Measure(wire, len(weights)))
            weights.append(None if basis == "P" else (1.0, -1.0))
        cregs = (Register("c", len(weights)),) if weights else ()
        used = {symbol.name for op in ops for symbol in op_symbols(op)}
        params = tuple(p for p in self.circuit.params if p.name in used)
        name = f"{self.circuit.name}_fragment{fragment}"
        return Circuit(name, (Register("q", len(local)),), cregs, params, ops), weights


def weigh(distribution: np.ndarray, weights: list) -> np.ndarray:
    """Contract each weighed bit of a distribution over ``len(weights)`` bits (its last
    axis; leading axes, such as a batch of resamples, stay first); the bits without
    weights stay as axes, in bit order."""
    k, lead = len(weights), distribution.shape[:-1]
    b = len(lead)
    tensor = distribution.reshape(lead + (2,) * k).transpose(
        (*range(b), *(b + k - 1 - j for j in range(k))))  # axis b + j: bit j
    for bit in reversed(range(k)):  # from the last, so the axes below keep their places
        if weights[bit] is not None:
            tensor = np.tensordot(tensor, np.asarray(weights[bit]), axes=([b + bit], [0]))
    return tensor


def exact(circuit: Circuit) -> np.ndarray:
    """The exact record distribution of a bound circuit (the statevector simulator)."""
    from ..backends.statevector.simulate import outcome_probabilities
    if not circuit.num_clbits:  # nothing read: the record is certain
        return np.ones(1)
    return outcome_probabilities(circuit)[0]

