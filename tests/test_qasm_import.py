"""OpenQASM import, checked against Qiskit's own importers and simulators.

Qiskit's ``qasm2``/``qasm3`` loaders are the independent reference for what a program means;
circuits with feed-forward are compared through exact outcome distributions
(tests/reference.py) against qiskit-aer shot counts or outcomes worked out by hand.
"""

from __future__ import annotations

import math
import re

import pytest
import qiskit
import qiskit.qasm2
import qiskit.qasm3
from conftest import CORPUS
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit.library import YGate
from qiskit.quantum_info import Operator
from aer_reference import aer_distribution as _aer_distribution
from aer_reference import aer_fidelity as _fidelity
from aer_reference import aer_statevector as _statevector
from aer_reference import total_variation as _distance
from aer_reference import without as _without
from reference import outcome_distribution

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.frontend.qasm import load_qasm, looks_like_qasm
from qcompile.ir import Barrier, Gate, IfElse, Measure, QCompileError, Reset, Unitary
from qcompile.ir.ops import walk

QASMBENCH = sorted((CORPUS / "qasmbench").glob("**/*.qasm"))
EXAMPLES = sorted((CORPUS / "openqasm3-examples").glob("*.qasm"))
NO_CORPUS = pytest.mark.skip(reason=f"corpus not found under {CORPUS}")

#: qasmbench files that use registers they never declare; Qiskit rejects them too.
BROKEN_QASMBENCH = {"vqe_uccsd_n4.qasm", "vqe_uccsd_n6.qasm"}


def _files(paths):
    return [pytest.param(p, id=p.name) for p in paths] or [pytest.param(None, marks=NO_CORPUS)]


def _is_dynamic(circuit) -> bool:
    return any(isinstance(op, (IfElse, Reset)) for op in walk(circuit.ops))


def _qiskit_op_count(qc: QuantumCircuit) -> int:
    total = 0
    for instruction in qc.data:
        op = instruction.operation
        if op.name == "if_else":
            total += 1 + sum(_qiskit_op_count(b) for b in op.blocks if b is not None)
        else:
            total += 1
    return total


# --- the qasmbench corpus (OpenQASM 2) ----------------------------------------------------

@pytest.mark.parametrize("path", _files(QASMBENCH))
def test_qasmbench_matches_qiskit(path):
    text = path.read_text()
    if path.name in BROKEN_QASMBENCH:
        with pytest.raises(QCompileError, match="undeclared identifier 'q'") as err:
            load_qasm(text, str(path))
        assert re.search(rf"{path.name}:\d+:\d+", str(err.value))
        with pytest.raises(qiskit.qasm2.QASM2ParseError):
            qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        return
    circuit = load_qasm(text, str(path))
    assert circuit.name == path.stem
    expected = qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert (circuit.num_qubits, circuit.num_clbits) == (expected.num_qubits, expected.num_clbits)
    if circuit.num_qubits > 20 or (_is_dynamic(circuit) and circuit.num_qubits > 8):
        # Too large to simulate here: the same instructions, one for one.
        assert sum(1 for _ in walk(circuit.ops)) == _qiskit_op_count(expected)
    elif _is_dynamic(circuit):
        exact = outcome_distribution(circuit)
        assert _distance(exact, _aer_distribution(expected)) < 0.03
    else:
        ours = to_qiskit(circuit.with_ops(op for op in circuit.ops if not isinstance(op, Measure)))
        assert _fidelity(ours, _without(expected, {"measure"})) > 1 - 1e-9


# --- the OpenQASM 3 examples --------------------------------------------------------------

#: Each example imports (None) or fails at (line, column, message fragment).
EXAMPLE_OUTCOMES = {
    "adder.qasm": None,
    "alignment.qasm": (8, 1, "stretch"),
    "arrays.qasm": (9, 1, "array"),
    # A fragment of the specification: it applies a gate to a register it never declares.
    "cphase.qasm": (9, 15, "undeclared identifier 'q'"),
    "dd.qasm": (7, 1, "stretch"),
    "defcal.qasm": (1, 1, "defcalgrammar"),
    "gateteleport.qasm": (6, 1, "extern"),
    "inverseqft1.qasm": None,
    "inverseqft2.qasm": None,
    "ipe.qasm": None,
    # The example's distill subroutine indexes scratch[3] of a 3-qubit argument.
    "msd.qasm": (48, 14, "index 3 is out of range"),
    "qec.qasm": None,
    "qft.qasm": None,
    "qpt.qasm": None,
    "rb.qasm": None,
    "rus.qasm": None,
    "scqec.qasm": (16, 1, "extern"),
    "t1.qasm": (6, 1, "duration"),
    "teleport.qasm": None,
    "varteleport.qasm": None,
    "vqe.qasm": (17, 1, "extern"),
}

#: Outcome distributions worked out by hand for the examples Qiskit cannot load.
_SIN2 = math.sin(0.15) ** 2
HAND_OUTCOMES = {
    # H on |+> gives |0> on every qubit, so no correction fires and every bit reads 0.
    "inverseqft1.qasm": {(0, 0, 0, 0): 1.0},
    "inverseqft2.qasm": {(0, 0, 0, 0): 1.0},
    # U(0.3, 0.2, 0.1)|0> teleported to q[2]; c0, c1 uniform.
    "teleport.qasm": {(a, b, c): 0.25 * (_SIN2 if c else 1 - _SIN2)
                      for a in (0, 1) for b in (0, 1) for c in (0, 1)},
    # The injected X error on q[0] gives syndrome 1 (syn = 10), which the program corrects.
    "qec.qasm": {(0, 0, 0, 1, 0): 1.0},
}


def test_example_table_lists_every_file():
    if not EXAMPLES:
        pytest.skip(f"corpus not found under {CORPUS}")
    assert {p.name for p in EXAMPLES} == set(EXAMPLE_OUTCOMES)


@pytest.mark.parametrize("path", _files(EXAMPLES))
def test_openqasm3_example(path):
    text = path.read_text()
    outcome = EXAMPLE_OUTCOMES[path.name]
    if outcome is not None:
        line, column, fragment = outcome
        with pytest.raises(QCompileError) as err:
            load_qasm(text, str(path))
        assert f"{path.name}:{line}:{column}: " in str(err.value)
        assert fragment in err.value.message
        return
    circuit = load_qasm(text, str(path))
    if path.name == "adder.qasm":
        # a = 0001 plus b = 1111 is 10000: a keeps 0001 (qubit 1), b is 0000, the carry
        # (qubit 9) is 1, and the final state is that basis state.
        unitary_part = circuit.with_ops(op for op in circuit.ops
                                        if not isinstance(op, (Measure, Reset)))
        assert abs(_statevector(to_qiskit(unitary_part))[2 + 2 ** 9]) ** 2 > 1 - 1e-9
        return
    if path.name in ("ipe.qasm", "rus.qasm"):
        return  # run-time classical code: test_qasm_classical.py checks their distributions
    if path.name == "varteleport.qasm":
        # Ten Bell pairs, each teleportation's two bits in a register of its own (declared
        # in the loop body); the subroutines are inlined.
        assert circuit.num_qubits == 21 and [r.size for r in circuit.cregs] == [1] + [2] * 10
        assert circuit.gate_counts()["measure"] == 21
        return
    if path.name in HAND_OUTCOMES:
        exact = outcome_distribution(circuit)
        assert _distance(exact, HAND_OUTCOMES[path.name]) < 1e-9
        return
    expected = qiskit.qasm3.loads(text)
    assert not any(isinstance(op, IfElse) for op in circuit.ops)
    ours = to_qiskit(circuit.with_ops(op for op in circuit.ops
                                      if not isinstance(op, (Measure, Reset))))
    assert _fidelity(ours, _without(expected, {"measure", "reset"})) > 1 - 1e-9


# --- targeted behaviour -------------------------------------------------------------------

def _operator(circuit):
    return Operator(to_qiskit(circuit))


def _equivalent(ours_text: str, reference: QuantumCircuit) -> bool:
    return _operator(load_qasm(ours_text)).equiv(Operator(reference))


HEADER3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def test_header_detection():
    assert looks_like_qasm("// comment\n/* block\n */\n\n  OPENQASM 2.0;")
    assert not looks_like_qasm("circuit foo { }")
    assert looks_like_qasm("// the version line is optional\nqubit q;")
    assert not looks_like_qasm("// OPENQASM 3.0;\nmodel m")


@pytest.mark.parametrize("modifier, reference", [
    ("ctrl @ x q[0], q[1];", lambda qc: qc.cx(0, 1)),
    ("ctrl @ ctrl @ x q[0], q[1], q[2];", lambda qc: qc.ccx(0, 1, 2)),
    ("ctrl(2) @ z q[2], q[0], q[1];", lambda qc: qc.ccz(2, 0, 1)),
    ("negctrl @ h q[1], q[0];", lambda qc: qc.ch(1, 0, ctrl_state=0)),
    ("ctrl @ negctrl @ y q[0], q[1], q[2];",
     lambda qc: qc.append(YGate().control(2, ctrl_state="01", annotated=False), [0, 1, 2])),
    ("ctrl @ rz(0.4) q[1], q[2];", lambda qc: qc.crz(0.4, 1, 2)),
    ("ctrl @ U(0.1, 0.2, 0.3) q[0], q[2];", lambda qc: qc.cu(0.1, 0.2, 0.3, 0, 0, 2)),
    ("ctrl @ swap q[2], q[0], q[1];", lambda qc: qc.cswap(2, 0, 1)),
    ("ctrl @ sx q[0], q[1];", lambda qc: qc.csx(0, 1)),
    ("ctrl(3) @ x q[0], q[1], q[3], q[2];", lambda qc: qc.mcx([0, 1, 3], 2)),
    ("inv @ t q[0]; inv @ rx(0.3) q[1];", lambda qc: (qc.tdg(0), qc.rx(-0.3, 1))),
    ("pow(3) @ t q[0]; pow(-2) @ s q[1];", lambda qc: (qc.p(3 * math.pi / 4, 0), qc.z(1))),
    ("pow(0.5) @ x q[0]; pow(0.25) @ z q[1];", lambda qc: (qc.sx(0), qc.t(1))),
    ("inv @ pow(0.5) @ x q[0];", lambda qc: qc.sxdg(0)),
    ("ctrl @ gphase(0.7) q[0]; ctrl @ ctrl @ gphase(0.2) q[1], q[2];",
     lambda qc: (qc.p(0.7, 0), qc.cp(0.2, 1, 2))),
    ("ctrl @ inv @ pow(2) @ s q[0], q[1];", lambda qc: qc.cz(0, 1)),
])
def test_modifiers(modifier, reference):
    qc = QuantumCircuit(4)
    reference(qc)
    assert _equivalent(HEADER3 + "qubit[4] q;\n" + modifier, qc)


def test_controlled_gate_definition_keeps_its_global_phase():
    text = HEADER3 + """
gate phased a { x a; gphase(pi / 3); }
qubit[2] q;
ctrl @ phased q[0], q[1];
"""
    qc = QuantumCircuit(2)
    qc.cx(0, 1)
    qc.p(math.pi / 3, 0)
    assert _equivalent(text, qc)
    # Outside ctrl @ the phase is global and dropped.
    assert load_qasm(HEADER3 + "qubit q; gphase(0.3); x q;").ops == (Gate("x", (0,)),)


def test_gate_definitions_nest_and_substitute_parameters():
    text = HEADER3 + """
gate inner(a) x, y { rz(a) y; cx x, y; }
gate outer(a, b) p, q, r { inner(a * 2) p, r; inner(-b) r, q; h p; }
qubit[3] q;
outer(0.3, pi / 5) q[2], q[0], q[1];
"""
    qc = QuantumCircuit(3)
    qc.rz(0.6, 1)
    qc.cx(2, 1)
    qc.rz(-math.pi / 5, 0)
    qc.cx(1, 0)
    qc.h(2)
    assert _equivalent(text, qc)


def test_for_loops_unroll_ranges_sets_and_negative_steps():
    text = HEADER3 + """
const int n = 4;
qubit[n] q;
for int i in [0:n - 2] { cx q[i], q[i + 1]; }
for uint i in [n - 1:-2:0] { h q[i]; }
for float a in {0.5, 1.5} { rz(a) q[0]; }
x q[1:2];
x q[{0, 3}];
"""
    qc = QuantumCircuit(4)
    for i in range(3):
        qc.cx(i, i + 1)
    qc.h(3)
    qc.h(1)
    qc.rz(0.5, 0)
    qc.rz(1.5, 0)
    qc.x([1, 2])
    qc.x([0, 3])
    assert _equivalent(text, qc)


def test_broadcasting_over_registers_oq2():
    text = """OPENQASM 2.0;
include "qelib1.inc";
qreg a[3]; qreg b[3]; creg c[3];
h a;
cx a, b;
cx a[0], b;
measure b -> c;
"""
    circuit = load_qasm(text)
    expected = qiskit.qasm2.loads(text)
    assert [r.name for r in circuit.qregs] == ["a", "b"]
    assert circuit.ops[-3:] == (Measure(3, 0), Measure(4, 1), Measure(5, 2))
    ours = to_qiskit(circuit.with_ops(op for op in circuit.ops if not isinstance(op, Measure)))
    assert Operator(ours).equiv(Operator(_without(expected, {"measure"})))


def test_if_else_forms_match_aer():
    text = HEADER3 + """
qubit[3] q;
bit[2] c;
bit d;
h q[0]; h q[1];
c[0] = measure q[0];
measure q[1] -> c[1];
if (c[0]) { x q[2]; } else { h q[2]; }
if (!c[1]) x q[2];
if (c == 3) { ry(0.4) q[2]; }
if (c[1] == 0) { rx(0.2) q[2]; }
if (int[2](c) != 2) { h q[2]; }
d = measure q[2];
"""
    circuit = load_qasm(text)
    assert sum(isinstance(op, IfElse) for op in circuit.ops) == 5
    qc = QuantumCircuit(3, 3)
    qc.h([0, 1])
    qc.measure([0, 1], [0, 1])
    with qc.if_test((qc.clbits[0], 1)) as else_:
        qc.x(2)
    with else_:
        qc.h(2)
    with qc.if_test((qc.clbits[1], 0)):
        qc.x(2)
    with qc.if_test((qc.clbits[0], 1)):
        with qc.if_test((qc.clbits[1], 1)):
            qc.ry(0.4, 2)
    with qc.if_test((qc.clbits[1], 0)):
        qc.rx(0.2, 2)
    with qc.if_test((qc.clbits[0], 1)) as else_:
        qc.h(2)
    with else_:
        with qc.if_test((qc.clbits[1], 0)):
            qc.h(2)
    qc.measure(2, 2)
    assert _distance(outcome_distribution(circuit), _aer_distribution(qc)) < 0.03


def test_input_parameters_stay_symbolic(rng):
    text = HEADER3 + """
input float[64] theta;
input angle[32] phi;
qubit[2] q;
rx(2 * theta + 0.1) q[0];
ry(sin(phi) * theta) q[1];
ctrl @ rz(phi / 2) q[0], q[1];
U(theta, phi, -theta) q[1];
"""
    circuit = load_qasm(text)
    assert [p.name for p in circuit.params] == ["theta", "phi"]
    theta, phi = rng.uniform(-3, 3, size=2)
    ours = to_qiskit(circuit, {"theta": theta, "phi": phi})
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.rx(2 * a + 0.1, 0)
    qc.ry(b.sin() * a, 1)
    qc.crz(b / 2, 0, 1)
    qc.u(a, b, -a, 1)
    assert Operator(ours).equiv(Operator(qc.assign_parameters({a: theta, b: phi})))


def test_constants_and_functions():
    text = HEADER3 + """
const float t = tau / 8 + euler - ln(euler) + sqrt(4) ** 2 - arccos(1) + π;
qubit q;
rz(t) q;
rx(arctan(1) * 2 + arcsin(0) + cos(0) + exp(0) + tan(0)) q;
"""
    qc = QuantumCircuit(1)
    qc.rz(math.tau / 8 + math.e - 1 + 4 + math.pi, 0)
    qc.rx(math.pi / 2 + 2, 0)
    assert _equivalent(text, qc)


def test_qelib1_gates_missing_from_the_ir():
    text = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
rccx q[0], q[1], q[2];
rc3x q[0], q[1], q[2], q[3];
c3x q[0], q[1], q[2], q[3];
c3sqrtx q[3], q[2], q[1], q[0];
c4x q[4], q[0], q[1], q[2], q[3];
csx q[1], q[4];
"""
    expected = qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert _operator(load_qasm(text)).equiv(Operator(expected))


def test_let_aliases_and_concatenation():
    text = HEADER3 + """
qubit[4] q;
let pair = q[{3, 1}];
let joined = q[0:0] ++ q[2:2];
cx pair[0], pair[1];
h joined;
"""
    qc = QuantumCircuit(4)
    qc.cx(3, 1)
    qc.h([0, 2])
    assert _equivalent(text, qc)


def test_pow_of_a_symbolic_gate_repeats_it():
    circuit = load_qasm(HEADER3 + "input float a; qubit q; pow(2) @ rx(a) q;")
    assert [op.name for op in circuit.ops] == ["rx", "rx"]
    controlled = load_qasm(HEADER3 + "qubit[3] q; ctrl @ sx q[0], q[1];").ops
    assert len(controlled) == 1 and isinstance(controlled[0], Unitary)


def test_barrier_without_operands_covers_every_qubit():
    circuit = load_qasm(HEADER3 + "qubit[2] a; qubit b; barrier; barrier a[1], b;")
    assert circuit.ops == (Barrier((0, 1, 2)), Barrier((1, 2)))


# --- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("body, line, column, fragment", [
    ("qubit q;\nh q q;", 4, 5, "syntax error"),
    ("qubit q;\nh q", 4, 4, "syntax error: unexpected end of file"),
    ("qubit q;\nfoo q;", 4, 1, "unknown gate 'foo'"),
    ("qubit[2] q;\ncx q[0];", 4, 1, "acts on 2 qubit(s), got 1"),
    ("qubit q;\nrx(0.1, 0.2) q;", 4, 1, "takes 1 parameter(s), got 2"),
    ("qubit q;\nh r;", 4, 3, "undeclared identifier 'r'"),
    ("qubit[2] q;\nh q[2];", 4, 5, "index 2 is out of range"),
    ("qubit[2] q;\ncx q[0], q[0];", 4, 1, "same qubit twice"),
    ("defcal x $0 { }", 3, 1, "defcal"),
    ("qubit q;\ncal { }", 4, 1, "cal blocks"),
    ("extern f(int) -> int;", 3, 1, "extern"),
    ("qubit q;\nbox { x q; }", 4, 1, "box"),
    ("qubit q;\ndelay[100ns] q;", 4, 1, "delay"),
    ("stretch s;", 3, 1, "stretch"),
    ("def f(qubit a) { x a; }\ndef f(qubit a) { }", 4, 1, "'f' is already defined"),
    ("qubit q;\nq = 2;", 4, 1, "expected a bit operand"),
    ("int[1] n;\nqubit q;\nn = measure q;\nfor int i in [0:n] { }", 6, 17,
     "known only at run time"),
    ('include "mylib.inc";', 3, 1, "include file 'mylib.inc' not found"),
    ("qubit[2] q;\nfor int i in [0:2] { x q[i]; }", 4, 26, "index 2 is out of range"),
    ("input float a;\nqubit[2] q;\nctrl @ ctrl @ rx(a) q[0], q[1], q[1];", 5, 1, "symbolic"),
    ("input float a;\nqubit q;\npow(0.5) @ rx(a) q;", 5, 1, "symbolic"),
    ("qubit q;\nx $0;", 3, 1, "uses physical qubits ($0 at line 4)"),
    ("qubit q;\nmeasure q;", 4, 1, "needs a target bit"),
    ("gate g a { g a; }\nqubit q;\ng q;", 3, 12, "defined in terms of itself"),
    ("gate g a { measure a; }\nqubit q;\ng q;", 3, 12, "non-unitary"),
    ("qubit[2] q;\nqubit[3] r;\ncx q, r;", 5, 1, "different sizes"),
    ("input int k;", 3, 1, "only float and angle inputs"),
])
def test_errors_name_the_construct_and_location(body, line, column, fragment):
    with pytest.raises(QCompileError) as err:
        load_qasm(HEADER3 + body, "prog.qasm")
    assert str(err.value).startswith(f"prog.qasm:{line}:{column}: ")
    assert fragment in err.value.message
    assert err.value.location.source_line is not None


def test_opaque_is_an_error():
    with pytest.raises(QCompileError, match="opaque") as err:
        load_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nopaque g a;\n', "p.qasm")
    assert str(err.value).startswith("p.qasm:3:1: ")


def test_oq2_builtins_need_no_include_but_library_gates_do():
    circuit = load_qasm("OPENQASM 2.0;\nqreg q[2];\nU(0.1, 0.2, 0.3) q[0];\nCX q[0], q[1];\n")
    assert [op.name for op in circuit.ops] == ["U", "CX"]
    with pytest.raises(QCompileError, match="did you forget"):
        load_qasm("OPENQASM 2.0;\nqreg q[1];\nh q[0];\n")
