"""Estimating the uncut read-out from shots, with its standard error.

Quasi-probability sampling: a shot draws one term per cut, each with probability
``|c_ki| / γ_k`` (so a combination of terms gets shots in proportion to the absolute
product of its coefficients), runs every fragment's sub-experiment under those terms once,
and scores ``γ · sign(Π c) · Π_f x_f``, where ``x_f`` is the fragment's record weighed bit by
bit (:mod:`.experiments`); for probabilities the score is that number on the joint outcome of
the kept qubits. The mean of the scores is unbiased and its standard error is their standard
deviation over ``√shots`` — ``γ`` times wider than the uncut circuit's, which is what the
overhead ``γ²`` in shots pays for. Fragments are independent, so the i-th shot of each
fragment's run of a combination make up the i-th joint shot.

A Pauli sum spends its shots on its terms in proportion to ``|coefficient|``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..ir import Circuit, Counts, ExpVal, Probs, QCompileError
from ..ir.bind import bind
from .experiments import Experiments, Readout, output_qubits
from .plan import CutPlan

#: ``run(circuit, shots, rng) -> histogram over its classical bits`` (index bit j: clbit j).
RunShots = Callable[[Circuit, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Estimate:
    """An estimate of an ExpVal (one entry per observable) or Probs read-out."""

    value: np.ndarray
    standard_error: np.ndarray
    shots: int


def simulated_shots(circuit: Circuit, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Shots of a bound circuit on the statevector simulator."""
    from ..backends.statevector.simulate import simulate
    if not circuit.num_clbits:
        return np.array([shots])
    return simulate(circuit, Counts(shots), seed=rng)[0]


def estimate(plan: CutPlan, output: ExpVal | Probs, values: Mapping[str, object] | None = None,
             *, shots: int, seed=None, run: RunShots = simulated_shots) -> Estimate:
    """The uncut circuit's ``output`` estimated from ``shots`` joint shots (each runs every
    fragment once: ``shots × fragments`` circuit executions in all)."""
    if shots < 1:
        raise QCompileError(f"shots must be positive, not {shots}")
    rng = np.random.default_rng(seed)
    circuit = bind(plan.circuit, values) if values else plan.circuit
    experiments = Experiments(plan, circuit, lambda c: None)
    if isinstance(output, Probs):
        qubits = output.qubits or tuple(range(circuit.num_qubits))
        mean, error = _sample(experiments, {q: "P" for q in qubits}, qubits, shots, rng, run)
        return Estimate(mean, error, shots)
    if not isinstance(output, ExpVal):
        raise QCompileError(f"cut circuits read out expectation values or probabilities, not "
                            f"{type(output).__name__.lower()}")
    means, errors = [], []
    for observable in output.observables:
        measured = [t for t in observable if any(p != "I" for _, p in t.paulis)]
        constant = sum(t.coeff for t in observable if t not in measured)
        weights = np.array([abs(t.coeff) for t in measured])
        split = (rng.multinomial(shots, weights / weights.sum()) if weights.sum() > 0
                 else np.zeros(len(measured), dtype=int))
        mean, variance = constant, 0.0
        for term, share in zip(measured, split):
            if share == 0:
                continue  # a term that drew no shots adds nothing (its weight is tiny)
            m, e = _sample(experiments, dict(term.paulis), (), int(share), rng, run)
            mean += term.coeff * float(m)
            variance += (term.coeff * float(e)) ** 2
        means.append(mean)
        errors.append(math.sqrt(variance))
    return Estimate(np.array(means), np.array(errors), shots)


def _sample(experiments: Experiments, bases: Mapping[int, str], kept: tuple[int, ...],
            shots: int, rng: np.random.Generator, run: RunShots) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the scores of ``shots`` joint shots (an array over the
    outcomes of ``kept`` when it is not empty, index bit j = ``kept[j]``)."""
    plan, terms = experiments.plan, experiments.terms
    probabilities = [np.abs([t.coefficient for t in d.terms]) / d.gamma for d in terms]
    gamma = math.prod(d.gamma for d in terms)
    drawn = np.stack([rng.choice(len(p), size=shots, p=p) for p in probabilities], axis=1) \
        if terms else np.zeros((shots, 0), dtype=int)
    size = 2 ** len(kept)
    total, squares = np.zeros(size), np.zeros(size)
    for combination, count in Counter(map(tuple, drawn)).items():
        sign = math.prod(np.sign(terms[k].terms[i].coefficient)
                         for k, i in enumerate(combination))
        scores = np.full(count, float(gamma * sign))
        outcome = np.zeros(count, dtype=np.int64)
        for fragment in range(len(plan.fragments)):
            outputs = output_qubits(plan, fragment)
            readout = Readout(tuple(bases.get(q, "I") for q in outputs))
            circuit, weights = experiments.build(fragment, dict(enumerate(combination)), readout)
            records = np.repeat(np.arange(2 ** circuit.num_clbits), run(circuit, count, rng))
            rng.shuffle(records)
            kept_bits = iter(q for q in outputs if bases.get(q) == "P")
            for bit, w in enumerate(weights):
                b = (records >> bit) & 1
                if w is None:
                    outcome |= b << kept.index(next(kept_bits))
                else:
                    scores *= np.where(b == 1, w[1], w[0])
        np.add.at(total, outcome, scores)
        np.add.at(squares, outcome, scores ** 2)
    mean = total / shots
    error = np.sqrt(np.maximum(squares / shots - mean ** 2, 0.0) / max(shots - 1, 1))
    return (mean, error) if kept else (mean[0], error[0])
