"""Time every runner on every workload, check agreement, and report medians and ratios."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
from rich.table import Table

from .peers import RUNNERS, Skip, tolerance
from .workloads import Workload

#: Agreement tolerance (absolute, after aligning the global phase of states).
ATOL = 1e-7
#: Stop repeating a runner on a workload once its timed calls add up to this many seconds
#: (at least one timed call is always made), so slow peers keep a full run near 10 minutes.
TIME_BUDGET = 12.0


@dataclass
class Measurement:
    workload: str
    runner: str
    seconds: list[float] = field(default_factory=list)
    value: np.ndarray | None = None
    note: str = ""
    #: None: nothing to compare with (this is the reference, or it did not run)
    agrees: bool | None = None
    #: True when the time budget cut the repeats short
    over_budget: bool = False

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


def measure(workload: Workload, runner: str, repeats: int,
            budget: float = TIME_BUDGET) -> Measurement:
    """One untimed warm-up call (JIT compilation, caches), then up to ``repeats`` timed calls
    (fewer when they exceed ``budget`` seconds in total)."""
    result = Measurement(workload.name, runner)
    try:
        run = RUNNERS[runner](workload)
        result.value = np.asarray(run())
        result.seconds, result.over_budget = repeated(run, repeats, budget)
    except Skip as skip:
        result.note = str(skip)
    except Exception as err:  # a peer failing is a result to report, not a crash
        result.note = failure_note(err)
        result.value, result.seconds = None, []
    return result


def repeated(run: Callable[[], object], repeats: int, budget: float) -> tuple[list[float], bool]:
    """Wall seconds of up to ``repeats`` calls, fewer once they pass ``budget`` seconds in
    all, and whether the budget cut them short."""
    seconds: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
        if sum(seconds) > budget and len(seconds) < repeats:
            return seconds, True
    return seconds, False


def timed(call: Callable[[], object]) -> tuple[float, object]:
    """Wall seconds of one call, and its value."""
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def failure_note(err: Exception) -> str:
    """How a table cell shows a runner that raised."""
    first_line = (str(err).splitlines() or [""])[0]
    return f"failed: {type(err).__name__}: {first_line[:80]}"


def agree(reference: np.ndarray, value: np.ndarray, atol: float = ATOL) -> bool:
    """Equal within ``atol``; complex vectors (states) up to one global phase."""
    if reference.shape != value.shape:
        return False
    if np.iscomplexobj(reference) or np.iscomplexobj(value):
        overlap = np.vdot(value, reference)
        value = value * (overlap / abs(overlap) if abs(overlap) > 0 else 1)
    return bool(np.allclose(value, reference, rtol=0, atol=atol))


def check_agreement(results: list[Measurement]) -> None:
    """Compare every result with the first one that produced a value (qcompile's, normally),
    within :data:`ATOL` (a single-precision simulator: within its own tolerance)."""
    reference = next((r for r in results if r.value is not None), None)
    for result in results:
        if result is not reference and result.value is not None and reference is not None:
            result.agrees = agree(reference.value, result.value,
                                  tolerance(result.runner, ATOL))


def run_all(workloads: list[Workload], runners: list[str], repeats: int,
            progress=None) -> list[list[Measurement]]:
    """One row per workload, one measurement per runner. Runners go one after another over
    all workloads (not interleaved): the libraries keep OpenMP thread pools, and a pool left
    spinning by one slowed the next one's calls up to 20x when they alternated."""
    by_runner = []
    for runner in runners:
        column = []
        for workload in workloads:
            if progress is not None:
                progress(f"{workload.name} on {runner}")
            column.append(measure(workload, runner, repeats))
        by_runner.append(column)
    rows = [list(row) for row in zip(*by_runner)]
    for row in rows:
        check_agreement(row)
    return rows


def _cell(result: Measurement, reference: Measurement) -> str:
    if result.median is None:
        return result.note or "—"
    text = f"{result.median:.4f} s" + ("*" if result.over_budget else "")
    if result is not reference and reference.median:
        text += f" ({result.median / reference.median:.1f}×)"
    if result.agrees is False:
        text += " DISAGREES"
    return text


def _best_peer_ratio(row: list[Measurement]) -> str:
    ours, peers = row[0], [r.median for r in row[1:] if r.median is not None and r.agrees]
    if ours.median is None or not peers:
        return "—"
    return f"{min(peers) / ours.median:.1f}×"


def summary_rows(rows: list[list[Measurement]], titles: dict[str, str]) -> list[list[str]]:
    """Per workload: name, one cell per runner (median and, for peers, time relative to
    qcompile), and the speed-up of qcompile over the fastest agreeing peer."""
    return [[row[0].workload, *(_cell(r, row[0]) for r in row), _best_peer_ratio(row)]
            for row in rows]


def rich_table(title: str, header: list[str], lines: list[list[str]]) -> Table:
    """A console table; the first column (the row's name) left-aligned, numbers right."""
    table = Table(title=title)
    for index, column in enumerate(header):
        table.add_column(column, justify="left" if index == 0 else "right")
    for line in lines:
        table.add_row(*line)
    return table


def markdown_table(header: list[str], lines: list[list[str]]) -> str:
    """A markdown table; a ``|`` inside a cell (as in ``max |Δ p|``) is escaped."""
    rows = [header, ["---"] * len(header), *lines]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                     for row in rows)


def _header(runners) -> list[str]:
    return ["workload", *runners, "speed-up vs best peer"]


def as_table(rows, titles, runners) -> Table:
    return rich_table("median wall time (peer time / qcompile time)", _header(runners),
                      summary_rows(rows, titles))


def as_markdown(rows, titles, runners) -> str:
    legend = [f"- `{row[0].workload}`: {titles[row[0].workload]}" for row in rows]
    return "\n".join([markdown_table(_header(runners), summary_rows(rows, titles)), "",
                      *legend])


#: Versions the simulator results depend on.
SIMULATOR_PACKAGES = ("qcompile", "numpy", "numba", "qiskit", "qiskit-aer", "pennylane",
                      "pennylane-lightning", "qulacs", "qsimcirq", "cirq-core")


def machine_description(packages: tuple[str, ...] = SIMULATOR_PACKAGES) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for package in packages:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    threads = os.environ.get("NUMBA_NUM_THREADS", "default")
    return (f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}; "
            f"NUMBA_NUM_THREADS={threads}\n\n" + ", ".join(versions))


BEGIN, END = "<!-- benchmark results: begin -->", "<!-- benchmark results: end -->"


def generated_section(note: str, body: str,
                      packages: tuple[str, ...] = SIMULATOR_PACKAGES) -> str:
    """``body`` under a line saying when it was generated (and ``note`` on how), and on
    what machine with which versions of ``packages``."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (f"Generated by `python -m benchmarks` on {stamp}; {note}\n\n"
            f"Machine: {machine_description(packages)}\n\n{body}")


def timing_note(repeats: int) -> str:
    """How the simulator cells were timed."""
    return (f"median of {repeats} runs after one warm-up call (* fewer runs: the time budget "
            f"of {TIME_BUDGET:.0f} s per cell was spent).")


def update_document(path: Path, section: str, markers: tuple[str, str] = (BEGIN, END)) -> None:
    """Replace the part of ``path`` between ``markers`` with ``section``, keeping the prose
    and any other generated section; a missing part is appended."""
    begin, end = markers
    section = f"{begin}\n{section}\n{end}"
    text = path.read_text() if path.exists() else "# Performance\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
