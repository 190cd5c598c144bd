"""Reuse-qubits: reschedule a circuit so that its qubits take turns on fewer wires.

Once a qubit's last operation (typically its measurement) is done, its wire can be reset and
carry a qubit whose first operation comes later: the old state is never touched again, so
tracing it out with a reset changes no classical record, and the new qubit still starts in
|0>. Where operations stand in the circuit is not fixed: on the precedence view
(:mod:`qcompile.ir.precedence`, commuting operations may swap) a qubit's gates may run later
and its measurement earlier, which is how Bernstein–Vazirani on n qubits runs on 2 (CaQR,
Hua et al. 2022).

Each qubit's life is split into *lifetimes* at top-level resets (a reset prepares |0>, so
the lifetime after it may go to any wire). "Lifetime b follows lifetime a on a wire" is the
constraint that all of a's operations run before all of b's; it is possible while none of
b's operations must run before one of a's. The lifetimes on one wire form a chain and the
width is the number of chains. The chains are chosen

- for at most ``EXACT_LIFETIMES`` lifetimes, by a depth-first search over each lifetime's
  predecessor, pruned by the best width found (exact unless it runs out of its
  ``EXACT_STEPS`` steps, then the best found);
- otherwise (and as the search's first bound) by the better of two heuristics: rounds of a
  minimum-cost bipartite matching of chain ends to chain starts (the most pairs, then the
  least depth added: a look-ahead over all pairs at once), applied cheapest first while
  each pair is still possible; and, up to ``CHEAPEST_FIRST_LIFETIMES`` lifetimes, CaQR's
  rule of one link at a time, the one adding the least depth.

Qubits that a program output reads (ExpVal, Probs, State, clbit-less Counts) stay in use to
the end. Barriers describe the original schedule, which reuse abandons: a circuit that gets
narrower loses them; one that does not is returned unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..ir import (Barrier, Circuit, Counts, ExpVal, Operation, Probs, Program, QCompileError,
                  QuantumCall, Register, Reset, State)
from ..ir.ops import clbits_of, qubits_of
from ..ir.precedence import Constraint, Precedence, members
from ..ir.rewrite import remap
from .base import Pass, PropertySet, option, register_pass
from .stats import circuit_stats
from .wires import relabel_qubit_outputs

#: Circuits with at most this many lifetimes also try linking cheapest pair first.
CHEAPEST_FIRST_LIFETIMES = 64
#: Circuits with at most this many lifetimes get the exact search.
EXACT_LIFETIMES = 10
#: Steps (search-tree nodes) the exact search may take before it settles for the best found.
EXACT_STEPS = 20_000
#: The most top-level operations a circuit may have: the precedence view keeps a bit set of
#: ancestors per operation, which grows with the square of their number.
MAX_OPERATIONS = 50_000


@dataclass(frozen=True)
class Lifetime:
    """Qubit ``qubit`` from a start (its first use, or a reset) to its next reset or the end;
    ``nodes`` is the bit set of its operations in the precedence view."""

    qubit: int
    nodes: int
    first: int
    starts_with_reset: bool
    #: an output reads the qubit's final state, so nothing may follow on its wire
    read_at_end: bool = False


@dataclass(frozen=True)
class WidthChange:
    """What ``reuse-qubits`` did to one circuit (``properties["reuse-qubits"]``)."""

    before: int
    after: int
    depth_before: int
    depth_after: int
    two_qubit_gates_before: int
    two_qubit_gates_after: int

    @classmethod
    def between(cls, old: Circuit, new: Circuit) -> WidthChange:
        a, b = circuit_stats(old), circuit_stats(new)
        return cls(old.num_qubits, new.num_qubits, a.depth, b.depth, a.two_qubit_gates,
                   b.two_qubit_gates)


def lifetimes(ops: Sequence[Operation],
              read_at_end: set[int]) -> tuple[list[Lifetime], list[dict[int, int]]]:
    """The lifetimes of a barrier-free block, and per operation the lifetime each of its
    qubits is in. A qubit an output reads but nothing touches gets an empty lifetime."""
    spans: list[list] = []  # [qubit, nodes, first, starts_with_reset]
    current: dict[int, int] = {}
    life_of: list[dict[int, int]] = []
    for node, op in enumerate(ops):
        here = {}
        for q in qubits_of(op):
            if isinstance(op, Reset) or q not in current:
                current[q] = len(spans)
                spans.append([q, 0, node, isinstance(op, Reset)])
            spans[current[q]][1] |= 1 << node
            here[q] = current[q]
        life_of.append(here)
    for q in sorted(read_at_end - set(current)):
        current[q] = len(spans)
        spans.append([q, 0, len(ops), False])
    last = {current[q] for q in read_at_end}
    return [Lifetime(*span, read_at_end=index in last)
            for index, span in enumerate(spans)], life_of


class Chains:
    """Which lifetime follows which on a wire."""

    def __init__(self, count: int):
        self.next: list[int | None] = [None] * count
        self.prev: list[int | None] = [None] * count

    @property
    def width(self) -> int:
        return self.prev.count(None)

    def link(self, a: int, b: int) -> None:
        self.next[a], self.prev[b] = b, a

    def unlink(self, a: int, b: int) -> None:
        self.next[a] = self.prev[b] = None

    def copy(self) -> Chains:
        twin = Chains(0)
        twin.next, twin.prev = list(self.next), list(self.prev)
        return twin


def _ends(lives: Sequence[Lifetime], chains: Chains) -> tuple[list[int], list[int]]:
    """Lifetimes a wire may be handed on from, and lifetimes that may take one."""
    tails = [a for a, life in enumerate(lives) if chains.next[a] is None
             and not life.read_at_end]
    return tails, [b for b in range(len(lives)) if chains.prev[b] is None]


def _pairs(graph: Precedence, lives: Sequence[Lifetime], chains: Chains,
           free_only: bool) -> tuple[dict[tuple[int, int], int], int]:
    """Every possible link (chain end a → chain start b) with the depth it would add, and
    the depth now."""
    ending, starting = graph.path_lengths()
    depth = max(ending, default=0)
    tails, heads = _ends(lives, chains)
    pairs = {}
    for a in tails:
        before = graph.ancestors(lives[a].nodes) | lives[a].nodes
        finish = max(ending[n] for n in members(lives[a].nodes))
        for b in heads:
            if a == b or before & lives[b].nodes:
                continue
            start = max((starting[n] for n in members(lives[b].nodes)), default=0)
            extra = max(0, finish + _reset_length(lives[b]) + start - depth)
            if not (free_only and extra):
                pairs[a, b] = extra
    return pairs, depth


def link_by_matching(graph: Precedence, lives: Sequence[Lifetime], chains: Chains,
                     goal: int, free_only: bool = False) -> Precedence:
    """Link chains in matching rounds until the width is ``goal`` or no pair is possible,
    and return the graph with the links' constraints; ``free_only``: only links that leave
    the depth of ``graph`` as it is (each checked on a copy)."""
    from scipy.optimize import linear_sum_assignment  # slow to import

    while chains.width > goal:
        pairs, depth = _pairs(graph, lives, chains, free_only)
        if not pairs:
            return graph
        tails = sorted({a for a, _ in pairs})
        heads = sorted({b for _, b in pairs})
        cost = np.zeros((len(tails), len(heads)))
        for (a, b), extra in pairs.items():
            # Every pair outweighs any sum of depth costs: the most pairs first.
            cost[tails.index(a), heads.index(b)] = -1 + extra / (1 + extra) / (1 + len(lives))
        rows, cols = linear_sum_assignment(cost)
        chosen = sorted(((tails[i], heads[j]) for i, j in zip(rows, cols)
                         if (tails[i], heads[j]) in pairs), key=lambda pair: pairs[pair])
        linked = 0
        for a, b in chosen:
            if chains.width <= goal:
                break
            if not graph.can_precede(lives[a].nodes, lives[b].nodes):
                continue
            trial = graph.copy() if free_only else graph
            trial.require(lives[a].nodes, lives[b].nodes, _reset_length(lives[b]))
            if free_only and trial.depth() > depth:
                continue
            graph = trial
            chains.link(a, b)
            linked += 1
        if not linked:
            return graph
    return graph


def link_cheapest_first(graph: Precedence, lives: Sequence[Lifetime], chains: Chains,
                        goal: int) -> Precedence:
    """Link one pair at a time, always the one adding the least depth (CaQR's rule), until
    the width is ``goal`` or no pair is possible."""
    while chains.width > goal:
        pairs, _ = _pairs(graph, lives, chains, False)
        if not pairs:
            break
        a, b = min(pairs, key=lambda pair: (pairs[pair], pair))
        graph.require(lives[a].nodes, lives[b].nodes, _reset_length(lives[b]))
        chains.link(a, b)
    return graph


def _reset_length(life: Lifetime) -> int:
    """Steps between a lifetime and the one it follows on a wire: the reset, unless it
    starts with one."""
    return 0 if life.starts_with_reset else 1


def link_exactly(base: Precedence, lives: Sequence[Lifetime], graph: Precedence,
                 chains: Chains, goal: int) -> tuple[Precedence, Chains]:
    """The linking of ``base`` (no links yet) with the fewest wires (none below ``goal``
    preferred over less depth), then the least depth; the linking ``chains`` (with its
    ``graph``) is the first bound, and the best found is the answer when ``EXACT_STEPS``
    run out."""
    order = sorted(range(len(lives)), key=lambda v: (lives[v].first, v))

    def key(g: Precedence, width: int) -> tuple[int, int]:
        return max(width, goal), g.depth()

    best = [key(graph, chains.width), graph, chains]
    trial = Chains(len(lives))
    steps = 0

    def search(index: int, g: Precedence, width: int) -> None:
        nonlocal steps
        steps += 1
        if steps > EXACT_STEPS or max(width, goal) > best[0][0]:
            return
        if index == len(order):
            found = key(g, width)
            if found < best[0]:
                best[:] = [found, g, trial.copy()]
            return
        b = order[index]
        for a in _ends(lives, trial)[0]:
            if a != b and g.can_precede(lives[a].nodes, lives[b].nodes):
                twin = g.copy()
                twin.require(lives[a].nodes, lives[b].nodes, _reset_length(lives[b]))
                trial.link(a, b)
                search(index + 1, twin, width)
                trial.unlink(a, b)
        search(index + 1, g, width + 1)

    search(0, base, 0)
    return best[1], best[2]


def _wire_names(lives: Sequence[Lifetime], chain_of: Sequence[int],
                num_qubits: int) -> list[int]:
    """For each chain, the original qubit whose name its wire keeps: the earliest-starting
    qubit on it not yet claimed by another chain (else any unclaimed one)."""
    claimed: list[int] = []
    for chain in range(max(chain_of, default=-1) + 1):
        on_wire = sorted((life.first, life.qubit) for life, c in zip(lives, chain_of)
                         if c == chain)
        candidates = [q for _, q in on_wire] + list(range(num_qubits))
        claimed.append(next(q for q in candidates if q not in claimed))
    return claimed


def reuse_circuit(circuit: Circuit, read_at_end: set[int], max_width: int | None = None,
                  objective: str = "width") -> tuple[Circuit, list[int | None]]:
    """The circuit rescheduled onto as few wires as possible (stopping at ``max_width``),
    and per original qubit the wire of its last lifetime (None for unused qubits); the
    circuit itself when that is no narrower. With
    ``objective="depth"`` only reuse that adds no depth, unless more is needed for
    ``max_width``."""
    goal = max_width or 1
    ops = [op for op in circuit.ops if not isinstance(op, Barrier)]
    if len(ops) > MAX_OPERATIONS:
        raise QCompileError(f"reuse-qubits: circuit {circuit.name!r} has {len(ops)} "
                            f"operations; rescheduling takes at most {MAX_OPERATIONS}")
    lives, life_of = lifetimes(ops, read_at_end)
    wires = [[("q", life_of[n][q]) for q in qubits_of(op)] + [("c", c) for c in clbits_of(op)]
             for n, op in enumerate(ops)]
    chains = Chains(len(lives))
    if objective == "depth":
        # Wire order kept: the longest path is then the depth of the circuit written out.
        graph = link_by_matching(Precedence(ops, wires, reorder=False), lives, chains, goal,
                                 free_only=True)
        if max_width is not None and chains.width > max_width:
            loose = Precedence(ops, wires)
            for constraint in graph.constraints:
                loose.require(constraint.before, constraint.after, constraint.length)
            graph = link_by_matching(loose, lives, chains, goal)
    else:
        base = Precedence(ops, wires)
        graph = link_by_matching(base.copy(), lives, chains, goal)
        if len(lives) <= CHEAPEST_FIRST_LIFETIMES:
            other = Chains(len(lives))
            rival = link_cheapest_first(base.copy(), lives, other, goal)
            if (other.width, rival.depth()) < (chains.width, graph.depth()):
                graph, chains = rival, other
        if len(lives) <= EXACT_LIFETIMES:
            graph, chains = link_exactly(base, lives, graph, chains, goal)

    if chains.width >= circuit.num_qubits:  # (lifetimes split at resets may need more)
        return circuit, list(range(circuit.num_qubits))
    heads = [v for v in range(len(lives)) if chains.prev[v] is None]
    chain_of = [0] * len(lives)
    for index, head in enumerate(heads):
        v = head
        while v is not None:
            chain_of[v] = index
            v = chains.next[v]
    kept = _wire_names(lives, chain_of, circuit.num_qubits)
    position = {q: k for k, q in enumerate(sorted(kept))}
    wire = [position[kept[chain_of[v]]] for v in range(len(lives))]

    follower = {(lives[a].nodes, lives[b].nodes): b for a, b in enumerate(chains.next)
                if b is not None}
    new_ops: list[Operation] = []
    for item in graph.order():
        if isinstance(item, Constraint):
            b = follower[item.before, item.after]
            if not lives[b].starts_with_reset:
                new_ops.append(Reset(wire[b]))
        else:
            here = life_of[item]
            new_ops.append(remap(ops[item], lambda q, here=here: wire[here[q]]))

    qregs, offset = [], 0
    for reg in circuit.qregs:
        size = sum(offset <= q < offset + reg.size for q in kept)
        offset += reg.size
        if size:
            qregs.append(Register(reg.name, size))
    final: list[int | None] = [None] * circuit.num_qubits
    for v, life in enumerate(lives):  # later lifetimes overwrite earlier ones
        final[life.qubit] = wire[v]
    return dataclasses.replace(circuit, qregs=tuple(qregs), ops=tuple(new_ops)), final


def qubits_read_at_end(program: Program, circuit: Circuit) -> set[int]:
    """Qubits whose final state some output of a call to ``circuit`` reads."""
    read: set[int] = set()
    everything = set(range(circuit.num_qubits))
    for stmt in program.body:
        if not (isinstance(stmt, QuantumCall) and stmt.circuit == circuit.name):
            continue
        out = stmt.output
        if isinstance(out, ExpVal):
            read |= {q for obs in out.observables for term in obs for q, _ in term.paulis}
        elif isinstance(out, Probs):
            read |= set(out.qubits) or everything
        elif isinstance(out, State) or (isinstance(out, Counts) and not circuit.num_clbits):
            read |= everything
    return read


@register_pass("reuse-qubits")
@dataclass(frozen=True)
class ReuseQubits(Pass):
    """Reschedule circuits so that qubits that finish hand their wires, reset, to qubits
    that start later.

    Operations move only where commutation allows, so every classical record keeps its
    distribution. Options: ``max_width`` leaves circuits at most that wide alone, stops
    reusing once a circuit is that narrow, and fails when one cannot get there;
    ``objective=width`` (default) takes the fewest wires and, among those, the least depth;
    ``objective=depth`` only reuses where no depth is added, unless ``max_width`` needs
    more. Writes ``properties["reuse-qubits"][circuit name] = WidthChange(...)``: width,
    depth and two-qubit gates before and after.
    """

    max_width: int | None = option(None, low=1)
    objective: str = option("width", choices=("width", "depth"))

    def run(self, program: Program, properties: PropertySet) -> Program:
        report = properties.setdefault("reuse-qubits", {})
        circuits, final_wire = [], {}
        for circuit in program.circuits:
            if self.max_width is not None and circuit.num_qubits <= self.max_width:
                narrow = circuit
            else:
                narrow, wires = reuse_circuit(circuit, qubits_read_at_end(program, circuit),
                                              self.max_width, self.objective)
                if not 0 < narrow.num_qubits < circuit.num_qubits:
                    narrow = circuit
                else:
                    final_wire[circuit.name] = wires
            if self.max_width is not None and narrow.num_qubits > self.max_width:
                raise QCompileError(
                    f"reuse-qubits: circuit {circuit.name!r} needs {narrow.num_qubits} "
                    f"qubits even with reuse, more than max_width={self.max_width}; circuit "
                    f"cutting (qcompile cut MODEL --max-qubits {self.max_width}) splits it "
                    f"into pieces that fit")
            report[circuit.name] = WidthChange.between(circuit, narrow)
            circuits.append(narrow)
        return relabel_qubit_outputs(program.with_circuits(circuits), final_wire)
