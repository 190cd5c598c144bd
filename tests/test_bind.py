"""Compile once, bind many: ``qcompile.ir.bind`` gives the circuit the values describe.

Judged against Qiskit: the bound circuit's operator equals that of the unoptimized circuit
bound by Qiskit (``assign_parameters``), for random symbolic circuits compiled at -O3 with
a basis, with if/else blocks holding symbolic gates too.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit.library import PermutationGate
from qiskit.quantum_info import Operator
from random_circuits import random_circuit, random_values
from reference import exact_outcomes

from qcompile import Target, compile
from qcompile.backends.qiskit_circuit import parameter_name, to_qiskit
from qcompile.ir import Const, Gate, Program, QCompileError, Symbol, bind, bind_each
from qcompile.ir.ops import walk


def _qiskit_bound(circuit, values):
    qc = to_qiskit(circuit)
    by_name = {p.name: p for p in qc.parameters}
    return qc.assign_parameters({by_name[parameter_name(Symbol(name, (k,)))]: v
                                 for name, array in values.items()
                                 for k, v in enumerate(array)
                                 if parameter_name(Symbol(name, (k,))) in by_name})


def _record_probabilities(circuit, values) -> dict:
    return {bits: float(np.real(rho.trace()))
            for bits, rho in exact_outcomes(circuit, values).items()}


@pytest.mark.parametrize("seed", range(40))
def test_bound_compiled_circuit_is_the_bound_original(seed):
    rng = np.random.default_rng(seed)
    dynamic = seed % 2 == 1
    circuit = random_circuit(rng, 2 + seed % 3, 16, dynamic=dynamic, symbolic=True)
    values = random_values(rng)
    compiled = compile(Program.from_circuit(circuit), level=3, target=Target.of("cx,rz,sx,x"))
    bound = bind(compiled.program.circuits[0], values)
    assert not bound.params
    assert all(isinstance(p, Const) for op in walk(bound.ops) if isinstance(op, Gate)
               for p in op.params)
    if dynamic:  # what is measured does not depend on which wire a qubit ends on
        expected, got = _record_probabilities(circuit, values), _record_probabilities(bound, None)
        for bits in set(expected) | set(got):
            assert abs(expected.get(bits, 0.0) - got.get(bits, 0.0)) < 1e-9, bits
        return
    qc = to_qiskit(bound)
    final = compiled.final_wires(circuit.name)
    if final is not None:  # undo the elided swaps: wire final[q] holds qubit q
        qc.append(PermutationGate(list(final)), range(qc.num_qubits))
    assert Operator(qc).equiv(Operator(_qiskit_bound(circuit, values)))


def test_partial_binding_keeps_the_other_parameters():
    rng = np.random.default_rng(1)
    circuit = random_circuit(rng, 3, 20, dynamic=False, symbolic=True)
    values = random_values(rng)
    half = bind(circuit, {"w": values["w"]})
    assert [p.name for p in half.params] == ["x"]
    whole = bind(half, {"x": values["x"]})
    assert Operator(to_qiskit(whole)).equiv(Operator(_qiskit_bound(circuit, values)))


@pytest.mark.parametrize("values,message", [
    ({"v": np.zeros(2)}, "no parameter 'v'"),
    ({"x": np.zeros(3)}, "shape"),
    ({"x": [np.nan, 0.0]}, "finite"),
    ({"x": ["a", "b"]}, "numbers"),
])
def test_bad_values_are_named(values, message):
    circuit = random_circuit(np.random.default_rng(2), 2, 8, dynamic=False, symbolic=True)
    with pytest.raises(QCompileError, match=message):
        bind(circuit, values)


def test_bind_each_is_bind_of_every_row():
    rng = np.random.default_rng(3)
    circuit = random_circuit(rng, 3, 20, dynamic=True, symbolic=True)
    rows = [random_values(rng) for _ in range(4)]
    batch = {name: np.stack([row[name] for row in rows]) for name in rows[0]}
    assert bind_each(circuit, batch) == [bind(circuit, row) for row in rows]


@pytest.mark.parametrize("values", [{"x": np.zeros((3, 2)), "w": np.zeros((4, 3))},
                                    {"x": np.zeros(2), "w": np.zeros(3)},
                                    {"x": 0.5}])
def test_bind_each_needs_one_leading_axis(values):
    circuit = random_circuit(np.random.default_rng(2), 2, 8, dynamic=False, symbolic=True)
    with pytest.raises(QCompileError):
        bind_each(circuit, values)
