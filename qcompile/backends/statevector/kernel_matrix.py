"""Fidelity-kernel matrices K[i, j] = |<ψ(y_j)|ψ(x_i)>|² for quantum kernel methods.

Each data point is encoded once: the X batch and the Y batch are simulated to statevectors in
chunks, and every overlap then comes from complex matrix products (BLAS GEMM), block by block,
instead of one compute–uncompute circuit per pair. Without Y the Gram matrix of X reuses the
same states and computes only the blocks on and above the diagonal.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...ir import Circuit, QCompileError, State
from .simulate import simulate

#: Samples encoded per simulator call and rows per GEMM block: bounds the working memory to a
#: few blocks of ``chunk_size × 2**n`` amplitudes beyond the states and the result.
DEFAULT_CHUNK = 256


def kernel_matrix(circuit: Circuit, X, Y=None, weights: Mapping[str, np.ndarray] | None = None,
                  *, chunk_size: int = DEFAULT_CHUNK, dtype=np.complex128) -> np.ndarray:
    """The ``(len(X), len(Y))`` fidelity kernel of the feature map ``circuit`` (float64).

    ``X`` (and ``Y``) is an array ``(N, *shape)`` for the circuit's one input parameter, or a
    mapping from each input parameter name to such arrays; ``weights`` binds the weight
    parameters, shared by all samples. ``Y=None`` gives the symmetric Gram matrix of ``X``.
    """
    if int(chunk_size) < 1:
        raise QCompileError(f"kernel_matrix: chunk_size must be a positive integer, got "
                            f"{chunk_size!r}")
    left = encode(circuit, X, weights, int(chunk_size), dtype)
    if Y is None:
        return _gram(left, int(chunk_size))
    right = encode(circuit, Y, weights, int(chunk_size), dtype)
    out = np.empty((left.shape[0], right.shape[0]))
    right_conj = right.conj()
    for start in range(0, left.shape[0], chunk_size):
        out[start:start + chunk_size] = _fidelities(left[start:start + chunk_size], right_conj)
    return out


def encode(circuit: Circuit, data, weights, chunk_size: int = DEFAULT_CHUNK,
           dtype=np.complex128) -> np.ndarray:
    """Statevectors ``(N, 2**n)`` of the feature map for every sample of ``data``."""
    inputs = _as_inputs(circuit, data)
    size = next(iter(inputs.values())).shape[0]
    states = np.empty((size, 2 ** circuit.num_qubits), dtype=dtype)
    for start in range(0, size, chunk_size):
        chunk = {name: array[start:start + chunk_size] for name, array in inputs.items()}
        states[start:start + chunk_size] = simulate(circuit, State(), {**(weights or {}),
                                                                       **chunk}, dtype=dtype)
    return states


def _gram(states: np.ndarray, chunk_size: int) -> np.ndarray:
    size = states.shape[0]
    out = np.empty((size, size))
    conj = states.conj()
    for start in range(0, size, chunk_size):
        stop = min(start + chunk_size, size)
        block = _fidelities(states[start:stop], conj[start:])
        out[start:stop, start:] = block
        out[start:, start:stop] = block.T
        # Rounding differs between <a|b> and <b|a>: keep one triangle so K is exactly symmetric.
        diagonal = block[:, :stop - start]
        out[start:stop, start:stop] = np.triu(diagonal) + np.triu(diagonal, 1).T
    return out


def _fidelities(states: np.ndarray, other_conj: np.ndarray) -> np.ndarray:
    overlaps = states @ other_conj.T
    return overlaps.real ** 2 + overlaps.imag ** 2


def _as_inputs(circuit: Circuit, data) -> dict[str, np.ndarray]:
    """Check the data against the circuit's input parameters; each gets a leading N axis."""
    params = [p for p in circuit.params if p.role == "input"]
    if not isinstance(data, Mapping):
        if len(params) != 1:
            raise QCompileError(f"kernel_matrix: circuit {circuit.name!r} has "
                                f"{len(params)} input parameters "
                                f"({', '.join(p.name for p in params) or 'none'}); pass the "
                                f"data as a mapping from each input name to an array")
        data = {params[0].name: data}
    inputs, sizes = {}, set()
    for param in params:
        if param.name not in data:
            raise QCompileError(f"kernel_matrix: no data for input {param.name!r} of circuit "
                                f"{circuit.name!r}")
        try:
            array = np.asarray(data[param.name], dtype=float)
        except (TypeError, ValueError):
            raise QCompileError(f"kernel_matrix: the data for {param.name!r} must be an array "
                                f"of real numbers") from None
        if array.ndim != len(param.shape) + 1 or array.shape[1:] != param.shape:
            raise QCompileError(f"kernel_matrix: the data for {param.name!r} must have shape "
                                f"[N, {', '.join(map(str, param.shape))}]".replace(", ]", "]")
                                + f" (one row per sample); got {list(array.shape)}")
        inputs[param.name] = array
        sizes.add(array.shape[0])
    if not inputs:
        raise QCompileError(f"kernel_matrix: circuit {circuit.name!r} has no input parameter to "
                            f"encode data with")
    if len(sizes) > 1 or 0 in sizes:
        raise QCompileError(f"kernel_matrix: the inputs of circuit {circuit.name!r} must have "
                            f"the same positive number of samples; got {sorted(sizes)}")
    return inputs
