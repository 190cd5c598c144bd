"""What a pass is, and the registry that makes passes addressable by name.

A pass maps a :class:`~qcompile.ir.Program` to a program. Two kinds exist, as in Qiskit's
transpiler: *analysis* passes write facts into the property set (a plain dict handed along the
pipeline) and return the program unchanged; *transformation* passes return a new program.

Most transformations work on one circuit at a time, and many on one straight-line block of
operations at a time (a circuit body, or one branch of an if/else). :class:`CircuitPass` and
:class:`BlockPass` do that plumbing, so a pass implements only the rewrite itself.

Passes are registered under a name with :func:`register_pass`; their options are constructor
keyword arguments, so a pipeline string like ``merge-1q(basis=zsx)`` maps directly onto
``Merge1Q(basis="zsx")`` and a user's own pass needs no edit to this package. The built-in
passes are dataclasses whose fields are their options: each field's type and
:func:`option` bounds are checked when the pass is built, with one message per kind of
mistake, so no pass validates its options by hand.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, TypeVar

from ..ir import Circuit, Operation, Program, QCompileError
from ..ir.rewrite import rewrite_blocks

PropertySet = dict


def option(default, *, low: float | None = None, high: float | None = None,
           choices: Sequence | None = None):
    """A pass option: a dataclass field with its default and the values it accepts."""
    metadata = {"low": low, "high": high, "choices": None if choices is None else tuple(choices)}
    return dataclasses.field(default=default, metadata=metadata)


def _check_option(pass_name: str, field: dataclasses.Field, kind, value):
    """``value`` for the option, or a QCompileError saying what the option accepts."""
    allowed = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if value is None and type(None) in allowed:
        return value
    kinds = [typing.get_origin(k) or k for k in allowed if k is not type(None)]
    if len(kinds) > 1:  # e.g. ``Coupling | str``: a value of any of them, as it is
        if not isinstance(value, tuple(kinds)):
            raise QCompileError(f"{pass_name}: {field.name} must be one of "
                                f"{', '.join(k.__name__ for k in kinds)}, got {value!r}")
        return value
    kind = kinds[0]
    low, high, choices = (field.metadata.get(k) for k in ("low", "high", "choices"))

    def fail(expected: str):
        raise QCompileError(f"{pass_name}: {field.name} must be {expected}, got {value!r}")

    if kind is bool:
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if kind in (int, float):
        numeric = (int,) if kind is int else (int, float)
        noun = "an integer" if kind is int else "a number"
        if low is not None and high is not None:
            expected = f"{noun} from {low} to {high}"
        elif low == 1 and kind is int:
            expected = "a positive integer"
        elif low == 0:
            expected = f"a non-negative {noun.split()[-1]}"
        else:
            expected = noun + (f" of at least {low}" if low is not None else "")
        if (isinstance(value, bool) or not isinstance(value, numeric)
                or (low is not None and value < low) or (high is not None and value > high)):
            fail(expected)
        return kind(value)
    if choices is not None and value not in choices:
        raise QCompileError(f"{pass_name}: unknown {field.name} {value!r}; expected one of "
                            f"{', '.join(map(str, choices))}")
    if not isinstance(value, kind):
        fail(f"a {kind.__name__}")
    return value


@functools.cache
def _option_types(cls: type) -> dict[str, object]:
    """A pass class's resolved annotations (once per class: resolving the string annotations
    costs more than the rest of building a pass, and a preset builds a dozen per compile)."""
    return typing.get_type_hints(cls)


class Pass(ABC):
    """A named step of a pipeline; ``name`` and ``description`` are set by registration."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __post_init__(self):
        """Check every option of a dataclass pass against its type and :func:`option`."""
        hints = _option_types(type(self))
        for field in dataclasses.fields(self):
            value = _check_option(self.name or type(self).__name__, field, hints[field.name],
                                  getattr(self, field.name))
            object.__setattr__(self, field.name, value)

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
        ops = tuple(rewrite_blocks(circuit.ops, self.run_block,
                                   into_branches=self.recurse_into_blocks,
                                   outermost=self.run_outermost_block))
        # An equal body keeps the circuit object: later checks then see "unchanged" for free.
        return circuit if ops == circuit.ops else circuit.with_ops(ops)

    @abstractmethod
    def run_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        """Return the rewritten block."""

    def run_outermost_block(self, ops: tuple[Operation, ...]) -> list[Operation]:
        """The circuit body itself, where a rewrite may do more than inside a branch (leave
        wires permuted, say); by default the same as any block."""
        return self.run_block(ops)


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

