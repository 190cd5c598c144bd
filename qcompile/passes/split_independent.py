"""Split circuits whose qubits fall into independent groups, and recombine their readouts.

Qubits that never interact, directly or through classical bits, evolve independently: the
final state is a product ``ρ_A ⊗ ρ_B ⊗ ...``. Each group then runs as its own, narrower
circuit (``2**a + 2**b`` amplitudes instead of ``2**(a+b)``; the parts can go to different
devices), and the caller's readout is rebuilt classically from the parts' readouts:

- expectation values: a Pauli term whose factors lie on several parts is the product of the
  per-part expectations; terms on one part are summed on that part; identity terms ride along
  with any part, since ``<c·I> = c`` in every state;
- probabilities and the statevector: the outer (Kronecker) product of the parts' results,
  written with ``reshape`` into broadcastable shapes, ``mul`` and a final ``reshape``;
- counts are left on the unsplit circuit: sampling draws one joint record per shot.

The recombination uses only existing tensor ops (``slice``, ``mul``, ``scale``, ``add``,
``concat``, ``reshape``), so every backend that runs programs runs the split ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..ir import (Barrier, Circuit, ExpVal, Operation, PauliTerm, Probs, Program, QuantumCall,
                  Register, State, TensorOp)
from ..ir.ops import clbits_of, op_symbols, qubits_of
from ..ir.rewrite import remap
from .base import Pass, PropertySet, fresh_name, option, register_pass


@dataclass(frozen=True)
class Part:
    """One independent group: its qubits and classical bits (ascending, in the original
    numbering) and the circuit that runs them, where they are numbered 0, 1, ... in order."""

    qubits: tuple[int, ...]
    clbits: tuple[int, ...]
    circuit: Circuit


def independent_groups(circuit: Circuit) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The circuit's independent groups as ``(qubits, clbits)``, ordered by lowest qubit.

    Qubits and classical bits are the nodes of a graph: a gate or unitary joins its qubits, a
    measurement its qubit and bit, and an if/else everything it reads or touches (its
    condition decides what happens on all of them). Barriers join nothing: they only order
    operations and change no state. Every qubit is in exactly one group; a bit no operation
    links to a qubit belongs to none.
    """
    import networkx as nx  # slow to import

    graph = nx.Graph()
    graph.add_nodes_from(("q", q) for q in range(circuit.num_qubits))
    for op in circuit.ops:
        if not isinstance(op, Barrier):
            nx.add_path(graph, [("q", q) for q in qubits_of(op)]
                        + [("c", c) for c in clbits_of(op)])
    groups = []
    for component in nx.connected_components(graph):
        qubits = tuple(sorted(i for kind, i in component if kind == "q"))
        if qubits:
            groups.append((qubits, tuple(sorted(i for kind, i in component if kind == "c"))))
    return sorted(groups)


def extract_part(circuit: Circuit, qubits: Sequence[int], clbits: Sequence[int],
                 name: str) -> Part:
    """The operations of one independent group as a circuit of its own.

    Barriers keep their share of qubits in the group; parameters are those its gates use.
    """
    qmap = {q: k for k, q in enumerate(qubits)}
    cmap = {c: k for k, c in enumerate(clbits)}
    ops: list[Operation] = []
    for op in circuit.ops:
        if (isinstance(op, Barrier) or any(q in qmap for q in qubits_of(op))
                or any(c in cmap for c in clbits_of(op))):
            moved = remap(op, qmap.get, cmap)
            if moved is not None:
                ops.append(moved)
    used = {symbol.name for op in ops for symbol in op_symbols(op)}
    params = tuple(p for p in circuit.params if p.name in used)
    cregs = (Register("c", len(clbits)),) if clbits else ()
    part = Circuit(name, (Register("q", len(qubits)),), cregs, params, ops)
    return Part(tuple(qubits), tuple(clbits), part)


# --- rewriting the calls --------------------------------------------------------------------

@dataclass
class _Emitter:
    """Statements replacing one call, with value names that collide with nothing."""

    taken: set[str]
    statements: list = field(default_factory=list)

    def call(self, part: Part, original: QuantumCall, output, label: str) -> str:
        args = tuple((p, v) for p, v in original.args if part.circuit.param(p) is not None)
        result = fresh_name(f"{original.result}.{label}", self.taken)
        self.statements.append(QuantumCall(result, part.circuit.name, args, output))
        return result

    def op(self, op: str, operands: Sequence[str], label: str, **attrs) -> str:
        result = fresh_name(label, self.taken)
        self.statements.append(TensorOp(result, op, tuple(operands), tuple(attrs.items())))
        return result

    def finish(self, pieces: Sequence[str], result: str) -> list:
        """Define ``result`` as the concatenation of ``pieces``; one piece made by the last
        statement simply takes the name."""
        last = self.statements[-1]
        if len(pieces) == 1 and last.result == pieces[0]:
            self.statements[-1] = replace(last, result=result)
        else:
            self.statements.append(TensorOp(result, "concat", tuple(pieces)))
        return self.statements


#: An entry of a part's expval result: (part index, column).
_Entry = tuple[int, int]


def _plan_expval(observables, parts: list[Part]):
    """Which part-local observables to read from each part, and per original observable the
    entries to add up plus the ``(coeff, entries to multiply)`` of its product terms."""
    owner = {q: (k, i) for k, part in enumerate(parts) for i, q in enumerate(part.qubits)}
    requested: list[dict[tuple[PauliTerm, ...], int]] = [{} for _ in parts]

    def request(k: int, observable: tuple[PauliTerm, ...]) -> _Entry:
        return k, requested[k].setdefault(observable, len(requested[k]))

    plans: list[tuple[list[_Entry], list[tuple[float, list[_Entry]]]]] = []
    for observable in observables:
        local: dict[int, list[PauliTerm]] = {}
        constants, products = [], []
        for term in observable:
            by_part: dict[int, list[tuple[int, str]]] = {}
            for q, pauli in term.paulis:
                if pauli != "I":
                    k, i = owner[q]
                    by_part.setdefault(k, []).append((i, pauli))
            if not by_part:
                constants.append(PauliTerm(term.coeff, ()))
            elif len(by_part) == 1:
                [(k, factors)] = by_part.items()
                local.setdefault(k, []).append(PauliTerm(term.coeff, factors))
            else:
                products.append((term.coeff, [request(k, (PauliTerm(1.0, f),))
                                              for k, f in sorted(by_part.items())]))
        if constants or not (local or products):
            # <c I> = c on any part: join a part read anyway (an empty sum reads as 0)
            touched = sorted(local) + [k for _, factors in products for k, _ in factors]
            local.setdefault(touched[0] if touched else 0, []).extend(
                constants or [PauliTerm(0.0, ())])
        plans.append(([request(k, tuple(terms)) for k, terms in sorted(local.items())],
                      products))
    return requested, plans


def _split_expval(call: QuantumCall, parts: list[Part], emit: _Emitter) -> list:
    """One call per part reading the distinct part-local observables needed; then each
    original observable from entries of those results. Observables that are single
    consecutive entries of one part are sliced out together."""
    requested, plans = _plan_expval(call.output.observables, parts)
    results = {k: emit.call(parts[k], call, ExpVal(tuple(requested[k])), f"part{k}")
               for k in range(len(parts)) if requested[k]}
    entries: dict[_Entry, str] = {}

    def entry(k: int, i: int) -> str:
        if (k, i) not in entries:
            entries[k, i] = emit.op("slice", [results[k]], f"{results[k]}.{i}",
                                    start=i, stop=i + 1)
        return entries[k, i]

    runs: list = []  # [part, start, stop] for runs of plain entries, else a value name
    for terms, products in plans:
        if len(terms) == 1 and not products:
            k, i = terms[0]
            if runs and isinstance(runs[-1], list) and runs[-1][0] == k and runs[-1][2] == i:
                runs[-1][2] += 1
            else:
                runs.append([k, i, i + 1])
            continue
        summands = [entry(k, i) for k, i in terms]
        for coeff, factors in products:
            value = entry(*factors[0])
            for factor in factors[1:]:
                value = emit.op("mul", [value, entry(*factor)], f"{call.result}.product")
            if coeff != 1.0:
                value = emit.op("scale", [value], f"{call.result}.term", factor=coeff)
            summands.append(value)
        total = summands[0]
        for summand in summands[1:]:
            total = emit.op("add", [total, summand], f"{call.result}.sum")
        runs.append(total)

    pieces = []
    for run in runs:
        if isinstance(run, str):
            pieces.append(run)
        elif run[1:] == [0, len(requested[run[0]])]:
            pieces.append(results[run[0]])
        else:
            k, start, stop = run
            pieces.append(emit.op("slice", [results[k]], f"{results[k]}.{start}_{stop}",
                                  start=start, stop=stop))
    return emit.finish(pieces, call.result)


def _split_product(call: QuantumCall, parts: list[Part], order: Sequence[int],
                   emit: _Emitter) -> list:
    """Probabilities or amplitudes over the qubits ``order`` (index bit j is ``order[j]``)
    as the outer product of the parts' results.

    Within a part, the qubits keep their relative order, so its result reshapes into the
    joint tensor with size-1 axes where other parts' qubits sit; ``mul`` broadcasts them
    together. Neighbouring positions of one part share one axis.
    """
    owner = {q: k for k, part in enumerate(parts) for q in part.qubits}
    local = {q: i for part in parts for i, q in enumerate(part.qubits)}
    runs: list[list[int]] = []  # [part, number of qubits], least significant first
    for q in order:
        if runs and runs[-1][0] == owner[q]:
            runs[-1][1] += 1
        else:
            runs.append([owner[q], 1])
    involved = sorted({owner[q] for q in order})
    values = []
    for k in involved:
        mine = tuple(local[q] for q in order if owner[q] == k)
        output = State() if isinstance(call.output, State) else Probs(mine)
        values.append(emit.call(parts[k], call, output, f"part{k}"))
    if len(values) == 1:
        return emit.finish(values, call.result)
    product = None
    for k, value in zip(involved, values):
        shape = tuple(2 ** width if owner_k == k else 1 for owner_k, width in reversed(runs))
        factor = emit.op("reshape", [value], f"{value}.axes", shape=shape)
        product = factor if product is None else emit.op("mul", [product, factor],
                                                         f"{call.result}.outer")
    return emit.finish([emit.op("reshape", [product], f"{call.result}.flat",
                                shape=(2 ** len(order),))], call.result)


def _rewrite_call(call: QuantumCall, circuit: Circuit, parts: list[Part],
                  taken: set[str]) -> list:
    emit = _Emitter(taken)
    if isinstance(call.output, ExpVal):
        return _split_expval(call, parts, emit)
    order = (tuple(range(circuit.num_qubits)) if isinstance(call.output, State)
             else call.output.qubits or tuple(range(circuit.num_qubits)))
    return _split_product(call, parts, order, emit)


def _splittable(call: QuantumCall) -> bool:
    """Counts sample the joint record shot by shot, so they stay on the whole circuit."""
    output = call.output
    return isinstance(output, (Probs, State)) or (isinstance(output, ExpVal)
                                                  and bool(output.observables))


@register_pass("split-independent")
@dataclass(frozen=True)
class SplitIndependent(Pass):
    """Split circuits whose qubits form independent groups into one circuit per group.

    A circuit is split when it has at least ``min_parts`` groups (see
    :func:`independent_groups`) and a call reads it as expval, probs or state; each such call
    becomes calls of the parts plus tensor ops that recombine the readout exactly. Counts
    calls keep the original circuit (kept only while some call still uses it). Parts are
    named ``<circuit>_part<k>``; ``properties["split-independent"]`` maps each split circuit
    to its number of parts.
    """

    min_parts: int = option(2, low=2)

    def run(self, program: Program, properties: PropertySet) -> Program:
        calls = [s for s in program.body if isinstance(s, QuantumCall)]
        wanted = {c.circuit for c in calls if _splittable(c)}
        circuit_names = {c.name for c in program.circuits}
        split: dict[str, list[Part]] = {}
        for circuit in program.circuits:
            groups = independent_groups(circuit) if circuit.name in wanted else []
            if len(groups) >= self.min_parts:
                split[circuit.name] = [
                    extract_part(circuit, qubits, clbits,
                                 fresh_name(f"{circuit.name}_part{k}", circuit_names))
                    for k, (qubits, clbits) in enumerate(groups)]
        properties["split-independent"] = {name: len(parts) for name, parts in split.items()}
        if not split:
            return program

        taken = ({d.name for d in program.inputs + program.weights}
                 | {s.result for s in program.body})
        body, still_called = [], set()
        for stmt in program.body:
            if isinstance(stmt, QuantumCall) and stmt.circuit in split and _splittable(stmt):
                body += _rewrite_call(stmt, program.circuit(stmt.circuit), split[stmt.circuit],
                                      taken)
            else:
                body.append(stmt)
                if isinstance(stmt, QuantumCall):
                    still_called.add(stmt.circuit)
        circuits = []
        for circuit in program.circuits:
            if circuit.name not in split or circuit.name in still_called:
                circuits.append(circuit)
            circuits += [part.circuit for part in split.get(circuit.name, ())]
        return replace(program, circuits=tuple(circuits), body=tuple(body))
