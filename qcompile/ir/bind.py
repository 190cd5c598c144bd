"""Binding parameter values into a circuit: compile once, bind many.

A compiled circuit keeps its angles symbolic, so one compilation serves every value of its
parameters; :func:`bind` turns it into the concrete circuit for one set of values, without
compiling again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from .allocation import fewer_collections
from .circuit import Circuit
from .diagnostics import QCompileError
from .expr import Const, substitute
from .ops import Gate, IfElse, Operation
from .rewrite import rewrite_blocks


def bind(circuit: Circuit, values: Mapping[str, object]) -> Circuit:
    """``circuit`` with the parameters named in ``values`` replaced by those values (one
    binding: arrays of each parameter's declared shape); the others stay symbolic."""
    arrays = {name: _checked(circuit, name, value) for name, value in values.items()}
    ops = list(circuit.ops)
    for position in _symbolic_positions(circuit):
        op = ops[position]
        ops[position] = (_bound_gate(op, arrays) if isinstance(op, Gate) else
                         IfElse(op.condition, _bound(op.then_body, arrays),
                                _bound(op.else_body, arrays)))
    return replace(circuit, params=tuple(p for p in circuit.params if p.name not in arrays),
                   ops=tuple(ops))


def bind_each(circuit: Circuit, values: Mapping[str, object]) -> list[Circuit]:
    """One bound circuit per row: every array in ``values`` has a leading axis of the same
    length B (B bindings). The same as calling :func:`bind` B times, but faster when the
    circuits are kept (see :mod:`.allocation`)."""
    arrays = {name: np.asarray(value) for name, value in values.items()}
    lengths = {len(array) if array.ndim else None for array in arrays.values()}
    if len(lengths) != 1 or None in lengths:
        raise QCompileError("bind_each: every value needs a leading axis of one length (one "
                            "row per binding); got shapes "
                            + ", ".join(f"{n} {list(a.shape)}" for n, a in arrays.items()))
    with fewer_collections():
        return [bind(circuit, {name: array[row] for name, array in arrays.items()})
                for row in range(lengths.pop())]


def _bound(block, arrays) -> list[Operation]:
    return rewrite_blocks(block, lambda ops: [
        _bound_gate(op, arrays) if isinstance(op, Gate) and _symbolic(op) else op
        for op in ops])


def _bound_gate(gate: Gate, arrays) -> Gate:
    return Gate(gate.name, gate.qubits, tuple(substitute(p, arrays) for p in gate.params))


#: Per circuit (by identity, holding it so that the identity stays its own), where its
#: operations with symbols are: binding many values to one compiled circuit asks each time.
_POSITIONS: dict[int, tuple[Circuit, tuple[int, ...]]] = {}


def _symbolic_positions(circuit: Circuit) -> tuple[int, ...]:
    hit = _POSITIONS.get(id(circuit))
    if hit is None or hit[0] is not circuit:
        positions = tuple(k for k, op in enumerate(circuit.ops)
                          if isinstance(op, IfElse) or isinstance(op, Gate) and _symbolic(op))
        if len(_POSITIONS) >= 64:
            _POSITIONS.pop(next(iter(_POSITIONS)))
        hit = _POSITIONS[id(circuit)] = (circuit, positions)
    return hit[1]


def _symbolic(gate: Gate) -> bool:
    return not all(type(p) is Const for p in gate.params)


def _checked(circuit: Circuit, name: str, value) -> np.ndarray:
    param = circuit.param(name)
    if param is None:
        known = ", ".join(p.name for p in circuit.params) or "none"
        raise QCompileError(f"circuit {circuit.name!r} has no parameter {name!r} "
                            f"(its parameters: {known})")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise QCompileError(f"parameter {name!r}: values must be numbers") from None
    if array.shape != param.shape:
        raise QCompileError(f"parameter {name!r} has shape {param.shape}, the values have "
                            f"shape {array.shape}")
    if not np.isfinite(array).all():
        raise QCompileError(f"parameter {name!r}: values must be finite")
    return array
