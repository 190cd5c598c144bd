"""The gate library: every named gate the IR knows, with its matrix and its inverse.

Covers the OpenQASM 3 standard library (stdgates.inc), the builtin ``U``, the two-qubit Pauli
rotations ``rxx``/``ryy``/``rzz`` used by feature maps, and a few common extras.

Conventions (the same as Qiskit, so matrices compare directly with ``qiskit.quantum_info``):
for a gate applied to qubits ``(q0, q1, ...)``, bit ``k`` of the matrix row/column index is the
state of ``qubits[k]``; controls come first in the qubit list.

Matrices are built for a batch of parameter values at once: each parameter is an array of
shape ``(B,)`` (or a scalar) and the result has shape ``(*batch, d, d)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np

from .expr import Const

_I2 = np.eye(2, dtype=complex)


def _stack(rows, batch_shape) -> np.ndarray:
    """Assemble a batched matrix from nested lists of scalars or arrays."""
    out = np.empty(tuple(batch_shape) + (len(rows), len(rows[0])), dtype=complex)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            out[..., i, j] = value
    return out


def _batch_shape(*params) -> tuple[int, ...]:
    return np.broadcast_shapes(*(np.shape(p) for p in params)) if params else ()


def _u(theta, phi, lam):
    b = _batch_shape(theta, phi, lam)
    c, s = np.cos(np.asarray(theta) / 2), np.sin(np.asarray(theta) / 2)
    return _stack([[c, -np.exp(1j * np.asarray(lam)) * s],
                   [np.exp(1j * np.asarray(phi)) * s, np.exp(1j * (np.asarray(phi) + lam)) * c]], b)


def _rx(t):
    c, s = np.cos(np.asarray(t) / 2), np.sin(np.asarray(t) / 2)
    return _stack([[c, -1j * s], [-1j * s, c]], _batch_shape(t))


def _ry(t):
    c, s = np.cos(np.asarray(t) / 2), np.sin(np.asarray(t) / 2)
    return _stack([[c, -s], [s, c]], _batch_shape(t))


def _rz(t):
    e = np.exp(-0.5j * np.asarray(t))
    return _stack([[e, 0], [0, np.conj(e)]], _batch_shape(t))


def _p(lam):
    return _stack([[1, 0], [0, np.exp(1j * np.asarray(lam))]], _batch_shape(lam))


def _fixed(matrix) -> Callable[[], np.ndarray]:
    matrix = np.asarray(matrix, dtype=complex)
    return lambda: matrix


def controlled(matrix: np.ndarray, num_controls: int = 1) -> np.ndarray:
    """Add ``num_controls`` control qubits (the low bits of the index) to a batched matrix."""
    d = matrix.shape[-1]
    c = 2 ** num_controls
    out = np.zeros(matrix.shape[:-2] + (d * c, d * c), dtype=complex)
    for i in range(d * c):
        if i % c != c - 1:
            out[..., i, i] = 1.0
    active = np.arange(d) * c + (c - 1)
    out[..., active[:, None], active[None, :]] = matrix
    return out


def _pauli_rotation(pauli: np.ndarray):
    """exp(-i t/2 P⊗P) for a single-qubit Pauli P."""
    pp = np.kron(pauli, pauli)

    def build(t):
        t = np.asarray(t, dtype=float)[..., None, None]
        return np.cos(t / 2) * np.eye(4) - 1j * np.sin(t / 2) * pp

    return build


_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.diag([1, -1]).astype(complex)
_H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_S = np.diag([1, 1j])
_T = np.diag([1, np.exp(1j * np.pi / 4)])
_SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
_SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]
_ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]], dtype=complex)
_ECR = np.array([[0, 1, 0, 1j], [1, 0, -1j, 0], [0, 1j, 0, 1], [-1j, 0, 1, 0]]) / np.sqrt(2)


@dataclass(frozen=True)
class GateSpec:
    """What the IR knows about a named gate."""

    name: str
    num_qubits: int
    num_params: int
    matrix: Callable[..., np.ndarray]
    #: name of the inverse gate, and a function mapping this gate's parameter expressions
    #: to the inverse's.
    inverse_name: str
    inverse_params: Callable[[tuple], tuple] = lambda params: tuple(-p for p in params)
    diagonal: bool = False
    description: str = ""


def _self_inverse(name, n, matrix, description, diagonal=False) -> GateSpec:
    return GateSpec(name, n, 0, _fixed(matrix), name, lambda p: (), diagonal, description)


def _rotation(name, n, build, description, diagonal=False) -> GateSpec:
    return GateSpec(name, n, 1, build, name, lambda p: (-p[0],), diagonal, description)


def _u_inverse(p):
    theta, phi, lam = p
    return (-theta, -lam, -phi)


_SPECS = [
    _self_inverse("id", 1, _I2, "identity", diagonal=True),
    _self_inverse("x", 1, _X, "Pauli X (NOT)"),
    _self_inverse("y", 1, _Y, "Pauli Y"),
    _self_inverse("z", 1, _Z, "Pauli Z", diagonal=True),
    _self_inverse("h", 1, _H, "Hadamard"),
    GateSpec("s", 1, 0, _fixed(_S), "sdg", lambda p: (), True, "sqrt(Z)"),
    GateSpec("sdg", 1, 0, _fixed(_S.conj()), "s", lambda p: (), True, "inverse of s"),
    GateSpec("t", 1, 0, _fixed(_T), "tdg", lambda p: (), True, "sqrt(S)"),
    GateSpec("tdg", 1, 0, _fixed(_T.conj()), "t", lambda p: (), True, "inverse of t"),
    GateSpec("sx", 1, 0, _fixed(_SX), "sxdg", lambda p: (), False, "sqrt(X)"),
    GateSpec("sxdg", 1, 0, _fixed(_SX.conj().T), "sx", lambda p: (), False, "inverse of sx"),
    _rotation("rx", 1, _rx, "rotation about X: exp(-i t X/2)"),
    _rotation("ry", 1, _ry, "rotation about Y: exp(-i t Y/2)"),
    _rotation("rz", 1, _rz, "rotation about Z: exp(-i t Z/2)", diagonal=True),
    _rotation("p", 1, _p, "phase gate diag(1, e^{i t})", diagonal=True),
    _rotation("phase", 1, _p, "phase gate (alias of p)", diagonal=True),
    _rotation("u1", 1, _p, "phase gate (IBM u1)", diagonal=True),
    GateSpec("u2", 1, 2, lambda phi, lam: _u(np.pi / 2, phi, lam), "U",
             lambda p: (Const(-np.pi / 2), -p[1], -p[0]), False, "U(pi/2, phi, lambda)"),
    GateSpec("u3", 1, 3, _u, "u3", _u_inverse, False, "generic single-qubit rotation"),
    GateSpec("U", 1, 3, _u, "U", _u_inverse, False, "builtin generic single-qubit rotation"),
    GateSpec("u", 1, 3, _u, "u", _u_inverse, False, "generic single-qubit rotation"),
    _self_inverse("cx", 2, controlled(_X), "controlled X (CNOT)"),
    _self_inverse("CX", 2, controlled(_X), "controlled X (OpenQASM 2 builtin)"),
    _self_inverse("cy", 2, controlled(_Y), "controlled Y"),
    _self_inverse("cz", 2, controlled(_Z), "controlled Z", diagonal=True),
    _self_inverse("ch", 2, controlled(_H), "controlled Hadamard"),
    _self_inverse("swap", 2, _SWAP, "swap two qubits"),
    GateSpec("iswap", 2, 0, _fixed(_ISWAP), "iswapdg", lambda p: (), False, "iSWAP"),
    GateSpec("iswapdg", 2, 0, _fixed(_ISWAP.conj().T), "iswap", lambda p: (), False,
             "inverse iSWAP"),
    _self_inverse("ecr", 2, _ECR, "echoed cross-resonance"),
    _rotation("cp", 2, lambda t: controlled(_p(t)), "controlled phase", diagonal=True),
    _rotation("cphase", 2, lambda t: controlled(_p(t)), "controlled phase (alias)", diagonal=True),
    _rotation("cu1", 2, lambda t: controlled(_p(t)), "controlled phase (IBM cu1)", diagonal=True),
    _rotation("crx", 2, lambda t: controlled(_rx(t)), "controlled rx"),
    _rotation("cry", 2, lambda t: controlled(_ry(t)), "controlled ry"),
    _rotation("crz", 2, lambda t: controlled(_rz(t)), "controlled rz", diagonal=True),
    GateSpec("cu3", 2, 3, lambda a, b, c: controlled(_u(a, b, c)), "cu3", _u_inverse, False,
             "controlled u3"),
    GateSpec("cu", 2, 4, lambda a, b, c, g: controlled(
        np.exp(1j * np.asarray(g))[..., None, None] * _u(a, b, c)), "cu",
        lambda p: (*_u_inverse(p[:3]), -p[3]), False, "controlled U with phase gamma"),
    _rotation("rxx", 2, _pauli_rotation(_X), "exp(-i t XX/2)"),
    _rotation("ryy", 2, _pauli_rotation(_Y), "exp(-i t YY/2)"),
    _rotation("rzz", 2, _pauli_rotation(_Z), "exp(-i t ZZ/2)", diagonal=True),
    _self_inverse("ccx", 3, controlled(_X, 2), "Toffoli"),
    _self_inverse("ccz", 3, controlled(_Z, 2), "doubly controlled Z", diagonal=True),
    _self_inverse("cswap", 3, controlled(_SWAP), "Fredkin (controlled swap)"),
]

GATES: dict[str, GateSpec] = {spec.name: spec for spec in _SPECS}


def gate_matrix(name: str, params=()) -> np.ndarray:
    """The (possibly batched) matrix of a named gate for numeric parameter values."""
    spec = GATES[name]
    return spec.matrix(*params)
