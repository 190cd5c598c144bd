"""Central finite differences: the independent reference for every gradient test.

Samples of a batch are independent, so a per-sample value is perturbed in all samples at once
and the per-sample losses give every sample's partial derivative in one pair of evaluations.
"""

from __future__ import annotations

import numpy as np

STEP = 1e-5


def gradients_by_differences(per_sample_loss, values: dict, batched: set[str],
                             step: float = STEP) -> dict[str, np.ndarray]:
    """d(Σ_b per_sample_loss(values)[b]) / d values[name] for every name, shaped like it.

    Names in ``batched`` have a leading batch axis and get per-sample derivatives; the others
    are shared by the batch and get the derivative of the batch sum.
    """
    grads = {}
    for name, value in values.items():
        value = np.asarray(value, dtype=float)
        grad = np.zeros_like(value)
        per_element = value.shape[1:] if name in batched else value.shape
        for index in np.ndindex(*per_element):
            where = (slice(None), *index) if name in batched else index
            losses = []
            for sign in (1, -1):
                shifted = value.copy()
                shifted[where] += sign * step
                losses.append(np.asarray(per_sample_loss({**values, name: shifted})))
            slope = (losses[0] - losses[1]) / (2 * step)
            grad[where] = slope if name in batched else np.sum(slope)
        grads[name] = grad
    return grads


def assert_gradients_close(actual: dict, expected: dict, rtol: float = 1e-6) -> None:
    """Every gradient within ``rtol`` of the reference, relative to the reference's scale."""
    assert set(actual) == set(expected)
    for name, reference in expected.items():
        assert actual[name].shape == reference.shape, name
        scale = max(float(np.abs(reference).max(initial=0.0)), 1e-2)
        np.testing.assert_allclose(actual[name], reference, rtol=rtol, atol=rtol * scale,
                                   err_msg=f"gradient of {name!r}")
