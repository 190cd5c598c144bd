"""Estimating the uncut read-out from shots, with its standard error.

Every distinct sub-experiment the read-out needs gets its own share of the shots, and the
estimate is the same tensor contraction as the exact reconstruction (:mod:`.reconstruct`)
on their measured distributions. Fragments run independently, so the contraction of their
sample means is unbiased, and its variance is a sum of one term per sub-experiment: its
value's variance over its shots, times the squared sensitivity of the result to it. Shots go
where that sensitivity is largest (Neyman allocation with every value bounded by 1): a
fragment's sub-experiment gets shots in proportion to the summed absolute products of the
coefficients of the terms that use it, the other cuts counting their γ. Each needed
sub-experiment gets at least one shot. The standard error is a parametric bootstrap: the
contraction repeated on :data:`RESAMPLES` multinomial resamples of every sub-experiment's
counts.

``shots`` counts every circuit execution, over all fragments and sub-experiments; a Pauli
sum spends its shots on its terms in proportion to ``|coefficient|``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..ir import Circuit, Counts, ExpVal, Probs, QCompileError
from ..ir.bind import bind
from .experiments import Experiments, Readout, combinations, output_qubits, weigh
from .plan import CutPlan
from .reconstruct import contract

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
    """The uncut circuit's ``output`` estimated from ``shots`` circuit executions in all,
    run by ``run`` (default: the statevector simulator's shots)."""
    if shots < 1:
        raise QCompileError(f"shots must be positive, not {shots}")
    rng = np.random.default_rng(seed)
    circuit = bind(plan.circuit, values) if values else plan.circuit
    if isinstance(output, Probs):
        tasks = [(1.0, {q: "P" for q in output.qubits or range(circuit.num_qubits)})]
    elif isinstance(output, ExpVal):  # an identity term is its coefficient, exactly
        tasks = [(t.coeff, {q: p for q, p in t.paulis if p != "I"})
                 for observable in output.observables for t in observable
                 if any(p != "I" for _, p in t.paulis)]
    else:
        raise QCompileError(f"cut circuits read out expectation values or probabilities, not "
                            f"{type(output).__name__.lower()}")
    if not tasks:
        constant = [sum(t.coeff for t in observable) for observable in output.observables]
        return Estimate(np.array(constant, dtype=float), np.zeros(len(constant)), 0)
    experiments = Experiments(plan, circuit, lambda c: None)
    needed = _needed(experiments, tasks)
    probabilities = isinstance(output, Probs)
    method = _by_allocation if len(needed) * MIN_SHOTS_EACH <= shots else _by_joint_sampling
    found, spread = method(experiments, tasks, needed, shots, rng, run, probabilities)
    if probabilities:
        return Estimate(found[0].reshape(-1), np.sqrt(spread).reshape(-1), shots)
    means, errors, index = [], [], 0
    for observable in output.observables:
        measured = [t for t in observable if any(p != "I" for _, p in t.paulis)]
        rows = slice(index, index + len(measured))
        index += len(measured)
        coefficients = np.array([t.coeff for t in measured])
        constant = sum(t.coeff for t in observable if t not in measured)
        means.append(constant + float(coefficients @ np.array(found[rows], dtype=float)))
        errors.append(math.sqrt(max(float(coefficients @ spread[rows, rows] @ coefficients),
                                    0.0)))
    return Estimate(np.array(means), np.array(errors), shots)


#: Each distinct sub-experiment gets its own shots when there are at least this many per
#: sub-experiment; with fewer (very many sub-experiments), a shot draws one term per cut.
MIN_SHOTS_EACH = 8


def _by_allocation(experiments, tasks, needed, shots, rng, run, probabilities: bool):
    """Per task its value, and the covariance of the task values (probabilities: one task,
    the elementwise variance): shots allocated to the distinct sub-experiments, one
    contraction, a bootstrap."""
    allocation = _allocate(shots, [weight for weight, _ in needed.values()])
    built = {key: experiments.build(*where) for key, (_, where) in needed.items()}
    samples = {}  # key -> the counts, then RESAMPLES multinomial resamples of them
    for key, n in zip(needed, allocation):
        counts = np.asarray(run(built[key][0], n, rng), dtype=float)
        frequencies = counts / max(counts.sum(), 1)
        samples[key] = np.vstack([counts, rng.multinomial(int(counts.sum()), frequencies,
                                                          size=RESAMPLES)]) / max(n, 1)
    experiments.values = {key: weigh(samples[key], built[key][1]) for key in needed}
    results = [contract(experiments, bases, _kept(bases), batched=True) for _, bases in tasks]
    found = [r[0] for r in results]
    if probabilities:
        return found, np.var(results[0][1:], axis=0, ddof=1)
    values = np.array([r[1:] for r in results]).T  # resample × task
    return found, np.cov(values, rowvar=False).reshape(len(tasks), len(tasks))


def _by_joint_sampling(experiments, tasks, needed, shots, rng, run, probabilities: bool):
    """The same from joint shots, each drawing one term per cut and running every fragment
    once (shots / fragments of them); a task gets them in proportion to |coefficient|."""
    joint = max(shots // len(experiments.plan.fragments), len(tasks))
    weights = np.array([abs(c) for c, _ in tasks])
    split = rng.multinomial(joint, weights / weights.sum()) if weights.sum() > 0 else \
        np.full(len(tasks), joint // len(tasks))
    found, variances = [], []
    for (_, bases), share in zip(tasks, split):
        mean, error = _sample(experiments, bases, _kept(bases), max(int(share), 1), rng, run)
        found.append(mean)
        variances.append(error ** 2)
    return found, variances[0] if probabilities else np.diag(variances)


#: Bootstrap resamples behind a standard error.
RESAMPLES = 100


def _kept(bases: Mapping[int, str]) -> tuple[int, ...]:
    return tuple(q for q, b in bases.items() if b == "P")


def _needed(experiments: Experiments, tasks) -> dict:
    """Every distinct sub-experiment the tasks (coefficient, bases) need: key → [allocation
    weight, (fragment, choice, readout) that builds it]. A fragment's term choice weighs the
    absolute product of its cuts' coefficients times the γ of every other cut, times the
    task's |coefficient|."""
    plan, terms = experiments.plan, experiments.terms
    gammas = [d.gamma for d in terms]
    needed: dict = {}
    for coefficient, bases in tasks:
        for fragment in range(len(plan.fragments)):
            cuts = plan.fragment_cuts[fragment]
            others = math.prod(g for k, g in enumerate(gammas) if k not in cuts)
            readout = Readout(tuple(bases.get(q, "I") for q in output_qubits(plan, fragment)))
            for choice in combinations(plan, terms, fragment):
                key = experiments.key(fragment, choice, readout)
                weight = abs(coefficient) * others * math.prod(
                    abs(terms[k].terms[i].coefficient) for k, i in choice.items())
                needed.setdefault(key, [0.0, (fragment, choice, readout)])[0] += weight
    return needed


def _allocate(shots: int, weights: list[float]) -> list[int]:
    """One shot each, the rest in proportion to ``weights`` (largest remainders)."""
    weights = np.asarray(weights, dtype=float)
    spare = shots - len(weights)
    share = spare * weights / weights.sum() if weights.sum() > 0 else np.zeros(len(weights))
    whole = np.floor(share).astype(int)
    leftover = spare - whole.sum()
    whole[np.argsort(share - whole)[::-1][:leftover]] += 1
    return list(1 + whole)


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
