"""OpenQASM as others write it: no version line, a byte-order mark, Qiskit's physical qubits,
user include files, conditions on expressions of bits, and ``def`` subroutines.

References are independent of the importer: Qiskit's own reading of the same text, conditions
evaluated by Python on every value of the bits, and circuits written out by hand in Qiskit.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import qiskit.qasm3
from conftest import CORPUS
from qiskit import QuantumCircuit, transpile
from qiskit.providers.fake_provider import GenericBackendV2
from qiskit.quantum_info import Operator, Statevector
from reference import outcome_distribution

from qcompile.backends.statevector import simulate
from qcompile.frontend.qasm import load_qasm
from qcompile.frontend.source import load_source, parse_source
from qcompile.ir import Gate, IfElse, QCompileError, State
from qcompile.ir.ops import walk

EXAMPLES = CORPUS / "openqasm3-examples"


# --- recognising OpenQASM ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["qft.qasm", "inverseqft1.qasm", "rb.qasm"])
def test_spec_examples_without_version_line_are_recognised(name):
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip("corpus not found")
    text = path.read_text()
    assert "OPENQASM" not in text
    by_extension = load_source(path).circuits[0]
    by_content = parse_source(text, "no-extension").circuits[0]
    assert by_extension.ops == by_content.ops == load_qasm(text, str(path)).ops


def test_version_without_header_follows_the_include():
    text = 'include "qelib1.inc";\nqreg q[1];\nu1(0.5) q[0];\nCX q[0], q[0];\n'
    with pytest.raises(QCompileError, match="same qubit twice"):
        parse_source(text, "x")  # read as OpenQASM 2: CX is a builtin, u1 from qelib1


def test_unknown_language_is_still_refused():
    with pytest.raises(QCompileError, match="cannot tell which language"):
        parse_source("hello world\n", "notes.txt")


def test_byte_order_mark_is_skipped_and_locations_stay_right():
    text = "\ufeffOPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit q;\nfoo q;\n"
    with pytest.raises(QCompileError) as err:
        parse_source(text, "bom.qasm")
    assert "bom.qasm:4:1:" in str(err.value) and "unknown gate 'foo'" in str(err.value)
    ok = "\ufeff" + text[1:].replace("foo", "h")
    assert parse_source(ok, "bom.qasm").circuits[0].ops == (Gate("h", (0,)),)


# --- physical qubits -------------------------------------------------------------------------

def _random_circuit(n: int, seed: int) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    for _ in range(12):
        a, b = rng.choice(n, 2, replace=False)
        qc.ry(float(rng.uniform(-3, 3)), int(a))
        qc.cx(int(a), int(b))
        qc.rz(float(rng.uniform(-3, 3)), int(b))
    return qc


@pytest.mark.parametrize("seed", range(4))
def test_qiskit_exports_with_physical_qubits_keep_their_layout(seed):
    backend = GenericBackendV2(5, seed=seed)
    transpiled = transpile(_random_circuit(3, seed), backend, seed_transpiler=seed)
    text = qiskit.qasm3.dumps(transpiled)
    assert "$" in text
    circuit = load_qasm(text)
    used = max(q for op in walk(circuit.ops) for q in op.qubits)
    assert circuit.num_qubits == used + 1  # $k is qubit k
    expected = Statevector(qiskit.qasm3.loads(text)).data  # Qiskit's own reading
    n_expected = int(np.log2(expected.size))
    state = simulate(circuit, State())[0]
    # Qiskit keeps all the device's qubits; the ones past the last used stay |0>.
    np.testing.assert_allclose(np.pad(state, (0, 2 ** n_expected - state.size)), expected,
                               atol=1e-9)


def test_physical_and_declared_qubits_do_not_mix():
    text = "OPENQASM 3.0;\nqubit[2] q;\nU(0.1, 0, 0) $1;\n"
    with pytest.raises(QCompileError, match=r"uses physical qubits \(\$1 at line 3\)"):
        load_qasm(text)


def test_physical_qubits_are_not_allowed_in_gate_bodies():
    text = "OPENQASM 3.0;\ngate g a { U(0, 0, 0) $0; }\ng $1;\n"
    with pytest.raises(QCompileError, match="physical qubit '\\$0' cannot be used here"):
        load_qasm(text)


# --- include files ---------------------------------------------------------------------------

def test_user_includes_are_read_beside_the_file_and_nest(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "inner.inc").write_text("gate flip a { x a; }\n")
    outer = tmp_path / "lib" / "outer.inc"
    outer.write_text('include "inner.inc";\nconst float theta = 0.25;\n'
                     "gate turn a { ry(theta) a; flip a; }\n")
    (tmp_path / "main.qasm").write_text(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninclude "lib/outer.inc";\nqubit q;\nturn q;\n')
    # A nested include is looked up beside the file that includes it (lib/), not beside main.
    with pytest.raises(QCompileError, match="include file 'inner.inc' not found"):
        load_source(tmp_path / "main.qasm")
    expected = (Gate("ry", (0,), (0.25,)), Gate("x", (0,)))
    assert load_source(tmp_path / "main.qasm", include_path=[tmp_path]).circuits[0].ops == \
        expected
    # Leaving the including file's directory needs an include path that holds the file.
    outer.write_text(outer.read_text().replace('"inner.inc"', '"../inner.inc"'))
    with pytest.raises(QCompileError, match="a file elsewhere needs --include-path"):
        load_source(tmp_path / "main.qasm")


def test_include_loops_and_escapes_are_refused(tmp_path):
    (tmp_path / "a.inc").write_text('include "b.inc";\n')
    (tmp_path / "b.inc").write_text('include "a.inc";\n')
    (tmp_path / "main.qasm").write_text('include "a.inc";\n')
    with pytest.raises(QCompileError, match="include loop: a.inc → b.inc → a.inc"):
        load_source(tmp_path / "main.qasm")
    secret = tmp_path.parent / f"{tmp_path.name}-secret.inc"
    secret.write_text("gate s a { x a; }\n")
    (tmp_path / "main.qasm").write_text(f'include "../{secret.name}";\n')
    with pytest.raises(QCompileError, match="not found"):
        load_source(tmp_path / "main.qasm")
    (tmp_path / "main.qasm").write_text(f'include "{secret}";\n')  # absolute paths too
    with pytest.raises(QCompileError, match="not found"):
        load_source(tmp_path / "main.qasm")
    with pytest.raises(QCompileError, match="this source has no directory"):
        load_qasm('include "a.inc";\n')


def test_include_errors_point_into_the_included_file(tmp_path):
    (tmp_path / "bad.inc").write_text("gate g a {\n  nope a;\n}\n")
    (tmp_path / "main.qasm").write_text('include "bad.inc";\nqubit q;\ng q;\n')
    with pytest.raises(QCompileError) as err:
        load_source(tmp_path / "main.qasm")
    assert "bad.inc:2:3:" in str(err.value) and "unknown gate 'nope'" in str(err.value)


# --- conditions on expressions of bits --------------------------------------------------------

def _expression(rng: random.Random, depth: int) -> tuple[str, str]:
    """A random condition over bits m[0..3], as OpenQASM and as Python over a tuple ``b``."""
    if depth == 0 or rng.random() < 0.25:
        kind = rng.randrange(4)
        if kind == 0:
            i = rng.randrange(4)
            return f"m[{i}]", f"b[{i}]"
        if kind == 1:
            value = rng.randrange(16)
            return f"(m == {value})", f"(int(b) == {value})"
        if kind == 2:
            width, value = rng.randint(1, 3), rng.randrange(8)
            return f"(int[{width}](m) > {value})", f"((int(b) % {2 ** width}) > {value})"
        i, j = rng.sample(range(4), 2)
        return f"(m[{i}] ^ m[{j}])", f"(b[{i}] ^ b[{j}])"
    op = rng.choice(["&&", "||", "!", "==", "!="])
    left_q, left_p = _expression(rng, depth - 1)
    if op == "!":
        return f"!{left_q}", f"(not {left_p})"
    right_q, right_p = _expression(rng, depth - 1)
    python = {"&&": "and", "||": "or"}.get(op, op)
    return f"({left_q} {op} {right_q})", f"(bool({left_p}) {python} bool({right_p}))"


class _Bits(tuple):
    def __int__(self):
        return sum(bit << k for k, bit in enumerate(self))


def _runs_then(ops, bits) -> bool:
    """Whether the marker gate (x on qubit 4) runs when the bits have these values."""
    for op in ops:
        if isinstance(op, IfElse):
            body = op.then_body if op.condition.holds(bits) else op.else_body
            if _runs_then(body, bits):
                return True
        elif isinstance(op, Gate) and op.name == "x" and op.qubits == (4,):
            return True
    return False


@pytest.mark.parametrize("seed", range(40))
def test_conditions_on_expressions_of_bits_match_python(seed):
    rng = random.Random(seed)
    qasm, python = _expression(rng, 3)
    text = (f'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[5] q;\nbit[4] m;\nh q[0:3];\n'
            f"m = measure q[0:3];\nif ({qasm}) x q[4];\n")
    circuit = load_qasm(text)
    body = circuit.ops[8:]
    for value in range(16):
        bits = _Bits((value >> k) & 1 for k in range(4))
        expected = bool(eval(python, {"int": int, "bool": bool}, {"b": bits}))
        assert _runs_then(body, bits) == expected, (qasm, value)
    assert sum(isinstance(op, Gate) and op.name == "x" for op in walk(body)) <= 16


def test_condition_like_mqt_bench_dynamic_ghz_runs_like_qiskit():
    text = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[2] m;\nbit[3] out;\n'
            "h q[0];\ncx q[0], q[1];\nm[0] = measure q[0];\nm[1] = measure q[1];\n"
            "if ((m[0] ^ m[1]) == true) { x q[2]; }\nout = measure q;\n")
    reference = QuantumCircuit(3, 5)
    reference.h(0)
    reference.cx(0, 1)
    reference.measure([0, 1], [0, 1])
    with reference.if_test((reference.clbits[0], 1)) as else_:
        with reference.if_test((reference.clbits[1], 0)):
            reference.x(2)
    with else_:
        with reference.if_test((reference.clbits[1], 1)):
            reference.x(2)
    reference.measure([0, 1, 2], [2, 3, 4])
    from aer_reference import aer_distribution
    expected = aer_distribution(reference, shots=4000)
    got = outcome_distribution(load_qasm(text))
    assert set(expected) == {k for k, p in got.items() if p > 1e-9}
    for key, p in got.items():
        assert abs(expected.get(key, 0.0) - p) < 0.04


def test_conditions_read_at_most_a_bounded_number_of_bits():
    bits = " && ".join(f"c[{i}]" for i in range(20))
    text = (f"OPENQASM 3.0;\nqubit q;\nbit[20] c;\nfor int i in [0:19] {{ c[i] = measure q; }}\n"
            f"if ({bits}) U(0, 0, 0) q;\n")
    with pytest.raises(QCompileError, match="reads 20 classical bits known only at run time"):
        load_qasm(text)


def test_conditions_cannot_depend_on_inputs():
    text = "OPENQASM 3.0;\ninput float t;\nqubit q;\nbit c;\nif (t > 0) U(0, 0, 0) q;\n"
    with pytest.raises(QCompileError):
        load_qasm(text)


# --- def subroutines -------------------------------------------------------------------------

def test_subroutines_with_qubit_and_angle_arguments_inline_like_gates():
    text = """OPENQASM 3.0;
include "stdgates.inc";
def entangle(qubit[2] pair, angle theta) {
  ry(theta) pair[0];
  cx pair[0], pair[1];
}
def prep(qubit a) { reset a; h a; }
qubit[3] q;
prep q[2];
entangle(q[{2, 0}], 0.7);
entangle(q[0:1], pi / 3);
"""
    reference = QuantumCircuit(3)
    reference.reset(2)
    reference.h(2)
    reference.ry(0.7, 2)
    reference.cx(2, 0)
    reference.ry(np.pi / 3, 0)
    reference.cx(0, 1)
    circuit = load_qasm(text)
    ops = [op for op in circuit.ops if isinstance(op, Gate)]
    from qcompile.backends.qiskit_circuit import to_qiskit
    unitary_part = to_qiskit(circuit.with_ops(ops))
    expected = QuantumCircuit(3)
    expected.data = [i for i in reference.data if i.operation.name != "reset"]
    assert Operator(unitary_part).equiv(Operator(expected))


def test_subroutine_returning_a_measurement():
    text = """OPENQASM 3.0;
include "stdgates.inc";
def ymeasure(qubit q) -> bit { s q; h q; return measure q; }
qubit[2] q;
bit[2] c;
rx(-pi / 2) q[0];
c[1] = ymeasure(q[0]);
bit d = ymeasure(q[1]);
"""
    circuit = load_qasm(text)
    distribution = outcome_distribution(circuit)
    # rx(-pi/2)|0> is the +1 eigenstate of Y: the Y-basis measurement is certain; q[1] is 50/50.
    assert {k: round(v, 9) for k, v in distribution.items() if v > 1e-9} == {
        (0, 1, 0): 0.5, (0, 1, 1): 0.5}


def test_locally_declared_bits_are_fresh_each_time():
    text = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
for int i in [0:1] {
  bit b;
  x q[i];
  b = measure q[i];
}
"""
    circuit = load_qasm(text)
    assert [r.name for r in circuit.cregs] == ["b", "b_2"]
    assert outcome_distribution(circuit) == pytest.approx({(1, 1): 1.0})


@pytest.mark.parametrize("body, message", [
    ("def f(qubit a) -> bit { return measure a; }\nf(q[0]);", "must be assigned"),
    ("def f(qubit a) { x a; }\nbit r = f(q[0]);", "returns nothing"),
    ("def f(qubit[2] a) { x a; }\nf(q[0]);", r"argument 'a' is 2 qubit\(s\), got 1"),
    ("def f(qubit a) { f(a); }\nf(q[0]);", "calls itself"),
    ("def f(qubit a, bit b) { x a; }\nbit c;\nf(q[0], c);", "has type bit"),
    ("def x(qubit a) { }", "already defined"),
])
def test_subroutine_misuse_is_a_clear_error(body, message):
    text = f'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\n{body}\n'
    if "f(" not in body.split("}")[-1] and "bit r" not in body and "x(" not in body:
        text += "bit r;\nr = f(q[0]);\n"
    with pytest.raises(QCompileError, match=message):
        load_qasm(text)
