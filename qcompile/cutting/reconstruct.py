"""Reconstruction: the uncut circuit's read-out from its fragments' sub-experiments.

With cut ``k`` written ``Σ_i c_ki (A_ki ⊗ B_ki)``, the uncut value is the sum over one term
per cut of the coefficients' product times the product of the fragments' values under those
terms. Each fragment's values form a tensor with one axis per cut it touches (plus one per
output bit kept for probabilities), so the whole sum is one tensor contraction
(``numpy.einsum``) of the cuts' coefficient vectors with the fragments' tensors: each
sub-experiment is evaluated once, however many term combinations use it.

- Expectation values: a Pauli term factors over the fragments holding its qubits' final
  states; each reads its factor with the sign of the measured bits.
- Probabilities: each fragment keeps its outputs' bits as axes, and the contraction leaves
  the distribution over the requested qubits (quasi-probabilities when estimated).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..ir import ExpVal, PauliTerm, Probs, QCompileError
from ..ir.bind import bind
from .experiments import Execute, Experiments, Readout, combinations, exact, output_qubits
from .plan import CutPlan


def reconstruct(plan: CutPlan, output: ExpVal | Probs, values: Mapping[str, object] | None = None,
                *, execute: Execute = exact) -> np.ndarray:
    """The uncut circuit's ``output`` for one binding ``values``, from sub-experiments run
    by ``execute`` (default: exact distributions from the statevector simulator)."""
    circuit = bind(plan.circuit, values) if values else plan.circuit
    if circuit.params:
        raise QCompileError(f"circuit {circuit.name!r}: values are missing for "
                            f"{', '.join(p.name for p in circuit.params)}")
    experiments = Experiments(plan, circuit, execute)
    if isinstance(output, Probs):
        qubits = output.qubits or tuple(range(circuit.num_qubits))
        return contract(experiments, {q: "P" for q in qubits}, qubits).reshape(-1)
    if isinstance(output, ExpVal):
        return np.array([sum(term.coeff * float(contract(experiments, _bases(term), ()))
                             for term in observable) for observable in output.observables])
    raise QCompileError(f"cut circuits read out expectation values or probabilities, not "
                        f"{type(output).__name__.lower()}")


def _bases(term: PauliTerm) -> dict[int, str]:
    return {q: p for q, p in term.paulis if p != "I"}


def contract(experiments: Experiments, bases: Mapping[int, str], kept: tuple[int, ...],
             *, batched: bool = False) -> np.ndarray:
    """``Σ_terms Π c Π values`` with the outputs of ``kept`` (``"P"`` bases) as axes, the
    last of ``kept`` first; ``batched``: every value has one leading axis more (a batch of
    samples of it), which the result keeps first."""
    plan = experiments.plan
    labels = {("cut", k): k for k in range(len(plan.cuts))}
    batch = [len(labels)] if batched else []
    for q in kept:
        labels[("qubit", q)] = len(labels) + len(batch)
    operands: list = []
    for k, decomposition in enumerate(experiments.terms):
        operands += [np.array([t.coefficient for t in decomposition.terms]), [k]]
    for fragment in range(len(plan.fragments)):
        cuts = plan.fragment_cuts[fragment]
        outputs = output_qubits(plan, fragment)
        readout = Readout(tuple(bases.get(q, "I") for q in outputs))
        shape = [len(experiments.terms[k].terms) for k in cuts]
        tensor = None
        for choice in combinations(plan, experiments.terms, fragment):
            value = experiments.value(fragment, choice, readout)
            if tensor is None:
                tensor = np.empty(shape + list(np.shape(value)))
            tensor[tuple(choice[k] for k in cuts)] = value
        kept_here = [q for q in outputs if bases.get(q) == "P"]
        operands += [tensor, [labels[("cut", k)] for k in cuts] + batch
                     + [labels[("qubit", q)] for q in kept_here]]
    if len(labels) + len(batch) > 52:
        raise QCompileError(f"{len(plan.cuts)} cuts and {len(kept)} kept qubits are more than "
                            f"the 52 indices a contraction can name")
    return np.einsum(*operands, batch + [labels[("qubit", q)] for q in reversed(kept)],
                     optimize=True)
