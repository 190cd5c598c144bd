"""OpenQASM 2 and 3 → IR circuit.

The ``openqasm3`` reference parser reads both versions (OpenQASM 2 is close to a subset of 3);
this module walks its AST and lowers everything onto the IR: registers flatten in declaration
order, gate definitions are inlined, ``for`` loops with static bounds are unrolled, modifiers
are rewritten (see :mod:`.qasm_modifiers`), and conditions on measured bits become
:class:`IfElse`. ``input float``/``input angle`` declarations become symbolic circuit inputs.

Dropped on purpose: ``gphase`` outside a gate definition (a global phase is unobservable; inside
a definition it is kept, since ``ctrl @`` makes it observable) and pragmas/annotations.
Everything else outside the IR (defcal, extern, subroutines, while loops, timing, run-time
classical computation) is a :class:`QCompileError` naming the construct and its location.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from openqasm3 import ast

from ..ir import (Barrier, Circuit, Condition, Gate, IfElse, Measure, Param, QCompileError,
                  Register, Reset, Symbol, verify_circuit)
from ..ir.gates import GATES, QELIB1, includes
from ..ir.rewrite import remap
from .qasm_expr import CONSTANTS, ExpressionEvaluator, Value, describe_node
from .qasm_gates import INCLUDE_FILES, QELIB1_DEFINITIONS
from .qasm_modifiers import Body, ModifierError, control, inverse, power
from .qasm_syntax import Source, parse

_HEADER = re.compile(r"\A(?:\s+|//[^\n]*(?:\n|\Z)|/\*.*?\*/)*OPENQASM\b", re.S)

#: Statements with no IR counterpart, with the reason given to the user.
_UNSUPPORTED = {
    ast.CalibrationDefinition: "defcal (pulse-level calibration) is not supported",
    ast.CalibrationStatement: "cal blocks (pulse-level calibration) are not supported",
    ast.CalibrationGrammarDeclaration: "defcalgrammar (pulse-level calibration) is not "
                                       "supported",
    ast.ExternDeclaration: "extern functions are not supported (no classical run time)",
    ast.SubroutineDefinition: "def subroutines are not supported; use a gate definition",
    ast.ReturnStatement: "return is not supported (subroutines are not supported)",
    ast.WhileLoop: "while loops are not supported (their bound is only known at run time)",
    ast.Box: "box (timing) is not supported",
    ast.DelayInstruction: "delay (timing) is not supported",
    ast.ClassicalAssignment: "classical assignment is not supported (run-time classical "
                             "computation has no IR form)",
    ast.BreakStatement: "break is not supported",
    ast.ContinueStatement: "continue is not supported",
    ast.SwitchStatement: "switch is not supported",
    ast.EndStatement: "end is not supported",
    ast.ExpressionStatement: "expression statements (subroutine calls) are not supported",
}


def looks_like_qasm(text: str) -> bool:
    """True when the text starts (after blank lines and comments) with an OPENQASM header."""
    return _HEADER.match(text) is not None


def load_qasm(text: str, filename: str = "<qasm>") -> Circuit:
    """Import an OpenQASM 2.0 or 3.x program (version from its header; 3 when absent)."""
    source = Source(text, filename)
    program = parse(source)
    name = Path(filename).stem if filename != "<qasm>" else "main"
    return _Importer(source, _major_version(program, source)).run(program, name)


def _major_version(program: ast.Program, source: Source) -> int:
    if program.version is None:
        return 3
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
class _RunTimeVariable:
    """A classical variable whose value is not known at compile time."""

    declaration: ast.QASMNode


class _Importer:
    def __init__(self, source: Source, version: int):
        self.source = source
        self.version = version
        self.qregs: list[Register] = []
        self.cregs: list[Register] = []
        self.params: list[Param] = []
        self.gates: dict[str, str | _GateDefinition] = {"U": "U"}
        if version == 2:
            self.gates["CX"] = "CX"
        self.scopes: list[dict] = [{}]
        self.expanding: list[str] = []  # gate definitions being inlined, innermost last
        self.phases: list = []  # the global phase each of them has collected so far
        self.evaluator = ExpressionEvaluator(self._lookup_value, self._error)

    def run(self, program: ast.Program, name: str) -> Circuit:
        ops: list = []
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
            raise self._error(f"unknown include file '{node.filename}' (only "
                              f"{' and '.join(sorted(INCLUDE_FILES))} are built in; files are "
                              "not read)", node)
        self.gates.update((name, name) for name in includes(node.filename))
        if node.filename == QELIB1:
            prelude = Source(QELIB1_DEFINITIONS, "<qelib1.inc>")
            for statement in parse(prelude).statements:
                self._define_gate(statement, prelude)

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
        name, kind = node.identifier.name, node.type
        if isinstance(kind, ast.BitType):
            size = None if kind.size is None else self._size(kind.size)
            bits = self._declare_register(node, name, "bit", size, self.cregs)
            self._initialize_bits(node, bits, ops)
        elif isinstance(kind, (ast.IntType, ast.UintType, ast.FloatType, ast.AngleType,
                               ast.BoolType)):
            value = (_RunTimeVariable(node) if node.init_expression is None
                     else _typed(kind, self.evaluator.number(node.init_expression)))
            self._bind(name, value, node)
        else:
            raise self._error(f"{_type_name(kind)} variables are not supported", node)

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

    def _ForInLoop(self, node, ops):
        for value in self._loop_values(node.set_declaration):
            self._scoped(node.block, ops, {node.identifier.name: value})

    def _QuantumGate(self, node, ops):
        self._apply_gate(node, node.name.name, node.arguments, node.qubits, ops)

    def _QuantumPhase(self, node, ops):
        self._apply_gate(node, "gphase", [node.argument], node.qubits, ops)

    def _QuantumMeasurementStatement(self, node, ops):
        if node.target is None:
            raise self._error("a measurement needs a target bit to store its result", node)
        self._measure(node.measure, node.target, ops)

    def _QuantumReset(self, node, ops):
        ops.extend(Reset(q) for q in self._operand(node.qubits, "qubit").indices)

    def _QuantumBarrier(self, node, ops):
        if node.qubits:
            qubits = [q for operand in node.qubits for q in self._operand(operand, "qubit").indices]
        else:
            qubits = range(sum(r.size for r in self.qregs))
        ops.append(Barrier(tuple(dict.fromkeys(qubits))))

    def _BranchingStatement(self, node, ops):
        condition = self._condition(node.condition)
        if isinstance(condition, bool):
            self._scoped(node.if_block if condition else node.else_block, ops, {})
            return
        condition, negated = condition
        then_ops: list = []
        else_ops: list = []
        self._scoped(node.if_block, then_ops, {})
        self._scoped(node.else_block, else_ops, {})
        if negated:
            then_ops, else_ops = else_ops, then_ops
        if then_ops or else_ops:
            ops.append(IfElse(condition, tuple(then_ops), tuple(else_ops)))

    # --- declarations and scopes ----------------------------------------------------------

    def _declare_register(self, node, name: str, kind: str, size: int | None, registers):
        if len(self.scopes) > 1:
            raise self._error(f"{kind} '{name}' must be declared at global scope", node)
        start = sum(r.size for r in registers)
        registers.append(Register(name, 1 if size is None else size))
        bits = _Bits(kind, tuple(range(start, start + registers[-1].size)), size is not None)
        self._bind(name, bits, node)
        return bits

    def _initialize_bits(self, node, bits: _Bits, ops) -> None:
        init = node.init_expression
        if init is None:
            return
        if isinstance(init, ast.QuantumMeasurement):
            self._measure(init, bits, ops)
        elif self.evaluator.number(init) != 0:
            raise self._error("bits can only start as 0 (initial values other than 0 are "
                              "not supported)", init)

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

    def _lookup(self, identifier: ast.Identifier):
        name = identifier.name
        if name.startswith("$"):
            raise self._error(f"physical qubit '{name}' is not supported; declare a qubit "
                              "register", identifier)
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise self._error(f"undeclared identifier '{name}'", identifier)

    def _lookup_value(self, identifier: ast.Identifier) -> Value:
        value = self._lookup(identifier)
        if isinstance(value, _RunTimeVariable):
            raise self._error(f"'{identifier.name}' has no value known at compile time "
                              "(run-time classical variables are not supported)", identifier)
        if isinstance(value, _Bits):
            raise self._error(f"{value.kind} '{identifier.name}' cannot be used as a number "
                              "here", identifier)
        return value

    def _size(self, node) -> int:
        size = self.evaluator.integer(node)
        if size < 1:
            raise self._error(f"size must be positive, got {size}", node)
        return size

    def _loop_values(self, node) -> list[Value]:
        if isinstance(node, ast.RangeDefinition):
            return list(self._range(node, None))
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
        """A gate call with modifiers, broadcast over registers, appended to ``ops``."""
        params = [self.evaluator.value(a) for a in arguments]
        body = self._modified(node, self._gate_body(node, name, params), node.modifiers)
        operands = [self._operand(q, "qubit") for q in qubit_nodes]
        if len(operands) != body.num_qubits:
            raise self._error(f"gate '{_modified_name(node, name)}' acts on {body.num_qubits} "
                              f"qubit(s), got {len(operands)}", node)
        for qubits in self._broadcast(operands, node):
            if len(set(qubits)) != len(qubits):
                raise self._error(f"gate '{name}' is applied to the same qubit twice", node)
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
        bindings = dict(zip(definition.params, params))
        bindings.update((q, _Bits("qubit", (i,), False)) for i, q in enumerate(definition.qubits))
        # A body sees its own arguments and the global constants, never global registers.
        constants = ({k: v for k, v in self.scopes[0].items() if not isinstance(v, _Bits)}
                     if definition.source is self.source else {})
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

    def _modified(self, node, body: Body, modifiers) -> Body:
        try:
            for modifier in reversed(modifiers):
                kind = modifier.modifier.name
                if kind == "inv":
                    body = inverse(body)
                elif kind == "pow":
                    body = power(body, self.evaluator.number(modifier.argument))
                else:
                    count = 1 if modifier.argument is None else self._size(modifier.argument)
                    body = control(body, count, negative=kind == "negctrl")
        except ModifierError as exc:
            raise self._error(str(exc), node) from None
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
            target = self._operand(target, "bit")
        if len(qubits.indices) != len(target.indices):
            raise self._error(f"cannot measure {len(qubits.indices)} qubit(s) into "
                              f"{len(target.indices)} bit(s)", measurement)
        ops.extend(Measure(q, c) for q, c in zip(qubits.indices, target.indices))

    def _condition(self, node) -> bool | tuple[Condition, bool]:
        """A static truth value, or (condition on bits, whether the branches swap)."""
        if isinstance(node, ast.UnaryExpression) and node.op.name == "!":
            inner = self._condition(node.expression)
            return (not inner) if isinstance(inner, bool) else (inner[0], not inner[1])
        if isinstance(node, ast.BinaryExpression) and node.op.name in ("==", "!="):
            bits, value = self._condition_operands(node)
            if bits is not None:
                if not 0 <= value < 2 ** len(bits.indices):
                    raise self._error(f"{value} does not fit in {len(bits.indices)} bit(s)",
                                      node)
                return Condition(bits.indices, value), node.op.name == "!="
        bits = self._bits_in(node)
        if bits is not None:
            if len(bits.indices) != 1:
                raise self._error("a condition on a whole register needs a comparison, such "
                                  "as 'c == 3'", node)
            return Condition(bits.indices, 1), False
        return bool(self.evaluator.number(node))

    def _condition_operands(self, node):
        for bits_node, value_node in ((node.lhs, node.rhs), (node.rhs, node.lhs)):
            bits = self._bits_in(bits_node)
            if bits is not None:
                return bits, self.evaluator.integer(value_node)
        return None, None

    def _bits_in(self, node) -> _Bits | None:
        """The classical bits an expression reads directly (through casts), if any."""
        while isinstance(node, ast.Cast):
            node = node.argument
        if isinstance(node, (ast.Identifier, ast.IndexExpression)):
            root = node
            while isinstance(root, ast.IndexExpression):
                root = root.collection
            if isinstance(root, ast.Identifier) and isinstance(self._lookup(root), _Bits):
                return self._operand(node, "bit")
        return None


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

