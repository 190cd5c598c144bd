"""OpenQASM 2 and 3 → IR circuit with the reference parser, for what the flat reader cannot read.

:func:`~.qasm.load_qasm` tries the flat reader (:mod:`.qasm_flat`) first and comes here for
everything else. The ``openqasm3`` reference parser reads both versions (OpenQASM 2 is close
to a subset of 3); this module walks its AST and lowers everything onto the IR: registers
flatten in declaration order, gate definitions are inlined, ``for`` loops with static bounds
are unrolled, modifiers are rewritten (see :mod:`.qasm_modifiers`), and conditions on
measured bits become :class:`IfElse`. ``input float``/``input angle`` declarations become
symbolic circuit inputs.

Dropped on purpose: ``gphase`` outside a gate definition (a global phase is unobservable; inside
a definition it is kept, since ``ctrl @`` makes it observable) and pragmas/annotations.
Everything else outside the IR (defcal, extern, subroutines, while loops, timing, run-time
classical computation) is a :class:`QCompileError` naming the construct and its location.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from openqasm3 import ast
from openqasm3.visitor import QASMVisitor

from ..ir import (Barrier, Circuit, Gate, Measure, Param, QCompileError, Register, Reset,
                  SetBits, Symbol, verify_circuit)
from ..ir.expr import Expr
from ..ir.gates import GATES, QELIB1, includes
from ..ir.rewrite import remap
from .qasm_classical import (DEFAULT_WIDTH, STORABLE, Stored, StoredValues, Variable, encode,
                             subexpressions)
from .qasm_common import CONSTANTS, BitState, join, switch, written
from .qasm_expr import Value, describe_node
from .qasm_gates import INCLUDE_FILES, QELIB1_DEFINITIONS
from .limits import MAX_BITS, MAX_CONDITION_BITS, MAX_GATE_NESTING, Budget
from .qasm_modifiers import Body, ModifierError, control, inverse, matrix_cost, power
from .qasm_syntax import Source, parse

#: The file name under which the built-in qelib1.inc definitions are parsed.
_PRELUDE = "<qelib1.inc>"

#: Physical qubits ``$0`` .. ``$(n-1)`` are accepted up to this n.
MAX_PHYSICAL_QUBIT = 4096

#: A while loop decided at run time is unrolled this many times (``unfinished`` marks runs
#: that would go on); one decided at compile time may run this many iterations.
MAX_WHILE_ITERATIONS = 16
MAX_STATIC_ITERATIONS = 10_000

#: The largest include file read (a program's own text is limited where it is read).
MAX_INCLUDE_BYTES = 16 * 2**20

#: Statements with no IR counterpart, with the reason given to the user.
_UNSUPPORTED = {
    ast.CalibrationDefinition: "defcal (pulse-level calibration) is not supported",
    ast.CalibrationStatement: "cal blocks (pulse-level calibration) are not supported",
    ast.CalibrationGrammarDeclaration: "defcalgrammar (pulse-level calibration) is not "
                                       "supported",
    ast.ExternDeclaration: "extern functions are not supported (no classical run time)",
    ast.ReturnStatement: "return stands only as the last statement of a subroutine",
    ast.Box: "box (timing) is not supported",
    ast.DelayInstruction: "delay (timing) is not supported",
    ast.BreakStatement: "break is not supported",
    ast.ContinueStatement: "continue is not supported",
    ast.SwitchStatement: "switch is not supported",
    ast.EndStatement: "end is not supported",
}

#: Why classical assignment is refused, where it is not a subroutine's measured result.
_ASSIGNMENT = ("classical assignment is not supported (run-time classical computation has no "
               "IR form)")


def import_qasm(text: str, filename: str, name: str,
                include_path: Sequence[str | Path] = ()) -> Circuit:
    """The circuit ``name`` of an OpenQASM program read by the reference parser (see
    :func:`~.qasm.load_qasm`, which calls this for text outside the flat subset)."""
    source = Source(text, filename)
    program = parse(source)
    return _Importer(source, _major_version(program, source),
                     tuple(Path(d) for d in include_path)).run(program, name)


def _major_version(program: ast.Program, source: Source) -> int:
    if program.version is None:
        return 2 if any(isinstance(s, ast.Include) and s.filename == QELIB1
                        for s in program.statements) else 3
    major = program.version.split(".")[0]
    if major not in ("2", "3"):
        raise QCompileError(f"unsupported OpenQASM version {program.version}",
                            source.location(program.statements[0] if program.statements
                                            else None))
    return int(major)


@dataclass(frozen=True)
class _Bits:
    """Qubits or classical bits named by an operand; ``array`` tells ``q`` from ``q[0]``."""

    kind: str  # "qubit" or "bit"
    indices: tuple[int, ...]
    array: bool


@dataclass(frozen=True)
class _GateDefinition:
    name: str
    params: tuple[str, ...]
    qubits: tuple[str, ...]
    body: tuple[ast.Statement, ...]
    source: Source


@dataclass(frozen=True)
class _Subroutine:
    """A ``def``, inlined at each call like a gate definition; what it returns is written
    into the bits it is assigned to."""

    node: ast.SubroutineDefinition
    source: Source

    @property
    def name(self) -> str:
        return self.node.name.name


class _Importer:
    def __init__(self, source: Source, version: int, include_path: tuple[Path, ...] = ()):
        self.source = source
        self.version = version
        self.include_path = include_path
        self.including: list[Path] = []  # user include files being read, innermost last
        self.qregs: list[Register] = []
        self.cregs: list[Register] = []
        self.params: list[Param] = []
        # U is OpenQASM's one builtin gate; CX was one in OpenQASM 2 and the specification's
        # own OpenQASM 3 examples still use it without an include.
        self.gates: dict[str, str | _GateDefinition] = {"U": "U", "CX": "CX"}
        self.physical: str | None = None  # the register of physical qubits $n
        self.scopes: list[dict] = [{}]
        self.subroutines: dict[str, _Subroutine] = {}
        self.expanding: list[str] = []  # gate definitions and subroutines being inlined
        self.phases: list = []  # the global phase each of them has collected so far
        self.bit_state: BitState = {}  # what is known of each classical bit here
        self.assumed: dict[int, int] = {}  # bit values a run-time decision is being built for
        self.evaluator = StoredValues(self._lookup_value, self._error, self._stored,
                                      self._bit_value)

    def run(self, program: ast.Program, name: str) -> Circuit:
        ops: list = []
        self._declare_physical_qubits(program)
        self._block(program.statements, ops)
        circuit = Circuit(name, tuple(self.qregs), tuple(self.cregs), tuple(self.params),
                          tuple(ops))
        verify_circuit(circuit)
        return circuit

    def _error(self, message: str, node) -> QCompileError:
        return self.source.error(message, node)

    # --- statements -----------------------------------------------------------------------

    def _block(self, statements, ops: list) -> None:
        for statement in statements:
            self._statement(statement, ops)

    def _statement(self, node, ops: list) -> None:
        if type(node) in _UNSUPPORTED:
            raise self._error(_UNSUPPORTED[type(node)], node)
        handler = getattr(self, "_" + type(node).__name__, None)
        if handler is None:
            raise self._error(f"{describe_node(node)} is not supported", node)
        handler(node, ops)

    def _Pragma(self, node, ops):
        pass

    def _Include(self, node, ops):
        if node.filename not in INCLUDE_FILES:
            self._include_file(node, ops)
            return
        self.gates.update((name, name) for name in includes(node.filename))
        if node.filename == QELIB1:
            prelude = Source(QELIB1_DEFINITIONS, _PRELUDE)
            for statement in parse(prelude).statements:
                self._define_gate(statement, prelude)

    def _include_file(self, node: ast.Include, ops) -> None:
        """Read a user include file as if its statements stood here."""
        if len(self.scopes) > 1:
            raise self._error("include must stand at global scope", node)
        path = self._resolve_include(node)
        if path in self.including:
            chain = " → ".join(p.name for p in self.including[self.including.index(path):])
            raise self._error(f"include loop: {chain} → {path.name}", node)
        try:
            size = path.stat().st_size
            if size > MAX_INCLUDE_BYTES:
                raise self._error(f"include file '{node.filename}' has {size} bytes; at most "
                                  f"{MAX_INCLUDE_BYTES} are read", node)
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise self._error(f"cannot read include file '{node.filename}' ({err})", node) \
                from None
        source = Source(text, str(path))
        program = parse(source)
        if program.version is not None:
            raise source.error("an include file cannot have its own OPENQASM version line",
                               program.statements[0] if program.statements else None)
        saved = self.source
        self.source = source
        self.including.append(path)
        try:
            self._block(program.statements, ops)
        finally:
            self.including.pop()
            self.source = saved

    def _resolve_include(self, node: ast.Include) -> Path:
        """The file an include names, looked up beside the including file, then in the
        include path; a name that leads outside those directories is never read."""
        directories = list(self.include_path)
        if not self.source.filename.startswith("<"):
            directories.insert(0, Path(self.source.filename).parent)
        for directory in directories:
            root = directory.resolve()
            path = (root / node.filename).resolve()
            if path.is_relative_to(root) and path.is_file():
                return path
        if not directories:
            where = ("this source has no directory; pass include_path (--include-path) to "
                     "say where include files are")
        else:
            where = ("looked in " + ", ".join(str(d) for d in directories) + "; a file "
                     "elsewhere needs --include-path")
        raise self._error(f"include file '{node.filename}' not found ({where}; "
                          f"{' and '.join(sorted(INCLUDE_FILES))} are built in)", node)

    def _QuantumGateDefinition(self, node, ops):
        self._define_gate(node, self.source)

    def _define_gate(self, node: ast.QuantumGateDefinition, source: Source) -> None:
        name = node.name.name
        if name in self.gates:
            raise self._error(f"gate '{name}' is already defined", node)
        self.gates[name] = _GateDefinition(name, tuple(p.name for p in node.arguments),
                                           tuple(q.name for q in node.qubits),
                                           tuple(node.body), source)

    def _QubitDeclaration(self, node, ops):
        size = None if node.size is None else self._size(node.size)
        self._declare_register(node, node.qubit.name, "qubit", size, self.qregs)

    def _ClassicalDeclaration(self, node, ops):
        name, kind, init = node.identifier.name, node.type, node.init_expression
        if isinstance(kind, ast.BitType):
            size = None if kind.size is None else self._size(kind.size)
            self._declare_register(node, name, "bit", size, self.cregs)
        elif isinstance(kind, STORABLE):
            width = (None if isinstance(kind, ast.FloatType) else 1
                     if isinstance(kind, ast.BoolType) else DEFAULT_WIDTH if kind.size is None
                     else self._size(kind.size))
            self._bind(name, Variable(name, kind, width, _typed(kind, 0)), node)
        else:
            raise self._error(f"{_type_name(kind)} variables are not supported", node)
        if isinstance(init, ast.QuantumMeasurement):
            self._measure(init, node.identifier, ops)
        elif init is not None:
            self._assign(node.identifier, init, ops)

    def _ConstantDeclaration(self, node, ops):
        if not isinstance(node.type, (ast.IntType, ast.UintType, ast.FloatType, ast.AngleType,
                                      ast.BoolType)):
            raise self._error(f"{_type_name(node.type)} constants are not supported", node)
        value = self.evaluator.number(node.init_expression)
        self._bind(node.identifier.name, _typed(node.type, value), node)

    def _IODeclaration(self, node, ops):
        name = node.identifier.name
        if node.io_identifier.name != "input":
            raise self._error("output declarations are not supported", node)
        if not isinstance(node.type, (ast.FloatType, ast.AngleType)):
            raise self._error(f"input '{name}' has type {_type_name(node.type)}; only float and "
                              "angle inputs (gate parameters) are supported", node)
        self.params.append(Param(name, "input", ()))
        self._bind(name, Symbol(name), node)

    def _AliasStatement(self, node, ops):
        self._bind(node.target.name, self._operand(node.value), node)

    def _CompoundStatement(self, node, ops):
        self._scoped(node.statements, ops, {})

    def _WhileLoop(self, node, ops):
        """Iterations decided at compile time run in place; from the first one decided only
        at run time, the loop is unrolled under its condition at most
        ``MAX_WHILE_ITERATIONS`` times, and a run that would go on sets a bit ``unfinished``
        of its own, so that no cut-off run goes unnoticed."""
        for _ in range(MAX_STATIC_ITERATIONS):
            if self._unknown_bits(node.while_condition):
                self._materialize_assigned(node.block, ops)
                flag = self._hidden_register("unfinished", 1)
                ops.extend(self._unrolled(node, MAX_WHILE_ITERATIONS, flag))
                return
            if not self._truth(node.while_condition):
                return
            self._budget.spend(1, "this while loop's iterations", node)
            self._scoped(node.block, ops, {})
        raise self._error(f"this while loop runs more than {MAX_STATIC_ITERATIONS} "
                          "iterations at compile time", node)

    def _unrolled(self, node: ast.WhileLoop, remaining: int, flag: tuple[int, ...]) -> tuple:
        def iteration(out: list) -> None:
            if remaining:
                self._scoped(node.block, out, {})
                out.extend(self._unrolled(node, remaining - 1, flag))
            else:
                self._set(flag, 1, out)
        return self._branch(node.while_condition, iteration, lambda out: None)

    def _ForInLoop(self, node, ops):
        values = self._loop_values(node.set_declaration)
        count = _length(values)
        self._budget.spend(count, f"this for loop of {count:,} iterations", node)
        for value in values:
            self._scoped(node.block, ops, {node.identifier.name: value})

    def _QuantumGate(self, node, ops):
        subroutine = self.subroutines.get(node.name.name)
        if subroutine is not None and not node.modifiers:  # `f q;` calls a qubit-only def
            self._call(node, subroutine, node.arguments + node.qubits, None, ops)
            return
        self._gate_statement(node, node.name.name, node.arguments, node.qubits, ops)

    def _gate_statement(self, node, name, arguments, qubits, ops) -> None:
        """A gate whose angles or modifiers may read values known only at run time: then
        the gate for each of their values, under a decision on the bits read."""
        read = [*arguments, *(m.argument for m in node.modifiers if m.argument is not None)]
        bits = self._unknown_bits(*read)
        if not bits:
            self._apply_gate(node, name, arguments, qubits, ops)
            return

        def gates() -> list:
            out: list = []
            self._apply_gate(node, name, arguments, qubits, out)
            return out
        ops.extend(self._decided(bits, gates, node))

    def _SubroutineDefinition(self, node, ops):
        name = node.name.name
        if len(self.scopes) > 1:
            raise self._error(f"subroutine '{name}' must be defined at global scope", node)
        if name in self.gates or name in self.subroutines:
            raise self._error(f"'{name}' is already defined", node)
        self.subroutines[name] = _Subroutine(node, self.source)

    def _ExpressionStatement(self, node, ops):
        call = node.expression
        if not isinstance(call, ast.FunctionCall) or call.name.name not in self.subroutines:
            raise self._error("expression statements other than subroutine calls are not "
                              "supported", node)
        self._call(call, self.subroutines[call.name.name], call.arguments, None, ops)

    def _ClassicalAssignment(self, node, ops):
        op, value = node.op.name, node.rvalue
        if op != "=":
            if op[:-1] not in ast.BinaryOperator.__members__:
                raise self._error(f"assignment operator '{op}' is not supported", node)
            value = ast.BinaryExpression(ast.BinaryOperator[op[:-1]],
                                         _as_expression(node.lvalue), node.rvalue)
            value.span = node.span
        self._assign(node.lvalue, value, ops)

    def _QuantumPhase(self, node, ops):
        self._gate_statement(node, "gphase", [node.argument], node.qubits, ops)

    def _QuantumMeasurementStatement(self, node, ops):
        if node.target is None:
            raise self._error("a measurement needs a target bit to store its result", node)
        self._measure(node.measure, node.target, ops)

    def _QuantumReset(self, node, ops):
        qubits = self._operand(node.qubits, "qubit").indices
        self._budget.spend(len(qubits), "reset", node)
        ops.extend(Reset(q) for q in qubits)

    def _QuantumBarrier(self, node, ops):
        if node.qubits:
            qubits = [q for operand in node.qubits for q in self._operand(operand, "qubit").indices]
        else:
            qubits = range(sum(r.size for r in self.qregs))
        ops.append(Barrier(tuple(dict.fromkeys(qubits))))

    def _BranchingStatement(self, node, ops):
        if not self._unknown_bits(node.condition):  # decided at compile time
            self._scoped(node.if_block if self._truth(node.condition) else node.else_block,
                         ops, {})
            return
        self._materialize_assigned(node.if_block + node.else_block, ops)
        ops.extend(self._branch(node.condition, lambda out: self._scoped(node.if_block, out, {}),
                                lambda out: self._scoped(node.else_block, out, {})))

    # --- run-time classical values --------------------------------------------------------

    def _branch(self, condition, then, otherwise) -> tuple:
        """Operations running what ``then(ops)`` appends where the run-time ``condition``
        holds and what ``otherwise(ops)`` appends where not; each path starts from what is
        known here, and what both leave known stays known."""
        bits = self._unknown_bits(condition)
        truths = [bool(v) for v in self._each_value(bits, lambda: self._truth(condition))]
        before = dict(self.bit_state)
        then_ops: list = []
        then(then_ops)
        after_then, self.bit_state = self.bit_state, before
        else_ops: list = []
        otherwise(else_ops)
        self.bit_state = join(after_then, self.bit_state)
        return switch(bits, [tuple(then_ops) if t else tuple(else_ops) for t in truths])

    def _truth(self, condition) -> bool:
        value = self.evaluator.value(condition)
        if isinstance(value, Expr):
            raise self._error("a condition cannot depend on a gate parameter or input",
                              condition)
        return bool(value)

    def _each_value(self, bits: tuple[int, ...], compute) -> list:
        """``compute()`` for each value of ``bits`` (bit k of the value is ``bits[k]``)."""
        results = []
        try:
            for value in range(1 << len(bits)):
                self.assumed.update((b, value >> k & 1) for k, b in enumerate(bits))
                results.append(compute())
        finally:
            for b in bits:
                self.assumed.pop(b, None)
        return results

    def _decided(self, bits: tuple[int, ...], build, node) -> tuple:
        """The operations ``build()`` returns for each value of ``bits``, each under a
        decision on them."""
        self._budget.spend(1 << len(bits), "a decision on run-time bits", node)
        return switch(bits, [tuple(ops) for ops in self._each_value(bits, build)])

    def _unknown_bits(self, *nodes) -> tuple[int, ...]:
        """The classical bits the expressions read whose value is known only at run time."""
        found: dict[int, None] = {}
        for node in nodes:
            self._bits_read(node, found)
        bits = tuple(b for b in found if b not in self.assumed and self.bit_state.get(b, 0)
                     is None)
        if len(bits) > MAX_CONDITION_BITS:
            raise self._error(f"this reads {len(bits)} classical bits known only at run time; "
                              f"at most {MAX_CONDITION_BITS} are supported", nodes[0])
        return bits

    def _bits_read(self, node, found: dict[int, None]) -> None:
        stored = self._stored(node)
        if stored is not None:
            found.update(dict.fromkeys(stored[0]))
            return
        for child in subexpressions(node):
            self._bits_read(child, found)

    def _bit_value(self, bit: int, node) -> int:
        if bit in self.assumed:
            return self.assumed[bit]
        value = self.bit_state.get(bit, 0)
        if value is None:
            raise self._error("this value is known only at run time, but is needed at compile "
                              "time here (a size, an index, a loop range or a constant)", node)
        return value

    def _stored(self, node) -> Stored | None:
        """The classical bits an expression is (``c``, ``c[0]``, a variable held in bits),
        and how their pattern reads."""
        root = node
        while isinstance(root, ast.IndexExpression):
            root = root.collection
        if not isinstance(node, (ast.Identifier, ast.IndexExpression)) or not isinstance(
                root, ast.Identifier) or root.name in CONSTANTS or root.name.startswith("$"):
            return None
        binding = self._lookup(root)
        if isinstance(binding, Variable) and binding.bits is not None and node is root:
            return binding.bits, binding.decode
        if isinstance(binding, Variable) and binding.bits is not None or (
                isinstance(binding, _Bits) and binding.kind == "bit"):
            return self._operand(node, "bit").indices, int
        return None

    def _assign(self, lvalue, value, ops) -> None:
        """``lvalue = value``: at compile time while both are known then, else into bits,
        each value of the run-time bits read deciding what is written."""
        if isinstance(value, ast.FunctionCall) and value.name.name in self.subroutines:
            self._materialize_root(lvalue, ops)
            self._call(value, self.subroutines[value.name.name], value.arguments,
                       self._operand(lvalue, "bit"), ops)
            return
        binding = self._lookup(_root(lvalue))
        if isinstance(binding, Variable) and isinstance(lvalue, ast.Identifier):
            if binding.bits is None and not self._unknown_bits(value):
                binding.value = self._fitted(binding, self.evaluator.value(value))
                return
            self._materialize(binding, lvalue, ops)
            self._write(binding.bits, binding.encode, value, ops)
        elif isinstance(binding, (Variable, _Bits)):
            self._materialize_root(lvalue, ops)
            self._assign_bits(self._operand(lvalue, "bit"), value, ops)
        else:
            raise self._error(_ASSIGNMENT, lvalue)

    def _assign_bits(self, target: _Bits, value, ops) -> None:
        width = len(target.indices)
        self._write(target.indices, lambda number: encode(None, width, number), value, ops)

    def _write(self, target: tuple[int, ...], encode_value, value, ops) -> None:
        """Write ``value`` into bits: once when it is known now, else under a decision on
        the run-time bits it reads, one pattern for each of their values."""
        def one_value():
            pattern = encode_value(self.evaluator.number(value))
            return pattern, self._setting(target, pattern)
        bits = self._unknown_bits(value)
        self._budget.spend(1 << len(bits), "this assignment's cases", value)
        patterns, leaves = zip(*self._each_value(bits, one_value))
        ops.extend(switch(bits, leaves))
        written(self.bit_state, target, patterns)

    def _set(self, bits: tuple[int, ...], pattern: int, ops) -> None:
        ops.extend(self._setting(bits, pattern))
        written(self.bit_state, bits, [pattern])

    def _setting(self, bits: tuple[int, ...], pattern: int) -> tuple[SetBits, ...]:
        """The write that gives bits a pattern: only of the bits not known to hold it."""
        changed = [(k, b) for k, b in enumerate(bits)
                   if self.assumed.get(b, self.bit_state.get(b, 0)) != pattern >> k & 1]
        if not changed:
            return ()
        return (SetBits(tuple(b for _, b in changed),
                        sum((pattern >> k & 1) << j for j, (k, _) in enumerate(changed))),)

    def _fitted(self, variable: Variable, value):
        """A compile-time value as the variable's type holds it (int[n] wraps, angle[n]
        rounds to its grid); symbolic values only in float and angle variables."""
        if isinstance(value, Expr):
            if not isinstance(variable.kind, (ast.FloatType, ast.AngleType)):
                raise self._error(f"'{variable.name}' cannot hold a gate parameter", None)
            return value
        if variable.width is None or (isinstance(variable.kind, ast.AngleType)
                                      and variable.kind.size is None):
            return _typed(variable.kind, value)
        return variable.decode(variable.encode(value))

    def _materialize(self, variable: Variable, node, ops) -> None:
        """Move a variable into bits of its own, starting at its current value."""
        if variable.bits is not None:
            return
        if variable.width is None:
            raise self._error(f"float '{variable.name}' cannot hold a value known only at run "
                              "time (only bits, int, uint, bool and angle variables can)", node)
        if isinstance(variable.value, Expr):
            raise self._error(f"'{variable.name}' holds a gate parameter, which cannot be "
                              "stored in classical bits", node)
        variable.bits = self._hidden_register(variable.name, variable.width)
        pattern, variable.value = variable.encode(variable.value), None
        self._set(variable.bits, pattern, ops)

    def _materialize_root(self, node, ops) -> None:
        binding = self._lookup(_root(node))
        if isinstance(binding, Variable):
            self._materialize(binding, node, ops)

    def _materialize_assigned(self, statements, ops) -> None:
        """Before code that runs only on some paths: move into bits every variable it may
        assign, so that each path can write its own value."""
        for name in _assigned_names(statements):
            binding = next((scope[name] for scope in reversed(self.scopes) if name in scope),
                           None)
            if isinstance(binding, Variable):
                self._materialize(binding, statements[0], ops)

    def _hidden_register(self, name: str, size: int) -> tuple[int, ...]:
        """Classical bits of a register the program does not name itself."""
        start = sum(r.size for r in self.cregs)
        self.cregs.append(Register(self._register_name(name), size))
        return tuple(range(start, start + size))

    # --- declarations and scopes ----------------------------------------------------------

    def _declare_register(self, node, name: str, kind: str, size: int | None, registers):
        """A register of its own for each declaration; bits declared in a block, a loop
        body or a subroutine are new bits (starting at 0) each time it runs."""
        if len(self.scopes) > 1 and kind == "qubit":
            raise self._error(f"{kind} '{name}' must be declared at global scope", node)
        start = sum(r.size for r in registers)
        if start + (size or 1) > MAX_BITS:
            raise self._error(f"{kind} '{name}' makes {start + (size or 1):,} {kind}s in all; at "
                              f"most {MAX_BITS:,} are supported", node)
        registers.append(Register(self._register_name(name), 1 if size is None else size))
        bits = _Bits(kind, tuple(range(start, start + registers[-1].size)), size is not None)
        self._bind(name, bits, node)
        return bits

    def _register_name(self, name: str) -> str:
        """``name``, or ``name_2``, ``name_3``, ... when a register already has it (a local
        declaration met again, or one shadowing another)."""
        taken = {r.name for r in self.qregs + self.cregs}
        return next(candidate for candidate in
                    (name if k == 1 else f"{name}_{k}" for k in range(1, len(taken) + 2))
                    if candidate not in taken)

    def _bind(self, name: str, value, node) -> None:
        if name in self.scopes[-1] or name in CONSTANTS:
            raise self._error(f"'{name}' is already declared", node)
        self.scopes[-1][name] = value

    def _scoped(self, statements, ops, bindings: dict) -> None:
        self.scopes.append(dict(bindings))
        try:
            self._block(statements, ops)
        finally:
            self.scopes.pop()

    def _declare_physical_qubits(self, program: ast.Program) -> None:
        """Physical qubits ``$n`` (as Qiskit writes circuits without registers) are qubit n
        of one register of them all, so a laid-out circuit keeps its layout."""
        if "$" not in self.source.text:
            return
        names = _names_in(program)
        uses = {int(n[1:]): node for n, node in names.items() if n.startswith("$")}
        if not uses:
            return
        declared = next((s for s in program.statements if isinstance(s, ast.QubitDeclaration)),
                        None)
        first = uses[min(uses)]
        if declared is not None:
            raise self._error(f"qubit '{declared.qubit.name}' is declared in a program that "
                              f"uses physical qubits ({first.name} at line "
                              f"{first.span.start_line}); use one or the other", declared)
        name = next(n for n in ("q", "qubits", "q_physical") if n not in names)
        size = max(uses) + 1
        if size > MAX_PHYSICAL_QUBIT:
            raise self._error(f"physical qubit ${size - 1} is beyond the largest supported "
                              f"index ${MAX_PHYSICAL_QUBIT - 1}", uses[size - 1])
        self.qregs.append(Register(name, size))
        self.physical = name

    def _lookup(self, identifier: ast.Identifier):
        name = identifier.name
        if name.startswith("$"):
            if self.physical is None or self.expanding:
                raise self._error(f"physical qubit '{name}' cannot be used here (gate "
                                  "bodies act on their arguments)", identifier)
            return _Bits("qubit", (int(name[1:]),), False)
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise self._error(f"undeclared identifier '{name}'", identifier)

    def _lookup_value(self, identifier: ast.Identifier) -> Value:
        """A name's compile-time value (names held in bits are read by ``_stored``)."""
        value = self._lookup(identifier)
        if isinstance(value, Variable):
            return value.value
        if isinstance(value, _Bits):
            raise self._error(f"{value.kind} '{identifier.name}' cannot be used as a number "
                              "here", identifier)
        return value

    def _size(self, node) -> int:
        """A register size, integer width or control count (1 to :data:`MAX_BITS`)."""
        size = self.evaluator.integer(node)
        if size < 1:
            raise self._error(f"size must be positive, got {size}", node)
        if size > MAX_BITS:
            raise self._error(f"size {size} is too large; at most {MAX_BITS:,} are supported",
                              node)
        return size

    def _loop_values(self, node) -> Sequence[Value]:
        if isinstance(node, ast.RangeDefinition):
            return self._range(node, None)
        if isinstance(node, ast.DiscreteSet):
            return [self.evaluator.number(v) for v in node.values]
        raise self._error("for loops need a static range [a:b] or set {...}", node)

    def _range(self, node: ast.RangeDefinition, length: int | None) -> range:
        """An inclusive OpenQASM range; open ends need the ``length`` of what is indexed."""
        step = 1 if node.step is None else self.evaluator.integer(node.step)
        if step == 0:
            raise self._error("range step must not be 0", node)
        if length is None and (node.start is None or node.end is None):
            raise self._error("loop ranges need both bounds", node)
        start = (0 if step > 0 else length - 1) if node.start is None else \
            self.evaluator.integer(node.start)
        end = (length - 1 if step > 0 else 0) if node.end is None else \
            self.evaluator.integer(node.end)
        return range(start, end + (1 if step > 0 else -1), step)

    # --- operands -------------------------------------------------------------------------

    def _operand(self, node, kind: str | None = None) -> _Bits:
        if isinstance(node, ast.Identifier):
            bits = self._lookup(node)
            if isinstance(bits, Variable) and bits.bits is not None:  # its bits, as a register
                bits = _Bits("bit", bits.bits, True)
        elif isinstance(node, ast.IndexedIdentifier):
            bits = self._operand(node.name)
            for index in node.indices:
                bits = self._index(bits, index, node)
        elif isinstance(node, ast.IndexExpression):
            bits = self._index(self._operand(node.collection), node.index, node)
        elif isinstance(node, ast.Concatenation):
            lhs, rhs = self._operand(node.lhs, kind), self._operand(node.rhs, kind)
            bits = _Bits(lhs.kind, lhs.indices + rhs.indices, True)
        else:
            raise self._error(f"expected a {kind or 'register'}, got {describe_node(node)}", node)
        if not isinstance(bits, _Bits) or (kind is not None and bits.kind != kind):
            raise self._error(f"expected a {kind or 'qubit or bit'} operand", node)
        return bits

    def _index(self, bits: _Bits, index, node) -> _Bits:
        if not bits.array:
            raise self._error(f"a single {bits.kind} cannot be indexed", node)
        size = len(bits.indices)
        if isinstance(index, ast.DiscreteSet):
            return _Bits(bits.kind, tuple(bits.indices[self._position(v, size)]
                                          for v in index.values), True)
        if len(index) != 1:
            raise self._error(f"{bits.kind} registers have one dimension", node)
        index = index[0]
        if isinstance(index, ast.RangeDefinition):
            picked = [bits.indices[self._position(i, size, index)]
                      for i in self._range(index, size)]
            return _Bits(bits.kind, tuple(picked), True)
        return _Bits(bits.kind, (bits.indices[self._position(index, size)],), False)

    def _position(self, index, size: int, node=None) -> int:
        value = index if isinstance(index, int) else self.evaluator.integer(index)
        if not -size <= value < size:
            raise self._error(f"index {value} is out of range for a register of size {size}",
                              node if node is not None else index)
        return value % size

    # --- gates ----------------------------------------------------------------------------

    def _apply_gate(self, node, name, arguments, qubit_nodes, ops) -> None:
        """A gate call with modifiers, broadcast over registers, appended to ``ops``; each
        copy of its operations is spent from the budget before it is made."""
        params = [self.evaluator.value(a) for a in arguments]
        operands = [self._operand(q, "qubit") for q in qubit_nodes]
        try:
            body = self._gate_body(node, name, params)
        except RecursionError:
            raise self._error(f"gate '{name}' nests too deeply (definitions inside one another "
                              "with deeply nested bodies)", node) from None
        body = self._modified(node, name, body, len(operands))
        inlined = f" (inlined in '{self.expanding[0]}')" if self.expanding else ""
        for qubits in self._broadcast(operands, node):
            if len(set(qubits)) != len(qubits):
                raise self._error(f"gate '{name}' is applied to the same qubit twice", node)
            self._budget.spend(len(body.ops), f"gate '{_modified_name(node, name)}'{inlined}",
                               node)
            ops.extend(remap(op, qubits) for op in body.ops)
            if self.phases:
                self.phases[-1] = self.phases[-1] + body.phase

    def _gate_body(self, node, name: str, params: list) -> Body:
        if name == "gphase":
            return Body.of((), 0, params[0])
        definition = self.gates.get(name)
        if definition is None:
            raise self._error(f"unknown gate '{name}'" + (
                " (did you forget 'include \"stdgates.inc\";'?)" if name in GATES else ""), node)
        expected = (GATES[definition].num_params if isinstance(definition, str)
                    else len(definition.params))
        if len(params) != expected:
            raise self._error(f"gate '{name}' takes {expected} parameter(s), got {len(params)}",
                              node)
        if isinstance(definition, str):
            n = GATES[definition].num_qubits
            return Body.of([Gate(definition, range(n), params)], n)
        return self._inline(node, definition, params)

    def _inline(self, node, definition: _GateDefinition, params: list) -> Body:
        if definition.name in self.expanding:
            raise self._error(f"gate '{definition.name}' is defined in terms of itself", node)
        if len(self.expanding) >= MAX_GATE_NESTING:
            raise self._error(f"gate '{definition.name}' is inlined {len(self.expanding)} levels "
                              f"deep in other definitions; at most {MAX_GATE_NESTING} are "
                              "supported", node)
        bindings = dict(zip(definition.params, params))
        bindings.update((q, _Bits("qubit", (i,), False)) for i, q in enumerate(definition.qubits))
        # A body sees its own arguments and the global constants, never global registers;
        # the built-in qelib1 definitions see no constant of the user's.
        constants = ({k: v for k, v in self.scopes[0].items() if not isinstance(v, _Bits)}
                     if definition.source.filename != _PRELUDE else {})
        saved_scopes, saved_source = self.scopes, self.source
        self.scopes, self.source = [constants, bindings], definition.source
        self.expanding.append(definition.name)
        self.phases.append(0.0)
        body_ops: list = []
        try:
            for statement in definition.body:
                if not isinstance(statement, (ast.QuantumGate, ast.QuantumPhase,
                                              ast.QuantumBarrier, ast.ForInLoop)):
                    raise self._error(f"{describe_node(statement)} is not allowed in a gate "
                                      "definition", statement)
                self._statement(statement, body_ops)
        finally:
            self.expanding.pop()
            phase = self.phases.pop()
            self.scopes, self.source = saved_scopes, saved_source
        return Body.of(body_ops, len(definition.qubits), phase)

    def _call(self, node, subroutine: _Subroutine, arguments, target: _Bits | None,
              ops) -> None:
        """Inline a subroutine call; ``target`` receives the bits it returns."""
        definition = subroutine.node
        if len(arguments) != len(definition.arguments):
            raise self._error(f"subroutine '{subroutine.name}' takes "
                              f"{len(definition.arguments)} argument(s), got {len(arguments)}",
                              node)
        if subroutine.name in self.expanding:
            raise self._error(f"subroutine '{subroutine.name}' calls itself", node)
        self._budget.spend(len(definition.body), f"subroutine '{subroutine.name}'", node)
        bindings = {declared.name.name: self._argument(declared, given, node)
                    for declared, given in zip(definition.arguments, arguments)}
        body = list(definition.body)
        returned = body.pop() if body and isinstance(body[-1], ast.ReturnStatement) else None
        result = self._returned_bits(subroutine, returned, target, node)
        if isinstance(result, tuple):  # a local register the body measures into
            local, declaration = result
            bindings[local] = target
            body.remove(declaration)
        constants = {k: v for k, v in self.scopes[0].items() if not isinstance(v, _Bits)}
        saved_scopes, saved_source = self.scopes, self.source
        self.scopes, self.source = [constants, bindings], subroutine.source
        self.expanding.append(subroutine.name)
        try:
            self._block(body, ops)
            if isinstance(result, ast.QuantumMeasurement):
                self._measure(result, target, ops)
            elif result is not None and not isinstance(result, tuple):  # a computed value
                self._assign_bits(target, result, ops)
        finally:
            self.expanding.pop()
            self.scopes, self.source = saved_scopes, saved_source

    def _argument(self, declared, given, call):
        """What a subroutine parameter is bound to: the caller's qubits, or a value."""
        name = declared.name.name
        if isinstance(declared, ast.QuantumArgument):
            qubits = self._operand(given, "qubit")
            size = None if declared.size is None else self._size(declared.size)
            if len(qubits.indices) != (1 if size is None else size):
                raise self._error(f"argument '{name}' is {size or 1} qubit(s), got "
                                  f"{len(qubits.indices)}", given)
            return _Bits("qubit", qubits.indices, size is not None)
        kind = declared.type
        if not isinstance(kind, (ast.IntType, ast.UintType, ast.FloatType, ast.AngleType,
                                 ast.BoolType)):
            raise self._error(f"subroutine argument '{name}' has type {_type_name(kind)}; "
                              "qubits and int, uint, float, angle and bool values are "
                              "supported", given)
        value = self.evaluator.value(given)
        if isinstance(value, Expr):
            if not isinstance(kind, (ast.FloatType, ast.AngleType)):
                raise self._error(f"argument '{name}' must be known at compile time", given)
            return value
        return _typed(kind, value)

    def _returned_bits(self, subroutine: _Subroutine, returned, target: _Bits | None, call):
        """What a call writes into ``target``: nothing, a measurement, or (the name and the
        declaration of) a local bit register the body only measures into before returning
        it, which then simply is the target."""
        value = None if returned is None else returned.expression
        if target is None:
            if value is not None and subroutine.node.return_type is not None:
                raise self._error(f"the bits subroutine '{subroutine.name}' returns must be "
                                  "assigned to a bit register", call)
            return None
        if value is None:
            raise self._error(f"subroutine '{subroutine.name}' returns nothing", call)
        if isinstance(value, ast.QuantumMeasurement):
            return value
        declaration = _measured_local(subroutine.node, value)
        if declaration is None:
            return value
        size = 1 if declaration.type.size is None else self._size(declaration.type.size)
        if size != len(target.indices):
            raise self._error(f"subroutine '{subroutine.name}' returns {size} bit(s), "
                              f"assigned to {len(target.indices)}", call)
        return value.name, declaration

    def _modified(self, node, name: str, body: Body, width: int) -> Body:
        """``body`` of gate ``name`` under the node's modifiers, which must leave it on
        ``width`` qubits (checked first: a control count is also the size of a matrix); the
        matrices each modifier builds are spent from the budget."""
        modifiers = node.modifiers
        controls = [0 if m.modifier.name in ("inv", "pow") else 1 if m.argument is None
                    else self._size(m.argument) for m in modifiers]
        if body.num_qubits + sum(controls) != width:
            raise self._error(f"gate '{_modified_name(node, name)}' acts on "
                              f"{body.num_qubits + sum(controls)} qubit(s), got {width}", node)
        for modifier, count in zip(reversed(modifiers), reversed(controls)):
            kind = modifier.modifier.name
            try:
                if kind == "inv":
                    body = inverse(body)
                elif kind == "pow":
                    body = power(body, self.evaluator.number(modifier.argument),
                                 self._budget.left)
                else:
                    body = control(body, count, kind == "negctrl", self._budget.left)
            except ModifierError as exc:
                raise self._error(str(exc), node) from None
            self._budget.spend(matrix_cost(body), f"{kind} @", node)
        return body

    def _broadcast(self, operands: list[_Bits], node):
        sizes = {len(o.indices) for o in operands if o.array}
        if len(sizes) > 1:
            raise self._error("registers of different sizes cannot be broadcast together", node)
        count = sizes.pop() if sizes else 1
        for i in range(count):
            yield tuple(o.indices[i] if o.array else o.indices[0] for o in operands)

    # --- measurement and conditions -------------------------------------------------------

    def _measure(self, measurement: ast.QuantumMeasurement, target, ops) -> None:
        """Measure into ``target``: bits already resolved, or the AST node naming them."""
        qubits = self._operand(measurement.qubit, "qubit")
        if not isinstance(target, _Bits):
            self._materialize_root(target, ops)
            target = self._operand(target, "bit")
        if len(qubits.indices) != len(target.indices):
            raise self._error(f"cannot measure {len(qubits.indices)} qubit(s) into "
                              f"{len(target.indices)} bit(s)", measurement)
        self._budget.spend(len(target.indices), "measure", measurement)
        ops.extend(Measure(q, c) for q, c in zip(qubits.indices, target.indices))
        self.bit_state.update(dict.fromkeys(target.indices))

    @cached_property
    def _budget(self) -> Budget:
        """The operations this import may still unroll."""
        return Budget(self._error)


def _length(values: Sequence) -> int:
    """How many values a loop runs over; a range too long for ``len`` has more than any
    budget allows."""
    try:
        return len(values)
    except OverflowError:
        return sys.maxsize


def _measured_local(definition: ast.SubroutineDefinition, value) -> ast.ClassicalDeclaration | None:
    """The declaration of the local bit register ``value`` names, when the body only ever
    measures into it, every bit, before returning it (it can then be the caller's bits)."""
    if not isinstance(value, ast.Identifier):
        return None
    name, body = value.name, definition.body[:-1]
    declaration = next((s for s in body if isinstance(s, ast.ClassicalDeclaration)
                        and s.identifier.name == name), None)
    if (declaration is None or not isinstance(declaration.type, ast.BitType)
            or declaration.init_expression is not None):
        return None
    size = declaration.type.size
    width = 1 if size is None else size.value if isinstance(size, ast.IntegerLiteral) else None
    written: set[int] = set()
    for statement in body:
        if statement is declaration or name not in _names_in(statement):
            continue
        target = getattr(statement, "target", None)
        if not isinstance(statement, ast.QuantumMeasurementStatement) or \
                name in _names_in(statement.measure):
            return None
        if isinstance(target, ast.Identifier) and width is not None:
            written.update(range(width))
        elif (isinstance(target, ast.IndexedIdentifier) and len(target.indices) == 1
              and isinstance(target.indices[0], list) and len(target.indices[0]) == 1
              and isinstance(target.indices[0][0], ast.IntegerLiteral)):
            written.add(target.indices[0][0].value % (width or 1))
        else:
            return None
    return declaration if width is not None and written == set(range(width)) else None


def _names_in(node) -> dict[str, ast.Identifier]:
    """Every name a node uses (physical qubits ``$n`` too), with its first use."""
    names = _Names()
    names.visit(node)
    return names.first


class _Names(QASMVisitor):
    def __init__(self):
        self.first: dict[str, ast.Identifier] = {}

    def visit_Identifier(self, node: ast.Identifier, context=None) -> None:
        self.first.setdefault(node.name, node)


def _root(node) -> ast.Identifier:
    """The name an operand or assignment target indexes into."""
    while not isinstance(node, ast.Identifier):
        node = node.name if isinstance(node, ast.IndexedIdentifier) else node.collection
    return node


def _as_expression(lvalue):
    """An assignment target read as a value (``c[0] += 1`` reads ``c[0]``)."""
    if isinstance(lvalue, ast.IndexedIdentifier):
        expression = lvalue.name
        for index in lvalue.indices:
            expression = ast.IndexExpression(expression, index)
            expression.span = lvalue.span
        return expression
    return lvalue


def _assigned_names(statements) -> set[str]:
    """Every name the statements assign or measure into, in nested blocks too."""
    found = _Assigned()
    for statement in statements:
        found.visit(statement)
    return found.names


class _Assigned(QASMVisitor):
    def __init__(self):
        self.names: set[str] = set()

    def visit_ClassicalAssignment(self, node, context=None) -> None:
        self.names.add(_root(node.lvalue).name)

    def visit_QuantumMeasurementStatement(self, node, context=None) -> None:
        if node.target is not None:
            self.names.add(_root(node.target).name)


def _modified_name(node, name: str) -> str:
    prefix = "".join(f"{m.modifier.name} @ " for m in getattr(node, "modifiers", []))
    return prefix + name


def _type_name(kind: ast.ClassicalType) -> str:
    """'stretch' for StretchType, 'array' for ArrayType, ..."""
    return describe_node(kind).removesuffix(" type")


def _typed(kind: ast.ClassicalType, value) -> Value:
    if isinstance(kind, (ast.IntType, ast.UintType)):
        return int(value)
    if isinstance(kind, ast.BoolType):
        return bool(value)
    return float(value)

