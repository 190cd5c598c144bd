"""The circuit-cutting benchmark: qcompile's :mod:`qcompile.cutting` against
``qiskit-addon-cutting``.

Every cutter gets the same bound circuit (the Qiskit form for the addon, its IR translation
for qcompile) and the same qubit budget, and the observable is ⟨Z0 Zn-1⟩ (qubit 0 and the
last one). Per circuit, in one process:

- **plans**: the sampling overhead of each ``find_cuts`` (qcompile: with its optimality
  flag; the addon: ``metadata["sampling_overhead"]``) and the seconds it took; qcompile's
  distinct sub-experiments per read-out basis (``count_subexperiments``);
- **sub-experiments**: the seconds to build them for ⟨Z0 Zn-1⟩ (qcompile: every
  fragment's distinct circuits; the addon: ``cut_wires``, ``expand_observables``,
  ``partition_problem`` and ``generate_cutting_experiments``);
- **shots**: at one budget of :data:`SHOTS` shots executed in all (every fragment circuit's
  shots counted), the mean absolute error of the estimated ⟨Z0 Zn-1⟩ against the exact
  uncut value (Qiskit ``Statevector``) over :data:`SEEDS` seeds. qcompile's ``estimate`` gets
  ``SHOTS`` (it allocates them to the distinct sub-experiments); the addon runs every
  generated sub-experiment with ``SHOTS // sub-experiments`` shots on qiskit-aer's
  ``SamplerV2``, its QPD weights enumerated exactly when there are at most
  :data:`EXACT_WEIGHTS` term combinations, else sampled :data:`ADDON_SAMPLES` times;
- **distribution** (qcompile only, the addon reconstructs expectation values only): the
  largest absolute difference between the exactly reconstructed probabilities
  (``reconstruct(plan, Probs())``) and the uncut circuit's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate, efficient_su2
from qiskit.quantum_info import SparsePauliOp, Statevector
from rich.table import Table

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.cutting import Experiments, Readout, estimate, find_cuts, reconstruct
from qcompile.cutting.experiments import count_subexperiments, output_qubits
from qcompile.frontend.qiskit_circuit import from_qiskit
from qcompile.ir import Circuit, ExpVal, PauliTerm, Probs, QCompileError
from qcompile.ir.bind import bind
from qcompile.models import load_model

from .harness import failure_note, generated_section, markdown_table, rich_table, timed
from .peers import installed

SEED = 7
#: Shots executed in all per estimate (every fragment circuit's shots counted).
SHOTS = 20_000
SEEDS = 20
#: ``find_cuts``'s search time before qcompile falls back to its beam search.
TIME_LIMIT = 10.0
#: The addon's QPD weights are enumerated exactly up to this many term combinations...
EXACT_WEIGHTS = 2_000
#: ... and sampled this many times above it.
ADDON_SAMPLES = 1_000
#: Above this sampling overhead no shot-based estimate is attempted (the error would be
#: of the order of the value itself at :data:`SHOTS`).
MAX_ESTIMATED_OVERHEAD = 1e5
#: qcompile's exact distribution must match the uncut one within this...
PROBS_ATOL = 1e-9
#: ... and its mean absolute error stay within this many of its stated standard errors
#: (about 0.8 of one for an unbiased estimate).
ERROR_FACTOR = 3.0
MARKERS = ("<!-- cutting benchmark results: begin -->",
           "<!-- cutting benchmark results: end -->")
PACKAGES = ("qcompile", "numpy", "qiskit", "qiskit-aer", "qiskit-addon-cutting")


def seeds(quick: bool) -> int:
    return 2 if quick else SEEDS


# --- circuits --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One bound circuit in both forms, and the qubit budget it is cut for."""

    name: str
    title: str
    qiskit: QuantumCircuit
    ir: Circuit
    budget: int

    @property
    def num_qubits(self) -> int:
        return self.qiskit.num_qubits


def _case(name: str, title: str, qc: QuantumCircuit, budget: int) -> Case:
    return Case(name, title, qc, from_qiskit(qc), budget)


def qaoa_ring(n: int, seed: int = SEED) -> QuantumCircuit:
    """p = 1 QAOA on a ring: H layer, ``rzz`` on every edge (random angles), ``rx`` mixer."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for q, angle in enumerate(rng.uniform(0, np.pi, n)):
        qc.rzz(angle, q, (q + 1) % n)
    beta = rng.uniform(0, np.pi)
    for q in range(n):
        qc.rx(2 * beta, q)
    return qc


def hea(n: int, seed: int = SEED) -> QuantumCircuit:
    """``efficient_su2``, linear entanglement, two repetitions, random angles."""
    qc = efficient_su2(n, entanglement="linear", reps=2)
    angles = np.random.default_rng(seed).uniform(-np.pi, np.pi, qc.num_parameters)
    return qc.assign_parameters(angles).decompose()


def qft(n: int) -> QuantumCircuit:
    return transpile(QFTGate(n).definition, basis_gates=["h", "cp", "swap"],
                     optimization_level=0)


def cx_ring(n: int, seed: int = SEED) -> QuantumCircuit:
    """A layer of random ``ry``, a ring of CX, another layer of random ``ry``."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    for q, angle in enumerate(rng.uniform(0, np.pi, n)):
        qc.ry(angle, q)
    for q in range(n):
        qc.cx(q, (q + 1) % n)
    for q, angle in enumerate(rng.uniform(0, np.pi, n)):
        qc.ry(angle, q)
    return qc


def qcnn(seed: int = SEED) -> tuple[QuantumCircuit, Circuit, dict]:
    """The zoo QCNN bound to random values: Qiskit form, bound IR, the values."""
    symbolic = load_model("qcnn").circuit("qcnn")
    rng = np.random.default_rng(seed)
    values = {p.name: rng.uniform(-np.pi, np.pi, p.shape) for p in symbolic.params}
    bound = bind(symbolic, values)
    return to_qiskit(bound), bound, values


def cases(quick: bool = False) -> list[Case]:
    if quick:
        return [_case("qaoa_6", "QAOA ring, 6 qubits, p = 1", qaoa_ring(6), 3),
                _case("hea_4", "EfficientSU2, 4 qubits, linear, reps 2", hea(4), 2)]
    qc, bound, _ = qcnn()
    return [Case("qcnn", "QCNN (zoo:qcnn), 8 qubits, random binding", qc, bound, 5),
            _case("qaoa_10", "QAOA ring, 10 qubits, p = 1", qaoa_ring(10), 5),
            _case("qaoa_12", "QAOA ring, 12 qubits, p = 1", qaoa_ring(12), 6),
            _case("hea_10", "EfficientSU2, 10 qubits, linear, reps 2", hea(10), 5),
            _case("hea_12", "EfficientSU2, 12 qubits, linear, reps 2", hea(12), 6),
            _case("cx_ring_10", "ry layer, CX ring, ry layer, 10 qubits", cx_ring(10), 5),
            _case("qft_12", "QFT, 12 qubits (h, cp, swap)", qft(12), 8)]


def observable(n: int) -> ExpVal:
    """⟨Z0 Z(n-1)⟩: qubit 0 and the last qubit (neighbours on a ring, the two ends of a
    line, so the value needs both ends of the cut circuit; ⟨Z0⟩ alone is 0 by symmetry
    for QAOA)."""
    return ExpVal(((PauliTerm(1.0, ((0, "Z"), (n - 1, "Z"))),),))


def observable_operator(n: int) -> SparsePauliOp:
    return SparsePauliOp("Z" + "I" * (n - 2) + "Z")


# --- results ---------------------------------------------------------------------------------

@dataclass
class Side:
    """One cutter on one circuit; a ``None`` field was not measured, ``notes`` say why."""

    overhead: float | None = None
    optimal: bool | None = None
    seconds: float | None = None
    cuts: int | None = None
    subexperiments: int | None = None
    generation_seconds: float | None = None
    #: the mean absolute error over the seeds, and the seconds all seeds took
    error: float | None = None
    error_seconds: float | None = None
    #: the standard error qcompile states (mean over the seeds)
    stated_error: float | None = None
    #: how the shots were split: in all (qcompile allocates them), shots × circuits (addon)
    shots: str = ""
    #: qcompile: max |reconstructed - uncut| over the distribution
    probs_diff: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Row:
    case: Case
    exact: float
    ours: Side
    addon: Side


def qcompile_side(case: Case, exact: float, quick: bool) -> Side:
    side = Side()
    try:
        side.seconds, plan = timed(lambda: find_cuts(case.ir, case.budget,
                                                     time_limit=TIME_LIMIT))
    except Exception as err:
        side.notes.append(f"find_cuts: {failure_note(err)}")
        return side
    side.overhead, side.optimal, side.cuts = plan.sampling_overhead, plan.optimal, len(plan.cuts)
    try:
        side.subexperiments = count_subexperiments(plan)
        side.generation_seconds, _ = timed(lambda: _build(plan, case.ir))
    except QCompileError as err:
        side.notes.append(f"sub-experiments: {err}")
    if plan.sampling_overhead > MAX_ESTIMATED_OVERHEAD:
        side.notes.append(_too_costly(plan.sampling_overhead, SHOTS))
    else:
        side.shots = f"{SHOTS}"
        try:
            errors, stated = [], []
            start = time.perf_counter()
            for seed in range(seeds(quick)):
                found = estimate(plan, observable(case.num_qubits), shots=SHOTS, seed=seed)
                errors.append(abs(float(found.value[0]) - exact))
                stated.append(float(found.standard_error[0]))
            side.error_seconds = time.perf_counter() - start
            side.error, side.stated_error = float(np.mean(errors)), float(np.mean(stated))
        except QCompileError as err:
            side.notes.append(f"estimate: {err}")
    try:
        probabilities = reconstruct(plan, Probs())
        uncut = Statevector(case.qiskit).probabilities()
        side.probs_diff = float(np.max(np.abs(probabilities - uncut)))
    except QCompileError as err:
        side.notes.append(f"Probs: {err}")
    return side


def _too_costly(overhead: float, shots: int) -> str:
    return (f"no estimate: overhead {overhead:.3g}, so a standard error near "
            f"√(γ²/shots) = {math.sqrt(overhead / shots):.2g} at {shots} shots, "
            f"over the range of the value")


def _build(plan, circuit: Circuit) -> int:
    """Every fragment's distinct sub-experiments for the observable; how many."""
    experiments = Experiments(plan, circuit, lambda c: None)
    total = 0
    for fragment in range(len(plan.fragments)):
        bases = tuple("Z" if q in (0, circuit.num_qubits - 1) else "I"
                      for q in output_qubits(plan, fragment))
        total += len(experiments.distinct(fragment, Readout(bases)))
    return total


def addon_side(case: Case, exact: float, quick: bool) -> Side:
    side = Side()
    if not installed("qiskit_addon_cutting"):
        side.notes.append("qiskit-addon-cutting not installed")
        return side
    from qiskit_addon_cutting import (cut_wires, expand_observables,
                                      generate_cutting_experiments, partition_problem)
    from qiskit_addon_cutting.automated_cut_finding import (DeviceConstraints,
                                                            OptimizationParameters, find_cuts)

    operator = observable_operator(case.num_qubits)
    try:
        side.seconds, (cut, metadata) = timed(lambda: find_cuts(
            case.qiskit, OptimizationParameters(seed=SEED),
            DeviceConstraints(qubits_per_subcircuit=case.budget)))
    except Exception as err:
        side.notes.append(f"find_cuts: {failure_note(err)}")
        return side
    side.overhead, side.cuts = float(metadata["sampling_overhead"]), len(metadata["cuts"])
    side.optimal = bool(metadata.get("minimum_reached")) if "minimum_reached" in metadata \
        else None

    def partitioned():
        with_ancillas = cut_wires(cut)
        expanded = expand_observables(operator.paulis, case.qiskit, with_ancillas)
        return partition_problem(circuit=with_ancillas, observables=expanded)

    def generate(problem, samples):
        return generate_cutting_experiments(problem.subcircuits, problem.subobservables,
                                            num_samples=samples)

    try:
        start = time.perf_counter()
        problem = partitioned()
        combinations = math.prod(len(basis.coeffs) for basis in problem.bases)
        samples = math.inf if combinations <= EXACT_WEIGHTS else ADDON_SAMPLES
        np.random.seed(0)
        subexperiments, coefficients = generate(problem, samples)
        side.generation_seconds = time.perf_counter() - start
    except Exception as err:
        side.notes.append(f"sub-experiments: {failure_note(err)}")
        return side
    count = sum(len(batch) for batch in subexperiments.values())
    side.subexperiments = count
    if side.overhead > MAX_ESTIMATED_OVERHEAD:
        side.notes.append(_too_costly(side.overhead, SHOTS // len(problem.subcircuits)))
        return side
    per_circuit = SHOTS // count
    if per_circuit < 1:
        side.notes.append(f"no estimate: {count} sub-experiments, more than {SHOTS} shots")
        return side
    side.shots = (f"{per_circuit}×{count}"
                  + ("" if samples == math.inf else f" ({samples} samples)"))
    try:
        start = time.perf_counter()
        errors = [abs(value - exact) for value in _addon_values(
            problem, generate, subexperiments, coefficients, samples, per_circuit,
            seeds(quick), operator)]
        side.error_seconds = time.perf_counter() - start
        side.error = float(np.mean(errors))
    except Exception as err:
        side.notes.append(f"shots: {failure_note(err)}")
    return side


def _addon_values(problem, generate, subexperiments, coefficients, samples, per_circuit: int,
                  count: int, operator: SparsePauliOp) -> list[float]:
    """``count`` independent estimates by the addon. With exact weights the sub-experiments
    are the same for every estimate: each runs once with ``count`` times the shots, and
    estimate ``i`` gets the ``i``-th slice of every one's shots (as many Aer runs of a few
    hundred circuits would take minutes); sampled weights are drawn afresh per estimate."""
    from qiskit.primitives.containers import DataBin, PrimitiveResult, SamplerPubResult
    from qiskit_addon_cutting import reconstruct_expectation_values
    from qiskit_aer.primitives import SamplerV2

    def value(results) -> float:
        terms = reconstruct_expectation_values(results, coefficients, problem.subobservables)
        return float(np.real(np.dot(terms, operator.coeffs)))

    def sliced(result, part: int):
        pubs = []
        for pub in result:
            fields = {name: pub.data[name].slice_shots(range(part * per_circuit,
                                                             (part + 1) * per_circuit))
                      for name in pub.data}
            pubs.append(SamplerPubResult(DataBin(**fields, shape=pub.data.shape)))
        return PrimitiveResult(pubs)

    if samples == math.inf:
        sampler = SamplerV2(seed=SEED)
        results = {label: sampler.run(batch, shots=per_circuit * count).result()
                   for label, batch in subexperiments.items()}
        return [value({label: sliced(result, part) for label, result in results.items()})
                for part in range(count)]
    values = []
    for seed in range(count):
        if seed:
            np.random.seed(seed)
            subexperiments, coefficients = generate(problem, samples)
        per_circuit = SHOTS // sum(len(batch) for batch in subexperiments.values())
        sampler = SamplerV2(seed=seed)
        values.append(value({label: sampler.run(batch, shots=per_circuit).result()
                             for label, batch in subexperiments.items()}))
    return values


def run(quick: bool = False, progress: Callable[[str], None] = print) -> list[Row]:
    rows = []
    for case in cases(quick):
        exact = float(np.real(Statevector(case.qiskit).expectation_value(
            observable_operator(case.num_qubits))))
        progress(f"{case.name} ({case.num_qubits}q, budget {case.budget}): qcompile")
        ours = qcompile_side(case, exact, quick)
        progress(f"{case.name} ({case.num_qubits}q, budget {case.budget}): addon")
        rows.append(Row(case, exact, ours, addon_side(case, exact, quick)))
    return rows


# --- the report ------------------------------------------------------------------------------

def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:.2e}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value:.2f} s"


def plan_lines(rows: list[Row]) -> list[list[str]]:
    lines = []
    for row in rows:
        ours, addon = row.ours, row.addon
        optimal = {True: " (optimal)", False: " (beam)", None: ""}[ours.optimal]
        lines.append([row.case.name, str(row.case.num_qubits), str(row.case.budget),
                      f"{_number(ours.overhead)}{optimal}", _seconds(ours.seconds),
                      _number(addon.overhead),
                      "" if addon.optimal is None else ("yes" if addon.optimal else "no"),
                      _seconds(addon.seconds), _cuts(ours), _cuts(addon)])
    return lines


def _cuts(side: Side) -> str:
    return "—" if side.cuts is None else str(side.cuts)


def experiment_lines(rows: list[Row]) -> list[list[str]]:
    return [[row.case.name, _number(row.ours.subexperiments, 6),
             _seconds(row.ours.generation_seconds), _number(row.addon.subexperiments, 6),
             _seconds(row.addon.generation_seconds)] for row in rows]


def shot_lines(rows: list[Row]) -> list[list[str]]:
    lines = []
    for row in rows:
        ours, addon = row.ours, row.addon
        lines.append([row.case.name, f"{row.exact:+.4f}",
                      _error(ours), _number(ours.stated_error), ours.shots or "—",
                      _seconds(ours.error_seconds), _error(addon), addon.shots or "—",
                      _seconds(addon.error_seconds), _number(ours.probs_diff, 2)])
    return lines


def _error(side: Side) -> str:
    return "—" if side.error is None else f"{side.error:.4f}"


def notes(rows: list[Row]) -> list[str]:
    return [f"`{row.case.name}`, {who}: {note}" for row in rows
            for who, side in (("qcompile", row.ours), ("addon", row.addon))
            for note in side.notes]


def tables(rows: list[Row], seeds: int = SEEDS) -> list[tuple[str, list[str], list[list[str]]]]:
    return [
        ("Plans: sampling overhead (γ², product over the cuts), find_cuts seconds, cuts",
         ["circuit", "qubits", "budget", "qcompile", "qcompile time", "addon",
          "addon minimum reached", "addon time", "qcompile cuts", "addon cuts"],
         plan_lines(rows)),
        ("Sub-experiments for ⟨Z0 Zn-1⟩: how many, seconds to build them",
         ["circuit", "qcompile (distinct)", "qcompile time", "addon (generated)", "addon time"],
         experiment_lines(rows)),
        (f"⟨Z0 Zn-1⟩ from {SHOTS} shots in all: mean |estimate − exact| over {seeds} seeds; "
         f"qcompile's exact distribution",
         ["circuit", "exact", "qcompile error", "qcompile stated σ", "qcompile shots",
          "qcompile time", "addon error", "addon shots × circuits", "addon time",
          "Probs max |Δ|"], shot_lines(rows)),
    ]


def disagreements(rows: list[Row]) -> list[str]:
    """qcompile results that are wrong, not merely noisy: a reconstructed distribution off
    by more than :data:`PROBS_ATOL`, or a mean error over :data:`ERROR_FACTOR` stated
    standard errors."""
    found = []
    for row in rows:
        ours = row.ours
        if ours.probs_diff is not None and ours.probs_diff > PROBS_ATOL:
            found.append(f"{row.case.name}: qcompile's distribution is off by "
                         f"{ours.probs_diff:.2g}")
        if ours.error is not None and ours.error > ERROR_FACTOR * ours.stated_error + 1e-12:
            found.append(f"{row.case.name}: qcompile's mean error {ours.error:.3g} is over "
                         f"{ERROR_FACTOR:g}× its stated standard error {ours.stated_error:.3g}")
    return found


def legend(rows: list[Row]) -> list[str]:
    return [f"- `{row.case.name}`: {row.case.title}" for row in rows]


def as_rich(rows: list[Row], seeds: int = SEEDS) -> list[Table]:
    return [rich_table(title, header, lines) for title, header, lines in tables(rows, seeds)]


def as_markdown(rows: list[Row]) -> str:
    parts = [f"**{title}**\n\n{markdown_table(header, lines)}"
             for title, header, lines in tables(rows)]
    found = notes(rows)
    return "\n\n".join(parts + ["\n".join(legend(rows))]
                       + (["Notes:\n\n" + "\n".join(f"- {n}" for n in found)] if found else []))


ABOUT = f"""## Circuit-cutting benchmark

`python -m benchmarks --only cut` cuts each circuit below for a qubit budget with qcompile's
`find_cuts` and with `qiskit-addon-cutting`'s (`OptimizationParameters(seed={SEED})`, gate
and wire cuts), both given the same bound circuit, and compares the sampling overheads, the
search times and the sub-experiments for ⟨Z0 Zn-1⟩. Then both estimate ⟨Z0 Zn-1⟩ from
{SHOTS} shots executed in all (every fragment circuit's shots counted): qcompile's
`estimate` (shots allocated to each distinct sub-experiment by the weight of the terms that
use it, then the exact contraction on the measured distributions), the addon's sub-experiments from
`generate_cutting_experiments` (weights enumerated exactly up to {EXACT_WEIGHTS} term
combinations, else {ADDON_SAMPLES} samples) with `{SHOTS} // sub-experiments` shots each on
qiskit-aer's `SamplerV2`, then `reconstruct_expectation_values`; the error is the mean of
|estimate − exact| over {SEEDS} seeds (exact: Qiskit `Statevector` of the uncut circuit).
With exact weights the addon's sub-experiments are run once with {SEEDS}× the shots and cut
into {SEEDS} independent slices. qcompile's stated σ is `estimate`'s standard error (mean
over the seeds; the mean absolute error of an unbiased estimate is about 0.8 σ). The last
column is qcompile's exact `reconstruct(plan, Probs())` against the uncut distribution (the
addon reconstructs expectation values only). `--quick` runs two small circuits and leaves
this file alone."""


def document_section(rows: list[Row], seconds: float) -> str:
    return ABOUT + "\n\n" + generated_section(
        f"one run of each find_cuts, in one process; the whole benchmark took "
        f"{seconds:.0f} s.", as_markdown(rows), PACKAGES)
