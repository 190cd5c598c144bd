"""Kernel-circuits: fidelity kernels as circuits that hardware can run.

``k = fidelity(state(U(x)), state(V(y)))`` needs two statevectors, which only a simulator
has. The same number is a probability of one circuit: compute-uncompute runs U(x) then
V(y)† and reads the probability of all zeros, ``|<0|V(y)† U(x)|0>|² = |<V(y)|U(x)>|²``; the
swap test prepares both states side by side, swaps them under an ancilla in |+> and reads
the ancilla, ``P(0) = (1 + k) / 2``, at twice the width but without inverting V. Either way
the call reads ``probs`` and classical ops turn that into k, so the program keeps its
outputs and its other statements.

A fidelity is rewritten when both operands come from statevector calls of unitary circuits
of one width that nothing else reads; the new circuit takes the parameters of both calls,
those of the second renamed where the names clash.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..ir import (Circuit, Gate, Param, Probs, Program, QuantumCall, Register, State,
                  TensorOp)
from ..ir.expr import rename
from ..ir.rewrite import inverse_block, invertible, remap
from .base import Pass, PropertySet, fresh_name, option, register_pass


def _renamed(op, names):
    if isinstance(op, Gate):
        return Gate(op.name, op.qubits, tuple(rename(p, names) for p in op.params))
    return op


@register_pass("kernel-circuits")
@dataclass(frozen=True)
class KernelCircuits(Pass):
    """Rewrite fidelity kernels of two statevector calls as one circuit read by probs:
    compute-uncompute (default) or a swap test (``method=swap-test``)."""

    method: str = option("compute-uncompute", choices=("compute-uncompute", "swap-test"))

    def run(self, program: Program, properties: PropertySet) -> Program:
        calls = {s.result: s for s in program.body if isinstance(s, QuantumCall)}
        readers: dict[str, int] = {}
        for stmt in program.body:
            for name in getattr(stmt, "operands", ()):
                readers[name] = readers.get(name, 0) + 1
        taken = {d.name for d in program.inputs + program.weights} | {
            s.result for s in program.body} | set(program.outputs)
        circuit_names = {c.name for c in program.circuits}
        circuits, body, dropped = list(program.circuits), [], set()
        replaced: dict[str, list] = {}
        for stmt in program.body:
            if not (isinstance(stmt, TensorOp) and stmt.op == "fidelity"):
                continue
            pair = [calls.get(name) for name in stmt.operands]
            if None in pair or any(not isinstance(c.output, State) for c in pair) or any(
                    readers.get(c.result, 0) != 1 or c.result in program.outputs
                    for c in pair):
                continue
            first, second = (program.circuit(c.circuit) for c in pair)
            if first.num_qubits != second.num_qubits or not (
                    invertible(first.ops) and invertible(second.ops)):
                continue
            circuit, args = self._circuit(stmt.result, first, second, pair, circuit_names)
            circuits.append(circuit)
            probs = fresh_name(f"{stmt.result}.probs", taken)
            read = QuantumCall(probs, circuit.name, args,
                               Probs() if self.method == "compute-uncompute" else Probs((0,)))
            zero = fresh_name(f"{stmt.result}.zero", taken)
            ops = [read, TensorOp(zero, "slice", (probs,), (("start", 0), ("stop", 1)))]
            if self.method == "compute-uncompute":
                ops.append(TensorOp(stmt.result, "reshape", (zero,), (("shape", ()),)))
            else:
                flat = fresh_name(f"{stmt.result}.ancilla", taken)
                ops += [TensorOp(flat, "reshape", (zero,), (("shape", ()),)),
                        TensorOp(stmt.result, "scale", (flat,),
                                 (("factor", 2.0), ("offset", -1.0)))]
            replaced[stmt.result] = ops
            dropped |= {c.result for c in pair}
        if not replaced:
            return program
        for stmt in program.body:
            if stmt.result in dropped:
                continue
            body += replaced.get(stmt.result, [stmt])
        used = {s.circuit for s in body if isinstance(s, QuantumCall)}
        return dataclasses.replace(program, circuits=tuple(c for c in circuits
                                                           if c.name in used),
                                   body=tuple(body))

    def _circuit(self, result: str, first: Circuit, second: Circuit, pair,
                 circuit_names: set[str]) -> tuple[Circuit, tuple]:
        """The kernel circuit and its call's arguments (both calls' bindings)."""
        names = {p.name for p in first.params}
        renames = {p.name: fresh_name(p.name, names) for p in second.params}
        params = first.params + tuple(Param(renames[p.name], p.role, p.shape)
                                      for p in second.params)
        args = tuple(pair[0].args) + tuple((renames[param], value)
                                           for param, value in pair[1].args)
        right = [_renamed(op, renames) for op in second.ops]
        n = first.num_qubits
        if self.method == "compute-uncompute":
            ops = list(first.ops) + inverse_block(right)
            width = n
        else:
            ops = [remap(op, lambda q: 1 + q) for op in first.ops]
            ops += [remap(op, lambda q: 1 + n + q) for op in right]
            ops += [Gate("h", (0,))] + [Gate("cswap", (0, 1 + q, 1 + n + q))
                                        for q in range(n)] + [Gate("h", (0,))]
            width = 2 * n + 1
        name = fresh_name(f"{result}_kernel", circuit_names)
        return Circuit(name, (Register("q", width),), (), params, ops), args
