"""The compiler benchmark: qcompile -O3 against Qiskit -O3 and pytket's FullPeepholeOptimise.

Every compiler gets the same circuit and lowers it to cx, rz, sx, x; only the compile call is
timed (loading and converting are not), after one untimed warm-up compile per compiler. Each
output is checked against the input circuit up to a global phase, after undoing the qubit
permutation the compiler reports (elided swaps, routing): as unitaries up to
``OPERATOR_MAX_QUBITS`` qubits, above that as the states both make from one random product
state. Counts are compared with Qiskit -O0 in the same basis (the unoptimized translation).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import PermutationGate
from qiskit.quantum_info import Operator
from qiskit_aer import AerSimulator
from rich.table import Table

from qcompile import Target, compile
from qcompile.backends.hardware import resolve_device
from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.frontend.qiskit_circuit import from_qiskit
from qcompile.ir import Program, bind_each
from qcompile.passes.stats import circuit_stats

from .compile_circuits import SIZES, Case, corpus_cases, generated_cases, symbolic_hea
from .harness import failure_note, generated_section, markdown_table, rich_table, timed
from .peers import Skip, installed

BASIS = ("cx", "rz", "sx", "x")
DEVICE = "fake_guadalupe"
SEED = 7
OPERATOR_MAX_QUBITS = 10
#: Entry-wise tolerance of the unitary comparison. Qiskit -O3 drops gates within float noise
#: of the identity in fidelity (1e-13), which is 3e-7 in the entries (hhl_n7: 2e-7).
OPERATOR_ATOL = 1e-6
FIDELITY = 1 - 1e-8
MARKERS = ("<!-- compiler benchmark results: begin -->",
           "<!-- compiler benchmark results: end -->")
PACKAGES = ("qcompile", "qiskit", "qiskit-aer", "pytket", "pytket-qiskit")
QUICK_CORPUS = ("bell_n4", "toffoli_n3")


# --- compilers -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Output:
    """A compiled circuit and where it keeps the input's qubits: qubit ``k`` starts on wire
    ``initial[k]`` and ends on wire ``final[k]`` (None: on wire ``k``). Wires beyond the
    input's qubits (a device's spare qubits) start and must end in |0>."""

    circuit: QuantumCircuit
    seconds: float
    initial: Sequence[int] | None = None
    final: Sequence[int] | None = None


Compiler = Callable[[Case], Output]


def qcompile_compiler(target: Target) -> Compiler:
    def run(case: Case) -> Output:
        program = Program.from_circuit(case.ir)
        seconds, compiled = timed(lambda: compile(program, level=3, target=target, seed=SEED))
        circuit = compiled.program.circuits[0]
        routed = compiled.properties.get("route", {}).get(circuit.name)
        return Output(to_qiskit(circuit), seconds, routed.initial if routed else None,
                      compiled.final_wires(circuit.name))
    return run


def qiskit_compiler(**options) -> Compiler:
    """``transpile`` at -O3 with ``options`` (a basis, or a backend)."""
    def run(case: Case) -> Output:
        seconds, qc = timed(lambda: transpile(case.qiskit, optimization_level=3,
                                              seed_transpiler=SEED, **options))
        return qiskit_output(qc, seconds)
    return run


def qiskit_output(qc: QuantumCircuit, seconds: float) -> Output:
    """Qiskit's layout as an :class:`Output` (its -O3 elides swaps even without a device)."""
    if qc.layout is None:
        return Output(qc, seconds)
    return Output(qc, seconds, qc.layout.initial_index_layout(filter_ancillas=True),
                  qc.layout.final_index_layout(filter_ancillas=True))


def pytket_compiler(case: Case) -> Output:
    """FullPeepholeOptimise, then a rebase of its TK1 gates to the basis (both timed)."""
    if not installed("pytket.extensions.qiskit"):
        raise Skip("not installed")
    from pytket import OpType
    from pytket.extensions.qiskit import qiskit_to_tk, tk_to_qiskit
    from pytket.passes import AutoRebase, FullPeepholeOptimise

    circuit = qiskit_to_tk(case.qiskit)
    rebase = AutoRebase({OpType.CX, OpType.Rz, OpType.SX, OpType.X})
    seconds, _ = timed(lambda: (FullPeepholeOptimise().apply(circuit), rebase.apply(circuit)))
    # The implicit permutation maps the wire a state ends on to the qubit it belongs to; it
    # becomes the final layout instead of swap gates, which would spoil the counts.
    wire_of = {qubit: wire for wire, qubit in enumerate(circuit.qubits)}
    final = [0] * circuit.n_qubits
    for wire, qubit in circuit.implicit_qubit_permutation().items():
        final[wire_of[qubit]] = wire_of[wire]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "contains implicit qubit permutations"
        return Output(tk_to_qiskit(circuit), seconds, final=final)


def basis_compilers() -> dict[str, Compiler]:
    return {"qcompile -O3": qcompile_compiler(Target.of(",".join(BASIS))),
            "Qiskit -O3": qiskit_compiler(basis_gates=list(BASIS)),
            "pytket FPO": pytket_compiler}


def device_compilers(device: str = DEVICE) -> dict[str, Compiler]:
    return {"qcompile -O3": qcompile_compiler(Target.device(device)),
            "Qiskit -O3": qiskit_compiler(backend=resolve_device(device).backend)}


# --- equivalence -----------------------------------------------------------------------------

def restored(output: Output, num_qubits: int) -> QuantumCircuit:
    """``output.circuit`` between the permutations that put qubit ``k`` on its wire at the
    start and take it back to wire ``k`` at the end: the input circuit's action on its qubits
    (with the spare wires, if any, in |0> before and after)."""
    width = output.circuit.num_qubits
    initial = list(output.initial or range(num_qubits))
    final = list(output.final or range(num_qubits))
    # A PermutationGate's pattern says which qubit each position receives.
    start = [0] * width
    for qubit, wire in enumerate(initial + [w for w in range(width) if w not in initial]):
        start[wire] = qubit
    end = final + [w for w in range(width) if w not in final]
    qc = QuantumCircuit(width)
    qc.append(PermutationGate(start), range(width))
    qc.compose(output.circuit, inplace=True)
    qc.append(PermutationGate(end), range(width))
    return qc


def statevector(qc: QuantumCircuit) -> np.ndarray:
    simulator = AerSimulator(method="statevector")
    qc = transpile(qc, simulator, optimization_level=0)
    qc.save_statevector()
    return np.asarray(simulator.run(qc).result().get_statevector())


class Checker:
    """Compares outputs with one reference circuit, up to a global phase: unitaries up to
    ``OPERATOR_MAX_QUBITS`` qubits, else the states from one random product state."""

    def __init__(self, reference: QuantumCircuit, seed: int = SEED):
        self.reference = reference
        self.angles = np.random.default_rng(seed).uniform(0, 2 * np.pi,
                                                          (reference.num_qubits, 3))

    def agrees(self, output: Output) -> bool:
        n = self.reference.num_qubits
        circuit = restored(output, n)
        if circuit.num_qubits == n <= OPERATOR_MAX_QUBITS:
            return bool(Operator(circuit).equiv(self.operator, rtol=0, atol=OPERATOR_ATOL))
        state = statevector(self.prepared(circuit))
        return bool(abs(np.vdot(self.state, state[:2 ** n])) ** 2 >= FIDELITY)

    def prepared(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """``circuit`` after the random product layer on the reference's qubits."""
        qc = QuantumCircuit(circuit.num_qubits)
        for qubit, (theta, phi, lam) in enumerate(self.angles):
            qc.u(theta, phi, lam, qubit)
        return qc.compose(circuit)

    @cached_property
    def operator(self) -> Operator:
        return Operator(self.reference)

    @cached_property
    def state(self) -> np.ndarray:
        return statevector(self.prepared(self.reference))


# --- running ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metrics:
    two_qubit: int
    depth: int
    two_qubit_depth: int

    @classmethod
    def of(cls, qc: QuantumCircuit) -> Metrics:
        return cls(qc.num_nonlocal_gates(), qc.depth(),
                   qc.depth(lambda instruction: instruction.operation.num_qubits == 2))


@dataclass
class Result:
    """One compiler on one circuit; ``note`` says why there are no metrics."""

    metrics: Metrics | None = None
    seconds: float | None = None
    agrees: bool | None = None
    note: str = ""


@dataclass
class Row:
    case: Case
    #: Qiskit -O0 in the basis: what the ratios divide by
    baseline: Metrics
    results: dict[str, Result] = field(default_factory=dict)


def attempt(compiler: Compiler, case: Case, checker: Checker) -> Result:
    """A compiler's result, its failure as a note (a result to report, not a crash)."""
    try:
        output = compiler(case)
        return Result(Metrics.of(output.circuit), output.seconds, checker.agrees(output))
    except Skip as skip:
        return Result(note=str(skip))
    except Exception as err:
        return Result(note=failure_note(err))


def run_suite(cases: list[Case], compilers: dict[str, Compiler],
              progress: Callable[[str], None] = print) -> list[Row]:
    """Every compiler on every case, after one untimed warm-up compile each (imports, JIT
    compilation and caches would otherwise be charged to the first circuit)."""
    for compiler in compilers.values():
        with suppress(Exception):  # a compiler that fails here fails again, reported, below
            compiler(cases[0])
    rows = []
    for case in cases:
        checker = Checker(case.qiskit)
        baseline = Metrics.of(transpile(case.qiskit, basis_gates=list(BASIS),
                                        optimization_level=0))
        row = Row(case, baseline)
        for name, compiler in compilers.items():
            progress(f"{case.name} ({case.num_qubits}q): {name}")
            row.results[name] = attempt(compiler, case, checker)
        rows.append(row)
    return rows


# --- compile once, bind many -----------------------------------------------------------------

@dataclass(frozen=True)
class Binding:
    """One way to compiled circuits for all bindings of the parametrized ansatz."""

    approach: str
    seconds: float
    #: the two-qubit counts of the circuits, over all bindings
    two_qubit: frozenset[int]
    #: whether the circuit for the first binding equals the bound ansatz
    agrees: bool


def parametrized(qubits: int, layers: int, bindings: int) -> list[Binding]:
    """qcompile compiling the symbolic ansatz once and binding it ``bindings`` times, against
    Qiskit transpiling every bound circuit, and Qiskit transpiling the symbolic one once."""
    ansatz = symbolic_hea(qubits, layers)
    values = np.random.default_rng(SEED).uniform(-np.pi, np.pi, (bindings, ansatz.num_parameters))
    checker = Checker(ansatz.assign_parameters(values[0]))
    program, target = Program.from_circuit(from_qiskit(ansatz)), Target.of(",".join(BASIS))

    def ours():
        compiled = compile(program, level=3, target=target, seed=SEED)
        circuit = compiled.program.circuits[0]
        return compiled.final_wires(circuit.name), bind_each(circuit, {"w": values})

    def qiskit(qc):
        return transpile(qc, basis_gates=list(BASIS), optimization_level=3, seed_transpiler=SEED)

    def qiskit_each():
        return [qiskit(ansatz.assign_parameters(v)) for v in values]

    def qiskit_once():
        compiled = qiskit(ansatz)
        return [compiled.assign_parameters(v) for v in values]

    compile(program, level=3, target=target, seed=SEED)  # warm-ups, as for the other rows
    qiskit(ansatz.assign_parameters(values[0]))
    seconds, (final, bound) = timed(ours)
    out = [Binding("qcompile: compile once, bind each", seconds,
                   frozenset(circuit_stats(c).two_qubit_gates for c in bound),
                   checker.agrees(Output(to_qiskit(bound[0]), seconds, final=final)))]
    for approach, call in (("Qiskit: bind each, transpile each", qiskit_each),
                           ("Qiskit: transpile once, bind each (extra)", qiskit_once)):
        seconds, circuits = timed(call)
        out.append(Binding(approach, seconds, frozenset(c.num_nonlocal_gates() for c in circuits),
                           checker.agrees(qiskit_output(circuits[0], seconds))))
    return out


# --- the report ------------------------------------------------------------------------------

@dataclass
class Report:
    rows: list[Row]
    #: the circuits that fit the device, routed on it
    device_rows: list[Row]
    bindings: list[Binding]
    ansatz: str
    skipped: dict[str, str]

    @property
    def disagreements(self) -> list[str]:
        """``circuit: compiler`` for every output that does not do what its input does."""
        found = [f"{row.case.name}: {name}" for row in self.rows + self.device_rows
                 for name, result in row.results.items() if result.agrees is False]
        return found + [f"{self.ansatz}: {b.approach}" for b in self.bindings if not b.agrees]


def run(quick: bool = False, progress: Callable[[str], None] = print) -> Report:
    """The whole benchmark; ``quick``: a few 3- and 4-qubit circuits, 5 bindings."""
    sizes, names, (qubits, layers, bindings) = (((4,), QUICK_CORPUS, (4, 2, 5)) if quick
                                                else (SIZES, None, (12, 6, 500)))
    corpus, skipped = corpus_cases(names=names)
    cases = corpus + generated_cases(sizes)
    rows = run_suite(cases, basis_compilers(), progress)
    fits = [case for case in cases if case.num_qubits <= resolve_device(DEVICE).num_qubits]
    device_rows = run_suite(fits, device_compilers(), lambda text: progress(f"{DEVICE}: {text}"))
    progress("parametrized ansatz")
    ansatz = f"{qubits}-qubit {layers}-layer ansatz, {bindings} bindings"
    return Report(rows, device_rows, parametrized(qubits, layers, bindings), ansatz, skipped)


def by_source(rows: list[Row]) -> dict[str, list[Row]]:
    """The corpus and the generated circuits (those present)."""
    out = {"corpus": [r for r in rows if r.case.family == "corpus"],
           "generated": [r for r in rows if r.case.family != "corpus"]}
    return {name: members for name, members in out.items() if members}


def groups(rows: list[Row]) -> dict[str, list[Row]]:
    """:func:`by_source`, and each generated family."""
    out = by_source(rows)
    for row in out.get("generated", []):
        out.setdefault(row.case.family, []).append(row)
    return out


def comparable(rows: list[Row]) -> list[Row]:
    """The rows whose ratios enter the geomeans: every compiler that ran produced an
    equivalent circuit, and no count is 0 (no logarithm), so that every compiler's geomean
    is over the same circuits."""
    ran = [name for name in rows[0].results if any(r.results[name].metrics for r in rows)]
    return [row for row in rows if row.baseline.two_qubit > 0
            and all(row.results[name].agrees and row.results[name].metrics.two_qubit > 0
                    for name in ran)]


def geomean(values) -> float:
    logs = [math.log(v) for v in values]
    return math.exp(sum(logs) / len(logs))


def _ratio_cell(rows: list[Row], used: list[Row], name: str) -> str:
    if not any(r.results[name].metrics for r in rows):
        return rows[0].results[name].note or "—"
    if not used:
        return "—"
    two = geomean(r.results[name].metrics.two_qubit / r.baseline.two_qubit for r in used)
    depth = geomean(r.results[name].metrics.depth / r.baseline.depth for r in used)
    return f"{two:.3f} (depth {depth:.3f})"


def ratio_lines(named_groups: dict[str, list[Row]]) -> list[list[str]]:
    """Per group: circuits used / all, then each compiler's geomean ratios to -O0."""
    lines = []
    for group, rows in named_groups.items():
        used = comparable(rows)
        lines.append([group, f"{len(used)}/{len(rows)}",
                      *(_ratio_cell(rows, used, name) for name in rows[0].results)])
    return lines


def _total_cell(rows: list[Row], name: str, reference: float | None = None) -> str:
    seconds = [r.results[name].seconds for r in rows if r.results[name].seconds is not None]
    if not seconds:
        return rows[0].results[name].note or "—"
    total = sum(seconds)
    text = f"{total:.2f} s" + (f" ({total / reference:.2f}×)" if reference else "")
    return text + (f" ({len(seconds)}/{len(rows)} circuits)" if len(seconds) < len(rows) else "")


def time_lines(named_groups: dict[str, list[Row]]) -> list[list[str]]:
    """Per group: each compiler's summed compile time, the others' also relative to the
    first compiler's."""
    lines = []
    for group, rows in named_groups.items():
        first, *others = rows[0].results
        reference = sum(r.results[first].seconds or 0 for r in rows)
        lines.append([group, _total_cell(rows, first),
                      *(_total_cell(rows, name, reference) for name in others)])
    return lines


def binding_lines(bindings: list[Binding]) -> list[list[str]]:
    ours = bindings[0].seconds
    return [[b.approach, f"{b.seconds:.3f} s", f"{b.seconds / ours:.1f}×",
             ", ".join(map(str, sorted(b.two_qubit))), "yes" if b.agrees else "DISAGREES"]
            for b in bindings]


def _metrics_cell(result: Result) -> str:
    if result.metrics is None:
        return result.note or "—"
    m = result.metrics
    text = f"{m.two_qubit}/{m.depth}/{m.two_qubit_depth} {result.seconds:.3f}s"
    return text + (" DISAGREES" if result.agrees is False else "")


def circuit_lines(report: Report) -> list[list[str]]:
    """Per circuit: the -O0 baseline, then every compiler, on the basis and on the device."""
    routed = {row.case.name: row for row in report.device_rows}
    lines = []
    for row in report.rows:
        device = routed.get(row.case.name)
        b = row.baseline
        lines.append([row.case.name, row.case.family, str(row.case.num_qubits),
                      f"{b.two_qubit}/{b.depth}/{b.two_qubit_depth}",
                      *map(_metrics_cell, row.results.values()),
                      *(map(_metrics_cell, device.results.values()) if device
                        else ["too wide"] * len(report.device_rows[0].results))])
    return lines


def tables(report: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as (title, header, lines) tables, for the console and the docs alike."""
    basis, device = list(report.rows[0].results), list(report.device_rows[0].results)
    equal_counts = report.bindings[0].two_qubit == report.bindings[1].two_qubit
    return [
        ("Two-qubit count and depth / Qiskit -O0 (basis cx, rz, sx, x), geometric mean",
         ["circuits", "n", *basis], ratio_lines(groups(report.rows))),
        (f"After routing on {DEVICE}: two-qubit count and depth / Qiskit -O0 (unrouted), "
         f"geometric mean", ["circuits", "n", *device], ratio_lines(groups(report.device_rows))),
        (f"Compile time, sum over the circuits (× {basis[0]}'s)",
         ["circuits", *basis], time_lines(by_source(report.rows))),
        (f"Compile time on {DEVICE} (× {device[0]}'s)", ["circuits", *device],
         time_lines(by_source(report.device_rows))),
        (f"Compile once, bind many: {report.ansatz}; qcompile's two-qubit counts equal "
         f"Qiskit's (bind, transpile each): {'yes' if equal_counts else 'NO'}",
         ["approach", "time", "× qcompile", "two-qubit count", "equivalent"],
         binding_lines(report.bindings)),
        ("Per circuit: two-qubit count/depth/two-qubit depth, compile seconds",
         ["circuit", "family", "qubits", "Qiskit -O0", *basis,
          *(f"{name} @ {DEVICE}" for name in device)], circuit_lines(report)),
    ]


def as_markdown(report: Report) -> str:
    parts = [f"**{title}**\n\n{markdown_table(header, lines)}"
             for title, header, lines in tables(report)]
    return "\n\n".join(parts + ([skipped_note(report)] if report.skipped else []))


def skipped_note(report: Report) -> str:
    return "Corpus files skipped: " + ", ".join(
        f"`{name}` ({why})" for name, why in report.skipped.items()) + "."


def as_rich(report: Report) -> list[Table]:
    return [rich_table(title, header, lines) for title, header, lines in tables(report)]


def document_section(report: Report) -> str:
    return generated_section("one timed compile call per compiler and circuit, after one "
                             "untimed warm-up compile per compiler.", as_markdown(report),
                             PACKAGES)
