"""What a pass is, and the registry that makes passes addressable by name.

A pass maps a :class:`~qcompile.ir.Program` to a program. Two kinds exist, as in Qiskit's
transpiler: *analysis* passes write facts into the property set (a plain dict handed along the
pipeline) and return the program unchanged; *transformation* passes return a new program.

Most transformations work on one circuit at a time, and many on one straight-line block of
operations at a time (a circuit body, or one branch of an if/else). :class:`CircuitPass` and
:class:`BlockPass` do that plumbing, so a pass implements only the rewrite itself.

Passes are registered under a name with :func:`register_pass`; their options are constructor
keyword arguments, so a pipeline string like ``merge-1q(basis=zsx)`` maps directly onto
``Merge1Q(basis="zsx")`` and a user's own pass needs no edit to this package.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, TypeVar

from ..ir import Circuit, IfElse, Operation, Program, QCompileError

PropertySet = dict


class Pass(ABC):
    """A named step of a pipeline; ``name`` and ``description`` are set by registration."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @abstractmethod
    def run(self, program: Program, properties: PropertySet) -> Program:
        """Return the rewritten program (or the same one, for analysis passes)."""

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({options})"


class AnalysisPass(Pass):
    """Computes facts about a program into the property set; never changes the program."""

    def run(self, program: Program, properties: PropertySet) -> Program:
        self.analyze(program, properties)
        return program

    @abstractmethod
    def analyze(self, program: Program, properties: PropertySet) -> None:
        """Store results in ``properties`` under keys this pass documents."""


class CircuitPass(Pass):
    """A transformation applied to every circuit of the program independently."""

    def run(self, program: Program, properties: PropertySet) -> Program:
        return program.with_circuits(self.run_circuit(c) for c in program.circuits)

    @abstractmethod
    def run_circuit(self, circuit: Circuit) -> Circuit:
        """Return the rewritten circuit."""


class BlockPass(CircuitPass):
    """A rewrite of one straight-line block of operations.

    The framework applies :meth:`run_block` to the circuit body and, when
    ``recurse_into_blocks`` is true, first to both branches of every ``IfElse`` (innermost
    first), so a branch is optimized on its own and the enclosing block then sees the
    already-rewritten ``IfElse`` as one operation.
    """

    recurse_into_blocks: ClassVar[bool] = True

    def run_circuit(self, circuit: Circuit) -> Circuit:
        return circuit.with_ops(self._rewrite(circuit.ops))

    def _rewrite(self, ops: Sequence[Operation]) -> list[Operation]:
        if self.recurse_into_blocks:
            ops = [IfElse(op.condition, self._rewrite(op.then_body), self._rewrite(op.else_body))
                   if isinstance(op, IfElse) else op for op in ops]
        return self.run_block(tuple(ops))

    @abstractmethod
    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        """Return the rewritten block."""


# --- registry ------------------------------------------------------------------------------

_REGISTRY: dict[str, type[Pass]] = {}
_NAME = re.compile(r"[a-z][a-z0-9_]*(-[a-z0-9_]+)*")
P = TypeVar("P", bound=type[Pass])


def register_pass(name: str) -> Callable[[P], P]:
    """Class decorator: make a pass available under ``name`` in pipeline strings.

    The first line of the class docstring becomes its description in ``qcompile passes``.
    Registering a different class under a taken name is an error, so two plugins cannot
    silently shadow each other; re-registering the same class (a module reloaded) is fine.
    """
    if not _NAME.fullmatch(name):
        raise QCompileError(f"pass name {name!r} is not valid: use lowercase words joined by "
                            f"dashes, like 'cancel-inverses'")

    def decorate(cls: P) -> P:
        if not (isinstance(cls, type) and issubclass(cls, Pass)):
            raise QCompileError(f"cannot register {cls!r} as pass {name!r}: it is not a "
                                f"subclass of qcompile.passes.Pass")
        doc = (cls.__doc__ or "").strip()
        if not doc:
            raise QCompileError(f"pass {name!r} ({cls.__qualname__}) needs a docstring: its "
                                f"first line is the description users see")
        existing = _REGISTRY.get(name)
        if existing is not None and (existing.__module__, existing.__qualname__) != (
                cls.__module__, cls.__qualname__):
            raise QCompileError(f"pass name {name!r} is already taken by "
                                f"{existing.__module__}.{existing.__qualname__}")
        cls.name = name
        cls.description = doc.splitlines()[0].strip()
        _REGISTRY[name] = cls
        return cls

    return decorate


def pass_class(name: str) -> type[Pass] | None:
    """The pass class registered under ``name``, or None."""
    return _REGISTRY.get(name)


def available_passes() -> dict[str, str]:
    """Every registered pass name with its one-line description, sorted by name."""
    return {name: _REGISTRY[name].description for name in sorted(_REGISTRY)}


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``, ... if taken; the name is then taken."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def optional_positive_int(pass_name: str, option: str, value) -> int | None:
    """Validate an optional count option (``None`` means no limit)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 1):
        raise QCompileError(f"{pass_name}: {option} must be a positive integer, got {value!r}")
    return value
