"""Where to cut: the cheapest gate and wire cuts that leave every fragment within a budget.

A wire cut before an operation ends the qubit's current *segment* and starts a fresh one
(a new qubit in whichever fragment it joins); an uncut operation joins the segments it acts
on; a cut gate joins nothing. The fragments are the connected groups of segments, a
fragment's width the number of its segments, and the plan's cost the product of the cuts'
``γ²`` (:mod:`.decompositions`).

:func:`find_cuts` walks the circuit's multi-qubit operations in order. Its state is which
live segments share a fragment and each fragment's width so far (canonically labelled, so
equal states from different histories meet); each operation either joins its segments, is
cut, or has some of its wires cut first. Widths only grow, so a state over the budget is
dropped at once. A uniform-cost search over these states finds the cheapest plan and proves
it optimal; past ``time_limit`` a beam search (the best :data:`BEAM` states per operation)
finishes in bounded time instead.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass
from functools import cached_property

import networkx as nx

from ..ir import Barrier, Circuit, Gate, QCompileError, Unitary
from ..ir.gates import GATES
from ..ir.ops import qubits_of
from .decompositions import WIRE_GAMMA, gate_gamma, worst_gate_gamma

#: States kept per operation by the beam search.
BEAM = 256


@dataclass(frozen=True)
class Cut:
    """A cut gate (``kind == "gate"``: ``position`` is the gate, ``qubits`` its two) or wire
    (``"wire"``: the wire of ``qubits[0]`` is cut just before operation ``position``)."""

    kind: str
    position: int
    qubits: tuple[int, ...]
    gamma: float


@dataclass(frozen=True)
class CutPlan:
    """Cuts of ``circuit`` and the fragments they leave, each a tuple of segments
    ``(qubit, segment number)`` in the order of the fragment's qubits."""

    circuit: Circuit
    max_qubits: int
    cuts: tuple[Cut, ...]
    fragments: tuple[tuple[tuple[int, int], ...], ...]
    optimal: bool

    @property
    def sampling_overhead(self) -> float:
        return math.prod(cut.gamma ** 2 for cut in self.cuts)

    @cached_property
    def wire_cuts(self) -> dict[int, tuple[int, ...]]:
        """Per qubit, the positions before which its wire is cut, ascending."""
        out: dict[int, list[int]] = {}
        for cut in self.cuts:
            if cut.kind == "wire":
                out.setdefault(cut.qubits[0], []).append(cut.position)
        return {q: tuple(sorted(p)) for q, p in out.items()}

    def segment(self, qubit: int, position: int) -> int:
        """The segment of ``qubit`` that operation ``position`` acts on."""
        return sum(1 for p in self.wire_cuts.get(qubit, ()) if p <= position)

    @cached_property
    def fragment_of(self) -> dict[tuple[int, int], tuple[int, int]]:
        """Segment → (fragment, qubit within it)."""
        return {segment: (f, k) for f, fragment in enumerate(self.fragments)
                for k, segment in enumerate(fragment)}

    def sides(self, cut: Cut) -> tuple[tuple[int, int], tuple[int, int]]:
        """The segments holding a cut's first and second side."""
        if cut.kind == "gate":
            return tuple((q, self.segment(q, cut.position)) for q in cut.qubits)
        q = cut.qubits[0]
        after = self.segment(q, cut.position)
        return (q, after - 1), (q, after)

    @cached_property
    def fragment_cuts(self) -> tuple[tuple[int, ...], ...]:
        """Per fragment, the cuts with a side in it (indices into ``cuts``)."""
        return tuple(tuple(k for k, cut in enumerate(self.cuts)
                           if any(self.fragment_of[segment][0] == fragment
                                  for segment in self.sides(cut)))
                     for fragment in range(len(self.fragments)))

    def final_segment(self, qubit: int) -> tuple[int, int]:
        return qubit, len(self.wire_cuts.get(qubit, ()))

    def summary(self) -> dict:
        """The plan as plain data (``qcompile cut --json``)."""
        return {
            "sampling_overhead": self.sampling_overhead,
            "optimal": self.optimal,
            "max_qubits": self.max_qubits,
            "cuts": [{"kind": c.kind, "position": c.position, "qubits": list(c.qubits),
                      "operation": _describe(self.circuit.ops[c.position]),
                      "gamma_squared": c.gamma ** 2} for c in self.cuts],
            "fragments": [{"width": len(f), "qubits": [self.circuit.qubit_name(q)
                                                      + (f"#{s}" if s else "") for q, s in f]}
                          for f in self.fragments],
        }

    def explain(self) -> str:
        s = self.summary()
        lines = [f"{len(self.cuts)} cut(s), sampling overhead {s['sampling_overhead']:.6g}"
                 f"{' (optimal)' if self.optimal else ''}; {len(self.fragments)} fragment(s) "
                 f"of at most {self.max_qubits} qubits"]
        for cut in s["cuts"]:
            where = (f"gate {cut['operation']}" if cut["kind"] == "gate" else
                     f"wire of {self.circuit.qubit_name(cut['qubits'][0])} before "
                     f"{cut['operation']}")
            lines.append(f"  cut {where} (operation {cut['position']}): "
                         f"γ² = {cut['gamma_squared']:.6g}")
        for k, fragment in enumerate(s["fragments"]):
            lines.append(f"  fragment {k}: {fragment['width']} qubit(s): "
                         f"{', '.join(fragment['qubits'])}")
        return "\n".join(lines)


def _describe(op) -> str:
    name = op.name if isinstance(op, Gate) else getattr(op, "label", type(op).__name__.lower())
    return f"{name} on qubits {', '.join(map(str, qubits_of(op)))}"


def check_cuttable(circuit: Circuit) -> None:
    for position, op in enumerate(circuit.ops):
        if not isinstance(op, (Gate, Unitary, Barrier)):
            raise QCompileError(
                f"circuit {circuit.name!r}, operation {position} ({type(op).__name__.lower()}):"
                f" only unitary circuits can be cut so far (measurement, reset and "
                f"conditionals are not); read outputs with expval or probs instead")


def gate_cost(op: Gate | Unitary) -> float:
    """``γ`` of cutting ``op``: exact for constant gates, the worst case for symbolic ones
    (whose interactions are counted at arbitrary angles)."""
    if isinstance(op, Unitary):
        return gate_gamma(op.matrix)
    if op.constant_params is not None:
        return gate_gamma(op.matrix())
    angles = [0.3 + 0.1 * k for k in range(len(op.params))]
    return worst_gate_gamma(GATES[op.name].matrix(*angles))


# --- the search -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _State:
    """Which fragment each qubit's live segment is in (labels by first appearance) and each
    label's width. The cuts that led here travel beside it in the search, as a linked tuple
    ``(earlier, kinds)`` shared between states."""

    labels: tuple[int, ...]
    widths: tuple[int, ...]


def _canonical(labels: list[int], widths: dict[int, int]) -> _State:
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(label, len(order))
    return _State(tuple(order[label] for label in labels),
                  tuple(widths[label] for label in order))


def _moves(state: _State, qubits: tuple[int, ...], gate_gamma2: float | None, budget: int):
    """Successors of ``state`` across one operation: ``(γ² factor, cut kinds, next state)``;
    a cut kind is ``"gate"`` or a qubit whose wire is cut."""
    if len({state.labels[q] for q in qubits}) == 1:
        yield 1.0, (), state  # already together: cutting would only widen the fragment
        return
    for wired in itertools.chain.from_iterable(
            itertools.combinations(qubits, k) for k in range(len(qubits) + 1)):
        labels = list(state.labels)
        widths = dict(enumerate(state.widths))
        fresh = max(widths, default=-1) + 1
        for q in wired:  # each cut wire starts a segment in a fragment of its own
            labels[q] = fresh
            widths[fresh] = 1
            fresh += 1
        joined = {labels[q] for q in qubits}
        width = sum(widths[label] for label in joined)
        if not wired and gate_gamma2 is not None:
            yield gate_gamma2, ("gate",), state
        if width > budget:
            continue
        target = min(joined)
        for q in range(len(labels)):
            if labels[q] in joined:
                labels[q] = target
        widths[target] = width
        yield WIRE_GAMMA ** (2 * len(wired)), wired, _canonical(labels, widths)


def find_cuts(circuit: Circuit, max_qubits: int, *, max_overhead: float = math.inf,
              time_limit: float = 10.0) -> CutPlan:
    """The cheapest cuts leaving fragments of at most ``max_qubits`` qubits (see the module
    docstring); a :class:`QCompileError` when no plan stays within ``max_overhead``."""
    check_cuttable(circuit)
    steps = [(position, qubits_of(op), op) for position, op in enumerate(circuit.ops)
             if not isinstance(op, Barrier) and len(qubits_of(op)) > 1]
    widest = max(steps, key=lambda s: len(s[1]), default=None)
    if max_qubits < 1 or (widest is not None and len(widest[1]) > max_qubits):
        what = f"{_describe(widest[2])} (operation {widest[0]})" if widest else "a qubit"
        raise QCompileError(f"circuit {circuit.name!r}: a budget of {max_qubits} qubit(s) "
                            f"cannot hold {what}; the budget must be at least "
                            f"{len(widest[1]) if widest else 1}")
    gammas = [gate_cost(op) if len(qubits) == 2 else None for _, qubits, op in steps]
    start = _canonical(list(range(circuit.num_qubits)), {q: 1 for q in range(circuit.num_qubits)})
    deadline = time.monotonic() + time_limit
    found = _uniform_cost(steps, gammas, start, max_qubits, deadline)
    optimal = found is not None
    if found is None:
        found = _beam(steps, gammas, start, max_qubits)
    cost, history = found
    if cost > max_overhead * (1 + 1e-9):
        raise QCompileError(f"circuit {circuit.name!r}: the cheapest plan found for "
                            f"{max_qubits} qubits has sampling overhead {cost:.6g}, over the "
                            f"limit of {max_overhead:.6g}")
    cuts = []
    for (position, qubits, _), gamma, kinds in zip(steps, gammas, _unlink(history)):
        for kind in kinds:
            if kind == "gate":
                cuts.append(Cut("gate", position, qubits, gamma))
            else:
                cuts.append(Cut("wire", position, (kind,), WIRE_GAMMA))
    plan = CutPlan(circuit, max_qubits, tuple(cuts), (), optimal)
    return CutPlan(circuit, max_qubits, plan.cuts, _fragments(plan), optimal)


def _unlink(history) -> list:
    out = []
    while history:
        history, kinds = history
        out.append(kinds)
    return out[::-1]


def _uniform_cost(steps, gammas, start, budget, deadline):
    """The cheapest complete plan (log-cost Dijkstra), or None past the deadline."""
    counter = itertools.count()
    heap = [(0.0, next(counter), 0, start, None)]
    best: dict = {(0, start): 0.0}
    for popped in itertools.count():
        if not heap:
            break
        if popped % 256 == 0 and time.monotonic() > deadline:
            return None
        log_cost, _, depth, state, history = heapq.heappop(heap)
        if depth == len(steps):
            return math.exp(log_cost), history
        if best.get((depth, state), math.inf) < log_cost:
            continue
        gamma = gammas[depth]
        for factor, kinds, successor in _moves(state, steps[depth][1],
                                               None if gamma is None else gamma ** 2, budget):
            cost = log_cost + math.log(factor)
            key = (depth + 1, successor)
            if cost < best.get(key, math.inf) - 1e-12:
                best[key] = cost
                heapq.heappush(heap, (cost, next(counter), depth + 1, successor,
                                      (history, kinds)))
    raise AssertionError("cutting every wire always fits a budget of the widest operation")


def _beam(steps, gammas, start, budget):
    layer = {start: (0.0, None)}
    for depth, (_, qubits, _) in enumerate(steps):
        gamma = gammas[depth]
        following: dict = {}
        for state, (log_cost, history) in layer.items():
            for factor, kinds, successor in _moves(state, qubits,
                                                   None if gamma is None else gamma ** 2,
                                                   budget):
                cost = log_cost + math.log(factor)
                if cost < following.get(successor, (math.inf,))[0]:
                    following[successor] = (cost, (history, kinds))
        layer = dict(sorted(following.items(), key=lambda item: item[1][0])[:BEAM])
    log_cost, history = min(layer.values(), key=lambda v: v[0])
    return math.exp(log_cost), history


def _fragments(plan: CutPlan) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Segments joined by the uncut operations, each group in qubit order."""
    circuit = plan.circuit
    graph = nx.Graph()
    graph.add_nodes_from((q, s) for q in range(circuit.num_qubits)
                         for s in range(len(plan.wire_cuts.get(q, ())) + 1))
    cut_gates = {c.position for c in plan.cuts if c.kind == "gate"}
    for position, op in enumerate(circuit.ops):
        if position not in cut_gates and not isinstance(op, Barrier):
            nx.add_path(graph, [(q, plan.segment(q, position)) for q in qubits_of(op)])
    groups = [tuple(sorted(component)) for component in nx.connected_components(graph)]
    return tuple(sorted(groups))
