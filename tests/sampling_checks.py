"""Chi-square checks of sampled counts: against an exact distribution, or two samplers
against each other.

Both return p-values; tests require p > ALPHA. With ALPHA = 1e-6 a correct sampler fails
once in a million runs (and the seeds are fixed, so never by chance once it passed), while a
sampler that is wrong by a few percent on any outcome of 20000 shots gives a p-value far
below it (the tests check that too, on a deliberately wrong distribution).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

ALPHA = 1e-6
#: Outcomes expected fewer times than this are pooled into one bin (the chi-square
#: approximation needs about five per bin).
MIN_EXPECTED = 5


def goodness_of_fit(counts: np.ndarray, probabilities: np.ndarray) -> float:
    """p-value of ``counts`` (one histogram) drawn from ``probabilities``; an outcome of
    probability zero that was drawn gives 0."""
    counts = np.asarray(counts, dtype=float)
    expected = np.asarray(probabilities, dtype=float) * counts.sum()
    if np.any(counts[expected <= 1e-12 * counts.sum()] > 0):
        return 0.0
    big = expected >= MIN_EXPECTED
    observed = np.append(counts[big], counts[~big].sum())
    expected = np.append(expected[big], expected[~big].sum())
    keep = expected > 0
    observed, expected = observed[keep], expected[keep]
    if len(observed) < 2:
        return 1.0
    statistic = np.sum((observed - expected) ** 2 / expected)
    return float(chi2.sf(statistic, len(observed) - 1))


def homogeneity(a: np.ndarray, b: np.ndarray) -> float:
    """p-value of two histograms with the same number of shots coming from one
    distribution (outcomes seen fewer than MIN_EXPECTED times in both are pooled)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.sum() == b.sum()
    big = (a + b) >= 2 * MIN_EXPECTED
    a = np.append(a[big], a[~big].sum())
    b = np.append(b[big], b[~big].sum())
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    if len(a) < 2:
        return 1.0
    statistic = np.sum((a - b) ** 2 / (a + b))
    return float(chi2.sf(statistic, len(a) - 1))


def as_histogram(distribution: dict[tuple[int, ...], float], size: int) -> np.ndarray:
    """A record-keyed distribution (tuple index = clbit) as an array indexed like Counts."""
    out = np.zeros(size)
    for record, p in distribution.items():
        out[sum(bit << j for j, bit in enumerate(record))] += p
    return out
