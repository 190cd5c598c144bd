"""Differential tests of target lowering: elide-permutations, translate-basis, route,
fix-direction and the presets with a basis and a coupling map keep the meaning of random
circuits (mid-circuit measurement, reset, if/else, symbolic angles) and use only the target.

Meaning is judged by ``differential.py`` (Qiskit's reference and ``Operator``), with the
qubits followed to the wires the recorded layouts name; that gates are basis gates on coupled
pairs is read off the output circuit and the coupling map alone. Emitted OpenQASM 3 must load
in the ``openqasm3`` parser and in Qiskit's importer, and be the same operator there.

Sizes, to keep the default run near 75 s on two cores: each pass, and each
preset level with the representative target (the first of ``TARGETS``), runs 500 circuits;
every other basis, coupling map and target runs ``FEW`` (all 500 under ``pytest -m slow``).
One circuit in ``QASM_EVERY`` is emitted, since Qiskit's importer is slow.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import numpy as np
import openqasm3
import pytest
import qiskit.qasm3
from differential import (Case, Placement, assert_on_target, assert_same_meaning,
                          assert_same_operator, make_case, placement_of, random_cases)
from qiskit.quantum_info import Operator
from random_circuits import NARROW_GATE_NAMES

import qcompile
from qcompile.backends.qasm3 import emit_qasm3, hoisted_angles
from qcompile.ir import Circuit, Gate, Program, SetBits
from qcompile.ir.expr import evaluate
from qcompile.ir.ops import walk
from qcompile.passes import ElidePermutations, FixDirection, PassManager, Route, TranslateBasis
from qcompile.passes.coupling import Coupling, parse_coupling

NUM_CIRCUITS = 500
FEW = 12
#: Circuits FEW - 1, FEW - 1 + QASM_EVERY, ... emit OpenQASM: one in each short run, and in a
#: long run by turns dynamic or static, symbolic or not (the corpus alternates them).
QASM_EVERY = 25

#: What the presets translate to when only a coupling map is given.
DEFAULT_BASIS = ("cx", "rz", "sx", "x")

#: A directed five-qubit device (IBM's retired Tenerife): Qiskit's small fake devices are all
#: coupled both ways, so this one makes fix-direction turn gates.
TENERIFE = Coupling(5, frozenset({(1, 0), (2, 0), (2, 1), (3, 2), (3, 4), (4, 2)}))


def _sized(configs: list, ids=str) -> list:
    """pytest params (config, number of circuits): the first config with every circuit, the
    others with ``FEW`` — and with every circuit under ``-m slow``."""
    first, *others = configs
    params = [pytest.param(first, NUM_CIRCUITS, id=ids(first))]
    for config in others:
        params += [pytest.param(config, FEW, id=ids(config)),
                   pytest.param(config, NUM_CIRCUITS, id=f"{ids(config)}-all",
                                marks=pytest.mark.slow)]
    return params


@cache
def coupling(name: str) -> Coupling:
    """A coupling map by name: ``tenerife``, a fake device's, or a written form."""
    if name == "tenerife":
        return TENERIFE
    if name.startswith("fake_"):
        return qcompile.Target.device(name).coupling
    return parse_coupling(name)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return random_cases(20240612, NUM_CIRCUITS)


@pytest.fixture(scope="module")
def narrow_cases() -> list[Case]:
    """Circuits of gates on at most two qubits, as routing needs."""
    return random_cases(20240613, NUM_CIRCUITS, NARROW_GATE_NAMES)


def _run(passes, circuit: Circuit) -> tuple[Circuit, dict]:
    manager = PassManager(passes)
    return manager.run(Program.from_circuit(circuit)).circuits[0], manager.properties


def _bound(loaded, circuit: Circuit, values):
    """Qiskit's circuit loaded from the emitted text, its inputs bound by name."""
    values = values or {}
    by_name = {f"{name}_{i}": v for name, vector in values.items() for i, v in enumerate(vector)}
    by_name.update({name: evaluate(expr, values)
                    for name, expr in hoisted_angles(circuit).items()})
    return loaded.assign_parameters({p: by_name[p.name] for p in loaded.parameters})


def assert_qasm_loads(case: Case, compiled: Circuit, placement: Placement, label: str) -> None:
    """The emitted text parses, loads in Qiskit (function calls hoisted into inputs: Qiskit's
    importer cannot evaluate them) and, without measurement, is the same operator there."""
    text = emit_qasm3(compiled)
    openqasm3.parse(text)
    hoisted = emit_qasm3(compiled, hoist_functions=True)
    if hoisted != text:
        openqasm3.parse(hoisted)
    if any(isinstance(op, SetBits) for op in walk(compiled.ops)):
        return  # Qiskit's importer has no classical assignment (``c[0] = true;``)
    loaded = qiskit.qasm3.loads(hoisted)
    if case.operator is not None:
        assert_same_operator(case, Operator(_bound(loaded, compiled, case.values)), placement,
                             label)


def _check(case: Case, compiled: Circuit, properties: dict, index: int, label: str) -> None:
    """Same meaning, qubits followed to where the recorded layouts put them; for some
    circuits (see QASM_EVERY), the emitted text too."""
    label = f"{label}, circuit {index}"
    placement = placement_of(properties, compiled.name, case.circuit.num_qubits)
    assert_same_meaning(case, compiled, label, placement)
    if index % QASM_EVERY == FEW - 1:
        assert_qasm_loads(case, compiled, placement, label)


# --- passes --------------------------------------------------------------------------------

def _with_swaps(case: Case, rng) -> Case:
    """The case with three swaps planted among its top-level operations."""
    ops = list(case.circuit.ops)
    for _ in range(3):
        qubits = rng.choice(case.circuit.num_qubits, 2, replace=False)
        ops.insert(int(rng.integers(len(ops) + 1)), Gate("swap", qubits))
    return make_case(case.circuit.with_ops(ops), case.values)


def test_elide_permutations(cases):
    rng = np.random.default_rng(7)
    for index, case in enumerate(_with_swaps(case, rng) for case in cases):
        elided, properties = _run([ElidePermutations()], case.circuit)
        assert not any(isinstance(op, Gate) and op.name == "swap" for op in elided.ops)
        _check(case, elided, properties, index, "elide-permutations")


@pytest.fixture(scope="module")
def translated(cases):
    """``translated(basis, count)``: the first ``count`` cases through translate-basis, with
    the properties it wrote; shared by the translate-basis and fix-direction tests."""
    @cache
    def translate(basis: str, count: int) -> list[tuple[Circuit, dict]]:
        return [_run([TranslateBasis(basis=basis)], case.circuit) for case in cases[:count]]
    return translate


BASES = ["cx,rz,sx,x", "cz,rz,sx,x", "ecr,rz,sx,x", "rzz,rx,ry", "cx,u", "cz,p,sx",
         "iswap,rx,ry,rz"]


@pytest.mark.parametrize("basis,count", _sized(BASES))
def test_translate_basis(cases, translated, basis, count):
    for index, (circuit, properties) in enumerate(translated(basis, count)):
        assert_on_target(circuit, basis.split(","))
        _check(cases[index], circuit, properties, index, f"translate-basis {basis}")


COUPLINGS = ["line:5", "ring:5", "grid:2x3", "fake_manila", "tenerife"]


@pytest.mark.parametrize("name,count", _sized(COUPLINGS))
def test_route(narrow_cases, name, count):
    device = coupling(name)
    for index, case in enumerate(narrow_cases[:count]):
        routed, properties = _run([Route(coupling=device, seed=index)], case.circuit)
        assert_on_target(routed, coupling=device, directed=False)
        before, after = Counter(case.circuit.gate_counts()), Counter(routed.gate_counts())
        assert after - Counter(swap=after["swap"]) == before - Counter(swap=before["swap"])
        _check(case, routed, properties, index, f"route {name}")


#: Bases with a two-qubit gate that fix-direction turns (cx, ecr: resynthesized; cz, rzz:
#: relabelled), each with the Euler basis within it for the single-qubit gates it adds.
EULER_WITHIN = {"cx,rz,sx,x": "zsx", "ecr,rz,sx,x": "zsxx", "cz,rz,sx,x": "zsx",
                "rzz,rx,ry": "xyx"}


def _one_way(num_qubits: int, rng) -> Coupling:
    """Every pair coupled, each in one direction drawn at random."""
    pairs = [(a, b) for a in range(num_qubits) for b in range(a + 1, num_qubits)]
    return Coupling(num_qubits, frozenset(p if rng.random() < 0.5 else p[::-1] for p in pairs))


@pytest.mark.parametrize("basis,count", _sized(list(EULER_WITHIN)))
def test_fix_direction(cases, translated, basis, count):
    rng = np.random.default_rng(11)
    for index, (circuit, _) in enumerate(translated(basis, count)):
        device = _one_way(circuit.num_qubits, rng)
        fixed, properties = _run([FixDirection(coupling=device, basis=EULER_WITHIN[basis])],
                                 circuit)
        assert_on_target(fixed, basis.split(","), device)
        _check(cases[index], fixed, properties, index, f"fix-direction {basis}")


# --- presets with targets --------------------------------------------------------------------

#: (basis, coupling map), the representative first. None: the preset's default basis or no
#: coupling map; a fake device gives both.
TARGETS = [("cx,rz,sx,x", "tenerife"), (None, "fake_manila"), ("cx,rz,sx,x", None),
           (None, "line:5"), ("cz,rz,sx,x", "ring:5"), ("ecr,rz,sx,x", "grid:2x3"),
           ("ecr,rz,sx,x", "tenerife"), ("rzz,rx,ry", "line:5"), ("cx,u", "ring:5"),
           ("rzz,rx,ry,rz,cz", "tenerife")]


def _target_id(target: tuple[str | None, str | None]) -> str:
    return "@".join(part or "-" for part in target)


def _target(basis: str | None, name: str | None) -> qcompile.Target:
    if name is not None and name.startswith("fake_"):
        return qcompile.Target.device(name)
    return qcompile.Target.of(basis, name and coupling(name))


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("target,count", _sized(TARGETS, ids=_target_id))
def test_preset_with_target(cases, level, target, count):
    lowering = _target(*target)
    for index, case in enumerate(cases[:count]):
        compiled = qcompile.compile(Program.from_circuit(case.circuit), level, lowering,
                                    seed=index)
        circuit = compiled.program.circuits[0]
        assert_on_target(circuit, lowering.basis or DEFAULT_BASIS, lowering.coupling)
        _check(case, circuit, compiled.properties, index, f"O{level} {_target_id(target)}")
