"""``qcompile.compile``: optimize a program and lower it to a target in one call.

A :class:`Target` says what the output may use — basis gates, a coupling map — and comes
from explicit lists or from a device (``Target.device("fake_kolkata")``: its basis and its
directed coupling map, read from the Qiskit backend). :func:`compile` runs the ``-O`` preset
for that target (or an explicit pipeline) and returns the program with the pass report and
the properties the passes wrote, among them where routing and elided swaps left each qubit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
import dataclasses
from dataclasses import dataclass, field

from .ir import GATES, Program, QCompileError
from .passes import PassManager, PassReport, PropertySet, WidthChange, preset
from .passes.coupling import Coupling, parse_coupling
from .passes.translate_basis import parse_basis


@dataclass(frozen=True)
class Target:
    """What compiled circuits may use: ``basis`` gate names (None: any gate of the library)
    and ``coupling`` (None: any pair of qubits)."""

    basis: tuple[str, ...] | None = None
    coupling: Coupling | None = None
    name: str = "custom"

    @classmethod
    def of(cls, basis: str | tuple[str, ...] | None = None,
           coupling: str | Coupling | None = None) -> Target:
        """A target from written forms: ``"cx,rz,sx,x"`` and ``"line:5"``, ``"ring:8"``,
        ``"grid:3x4"`` or a JSON file of edges."""
        return cls(None if basis is None else parse_basis(basis),
                   parse_coupling(coupling) if isinstance(coupling, str) else coupling)

    @classmethod
    def device(cls, name: str) -> Target:
        """The basis and coupling map of a Qiskit device (offline fake devices, ``aer``,
        ``ibm_*`` with an account)."""
        from .backends.hardware import resolve_device

        backend = resolve_device(name).backend
        basis = tuple(sorted(g for g in backend.operation_names if g in GATES
                             and GATES[g].num_qubits <= 2 and g != "id"))
        edges = (frozenset(backend.coupling_map.get_edges())
                 if backend.coupling_map is not None else None)
        coupling = Coupling(backend.num_qubits, edges) if edges else None
        return cls(parse_basis(basis), coupling, name)


@dataclass
class Compiled:
    """The compiled program, the per-pass report and the passes' properties."""

    program: Program
    report: PassReport
    properties: PropertySet = field(default_factory=dict)

    def final_wires(self, circuit: str) -> tuple[int, ...] | None:
        """Where each qubit of ``circuit`` ends up, when elided swaps or routing moved it
        (swaps are elided before routing, so routing moves the wires elision left)."""
        elided = self.properties.get("elide-permutations", {}).get(circuit)
        routed = self.properties.get("route", {}).get(circuit)
        if routed is None:
            return elided
        return routed.final if elided is None else tuple(routed.final[w] for w in elided)

    def narrowing(self, circuit: str) -> tuple[tuple[str, ...], WidthChange] | None:
        """How the qubit budget brought ``circuit`` to its width: the passes that changed it
        (``lift-measurements``, ``reuse-qubits``) and the width, depth and two-qubit gates
        before the first of them and after reuse; None without a budget."""
        records = [r for r in self.report.records
                   if r.name in ("lift-measurements", "reuse-qubits")]
        if not records:
            return None
        methods = tuple(r.name for r in records if r.before[circuit] != r.after[circuit])
        reuse = self.properties["reuse-qubits"][circuit]
        first = records[0].before[circuit]
        return methods, dataclasses.replace(
            reuse, depth_before=first.depth, two_qubit_gates_before=first.two_qubit_gates)


def compile(program: Program, level: int = 2, target: Target | None = None, *,
            pipeline: str | None = None, seed: int | None = None,
            max_qubits: int | None = None, print_after: Collection[str] = (),
            printer: Callable[[str, Program], None] | None = None) -> Compiled:
    """``program`` optimized at ``level`` (0-3), brought within ``max_qubits`` qubits per
    circuit (measurement lifting and qubit reuse) and lowered to ``target``; an explicit
    ``pipeline`` string replaces the preset (the target and the budget then apply only
    through it)."""
    options = {"print_after": print_after, "printer": printer}
    if pipeline is not None:
        if max_qubits is not None:
            raise QCompileError("a pipeline names every pass itself; instead of a qubit "
                                "budget, add lift-measurements,reuse-qubits(max_width=K)")
        manager = PassManager(pipeline, **options)
    elif target is None:
        manager = preset(level, max_qubits=max_qubits, **options)
    else:
        if target.basis is None and target.coupling is None:
            raise QCompileError(f"target {target.name!r} constrains nothing")
        manager = preset(level, basis=target.basis, coupling=target.coupling, seed=seed,
                         max_qubits=max_qubits, **options)
    compiled = manager.run(program)
    return Compiled(compiled, manager.report, manager.properties)
