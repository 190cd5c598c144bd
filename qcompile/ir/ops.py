"""Quantum operations: the instructions inside a circuit body.

Qubits and classical bits are flat integer indices into the circuit's registers. Every
operation is an immutable value, so passes build new lists instead of mutating shared ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Union

import numpy as np

from .expr import Const, Expr, as_expr, evaluate, fold, is_constant, symbols
from .gates import GATES, definition_gates, fixed_matrix
from .matrices import is_clifford_matrix


@dataclass(frozen=True)
class Gate:
    """A named gate from :data:`qcompile.ir.gates.GATES` with symbolic parameters."""

    name: str
    qubits: tuple[int, ...]
    params: tuple[Expr, ...] = ()

    def __post_init__(self):
        # Rewrites build many gates from another gate's tuples: those need no conversion.
        qubits, params = self.qubits, self.params
        if type(qubits) is not tuple or any(type(q) is not int for q in qubits):
            object.__setattr__(self, "qubits", tuple(int(q) for q in qubits))
        if type(params) is not tuple or any(not isinstance(p, Expr) for p in params):
            object.__setattr__(self, "params", tuple(as_expr(p) for p in params))

    def __getstate__(self) -> dict:
        """The gate's fields, without the caches: pickles and hashes of equal gates are
        equal whether or not a pass has asked them already."""
        return {k: v for k, v in self.__dict__.items() if k != "constant_params"}

    def inverse(self) -> Gate:
        spec = GATES[self.name]
        return Gate(spec.inverse_name, self.qubits, spec.inverse_params(self.params))

    @cached_property
    def constant_params(self) -> tuple[float, ...] | None:
        """The angles as numbers, or None when one depends on a symbol (cached: rewrites ask
        again and again of the same gate)."""
        if all(type(p) is Const for p in self.params):  # folded angles: the common case
            return tuple(p.value for p in self.params)
        if not all(is_constant(p) for p in self.params):
            return None
        return tuple(float(evaluate(p, {})) for p in self.params)

    def canonical(self) -> Gate:
        """The gate under its canonical name with every parameter folded: equal gates are then
        written equally, which structural comparisons need (``rx(t)`` against ``rx(-t)``)."""
        name = GATES[self.name].canonical
        if name == self.name and all(type(p) is Const for p in self.params):
            return self  # already so (most gates, most of the time)
        return Gate(name, self.qubits, tuple(fold(p) for p in self.params))

    def matrix(self, env: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The matrix for parameter values ``env`` (batched like them; see
        :func:`.expr.evaluate`); constant gates need none."""
        with np.errstate(all="ignore"):
            angles = [np.asarray(evaluate(p, env or {}), dtype=float) for p in self.params]
        return GATES[self.name].matrix(*angles)

    def definition(self) -> list[Gate]:
        """The gate as the gates of its library definition, on its qubits (exact, global
        phase included); empty when the library gives none."""
        return [Gate(name, tuple(self.qubits[q] for q in qubits), params)
                for name, qubits, *params in definition_gates(self.name, self.params)]


@dataclass(frozen=True, eq=False)
class Unitary:
    """An explicit unitary matrix on ``qubits`` (bit k of its index is ``qubits[k]``).

    Produced by fusion passes and by importers for gates with no symbolic form.
    """

    matrix: np.ndarray
    qubits: tuple[int, ...]
    label: str = "unitary"

    def __post_init__(self):
        object.__setattr__(self, "qubits", tuple(int(q) for q in self.qubits))
        matrix = np.array(self.matrix, dtype=complex)
        matrix.setflags(write=False)
        object.__setattr__(self, "matrix", matrix)

    def __eq__(self, other):
        return (isinstance(other, Unitary) and self.qubits == other.qubits
                and self.label == other.label and np.array_equal(self.matrix, other.matrix))

    def __hash__(self):
        return hash((self.qubits, self.label, self.matrix.tobytes()))

    def inverse(self) -> Unitary:
        return Unitary(self.matrix.conj().T, self.qubits, self.label)


@dataclass(frozen=True)
class Measure:
    """Measure ``qubit`` in the computational basis into classical bit ``clbit``."""

    qubit: int
    clbit: int


@dataclass(frozen=True)
class Reset:
    qubit: int


@dataclass(frozen=True)
class Barrier:
    """Blocks optimization across it; no effect on the state."""

    qubits: tuple[int, ...]

    def __post_init__(self):
        object.__setattr__(self, "qubits", tuple(int(q) for q in self.qubits))


@dataclass(frozen=True)
class SetBits:
    """Write the constant ``value`` into ``clbits`` (``clbits[0]`` least significant).

    The one classical write besides measurement: run-time classical computation (assignments,
    initial values, loops over measured data) lowers to these under if/else on the bits read.
    """

    clbits: tuple[int, ...]
    value: int

    def __post_init__(self):
        object.__setattr__(self, "clbits", tuple(int(c) for c in self.clbits))
        object.__setattr__(self, "value", int(self.value))


@dataclass(frozen=True)
class Condition:
    """True when the integer read from ``clbits`` (``clbits[0]`` least significant) equals
    ``value``. ``if (c[2])`` is ``Condition((2,), 1)``; ``if (c == 5)`` lists all of c."""

    clbits: tuple[int, ...]
    value: int

    def holds(self, bits) -> bool:
        return sum(int(bits[b]) << k for k, b in enumerate(self.clbits)) == self.value


@dataclass(frozen=True)
class IfElse:
    """Classically controlled blocks: feed-forward on measured bits."""

    condition: Condition
    then_body: tuple[Operation, ...]
    else_body: tuple[Operation, ...] = field(default=())

    def __post_init__(self):
        object.__setattr__(self, "then_body", tuple(self.then_body))
        object.__setattr__(self, "else_body", tuple(self.else_body))


Operation = Union[Gate, Unitary, Measure, Reset, Barrier, IfElse, SetBits]


def qubits_of(op: Operation) -> tuple[int, ...]:
    """Every qubit an operation touches, including inside conditional blocks."""
    if isinstance(op, (Gate, Unitary, Barrier)):
        return op.qubits
    if isinstance(op, (Measure, Reset)):
        return (op.qubit,)
    if isinstance(op, IfElse):
        seen: dict[int, None] = {}
        for inner in op.then_body + op.else_body:
            seen.update(dict.fromkeys(qubits_of(inner)))
        return tuple(seen)
    if isinstance(op, SetBits):
        return ()
    raise TypeError(f"not an operation: {op!r}")


def clbits_of(op: Operation) -> tuple[int, ...]:
    """Classical bits an operation reads or writes."""
    if isinstance(op, Measure):
        return (op.clbit,)
    if isinstance(op, SetBits):
        return op.clbits
    if isinstance(op, IfElse):
        seen = dict.fromkeys(op.condition.clbits)
        for inner in op.then_body + op.else_body:
            seen.update(dict.fromkeys(clbits_of(inner)))
        return tuple(seen)
    return ()


def walk(ops) -> Iterator[Operation]:
    """Every operation, descending into conditional blocks (pre-order)."""
    for op in ops:
        yield op
        if isinstance(op, IfElse):
            yield from walk(op.then_body)
            yield from walk(op.else_body)


def constant_params(gate: Gate) -> tuple[float, ...] | None:
    """The gate's angles as numbers, or None when one depends on a symbol."""
    return gate.constant_params


def constant_matrix(op: Operation) -> np.ndarray | None:
    """The matrix of a unitary, or of a gate whose angles are all constants (read-only);
    else None."""
    if isinstance(op, Unitary):
        return op.matrix
    values = constant_params(op) if isinstance(op, Gate) else None
    return None if values is None else fixed_matrix(op.name, values)


def is_diagonal(op: Gate | Unitary) -> bool:
    """Whether the operation's matrix is diagonal (for every parameter value)."""
    if isinstance(op, Gate):
        return GATES[op.name].diagonal
    matrix = op.matrix
    return bool(np.all(matrix == np.diag(np.diag(matrix))))


def is_clifford(op: Operation) -> bool:
    """Whether the operation is a constant Clifford unitary on at most three qubits (symbolic
    angles are not: a Clifford for some values only)."""
    if isinstance(op, Unitary):
        return len(op.qubits) <= 3 and is_clifford_matrix(op.matrix)
    values = constant_params(op) if isinstance(op, Gate) else None
    return values is not None and len(op.qubits) <= 3 and _clifford_gate(op.name, values)


@lru_cache(maxsize=4096)
def _clifford_gate(name: str, values: tuple[float, ...]) -> bool:
    return is_clifford_matrix(fixed_matrix(name, values))


def op_symbols(op: Operation):
    """Symbols appearing in an operation's parameters (recursively)."""
    found = set()
    for inner in walk((op,)):
        if isinstance(inner, Gate):
            for p in inner.params:
                found |= symbols(p)
    return found

