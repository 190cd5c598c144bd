"""Coupling maps: which pairs of physical qubits a two-qubit gate may act on.

Written as ``line:N``, ``ring:N``, ``grid:RxC`` (undirected: either qubit may be the first
operand) or a JSON file of directed edges, ``[[0, 1], [1, 2], ...]`` or
``{"edges": [[0, 1], ...]}`` (the first qubit of an edge is the first operand, as in a
device's coupling map); devices give theirs directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..ir import QCompileError


@dataclass(frozen=True)
class Coupling:
    """Physical qubits ``0..num_qubits-1`` and the ordered pairs a two-qubit gate may use."""

    num_qubits: int
    edges: frozenset[tuple[int, int]]

    @classmethod
    def undirected(cls, num_qubits: int, pairs) -> Coupling:
        return cls(num_qubits, frozenset({*pairs, *((b, a) for a, b in pairs)}))

    def allows(self, a: int, b: int) -> bool:
        return (a, b) in self.edges

    def connected(self) -> bool:
        import networkx as nx  # slow to import

        graph = nx.Graph(list(self.edges))
        graph.add_nodes_from(range(self.num_qubits))
        return self.num_qubits <= 1 or nx.is_connected(graph)


def parse_coupling(spec: str) -> Coupling:
    """A coupling map from its written form (see the module doc)."""
    kind, _, size = spec.partition(":")
    try:
        if kind == "line" and size:
            n = int(size)
            return _checked(Coupling.undirected(n, [(k, k + 1) for k in range(n - 1)]), spec)
        if kind == "ring" and size:
            n = int(size)
            return _checked(Coupling.undirected(n, [(k, (k + 1) % n) for k in range(n)]), spec)
        if kind == "grid" and size:
            rows, columns = (int(v) for v in size.lower().split("x"))
            import networkx as nx

            graph = nx.grid_2d_graph(rows, columns)
            index = {(r, c): r * columns + c for r, c in graph.nodes}
            return _checked(Coupling.undirected(rows * columns, [
                (index[a], index[b]) for a, b in graph.edges]), spec)
    except ValueError:
        raise QCompileError(f"coupling map {spec!r}: expected line:N, ring:N or grid:RxC with "
                            f"positive whole numbers") from None
    return _from_file(spec)


def _from_file(spec: str) -> Coupling:
    path = Path(spec)
    if not path.is_file():
        raise QCompileError(f"coupling map {spec!r} is neither line:N, ring:N, grid:RxC nor an "
                            f"existing JSON file of edges")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise QCompileError(f"{spec}: cannot read the coupling map ({err})") from None
    edges = data.get("edges") if isinstance(data, dict) else data
    if not (isinstance(edges, list) and edges and all(
            isinstance(e, list) and len(e) == 2 and all(
                isinstance(q, int) and not isinstance(q, bool) and q >= 0 for q in e)
            for e in edges)):
        raise QCompileError(f"{spec}: a coupling map is a non-empty JSON list of edges "
                            f"[[0, 1], [1, 2], ...] of non-negative qubit numbers")
    pairs = {(a, b) for a, b in edges if a != b}
    if not pairs:
        raise QCompileError(f"{spec}: the coupling map has no edge between two different "
                            f"qubits")
    num_qubits = 1 + max(q for edge in pairs for q in edge)
    return _checked(Coupling(num_qubits, frozenset(pairs)), spec)


def _checked(coupling: Coupling, spec: str) -> Coupling:
    if coupling.num_qubits < 1:
        raise QCompileError(f"coupling map {spec!r} has no qubits")
    if not coupling.connected():
        raise QCompileError(f"coupling map {spec!r} is not connected: a circuit cannot be "
                            f"routed across its separate parts")
    return coupling
