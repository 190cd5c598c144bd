"""Random IR circuits for differential tests.

The generator deliberately plants what optimization passes look for (inverse pairs, runs of
single-qubit gates, identity rotations, constant expressions) among arbitrary gates,
mid-circuit measurements, resets and conditionals, so a wrong rewrite is caught quickly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.stats import unitary_group

from qcompile.ir import (GATES, Barrier, Circuit, Condition, Const, ExpVal, Gate, IfElse,
                         Measure, Param, PauliTerm, Register, Reset, SetBits, Symbol, Unitary)
from qcompile.ir.expr import Unary

GATE_NAMES = sorted(GATES)
#: Gates on at most two qubits, for passes that refuse wider ones (routing).
NARROW_GATE_NAMES = [name for name in GATE_NAMES if GATES[name].num_qubits <= 2]


def random_angle(rng: np.random.Generator, symbolic: bool):
    """A constant angle, sometimes exactly 0 or a multiple of pi; or a symbolic expression."""
    kind = rng.integers(6)
    if symbolic and kind < 2:
        x = Symbol("x", (int(rng.integers(2)),))
        w = Symbol("w", (int(rng.integers(3)),))
        return [x * 2.0 + w, Unary("sin", x) * w, w, x - Const(0.5)][rng.integers(4)]
    if kind == 2:
        return Const(0.0)
    if kind == 3:
        return Const(np.pi * rng.integers(-4, 5) / 2)
    if kind == 4:
        return Const(0.25) * Const(rng.uniform(-4, 4)) + Const(0.0)
    return Const(rng.uniform(-2 * np.pi, 2 * np.pi))


def random_gate(rng, num_qubits: int, symbolic: bool, names=GATE_NAMES) -> Gate:
    while True:
        spec = GATES[names[rng.integers(len(names))]]
        if spec.num_qubits <= num_qubits:
            break
    qubits = rng.choice(num_qubits, spec.num_qubits, replace=False)
    return Gate(spec.name, qubits, [random_angle(rng, symbolic) for _ in range(spec.num_params)])


def random_ops(rng, num_qubits: int, num_clbits: int, length: int, *, dynamic: bool,
               symbolic: bool, depth: int = 0, names=GATE_NAMES) -> list:
    ops: list = []
    while len(ops) < length:
        roll = rng.random()
        if dynamic and roll < 0.08 and num_clbits:
            ops.append(Measure(int(rng.integers(num_qubits)), int(rng.integers(num_clbits))))
        elif dynamic and roll < 0.12:
            ops.append(Reset(int(rng.integers(num_qubits))))
        elif dynamic and roll < 0.18 and num_clbits and depth == 0:
            width = int(rng.integers(1, min(num_clbits, 2) + 1))
            bits = tuple(int(b) for b in rng.choice(num_clbits, width, replace=False))
            body = random_ops(rng, num_qubits, num_clbits, int(rng.integers(1, 4)),
                              dynamic=True, symbolic=symbolic, depth=1, names=names)
            other = random_ops(rng, num_qubits, num_clbits, int(rng.integers(0, 3)),
                               dynamic=True, symbolic=symbolic, depth=1, names=names)
            ops.append(IfElse(Condition(bits, int(rng.integers(2 ** len(bits)))), body, other))
        elif dynamic and roll < 0.20 and num_clbits:
            width = int(rng.integers(1, min(num_clbits, 2) + 1))
            bits = tuple(int(b) for b in rng.choice(num_clbits, width, replace=False))
            ops.append(SetBits(bits, int(rng.integers(2 ** width))))
        elif roll < 0.21:
            ops.append(Barrier(tuple(range(num_qubits))))
        elif roll < 0.23:
            k = int(rng.integers(1, min(num_qubits, 2) + 1))
            ops.append(Unitary(unitary_group.rvs(2 ** k, random_state=rng),
                               rng.choice(num_qubits, k, replace=False)))
        elif roll < 0.40:
            gate = random_gate(rng, num_qubits, symbolic, names)
            ops.extend([gate, gate.inverse()])  # a planted inverse pair
        elif roll < 0.55:
            q = int(rng.integers(num_qubits))
            ops.extend(replace(random_gate(rng, 1, symbolic, names), qubits=(q,))
                       for _ in range(int(rng.integers(2, 5))))  # a planted single-qubit run
        else:
            ops.append(random_gate(rng, num_qubits, symbolic, names))
    return ops


def random_circuit(rng: np.random.Generator, num_qubits: int = 3, length: int = 20, *,
                   dynamic: bool = True, symbolic: bool = False, num_clbits: int = 2,
                   names=GATE_NAMES) -> Circuit:
    """A random circuit of the gates ``names``; with ``symbolic`` its angles use parameters
    ``x[2]`` (input) and ``w[3]`` (weight)."""
    num_clbits = num_clbits if dynamic else 0
    ops = random_ops(rng, num_qubits, num_clbits, length, dynamic=dynamic, symbolic=symbolic,
                     names=names)
    params = (Param("x", "input", (2,)), Param("w", "weight", (3,))) if symbolic else ()
    cregs = (Register("c", num_clbits),) if num_clbits else ()
    return Circuit("random", (Register("q", num_qubits),), cregs, params, ops)


def random_values(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One sample of values for the parameters of symbolic random circuits."""
    return {"x": rng.uniform(-np.pi, np.pi, 2), "w": rng.uniform(-np.pi, np.pi, 3)}


def random_observables(rng, num_qubits: int, count: int = 2, terms: int = 3) -> ExpVal:
    """``count`` random Pauli sums (identity terms included)."""
    sums = []
    for _ in range(count):
        sum_terms = []
        for _ in range(terms):
            width = int(rng.integers(0, num_qubits + 1))
            qubits = rng.choice(num_qubits, width, replace=False)
            sum_terms.append(PauliTerm(rng.normal(), tuple(
                (int(q), str(rng.choice(list("IXYZ")))) for q in qubits)))
        sums.append(tuple(sum_terms))
    return ExpVal(tuple(sums))
