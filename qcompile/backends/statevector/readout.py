"""Read-outs of final states that need no kernels: probabilities, marginals, where terminal
measurements write their outcomes, and Pauli expectation values of small states."""

from __future__ import annotations

import numpy as np

from ...ir import Measure, QCompileError


def shot_rng(seed) -> np.random.Generator:
    """The generator counts are drawn with: ``numpy.random.default_rng(seed)``."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        raise QCompileError(f"counts: {seed!r} is not a usable seed ({err})") from None


def probabilities(states: np.ndarray) -> np.ndarray:
    return states.real ** 2 + states.imag ** 2


def marginal(probabilities: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
    """Sum out all qubits but ``qubits``; bit j of the result's index is ``qubits[j]``."""
    batch, n = probabilities.shape[0], int(probabilities.shape[1]).bit_length() - 1
    axis = {q: n - q for q in range(n)}  # qubit q is axis n - q of (B, 2, ..., 2)
    kept = [axis[q] for q in reversed(qubits)]
    summed = [a for a in range(1, n + 1) if a not in kept]
    tensor = probabilities.reshape((batch,) + (2,) * n).transpose([0, *kept, *summed])
    return tensor.reshape(batch, 2 ** len(qubits), -1).sum(axis=2)


def clbit_offsets(terminal: tuple[Measure, ...]) -> np.ndarray:
    """For each outcome of the ``terminal`` measurements (bit j: the j-th one's), the value
    of the classical bits they write."""
    offsets = np.zeros(2 ** len(terminal), dtype=np.int64)
    for j, m in enumerate(terminal):
        offsets |= ((np.arange(offsets.size) >> j) & 1) << m.clbit
    return offsets


def small_expectation(observable, states: np.ndarray) -> np.ndarray:
    """Sum over terms of coeff * <psi|P|psi> per row of ``states``, in numpy (for states too
    small to be worth a kernel launch)."""
    index = np.arange(states.shape[1])
    total = np.zeros(states.shape[0])
    for term in observable:
        flip, sign, phase = term.masks()
        signs = 1 - 2 * (np.bitwise_count(index & sign) & 1).astype(np.int8)
        overlap = np.einsum("bi,bi->b", states[:, index ^ flip].conj(), states * signs)
        total += term.coeff * (phase * overlap).real
    return total
