"""The gate library: every named gate the IR knows, and every fact about it, in one entry.

Each :class:`GateSpec` holds a gate's matrix (batched over parameter values), its inverse,
how each angle enters the matrix (:class:`AngleForm`: derivative rules and periods), the gate
with one more control, its exact definition in other gates, its canonical name (aliases share
the canonical gate's entry) and the OpenQASM include files that declare it. Passes,
frontends and backends derive what they need from here; how targets spell a gate lives
beside it in :mod:`.spellings`. Adding a gate is one :func:`register_gate` call.

Conventions (the same as Qiskit, so matrices compare directly with ``qiskit.quantum_info``):
for a gate applied to qubits ``(q0, q1, ...)``, bit ``k`` of the matrix row/column index is the
state of ``qubits[k]``; controls come first in the qubit list.

Matrices are built for a batch of parameter values at once: each parameter is an array of
shape ``(B,)`` (or a scalar) and the result has shape ``(*batch, d, d)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from .expr import Const, Expr
from .matrices import permute_matrix

_I2 = np.eye(2, dtype=complex)


def _stack(rows, batch_shape) -> np.ndarray:
    """Assemble a batched matrix from nested lists of scalars or arrays."""
    out = np.empty(tuple(batch_shape) + (len(rows), len(rows[0])), dtype=complex)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            out[..., i, j] = value
    return out


def _batch_shape(*params) -> tuple[int, ...]:
    shapes = set(map(np.shape, params))
    return shapes.pop() if len(shapes) == 1 else np.broadcast_shapes(*shapes)


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


# --- angles --------------------------------------------------------------------------------

@dataclass(frozen=True)
class AngleForm:
    """How a gate depends on one of its angles θ (the others held fixed).

    ``matrix_frequency`` is the frequency ω of θ in the matrix entries, which fixes the
    frequencies of θ in every readout after the gate; ``shift_rule`` lists
    ``(coefficient, shift)`` pairs with
    d⟨readout⟩/dθ = Σ coefficient · (⟨readout⟩(θ + shift) − ⟨readout⟩(θ − shift)).
    """

    name: str
    matrix_frequency: float
    shift_rule: tuple[tuple[float, float], ...]

    @property
    def period(self) -> float:
        """The exact period of the matrix in θ: 2π for a phase e^{iθ}, 4π for a half angle
        (a 2π step flips the sign there, which a control makes visible)."""
        return 2 * math.pi / self.matrix_frequency


_HALF_PI = math.pi / 2
#: Entries span cos θ/2, sin θ/2; readouts have frequencies {0, ±1}.
ROTATION = AngleForm("rotation", 0.5, ((0.5, _HALF_PI),))
#: Entries span 1, e^{iθ}; readouts have frequencies {0, ±1}.
PHASE = AngleForm("phase", 1.0, ((0.5, _HALF_PI),))
#: Entries span 1, cos θ/2, sin θ/2; readouts have frequencies {0, ±½, ±1} (four-term rule).
CONTROLLED_ROTATION = AngleForm(
    "controlled rotation", 0.5,
    (((math.sqrt(2) + 1) / (4 * math.sqrt(2)), _HALF_PI),
     (-(math.sqrt(2) - 1) / (4 * math.sqrt(2)), 3 * _HALF_PI)))


# --- the spec ------------------------------------------------------------------------------

#: One gate of a definition: ``(name, local qubits, *parameter expressions)``.
DefinitionGate = tuple

STDGATES = "stdgates.inc"
QELIB1 = "qelib1.inc"


def _negated(params: tuple) -> tuple:
    return tuple(-p for p in params)


@dataclass(frozen=True)
class GateSpec:
    """What the IR knows about a named gate.

    ``definition(*params)`` gives the gate exactly, global phase included, as other gates on
    local qubits ``0..num_qubits-1`` (a target without the gate gets it written this way;
    deferral controls only the gates of a conjugated core). ``controlled`` names the gate that
    is this one with one more control in front. ``canonical`` is the one name passes keep
    for gates with exactly this matrix (aliases such as ``CX``, ``u3``, ``cphase``).
    """

    name: str
    num_qubits: int
    matrix: Callable[..., np.ndarray]
    #: how the matrix depends on each parameter, in order (their number is num_params)
    angles: tuple[AngleForm, ...] = ()
    #: name of the inverse gate (default: this gate) and how its parameters follow
    inverse_name: str | None = None
    inverse_params: Callable[[tuple], tuple] = _negated
    diagonal: bool = False
    description: str = ""
    canonical: str | None = None
    controlled: str | None = None
    definition: Callable[..., Sequence[DefinitionGate]] | None = None
    #: OpenQASM include files that declare the gate under this name
    libraries: frozenset[str] = frozenset()

    def __post_init__(self):
        for attr in ("inverse_name", "canonical"):
            if getattr(self, attr) is None:
                object.__setattr__(self, attr, self.name)
        object.__setattr__(self, "angles", tuple(self.angles))
        object.__setattr__(self, "libraries", frozenset(self.libraries))

    @property
    def num_params(self) -> int:
        return len(self.angles)


GATES: dict[str, GateSpec] = {}


def register_gate(*specs: GateSpec) -> None:
    """Add gates to the library; everything that knows gates derives its facts from here.

    Gates that name each other (a gate and its inverse) are registered in one call. A taken
    name (with a different spec) and a reference to a gate not in the library are refused.
    """
    for spec in specs:
        existing = GATES.get(spec.name)
        if existing is not None and existing != spec:
            raise ValueError(f"gate {spec.name!r} is already in the library")
    known = set(GATES) | {spec.name for spec in specs}
    for spec in specs:
        for attr in ("inverse_name", "canonical", "controlled"):
            target = getattr(spec, attr)
            if target is not None and target not in known:
                raise ValueError(f"gate {spec.name!r}: its {attr} {target!r} is not in the "
                                 f"library")
    GATES.update((spec.name, spec) for spec in specs)


def alias(name: str, of: str, libraries=(), description: str = "") -> GateSpec:
    """``name`` as another spelling of gate ``of``: the same entry, the same matrix."""
    spec = GATES[of]
    return dataclasses.replace(spec, name=name, canonical=spec.canonical,
                               libraries=frozenset(libraries),
                               description=description or f"alias of {of}")


def gate_matrix(name: str, params=()) -> np.ndarray:
    """The (possibly batched) matrix of a named gate for numeric parameter values."""
    return GATES[name].matrix(*params)


@lru_cache(maxsize=65536)
def fixed_matrix(name: str, params: tuple[float, ...]) -> np.ndarray:
    """The matrix for one tuple of numbers, cached (read-only): passes ask for the same
    constant gates over and over."""
    matrix = np.array(GATES[name].matrix(*params), dtype=complex)
    matrix.setflags(write=False)
    return matrix


def controlled_base(name: str) -> str | None:
    """The gate that ``name`` is with one more control in front (the reverse of
    :attr:`GateSpec.controlled`: ``crz`` → ``rz``, ``ccx`` → ``cx``), else None."""
    canonical = GATES[name].canonical
    return next((spec.canonical for spec in GATES.values()
                 if spec.controlled is not None
                 and GATES[spec.controlled].canonical == canonical), None)


def with_controls(name: str, count: int) -> str | None:
    """The named gate that is ``name`` with ``count`` more controls in front, if any."""
    for _ in range(count):
        name = GATES[name].controlled
        if name is None:
            return None
    return name


@cache
def _probe_values(num_params: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(11)
    return tuple(rng.uniform(-math.pi, math.pi, num_params) for _ in range(5))


@cache
def is_additive(name: str) -> bool:
    """Whether ``g(a) g(b) = g(a + b)`` for the one-parameter gate ``name`` (rotations about
    a fixed axis, phases, their controlled forms): then symbolic angles merge by summing."""
    spec = GATES[name]
    if spec.num_params != 1:
        return False
    a, b = _probe_values(2)[0]
    return bool(np.allclose(spec.matrix(a) @ spec.matrix(b), spec.matrix(a + b), atol=1e-12))


@cache
def is_symmetric(name: str, order: tuple[int, ...]) -> bool:
    """Whether gate ``name`` is unchanged when its qubits are relabelled by ``order``
    (``cz``, ``swap``, ``rzz``, ``cp`` and ``ccz`` are; ``cx`` and ``crx`` are not)."""
    spec = GATES[name]
    identity = tuple(range(len(order)))
    return all(np.allclose(permute_matrix(m, identity, order), m, atol=1e-10)
               for m in (spec.matrix(*values) for values in _probe_values(spec.num_params)[:3]))


# --- the library ---------------------------------------------------------------------------

def _fixed_gate(name, n, matrix, description, *, inverse=None, diagonal=False, controlled=None,
                definition=None, libraries=(STDGATES, QELIB1)) -> GateSpec:
    return GateSpec(name, n, _fixed(matrix), (), inverse, lambda p: (), diagonal, description,
                    controlled=controlled, definition=definition,
                    libraries=frozenset(libraries))


def _rotation(name, n, build, description, form=ROTATION, *, diagonal=False, controlled=None,
              definition=None, libraries=(STDGATES, QELIB1)) -> GateSpec:
    return GateSpec(name, n, build, (form,), diagonal=diagonal, description=description,
                    controlled=controlled, definition=definition,
                    libraries=frozenset(libraries))


def _u_inverse(p):
    theta, phi, lam = p
    return (-theta, -lam, -phi)


def _mirror(change, core):
    """``change⁻¹ · core · change`` in time order: a basis change, the core, and the change
    undone gate by gate in reverse (deferral then controls only the core)."""
    undo = [(GATES[name].inverse_name, qubits, *GATES[name].inverse_params(tuple(params)))
            for name, qubits, *params in reversed(change)]
    return [*change, *core, *undo]


_QUARTER = Const(_HALF_PI)

register_gate(
    _fixed_gate("id", 1, _I2, "identity", diagonal=True),
    _fixed_gate("x", 1, _X, "Pauli X (NOT)", controlled="cx"),
    _fixed_gate("y", 1, _Y, "Pauli Y", controlled="cy"),
    _fixed_gate("z", 1, _Z, "Pauli Z", diagonal=True, controlled="cz"),
    _fixed_gate("h", 1, _H, "Hadamard", controlled="ch"),
    _fixed_gate("s", 1, _S, "sqrt(Z)", inverse="sdg", diagonal=True),
    _fixed_gate("sdg", 1, _S.conj(), "inverse of s", inverse="s", diagonal=True),
    _fixed_gate("t", 1, _T, "sqrt(S)", inverse="tdg", diagonal=True),
    _fixed_gate("tdg", 1, _T.conj(), "inverse of t", inverse="t", diagonal=True),
    _fixed_gate("sx", 1, _SX, "sqrt(X)", inverse="sxdg"),
    _fixed_gate("sxdg", 1, _SX.conj().T, "inverse of sx", inverse="sx", libraries=(QELIB1,),
                definition=lambda: [("h", (0,)), ("sdg", (0,)), ("h", (0,))]),
    _rotation("rx", 1, _rx, "rotation about X: exp(-i t X/2)", controlled="crx"),
    _rotation("ry", 1, _ry, "rotation about Y: exp(-i t Y/2)", controlled="cry"),
    _rotation("rz", 1, _rz, "rotation about Z: exp(-i t Z/2)", diagonal=True, controlled="crz"),
    _rotation("p", 1, _p, "phase gate diag(1, e^{i t})", PHASE, diagonal=True, controlled="cp"),
    GateSpec("u", 1, _u, (ROTATION, PHASE, PHASE), inverse_params=_u_inverse,
             controlled="cu3", description="generic single-qubit rotation",
             libraries=frozenset({QELIB1}),
             # u(θ, φ, λ) = p(φ) · ry(θ) · p(λ), exactly
             definition=lambda t, f, lam: [("p", (0,), lam), ("ry", (0,), t), ("p", (0,), f)]),
    GateSpec("u2", 1, lambda phi, lam: _u(np.pi / 2, phi, lam), (PHASE, PHASE), "u",
             lambda p: (Const(-np.pi / 2), -p[1], -p[0]), description="U(pi/2, phi, lambda)",
             definition=lambda f, lam: [("u", (0,), _QUARTER, f, lam)],
             libraries=frozenset({STDGATES, QELIB1})),
    _fixed_gate("cx", 2, controlled(_X), "controlled X (CNOT)", controlled="ccx"),
    _fixed_gate("cy", 2, controlled(_Y), "controlled Y"),
    _fixed_gate("cz", 2, controlled(_Z), "controlled Z", diagonal=True, controlled="ccz"),
    _fixed_gate("ch", 2, controlled(_H), "controlled Hadamard"),
    _fixed_gate("swap", 2, _SWAP, "swap two qubits", controlled="cswap"),
    _fixed_gate("iswap", 2, _ISWAP, "iSWAP", inverse="iswapdg", libraries=(), definition=lambda: [
        ("s", (0,)), ("s", (1,)), ("h", (0,)), ("cx", (0, 1)), ("cx", (1, 0)), ("h", (1,))]),
    _fixed_gate("iswapdg", 2, _ISWAP.conj().T, "inverse iSWAP", inverse="iswap", libraries=(),
                definition=lambda: [("h", (1,)), ("cx", (1, 0)), ("cx", (0, 1)), ("h", (0,)),
                                    ("sdg", (1,)), ("sdg", (0,))]),
    _fixed_gate("ecr", 2, _ECR, "echoed cross-resonance", libraries=(), definition=lambda: [
        ("h", (1,)), ("cx", (0, 1)), ("x", (0,)), ("rz", (1,), _QUARTER), ("x", (1,)),
        ("cx", (0, 1)), ("h", (1,))]),
    _rotation("cp", 2, lambda t: controlled(_p(t)), "controlled phase", PHASE, diagonal=True),
    _rotation("crx", 2, lambda t: controlled(_rx(t)), "controlled rx", CONTROLLED_ROTATION),
    _rotation("cry", 2, lambda t: controlled(_ry(t)), "controlled ry", CONTROLLED_ROTATION),
    _rotation("crz", 2, lambda t: controlled(_rz(t)), "controlled rz", CONTROLLED_ROTATION,
              diagonal=True),
    GateSpec("cu3", 2, lambda a, b, c: controlled(_u(a, b, c)),
             (CONTROLLED_ROTATION, PHASE, PHASE), inverse_params=_u_inverse,
             description="controlled u3", libraries=frozenset({QELIB1}),
             definition=lambda t, f, lam: [
                 ("p", (0,), (lam + f) / 2), ("p", (1,), (lam - f) / 2), ("cx", (0, 1)),
                 ("u", (1,), -t / 2, Const(0.0), -(f + lam) / 2), ("cx", (0, 1)),
                 ("u", (1,), t / 2, f, Const(0.0))]),
    GateSpec("cu", 2, lambda a, b, c, g: controlled(
        np.exp(1j * np.asarray(g))[..., None, None] * _u(a, b, c)),
        (CONTROLLED_ROTATION, PHASE, PHASE, PHASE),
        inverse_params=lambda p: (*_u_inverse(p[:3]), -p[3]),
        description="controlled U with phase gamma", libraries=frozenset({STDGATES, QELIB1}),
        definition=lambda t, f, lam, g: [("p", (0,), g), ("cu3", (0, 1), t, f, lam)]),
    _rotation("rxx", 2, _pauli_rotation(_X), "exp(-i t XX/2)", libraries=(QELIB1,),
              definition=lambda t: _mirror([("h", (0,)), ("h", (1,)), ("cx", (0, 1))],
                                           [("rz", (1,), t)])),
    _rotation("ryy", 2, _pauli_rotation(_Y), "exp(-i t YY/2)", libraries=(),
              definition=lambda t: _mirror(
                  [("rx", (0,), _QUARTER), ("rx", (1,), _QUARTER), ("cx", (0, 1))],
                  [("rz", (1,), t)])),
    _rotation("rzz", 2, _pauli_rotation(_Z), "exp(-i t ZZ/2)", diagonal=True,
              libraries=(QELIB1,),
              definition=lambda t: [("cx", (0, 1)), ("rz", (1,), t), ("cx", (0, 1))]),
    _fixed_gate("ccx", 3, controlled(_X, 2), "Toffoli"),
    _fixed_gate("ccz", 3, controlled(_Z, 2), "doubly controlled Z", diagonal=True,
                libraries=(), definition=lambda: [("h", (2,)), ("ccx", (0, 1, 2)), ("h", (2,))]),
    _fixed_gate("cswap", 3, controlled(_SWAP), "Fredkin (controlled swap)"),
)
register_gate(
    alias("U", "u", (), "builtin generic single-qubit rotation"),
    alias("u3", "u", (STDGATES, QELIB1), "generic single-qubit rotation (IBM u3)"),
    alias("phase", "p", (STDGATES,), "phase gate (alias of p)"),
    alias("u1", "p", (STDGATES, QELIB1), "phase gate (IBM u1)"),
    alias("CX", "cx", (STDGATES,), "controlled X (OpenQASM 2 builtin)"),
    alias("cphase", "cp", (STDGATES,), "controlled phase (alias of cp)"),
    alias("cu1", "cp", (QELIB1,), "controlled phase (IBM cu1)"),
)


def includes(library: str) -> frozenset[str]:
    """The gate names an OpenQASM include file (``stdgates.inc``, ``qelib1.inc``) declares."""
    return frozenset(name for name, spec in GATES.items() if library in spec.libraries)


def definition_gates(name: str, params: Sequence[Expr]) -> list[DefinitionGate]:
    """The gates of ``name``'s definition for these parameters (none: no definition)."""
    definition = GATES[name].definition
    return list(definition(*params)) if definition is not None else []
