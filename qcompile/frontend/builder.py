"""Build hybrid programs from Python: the same IR the ``.qm`` language produces.

The ``.qm`` parser lowers its syntax tree through this module, so both frontends share one
set of checks, one role rule and one naming scheme::

    m = ModelBuilder("zz_vqc")
    x = m.input("x", 2)
    theta = m.weight("theta", 2, 2, 2)
    with m.circuit("classifier", qubits=2, params=[x, theta]) as c:
        c.zz_feature_map(x, reps=2)
        c.ry(theta[0, 0, 0], 0)
        c.cz(0, 1)
    y = m.expval(c, Z(0) @ Z(1))        # or "Z0 Z1"
    m.output(y)
    program = m.build()

Indexing a value (``theta[0, 0, 0]``) gives a :class:`~qcompile.ir.expr.Symbol` for use in
gate angles of a circuit that has that value as a parameter; arithmetic on whole values
(``a + b``, ``2 * a``) adds classical tensor operations.

Role rule: a circuit parameter bound to a program weight is a ``weight``; bound to anything
else (a program input or an intermediate value) it is data, role ``input``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..ir import (GATES, Barrier, Circuit, Condition, Counts, ExpVal, Gate, IfElse, Measure,
                  Param, Probs, Program, QCompileError, QuantumCall, Register, Reset, State,
                  Symbol, TensorDecl, TensorOp, Unitary, verify_program)
from ..ir.controlled import controlled_ops
from ..ir.expr import Expr, as_expr, symbols
from ..ir.rewrite import inverse_block
from ..ir.ops import Operation
from ..ir.tensor_ops import TENSOR_OPS, ShapeError, infer_shape
from ..ir.verify import output_shape
from .observables import Observable, parse_observable, pauli
from .templates import TEMPLATES, apply_template, as_tensor

READOUTS = ("expval", "probs", "counts", "state")


# --- observables ---------------------------------------------------------------------------

def I(qubit: int) -> Observable:  # noqa: E743 - the Pauli's conventional name
    return pauli("I", qubit)


def X(qubit: int) -> Observable:
    return pauli("X", qubit)


def Y(qubit: int) -> Observable:
    return pauli("Y", qubit)


def Z(qubit: int) -> Observable:
    return pauli("Z", qubit)


def as_observable(spec: Observable | str) -> Observable:
    """An :class:`Observable`, or text in the language's syntax such as ``"Z0 Z1 + 0.5 X0"``."""
    if isinstance(spec, Observable):
        return spec
    if isinstance(spec, str):
        return parse_observable(spec)
    raise QCompileError(f"expected an observable such as Z(0) @ Z(1) or 'Z0 Z1', got {spec!r}")


# --- values --------------------------------------------------------------------------------

class Value:
    """A named value of the program: a declared input or weight, or a computed result."""

    def __init__(self, builder: ModelBuilder, name: str, shape: tuple[int, ...]):
        self.builder, self.name, self.shape = builder, name, shape

    def __repr__(self) -> str:
        return f"Value({self.name!r}, shape={list(self.shape)})"

    def symbols(self) -> np.ndarray:
        """The value's elements as symbols (a 0-d array for a scalar)."""
        tensor = np.empty(self.shape, dtype=object)
        for index in np.ndindex(*self.shape):
            tensor[index] = Symbol(self.name, index)
        return tensor

    def __getitem__(self, index) -> Symbol | np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        return element(self.symbols(), index, self.name)

    # Whole-value arithmetic: classical tensor operations.
    def __add__(self, other): return self.builder.arith("add", self, other)
    def __radd__(self, other): return self.builder.arith("add", other, self)
    def __sub__(self, other): return self.builder.arith("sub", self, other)
    def __rsub__(self, other): return self.builder.arith("sub", other, self)
    def __mul__(self, other): return self.builder.arith("mul", self, other)
    def __rmul__(self, other): return self.builder.arith("mul", other, self)
    def __truediv__(self, other): return self.builder.arith("div", self, other)
    def __rtruediv__(self, other): return self.builder.arith("div", other, self)
    def __neg__(self): return self.builder.op("neg", self)


def element(tensor: np.ndarray, index: Sequence, name: str):
    """``tensor[index]`` with checked integer indices; a full index gives the element."""
    if len(index) > tensor.ndim:
        raise QCompileError(f"{name!r} has {tensor.ndim} dimension(s) but {len(index)} "
                            f"indices were given")
    for axis, i in enumerate(index):
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) and not (
                isinstance(i, float) and i.is_integer()):
            raise QCompileError(f"index {i!r} of {name!r} is not an integer")
        if not 0 <= i < tensor.shape[axis]:
            raise QCompileError(f"index {int(i)} is out of range for axis {axis} of {name!r} "
                                f"(size {tensor.shape[axis]})")
    picked = tensor[tuple(int(i) for i in index)]
    return picked if isinstance(picked, np.ndarray) and picked.ndim else (
        picked.item() if isinstance(picked, np.ndarray) else picked)


@dataclass(frozen=True)
class CircuitCall:
    """A circuit with its parameters bound to program values; a readout turns it into a
    :class:`~qcompile.ir.QuantumCall`."""

    circuit: CircuitBuilder
    args: tuple[Value, ...]


# --- circuits ------------------------------------------------------------------------------

#: The most repetitions ``pow`` writes out.
MAX_POWER = 10_000


def _describe(op) -> str:
    return op.name if isinstance(op, Gate) else f"unitary on {len(op.qubits)} qubit(s)"


class CircuitBuilder:
    """Collects the operations of one circuit. Gates and templates are methods by name:
    ``c.ry(angle, 0)``, ``c.cx(0, 1)``, ``c.zz_feature_map(x, reps=2)``."""

    def __init__(self, model: ModelBuilder, name: str, qubits: int, bits: int,
                 params: dict[str, tuple[int, ...]]):
        self.model, self.name = model, name
        self.num_qubits, self.num_clbits = int(qubits), int(bits)
        self.params = params
        self._blocks: list[list[Operation]] = [[]]

    # -- operations
    def gate(self, name: str, qubits: Sequence[int], params: Sequence = ()) -> None:
        spec = GATES.get(name)
        if spec is None:
            raise QCompileError(f"unknown gate {name!r}")
        if len(params) != spec.num_params:
            raise QCompileError(f"gate {name!r} takes {spec.num_params} parameter(s), got "
                                f"{len(params)}")
        if len(qubits) != spec.num_qubits:
            raise QCompileError(f"gate {name!r} acts on {spec.num_qubits} qubit(s), got "
                                f"{len(qubits)}")
        angles = [self._angle(p, name) for p in params]
        self._emit(Gate(name, self._qubits(qubits), angles))

    def template(self, name: str, *args, qubits: Sequence[int] | None = None,
                 **options) -> None:
        tensors = [self._tensor(a) for a in args]
        ops = apply_template(name, tensors, options,
                             None if qubits is None else self._qubits(qubits))
        for op in ops:
            if max(op.qubits, default=-1) >= self.num_qubits:
                raise QCompileError(f"template {name!r} needs {max(op.qubits) + 1} qubits but "
                                    f"circuit {self.name!r} has {self.num_qubits}")
            self._emit(op)

    def measure(self, qubit: int, clbit: int) -> None:
        self._emit(Measure(self._qubits([qubit])[0], self._clbits([clbit])[0]))

    def reset(self, qubit: int) -> None:
        self._emit(Reset(self._qubits([qubit])[0]))

    def barrier(self, *qubits: int) -> None:
        self._emit(Barrier(self._qubits(qubits or range(self.num_qubits))))

    @contextmanager
    def if_test(self, clbits: int | Sequence[int], value: int = 1) -> Iterator[None]:
        """Operations inside run when the bits (first = least significant) read ``value``."""
        bits = self._clbits([clbits] if isinstance(clbits, (int, np.integer)) else clbits)
        if not 0 <= int(value) < 2 ** len(bits):
            raise QCompileError(f"condition value {value} does not fit in {len(bits)} bit(s)")
        self._blocks.append([])
        yield
        body = self._blocks.pop()
        self._emit(IfElse(Condition(bits, int(value)), body))

    @contextmanager
    def else_(self) -> Iterator[None]:
        """The else-branch of the ``if_test`` block just closed."""
        block = self._blocks[-1]
        if not block or not isinstance(block[-1], IfElse) or block[-1].else_body:
            raise QCompileError("else_() must directly follow an if_test() block")
        self._blocks.append([])
        yield
        body = self._blocks.pop()
        block[-1] = IfElse(block[-1].condition, block[-1].then_body, body)

    # -- modifiers: what the operations of a ``with`` block become
    @contextmanager
    def inverse(self) -> Iterator[None]:
        """The block's operations undone: in reverse order, each inverted (unitary only)."""
        self._blocks.append([])
        yield
        for op in inverse_block(self._blocks.pop(), "inverse"):
            self._emit(op)

    @contextmanager
    def power(self, exponent: int) -> Iterator[None]:
        """The block applied ``exponent`` times (an integer; negative: its inverse)."""
        if not isinstance(exponent, (int, np.integer)) or isinstance(exponent, bool):
            raise QCompileError(f"pow needs an integer exponent, got {exponent!r}")
        if abs(int(exponent)) > MAX_POWER:
            raise QCompileError(f"pow({exponent}) repeats the block more than {MAX_POWER} "
                                f"times")
        self._blocks.append([])
        yield
        body = self._blocks.pop()
        ops = inverse_block(body, "pow with a negative exponent") if exponent < 0 else body
        for _ in range(abs(int(exponent))):
            for op in ops:
                self._emit(op)

    @contextmanager
    def controlled(self, *controls: int) -> Iterator[None]:
        """The block's operations applied only when every ``controls`` qubit is |1>; the
        block may not act on a control."""
        wires = self._qubits(controls)
        if len(set(wires)) != len(wires):
            raise QCompileError(f"ctrl names qubit q[{wires[0]}] twice")
        self._blocks.append([])
        yield
        for op in self._blocks.pop():
            if not isinstance(op, (Gate, Unitary)):
                raise QCompileError(f"ctrl can only control gates, not a "
                                    f"{type(op).__name__.lower()}")
            if set(op.qubits) & set(wires):
                raise QCompileError(f"ctrl: the controlled gate {_describe(op)} acts on the "
                                    f"control qubit q[{sorted(set(op.qubits) & set(wires))[0]}]")
            for controlled_op in controlled_ops(op, [(w, 1) for w in wires], " under ctrl"):
                self._emit(controlled_op)

    def __getattr__(self, name: str):
        if name in GATES:
            spec = GATES[name]

            def apply_gate(*args):
                params, qubits = args[:spec.num_params], args[spec.num_params:]
                self.gate(name, qubits, params)
            return apply_gate
        if name in TEMPLATES:
            return lambda *args, **kwargs: self.template(name, *args, **kwargs)
        raise AttributeError(f"{name!r} is neither a gate nor a template")

    # -- parameters and calls
    def param(self, name: str) -> Expr | np.ndarray:
        """The symbols of parameter ``name`` (an Expr for a scalar, else an object array)."""
        if name not in self.params:
            raise QCompileError(f"circuit {self.name!r} has no parameter {name!r}")
        tensor = Value(self.model, name, self.params[name]).symbols()
        return tensor.item() if tensor.ndim == 0 else tensor

    def __call__(self, *args: Value) -> CircuitCall:
        if len(args) != len(self.params):
            raise QCompileError(f"circuit {self.name!r} takes {len(self.params)} argument(s) "
                                f"({', '.join(self.params)}), got {len(args)}")
        values = tuple(self.model._value(a) for a in args)
        for (name, shape), value in zip(self.params.items(), values):
            if value.shape != shape and not (shape == () and math.prod(value.shape) == 1):
                raise QCompileError(f"{value.name!r} has shape {list(value.shape)} but "
                                    f"parameter {name!r} of circuit {self.name!r} expects "
                                    f"{list(shape)}")
        return CircuitCall(self, values)

    def to_circuit(self, roles: dict[str, str] | None = None) -> Circuit:
        roles = roles or {}
        params = [Param(n, roles.get(n, "input"), s) for n, s in self.params.items()]
        cregs = (Register("c", self.num_clbits),) if self.num_clbits else ()
        return Circuit(self.name, (Register("q", self.num_qubits),), cregs, params,
                       self._blocks[0])

    def __enter__(self) -> CircuitBuilder:
        return self

    def __exit__(self, *exc) -> None:
        return None

    # -- checks
    def _emit(self, op: Operation) -> None:
        self._blocks[-1].append(op)

    def _qubits(self, qubits) -> tuple[int, ...]:
        return _indices(qubits, self.num_qubits, "qubit", self.name)

    def _clbits(self, clbits) -> tuple[int, ...]:
        return _indices(clbits, self.num_clbits, "classical bit", self.name)

    def _angle(self, value, gate: str) -> Expr:
        if isinstance(value, np.ndarray):
            if value.size != 1:
                raise QCompileError(f"gate {gate!r} needs a scalar angle, got a tensor of "
                                    f"shape {list(value.shape)}")
            value = value.item()
        if isinstance(value, Value):
            raise QCompileError(f"gate {gate!r} needs a scalar angle; index the tensor "
                                f"{value.name!r}, e.g. {value.name}[0]")
        try:
            angle = as_expr(value)
        except TypeError as err:
            raise QCompileError(f"gate {gate!r}: {err}") from None
        self._check_symbols(angle)
        return angle

    def _tensor(self, value) -> np.ndarray:
        tensor = value.symbols() if isinstance(value, Value) else as_tensor(value)
        for element_ in tensor.flat:
            self._check_symbols(element_)
        return tensor

    def _check_symbols(self, expr: Expr) -> None:
        for sym in symbols(expr):
            if sym.name not in self.params:
                raise QCompileError(f"{sym.name!r} is not a parameter of circuit "
                                    f"{self.name!r} (parameters: "
                                    f"{', '.join(self.params) or 'none'})")


def _indices(values, size: int, what: str, circuit: str) -> tuple[int, ...]:
    out = []
    for v in values:
        if isinstance(v, bool) or not float(v).is_integer():
            raise QCompileError(f"{what} index {v!r} is not an integer")
        if not 0 <= int(v) < size:
            raise QCompileError(f"{what} {int(v)} is out of range: circuit {circuit!r} has "
                                f"{size}")
        out.append(int(v))
    if len(set(out)) != len(out):
        raise QCompileError(f"{what} {next(v for v in out if out.count(v) > 1)} is used twice "
                            f"in one operation")
    return tuple(out)


# --- the model -----------------------------------------------------------------------------

class ModelBuilder:
    """Declares values and circuits, records the dataflow, and builds a verified Program."""

    def __init__(self, name: str = "main"):
        self.name = name
        self._inputs: list[TensorDecl] = []
        self._weights: list[TensorDecl] = []
        self._circuits: dict[str, CircuitBuilder] = {}
        self._body: list[QuantumCall | TensorOp] = []
        self._outputs: list[str] = []
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._roles: dict[str, dict[str, str]] = {}
        self._fresh = 0

    # -- declarations
    def input(self, name: str, *shape: int) -> Value:
        return self._declare(self._inputs, name, shape)

    def weight(self, name: str, *shape: int, frozen: bool = False) -> Value:
        """A weight shared by the batch; ``frozen`` ones are bound at run time like any
        weight but not trained (gradients leave them out)."""
        return self._declare(self._weights, name, shape, trainable=not frozen)

    def value(self, name: str) -> Value:
        """The value called ``name`` (declared or computed)."""
        if name not in self._shapes:
            raise QCompileError(f"{name!r} is not defined")
        return Value(self, name, self._shapes[name])

    def defines(self, name: str) -> bool:
        """Whether ``name`` is a declared or computed value."""
        return name in self._shapes

    def names(self) -> list[str]:
        return list(self._shapes)

    def is_weight(self, name: str) -> bool:
        return any(d.name == name for d in self._weights)

    def circuit(self, name: str, qubits: int, bits: int = 0,
                params: Sequence[Value | str | tuple[str, Sequence[int]]] = ()) -> CircuitBuilder:
        """A new circuit; each parameter is a Value (its name and shape), the name of a
        declared value, or ``(name, shape)``."""
        if name in self._circuits:
            raise QCompileError(f"circuit {name!r} is defined twice")
        if int(qubits) < 1 or int(bits) < 0:
            raise QCompileError(f"circuit {name!r} needs at least one qubit and a "
                                f"non-negative number of bits")
        shapes: dict[str, tuple[int, ...]] = {}
        for p in params:
            pname, pshape = self._param_spec(p)
            if pname in shapes:
                raise QCompileError(f"circuit {name!r} has two parameters named {pname!r}")
            shapes[pname] = pshape
        builder = CircuitBuilder(self, name, qubits, bits, shapes)
        self._circuits[name] = builder
        return builder

    # -- quantum readouts
    def expval(self, call: CircuitCall | CircuitBuilder, *observables: Observable | str,
               name: str | None = None) -> Value:
        if not observables:
            raise QCompileError("expval needs at least one observable, e.g. 'Z0'")
        sums = tuple(as_observable(o).terms for o in observables)
        return self._quantum(call, ExpVal(sums), name)

    def probs(self, call: CircuitCall | CircuitBuilder, *qubits: int,
              name: str | None = None) -> Value:
        return self._quantum(call, Probs(tuple(int(q) for q in qubits)), name)

    def counts(self, call: CircuitCall | CircuitBuilder, shots: int,
               name: str | None = None) -> Value:
        if isinstance(shots, bool) or not float(shots).is_integer() or shots < 1:
            raise QCompileError(f"shots must be a positive integer, got {shots!r}")
        return self._quantum(call, Counts(int(shots)), name)

    def state(self, call: CircuitCall | CircuitBuilder, name: str | None = None) -> Value:
        return self._quantum(call, State(), name)

    # -- classical operations
    def op(self, op: str, *operands: Value | str, name: str | None = None, **attrs) -> Value:
        """One classical tensor operation from :data:`~qcompile.ir.tensor_ops.TENSOR_OPS`."""
        if op not in TENSOR_OPS:
            raise QCompileError(f"unknown operation {op!r}; known: "
                                f"{', '.join(sorted(TENSOR_OPS))}")
        values = [self._value(v) for v in operands]
        attrs = {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in attrs.items()}
        try:
            shape = infer_shape(op, [v.shape for v in values], attrs)
        except (ShapeError, KeyError, TypeError, ValueError) as err:
            detail = err.args[0] if err.args else str(err)
            raise QCompileError(f"{op}: {detail}") from None
        result = self._define(name)
        self._body.append(TensorOp(result, op, tuple(v.name for v in values),
                                   tuple(sorted(attrs.items()))))
        return self._record(result, shape)

    def __getattr__(self, name: str):
        if name in TENSOR_OPS:
            return lambda *operands, **kwargs: self.op(name, *operands, **kwargs)
        raise AttributeError(f"{name!r} is not a tensor operation")

    def output(self, *values: Value | str) -> None:
        for v in values:
            self._outputs.append(self._value(v).name)

    def build(self) -> Program:
        """The verified Program; circuit parameter roles follow their bindings."""
        if not self._outputs:
            raise QCompileError(f"model {self.name!r} has no outputs")
        circuits = []
        for cname, builder in self._circuits.items():
            bound = self._roles.get(cname, {})
            roles = {p: bound.get(p, "weight" if self.is_weight(p) else "input")
                     for p in builder.params}
            circuits.append(builder.to_circuit(roles))
        program = Program(self._inputs, self._weights, circuits, self._body, self._outputs,
                          name=self.name)
        verify_program(program)
        return program

    # -- internals
    def _declare(self, decls: list[TensorDecl], name: str, shape,
                 trainable: bool = True) -> Value:
        shape = tuple(int(n) for n in shape)
        if any(n < 1 for n in shape):
            raise QCompileError(f"{name!r}: every dimension must be positive, got "
                                f"{list(shape)}")
        self._check_new(name)
        decls.append(TensorDecl(name, shape, trainable))
        return self._record(name, shape)

    def _param_spec(self, p) -> tuple[str, tuple[int, ...]]:
        if isinstance(p, Value):
            return p.name, p.shape
        if isinstance(p, str):
            return p, self.value(p).shape
        name, shape = p
        return str(name), tuple(int(n) for n in shape)

    def _quantum(self, call, output, name) -> Value:
        if isinstance(call, CircuitBuilder):
            call = call(*(self.value(p) for p in call.params))
        if not isinstance(call, CircuitCall):
            raise QCompileError(f"a readout needs a circuit call such as circ(x, w), got "
                                f"{call!r}")
        circuit = call.circuit
        roles = self._roles.setdefault(circuit.name, {})
        for pname, arg in zip(circuit.params, call.args):
            role = "weight" if self.is_weight(arg.name) else "input"
            if roles.setdefault(pname, role) != role:
                raise QCompileError(f"parameter {pname!r} of circuit {circuit.name!r} is bound "
                                    f"to {'a weight' if role == 'weight' else 'data'} here "
                                    f"but to {'data' if role == 'weight' else 'a weight'} "
                                    f"elsewhere; bind it consistently or use two circuits")
        self._check_output(circuit, output)
        result = self._define(name)
        qcall = QuantumCall(result, circuit.name,
                            tuple((p, a.name) for p, a in zip(circuit.params, call.args)),
                            output)
        self._body.append(qcall)
        return self._record(result, output_shape(circuit.to_circuit(), qcall))

    @staticmethod
    def _check_output(circuit: CircuitBuilder, output) -> None:
        n = circuit.num_qubits
        if isinstance(output, ExpVal):
            for obs in output.observables:
                for term in obs:
                    for q, _ in term.paulis:
                        if not 0 <= q < n:
                            raise QCompileError(f"observable acts on qubit {q} but circuit "
                                                f"{circuit.name!r} has {n} qubit(s)")
        if isinstance(output, Probs):
            _indices(output.qubits, n, "qubit", circuit.name)

    def arith(self, op: str, a, b, name: str | None = None) -> Value:
        """Whole-value arithmetic (add, sub, mul, div); a number operand becomes a ``scale``
        attribute."""
        a_num, b_num = not isinstance(a, (Value, str)), not isinstance(b, (Value, str))
        if not (a_num or b_num):
            return self.op(op, a, b, name=name)
        if a_num and b_num:
            raise QCompileError("arithmetic on two numbers is not a tensor operation")
        number, value = (float(a), b) if a_num else (float(b), a)
        if op == "add":
            return self.op("scale", value, offset=number, name=name)
        if op == "mul":
            return self.op("scale", value, factor=number, name=name)
        if op == "sub":
            return (self.op("scale", value, factor=-1.0, offset=number, name=name) if a_num
                    else self.op("scale", value, offset=-number, name=name))
        if not a_num and number != 0:  # value / number
            return self.op("scale", value, factor=1.0 / number, name=name)
        raise QCompileError("only division of a value by a non-zero number is supported")

    def _value(self, v: Value | str) -> Value:
        if isinstance(v, Value):
            if v.builder is not self:
                raise QCompileError(f"value {v.name!r} belongs to another model")
            return v
        if isinstance(v, str):
            return self.value(v)
        raise QCompileError(f"expected a value of the model, got {v!r}")

    def _check_new(self, name: str) -> None:
        if name in self._shapes:
            raise QCompileError(f"{name!r} is already defined")

    def _define(self, name: str | None) -> str:
        if name is not None:
            self._check_new(name)
            return name
        while f"_v{self._fresh}" in self._shapes:
            self._fresh += 1
        return f"_v{self._fresh}"

    def _record(self, name: str, shape) -> Value:
        self._shapes[name] = tuple(shape)
        return Value(self, name, tuple(shape))
