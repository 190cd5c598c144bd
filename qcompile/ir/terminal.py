"""Terminal measurements: the ones a simulator may read from the final state.

A measurement is *terminal* when nothing after it can tell that it happened before the end:
no later operation touches its qubit (a gate, reset or measurement, or an if/else block
acting on it) and none reads or writes its classical bit. It then commutes with everything
after it, so it can be moved to the end of the circuit, where sampling the final state once
replaces branching on its outcome. Only measurements at the top level qualify: one inside an
if/else block happens for some classical records only.

The simulator (sampling counts, reading probs, expval and state) and the gradient code
(adjoint when every measurement is terminal) both ask :func:`split_terminal`, so they agree
on which circuits are dynamic.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from .circuit import Circuit
from .ops import Barrier, IfElse, Measure, Reset, SetBits, clbits_of, qubits_of, walk
from .program import ExpVal, Output, PauliTerm


def terminal_indices(ops) -> frozenset[int]:
    """Positions in ``ops`` of the terminal measurements (see the module docstring)."""
    later_qubits: set[int] = set()
    later_clbits: set[int] = set()
    terminal = set()
    for index in range(len(ops) - 1, -1, -1):
        op = ops[index]
        if isinstance(op, Barrier):
            continue
        if (isinstance(op, Measure) and op.qubit not in later_qubits
                and op.clbit not in later_clbits):
            terminal.add(index)
        later_qubits.update(qubits_of(op))
        later_clbits.update(clbits_of(op))
    return frozenset(terminal)


@lru_cache(maxsize=64)
def split_terminal(circuit: Circuit) -> tuple[Circuit, tuple[Measure, ...]]:
    """The circuit without its terminal measurements, and those measurements in order
    (cached: circuits are immutable values and simulators ask once per call)."""
    terminal = terminal_indices(circuit.ops)
    if not terminal:
        return circuit, ()
    kept = [op for index, op in enumerate(circuit.ops) if index not in terminal]
    return circuit.with_ops(kept), tuple(circuit.ops[index] for index in sorted(terminal))


def dynamic_reason(circuit: Circuit) -> str:
    """What makes the circuit more than a unitary followed by terminal measurements (a
    mid-circuit measurement, a reset, feed-forward, a classical write), or '' when nothing
    does."""
    reasons = {Measure: "a mid-circuit measurement", Reset: "a reset",
               IfElse: "classical feed-forward (if/else)", SetBits: "a classical write"}
    for op in walk(split_terminal(circuit)[0].ops):
        if type(op) in reasons:
            return reasons[type(op)]
    return ""


def measured_readout(output: Output, measured: tuple[int, ...] | frozenset[int]) -> Output:
    """What ``output`` reads after the terminal measurements of the ``measured`` qubits.

    Measuring a qubit in the computational basis dephases it: a Pauli term with an X or Y
    factor on it then reads 0, so its coefficient becomes 0 (I and Z terms are unchanged).
    Probabilities and counts are diagonal and read the same before and after.
    """
    if not isinstance(output, ExpVal) or not measured:
        return output
    measured = frozenset(measured)
    observables = tuple(
        tuple(term if not any(q in measured and p in "XY" for q, p in term.paulis)
              else PauliTerm(0.0, term.paulis) for term in observable)
        for observable in output.observables)
    return replace(output, observables=observables)
