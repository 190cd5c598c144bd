"""Template blocks: named, parametrized groups of gates shared by the language and the builder.

A template is a function from symbolic tensors (numpy object arrays of
:class:`~qcompile.ir.expr.Expr`) and a tuple of qubits to a list of IR operations, so loops,
angles and conventions live in one place. ``TEMPLATES`` maps the name used in ``.qm`` files
(``zz_feature_map(x)``) and builder methods (``c.zz_feature_map(x)``) to its spec.

Conventions (little-endian: qubit ``qubits[k]`` is bit k of a basis-state index):

- ``angle_embedding(x, rotation=ry)``: ``R(x_k)`` on ``qubits[k]``.
- ``zz_feature_map(x, reps=1, entanglement=full)``: per repetition H on every qubit,
  ``p(2 x_k)``, then for each pair (i, j) ``cx · p(2 (pi - x_i)(pi - x_j)) · cx``. This is
  ``exp(-i sum_S phi_S Z_S)`` up to a global phase, exactly Qiskit's ``zz_feature_map``
  (Havlicek et al. write ``exp(+i ...)``: the same map with all phases conjugated).
- ``amplitude_embedding(x)``: the state ``x / |x|`` for any non-zero real vector of length
  ``2**n`` (signs included), as a tree of uniformly controlled RY rotations.
- ``hardware_efficient(theta, entangler=cx, entanglement=linear)``: ``theta[L, n, 2]``; L
  layers of ``ry(theta[l, k, 0])``, ``rz(theta[l, k, 1])`` separated by entanglers, i.e.
  Qiskit's ``efficient_su2(n, reps=L-1)``.
- ``strongly_entangling(theta)``: ``theta[L, n, 3]``; per layer ``rot`` on every qubit, then
  CNOTs ``(k, k + r_l mod n)`` with range ``r_l = l mod (n-1) + 1`` (PennyLane's layers).
- ``reupload(x, w, b, theta, rotation=rz)``: one qubit; ``rot(theta[0])`` then for each l
  ``R(w_l x + b_l)``, ``rot(theta[l+1])``: the DARUAN activation of QKAN.
- ``qcnn_conv(theta)``: ``theta[4]`` shared by every neighbour pair (even pairs, then odd
  pairs): ``ry(t0) a; ry(t1) b; cx a, b; ry(t2) a; ry(t3) b``.
- ``qcnn_pool(theta)``: measure-free pooling of qubit pairs (a, b): ``crz(t0) b, a; x b;
  crx(t1) b, a; x b``; the even positions a are kept, the odd positions b are discarded
  (never used again by the model, which is the caller's responsibility).

``rot(a, b, c)`` means ``rz(a)``, ``ry(b)``, ``rz(c)`` in that order (PennyLane's ``Rot``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..ir import QCompileError
from ..ir.expr import PI, Const, Expr, Unary, as_expr
from ..ir.ops import Gate, Operation

ROTATIONS = ("rx", "ry", "rz")
ENTANGLERS = ("cx", "cz")
ENTANGLEMENTS = ("linear", "circular", "full")

# Guards the RY-tree ratios against 0/0 on all-zero blocks, where any angle is right.
_TINY = Const(1e-300)
# The sign-aware leaf angle uses a chart rotated by one radian so its branch cut is not an
# axis: inputs with zeros or negative entries stay exact.
_CHART = 1.0


def as_tensor(value) -> np.ndarray:
    """An object array of :class:`Expr` from numbers, expressions or nested sequences."""
    array = np.array(value, dtype=object)
    tensor = np.empty(array.shape, dtype=object)
    for index, element in np.ndenumerate(array):
        try:
            tensor[index] = as_expr(element)
        except TypeError as err:
            raise QCompileError(f"expected numbers or parameter expressions: {err}") from None
    return tensor


@dataclass(frozen=True)
class Template:
    """A named gate block: positional tensor arguments, options with defaults, and the
    number of qubits it needs for given arguments (the default qubits are 0..width-1; None
    when it acts on whatever qubits it is given)."""

    name: str
    args: tuple[str, ...]
    options: Mapping[str, object]
    width: Callable[..., int]
    build: Callable[..., list[Operation]]
    description: str = field(default="")


def apply_template(name: str, args: Sequence, options: Mapping[str, object] | None = None,
                   qubits: Sequence[int] | None = None) -> list[Operation]:
    """Expand template ``name`` on ``qubits`` (default ``0..width-1``)."""
    spec = TEMPLATES.get(name)
    if spec is None:
        raise QCompileError(f"unknown template {name!r}; known templates: "
                            f"{', '.join(sorted(TEMPLATES))}")
    if len(args) != len(spec.args):
        raise QCompileError(f"template {name!r} takes {len(spec.args)} argument(s) "
                            f"({', '.join(spec.args)}), got {len(args)}")
    unknown = set(options or {}) - set(spec.options)
    if unknown:
        allowed = ", ".join(spec.options) or "none"
        raise QCompileError(f"template {name!r} has no option {sorted(unknown)[0]!r} "
                            f"(options: {allowed})")
    chosen = {**spec.options, **(options or {})}
    tensors = [as_tensor(a) for a in args]
    width = spec.width(*tensors)
    if width is None and qubits is None:
        raise QCompileError(f"template {name!r} needs explicit qubits, e.g. "
                            f"{name}(theta) q[0], q[1], q[2], q[3]")
    qubits = tuple(range(width)) if qubits is None else tuple(int(q) for q in qubits)
    if width is not None and len(qubits) != width:
        raise QCompileError(f"template {name!r} acts on {width} qubit(s) for these arguments, "
                            f"got {len(qubits)}")
    return spec.build(*tensors, qubits, **chosen)


# --- argument checks -----------------------------------------------------------------------

def _shape(name: str, arg: str, tensor: np.ndarray, rank: int) -> tuple[int, ...]:
    if tensor.ndim != rank:
        raise QCompileError(f"template {name!r}: argument {arg!r} must have {rank} "
                            f"dimension(s), got shape {list(tensor.shape)}")
    return tensor.shape


def _choice(name: str, option: str, value, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise QCompileError(f"template {name!r}: option {option}={value} must be one of "
                            f"{', '.join(allowed)}")
    return value


def _count(name: str, option: str, value) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < 1:
        raise QCompileError(f"template {name!r}: option {option}={value} must be a positive "
                            f"integer")
    return int(value)


def pairs(qubits: Sequence[int], entanglement: str) -> list[tuple[int, int]]:
    """Entangling pairs in Qiskit's order: linear (k, k+1); circular adds (n-1, 0) first;
    full is every i < j."""
    n = len(qubits)
    if entanglement == "full":
        chosen = list(itertools.combinations(range(n), 2))
    else:
        chosen = [(k, k + 1) for k in range(n - 1)]
        if entanglement == "circular" and n > 2:
            chosen.insert(0, (n - 1, 0))
    return [(qubits[a], qubits[b]) for a, b in chosen]


def rot(angles: Sequence[Expr], qubit: int) -> list[Gate]:
    """``rz(a) ry(b) rz(c)``: a general single-qubit rotation (PennyLane ``Rot``)."""
    a, b, c = angles
    return [Gate("rz", (qubit,), (a,)), Gate("ry", (qubit,), (b,)), Gate("rz", (qubit,), (c,))]


# --- templates -----------------------------------------------------------------------------

def _angle_embedding(x, qubits, rotation):
    _choice("angle_embedding", "rotation", rotation, ROTATIONS)
    return [Gate(rotation, (q,), (angle,)) for q, angle in zip(qubits, x)]


def _zz_feature_map(x, qubits, reps, entanglement):
    _choice("zz_feature_map", "entanglement", entanglement, ENTANGLEMENTS)
    index = {q: k for k, q in enumerate(qubits)}
    ops: list[Operation] = []
    for _ in range(_count("zz_feature_map", "reps", reps)):
        ops += [Gate("h", (q,)) for q in qubits]
        ops += [Gate("p", (q,), (2.0 * x[k],)) for k, q in enumerate(qubits)]
        for a, b in pairs(qubits, entanglement):
            phi = (PI - x[index[a]]) * (PI - x[index[b]])
            ops += [Gate("cx", (a, b)), Gate("p", (b,), (2.0 * phi,)), Gate("cx", (a, b))]
    return ops


def _amplitude_width(x):
    (n,) = _shape("amplitude_embedding", "x", x, 1)
    if n < 2 or n & (n - 1):
        raise QCompileError(f"template 'amplitude_embedding': the vector length must be a "
                            f"power of two (at least 2), got {n}")
    return n.bit_length() - 1


def _amplitude_embedding(x, qubits):
    """RY tree: level j splits each block of 2**(j+1) amplitudes (fixed by the qubits above
    j) into its halves; the leaf level carries the signs."""
    n = len(qubits)
    squares = [a * a for a in x]
    ops: list[Operation] = []
    for j in reversed(range(n)):
        half = 2 ** j
        angles = []
        for start in range(0, 2 ** n, 2 * half):
            if j == 0:
                angles.append(_signed_leaf_angle(x[start], x[start + 1]))
                continue
            left = Unary("sqrt", _total(squares[start:start + half]))
            right = Unary("sqrt", _total(squares[start + half:start + 2 * half]))
            norm = Unary("sqrt", _total(squares[start:start + 2 * half]))
            # RY(t)|0> = cos(t/2)|0> + sin(t/2)|1> with t/2 = atan2(right, left)
            angles.append(4.0 * Unary("arctan", right / (norm + left + _TINY)))
        ops += uniformly_controlled_ry(angles, [qubits[k] for k in range(j + 1, n)], qubits[j])
    return ops


def _total(terms):
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _signed_leaf_angle(a: Expr, b: Expr) -> Expr:
    """t with (cos t/2, sin t/2) = (a, b) / r for real a, b of any sign: t/2 = atan2(b, a),
    computed as c + 2 arctan(b' / (r + a')) in coordinates rotated by c."""
    c, s = math.cos(_CHART), math.sin(_CHART)
    a_rot, b_rot = c * a + s * b, c * b - s * a
    r = Unary("sqrt", a * a + b * b)
    return 2.0 * (_CHART + 2.0 * Unary("arctan", b_rot / (r + a_rot + _TINY)))


def uniformly_controlled_ry(angles: Sequence[Expr], controls: Sequence[int],
                            target: int) -> list[Gate]:
    """RY(angles[m]) on ``target`` when the controls read m (``controls[0]`` least
    significant), with 2**k RY and CX gates (Mottonen et al.): split on the last control,
    RY((t0 + t1)/2) · CX · RY((t0 - t1)/2) · CX, since X RY(t) X = RY(-t)."""
    if not controls:
        return [Gate("ry", (target,), (angles[0],))]
    half = len(angles) // 2
    low, high = angles[:half], angles[half:]
    rest, last = controls[:-1], controls[-1]
    return (uniformly_controlled_ry([(a + b) / 2.0 for a, b in zip(low, high)], rest, target)
            + [Gate("cx", (last, target))]
            + uniformly_controlled_ry([(a - b) / 2.0 for a, b in zip(low, high)], rest, target)
            + [Gate("cx", (last, target))])


def _layers_width(name, per_qubit):
    def width(theta):
        shape = _shape(name, "theta", theta, 3)
        if shape[2] != per_qubit:
            raise QCompileError(f"template {name!r}: theta must have shape [layers, qubits, "
                                f"{per_qubit}], got {list(shape)}")
        return shape[1]
    return width


def _hardware_efficient(theta, qubits, entangler, entanglement):
    _choice("hardware_efficient", "entangler", entangler, ENTANGLERS)
    _choice("hardware_efficient", "entanglement", entanglement, ENTANGLEMENTS)
    ops: list[Operation] = []
    for layer, angles in enumerate(theta):
        if layer:
            ops += [Gate(entangler, pair) for pair in pairs(qubits, entanglement)]
        ops += [Gate("ry", (q,), (angles[k, 0],)) for k, q in enumerate(qubits)]
        ops += [Gate("rz", (q,), (angles[k, 1],)) for k, q in enumerate(qubits)]
    return ops


def _strongly_entangling(theta, qubits):
    n = len(qubits)
    ops: list[Operation] = []
    for layer, angles in enumerate(theta):
        for k, q in enumerate(qubits):
            ops += rot(angles[k], q)
        if n > 1:
            r = layer % (n - 1) + 1
            ops += [Gate("cx", (qubits[k], qubits[(k + r) % n])) for k in range(n)]
    return ops


def _reupload_width(x, w, b, theta):
    if x.ndim != 0:
        raise QCompileError(f"template 'reupload': x must be a scalar, got shape "
                            f"{list(x.shape)}")
    (layers,) = _shape("reupload", "w", w, 1)
    if b.shape != (layers,) or theta.shape != (layers + 1, 3):
        raise QCompileError(f"template 'reupload': with w of shape [{layers}], b must have "
                            f"shape [{layers}] and theta [{layers + 1}, 3]; got "
                            f"{list(b.shape)} and {list(theta.shape)}")
    return 1


def _reupload(x, w, b, theta, qubits, rotation):
    _choice("reupload", "rotation", rotation, ROTATIONS)
    (q,) = qubits
    ops = rot(theta[0], q)
    for layer in range(len(w)):
        ops.append(Gate(rotation, (q,), (w[layer] * x.item() + b[layer],)))
        ops += rot(theta[layer + 1], q)
    return ops


def _vector_width(name, arg, size=None):
    def width(tensor):
        (n,) = _shape(name, arg, tensor, 1)
        if size is not None and n != size:
            raise QCompileError(f"template {name!r}: {arg} must have shape [{size}], got "
                                f"[{n}]")
        return n
    return width


def _qcnn_conv(theta, qubits):
    ops: list[Operation] = []
    for first in (0, 1):
        for a, b in zip(qubits[first::2], qubits[first + 1::2]):
            ops += [Gate("ry", (a,), (theta[0],)), Gate("ry", (b,), (theta[1],)),
                    Gate("cx", (a, b)),
                    Gate("ry", (a,), (theta[2],)), Gate("ry", (b,), (theta[3],))]
    return ops


def _qcnn_pool(theta, qubits):
    if len(qubits) % 2:
        raise QCompileError(f"template 'qcnn_pool' pools qubit pairs; got {len(qubits)} "
                            f"qubits")
    ops: list[Operation] = []
    for keep, drop in zip(qubits[0::2], qubits[1::2]):
        ops += [Gate("crz", (drop, keep), (theta[0],)), Gate("x", (drop,)),
                Gate("crx", (drop, keep), (theta[1],)), Gate("x", (drop,))]
    return ops


def _block(angles, a: int, b: int) -> list[Operation]:
    """The tensor-network block (Huggins et al. 2019): ry on both qubits, then cx."""
    return [Gate("ry", (a,), (angles[0],)), Gate("ry", (b,), (angles[1],)), Gate("cx", (a, b))]


def _network_width(name):
    def width(theta):
        shape = _shape(name, "theta", theta, 2)
        if shape[1] != 2:
            raise QCompileError(f"template {name!r}: theta must have shape [blocks, 2] (one "
                                f"block per qubit but one), got {list(shape)}")
        return shape[0] + 1
    return width


def _mps(theta, qubits):
    """Blocks down the chain: (0, 1), (1, 2), ..., the last qubit carrying the readout."""
    return [op for k in range(len(qubits) - 1)
            for op in _block(theta[k], qubits[k], qubits[k + 1])]


def _ttn(theta, qubits):
    """A binary tree of blocks: pairs (0, 1), (2, 3), ... then the right qubit of each pair
    with the next, level by level, until the last qubit holds the root."""
    n = len(qubits)
    if n & (n - 1):
        raise QCompileError(f"template 'ttn' needs a power of two qubits, got {n}")
    ops: list[Operation] = []
    level, k = list(qubits), 0
    while len(level) > 1:
        for a, b in zip(level[0::2], level[1::2]):
            ops += _block(theta[k], a, b)
            k += 1
        level = level[1::2]
    return ops


class _ExplicitQubits:
    """Width of templates that act on whatever qubits they are given."""

    def __init__(self, name, size):
        self.name, self.size = name, size

    def __call__(self, theta):
        _vector_width(self.name, "theta", self.size)(theta)
        return None


TEMPLATES: dict[str, Template] = {t.name: t for t in [
    Template("angle_embedding", ("x",), {"rotation": "ry"},
             _vector_width("angle_embedding", "x"), _angle_embedding,
             "R(x_k) on qubit k"),
    Template("zz_feature_map", ("x",), {"reps": 1, "entanglement": "full"},
             _vector_width("zz_feature_map", "x"), _zz_feature_map,
             "Havlicek ZZ feature map (Qiskit's zz_feature_map)"),
    Template("amplitude_embedding", ("x",), {}, _amplitude_width, _amplitude_embedding,
             "the state x/|x| of a real vector of length 2**n"),
    Template("hardware_efficient", ("theta",), {"entangler": "cx", "entanglement": "linear"},
             _layers_width("hardware_efficient", 2), _hardware_efficient,
             "RY/RZ layers separated by CX/CZ entanglers (EfficientSU2)"),
    Template("strongly_entangling", ("theta",), {},
             _layers_width("strongly_entangling", 3), _strongly_entangling,
             "Rot layers with ranged CNOTs (PennyLane StronglyEntanglingLayers)"),
    Template("reupload", ("x", "w", "b", "theta"), {"rotation": "rz"}, _reupload_width,
             _reupload, "single-qubit data re-uploading (DARUAN)"),
    Template("qcnn_conv", ("theta",), {}, _ExplicitQubits("qcnn_conv", 4), _qcnn_conv,
             "QCNN convolution: a shared 2-qubit block on neighbour pairs"),
    Template("qcnn_pool", ("theta",), {}, _ExplicitQubits("qcnn_pool", 2), _qcnn_pool,
             "QCNN pooling by controlled rotations; odd positions are discarded"),
    Template("mps", ("theta",), {}, _network_width("mps"), _mps,
             "matrix-product-state ansatz: ry-ry-cx blocks down the chain"),
    Template("ttn", ("theta",), {}, _network_width("ttn"), _ttn,
             "tree-tensor-network ansatz: ry-ry-cx blocks on a binary tree"),
]}
