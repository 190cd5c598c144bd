"""Amazon Braket's local simulator as a strict consumer of the emitter's dynamic programs.

Programs with mid-circuit measurement, if/else and reset are emitted with ``single_creg``
(Braket takes one bit register and tests bits one at a time), run by
``braket.default_simulator.StateVectorSimulator().run_openqasm``, and their counts compared
with qcompile's own sampler and with qiskit-aer after ``qiskit.qasm3.loads`` of the same text.

Two things about Braket (default simulator 1.41) shape the programs, not the comparison:

* it applies ``reset`` to a state vector by adding the |1> amplitudes onto |0> coherently,
  which is wrong for an entangled qubit; :func:`measured_resets` writes each reset as the
  equivalent measurement into a scratch bit plus a conditional ``x``, which Braket branches on;
* it reports only bits some executed measurement wrote; measuring qubit 0 into every bit first
  (it is still |0>, so each bit reads 0, its initial value) changes nothing and makes it
  report them all, in register order.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from itertools import count

import numpy as np
import pytest
import qiskit.qasm3
from aer_reference import total_variation
from conftest import CORPUS
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator
from random_circuits import random_circuit

from qcompile.backends.qasm3 import emit_qasm3
from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import simulate
from qcompile.ir import (Circuit, Condition, Counts, Gate, IfElse, Measure, Param, Register,
                         Reset, SetBits, Symbol)
from qcompile.ir.ops import walk

braket_simulator = pytest.importorskip("braket.default_simulator")
braket_openqasm = pytest.importorskip("braket.ir.openqasm")

SHOTS = 4000
# Two independent samples of SHOTS shots from one distribution on K records differ in total
# variation by at most 0.5 * sqrt(2K / SHOTS) on average: 0.045 for K = 16, the most records
# here (3 bits plus the reset scratch bit, which is marginalized out, so at most 8 remain:
# 0.032). The distance is concentrated (one shot moves it by 1 / SHOTS), so 0.08 is far in the
# tail for correct programs, while a wrong branch, condition or bit order moves whole records.
# Every sampler is seeded, so the outcome is fixed.
BOUND = 0.08


@pytest.fixture
def braket(tmp_path, monkeypatch):
    """Runs OpenQASM 3 text on Braket's state-vector simulator, seeded, from a directory
    holding the stdgates.inc its interpreter reads; returns counts by flat bit record."""
    stdgates = CORPUS / "openqasm3-examples" / "stdgates.inc"
    if not stdgates.exists():
        pytest.skip(f"stdgates.inc not found under {stdgates.parent}")
    shutil.copy(stdgates, tmp_path / "stdgates.inc")
    monkeypatch.chdir(tmp_path)
    # Braket draws from np.random.default_rng() with no seed; hand it a fixed sequence.
    seeds, unseeded = count(2024), np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng",
                        lambda seed=None: unseeded(next(seeds) if seed is None else seed))
    simulator = braket_simulator.StateVectorSimulator()

    def run(text: str, inputs=None) -> Counter:
        program = braket_openqasm.Program(source=text, inputs=inputs or {})
        result = simulator.run_openqasm(program, shots=SHOTS)
        return Counter(tuple(int(b) for b in shot) for shot in result.measurements)
    return run


def measured_resets(circuit: Circuit) -> Circuit:
    """``reset q`` as ``measure q -> s; if (s) x q;`` with one scratch bit ``s`` appended."""
    scratch = circuit.num_clbits

    def rewrite(ops):
        for op in ops:
            if isinstance(op, Reset):
                yield Measure(op.qubit, scratch)
                yield IfElse(Condition((scratch,), 1), [Gate("x", (op.qubit,))])
            elif isinstance(op, IfElse):
                yield dataclasses.replace(op, then_body=tuple(rewrite(op.then_body)),
                                          else_body=tuple(rewrite(op.else_body)))
            else:
                yield op
    cregs = circuit.cregs + (Register("scratch", 1),)
    return dataclasses.replace(circuit, cregs=cregs, ops=tuple(rewrite(circuit.ops)))


def every_bit_reported(circuit: Circuit) -> Circuit:
    """Measure qubit 0 first into each bit that no unconditional measurement writes."""
    reported = {op.clbit for op in circuit.ops if isinstance(op, Measure)}
    return circuit.with_ops([Measure(0, b) for b in range(circuit.num_clbits)
                             if b not in reported] + list(circuit.ops))


def for_braket(circuit: Circuit) -> Circuit:
    if any(isinstance(op, Reset) for op in walk(circuit.ops)):
        circuit = measured_resets(circuit)
    return every_bit_reported(circuit)


def _distribution(counts, num_bits: int) -> dict:
    """Frequencies of the first ``num_bits`` bits (drops the scratch bit)."""
    total = sum(counts.values())
    out: dict = {}
    for record, n in counts.items():
        out[record[:num_bits]] = out.get(record[:num_bits], 0.0) + n / total
    return out


def _own_sampler(circuit: Circuit, values=None, seed: int = 7) -> dict:
    batch = None if values is None else {k: np.asarray([v]) for k, v in values.items()}
    histogram = simulate(circuit, Counts(SHOTS), batch, seed=seed)[0]
    return {tuple(index >> b & 1 for b in range(circuit.num_clbits)): n / SHOTS
            for index, n in enumerate(histogram) if n}


def _aer(texts: list[str | QuantumCircuit], bindings: list[dict]) -> list[Counter]:
    """Counts by flat bit record (memory slot order is the single register's order); a text
    is read by Qiskit's importer, a circuit (with classical writes, which that importer
    cannot read) is given as it is."""
    simulator = AerSimulator(seed_simulator=99, enable_truncation=False)
    circuits = []
    for text, values in zip(texts, bindings):
        loaded = qiskit.qasm3.loads(text) if isinstance(text, str) else text
        circuits.append(loaded.assign_parameters(
            {p: values[p.name] for p in loaded.parameters}) if values else loaded)
    result = simulator.run(transpile(circuits, simulator), shots=SHOTS).result()
    out = []
    for k, circuit in enumerate(circuits):
        out.append(Counter({tuple(int(key, 16) >> b & 1 for b in range(circuit.num_clbits)): n
                            for key, n in result.data(k)["counts"].items()}))
    return out


def _check(circuits: list[Circuit], braket, options=None, values=None) -> None:
    """Braket, qcompile's sampler and Aer agree on every circuit's records."""
    values = values or [None] * len(circuits)
    texts, bindings = [], []
    for circuit, value in zip(circuits, values):
        texts.append(emit_qasm3(for_braket(circuit), single_creg=True, **(options or {})))
        bindings.append({} if value is None else  # the emitted inputs' names: x_0, x_1, ...
                        {f"{k}_{i}": float(v) for k, vector in value.items()
                         for i, v in enumerate(vector)})
    aer = _aer([to_qiskit(for_braket(circuit), value)
                if any(isinstance(op, SetBits) for op in walk(circuit.ops)) else text
                for circuit, text, value in zip(circuits, texts, values)], bindings)
    for circuit, text, inputs, value, aer_counts in zip(circuits, texts, bindings, values, aer):
        bits = circuit.num_clbits
        ours = _own_sampler(circuit, value)
        from_aer = _distribution(aer_counts, bits)
        assert total_variation(from_aer, ours) < BOUND, (text, ours, from_aer)
        if any(isinstance(op, SetBits) for op in walk(circuit.ops)):
            continue  # Braket reports what measurements read, not bits assigned after them
        from_braket = _distribution(braket(text, inputs), bits)
        assert total_variation(from_braket, ours) < BOUND, (text, ours, from_braket)


# --- random dynamic circuits -------------------------------------------------------------------

@pytest.mark.parametrize("options", [{}, {"basis": ("rz", "sx", "x", "cx")},
                                     {"decompose_unitaries": True}],
                         ids=["gates", "basis", "decomposed"])
def test_random_dynamic_circuits_agree(options, braket):
    rng = np.random.default_rng(len(options) + 31 * ("basis" in options))
    circuits: list[Circuit] = []
    while len(circuits) < 12:  # keep those with feed-forward: 36 in all
        circuit = random_circuit(rng, num_qubits=2 + len(circuits) % 3, length=18,
                                 dynamic=True, num_clbits=1 + len(circuits) % 3)
        if any(isinstance(op, IfElse) for op in circuit.ops):
            circuits.append(circuit)
    _check(circuits, braket, options)


# --- hand-written programs ---------------------------------------------------------------------

def _circuit(num_qubits: int, num_clbits: int, ops, params=()) -> Circuit:
    return Circuit("t", (Register("q", num_qubits),), (Register("m", num_clbits),), params, ops)


def test_teleportation_with_feed_forward(braket):
    theta, phi = 1.1, 0.4
    ops = [Gate("ry", (0,), [theta]), Gate("rz", (0,), [phi]),
           Gate("h", (1,)), Gate("cx", (1, 2)), Gate("cx", (0, 1)), Gate("h", (0,)),
           Measure(0, 0), Measure(1, 1),
           IfElse(Condition((1,), 1), [Gate("x", (2,))]),
           IfElse(Condition((0,), 1), [Gate("z", (2,))]),
           Gate("rz", (2,), [-phi]), Gate("ry", (2,), [-theta]),  # undo: q2 back to |0>
           Measure(2, 2)]
    circuit = _circuit(3, 3, ops)
    ours = _own_sampler(circuit)
    assert all(record[2] == 0 for record in ours)  # teleported exactly
    _check([circuit], braket)


def test_reset_and_reuse(braket):
    # One qubit measured, reset and reused three times; a condition on two earlier results.
    ops = [Gate("ry", (0,), [2.0]), Measure(0, 0), Reset(0),
           Gate("h", (0,)), Gate("cx", (0, 1)), Measure(0, 1), Reset(0),
           IfElse(Condition((0, 1), 3), [Gate("x", (0,))], [Gate("ry", (0,), [0.7])]),
           Measure(0, 2), Measure(1, 3)]
    _check([_circuit(2, 4, ops)], braket)


def test_qksan_like_conditional_with_inputs(braket):
    # Measure a query qubit, then apply a data-dependent rotation to the key/value qubits
    # only when it read 1 (QKSAN's conditional self-attention), with symbolic input angles;
    # a condition on a bit that is measured only later reads 0 and is decided when emitted.
    x = [Symbol("x", (i,)) for i in range(2)]
    ops = [IfElse(Condition((2,), 1), [Gate("x", (1,))]),
           Gate("ry", (0,), [x[0]]), Gate("h", (1,)), Gate("h", (2,)), Measure(0, 0),
           IfElse(Condition((0,), 1),
                  [Gate("crx", (1, 2), [x[1] * 2.0]), Gate("rzz", (1, 2), [x[0]])],
                  [Gate("ry", (1,), [x[1]])]),
           Gate("h", (1,)), Measure(1, 1), Measure(2, 2)]
    circuit = _circuit(3, 3, ops, [Param("x", "input", (2,))])
    text = emit_qasm3(for_braket(circuit), single_creg=True)
    assert "if (c[2])" not in text  # c[2] cannot have been written there: decided statically
    values = [{"x": np.array([0.9, -1.3])}]
    _check([circuit], braket, values=values)
    _check([circuit], braket, {"basis": ("rz", "sx", "x", "cx")}, values=values)
