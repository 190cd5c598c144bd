"""The qubit-reuse benchmark: qcompile's ``lift-measurements,reuse-qubits`` against a
CaQR-style greedy baseline (Hua et al., "CaQR: A Compiler-Assisted Approach for Qubit Reuse
through Dynamic Circuit", MICRO 2022 / ASPLOS 2023), written here from the paper's
description.

Every circuit is measured into classical bits at the end and the program's output is
``Counts`` (which reads the bits only, so every qubit may be reset and reused once it is
done). Per circuit, in one process:

- **qcompile**: the width and depth (``circuit_stats``: measure, reset and every gate one
  layer on its wires, an if/else one layer) before and after the pipeline
  :data:`PIPELINE`, from ``properties["reuse-qubits"]``, and the seconds the whole pipeline
  took (both passes, one run);
- **baseline**: :func:`caqr_baseline` on the same input circuit: the dependency DAG in
  plain wire order (no commutation), barriers ignored, greedy reuse pairs by least added
  critical-path depth. Its depth is the longest path in that DAG with one node per
  operation and one reset node per reuse (so a path through k reuses counts k resets), the
  same count as qcompile's depth for a barrier-free circuit; and the same baseline on the
  circuit after ``lift-measurements`` alone ("lifted input");
- **published**: the minimum width reported in the literature where there is one (CaQR's 2
  qubits for Bernstein–Vazirani, Deutsch–Jozsa and measured GHZ).

The workloads are Bernstein–Vazirani, Deutsch–Jozsa and GHZ families, every QASMBench
circuit of the corpus that loads (one without measurements gets a final measurement of
every qubit into a new register), and generated QAOA, QFT and hardware-efficient circuits;
then a few 100-qubit circuits of about 2000 gates time the pass (target: under 1 s).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import networkx as nx
import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate, efficient_su2
from rich.table import Table

from qcompile.frontend.qiskit_circuit import from_qiskit
from qcompile.frontend.source import load_source
from qcompile.ir import Barrier, Circuit, Counts, Measure, Program, QCompileError, Register
from qcompile.ir.ops import clbits_of, qubits_of
from qcompile.passes import PassManager
from qcompile.passes.reuse_qubits import EXACT_LIFETIMES, WidthChange

from .compile_circuits import CORPUS
from .harness import failure_note, generated_section, markdown_table, rich_table, timed

SEED = 7
PIPELINE = "lift-measurements,reuse-qubits"
SHOTS = 100
#: The pass-time target on the 100-qubit circuits (reported, not asserted).
TIME_TARGET = 1.0
MARKERS = ("<!-- qubit-reuse benchmark results: begin -->",
           "<!-- qubit-reuse benchmark results: end -->")
PACKAGES = ("qcompile", "qiskit", "networkx")


# --- the baseline ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Baseline:
    width: int
    depth: int
    reuses: int


def caqr_baseline(circuit: Circuit) -> Baseline:
    """CaQR-style greedy reuse on the plain dependency DAG (no commutation; barriers
    ignored; every qubit may be reused, the outputs being classical bits). A pair (i → j),
    qubit j starting on the wire of chain tail i after i's last operation, with a reset in
    between, is valid when j heads another chain and the edge last(i) → reset → first(j)
    closes no cycle; the pair adding the least critical-path depth (ties: lowest (i, j)) is
    merged, until none is valid. Width: the chains of the qubits that have operations;
    depth: the longest path, every operation and every reset one node."""
    graph = nx.DiGraph()
    latest: dict[tuple[str, int], int] = {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for node, op in enumerate(circuit.ops):
        if isinstance(op, Barrier):
            continue
        graph.add_node(node)
        for wire in [("q", q) for q in qubits_of(op)] + [("c", c) for c in clbits_of(op)]:
            if wire in latest:
                graph.add_edge(latest[wire], node)
            latest[wire] = node
        for q in qubits_of(op):
            first.setdefault(q, node)
            last[q] = node
    head_of = {q: q for q in first}  # chain tail -> its head
    reuses, next_node = 0, len(circuit.ops)
    while True:
        order = list(nx.topological_sort(graph))
        ending, ancestors = {}, {}
        for node in order:
            preds = list(graph.predecessors(node))
            ending[node] = 1 + max((ending[p] for p in preds), default=0)
            ancestors[node] = 0
            for p in preds:
                ancestors[node] |= ancestors[p] | 1 << p
        starting = {}
        for node in reversed(order):
            starting[node] = 1 + max((starting[s] for s in graph.successors(node)), default=0)
        depth = max(ending.values(), default=0)
        heads = set(head_of.values())
        best = None
        for i in sorted(head_of):
            for j in sorted(heads - {head_of[i]}):
                u, v = last[i], first[j]
                if u == v or ancestors[u] >> v & 1:
                    continue  # j must start before i ends: a cycle
                added = max(0, ending[u] + 1 + starting[v] - depth)
                if best is None or added < best[0]:
                    best = (added, i, j)
        if best is None:
            return Baseline(len(heads), depth, reuses)
        _, i, j = best
        graph.add_edge(last[i], next_node)
        graph.add_edge(next_node, first[j])
        next_node, reuses = next_node + 1, reuses + 1
        tail_j = next(t for t, h in head_of.items() if h == j)
        head_of[tail_j] = head_of.pop(i)


# --- circuits --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    family: str
    title: str
    circuit: Circuit
    #: the minimum width published for this circuit, if any
    published: int | None = None
    #: the file measured nothing, so the benchmark measured every qubit at the end
    measurements_added: bool = False


def measured(qc: QuantumCircuit) -> QuantumCircuit:
    """``qc`` with every qubit measured into a new register (no barrier)."""
    out = qc.copy()
    out.add_register(ClassicalRegister(qc.num_qubits, "meas"))
    out.measure(range(qc.num_qubits), range(qc.num_clbits, qc.num_clbits + qc.num_qubits))
    return out


def bernstein_vazirani(n: int, seed: int = SEED) -> QuantumCircuit:
    """n − 1 data qubits and an ancilla (the last qubit), a random non-zero secret."""
    rng = np.random.default_rng(seed + n)
    secret = rng.integers(0, 2, n - 1)
    if not secret.any():
        secret[0] = 1
    qc = QuantumCircuit(n, name=f"bv_{n}")
    qc.x(n - 1)
    qc.h(range(n))
    for q in np.flatnonzero(secret):
        qc.cx(int(q), n - 1)
    qc.h(range(n - 1))
    return measured(qc)


def deutsch_jozsa(n: int, seed: int = SEED) -> QuantumCircuit:
    """n − 1 inputs and an ancilla; the balanced oracle x ↦ b·x ⊕ (parity of x) written as
    X on the inputs where a random b is 1, a CX from every input to the ancilla, X again."""
    flips = np.flatnonzero(np.random.default_rng(seed + n).integers(0, 2, n - 1))
    qc = QuantumCircuit(n, name=f"dj_{n}")
    qc.x(n - 1)
    qc.h(range(n))
    for q in flips:
        qc.x(int(q))
    for q in range(n - 1):
        qc.cx(q, n - 1)
    for q in flips:
        qc.x(int(q))
    qc.h(range(n - 1))
    return measured(qc)


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"ghz_{n}")
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return measured(qc)


def qaoa(graph: nx.Graph, name: str, decomposed: bool = False,
         seed: int = SEED) -> QuantumCircuit:
    """p = 1 MaxCut QAOA: H layer, ``rzz`` (or ``cx, rz, cx``) per edge, ``rx`` mixer."""
    rng = np.random.default_rng(seed)
    gamma, beta = rng.uniform(0, np.pi, 2)
    qc = QuantumCircuit(graph.number_of_nodes(), name=name)
    qc.h(range(qc.num_qubits))
    for a, b in sorted(graph.edges):
        if decomposed:
            qc.cx(a, b)
            qc.rz(2 * gamma, b)
            qc.cx(a, b)
        else:
            qc.rzz(2 * gamma, a, b)
    qc.rx(2 * beta, range(qc.num_qubits))
    return measured(qc)


def qft(n: int) -> QuantumCircuit:
    qc = transpile(QFTGate(n).definition, basis_gates=["h", "cp", "swap"],
                   optimization_level=0)
    qc.name = f"qft_{n}"
    return measured(qc)


def hea(n: int, seed: int = SEED) -> QuantumCircuit:
    """``efficient_su2``, linear entanglement, two repetitions, random bound angles."""
    qc = efficient_su2(n, entanglement="linear", reps=2)
    angles = np.random.default_rng(seed).uniform(-np.pi, np.pi, qc.num_parameters)
    qc = qc.assign_parameters(angles).decompose()
    qc.name = f"hea_{n}"
    return measured(qc)


def random_circuit(n: int, gates: int, seed: int = SEED) -> QuantumCircuit:
    """``gates`` gates drawn uniformly from cx (random pair), h and rz (random qubit)."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n, name=f"random_{n}x{gates}")
    for kind in rng.integers(0, 3, gates):
        if kind == 0:
            a, b = rng.choice(n, 2, replace=False)
            qc.cx(int(a), int(b))
        elif kind == 1:
            qc.h(int(rng.integers(n)))
        else:
            qc.rz(float(rng.uniform(-np.pi, np.pi)), int(rng.integers(n)))
    return measured(qc)


def brickwork(n: int, layers: int) -> QuantumCircuit:
    """``layers`` alternating layers of CX on neighbours of a line, H on all first."""
    qc = QuantumCircuit(n, name=f"brickwork_{n}x{layers}")
    qc.h(range(n))
    for layer in range(layers):
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    return measured(qc)


def _case(family: str, title: str, qc: QuantumCircuit, published: int | None = None) -> Case:
    return Case(qc.name, family, title, from_qiskit(qc), published)


def with_final_measurements(circuit: Circuit) -> Circuit:
    """``circuit`` as is when it measures something, else with every qubit measured into a
    new register ``meas``."""
    if any(isinstance(op, Measure) for op in circuit.ops):
        return circuit
    offset = circuit.num_clbits
    return replace(circuit, cregs=(*circuit.cregs, Register("meas", circuit.num_qubits)),
                   ops=(*circuit.ops, *(Measure(q, offset + q)
                                        for q in range(circuit.num_qubits))))


def corpus_cases(root: Path = CORPUS, names: set[str] | None = None
                 ) -> tuple[list[Case], dict[str, str]]:
    """Every QASMBench circuit that loads (those in ``names`` only, when given), and the
    files that do not with the reason."""
    cases, skipped = [], {}
    for path in sorted(root.glob("*/*.qasm")):
        if names is not None and path.stem not in names:
            continue
        try:
            circuit = load_source(path).circuits[0]
        except QCompileError as err:
            first_line = (str(err).splitlines() or [""])[0]
            skipped[path.stem] = first_line.replace(str(path), path.name)
            continue
        named = replace(circuit, name=path.stem)
        circuit = with_final_measurements(named)
        cases.append(Case(path.stem, "qasmbench", f"QASMBench {path.stem}", circuit,
                          2 if path.stem == "bv_n14" else None, circuit is not named))
    return cases, skipped


def family_cases(quick: bool = False) -> list[Case]:
    if quick:
        return [_case("bv", "Bernstein–Vazirani, 5 qubits", bernstein_vazirani(5), 2),
                _case("ghz", "GHZ, 8 qubits, measured", ghz(8), 2),
                _case("qaoa", "QAOA MaxCut, ring, 8 qubits, p = 1, rzz",
                      qaoa(nx.cycle_graph(8), "qaoa_ring_8")),
                _case("qft", "QFT, 8 qubits (h, cp, swap), measured", qft(8))]
    out = [_case("bv", f"Bernstein–Vazirani, {n} qubits", bernstein_vazirani(n), 2)
           for n in (5, 8, 11, 14, 17, 20)]
    out += [_case("dj", f"Deutsch–Jozsa, balanced oracle, {n} qubits", deutsch_jozsa(n), 2)
            for n in (8, 14)]
    out += [_case("ghz", f"GHZ (H + CX chain), {n} qubits, measured", ghz(n), 2)
            for n in (8, 16)]
    for n in (8, 12, 16):
        out.append(_case("qaoa", f"QAOA MaxCut, ring, {n} qubits, p = 1, rzz",
                         qaoa(nx.cycle_graph(n), f"qaoa_ring_{n}")))
        out.append(_case("qaoa", f"QAOA MaxCut, random 3-regular graph (seed {SEED}), "
                                 f"{n} qubits, p = 1, rzz",
                         qaoa(nx.random_regular_graph(3, n, seed=SEED), f"qaoa_reg3_{n}")))
    out.append(_case("qaoa", "QAOA MaxCut, ring, 12 qubits, p = 1, cx-rz-cx",
                     qaoa(nx.cycle_graph(12), "qaoa_ring_cx_12", decomposed=True)))
    out += [_case("qft", f"QFT, {n} qubits (h, cp, swap), measured", qft(n)) for n in (8, 12)]
    out.append(_case("hea", "EfficientSU2, 8 qubits, linear, reps 2, random angles, measured",
                     hea(8)))
    return out


def large_cases(quick: bool = False) -> list[Case]:
    """The pass-time circuits: 100 qubits, about 2000 gates (a tenth in quick mode)."""
    n, gates, layers = (30, 200, 14) if quick else (100, 2000, 40)
    return [_case("large", f"random cx/h/rz, {n} qubits, {gates} gates, measured",
                  random_circuit(n, gates)),
            _case("large", f"Bernstein–Vazirani, {n} qubits", bernstein_vazirani(n), 2),
            _case("large", f"H, then {layers} brickwork layers of CX on a line, {n} qubits, "
                           f"measured", brickwork(n, layers))]


# --- running ---------------------------------------------------------------------------------

@dataclass
class Row:
    case: Case
    ours: WidthChange | None = None
    seconds: float | None = None
    baseline: Baseline | None = None
    baseline_seconds: float | None = None
    #: the baseline on the circuit after ``lift-measurements`` alone
    lifted: Baseline | None = None
    #: a crash of the pipeline, with its traceback
    crash: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def before(self) -> int:
        return self.case.circuit.num_qubits


def measure_case(case: Case) -> Row:
    row = Row(case)
    program = Program.from_circuit(case.circuit, Counts(SHOTS))
    manager = PassManager(PIPELINE)
    try:
        row.seconds, _ = timed(lambda: manager.run(program))
        row.ours = manager.properties["reuse-qubits"][case.circuit.name]
    except Exception as err:  # a crash of the pass is a result to report
        row.crash = traceback.format_exc()
        row.notes.append(f"qcompile {failure_note(err)}")
    try:
        row.baseline_seconds, row.baseline = timed(lambda: caqr_baseline(case.circuit))
        lifted = PassManager("lift-measurements").run(program).circuits[0]
        row.lifted = caqr_baseline(lifted)
    except Exception as err:
        row.notes.append(f"baseline {failure_note(err)}")
    return row


@dataclass
class Report:
    rows: list[Row]
    large: list[Row]
    skipped: dict[str, str]
    seconds: float = 0.0

    @property
    def crashes(self) -> list[Row]:
        return [row for row in self.rows + self.large if row.crash]

    @property
    def baseline_narrower(self) -> list[Row]:
        return [row for row in self.rows + self.large if row.ours and row.baseline
                and row.baseline.width < row.ours.after]


def run(quick: bool = False, progress: Callable[[str], None] = print) -> Report:
    start = time.perf_counter()
    corpus, skipped = corpus_cases(names={"bv_n14", "qft_n4", "cat_state_n4"}
                                   if quick else None)
    rows = []
    for case in family_cases(quick) + corpus:
        progress(f"{case.name} ({case.circuit.num_qubits}q)")
        rows.append(measure_case(case))
    large = []
    for case in large_cases(quick):
        progress(f"{case.name} ({case.circuit.num_qubits}q)")
        large.append(measure_case(case))
    return Report(rows, large, skipped, time.perf_counter() - start)


# --- the report ------------------------------------------------------------------------------

def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value:.2f} s"


def _width(row: Row) -> str:
    return "crash" if row.crash else "—" if row.ours is None else str(row.ours.after)


def _depth(row: Row) -> str:
    return "—" if row.ours is None else f"{row.ours.depth_before} → {row.ours.depth_after}"


def _saved(row: Row, width: int | None) -> str:
    return "—" if width is None else str(row.before - width)


def circuit_lines(rows: list[Row]) -> list[list[str]]:
    lines = []
    for row in rows:
        ours, base = row.ours, row.baseline
        lines.append([row.case.name, row.case.family, str(row.before), _width(row),
                      "—" if base is None else str(base.width),
                      "—" if row.lifted is None else str(row.lifted.width),
                      "—" if row.case.published is None else str(row.case.published),
                      _depth(row), "—" if base is None else str(base.depth),
                      _saved(row, ours and ours.after), _saved(row, base and base.width),
                      _seconds(row.seconds)])
    return lines


def _total(rows: list[Row], width: Callable[[Row], int]) -> int:
    return sum(width(row) for row in rows)


def family_lines(rows: list[Row]) -> list[list[str]]:
    lines = []
    families = list(dict.fromkeys(row.case.family for row in rows))
    for family in [*families, "all"]:
        chosen = [row for row in rows if (family == "all" or row.case.family == family)
                  and row.ours is not None and row.baseline is not None]
        before = _total(chosen, lambda row: row.before)
        ours = _total(chosen, lambda row: row.ours.after)
        base = _total(chosen, lambda row: row.baseline.width)
        lifted = _total(chosen, lambda row: row.lifted.width if row.lifted else row.before)
        narrower = sum(row.ours.after < row.baseline.width for row in chosen)
        wider = sum(row.ours.after > row.baseline.width for row in chosen)
        lines.append([f"**{family}**" if family == "all" else family, str(len(chosen)),
                      str(before), str(ours), str(base), str(lifted), str(before - ours),
                      str(before - base),
                      f"{narrower} / {len(chosen) - narrower - wider} / {wider}"])
    return lines


def large_lines(rows: list[Row]) -> list[list[str]]:
    lines = []
    for row in rows:
        base = row.baseline
        gates = sum(not isinstance(op, (Measure, Barrier)) for op in row.case.circuit.ops)
        over = row.seconds is not None and row.seconds >= TIME_TARGET
        lines.append([row.case.name, str(row.before), str(gates), _width(row), _depth(row),
                      _seconds(row.seconds) + (" (over target)" if over else ""),
                      "—" if base is None else str(base.width),
                      "—" if base is None else str(base.depth),
                      _seconds(row.baseline_seconds)])
    return lines


CIRCUIT_HEADER = ["circuit", "family", "qubits", "qcompile width", "CaQR-style width",
                  "CaQR-style width, lifted input", "published min", "qcompile depth",
                  "CaQR-style depth", "qcompile saved", "CaQR-style saved", "qcompile time"]
FAMILY_HEADER = ["family", "circuits", "qubits", "qcompile width", "CaQR-style width",
                 "CaQR-style width, lifted input", "qcompile saved", "CaQR-style saved",
                 "qcompile narrower / equal / wider"]
LARGE_HEADER = ["circuit", "qubits", "gates", "qcompile width", "qcompile depth",
                "qcompile time", "CaQR-style width", "CaQR-style depth", "CaQR-style time"]


def tables(report: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    return [
        ("Qubits per family: totals over the circuits (width = qubits after reuse)",
         FAMILY_HEADER, family_lines(report.rows)),
        ("Per circuit: width after reuse, depth, qubits saved, pipeline seconds",
         CIRCUIT_HEADER, circuit_lines(report.rows)),
        (f"Pass time on large circuits (target: under {TIME_TARGET:g} s)",
         LARGE_HEADER, large_lines(report.large)),
    ]


def notes(report: Report) -> list[str]:
    found = [f"`{row.case.name}`: {note}" for row in report.rows + report.large
             for note in row.notes]
    found += [f"`{row.case.name}`: the CaQR-style baseline is narrower: "
              f"{row.baseline.width} wires against qcompile's {row.ours.after}"
              for row in report.baseline_narrower]
    found += [f"`{row.case.name}`: the CaQR-style baseline on the lifted circuit is narrower: "
              f"{row.lifted.width} wires against qcompile's {row.ours.after}"
              for row in report.rows + report.large if row.ours and row.lifted
              and row.lifted.width < row.ours.after]
    added = [row.case.name for row in report.rows if row.case.measurements_added]
    if added:
        found.append("measured nothing, every qubit measured at the end here: "
                     + ", ".join(f"`{name}`" for name in added))
    if report.skipped:
        found.append("skipped (do not load): " + ", ".join(
            f"`{name}` ({reason})" for name, reason in report.skipped.items()))
    return found


def legend(report: Report) -> list[str]:
    return [f"- `{row.case.name}`: {row.case.title}" for row in report.rows + report.large
            if row.case.family != "qasmbench"] + [
        "- family `qasmbench`: the QASMBench file of that name"]


def as_rich(report: Report) -> list[Table]:
    return [rich_table(title, header, lines) for title, header, lines in tables(report)]


def as_markdown(report: Report) -> str:
    parts = [f"**{title}**\n\n{markdown_table(header, lines)}"
             for title, header, lines in tables(report)]
    found = notes(report)
    return "\n\n".join(parts + ["\n".join(legend(report))]
                       + (["Notes:\n\n" + "\n".join(f"- {n}" for n in found)] if found else []))


ABOUT = f"""## Qubit-reuse benchmark

`python -m benchmarks --only reuse` runs qcompile's `{PIPELINE}` on
circuits measured into classical bits (program output `Counts({SHOTS})`, so a qubit is free
once it is done) and compares the width after reuse with a CaQR-style baseline (Hua et al.,
MICRO 2022 / ASPLOS 2023; `benchmarks/reuse.py`, `caqr_baseline`): the dependency DAG in
plain wire order with no commutation, barriers ignored, reuse pairs (i → j: qubit j starts
on i's wire after i's last operation and a reset) valid while they close no cycle, the pair
that adds the least critical-path depth merged first, until none is valid ("lifted input":
the same baseline on the circuit after `lift-measurements` alone, which separates what
lifting measurements gains from what commutation-aware scheduling gains). Depth is counted
alike for both: every operation (measure and reset included, an if/else once) one layer on
its qubits and classical bits; the baseline's depth is its DAG's longest path with one reset
node per reuse. "published min" is the width reported in the literature (CaQR: 2 qubits for
Bernstein–Vazirani, Deutsch–Jozsa and measured GHZ); the baseline, choosing pairs by depth
alone, does not always reach it, as its early depth-cheap pairs can rule out later ones.
Every QASMBench circuit of the corpus that loads takes part (one that measures nothing gets
every qubit measured at the end, listed in the notes). qcompile's time is one
run of the whole pipeline (both passes); circuits of at most {EXACT_LIFETIMES} qubit
lifetimes get `reuse-qubits`' exact search, so some small circuits take longer than the
100-qubit ones. `--quick` runs a few small circuits and leaves this file alone."""


def document_section(report: Report) -> str:
    return ABOUT + "\n\n" + generated_section(
        f"one run of each circuit, in one process; the whole benchmark took "
        f"{report.seconds:.0f} s.", as_markdown(report), PACKAGES)
