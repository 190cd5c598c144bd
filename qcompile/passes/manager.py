"""The pass manager: run a pipeline of passes, verify after each, and report what changed.

A pipeline is a list of pass instances, or a string of registered names with options, such as
``"canonicalize,cancel-inverses,merge-1q(basis=zsx)"``; the presets ``-O0`` .. ``-O3`` are
ready-made pipelines. After every pass the program is verified, so a broken rewrite is
reported by the pass that made it, and per-pass wall time and before/after statistics are
recorded for the CLI's table.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, UnexpectedToken

from ..ir import GATES, Program, QCompileError, SourceLocation, VerificationError
from ..ir import verify_circuit, verify_program
from ..ir.allocation import fewer_collections
from .base import Pass, PropertySet, available_passes, pass_class
from .cancel_inverses import CancelInverses
from .canonicalize import Canonicalize
from .commute_cancel import CommuteCancel
from .coupling import Coupling
from .elide_permutations import ElidePermutations
from .kernel_circuits import KernelCircuits
from .lift_measurements import LiftMeasurements
from .merge_1q import Merge1Q, euler_basis_within
from .resynthesize_2q import Resynthesize2Q
from .resynthesize_clifford import ResynthesizeClifford
from .reuse_qubits import ReuseQubits
from .route import FixDirection, Route
from .stats import CircuitStats, program_stats
from .translate_basis import TranslateBasis, parse_basis

@dataclass(frozen=True)
class FixedPoint:
    """Repeat ``passes`` in order until they leave the program unchanged or a whole round
    makes it no smaller (fewer two-qubit gates, gates, less depth).

    Rewrites feed each other (merging single-qubit runs exposes inverse pairs and vice
    versa); a round that only rewrites equally large circuits ends the loop, and
    ``max_rounds`` guards against a pass that never settles.
    """

    passes: tuple[Pass, ...]
    max_rounds: int = 20

    def __post_init__(self):
        object.__setattr__(self, "passes", tuple(self.passes))


Step = Pass | FixedPoint


# --- pipeline strings ----------------------------------------------------------------------

_GRAMMAR = r"""
    start: [entry ("," entry)*]
    entry: NAME options?
    options: "(" [option ("," option)*] ")"
    option: NAME "=" VALUE
    NAME: /[A-Za-z_][A-Za-z0-9_-]*/
    VALUE: /"[^"]*"|'[^']*'|[^\s,()="']+/
    %ignore /\s+/
"""


@cache
def _parser() -> Lark:
    """The pipeline parser, built when a pipeline string is first parsed."""
    return Lark(_GRAMMAR, parser="lalr")


def _option_value(token: Token) -> object:
    """``"text"``/``'text'`` → str, true/false → bool, then int, float, else the bare word."""
    text = str(token)
    if text[0] in "\"'":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


@v_args(inline=True)
class _ToEntries(Transformer):
    def start(self, *entries):
        return [e for e in entries if e is not None]

    def entry(self, name, options=None):
        return name, options or []

    def options(self, *options):
        return [o for o in options if o is not None]

    def option(self, key, value):
        return key, value


def parse_pipeline(text: str) -> list[Pass]:
    """Build pass instances from ``"name(key=value, ...),name,..."``.

    Raises :class:`QCompileError` pointing at the column of a syntax error, an unknown pass
    name, an unknown option, or an option value the pass rejects.
    """
    def where(column: int) -> SourceLocation:
        return SourceLocation("<pipeline>", 1, column, text)

    try:
        entries = _ToEntries().transform(_parser().parse(text))
    except UnexpectedInput as err:
        at_end = isinstance(err, UnexpectedToken) and err.token.type == "$END"
        column = len(text) + 1 if at_end or err.column < 1 else err.column
        raise QCompileError(f"cannot parse pipeline at column {column}: expected "
                            f"'name' or 'name(key=value, ...)' separated by commas",
                            where(column)) from None
    return [_instantiate(name, options, where) for name, options in entries]


def _instantiate(name: Token, options, where) -> Pass:
    cls = pass_class(str(name))
    if cls is None:
        raise QCompileError(f"unknown pass {str(name)!r} at column {name.column} of the "
                            f"pipeline; available passes: {', '.join(available_passes())}",
                            where(name.column))
    accepted = _option_names(cls)
    kwargs: dict[str, object] = {}
    for key, value in options:
        if key in kwargs:
            raise QCompileError(f"option {str(key)!r} of pass {cls.name!r} is given twice "
                                f"(column {key.column})", where(key.column))
        if accepted is not None and key not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            raise QCompileError(f"pass {cls.name!r} has no option {str(key)!r} (column "
                                f"{key.column}); its options: {known}", where(key.column))
        kwargs[str(key)] = _option_value(value)
    try:
        return cls(**kwargs)
    except QCompileError as err:
        raise QCompileError(f"{err.message} (pass {cls.name!r} at column {name.column})",
                            where(name.column)) from None
    except (TypeError, ValueError) as err:
        raise QCompileError(f"bad options for pass {cls.name!r} at column {name.column}: "
                            f"{err}", where(name.column)) from None


def _option_names(cls: type[Pass]) -> set[str] | None:
    """Keyword arguments the pass constructor takes (None: it takes any)."""
    params = list(inspect.signature(cls).parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


# --- report --------------------------------------------------------------------------------

class Figures:
    """Statistics per program, each computed once when first asked for — by identity:
    programs are immutable, and hashing one costs as much as counting it."""

    def __init__(self):
        self._memo: dict[int, tuple[Program, dict[str, CircuitStats]]] = {}

    def __call__(self, program: Program) -> dict[str, CircuitStats]:
        hit = self._memo.get(id(program))
        if hit is None or hit[0] is not program:
            hit = self._memo[id(program)] = (program, program_stats(program))
        return hit[1]

    def size(self, program: Program) -> tuple[int, int, int]:
        totals = _totals(self(program))
        return totals["two_qubit_gates"], totals["gates"], totals["depth"]


class PassRecord:
    """One execution of one pass: how long it took and the statistics around it (computed
    when first read: a fixed-point loop runs many passes whose figures nobody asks for)."""

    def __init__(self, name: str, seconds: float, before: Program, after: Program,
                 round_: int = 0, figures: Figures | None = None):
        self.name, self.seconds = name, seconds
        #: 1, 2, ... for passes inside a fixed-point loop; 0 otherwise
        self.round = round_
        self._programs = (before, after)
        self._figures = figures or Figures()

    @property
    def before(self) -> dict[str, CircuitStats]:
        return self._figures(self._programs[0])

    @property
    def after(self) -> dict[str, CircuitStats]:
        return self._figures(self._programs[1])


def _totals(stats: dict[str, CircuitStats]) -> dict[str, int]:
    """Whole-program figures: counts add up over circuits, depth and width are maxima."""
    values = stats.values()
    return {"gates": sum(s.gates for s in values),
            "two_qubit_gates": sum(s.two_qubit_gates for s in values),
            "depth": max((s.depth for s in values), default=0),
            "width": max((s.width for s in values), default=0)}


@dataclass
class PassReport:
    records: list[PassRecord] = field(default_factory=list)

    def rows(self) -> list[dict[str, object]]:
        """Plain data, one dict per pass execution: pass, round, seconds and
        ``<measure>_before`` / ``<measure>_after`` for gates, two_qubit_gates, depth, width."""
        rows = []
        for record in self.records:
            row: dict[str, object] = {"pass": record.name, "round": record.round,
                                      "seconds": record.seconds}
            for when, stats in (("before", record.before), ("after", record.after)):
                row.update({f"{k}_{when}": v for k, v in _totals(stats).items()})
            rows.append(row)
        return rows


# --- the manager ---------------------------------------------------------------------------

class PassManager:
    """Runs a pipeline of passes over a program.

    ``print_after`` names passes after which ``printer(pass name, program)`` is called (the
    CLI prints the textual IR there). After :meth:`run`, ``report`` holds a
    :class:`PassReport` and ``properties`` the property set the passes filled.
    """

    def __init__(self, passes: Sequence[Step] | str = (), *,
                 print_after: Collection[str] = (),
                 printer: Callable[[str, Program], None] | None = None,
                 verify: bool = True):
        self.steps: list[Step] = parse_pipeline(passes) if isinstance(passes, str) else list(
            passes)
        unknown = sorted(set(print_after) - set(available_passes()))
        if unknown:
            raise QCompileError(f"cannot print after unknown pass {unknown[0]!r}; available "
                                f"passes: {', '.join(available_passes())}")
        if print_after and printer is None:
            raise ValueError("print_after needs a printer callback")
        self.print_after = frozenset(print_after)
        self.printer = printer
        self.verify = verify
        self.report = PassReport()
        self.figures = Figures()
        self.properties: PropertySet = {}

    def run(self, program: Program, properties: PropertySet | None = None) -> Program:
        with fewer_collections():
            return self._run(program, properties)

    def _run(self, program: Program, properties: PropertySet | None) -> Program:
        self.report = PassReport()
        self.figures = Figures()
        self.properties = {} if properties is None else properties
        if self.verify:
            _verify(program, None, "in the input program, before any pass")
        for step in self.steps:
            if isinstance(step, FixedPoint):
                program = self._run_fixed_point(step, program)
            else:
                program = self._run_pass(step, program)
        return program

    def _run_fixed_point(self, loop: FixedPoint, program: Program) -> Program:
        # Passes are idempotent, so once every other pass has left the program unchanged
        # since one last changed it, running that one again would change nothing either.
        quiet, last = 0, len(loop.passes) - 1
        for round_ in range(1, loop.max_rounds + 1):
            size = self.figures.size(program)
            for index, step in enumerate(loop.passes):
                result = self._run_pass(step, program, round_)
                quiet, program = (quiet + 1 if result is program else 0), result
                if quiet >= last and (round_ > 1 or index == last):
                    return program
            if self.figures.size(program) >= size:
                break
        return program

    def _run_pass(self, step: Pass, program: Program, round_: int = 0) -> Program:
        before = program
        start = time.perf_counter()
        program = step.run(program, self.properties)
        seconds = time.perf_counter() - start
        if self.verify:
            _verify(program, before, f"after pass {step.name or type(step).__name__!r}")
        self.report.records.append(
            PassRecord(step.name, seconds, before, program, round_, self.figures))
        if step.name in self.print_after:
            self.printer(step.name, program)
        return program


def _verify(program: Program, before: Program | None, when: str) -> None:
    """Verify what changed since ``before``: circuits that are new objects, and the
    dataflow (cheap) — a pass that returns a circuit unchanged returns the same object."""
    if program is before:
        return
    try:
        unchanged = {id(c) for c in before.circuits} if before is not None else set()
        for circuit in program.circuits:
            if id(circuit) not in unchanged:
                verify_circuit(circuit)
        verify_program(program, bodies=False)
    except VerificationError as err:
        raise VerificationError(f"{when}: {err.message}") from None


def preset(level: int, *, basis: str | tuple[str, ...] | None = None,
           coupling: str | Coupling | None = None, seed: int | None = None,
           max_qubits: int | None = None, **options) -> PassManager:
    """The -O<level> pipeline, optionally within a width budget and lowered to a target;
    ``options`` go to :class:`PassManager`.

    O0 does nothing; O1 canonicalizes and cancels adjacent inverse pairs; O2 then repeats
    commutation-aware cancellation and rotation merging, single-qubit resynthesis and
    cancel-inverses until nothing changes; O3 first elides swaps (outputs follow the qubits)
    and adds two-qubit block resynthesis to that loop.
    With ``max_qubits``, the optimized program then lifts measurements and reuses qubits
    until every circuit is that narrow (an error names the width reached if one cannot be).
    With a ``basis`` (gate names) and/or a ``coupling`` map, fidelity kernels first become
    compute-uncompute circuits (``kernel-circuits``: hardware has no statevector), then the
    program is translated into the basis (default cx, rz, sx, x), routed with Sabre (``seed``),
    optimized again in the basis — two-qubit blocks resynthesized with the basis' two-qubit
    gate, single-qubit runs in an Euler basis made of its gates — and translated once more,
    so that every gate is a basis gate on a coupled pair in an allowed direction.
    """
    if level not in (0, 1, 2, 3):
        raise QCompileError(f"optimization level must be 0, 1, 2 or 3, got {level!r}")
    width: list[Step] = [] if max_qubits is None else [LiftMeasurements(),
                                                       ReuseQubits(max_width=max_qubits)]
    if basis is None and coupling is None:
        return PassManager(_optimization(level) + width, **options)
    # Hardware has no statevector: fidelity kernels become circuits read by probs first.
    # Gates are counted in the basis' terms only after translation, so the heavy
    # optimization runs there; before it, only rewrites that never add gates.
    steps = [KernelCircuits()] + _optimization(min(level, 1)) + (
        [CommuteCancel()] if level >= 2 else [])
    steps += [ElidePermutations()] if level >= 3 else []
    steps += width + _lowering(level, parse_basis(basis or DEFAULT_BASIS), coupling, seed)
    return PassManager(steps, **options)


#: The basis a coupling map alone is lowered to (IBM's).
DEFAULT_BASIS = ("cx", "rz", "sx", "x")


def _optimization(level: int, two_qubit: str = "cx", euler: str | None = "u", *,
                  routed: bool = False) -> list[Step]:
    """The -O<level> rewrites; on a ``routed`` circuit none that moves qubits (swaps are
    needed there) or writes gates on pairs the circuit did not use (Clifford synthesis)."""
    # From -O2 on, commute-cancel finds every pair cancel-inverses would, and more.
    steps: list[Step] = []
    if level >= 1:
        steps += [Canonicalize()] + ([CancelInverses()] if level == 1 else [])
    if level >= 3 and not routed:
        steps.append(ElidePermutations())
    if level >= 2:
        loop: list[Pass] = [CommuteCancel()]
        if level >= 3:
            loop += [] if routed else [ResynthesizeClifford(absorb_swaps=True)]
            loop.append(Resynthesize2Q(gate=two_qubit, basis=euler or "u",
                                       absorb_swaps=not routed))
            loop += [] if routed else [ElidePermutations()]
        if euler is not None:
            loop.append(Merge1Q(basis=euler))
        steps.append(FixedPoint(tuple(loop)))
    return steps


def _lowering(level: int, basis: tuple[str, ...], coupling, seed) -> list[Step]:
    """Translate into ``basis`` and optimize there; with a ``coupling`` map, route, optimize
    the routed circuit again and fix directions; translate what resynthesis wrote outside
    the basis."""
    translate = TranslateBasis(basis=",".join(basis))
    fixed = [g for g in basis if GATES[g].num_qubits == 2 and not GATES[g].num_params]
    euler = euler_basis_within(basis)
    optimizes = bool(fixed) and euler is not None
    # The optimizer writes single-qubit runs in the basis itself: translate them only last.
    early = TranslateBasis(basis=",".join(basis), multi_qubit_only=euler is not None)
    steps: list[Step] = [early]
    if optimizes:
        steps += _optimization(level, fixed[0], euler)
    if coupling is not None:
        steps += [Route(coupling=coupling, seed=seed), early]
        steps += _optimization(level, fixed[0], euler, routed=True) if optimizes else []
        steps.append(FixDirection(coupling=coupling, basis=euler or "u"))
    steps.append(translate)
    return steps + ([Merge1Q(basis=euler)] if euler is not None and level >= 2 else [])
