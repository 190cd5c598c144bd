"""``.qm`` text → IR :class:`~qcompile.ir.Program`.

lark parses the text with ``grammar.lark`` (LALR, positions kept on every node; Pauli
observables come from :mod:`qcompile.frontend.observables`); this module
walks the tree and lowers it through :mod:`qcompile.frontend.builder`, so the language and
the Python API share every check. Circuit bodies are evaluated, not transformed: ``for`` and
``repeat`` unroll with loop variables bound to integers, angles become symbolic
expressions over the circuit's parameters, and an applied ``gate`` definition is inlined: its
body is evaluated with its parameters bound to the arguments and its qubit names to the
circuit's qubits. Every user mistake is a :class:`QCompileError`
pointing at ``file:line:col`` with the source line and a caret.

Unrolling is bounded before it runs (:mod:`qcompile.frontend.limits`): loop counts, every
statement run and every gate applied are spent from one budget per model, gate definitions
nest at most ``MAX_GATE_NESTING`` deep, and numbers and angle expressions no circuit can hold
(infinite, too large, too long to write out) are refused where they are computed.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lark import Token, Tree

from ...ir import GATES, Program, QCompileError
from ...ir.diagnostics import location_in
from ...ir.expr import UNARY_FUNCTIONS, Expr, Unary
from ...ir.tensor_ops import TENSOR_OPS
from .. import builder as qb
from ..lark_syntax import Grammar
from ..limits import (MAX_BITS, MAX_GATE_NESTING, Budget, ExpressionSizes, power,
                      unrepresentable)
from ..observables import TERMINALS, lower_observable
from ..templates import TEMPLATES

# grammar.lark imports the observable rules from frontend/observables.lark.
_GRAMMAR = Grammar(Path(__file__).with_name("grammar.lark"),
                   {**TERMINALS, "NAME": "a name", "INT": "an integer",
                    "_END": "end of statement"},
                   import_paths=[str(Path(__file__).parents[1])])

#: Positional constant arguments of tensor operations, in order, e.g. ``slice(x, 0, 2)``.
POSITIONAL_ATTRS = {
    "slice": ("start", "stop", "axis"), "scale": ("factor", "offset"), "reshape": ("shape",),
    "softmax": ("axis",), "sum": ("axis",), "mean": ("axis",), "layernorm": ("eps",),
    "concat": ("axis",), "quantize": ("bits", "scale", "zero_point"),
    "dequantize": ("scale", "zero_point"),
}
FUNCTIONS = tuple(f for f in UNARY_FUNCTIONS if f != "neg")
_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "mod": "%"}
#: Statements a gate definition may not hold: gates are unitary.
_NON_UNITARY = {"measure": "measure", "reset": "reset", "if_stmt": "if"}
#: Elements of one declared tensor (its symbols are built for every circuit taking it).
MAX_TENSOR_ELEMENTS = 2**20
_MODEL_HEADER = re.compile(r"(?:\s|#[^\n]*)*model[ \t]+[A-Za-z_]\w*[ \t]*(?:[;#\r\n]|$)")


def looks_like_model(text: str) -> bool:
    """True when the first statement (after comments) is ``model NAME``."""
    return _MODEL_HEADER.match(text) is not None


def parse_model(text: str, filename: str = "<model>") -> Program:
    """Parse and lower a ``.qm`` model; the result is verified."""
    tree = _GRAMMAR.parse(text, filename)
    return _Lowering(text, filename).program(tree)


@dataclass(frozen=True)
class _GateDef:
    """A ``gate`` definition, kept as its syntax tree and inlined wherever it is applied."""

    name: str
    params: tuple[str, ...]
    qubits: tuple[str, ...]
    body: Tree


@dataclass(frozen=True)
class _GateScope:
    """While a gate's body is inlined: which gate, the circuit qubit of each qubit name, and
    how many gate bodies are being inlined (this one included)."""

    gate: _GateDef
    qubits: dict[str, int]
    depth: int


class _Lowering:
    """Walks the parse tree, driving a :class:`~qcompile.frontend.builder.ModelBuilder`."""

    def __init__(self, text: str, filename: str):
        self.text, self.filename = text, filename
        self.model: qb.ModelBuilder | None = None
        self.circuits: dict[str, qb.CircuitBuilder] = {}
        self.gates: dict[str, _GateDef] = {}
        self.scope: _GateScope | None = None  # set while a gate body is inlined
        self.budget = Budget(self.error)
        self.sizes = ExpressionSizes()

    # -- locations
    def locate(self, node) -> tuple[int, int]:
        if isinstance(node, Token):
            return node.line, node.column
        return node.meta.line, node.meta.column

    def error(self, message: str, node) -> QCompileError:
        return QCompileError(message, location_in(self.text, self.filename, *self.locate(node)))

    @contextmanager
    def at(self, node) -> Iterator[None]:
        """Attach ``node``'s position to errors raised inside that have none yet."""
        try:
            yield
        except QCompileError as err:
            if err.location is not None:
                raise
            raise self.error(err.message, node) from None

    # -- the program
    def program(self, tree: Tree) -> Program:
        header, *statements = tree.children
        self.model = qb.ModelBuilder(str(header.children[0]))
        returned = False
        for stmt in statements:
            with self.at(stmt):
                try:
                    getattr(self, stmt.data)(stmt)
                except RecursionError:  # each nesting is bounded, but not all of them at once
                    raise self.error("this statement nests too deeply (loops, gate definitions "
                                     "and expressions inside one another)", stmt) from None
            returned |= stmt.data == "return_stmt"
        if not returned:
            raise self.error(f"model {self.model.name!r} has no return statement", header)
        with self.at(header):
            return self.model.build()

    def input_decl(self, tree: Tree) -> None:
        name, shape = tree.children
        self.model.input(str(name), *self.shape(shape))

    def weight_decl(self, tree: Tree) -> None:
        name, shape, frozen = tree.children
        self.model.weight(str(name), *self.shape(shape), frozen=frozen is not None)

    def gate_def(self, tree: Tree) -> None:
        name, params, qubits, body = tree.children
        gate = str(name)
        if gate in GATES or gate in TEMPLATES:
            kind = "gate" if gate in GATES else "template"
            raise self.error(f"{gate!r} is a built-in {kind}; give the definition another "
                             f"name", name)
        if gate in self.gates or gate in self.circuits or self.model.defines(gate):
            raise self.error(f"{gate!r} is already defined", name)
        param_names = [t for t in (params.children if params else ()) if t is not None]
        seen: set[str] = set()
        for token in param_names + qubits.children:
            if str(token) in seen:
                raise self.error(f"gate {gate!r} has two arguments named {str(token)!r}",
                                 token)
            seen.add(str(token))
        definition = _GateDef(gate, tuple(map(str, param_names)),
                              tuple(map(str, qubits.children)), body)
        self.check_gate_body(definition)
        self.gates[gate] = definition

    def check_gate_body(self, gate: _GateDef) -> None:
        """What can be checked before the gate is applied: unitary statements only, qubits
        named by the gate's qubit names, and only gates defined above (so no recursion)."""
        for node in gate.body.iter_subtrees_topdown():
            if node.data in _NON_UNITARY:
                raise self.error(f"gate {gate.name!r} may hold only unitary operations "
                                 f"(gates, templates, loops, barriers); "
                                 f"{_NON_UNITARY[node.data]} belongs in a circuit", node)
            if node.data == "apply":
                used = node.children[0]
                if str(used) == gate.name:
                    raise self.error(f"gate {gate.name!r} applies itself; gate definitions "
                                     f"cannot be recursive", used)
                if not (used in GATES or used in TEMPLATES or used in self.gates):
                    hint = self.hint(str(used), [*GATES, *TEMPLATES, *self.gates])
                    raise self.error(f"unknown gate or template {str(used)!r} in gate "
                                     f"{gate.name!r} (a gate can use built-in gates, templates "
                                     f"and gates defined above it){hint}", used)
            if node.data == "qarg":
                qubit, index = node.children
                if str(qubit) not in gate.qubits:
                    raise self.error(f"{str(qubit)!r} is not a qubit of gate {gate.name!r} "
                                     f"(its qubits are {', '.join(gate.qubits)})", qubit)
                if index is not None:
                    raise self.error(f"{str(qubit)!r} is a single qubit of gate "
                                     f"{gate.name!r}; write it without an index", index)

    def shape(self, tree: Tree | None) -> tuple[int, ...]:
        if tree is None:
            return ()
        sizes = tuple(self.bounded(t, MAX_TENSOR_ELEMENTS, "size") for t in tree.children)
        if math.prod(sizes) > MAX_TENSOR_ELEMENTS:
            raise self.error(f"shape {list(sizes)} has {math.prod(sizes):,} elements; at most "
                             f"{MAX_TENSOR_ELEMENTS:,} are supported", tree)
        return sizes

    def bounded(self, token: Token, limit: int, what: str) -> int:
        """An integer literal of at most ``limit``, judged by its number of digits first
        (``int`` of thousands of digits is slow)."""
        digits = token.lstrip("0")
        if len(digits) > len(str(limit)) or int(token) > limit:
            shown = token if len(token) <= 20 else f"{token[:8]}...({len(token)} digits)"
            raise self.error(f"{what} {shown} is too large; at most {limit:,} is supported",
                             token)
        return int(token)

    def circuit_def(self, tree: Tree) -> None:
        name, *params, qubits, bits, body = tree.children
        if str(name) in self.gates:
            raise self.error(f"{str(name)!r} is already defined as a gate", name)
        specs = []
        for param in params:
            if param is None:
                continue
            pname, shape = param.children
            if shape is None:
                with self.at(pname):
                    specs.append((str(pname), self.model.value(str(pname)).shape))
            else:
                specs.append((str(pname), self.shape(shape)))
        with self.at(name):
            circuit = self.model.circuit(
                str(name), self.bounded(qubits, MAX_BITS, "qubit count"),
                0 if bits is None else self.bounded(bits, MAX_BITS, "bit count"), specs)
        env = {p: circuit.param(p) for p in circuit.params}
        self.block(body, circuit, env)
        self.circuits[str(name)] = circuit

    def assign(self, tree: Tree) -> None:
        target, expr = tree.children
        if (self.model.defines(str(target)) or str(target) in self.circuits
                or str(target) in self.gates):
            raise self.error(f"{str(target)!r} is already defined", target)
        if expr.data in ("name", "number"):
            raise self.error(f"'{target} = ...' must compute something; use the value "
                             f"directly instead of renaming it", expr)
        self.value(expr, str(target))

    def return_stmt(self, tree: Tree) -> None:
        for expr in tree.children:
            value = self.value(expr)
            with self.at(expr):
                self.model.output(self.as_value(value))

    # -- dataflow expressions
    def value(self, tree: Tree, name: str | None = None):
        """Lower a dataflow expression; the outermost operation gets ``name``."""
        with self.at(tree):
            kind = tree.data
            if kind == "name":
                return self.named_value(tree.children[0])
            if kind == "number" or kind == "list" or not self.is_dataflow(tree):
                return self.constant(tree)
            if kind in ("add", "sub", "mul", "div"):
                a, b = (self.value(c) for c in tree.children)
                return self.model.arith(kind, a, b, name)
            if kind == "neg":
                return self.model.op("neg", self.as_value(self.value(tree.children[0])),
                                     name=name)
            if kind == "expval":
                call, *observables = tree.children
                return self.model.expval(
                    self.circuit_call(call),
                    *(lower_observable(o, self.text, self.filename) for o in observables),
                    name=name)
            if kind == "call":
                return self.call(tree, name)
            raise self.error(f"{_PHRASES.get(kind, kind)} is only allowed inside circuits; "
                             f"use slice(...) to take part of a value", tree)

    def is_dataflow(self, tree) -> bool:
        """Whether an expression mentions values (else it is a compile-time constant)."""
        if not isinstance(tree, Tree):
            return False
        if tree.data in ("call", "expval") or (
                tree.data == "name" and str(tree.children[0]) != "pi"):
            return True
        return any(self.is_dataflow(c) for c in tree.children)

    def named_value(self, token: Token) -> qb.Value:
        name = str(token)
        if name in self.circuits:
            raise self.error(f"circuit {name!r} is not a value; read it out with expval, "
                             f"probs, counts or state", token)
        if not self.model.defines(name):
            raise self.error(f"{name!r} is not defined{self.hint(name, self.model.names())}",
                             token)
        return self.model.value(name)

    def as_value(self, value) -> qb.Value:
        if not isinstance(value, qb.Value):
            raise QCompileError("expected a value of the model, not a constant")
        return value

    def call(self, tree: Tree, name: str | None):
        fname, args = tree.children
        op = str(fname)
        positional, keywords = self.split_args(args)
        if op in qb.READOUTS:
            return self.readout(op, positional, keywords, name)
        if op in TENSOR_OPS:
            values = [v for v in positional if self.is_dataflow(v)]
            constants = positional[len(values):]
            if any(self.is_dataflow(c) for c in constants):
                raise self.error(f"{op}: values must come before constant arguments", tree)
            names = POSITIONAL_ATTRS.get(op, ())
            if len(constants) > len(names):
                raise self.error(f"{op} takes at most {len(names)} constant argument(s)"
                                 f"{' (' + ', '.join(names) + ')' if names else ''}", tree)
            attrs = {n: self.constant(c) for n, c in zip(names, constants)}
            for key, expr in keywords.items():
                attrs[key] = self.constant(expr)
            return self.model.op(op, *(self.as_value(self.value(v)) for v in values),
                                 name=name, **attrs)
        if op in self.circuits:
            raise self.error(f"calling circuit {op!r} needs a readout: expval({op}(...), Z0), "
                             f"probs(...), counts(...) or state(...)", tree)
        known = [*TENSOR_OPS, *qb.READOUTS, "expval"]
        raise self.error(f"unknown operation {op!r}{self.hint(op, known)}", fname)

    def readout(self, op: str, positional, keywords, name):
        if not positional:
            raise QCompileError(f"{op} needs a circuit call, e.g. {op}(circ(x))")
        call = self.circuit_call(positional[0])
        rest = [self.constant(c) for c in positional[1:]]
        if op == "probs" and not keywords:
            return self.model.probs(call, *rest, name=name)
        if op == "state" and not rest and not keywords:
            return self.model.state(call, name=name)
        if op == "counts" and len(rest) + len(keywords) == 1 and set(keywords) <= {"shots"}:
            shots = rest[0] if rest else self.constant(keywords["shots"])
            return self.model.counts(call, shots, name=name)
        usage = {"probs": "probs(circ(x)) or probs(circ(x), 0, 1)",
                 "state": "state(circ(x))", "counts": "counts(circ(x), shots=1000)"}
        raise QCompileError(f"wrong arguments to {op}; write {usage[op]}")

    def circuit_call(self, tree) -> qb.CircuitCall:
        if not (isinstance(tree, Tree) and tree.data == "call"
                and str(tree.children[0]) in self.circuits):
            raise self.error("expected a call of a circuit defined above, e.g. circ(x, w)", tree)
        fname, args = tree.children
        positional, keywords = self.split_args(args)
        if keywords:
            raise self.error("circuit arguments are positional", tree)
        values = []
        for arg in positional:
            with self.at(arg):
                values.append(self.as_value(self.value(arg)))
        with self.at(tree):
            return self.circuits[str(fname)](*values)

    def split_args(self, args: Tree | None) -> tuple[list, dict]:
        positional, keywords = [], {}
        for arg in args.children if args is not None else ():
            if isinstance(arg, Tree) and arg.data == "kwarg":
                key, expr = arg.children
                if str(key) in keywords:
                    raise self.error(f"argument {key!r} is given twice", key)
                keywords[str(key)] = expr
            elif keywords:
                raise self.error("positional argument after a keyword argument", arg)
            else:
                positional.append(arg)
        return positional, keywords

    def constant(self, tree):
        """A compile-time constant: a number or a (nested) list of numbers."""
        value = self.expr(tree, {})
        if isinstance(value, np.ndarray):
            if any(isinstance(v, Expr) for v in value.flat):
                raise self.error("expected a constant", tree)
            return value.tolist()
        if isinstance(value, Expr):
            raise self.error("expected a constant", tree)
        return value

    # -- circuit bodies
    def block(self, tree: Tree, circuit: qb.CircuitBuilder, env: dict) -> None:
        """Run a block's statements; each run of a statement is spent from the budget."""
        for stmt in tree.children:
            if stmt is not None:
                self.budget.spend(1, "this statement", stmt)
                with self.at(stmt):
                    getattr(self, "q_" + stmt.data)(stmt, circuit, env)

    def q_apply(self, tree: Tree, circuit: qb.CircuitBuilder, env: dict) -> None:
        *modifiers, name, args, qargs = tree.children
        if modifiers:
            self.modified(modifiers, tree, circuit, env)
            return
        op = str(name)
        positional, keywords = self.split_args(args)
        if op in GATES:
            if keywords:
                raise self.error(f"gate {op!r} takes no keyword arguments", tree)
            if qargs is None:
                raise self.error(f"gate {op!r} needs qubits, e.g. {op} q[0]", tree)
            params = [self.expr(p, env) for p in positional]
            qubit_lists = [self.qubits(q, circuit, env) for q in qargs.children]
            if GATES[op].num_qubits == 1 and len(qubit_lists) == 1:
                self.budget.spend(len(qubit_lists[0]), f"gate {op!r} on every qubit", tree)
                for q in qubit_lists[0]:  # `h q` applies h to every qubit
                    circuit.gate(op, (q,), params)
            else:
                circuit.gate(op, [self.single(q, lst) for q, lst in
                                  zip(qargs.children, qubit_lists)], params)
        elif op in TEMPLATES:
            tensors = [self.expr(p, env) for p in positional]
            options = {k: self.option(v, env) for k, v in keywords.items()}
            qubits = None if qargs is None else [
                q for arg in qargs.children for q in self.qubits(arg, circuit, env)]
            if qubits is None and self.scope is not None:
                qubits = list(self.scope.qubits.values())
            circuit.template(op, *tensors, qubits=qubits, **options)
        elif op in self.gates:
            self.apply_gate(self.gates[op], tree, circuit, env)
        else:
            hint = self.hint(op, [*GATES, *TEMPLATES, *self.gates])
            raise self.error(f"unknown gate or template {op!r}{hint}", name)

    def modified(self, modifiers: list[Tree], tree: Tree, circuit: qb.CircuitBuilder,
                 env: dict) -> None:
        """``inv @``, ``pow(k) @``, ``ctrl(n) @`` applied outermost first: each wraps the
        operations of the rest of the statement; ``ctrl`` takes its controls from the front
        of the qubit list."""
        first, rest = modifiers[0], modifiers[1:]
        *_, name, args, qargs = tree.children
        inner = Tree("apply", [*rest, name, args, qargs], tree.meta)
        if first.data == "inv_modifier":
            with circuit.inverse():
                self.q_apply(inner, circuit, env)
        elif first.data == "pow_modifier":
            with circuit.power(self.integer(first.children[0], env)):
                self.q_apply(inner, circuit, env)
        else:
            count = 1 if first.children[0] is None else self.integer(first.children[0], env)
            given = [] if qargs is None else qargs.children
            if not 1 <= count < len(given):
                raise self.error(f"ctrl({count}) takes its {count} control qubit(s) from the "
                                 f"front of the qubit list and needs at least one more for "
                                 f"the gate; got {len(given)}", tree)
            controls = [self.single(q, self.qubits(q, circuit, env)) for q in given[:count]]
            inner = Tree("apply", [*rest, name, args, Tree("qargs", given[count:],
                                                           qargs.meta)], tree.meta)
            with circuit.controlled(*controls):
                self.q_apply(inner, circuit, env)

    def apply_gate(self, gate: _GateDef, tree: Tree, circuit: qb.CircuitBuilder,
                   env: dict) -> None:
        """Inline ``gate``: its parameters take the argument values (angles or tensors) and
        its qubit names the given qubits; a one-qubit gate applies to a whole register."""
        *_, args, qargs = tree.children
        positional, keywords = self.split_args(args)
        usage = f"{gate.name}({', '.join(gate.params)}) {', '.join(gate.qubits)}"
        if keywords or len(positional) != len(gate.params):
            raise self.error(f"gate {gate.name!r} takes {len(gate.params)} positional "
                             f"parameter(s), got {len(positional) + len(keywords)}; it is "
                             f"defined as {usage}", tree)
        if qargs is None:
            raise self.error(f"gate {gate.name!r} needs qubits; it is defined as {usage}", tree)
        depth = 1 if self.scope is None else self.scope.depth + 1
        if depth > MAX_GATE_NESTING:
            raise self.error(f"gate {gate.name!r} is inlined {depth - 1} levels deep in other "
                             f"gates; at most {MAX_GATE_NESTING} are supported", tree)
        values = dict(zip(gate.params, (self.expr(p, env) for p in positional)))
        qubit_lists = [self.qubits(q, circuit, env) for q in qargs.children]
        if len(gate.qubits) == 1 and len(qubit_lists) == 1:
            targets = [(q,) for q in qubit_lists[0]]
        elif len(qubit_lists) != len(gate.qubits):
            raise self.error(f"gate {gate.name!r} acts on {len(gate.qubits)} qubit(s), got "
                             f"{len(qubit_lists)}; it is defined as {usage}", qargs)
        else:
            targets = [tuple(self.single(q, lst) for q, lst in zip(qargs.children, qubit_lists))]
            repeated = [q for q in targets[0] if targets[0].count(q) > 1]
            if repeated:
                raise self.error(f"qubit q[{repeated[0]}] is given twice to gate "
                                 f"{gate.name!r}", qargs)
        for qubits in targets:
            with self.inlining(_GateScope(gate, dict(zip(gate.qubits, qubits)), depth), tree):
                self.block(gate.body, circuit, values)

    @contextmanager
    def inlining(self, scope: _GateScope, use: Tree) -> Iterator[None]:
        """Evaluate a gate body in ``scope``; errors inside it also name where it was
        applied in the circuit (the outermost application, when gates are inlined inside
        one another), since the same body is inlined at every use."""
        gate = scope.gate
        outer, self.scope = self.scope, scope
        try:
            yield
        except QCompileError as err:
            if outer is not None:
                raise
            line, column = self.locate(use)
            raise type(err)(f"{err.message} (in gate {gate.name!r} applied at "
                            f"{self.filename}:{line}:{column})",
                            err.location or location_in(self.text, self.filename, line,
                                                        column)) from None
        finally:
            self.scope = outer

    def option(self, tree, env):
        """A template option: a bare word such as ``ry`` or ``linear``, or a constant."""
        if tree.data == "name" and str(tree.children[0]) not in env:
            return str(tree.children[0])
        return self.expr(tree, env)

    def q_measure(self, tree: Tree, circuit: qb.CircuitBuilder, env: dict) -> None:
        qarg, carg = tree.children
        qubits, bits = self.qubits(qarg, circuit, env), self.bits(carg, circuit, env)
        if len(qubits) != len(bits):
            raise self.error(f"measuring {len(qubits)} qubit(s) into {len(bits)} bit(s)", tree)
        self.budget.spend(len(qubits), f"measuring {len(qubits)} qubit(s)", tree)
        for q, c in zip(qubits, bits):
            circuit.measure(q, c)

    def q_reset(self, tree: Tree, circuit: qb.CircuitBuilder, env: dict) -> None:
        for arg in tree.children[0].children:
            qubits = self.qubits(arg, circuit, env)
            self.budget.spend(len(qubits), f"resetting {len(qubits)} qubit(s)", arg)
            for q in qubits:
                circuit.reset(q)

    def q_barrier(self, tree: Tree, circuit: qb.CircuitBuilder, env: dict) -> None:
        (qargs,) = tree.children
        everything = [] if self.scope is None else list(self.scope.qubits.values())
        qubits = everything if qargs is None else [
            q for arg in qargs.children for q in self.qubits(arg, circuit, env)]
        circuit.barrier(*qubits)

    def q_if_stmt(self, tree: Tree, circuit: qb.CircuitBuilder, env: dict) -> None:
        carg, value, then_block, else_block = tree.children
        bits = self.bits(carg, circuit, env)
        if value is None and len(bits) != 1:
            raise self.error("a condition on a whole register needs a value: if (c == 3)",
                             carg)
        with self.at(value if value is not None else carg):
            with circuit.if_test(bits, 1 if value is None
                                 else self.bounded(value, 2 ** MAX_BITS, "value")):
                self.block(then_block, circuit, env)
        if else_block is not None:
            with circuit.else_():
                self.block(else_block, circuit, env)

    def q_for_stmt(self, tree: Tree, circuit: qb.CircuitBuilder, env: dict) -> None:
        var, low, high, body = tree.children
        if str(var) in env:
            raise self.error(f"loop variable {str(var)!r} shadows a name already in use", var)
        start, stop = self.integer(low, env), self.integer(high, env)
        count = max(stop - start, 0)
        self.budget.spend(count, f"this for loop of {count:,} iterations", tree)
        for i in range(start, stop):
            self.block(body, circuit, {**env, str(var): i})

    def q_repeat_stmt(self, tree: Tree, circuit: qb.CircuitBuilder, env: dict) -> None:
        count, body = tree.children
        times = self.integer(count, env)
        self.budget.spend(max(times, 0), f"this repeat of {times:,} iterations", tree)
        for _ in range(times):
            self.block(body, circuit, env)

    def qubits(self, qarg: Tree, circuit: qb.CircuitBuilder, env: dict) -> list[int]:
        if self.scope is not None:  # names checked by check_gate_body
            return [self.scope.qubits[str(qarg.children[0])]]
        return self.register(qarg, env, "q", circuit.num_qubits, "qubit")

    def bits(self, qarg: Tree, circuit: qb.CircuitBuilder, env: dict) -> list[int]:
        return self.register(qarg, env, "c", circuit.num_clbits, "bit")

    def register(self, qarg: Tree, env: dict, register: str, size: int, what: str) -> list[int]:
        name, index = qarg.children
        if str(name) != register:
            raise self.error(f"expected a {what} such as {register}[0] (the circuit's {what}s "
                             f"are {register}[0] .. {register}[{max(size - 1, 0)}]), got "
                             f"{str(name)!r}", name)
        if index is None:
            return list(range(size))
        i = self.integer(index, env)
        if not 0 <= i < size:
            raise self.error(f"{what} index {i} is out of range: the circuit has {size} "
                             f"{what}(s)", index)
        return [i]

    def single(self, qarg: Tree, qubits: list[int]) -> int:
        if len(qubits) != 1:
            raise self.error("a multi-qubit gate needs single qubits such as q[0], not a "
                             "whole register", qarg)
        return qubits[0]

    def integer(self, tree, env) -> int:
        value = self.expr(tree, env)
        if isinstance(value, (Expr, np.ndarray)) or not float(value).is_integer():
            raise self.error(f"expected an integer known at compile time, got {value}", tree)
        return int(value)

    # -- angle expressions
    def expr(self, tree, env: dict):
        """Evaluate to a number, an :class:`Expr`, or an object array of them."""
        with self.at(tree):
            kind = tree.data
            if kind == "number":
                text = str(tree.children[0])
                return self.checked(int(text) if text.isdigit() else float(text), tree)
            if kind == "name":
                return self.lookup(tree.children[0], env)
            if kind == "index":
                base, *indices = tree.children
                tensor = self.lookup(base, env)
                if not isinstance(tensor, np.ndarray):
                    raise self.error(f"{str(base)!r} is a scalar and cannot be indexed", base)
                return qb.element(tensor, [self.integer(i, env) for i in indices], str(base))
            if kind == "list":
                items = [self.expr(c, env) for c in tree.children]
                try:
                    return np.array(items, dtype=object)
                except ValueError:
                    raise self.error("list elements have different shapes", tree) from None
            if kind == "neg":
                return self.checked(_negate(self.expr(tree.children[0], env)), tree)
            if kind in _BINARY:
                a, b = (self.expr(c, env) for c in tree.children)
                return self.checked(_binary(_BINARY[kind], a, b), tree)
            if kind == "call":
                return self.checked(self.function(tree, env), tree)
            raise self.error(f"{_PHRASES.get(kind, kind)} is not allowed here", tree)

    def checked(self, value, tree):
        """A computed value, unless some element is no number or expression a circuit can
        hold (:func:`~qcompile.frontend.limits.unrepresentable`, an expression too large)."""
        for element in value.flat if isinstance(value, np.ndarray) else (value,):
            problem = (self.sizes.too_large(element) if isinstance(element, Expr)
                       else unrepresentable(element))
            if problem is not None:
                raise self.error(problem, tree)
        return value

    def lookup(self, token: Token, env: dict):
        name = str(token)
        if name in env:
            return env[name]
        if name == "pi":
            return math.pi
        if self.scope is not None and name in self.scope.qubits:
            raise self.error(f"{name!r} is a qubit of gate {self.scope.gate.name!r}, not an "
                             f"angle", token)
        if self.scope is not None and self.model.defines(name):
            raise self.error(f"{name!r} is not a parameter of gate {self.scope.gate.name!r}; "
                             f"pass it to the gate as an argument", token)
        if self.model is not None and self.model.defines(name):
            raise self.error(f"{name!r} is not a parameter of this circuit; add it to the "
                             f"circuit's parameter list", token)
        raise self.error(f"{name!r} is not defined{self.hint(name, [*env, 'pi'])}", token)

    def function(self, tree: Tree, env: dict):
        fname, args = tree.children
        positional, keywords = self.split_args(args)
        if str(fname) not in FUNCTIONS:
            raise self.error(f"unknown function {str(fname)!r}; functions are "
                             f"{', '.join(FUNCTIONS)}", fname)
        if keywords or len(positional) != 1:
            raise self.error(f"{fname} takes exactly one argument", tree)
        return _unary(str(fname), self.expr(positional[0], env))

    @staticmethod
    def hint(name: str, known) -> str:
        close = difflib.get_close_matches(name, list(known), n=1)
        return f"; did you mean {close[0]!r}?" if close else ""


_PHRASES = {"index": "indexing", "list": "a list", "pow": "'**'", "mod": "'%'",
            "expval": "expval"}


def _elementwise(function, *args):
    """Apply ``function`` to numbers/expressions, elementwise over object arrays."""
    if not any(isinstance(a, np.ndarray) for a in args):
        return function(*args)
    arrays = [np.asarray(a, dtype=object) if isinstance(a, np.ndarray) else _scalar_array(a)
              for a in args]
    try:
        result = np.frompyfunc(function, len(args), 1)(*arrays)
    except ValueError as err:
        raise QCompileError(f"shapes do not broadcast: {err}") from None
    return result if isinstance(result, np.ndarray) else np.array(result, dtype=object)


def _scalar_array(value) -> np.ndarray:
    array = np.empty((), dtype=object)
    array[()] = value
    return array


def _modulo(x, y):
    if isinstance(x, Expr) or isinstance(y, Expr):
        raise QCompileError("'%' needs numbers known at compile time (loop variables and "
                            "constants), not parameters")
    return x % y


_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
              "**": power, "%": _modulo}


def _binary(op: str, a, b):
    def apply(x, y):
        try:
            result = _OPERATORS[op](x, y)
        except (ZeroDivisionError, OverflowError) as err:
            raise QCompileError(f"{x} {op} {y} is undefined ({err})") from None
        if isinstance(result, complex):
            raise QCompileError(f"{x} {op} {y} is not a real number")
        return result
    return _elementwise(apply, a, b)


def _negate(value):
    return _elementwise(lambda x: -x, value)


def _unary(name: str, value):
    def apply(x):
        if isinstance(x, Expr):
            return Unary(name, x)
        with np.errstate(all="ignore"):
            result = float(UNARY_FUNCTIONS[name](x))
        if not math.isfinite(result):
            raise QCompileError(f"{name}({x}) is undefined")
        return result
    return _elementwise(apply, value)
