"""The verifier: every invariant a pass or backend may rely on, checked with precise messages.

Frontends verify what they build and the pass manager verifies after each pass, so a bug is
reported where it was introduced, naming the operation, the operand, and why.
"""

from __future__ import annotations

import math

import numpy as np

from .circuit import ROLES, Circuit
from .diagnostics import VerificationError
from .expr import Const, symbols
from .gates import GATES
from .ops import Barrier, Gate, IfElse, Measure, Reset, SetBits, Unitary
from .program import PAULIS, Counts, ExpVal, Probs, Program, QuantumCall, State, TensorOp
from .tensor_ops import TENSOR_OPS, ShapeError, infer_shape


def verify_circuit(circuit: Circuit) -> None:
    """Raise :class:`VerificationError` at the first broken invariant."""
    verify_declarations(circuit)
    _verify_body(circuit, circuit.ops, {p.name: p for p in circuit.params},
                 f"circuit {circuit.name!r}")


def verify_declarations(circuit: Circuit) -> None:
    """The invariants of the registers and parameters alone (cheap: no operation is read)."""
    where = f"circuit {circuit.name!r}"
    _unique([r.name for r in circuit.qregs + circuit.cregs], f"{where}: register")
    _unique([p.name for p in circuit.params], f"{where}: parameter")
    for p in circuit.params:
        if p.role not in ROLES:
            raise VerificationError(f"{where}: parameter {p.name!r} has role {p.role!r}, "
                                    f"expected one of {', '.join(ROLES)}")


class _Problem(Exception):
    """What is wrong with one operation; :func:`_verify_body` adds where it is."""


def _verify_body(circuit, ops, params, where) -> None:
    # The location is only written when something is wrong: this runs after every pass.
    width = (circuit.num_qubits, circuit.num_clbits)
    for position, op in enumerate(ops):
        try:
            if isinstance(op, IfElse):
                at = f"{where}, operation {position} ({_describe(op)})"
                _verify_condition(op, width)
                _verify_body(circuit, op.then_body, params, f"{at}, then-block")
                _verify_body(circuit, op.else_body, params, f"{at}, else-block")
            else:
                _verify_op(circuit, op, params, width)
        except _Problem as problem:
            raise VerificationError(f"{where}, operation {position} ({_describe(op)}): "
                                    f"{problem}") from None


def _verify_op(circuit, op, params, width) -> None:
    if isinstance(op, Gate):
        spec = GATES.get(op.name)
        if spec is None:
            raise _Problem(f"unknown gate {op.name!r}")
        if len(op.qubits) != spec.num_qubits:
            raise _Problem(f"gate {op.name!r} acts on {spec.num_qubits} qubit(s), got "
                           f"{len(op.qubits)}")
        if len(op.params) != spec.num_params:
            raise _Problem(f"gate {op.name!r} takes {spec.num_params} parameter(s), got "
                           f"{len(op.params)}")
        _check_qubits(circuit, op.qubits, width)
        for expr in op.params:
            if not isinstance(expr, Const):
                for sym in symbols(expr):
                    _check_symbol(sym, params)
    elif isinstance(op, Unitary):
        _check_qubits(circuit, op.qubits, width)
        d = 2 ** len(op.qubits)
        if op.matrix.shape != (d, d):
            raise _Problem(f"matrix has shape {op.matrix.shape}, expected ({d}, {d}) for "
                           f"{len(op.qubits)} qubit(s)")
        if not np.allclose(op.matrix.conj().T @ op.matrix, np.eye(d), atol=1e-8):
            raise _Problem("matrix is not unitary")
    elif isinstance(op, Measure):
        _check_qubits(circuit, (op.qubit,), width)
        _check_clbits((op.clbit,), width)
    elif isinstance(op, Reset):
        _check_qubits(circuit, (op.qubit,), width)
    elif isinstance(op, Barrier):
        _check_qubits(circuit, op.qubits, width)
    elif isinstance(op, SetBits):
        _check_clbits(op.clbits, width)
        if len(set(op.clbits)) != len(op.clbits) or not op.clbits:
            raise _Problem("set needs distinct classical bits")
        if not 0 <= op.value < 2 ** len(op.clbits):
            raise _Problem(f"value {op.value} does not fit in {len(op.clbits)} bit(s)")
    else:
        raise _Problem("not an operation")


def _verify_condition(op: IfElse, width) -> None:
    cond = op.condition
    _check_clbits(cond.clbits, width)
    if not 0 <= cond.value < 2 ** len(cond.clbits):
        raise _Problem(f"condition value {cond.value} does not fit in {len(cond.clbits)} "
                       f"bit(s)")


def _check_qubits(circuit, qubits, width) -> None:
    for q in qubits:
        if not 0 <= q < width[0]:
            raise _Problem(f"qubit {q} is out of range (the circuit has {width[0]})")
    if len(qubits) > 1 and len(set(qubits)) != len(qubits):
        raise _Problem(f"qubit {circuit.qubit_name(_first_repeat(qubits))} is used twice")


def _check_clbits(clbits, width) -> None:
    for c in clbits:
        if not 0 <= c < width[1]:
            raise _Problem(f"classical bit {c} is out of range (the circuit has {width[1]})")


def _check_symbol(sym, params) -> None:
    param = params.get(sym.name)
    if param is None:
        raise _Problem(f"parameter {sym.name!r} is not declared")
    if len(sym.index) != len(param.shape) or any(
            not 0 <= i < n for i, n in zip(sym.index, param.shape)):
        raise _Problem(f"index {list(sym.index)} is out of range for {sym.name!r} of shape "
                       f"{list(param.shape)}")


def _first_repeat(items):
    return next(x for x in items if list(items).count(x) > 1)


def _describe(op) -> str:
    if isinstance(op, Gate):
        return f"{op.name} on qubits {list(op.qubits)}"
    if isinstance(op, IfElse):
        return f"if on bits {list(op.condition.clbits)}"
    return type(op).__name__.lower()


def _unique(names, what) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise VerificationError(f"{what} {name!r} is declared twice")
        seen.add(name)


def output_shape(circuit: Circuit, call: QuantumCall) -> tuple[int, ...]:
    """Per-sample shape of what a quantum call returns."""
    out = call.output
    if isinstance(out, ExpVal):
        return (len(out.observables),)
    if isinstance(out, Probs):
        return (2 ** len(out.qubits or range(circuit.num_qubits)),)
    if isinstance(out, Counts):
        return (2 ** (circuit.num_clbits or circuit.num_qubits),)
    if isinstance(out, State):
        return (2 ** circuit.num_qubits,)
    raise VerificationError(f"call {call.result!r}: unknown output {out!r}")


def value_shapes(program: Program, *, bodies: bool = True) -> dict[str, tuple[int, ...]]:
    """Verify ``program`` and return the per-sample shape of every value it defines;
    ``bodies=False`` leaves out the circuit bodies (checked already, by the caller)."""
    _unique([c.name for c in program.circuits], "circuit")
    shapes: dict[str, tuple[int, ...]] = {}
    for decl in program.inputs + program.weights:
        if decl.name in shapes:
            raise VerificationError(f"value {decl.name!r} is declared twice")
        shapes[decl.name] = decl.shape
    circuits = {c.name: c for c in program.circuits}
    for circuit in program.circuits if bodies else ():
        verify_circuit(circuit)
    for position, stmt in enumerate(program.body):
        at = f"statement {position} ({stmt.result!r})"
        if stmt.result in shapes:
            raise VerificationError(f"{at}: value {stmt.result!r} is defined twice")
        if isinstance(stmt, QuantumCall):
            shapes[stmt.result] = _verify_call(stmt, circuits, shapes, at)
        elif isinstance(stmt, TensorOp):
            shapes[stmt.result] = _verify_tensor_op(stmt, shapes, at)
        else:
            raise VerificationError(f"{at}: not a statement")
    for name in program.outputs:
        if name not in shapes:
            raise VerificationError(f"output {name!r} is not defined")
    return shapes


def verify_program(program: Program, *, bodies: bool = True) -> None:
    value_shapes(program, bodies=bodies)


def _verify_call(call, circuits, shapes, at):
    circuit = circuits.get(call.circuit)
    if circuit is None:
        raise VerificationError(f"{at}: calls undefined circuit {call.circuit!r}")
    bound = dict(call.args)
    if len(bound) != len(call.args):
        raise VerificationError(f"{at}: a parameter of {call.circuit!r} is bound twice")
    for param in circuit.params:
        if param.name not in bound:
            raise VerificationError(f"{at}: parameter {param.name!r} of circuit "
                                    f"{call.circuit!r} is not bound")
        value = bound.pop(param.name)
        if value not in shapes:
            raise VerificationError(f"{at}: value {value!r} is not defined before use")
        if math.prod(shapes[value]) != math.prod(param.shape) or (
                shapes[value] != param.shape and param.shape):
            raise VerificationError(f"{at}: {value!r} has shape {list(shapes[value])} but "
                                    f"parameter {param.name!r} expects {list(param.shape)}")
    if bound:
        raise VerificationError(f"{at}: circuit {call.circuit!r} has no parameter "
                                f"{next(iter(bound))!r}")
    out = call.output
    if isinstance(out, ExpVal):
        for obs in out.observables:
            for term in obs:
                for q, p in term.paulis:
                    if p not in PAULIS or not 0 <= q < circuit.num_qubits:
                        raise VerificationError(f"{at}: observable factor {p}{q} is not a "
                                                f"Pauli on one of {circuit.num_qubits} qubits")
                qubits = [q for q, _ in term.paulis]
                if len(set(qubits)) != len(qubits):
                    raise VerificationError(f"{at}: an observable term names qubit "
                                            f"{_first_repeat(qubits)} twice")
    if isinstance(out, Probs):
        for q in out.qubits:
            if not 0 <= q < circuit.num_qubits:
                raise VerificationError(f"{at}: probability qubit {q} is out of range")
        if len(set(out.qubits)) != len(out.qubits):
            raise VerificationError(f"{at}: probability qubit {_first_repeat(out.qubits)} is "
                                    "listed twice")
    if isinstance(out, Counts) and out.shots < 1:
        raise VerificationError(f"{at}: shots must be positive, got {out.shots}")
    return output_shape(circuit, call)


def _verify_tensor_op(stmt, shapes, at):
    if stmt.op not in TENSOR_OPS:
        raise VerificationError(f"{at}: unknown operation {stmt.op!r}")
    for name in stmt.operands:
        if name not in shapes:
            raise VerificationError(f"{at}: operand {name!r} is not defined before use")
    try:
        return infer_shape(stmt.op, [shapes[n] for n in stmt.operands], stmt.attr_dict)
    except ShapeError as err:
        raise VerificationError(f"{at}: {stmt.op}: {err}") from None
