"""A quantum circuit: registers, symbolic parameters, and a body of operations."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .ops import Gate, Operation, walk

ROLES = ("input", "weight")


@dataclass(frozen=True)
class Register:
    name: str
    size: int


@dataclass(frozen=True)
class Param:
    """A symbolic argument of a circuit: data (``input``) or trainable (``weight``).

    Gate parameters refer to its elements as ``Symbol(name, index)``; ``shape == ()`` is a
    scalar. The role decides what a backend may differentiate and what hardware binds late.
    """

    name: str
    role: str
    shape: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))


@dataclass(frozen=True)
class Circuit:
    """Registers flatten in order: ``qregs[0]`` holds qubits ``0..size-1``, and so on."""

    name: str
    qregs: tuple[Register, ...]
    cregs: tuple[Register, ...] = ()
    params: tuple[Param, ...] = ()
    ops: tuple[Operation, ...] = ()

    def __post_init__(self):
        for attr in ("qregs", "cregs", "params", "ops"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))

    @property
    def num_qubits(self) -> int:
        return sum(r.size for r in self.qregs)

    @property
    def num_clbits(self) -> int:
        return sum(r.size for r in self.cregs)

    def with_ops(self, ops) -> Circuit:
        """The same circuit with a new body (how passes produce their result); itself when
        every operation is the same object, so an unchanged circuit stays the same object."""
        ops = tuple(ops)
        if len(ops) == len(self.ops) and all(a is b for a, b in zip(ops, self.ops)):
            return self
        return dataclasses.replace(self, ops=ops)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def qubit_name(self, index: int) -> str:
        return _bit_name(self.qregs, index)

    def clbit_name(self, index: int) -> str:
        return _bit_name(self.cregs, index)

    def gate_counts(self) -> dict[str, int]:
        """Operations by kind (gate name, or measure/reset/barrier/if/unitary), recursively."""
        counts: dict[str, int] = {}
        for op in walk(self.ops):
            key = op.name if isinstance(op, Gate) else type(op).__name__.lower()
            counts[key] = counts.get(key, 0) + 1
        return counts


def _bit_name(registers, index: int) -> str:
    offset = index
    for reg in registers:
        if offset < reg.size:
            return f"{reg.name}[{offset}]"
        offset -= reg.size
    raise IndexError(f"bit {index} is outside the registers")
