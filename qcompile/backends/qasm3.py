"""IR circuit → OpenQASM 3 text, built as an ``openqasm3.ast`` program and printed by
``openqasm3.dumps`` (so the output is well formed by construction).

What the output looks like, and why:

* registers keep the circuit's names (``qubit[n] q;`` / ``bit[m] c;``);
* each symbol used becomes ``input float[64] x_2;`` named by
  :func:`~qcompile.backends.names.parameter_name`, so Qiskit's importer produces
  ``Parameter`` objects named exactly like those of :func:`to_qiskit`;
* floats print with ``repr`` (shortest exact text), ``pi`` by name, so values round-trip;
* conditions are the forms both the OpenQASM 3 grammar and Qiskit's importer accept, and that
  keep ``else`` meaning "the whole condition failed": ``if (c[0])`` / ``if (!c[0])`` for one
  bit, ``if (c == 5)`` for a whole register, ``if (c[{2, 0}] == 1)`` for bits of one register,
  and an alias ``let cond_0 = c[{1}] ++ d[{0}];`` for bits spread over registers.

Options adapt the text to stricter consumers (see docs/qasm.md): ``single_creg`` for those
that take one bit register and test bits one at a time (Amazon Braket), ``basis`` for those
that only know a few gates, ``decompose_unitaries`` for those that read no ``gate``
definitions, ``hoist_functions`` for those that cannot evaluate function calls (``sin(x_0)``)
or ``**`` (Qiskit's importers): such angles become inputs that the caller computes from
:func:`hoisted_angles`. The text says so in comments after its version line: which input
stands for which expression, or, without ``hoist_functions``, that Qiskit cannot read the
angles that need it, so that no consumer is left to find out from an import error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import groupby

import numpy as np
import openqasm3
from openqasm3 import ast

from ..ir import (GATES, Barrier, Circuit, Condition, Gate, IfElse, Measure, QCompileError,
                  Register, Reset, SetBits, Unitary, verify_circuit)
from ..ir.expr import Binary, Const, Expr, Symbol, Unary, fold, symbols
from ..ir.ops import constant_matrix, walk
from ..ir.spellings import openqasm_declared, openqasm_name
from ..passes.translate_basis import gates_in_basis
from .qasm3_gates import qiskit_gate_name, synthesize_unitary
from .names import IDENTIFIER, RESERVED, parameter_name

_BINARY = {op: ast.BinaryOperator[op] for op in ("+", "-", "*", "/", "**")}


def emit_qasm3(circuit: Circuit, *, decompose_unitaries: bool = False,
               basis: tuple[str, ...] | None = None, single_creg: bool = False,
               hoist_functions: bool = False) -> str:
    """OpenQASM 3 source for ``circuit``.

    ``Unitary`` ops become one ``gate unitary_N`` definition per distinct matrix, synthesized
    into ``U``/``cx`` by ``qiskit.synthesis``, and IR gates missing from ``stdgates.inc``
    (``rzz``, ``iswap``, ...) get exact ``gate`` definitions. With ``decompose_unitaries``
    both are written inline at each use instead, so the output declares no gates.

    ``basis`` (IR gate names, e.g. ``("rz", "sx", "x", "cx")``): every gate and unitary is
    translated into those gates by Qiskit's transpiler; symbolic parameters stay symbolic.
    Global phases are dropped: no measurement can observe them, not even inside a branch.

    ``single_creg``: all classical bits in one register ``bit[n] c`` (flat index order; named
    ``c`` unless that name is taken) and conditions as tests of single bits, ``if (c[k])`` /
    ``if (c[k] == false)``, nested for several bits with the ``else`` body repeated at each
    level, so that it still runs exactly when the whole condition fails. A test of a bit that
    no measurement can have written yet is decided here (the bit is 0); if a bit may or may
    not have been written, the register starts as ``"0...0"`` (Braket cannot read an unwritten
    bit; Qiskit's importer rejects initializers, so they appear only when needed).

    ``hoist_functions``: each gate angle whose expression calls a function or uses ``**``
    becomes an ``input float[64] angle_N;`` (N counting up, skipping names already taken;
    identical angles share one input), declared after the circuit's own inputs. Arithmetic
    with ``+ - * /`` stays inline. :func:`hoisted_angles` gives each such input's expression,
    and a comment per input records it in the text. Without it, a text whose angles need it
    opens with a comment saying that Qiskit's importer cannot read it.
    """
    emitter = _emitter(circuit, decompose_unitaries, basis, single_creg, hoist_functions)
    version, rest = openqasm3.dumps(emitter.program()).split("\n", 1)
    return "\n".join([version, *(f"// {line}" for line in emitter.notes()), rest])


def hoisted_angles(circuit: Circuit, *, decompose_unitaries: bool = False,
                   basis: tuple[str, ...] | None = None, single_creg: bool = False
                   ) -> dict[str, Expr]:
    """Input name → angle expression for the inputs that ``hoist_functions=True`` declares,
    in declaration order, for the same other options (they change the angles written).

    Bind each input to ``qcompile.ir.expr.evaluate(expr, values)``, which evaluates it for a
    whole batch under the simulator's binding rule (inputs with a leading batch axis).
    """
    emitter = _emitter(circuit, decompose_unitaries, basis, single_creg, hoist_functions=True)
    emitter.program()
    return {name: expr for expr, name in emitter.hoisted.items()}


def _emitter(circuit: Circuit, decompose_unitaries: bool, basis, single_creg: bool,
             hoist_functions: bool) -> _Emitter:
    verify_circuit(circuit)
    if basis is not None:
        basis = tuple(basis)
    return _Emitter(circuit, decompose_unitaries, basis, single_creg, hoist_functions)


@dataclass(frozen=True)
class _Written:
    """Classical bits a measurement (or set) may have written, and surely has, at a program
    point."""

    maybe: frozenset[int] = frozenset()
    surely: frozenset[int] = frozenset()

    def measured(self, bit: int) -> _Written:
        return _Written(self.maybe | {bit}, self.surely | {bit})

    def join(self, other: _Written) -> _Written:
        """After a branch: written on either path, or surely on both."""
        return _Written(self.maybe | other.maybe, self.surely & other.surely)


class _Emitter:
    def __init__(self, circuit: Circuit, decompose_unitaries: bool,
                 basis: tuple[str, ...] | None, single_creg: bool, hoist_functions: bool):
        self.circuit = circuit
        self.decompose_unitaries = decompose_unitaries
        self.basis = basis
        self.single_creg = single_creg
        self.hoist_functions = hoist_functions
        self.inputs = _input_names(circuit)
        declared = circuit.qregs if single_creg else circuit.qregs + circuit.cregs
        self.taken = _check_names(circuit, declared, self.inputs)
        self.cregs = circuit.cregs
        if single_creg and circuit.num_clbits:
            name = "c" if "c" not in self.taken else self.fresh_name("c")
            self.taken.add(name)
            self.cregs = (Register(name, circuit.num_clbits),)
        self.qubits = _bit_locations(circuit.qregs)
        self.clbits = _bit_locations(self.cregs)
        self.definitions: dict[str, ast.QuantumGateDefinition] = {}
        self.unitary_names: dict[bytes, str] = {}
        self.used_inputs: set[str] = set()  # single_creg may drop branches, and their inputs
        self.hoisted: dict[Expr, str] = {}  # angle → its input, in order of first use
        self.unreadable: set[str] = set()  # what Qiskit cannot read in unhoisted angles
        self.written = _Written()
        self.zero_start = False  # a condition may read a bit no measurement has written

    def program(self) -> ast.Program:
        body = self.statements(self.circuit.ops)
        header: list[ast.Statement] = [ast.Include("stdgates.inc")]
        header += self.definitions.values()
        inputs = [name for name in self.inputs if name in self.used_inputs]
        header += [ast.IODeclaration(ast.IOKeyword.input, ast.FloatType(ast.IntegerLiteral(64)),
                                     ast.Identifier(name))
                   for name in inputs + list(self.hoisted.values())]
        header += [ast.QubitDeclaration(ast.Identifier(r.name), ast.IntegerLiteral(r.size))
                   for r in self.circuit.qregs]
        header += [ast.ClassicalDeclaration(
            ast.BitType(ast.IntegerLiteral(r.size)), ast.Identifier(r.name),
            ast.BitstringLiteral(0, r.size) if self.zero_start else None) for r in self.cregs]
        return ast.Program(header + body, version="3.0")

    def notes(self) -> list[str]:
        """The comments for the text once :meth:`program` has run: the hoisted inputs'
        expressions, or what in the angles Qiskit's importer cannot read."""
        if self.hoisted:
            return ["inputs computed by the caller from the circuit's own "
                    "(qcompile.backends.qasm3.hoisted_angles gives them):",
                    *(f"{name} = {openqasm3.dumps(expression(expr))}"
                      for expr, name in self.hoisted.items())]
        if self.unreadable:
            return [f"Qiskit's importer (qiskit.qasm3.loads) cannot read the gate angles here "
                    f"that use {', '.join(sorted(self.unreadable))}; emit with "
                    "hoist_functions=True (qcompile compile --emit qasm3-qiskit) for it"]
        return []

    # --- statements ----------------------------------------------------------------------

    def statements(self, ops) -> list[ast.Statement]:
        out: list[ast.Statement] = []
        for op in ops:
            if isinstance(op, Gate):
                out.extend(self.gate(op))
            elif isinstance(op, Unitary):
                out.extend(self.unitary(op))
            elif isinstance(op, Measure):
                out.append(ast.QuantumMeasurementStatement(
                    ast.QuantumMeasurement(self.qubit(op.qubit)), self.clbit(op.clbit)))
                self.written = self.written.measured(op.clbit)
            elif isinstance(op, Reset):
                out.append(ast.QuantumReset(self.qubit(op.qubit)))
            elif isinstance(op, SetBits):
                for k, bit in enumerate(op.clbits):
                    out.append(ast.ClassicalAssignment(
                        self.clbit(bit), ast.AssignmentOperator["="],
                        ast.BooleanLiteral(bool(op.value >> k & 1))))
                    self.written = self.written.measured(bit)
            elif isinstance(op, Barrier):
                out.append(ast.QuantumBarrier([self.qubit(q) for q in op.qubits]))
            elif isinstance(op, IfElse):
                out.extend(self.bitwise_if_else(op) if self.single_creg else self.if_else(op))
            else:
                raise TypeError(f"cannot emit {op!r}")
        return out

    def gate(self, op: Gate) -> list[ast.Statement]:
        if self.basis is not None and op.name not in self.basis:
            return self.in_basis(op)
        # A basis keeps its own spelling of standard gates (u1 stays u1).
        keep = self.basis is not None and openqasm_declared(op.name)
        name = op.name if keep else openqasm_name(op.name)
        if not (name is None or openqasm_declared(name) or op.definition()):
            return self.unitary(_as_unitary(op))
        if name is None or (not openqasm_declared(name) and self.decompose_unitaries):
            return [s for inner in op.definition() for s in self.gate(inner)]
        if not openqasm_declared(name):
            self.define(name)
        return [ast.QuantumGate([], ast.Identifier(name), [self.argument(p) for p in op.params],
                                [self.qubit(q) for q in op.qubits])]

    def define(self, name: str) -> None:
        """Declare ``gate name(p0, ...) a, b, ... { ... }`` from the gate library's exact
        definition (global phase included), after the definitions it uses."""
        if name in self.definitions:
            return
        spec = GATES[name]
        params = [Symbol(f"p{k}") for k in range(spec.num_params)]
        qubits = [ast.Identifier(chr(ord("a") + k)) for k in range(spec.num_qubits)]
        body = []
        for inner in _spelled(Gate(name, range(spec.num_qubits), params).definition()):
            if not openqasm_declared(inner.name):
                self.define(inner.name)
            body.append(ast.QuantumGate([], ast.Identifier(inner.name),
                                        [expression(fold(p)) for p in inner.params],
                                        [qubits[q] for q in inner.qubits]))
        # Parameters are named p0, p1, ...: Qiskit's importer (qiskit_qasm3_import 0.6) binds
        # a definition's arguments in the sorted order of their names, which this keeps.
        self.definitions[name] = ast.QuantumGateDefinition(
            ast.Identifier(name), [ast.Identifier(f"p{k}") for k in range(spec.num_params)],
            qubits, body)

    def argument(self, param: Expr) -> ast.Expression:
        """A gate argument: the angle's expression, or the hoisted input standing for it."""
        param = fold(param)
        needs = _beyond_arithmetic(param)
        if self.hoist_functions and needs:
            if param not in self.hoisted:
                self.hoisted[param] = self.fresh_name("angle")
            return ast.Identifier(self.hoisted[param])
        self.unreadable |= needs
        self.used_inputs.update(parameter_name(s) for s in symbols(param))
        return expression(param)

    def unitary(self, op: Unitary) -> list[ast.Statement]:
        if self.basis is not None:
            return self.in_basis(op)
        if self.decompose_unitaries:
            synthesized = synthesize_unitary(op.matrix)
            return _synthesized_body(synthesized, [self.qubit(q) for q in op.qubits])
        key = op.matrix.tobytes()
        if key not in self.unitary_names:
            name = self.fresh_name("unitary")
            self.unitary_names[key] = name
            self.definitions[name] = _unitary_definition(name, op.matrix)
        return [ast.QuantumGate([], ast.Identifier(self.unitary_names[key]), [],
                                [self.qubit(q) for q in op.qubits])]

    def in_basis(self, op: Gate | Unitary) -> list[ast.Statement]:
        return [s for gate in gates_in_basis(op, self.basis) for s in self.gate(gate)]

    def branches(self, op: IfElse) -> tuple[list[ast.Statement], list[ast.Statement]]:
        """Both bodies' statements, each emitted from the state before the branch."""
        before = self.written
        then_body = self.statements(op.then_body)
        after_then, self.written = self.written, before
        else_body = self.statements(op.else_body)
        self.written = after_then.join(self.written)
        return then_body, else_body

    def if_else(self, op: IfElse) -> list[ast.Statement]:
        prelude, condition = self.condition(op.condition)
        branch = ast.BranchingStatement(condition, *self.branches(op))
        return [*prelude, branch]

    def bitwise_if_else(self, op: IfElse) -> list[ast.Statement]:
        """``single_creg`` conditions: one nested ``if`` per bit not known statically."""
        tests = []
        for k, bit in enumerate(op.condition.clbits):
            wanted = bool(op.condition.value >> k & 1)
            if bit not in self.written.maybe:  # never written: it reads 0
                if wanted:
                    return self.statements(op.else_body)
                continue
            self.zero_start |= bit not in self.written.surely
            tests.append((bit, wanted))
        if not tests:
            return self.statements(op.then_body)
        nested, else_body = self.branches(op)
        for bit, wanted in reversed(tests):
            test = self.bit_expression(bit)
            if not wanted:
                test = ast.BinaryExpression(ast.BinaryOperator["=="], test,
                                            ast.BooleanLiteral(False))
            # The else branch stands under every test; the tree is only printed, so the
            # tests share one copy of it (copies would multiply down nested conditions).
            nested = [ast.BranchingStatement(test, nested, else_body)]
        return nested

    def condition(self, cond: Condition) -> tuple[list[ast.Statement], ast.Expression]:
        """The test for ``cond`` as one expression, with an alias declaration if it needs one."""
        if len(cond.clbits) == 1:
            bit = self.bit_expression(cond.clbits[0])
            return [], bit if cond.value else ast.UnaryExpression(ast.UnaryOperator["!"], bit)
        runs = [(register, [offset for _, offset in run]) for register, run in
                groupby((self.clbits[b] for b in cond.clbits), key=lambda loc: loc[0])]
        prelude: list[ast.Statement] = []
        if len(runs) == 1 and runs[0][1] == list(range(self.register_size(runs[0][0]))):
            tested: ast.Expression = ast.Identifier(runs[0][0])
        else:
            parts = [ast.IndexExpression(ast.Identifier(register),
                                         ast.DiscreteSet([ast.IntegerLiteral(i) for i in offsets]))
                     for register, offsets in runs]
            tested = parts[0]
            if len(parts) > 1:  # bits of several registers: only an alias can join them
                joined = parts[0]
                for part in parts[1:]:
                    joined = ast.Concatenation(joined, part)
                tested = ast.Identifier(self.fresh_name("cond"))
                prelude.append(ast.AliasStatement(tested, joined))
        comparison = ast.BinaryExpression(ast.BinaryOperator["=="], tested,
                                          ast.IntegerLiteral(cond.value))
        return prelude, comparison

    # --- operands --------------------------------------------------------------------------

    def qubit(self, index: int) -> ast.IndexedIdentifier:
        register, offset = self.qubits[index]
        return ast.IndexedIdentifier(ast.Identifier(register), [[ast.IntegerLiteral(offset)]])

    def clbit(self, index: int) -> ast.IndexedIdentifier:
        register, offset = self.clbits[index]
        return ast.IndexedIdentifier(ast.Identifier(register), [[ast.IntegerLiteral(offset)]])

    def bit_expression(self, index: int) -> ast.IndexExpression:
        register, offset = self.clbits[index]
        return ast.IndexExpression(ast.Identifier(register), [ast.IntegerLiteral(offset)])

    def register_size(self, name: str) -> int:
        return next(r.size for r in self.cregs if r.name == name)

    def fresh_name(self, stem: str) -> str:
        """``stem_N`` for the smallest N not naming anything else in the program."""
        n = 0
        while f"{stem}_{n}" in self.taken:
            n += 1
        self.taken.add(f"{stem}_{n}")
        return f"{stem}_{n}"


# --- expressions ---------------------------------------------------------------------------

def expression(expr: Expr) -> ast.Expression:
    """The OpenQASM 3 expression for an IR parameter expression, written as it is (the
    emitter folds constants first)."""
    if isinstance(expr, Const):
        return number(expr.value)
    if isinstance(expr, Symbol):
        return ast.Identifier(parameter_name(expr))
    if isinstance(expr, Unary):
        if expr.op == "neg":
            return ast.UnaryExpression(ast.UnaryOperator["-"], expression(expr.arg))
        # IR function names are OpenQASM 3's builtin names (``log`` is the natural log in both).
        return ast.FunctionCall(ast.Identifier(expr.op), [expression(expr.arg)])
    if isinstance(expr, Binary):
        lhs, rhs = expression(expr.lhs), expression(expr.rhs)
        if expr.op == "**" and isinstance(expr.lhs, Binary) and expr.lhs.op == "**":
            # openqasm3.dumps prints (a ** b) ** c without parentheses, which reads back as
            # a ** (b ** c); a no-op cast float[64](a ** b) keeps the grouping.
            lhs = ast.Cast(ast.FloatType(ast.IntegerLiteral(64)), lhs)
        return ast.BinaryExpression(_BINARY[expr.op], lhs, rhs)
    raise TypeError(f"not an expression: {expr!r}")


def _as_unitary(op: Gate) -> Unitary:
    """A gate with no OpenQASM spelling and no definition, written as its matrix."""
    matrix = constant_matrix(op)
    if matrix is None:
        raise QCompileError(f"cannot write gate {op.name!r} in OpenQASM 3: it is not a standard "
                            f"gate and the gate library gives no definition to declare it by, "
                            f"so its symbolic parameters cannot be kept; bind them first")
    return Unitary(matrix, op.qubits, op.name)


def _spelled(gates: list[Gate]) -> list[Gate]:
    """The gates under their OpenQASM 3 names, those written as definitions expanded."""
    out = []
    for gate in gates:
        name = openqasm_name(gate.name)
        out += (_spelled(gate.definition()) if name is None
                else [Gate(name, gate.qubits, gate.params)])
    return out


def _beyond_arithmetic(expr: Expr) -> frozenset[str]:
    """What ``expr`` needs besides ``+ - * /`` and negation: the functions it calls and
    ``**``, which Qiskit's importer cannot read (the one rule for hoisting)."""
    if isinstance(expr, Unary):
        return _beyond_arithmetic(expr.arg) | ({expr.op} - {"neg"})
    if isinstance(expr, Binary):
        own = {"**"} if expr.op == "**" else set()
        return _beyond_arithmetic(expr.lhs) | _beyond_arithmetic(expr.rhs) | own
    return frozenset()


def number(value: float) -> ast.Expression:
    """A float literal that reads back as exactly ``value`` (``pi`` by name)."""
    if not math.isfinite(value):
        raise QCompileError(f"cannot write the angle {value} in OpenQASM 3: only finite numbers "
                            "have a literal; fix the parameter expression that produced it")
    magnitude = abs(value)
    literal = ast.Identifier("pi") if magnitude == math.pi else ast.FloatLiteral(magnitude)
    if math.copysign(1.0, value) < 0:
        return ast.UnaryExpression(ast.UnaryOperator["-"], literal)
    return literal


# --- unitaries -----------------------------------------------------------------------------

def _unitary_definition(name: str, matrix: np.ndarray) -> ast.QuantumGateDefinition:
    synthesized = synthesize_unitary(matrix)
    qubits = [ast.Identifier(f"a{k}") for k in range(synthesized.num_qubits)]
    body = _synthesized_body(synthesized, qubits)
    if synthesized.global_phase:  # keeps the definition exact, e.g. under a later ctrl @
        body.append(ast.QuantumPhase([], number(float(synthesized.global_phase)), []))
    return ast.QuantumGateDefinition(ast.Identifier(name), [], qubits, body)


def _synthesized_body(synthesized, operands) -> list[ast.Statement]:
    """Statements of a synthesized Qiskit circuit applied to ``operands`` (its qubits in order)."""
    return [ast.QuantumGate([], ast.Identifier(qiskit_gate_name(inst.operation)),
                            [number(float(p)) for p in inst.operation.params],
                            [operands[synthesized.find_bit(q).index] for q in inst.qubits])
            for inst in synthesized.data]


# --- names ---------------------------------------------------------------------------------

def _input_names(circuit: Circuit) -> list[str]:
    """Names of every parameter element used, in declaration then index order."""
    used: set[Symbol] = set()
    for op in walk(circuit.ops):
        if isinstance(op, Gate):
            for p in op.params:
                used |= symbols(p)
    order = {p.name: k for k, p in enumerate(circuit.params)}
    return [parameter_name(s) for s in sorted(used, key=lambda s: (order[s.name], s.index))]


def _check_names(circuit: Circuit, registers, inputs: list[str]) -> set[str]:
    """Reject names OpenQASM 3 cannot declare or that collide; return the names taken."""
    taken: dict[str, str] = {}
    named = [(f"register {r.name!r}", r.name) for r in registers]
    named += [(f"parameter element {name!r}", name) for name in inputs]
    for what, name in named:
        if not IDENTIFIER.fullmatch(name) or name in RESERVED:
            raise QCompileError(
                f"cannot emit circuit {circuit.name!r} as OpenQASM 3: {what} is not a usable "
                "OpenQASM 3 identifier (it must be a letter or '_' followed by letters, digits "
                "or '_', and not a keyword or standard gate name); rename it")
        if name in taken:
            raise QCompileError(
                f"cannot emit circuit {circuit.name!r} as OpenQASM 3: {what} and {taken[name]} "
                f"would both be declared as {name!r}; rename one of them")
        taken[name] = what
    return set(taken)


def _bit_locations(registers) -> list[tuple[str, int]]:
    """(register name, offset) of each flat bit index."""
    return [(r.name, offset) for r in registers for offset in range(r.size)]
