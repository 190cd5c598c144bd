"""A hybrid program: circuits plus the classical dataflow that feeds and reads them.

The body is in SSA form: each statement defines one named value from earlier ones. Program
inputs (data, with an implicit leading batch axis) and weights (shared across the batch,
trainable unless frozen) are values too. A :class:`QuantumCall` binds a circuit's
parameters to values and names what to read out; a :class:`TensorOp` is one classical
operation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Union

from .circuit import Circuit

PAULIS = "IXYZ"


@dataclass(frozen=True)
class TensorDecl:
    """A declared program input or weight with its per-sample shape.

    ``trainable`` only means something for weights: a frozen weight (``False``) is bound at
    run time like any weight but is not trained, so gradients leave it out (fixed random
    layers, reservoirs). Inputs are data and are never trained.
    """

    name: str
    shape: tuple[int, ...] = ()
    trainable: bool = True

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))


@dataclass(frozen=True)
class PauliTerm:
    """``coeff * P_{q0} P_{q1} ...``; qubits not listed carry the identity."""

    coeff: float
    paulis: tuple[tuple[int, str], ...]

    def __post_init__(self):
        object.__setattr__(self, "coeff", float(self.coeff))
        object.__setattr__(self, "paulis", tuple(sorted((int(q), p) for q, p in self.paulis)))

    def masks(self) -> tuple[int, int, complex]:
        """The string as simulators apply it: the bits it flips (X, Y), the bits whose value
        gives a sign (Y, Z), and the phase i**(number of Y). P maps |i> to
        phase · (-1)**parity(i & sign) |i ^ flip>."""
        flip = sum(1 << q for q, p in self.paulis if p in "XY")
        sign = sum(1 << q for q, p in self.paulis if p in "YZ")
        return flip, sign, 1j ** sum(p == "Y" for _, p in self.paulis)


PauliSum = tuple[PauliTerm, ...]


@dataclass(frozen=True)
class ExpVal:
    """Expectation values of Pauli sums; the result has shape ``[len(observables)]``."""

    observables: tuple[PauliSum, ...]


@dataclass(frozen=True)
class Probs:
    """Probabilities of the basis states of ``qubits`` (all qubits when empty);
    result shape ``[2**k]``, index bit j is ``qubits[j]``."""

    qubits: tuple[int, ...] = ()


@dataclass(frozen=True)
class Counts:
    """Sampled histogram over the classical bits (or all qubits when the circuit has no
    measurement); result shape ``[2**k]``, reproducible for a given seed."""

    shots: int


@dataclass(frozen=True)
class State:
    """The final statevector, shape ``[2**n]`` (complex)."""


Output = Union[ExpVal, Probs, Counts, State]


@dataclass(frozen=True)
class QuantumCall:
    """``result = call circuit(param=value, ...) -> output``."""

    result: str
    circuit: str
    args: tuple[tuple[str, str], ...]
    output: Output


@dataclass(frozen=True)
class TensorOp:
    """``result = op(operands...) {attrs}``, one of :data:`tensor_ops.TENSOR_OPS`."""

    result: str
    op: str
    operands: tuple[str, ...]
    attrs: tuple[tuple[str, object], ...] = ()

    @property
    def attr_dict(self) -> dict:
        return dict(self.attrs)


Statement = Union[QuantumCall, TensorOp]


@dataclass(frozen=True)
class Program:
    """The unit every frontend produces, every pass maps, and every backend consumes."""

    inputs: tuple[TensorDecl, ...] = ()
    weights: tuple[TensorDecl, ...] = ()
    circuits: tuple[Circuit, ...] = ()
    body: tuple[Statement, ...] = ()
    outputs: tuple[str, ...] = ()
    name: str = "main"
    metadata: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self):
        for attr in ("inputs", "weights", "circuits", "body", "outputs"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))

    def circuit(self, name: str) -> Circuit:
        for c in self.circuits:
            if c.name == name:
                return c
        raise KeyError(name)

    def with_circuits(self, circuits) -> Program:
        """The program with new circuits; itself when every circuit is the same object (so
        that "nothing changed" costs no comparison)."""
        circuits = tuple(circuits)
        if _same_objects(circuits, self.circuits):
            return self
        return dataclasses.replace(self, circuits=circuits)

    @classmethod
    def from_circuit(cls, circuit: Circuit, output: Output | None = None) -> Program:
        """Wrap a bare circuit (e.g. from OpenQASM): its parameters become program inputs
        and weights, and one call reads ``output`` (default: the statevector)."""
        inputs = [TensorDecl(p.name, p.shape) for p in circuit.params if p.role == "input"]
        weights = [TensorDecl(p.name, p.shape) for p in circuit.params if p.role == "weight"]
        args = tuple((p.name, p.name) for p in circuit.params)
        call = QuantumCall("out", circuit.name, args, output or State())
        return cls(inputs, weights, (circuit,), (call,), ("out",), name=circuit.name)


def _same_objects(new, old) -> bool:
    return len(new) == len(old) and all(a is b for a, b in zip(new, old))
