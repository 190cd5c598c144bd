"""The latency benchmark (issue 17): small circuits, parsing, process start and single states,
qcompile against qulacs, qsim (qsimcirq, through cirq) and qiskit-aer in one process.

- **many-small**: :data:`CIRCUITS` distinct random 8-qubit circuits (:func:`brick_circuit`:
  6 layers of ``ry``, ``rz`` with random angles on every qubit, then a CNOT brick layer on
  (0,1),(2,3),… in even layers and (1,2),(3,4),… in odd ones), built once as IR circuits, our
  input format. Each runner builds and simulates every circuit's final state: qcompile
  ``simulate(circuit, State())`` once per circuit, and ``simulate_many(circuits, State())`` in
  one call (its own row); qulacs builds a ``QuantumCircuit`` from the gate list and runs
  ``update_quantum_state``, ``get_vector``; qsim builds a cirq circuit and runs
  ``QSimSimulator.simulate``; aer builds a qiskit ``QuantumCircuit`` with ``save_statevector``
  and runs it. The peers' gate lists (plain tuples, :func:`.peers.gate_list`) are read from the
  IR before timing. Every state is checked against qcompile's.
- **qasm-parse**: :data:`FILES` distinct OpenQASM 2 files of the same family with 7 layers, a
  ``creg`` and ``measure q -> c;`` (:func:`qasm_text`, 142 lines), read by qcompile's
  ``load_qasm``, ``qiskit.qasm2.loads`` and ``qiskit.qasm3.loads`` (the same text under an
  ``OPENQASM 3.0; include "stdgates.inc";`` header). Every parsed circuit is checked gate for
  gate (names, qubits, angles, measurements) against the circuit the file was written from.
- **cli-start**: whole ``qcompile`` processes (the console script beside ``sys.executable``,
  else ``python -m qcompile.cli``), wall time, best of :data:`CLI_REPEATS` after one untimed
  run: ``--help``, ``compile bell.qasm`` and ``run bell.qasm --output probs`` on a 2-qubit
  Bell file in a temporary directory; shown against the issue's targets, not peers.
- **single-state**: one state of 16 and of 22 qubits, 10 layers of random ``ry``, ``rz`` and a
  CNOT ladder (:func:`.workloads.layered_circuit`), and the QFT (:func:`.workloads.qft_circuit`),
  through the simulator harness (:func:`.harness.run_all`) on qcompile, qulacs, qsim and aer.

Timing: the untimed warm-up of a row is one whole pass over its workload (so JIT tiers and
caches are warm), then up to :data:`REPEATS` timed passes (fewer once they add up to
:data:`BUDGET` seconds); a row shows the median pass divided by its circuits or files.
``quick`` shrinks everything to a smoke test: :data:`QUICK_CIRCUITS` circuits,
:data:`QUICK_FILES` files, one timed pass, one run of each command and no warm-up process,
8- and 10-qubit states.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.table import Table

from qcompile.backends.statevector import simulate, simulate_many
from qcompile.frontend.qasm import load_qasm
from qcompile.ir import Circuit, Gate, Measure, Register, State

from . import harness, peers
from .harness import (Measurement, failure_note, generated_section, markdown_table, repeated,
                      rich_table)
from .peers import GateTuple, Skip, installed
from .workloads import Workload, layered_circuit, qft_circuit

QUBITS, LAYERS, QASM_LAYERS = 8, 6, 7
CIRCUITS, QUICK_CIRCUITS = 200, 5
FILES, QUICK_FILES = 50, 3
SEED = 17
#: Timed passes of a row (the median counts) and the seconds after which no further one starts.
REPEATS, BUDGET = 3, 20.0
#: Timed runs of each command (the best counts), after one untimed run.
CLI_REPEATS = 3
#: Single-state sizes (issue 17 asks for 16 qubits; 22 for its "20–22 qubits" target).
SINGLE_SIZES, QUICK_SINGLE_SIZES = (16, 22), (8, 10)
SINGLE_LAYERS = 10
#: The peers, in table order (qcompile's rows come first).
PEERS = ("qulacs", "qsim", "qiskit-aer")
#: The issue's targets.
PER_CIRCUIT_TARGET = 1.0      # qcompile's time per small circuit / qulacs'
MANY_TARGET = 3.0             # qulacs' time per circuit / simulate_many's
SINGLE16_TARGET = 1.0         # qcompile's time / qsim's, 16 qubits
SINGLE22_TARGET = 2.0         # the fastest peer's time / qcompile's, 22 qubits
PARSE_MS_TARGET = 2.0         # ms per file
PARSE_RATIO_TARGET = 2.0      # qcompile's time / qiskit.qasm2.loads'
CLI_TARGETS = {"compile": 0.3, "run": 0.5}

MARKERS = ("<!-- latency benchmark results: begin -->",
           "<!-- latency benchmark results: end -->")
PACKAGES = ("qcompile", "numpy", "numba", "qulacs", "qsimcirq", "cirq-core", "qiskit",
            "qiskit-aer", "qiskit-qasm3-import")

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n' \
       'measure q -> c;\n'


# --- the workloads ---------------------------------------------------------------------------

def brick_circuit(index: int, layers: int = LAYERS, qubits: int = QUBITS) -> Circuit:
    """Circuit ``index`` of the family: ``layers`` times ``ry``, ``rz`` (uniform angles in
    ±π, seed ``[SEED, index]``) on every qubit, then CNOTs on (0,1),(2,3),… in even layers
    and (1,2),(3,4),… in odd ones."""
    rng = np.random.default_rng([SEED, index])
    ops = []
    for layer in range(layers):
        for q in range(qubits):
            ops += [Gate("ry", (q,), [float(rng.uniform(-np.pi, np.pi))]),
                    Gate("rz", (q,), [float(rng.uniform(-np.pi, np.pi))])]
        ops += [Gate("cx", (q, q + 1)) for q in range(layer % 2, qubits - 1, 2)]
    return Circuit(f"brick{index}", (Register("q", qubits),), ops=ops)


def qasm_text(circuit: Circuit, version: int = 2) -> str:
    """The circuit as a flat OpenQASM file with a ``creg`` and a terminal ``measure q -> c``
    (version 3: the same lines under a version-3 header and ``stdgates.inc``)."""
    n = circuit.num_qubits
    header = (['OPENQASM 2.0;', 'include "qelib1.inc";'] if version == 2 else
              ['OPENQASM 3.0;', 'include "stdgates.inc";'])
    lines = [*header, f"qreg q[{n}];", f"creg c[{n}];"]
    for name, qubits, angles in peers.gate_list(circuit):
        params = f"({','.join(repr(a) for a in angles)})" if angles else ""
        lines.append(f"{name}{params} {','.join(f'q[{q}]' for q in qubits)};")
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def single_state_workloads(quick: bool = False) -> list[Workload]:
    out = []
    for n in QUICK_SINGLE_SIZES if quick else SINGLE_SIZES:
        out += [Workload(f"layered{n}", f"one {n}q state, {SINGLE_LAYERS} layers RY,RZ + CNOT "
                         f"ladder", layered_circuit(n, SINGLE_LAYERS), State()),
                Workload(f"qft{n}", f"{n}q QFT after H on all", qft_circuit(n), State())]
    return out


# --- timing ----------------------------------------------------------------------------------

@dataclass
class Row:
    """One timed run of a workload: ``seconds`` of each timed pass over ``items`` circuits,
    files or (for a command) one process."""

    name: str
    runner: str
    items: int = 1
    seconds: list[float] = field(default_factory=list)
    note: str = ""
    #: None: nothing to compare with (the reference, or it did not run)
    agrees: bool | None = None
    #: the largest difference from the reference (states: after aligning the global phase)
    deviation: float | None = None
    over_budget: bool = False
    #: the best run counts (process start), not the median
    best: bool = False
    target: float | None = None

    @property
    def time(self) -> float | None:
        """Seconds per item: the median (or best) pass over ``items``."""
        if not self.seconds:
            return None
        return (min(self.seconds) if self.best else statistics.median(self.seconds)) / self.items


def passes(make: Callable[[], Callable[[], list]], row: Row, repeats: int,
           budget: float = BUDGET) -> list | None:
    """Fill ``row``: ``make()`` prepares (untimed) a pass; one untimed warm-up pass, then up
    to ``repeats`` timed ones. Returns the warm-up's results, None when it did not run (a
    :class:`Skip` or an error, noted in the row)."""
    try:
        run = make()
        values = run()
        row.seconds, row.over_budget = repeated(run, repeats, budget)
        return values
    except Skip as skip:
        row.note = str(skip)
    except Exception as err:  # a runner failing is a result to report, not a crash
        row.note, row.seconds = failure_note(err), []
    return None


def state_deviation(reference: np.ndarray, value: np.ndarray) -> float:
    """max |value − reference| after aligning the global phase (inf: different shapes)."""
    reference, value = np.asarray(reference), np.asarray(value, dtype=complex)
    if reference.shape != value.shape:
        return float("inf")
    overlap = np.vdot(value, reference)
    if abs(overlap) > 0:
        value = value * (overlap / abs(overlap))
    return float(np.max(np.abs(value - reference)))


def _compare_states(row: Row, reference: list | None, values: list | None) -> None:
    if reference is None or values is None:
        return
    if len(values) != len(reference):
        row.agrees, row.deviation = False, float("inf")
        return
    row.deviation = max(state_deviation(r, v) for r, v in zip(reference, values))
    row.agrees = row.deviation <= peers.tolerance(row.runner, harness.ATOL)


# --- many-small ------------------------------------------------------------------------------

def _qcompile_loop(circuits, gates):
    _steady_tier()
    output = State()
    return lambda: [simulate(circuit, output)[0] for circuit in circuits]


def _qcompile_many(circuits, gates):
    _steady_tier()
    output = State()
    return lambda: [state[0] for state in simulate_many(circuits, output)]


def _steady_tier():
    """Load the numba kernels of the lean path before timing: a process's first
    :data:`.gate_list.NUMPY_TIER_GATES` gates run on numpy so that one-off commands skip
    loading them (cli-start measures that); this part measures the steady state."""
    from qcompile.backends.statevector import gate_list_kernels  # noqa: F401


def _qulacs_loop(circuits, gates):
    if not installed("qulacs"):
        raise Skip("not installed")
    n = circuits[0].num_qubits
    return lambda: [peers.qulacs_state(n, peers.qulacs_circuit(n, g)) for g in gates]


def _qsim_loop(circuits, gates):
    if not installed("qsimcirq"):
        raise Skip("not installed")
    n = circuits[0].num_qubits
    simulator, order = peers.qsim_simulator(n), peers.cirq_order(n)

    def one(g):
        result = simulator.simulate(peers.cirq_circuit(n, g), qubit_order=order)
        return np.asarray(result.final_state_vector, dtype=complex)
    return lambda: [one(g) for g in gates]


def _aer_loop(circuits, gates):
    if not installed("qiskit_aer"):
        raise Skip("not installed")
    from qiskit_aer import AerSimulator
    n = circuits[0].num_qubits
    simulator = AerSimulator(method="statevector")

    def one(g):
        circuit = peers.qiskit_circuit(n, g)
        circuit.save_statevector()
        return np.asarray(simulator.run(circuit).result().get_statevector(), dtype=complex)
    return lambda: [one(g) for g in gates]


#: (row, runner, pass factory); the first row is the reference of the others.
MANY_SMALL = (
    ("qcompile simulate, one call per circuit", "qcompile", _qcompile_loop),
    ("qcompile simulate_many, one call", "qcompile", _qcompile_many),
    ("qulacs", "qulacs", _qulacs_loop),
    ("qsim", "qsim", _qsim_loop),
    ("qiskit-aer", "qiskit-aer", _aer_loop),
)


def many_small(quick: bool, runners: Sequence[str], progress=None) -> list[Row]:
    circuits = [brick_circuit(i) for i in range(QUICK_CIRCUITS if quick else CIRCUITS)]
    gates = [peers.gate_list(c) for c in circuits]
    rows, reference = [], None
    for name, runner, factory in MANY_SMALL:
        if runner not in runners:
            continue
        if progress is not None:
            progress(f"many-small on {name}")
        row = Row(name, runner, len(circuits))
        values = passes(lambda f=factory: f(circuits, gates), row, 1 if quick else REPEATS)
        if reference is None and runner == "qcompile" and values is not None:
            reference = values
        else:
            _compare_states(row, reference, values)
        rows.append(row)
    return rows


# --- qasm-parse ------------------------------------------------------------------------------

def _ir_gates(circuit: Circuit) -> list[GateTuple]:
    out = []
    for op in circuit.ops:
        if isinstance(op, Gate):
            out.append((op.name, tuple(op.qubits), tuple(float(p.value) for p in op.params)))
        elif isinstance(op, Measure):
            out.append(("measure", (op.qubit,), ()))
        else:
            out.append((type(op).__name__.lower(), (), ()))
    return out


def _qiskit_gates(circuit) -> list[GateTuple]:
    return [(item.operation.name, tuple(circuit.find_bit(q).index for q in item.qubits),
             tuple(float(p) for p in item.operation.params)) for item in circuit.data]


def _same_gates(expected: list[GateTuple], found: list[GateTuple]) -> float:
    """The largest angle difference, inf when names, qubits or counts differ."""
    if len(expected) != len(found):
        return float("inf")
    worst = 0.0
    for (name, qubits, angles), (name2, qubits2, angles2) in zip(expected, found):
        if name != name2 or qubits != qubits2 or len(angles) != len(angles2):
            return float("inf")
        worst = max([worst, *(abs(a - b) for a, b in zip(angles, angles2))])
    return worst


def _qasm2_loads():
    from qiskit import qasm2
    return qasm2.loads


def _qasm3_loads():
    if not installed("qiskit_qasm3_import"):
        raise Skip("not installed (qiskit-qasm3-import)")
    from qiskit import qasm3
    return qasm3.loads


#: (row, runner, OpenQASM version, parser factory, reader of the parsed circuit's gates)
PARSERS = (
    ("qcompile load_qasm", "qcompile", 2, lambda: load_qasm, _ir_gates),
    ("qiskit.qasm2.loads", "qiskit", 2, _qasm2_loads, _qiskit_gates),
    ("qiskit.qasm3.loads", "qiskit", 3, _qasm3_loads, _qiskit_gates),
)


def qasm_parse(quick: bool, progress=None) -> tuple[list[Row], int]:
    """The rows, and the lines per file."""
    circuits = [brick_circuit(CIRCUITS + i, QASM_LAYERS)
                for i in range(QUICK_FILES if quick else FILES)]
    measures = [("measure", (q,), ()) for q in range(QUBITS)]
    expected = [peers.gate_list(c) + measures for c in circuits]
    texts = {v: [qasm_text(c, v) for c in circuits] for v in (2, 3)}
    rows = []
    for name, runner, version, factory, read in PARSERS:
        if progress is not None:
            progress(f"qasm-parse on {name}")
        row = Row(name, runner, len(circuits))

        def make(factory=factory, version=version):
            parse = factory()
            return lambda: [parse(text) for text in texts[version]]
        parsed = passes(make, row, 1 if quick else REPEATS)
        if parsed is not None:
            try:
                row.deviation = max(_same_gates(e, read(p)) for e, p in zip(expected, parsed))
            except Exception as err:
                row.note, row.deviation = failure_note(err), float("inf")
            row.agrees = row.deviation <= 1e-12
        rows.append(row)
    return rows, texts[2][0].count("\n")


# --- cli-start -------------------------------------------------------------------------------

def cli_command() -> list[str]:
    """The ``qcompile`` console script beside this Python, else ``python -m qcompile.cli``."""
    script = Path(sys.executable).with_name("qcompile")
    return [str(script)] if script.exists() else [sys.executable, "-m", "qcompile.cli"]


#: (arguments, target key, text the output must contain)
CLI_CASES = (
    (["--help"], None, "usage"),
    (["compile", "bell.qasm"], "compile", "OPENQASM 3"),
    (["run", "bell.qasm", "--output", "probs"], "run", "0.5"),
)


def cli_start(quick: bool, progress=None) -> list[Row]:
    command = cli_command()
    rows = []
    with tempfile.TemporaryDirectory(prefix="qcompile-latency-") as folder:
        Path(folder, "bell.qasm").write_text(BELL)
        for arguments, key, expect in CLI_CASES:
            name = "qcompile " + " ".join(arguments)
            if progress is not None:
                progress(f"cli-start: {name}")
            row = Row(name, "qcompile", best=True, target=CLI_TARGETS.get(key))
            for attempt in range(CLI_REPEATS + 1 if not quick else 1):
                start = time.perf_counter()
                done = subprocess.run([*command, *arguments], cwd=folder, capture_output=True,
                                      text=True, env=os.environ.copy())
                seconds = time.perf_counter() - start
                if done.returncode != 0 or expect not in done.stdout:
                    last = (done.stderr.strip().splitlines() or [""])[-1][:80]
                    row.note = f"failed: exit status {done.returncode}: {last}"
                    row.agrees, row.seconds = False, []
                    break
                if attempt or quick:
                    row.seconds.append(seconds)
            rows.append(row)
    return rows


# --- single states ---------------------------------------------------------------------------

def single_state(quick: bool, runners: Sequence[str], progress=None) -> list[list[Measurement]]:
    chosen = ["qcompile", *[r for r in PEERS if r in runners]]
    return harness.run_all(single_state_workloads(quick), chosen, 1 if quick else REPEATS,
                           progress)


# --- the report ------------------------------------------------------------------------------

@dataclass
class Report:
    many: list[Row]
    parse: list[Row]
    parse_lines: int
    cli: list[Row]
    single: list[list[Measurement]]
    runners: list[str]
    seconds: float = 0.0
    quick: bool = False

    @property
    def disagreements(self) -> list[str]:
        """Results that differ from qcompile's (or from the parsed file), and qcompile rows
        that failed."""
        found = []
        for section, rows in (("many-small", self.many), ("qasm-parse", self.parse),
                              ("cli-start", self.cli)):
            for row in rows:
                if row.agrees is False:
                    found.append(f"{section}: {row.name}"
                                 + (f": {row.note}" if row.note else
                                    f": differs by {row.deviation:.1e}"))
                elif row.runner == "qcompile" and not row.seconds and row.note:
                    found.append(f"{section}: {row.name}: {row.note}")
        for line in self.single:
            for result in line:
                if result.agrees is False:
                    found.append(f"single-state: {result.workload} on {result.runner}")
        return found


def run(quick: bool = False, runners: Sequence[str] | None = None, progress=None) -> Report:
    """Every part; ``runners`` limits the peers (qcompile always runs)."""
    chosen = ["qcompile", *[r for r in PEERS if runners is None or r in runners]]
    start = time.perf_counter()
    many = many_small(quick, chosen, progress)
    parse, lines = qasm_parse(quick, progress)
    cli = cli_start(quick, progress)
    single = single_state(quick, chosen, progress)
    return Report(many, parse, lines, cli, single, chosen, time.perf_counter() - start, quick)


def _t(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def _ratio(value: float | None, reference: float | None) -> str:
    return "—" if value is None or not reference else f"{value / reference:.2f}×"


def _check(row: Row) -> str:
    if row.agrees is None:
        return "reference" if row.seconds and row.deviation is None else "—"
    text = "agrees" if row.agrees else "DISAGREES"
    return text + ("" if row.deviation is None else f" ({row.deviation:.0e})")


def _timed_lines(rows: list[Row], unit: str) -> list[list[str]]:
    reference = rows[0].time if rows else None
    lines = []
    for row in rows:
        if row.time is None:
            lines.append([row.name, row.note or "—", "—", "—", _check(row)])
            continue
        per_pass = statistics.median(row.seconds)
        lines.append([row.name, _t(row.time) + ("*" if row.over_budget else ""),
                      f"{_t(per_pass)} / {row.items} {unit}",
                      "—" if row is rows[0] else _ratio(row.time, reference), _check(row)])
    return lines


def _cli_lines(rows: list[Row]) -> list[list[str]]:
    lines = []
    for row in rows:
        target = "—" if row.target is None else f"≤ {row.target:g} s"
        if row.time is None:
            lines.append([row.name, row.note or "—", "—", target, "—"])
            continue
        status = "—" if row.target is None else ("**met**" if row.time <= row.target
                                                 else "**missed**")
        lines.append([row.name, _t(row.time), ", ".join(_t(s) for s in row.seconds), target,
                      status])
    return lines


def _single(report: Report, workload: str, runner: str) -> Measurement | None:
    for line in report.single:
        for result in line:
            if result.workload == workload and result.runner == runner:
                return result
    return None


def _row(rows: list[Row], name: str) -> Row | None:
    return next((r for r in rows if r.name == name), None)


def _usable(row) -> bool:
    """A timed result that may enter a target: it ran, and agrees (or is the reference)."""
    if row is None:
        return False
    seconds = row.time if isinstance(row, Row) else row.median
    return seconds is not None and row.agrees is not False


def _status(met: bool) -> str:
    return "**met**" if met else "**missed**"


def targets(report: Report) -> list[list[str]]:
    """[target, measured, status] for each target of issue 17 this run can judge."""
    out = []
    loop, many = report.many[0] if report.many else None, _row(
        report.many, "qcompile simulate_many, one call")
    qulacs = _row(report.many, "qulacs")
    n_circuits = loop.items if loop else 0
    if _usable(loop) and _usable(qulacs):
        ratio = loop.time / qulacs.time
        out.append(["many-small: qcompile per circuit ≤ qulacs' (ratio ≤ 1.0)",
                    f"{_t(loop.time)} against {_t(qulacs.time)}: {ratio:.2f}× qulacs' time",
                    _status(ratio <= PER_CIRCUIT_TARGET)])
    else:
        out.append(["many-small: qcompile per circuit ≤ qulacs'", "not measured", "—"])
    if _usable(many) and _usable(qulacs):
        ratio = qulacs.time / many.time
        out.append([f"many-small: simulate_many of {n_circuits} ≥ {MANY_TARGET:g}× faster "
                    f"than qulacs looping",
                    f"{_t(many.time)} against {_t(qulacs.time)} per circuit: {ratio:.2f}× "
                    f"faster", _status(ratio >= MANY_TARGET)])
    else:
        out.append(["many-small: simulate_many ≥ 3× faster than qulacs looping",
                    "not measured", "—"])
    small, large = (QUICK_SINGLE_SIZES if report.quick else SINGLE_SIZES)
    for kind, label in (("layered", "layered"), ("qft", "QFT")):
        ours, qsim = _single(report, f"{kind}{small}", "qcompile"), _single(
            report, f"{kind}{small}", "qsim")
        target = f"{small}q {label}: qcompile ≤ qsim's time"
        if _usable(ours) and _usable(qsim):
            ratio = ours.median / qsim.median
            out.append([target, f"{_t(ours.median)} against {_t(qsim.median)}: {ratio:.2f}× "
                        f"qsim's time", _status(ratio <= SINGLE16_TARGET)])
        else:
            out.append([target, "not measured", "—"])
    for kind, label in (("layered", "layered"), ("qft", "QFT")):
        name = f"{kind}{large}"
        ours = _single(report, name, "qcompile")
        others = [m for m in (_single(report, name, r) for r in PEERS) if _usable(m)]
        target = f"{large}q {label}: ≥ {SINGLE22_TARGET:g}× ahead of every peer"
        if _usable(ours) and others:
            fastest = min(others, key=lambda m: m.median)
            ratio = fastest.median / ours.median
            out.append([target, f"{ratio:.2f}× ahead of the fastest, {fastest.runner} "
                        f"({_t(fastest.median)} against {_t(ours.median)})",
                        _status(ratio >= SINGLE22_TARGET)])
        else:
            out.append([target, "not measured", "—"])
    ours, qasm2 = _row(report.parse, "qcompile load_qasm"), _row(report.parse,
                                                                 "qiskit.qasm2.loads")
    if _usable(ours):
        out.append([f"qasm-parse: ≤ {PARSE_MS_TARGET:g} ms per {report.parse_lines}-line file",
                    _t(ours.time), _status(ours.time <= PARSE_MS_TARGET / 1e3)])
        if _usable(qasm2):
            ratio = ours.time / qasm2.time
            out.append([f"qasm-parse: ≤ {PARSE_RATIO_TARGET:g}× qiskit.qasm2.loads' time",
                        f"{_t(ours.time)} against {_t(qasm2.time)}: {ratio:.2f}×",
                        _status(ratio <= PARSE_RATIO_TARGET)])
    else:
        out.append(["qasm-parse: ≤ 2 ms per file", "not measured", "—"])
    for row in report.cli:
        if row.target is None:
            continue
        target = f"cli-start: `{row.name}` ≤ {row.target:g} s"
        if row.time is None:
            out.append([target, row.note or "not measured", "—"])
        else:
            out.append([target, f"{_t(row.time)} (best of {len(row.seconds)})",
                        _status(row.time <= row.target)])
    return out


MANY_HEADER = ["run", "per circuit", "median pass", "time / qcompile simulate's",
               "check (max |Δψ|)"]
PARSE_HEADER = ["parser", "per file", "median pass", "time / qcompile's",
                "check (max |Δ angle|)"]
CLI_HEADER = ["command", "best", "runs", "target", "status"]
TARGET_HEADER = ["target", "measured", "status"]


def tables(report: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    n = report.many[0].items if report.many else 0
    files = report.parse[0].items if report.parse else 0
    single = harness.summary_rows(report.single, {})
    runs = "one run" if report.quick else f"best of {CLI_REPEATS} after one untimed run"
    return [
        (f"many-small: {n} random {QUBITS}-qubit circuits ({LAYERS} layers ry, rz + CNOT "
         f"bricks), build + simulate the final state", MANY_HEADER,
         _timed_lines(report.many, "circuits")),
        (f"qasm-parse: {files} OpenQASM 2 files of {report.parse_lines} lines", PARSE_HEADER,
         _timed_lines(report.parse, "files")),
        (f"cli-start: whole processes ({' '.join(Path(p).name for p in cli_command())}), "
         f"{runs}", CLI_HEADER, _cli_lines(report.cli)),
        ("single-state: median wall time (peer time / qcompile time)",
         ["workload", *report.runners, "speed-up vs best peer"], single),
        ("Against the targets of issue 17", TARGET_HEADER, targets(report)),
    ]


def as_rich(report: Report) -> list[Table]:
    return [rich_table(title, header, [[cell.replace("**", "") for cell in line]
                                       for line in lines])
            for title, header, lines in tables(report)]


def as_markdown(report: Report) -> str:
    parts = [f"**{title}**\n\n{markdown_table(header, lines)}"
             for title, header, lines in tables(report)]
    legend = [f"- `{w.name}`: {w.title}" for w in single_state_workloads(report.quick)]
    return "\n\n".join(parts) + "\n\n" + "\n".join(legend)


ABOUT = f"""## Latency benchmark

`python -m benchmarks --only latency` (`benchmarks/latency.py`) times, in one process, the
small things of issue 17 against qulacs, qsim (`qsimcirq` through cirq) and qiskit-aer
(install them with `pip install -e '.[bench]'`; a missing one is skipped with a note):

- **many-small**: {CIRCUITS} distinct random {QUBITS}-qubit circuits ({LAYERS} layers of `ry`,
  `rz` with random angles on every qubit, then CNOTs on (0,1),(2,3),… in even layers and
  (1,2),(3,4),… in odd ones), built once as IR circuits. Per circuit, build and simulate the
  final state: qcompile `simulate(circuit, State())` in a loop and, as its own row,
  `simulate_many(circuits, State())` in one call; qulacs builds a `QuantumCircuit` from the
  gate list, `update_quantum_state`, `get_vector`; qsim builds a cirq circuit and
  `QSimSimulator().simulate`s it (qsim is single precision: its states are checked to
  1e-6, the others to 1e-7, up to a global phase); aer builds a qiskit circuit with
  `save_statevector` and runs it.
- **qasm-parse**: {FILES} distinct files of the same family with {QASM_LAYERS} layers, a `creg`
  and `measure q -> c;`, read by qcompile's `load_qasm`, `qiskit.qasm2.loads` and
  `qiskit.qasm3.loads` (the same text under an OpenQASM 3 header); every parsed circuit is
  compared gate for gate with the one the file was written from.
- **cli-start**: whole `qcompile` processes, wall time, best of {CLI_REPEATS} after one
  untimed run: `--help`, `compile bell.qasm` and `run bell.qasm --output probs` on a 2-qubit
  Bell file, against the issue's targets.
- **single-state**: one 16- and one 22-qubit state, 10 layers of random `ry`, `rz` and a CNOT
  ladder, and the QFT, on the simulator harness (qsim on every core, fusing up to 2 qubits
  below 22 qubits and 4 from 22, as its documentation advises).

A row's untimed warm-up is one whole pass over its workload, then up to {REPEATS} passes are
timed (* fewer: they took over {BUDGET:.0f} s) and the median pass is divided by its circuits or
files. `--quick` runs {QUICK_CIRCUITS} circuits, {QUICK_FILES} files, each command once and 8- and
10-qubit states, and leaves this file alone."""


def document_section(report: Report | None) -> str:
    if report is None:
        return ABOUT + "\n\nNo results yet: `python -m benchmarks --only latency` writes them here."
    return ABOUT + "\n\n" + generated_section(
        f"in one process; the whole benchmark took {report.seconds:.0f} s.",
        as_markdown(report), PACKAGES)
