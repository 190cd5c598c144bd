"""The fast path for flat OpenQASM (qcompile.frontend.qasm_flat) against the full importer.

The full importer (the ``openqasm3`` reference parser and the AST lowering in qasm.py) is the
reference: for any text, the fast path builds an equal circuit or declines (None), and never
raises. The inputs are the QASMBench and OpenQASM 3 example corpora, random flat programs in
both versions, mutations of them, and a 5 MB file checked against the gates written into it.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from conftest import CORPUS

from qcompile.frontend import qasm_flat
from qcompile.frontend.qasm import MAX_CONDITION_BITS, load_qasm
from qcompile.frontend.qasm_flat import read_flat
from qcompile.ir import GATES, Circuit, Const, Gate, Measure, Register
from qcompile.ir.gates import QELIB1, STDGATES, includes

QASMBENCH = sorted((CORPUS / "qasmbench").glob("*/*.qasm"))
EXAMPLES = sorted((CORPUS / "openqasm3-examples").glob("*.qasm"))
#: QASMBench files that use registers they never declare (the full importer rejects them).
BROKEN_QASMBENCH = {"vqe_uccsd_n4.qasm", "vqe_uccsd_n6.qasm"}
#: qelib1 gates the IR lacks that the fast path inlines, as (parameters, qubits).
QELIB1_INLINED = {"u0": (1, 1), "rccx": (0, 3), "rc3x": (0, 4)}


def _fast(text: str, name: str = "main") -> Circuit | None:
    return read_flat(text, name, max_condition_bits=MAX_CONDITION_BITS)


def _full(text: str, filename: str = "<qasm>"):
    """What the full importer makes of ``text``: a circuit, or the exception it raised."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(qasm_flat, "read_flat", lambda *args, **kwargs: None)
        try:
            return load_qasm(text, filename)
        except Exception as exc:  # noqa: BLE001 - any outcome is compared with the fast path
            return exc


def _check(text: str, filename: str = "<qasm>") -> bool:
    """The fast path agrees with the full importer on ``text``; True when it took it."""
    name = "main" if filename == "<qasm>" else Path(filename).stem
    fast = _fast(text, name)
    if fast is None:
        return False
    full = _full(text, filename)
    assert not isinstance(full, Exception), f"fast path accepted what the full one rejects: " \
                                            f"{full}\n{text}"
    assert fast == full, text
    return True


# --- corpora -------------------------------------------------------------------------------

@pytest.mark.skipif(not QASMBENCH, reason=f"corpus not found under {CORPUS}")
def test_qasmbench_files_take_the_fast_path_and_agree():
    taken = {path.name for path in QASMBENCH if _check(path.read_text(), str(path))}
    assert taken == {path.name for path in QASMBENCH} - BROKEN_QASMBENCH


@pytest.mark.skipif(not EXAMPLES, reason=f"corpus not found under {CORPUS}")
def test_openqasm3_examples_agree():
    taken = [path.name for path in EXAMPLES if _check(path.read_text(), str(path))]
    assert {"teleport.qasm", "qft.qasm", "rb.qasm"} <= set(taken)


def test_load_qasm_uses_the_fast_path_only_for_flat_text(monkeypatch):
    def no_parser(source):
        raise AssertionError("the reference parser ran")

    monkeypatch.setattr("qcompile.frontend.qasm_importer.parse", no_parser)
    flat = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0], q[1];\n'
    assert load_qasm(flat, "bell.qasm") == Circuit(
        "bell", (Register("q", 2),), (), (), (Gate("h", (0,)), Gate("cx", (0, 1))))
    with pytest.raises(AssertionError, match="reference parser"):
        load_qasm(flat + "for int i in [0:1] { x q[i]; }\n")


# --- chosen cases --------------------------------------------------------------------------

ACCEPTED = [
    # angles folded as Python folds them: int/int divides truly, unary minus binds tightly
    "OPENQASM 3;\nqubit[1] q;\nU(1/2, -pi*3/4, 2*(1-π)) q[0];",
    "OPENQASM 3;\nqubit q;\nU(sin(0.5) + cos(2), tan(1)*exp(0.1), ln(2)/sqrt(3)) q;",
    "OPENQASM 3;\nqubit q;\nU(arcsin(0.5), arccos(0.5), arctan(7)) q;",
    "OPENQASM 3;\nqubit q;\nU(1_000.5, .5e1, 2.) q;\nU(tau, euler, -(-1)) q;",
    # broadcast, builtins, comments, spacing
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg a[3];\nqreg b[3];\ncx a, b;\nCX a[0], b;\n'
    "/* block\n comment */ h a; // line comment\nu3 (0.1 ,0.2, 0.3) b [1] ;",
    # measurement forms, reset, barrier
    "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c = measure q;\nc[0] = measure q[1];\nc = measure q;\n"
    "measure q[0] -> c[1];\nreset q;\nreset q[1];\nbarrier;\nbarrier q[1], q;",
    # conditions: decided at compile time (bits never measured read 0), then at run time
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nif(c==0) x q[0];\n'
    "if(c==1) x q[1];\nmeasure q[0] -> c[0];\nif(c==1) h q[1];\nif(c==2) h q[1];\n"
    "measure q[1] -> c[1];\nif(c==3) cx q[0], q[1];",
    "OPENQASM 3;\ninclude \"stdgates.inc\";\nqubit[2] q;\nbit[2] c;\nc = measure q;\n"
    "if (c[1] == 1) { x q[0]; c[0] = measure q[0]; } else h q[1];\nif (c == 2) {}\n"
    "if (c[0] == 0) measure q[1] -> c[1];",
    # definitions, inlined at each use, nested and broadcast; the qelib1 ones the IR lacks
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nqreg r[2];\n'
    "gate pair(t) a, b { rz(t / 2) a; cx a, b; u1(-t) b; }\n"
    "gate trio(s, t) a, b, c { pair(s * t) a, c; pair(1) b, a; }\n"
    "trio(pi, 2) q[2], q[0], q[1];\npair(0.5) q[0], r;\nrccx q[0], q[1], q[2];\n"
    "u0(1) q[1];\nrc3x q[0], q[1], q[2], r[1];",
    # a user gate with a library name before the include that declares it
    "OPENQASM 3;\ngate rzz(t) a, b { cx a, b; }\ninclude \"stdgates.inc\";\nqubit[2] q;\n"
    "rzz(1) q[0], q[1];",
    # no version line; a byte-order mark
    'include "qelib1.inc";\nqreg q[1];\nx q[0];',
    '\ufeffOPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nx q[0];',
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_flat_programs_take_the_fast_path_and_agree(text):
    assert _check(text)


DECLINED = [
    "inv @ x q[0];", "ctrl @ x q[0], q[1];", "for int i in [0:1] { x q[i]; }", "csx q[0], q[1];",
    "c3x q[0], q[1], q[0], q[1];", "gphase(1);", "rx(2**2) q[0];", "rx(1 ++ 2) q[0];",
    "rx(1 im) q[0];", "rx(2 ns) q[0];", "rx(+1) q[0];", "rx(1,) q[0];", "rx() q[0];",
    "h q[0] q[1];", "h q[0],;", "h q[-1];", "h q[2];", "h q[1_0];", "h q[ 0 ];", "h q[0:1];",
    "h $0;", "qreg input[1];", "qreg pi[1];", "qreg qé[1];", "x q[0]; else x q[0];",
    "if (c == 1) qreg r[1];", "if (c == 1) if (c == 0) x q[0];", "if (c != 1) x q[0];",
    "c[0] += measure q[0];", "measure q[0];", "measure q -> c[0];", "reset c;",
    "gate g a { barrier a; }", "gate g a { ctrl @ x a, a; }", "gate g a { h a[0]; }",
    "gate g a { g a; }\ng q[0];", "gate g(a) a { }", "gate g() a { }", "gate h a { }",
    "gate g a { h a; }\ngate g a { h a; }", 'include "qelib1.inc";', 'include "other.inc";',
    "include 'stdgates.inc';", "rx(1/0) q[0];", "rx(ln(0)) q[0];", "rx(exp(1000)) q[0];",
    "rx(1" + "0" * 400 + ") q[0];", "x q[0]\fx q[1];", "#pragma foo\nx q[0];",
    "@annotation\nx q[0];", "x q[0]; /* unterminated", "x q[0]; $", "OPENQASM 3;",
    "rx(sin(1, 2)) q[0];", "rx(foo(1)) q[0];", "rx(pi(1)) q[0];", "rx(2pi) q[0];",
    "rx(" + "(" * 5000 + "1" + ")" * 5000 + ") q[0];",
]


@pytest.mark.parametrize("statement", DECLINED)
def test_other_programs_go_to_the_full_importer(statement):
    text = f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n{statement}\n'
    assert _fast(text) is None


def test_wrong_versions_and_headers_are_declined():
    for header in ("OPENQASM 4.0;", "OPENQASM 02.0;", "OPENQASM /* x */ 3;", "OPENQASM3;"):
        assert _fast(f"{header}\nqubit q;\n") is None
    for empty in ("", "\n", "// only a comment\n", "/* */"):  # the reference parser fails
        assert _fast(empty) is None
    assert _check("OPENQASM 3; // nothing else\n")


# --- random flat programs ------------------------------------------------------------------

def _library(version: int, rng: random.Random) -> tuple[dict, list[str]]:
    """Gate name -> (parameters, qubits) callable after the includes of a random program,
    and the include files."""
    files = [QELIB1 if version == 2 else STDGATES]
    if rng.random() < 0.2:
        files.append(STDGATES if version == 2 else QELIB1)
    gates = {"U": (3, 1), "CX": (0, 2)}
    for filename in files:
        gates.update((name, (GATES[name].num_params, GATES[name].num_qubits))
                     for name in sorted(includes(filename)))  # sets iterate by hash seed
        if filename == QELIB1:
            gates.update(QELIB1_INLINED)
    return gates, files


def _number(rng: random.Random) -> str:
    return rng.choice([str(rng.randint(0, 9)), repr(rng.uniform(-4, 4)), ".5", "2.", "1e-3",
                       "2E1", "1_0", repr(rng.uniform(0, 1e-7))])


def _expression(rng: random.Random, names: list[str], depth: int = 0) -> str:
    kind = rng.random() if depth < 3 else 0.0
    if kind < 0.35:
        return rng.choice([_number(rng), _number(rng), "pi", "π", "tau", *names])
    if kind < 0.45:
        return "-" + _expression(rng, names, depth + 1)
    if kind < 0.55:
        return f"({_expression(rng, names, depth + 1)})"
    if kind < 0.65:  # arguments inside every function's domain
        function = rng.choice(["sin", "cos", "tan", "exp", "ln", "sqrt", "arcsin", "arccos",
                               "arctan"])
        return f"{function}({rng.uniform(0.05, 0.95)!r})"
    if kind < 0.75:  # a divisor that is never 0
        return f"{_expression(rng, names, depth + 1)} / {rng.choice(['pi', '3', '0.25'])}"
    op = rng.choice(["+", "-", "*"])
    spaces = rng.choice(["", " "])
    return (f"{_expression(rng, names, depth + 1)}{spaces}{op}{spaces}"
            f"{_expression(rng, names, depth + 1)}")


def _call(rng, name: str, shape, names: list[str], operands: list[str]) -> str:
    arguments = ""
    if shape[0]:
        arguments = "(" + rng.choice([",", ", "]).join(
            _expression(rng, names) for _ in range(shape[0])) + ")"
    return f"{name}{arguments} {', '.join(operands)};"


def _operands(rng, qregs: dict[str, int], count: int) -> list[str] | None:
    """Distinct qubits, or a broadcast: whole registers of one size and single qubits of
    the other registers."""
    if rng.random() < 0.3:
        size = rng.choice(list(qregs.values()))
        whole = [r for r, n in qregs.items() if n == size]
        pool = whole + [f"{r}[{i}]" for r, n in qregs.items() if n != size for i in range(n)]
        if count <= len(pool):
            picked = rng.sample(pool, count)
            if set(picked) & set(whole):
                return picked
    qubits = [f"{r}[{i}]" for r, n in qregs.items() for i in range(n)]
    return rng.sample(qubits, count) if count <= len(qubits) else None


def _program(rng: random.Random, version: int) -> str:
    gates, files = _library(version, rng)
    lines = [rng.choice(["OPENQASM 2.0;", "OPENQASM 2;"] if version == 2
                        else ["OPENQASM 3.0;", "OPENQASM 3;"])]
    lines += [f'include "{filename}";' for filename in files]
    qregs = {f"q{k}": rng.randint(1, 4) for k in range(rng.randint(1, 3))}
    cregs = {f"c{k}": rng.randint(1, 3) for k in range(rng.randint(1, 2))}
    for name, size in qregs.items():
        lines.append(f"qreg {name}[{size}];" if version == 2 or rng.random() < 0.3
                     else f"qubit[{size}] {name};")
    for name, size in cregs.items():
        lines.append(f"creg {name}[{size}];" if version == 2 or rng.random() < 0.3
                     else f"bit[{size}] {name};")
    for k in range(rng.randint(0, 2)):
        params = [f"t{j}" for j in range(rng.randint(0, 2))]
        qubits = ["a", "b", "c"][:rng.randint(1, 3)]
        body = []
        for _ in range(rng.randint(0, 4)):
            name, shape = rng.choice([(n, s) for n, s in gates.items() if s[1] <= len(qubits)])
            body.append(_call(rng, name, shape, params, rng.sample(qubits, shape[1])))
        signature = f"({', '.join(params)})" if params else ""
        lines.append(f"gate d{k}{signature} {', '.join(qubits)} {{ {' '.join(body)} }}")
        gates[f"d{k}"] = (len(params), len(qubits))
    for _ in range(rng.randint(5, 30)):
        lines.append(_statement(rng, version, gates, qregs, cregs, nested=False))
    separator = rng.choice(["\n", "\n", " ", "\n// comment\n", " /* c */ "])
    return separator.join(lines) + "\n"


def _statement(rng, version, gates, qregs, cregs, nested: bool) -> str:
    kind = rng.random()
    creg = rng.choice(list(cregs))
    qreg = rng.choice(list(qregs))
    if kind < 0.12:
        i, j = rng.randrange(qregs[qreg]), rng.randrange(cregs[creg])
        if version == 3 and rng.random() < 0.5:
            return f"{creg}[{j}] = measure {qreg}[{i}];"
        return f"measure {qreg}[{i}] -> {creg}[{j}];"
    if kind < 0.15:
        same = [q for q, n in qregs.items() if n == cregs[creg]]
        return f"measure {same[0]} -> {creg};" if same else f"reset {qreg};"
    if kind < 0.18:
        return f"reset {qreg};" if rng.random() < 0.5 else f"reset {qreg}[0];"
    if kind < 0.21:
        return "barrier;" if rng.random() < 0.3 else f"barrier {qreg}, {qreg}[0];"
    if kind < 0.3 and not nested:
        value = rng.randrange(2 ** cregs[creg])
        body = _statement(rng, version, gates, qregs, cregs, nested=True)
        if version == 2:
            return f"if({creg}=={value}) {body}"
        otherwise = _statement(rng, version, gates, qregs, cregs, nested=True)
        return f"if ({creg}[0] == {value % 2}) {{ {body} }} else {{ {otherwise} }}"
    name, shape = rng.choice(list(gates.items()))
    operands = _operands(rng, qregs, shape[1])
    return _call(rng, name, shape, [], operands) if operands else f"barrier {qreg};"


@pytest.mark.parametrize("version", [2, 3])
def test_random_flat_programs_take_the_fast_path_and_agree(version):
    rng = random.Random(version)
    for _ in range(60):
        text = _program(rng, version)
        assert _check(text), f"declined:\n{text}"


# --- mutations -----------------------------------------------------------------------------

TOKENS = ["(", ")", "[0]", ",", ";", "-", "*", "/", "pi", "2", "0.5", "q0", "c0", "->", "=",
          "==", "{", "}", "if", "measure", "h", "cx", "else", "//", "/*", "*/", "\n", "++",
          "**", "im", "ns", "π", "é", "_", ".", "1e", "0x1", "$0", "+="]
_WORD = re.compile(r"[\w.]+|->|==|\S")


def _mutate(text: str, rng: random.Random) -> str:
    """Delete characters, swap or repeat neighbouring tokens, or insert a token."""
    for _ in range(rng.choice([1, 1, 2])):
        spans = [m.span() for m in _WORD.finditer(text)]
        kind = rng.randrange(4)
        (a, b), (c, d) = spans[rng.randrange(len(spans) - 1):][:2]
        if kind == 0:
            cut = rng.randrange(a, b)
            text = text[:cut] + text[cut + rng.randint(1, 3):]
        elif kind == 1:
            text = text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
        elif kind == 2:
            text = text[:a] + text[a:b] + " " + text[a:]
        else:
            text = text[:a] + rng.choice(TOKENS) + " " + text[a:]
    return text


def test_mutated_programs_never_give_a_different_circuit():
    rng = random.Random(5)
    sources = [_program(rng, version) for version in (2, 3) for _ in range(10)]
    sources += [path.read_text() for path in QASMBENCH if path.stat().st_size < 1500]
    taken = 0
    for _ in range(1500):
        taken += _check(_mutate(rng.choice(sources), rng))
    assert taken > 75  # the mutants the fast path reads are compared, not only refused


# --- a large file --------------------------------------------------------------------------

@pytest.mark.parametrize("size", [200_000, pytest.param(5_000_000, marks=pytest.mark.slow)])
def test_a_large_flat_file_is_read_exactly_and_fast(size):
    """Rotations with random angles, CNOTs and Hadamards on 20 qubits, then a measurement
    of every qubit: checked against the gates written, since the full importer takes
    minutes on 5 MB."""
    rng = random.Random(11)
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', "qreg q[20];", "creg c[20];"]
    expected = []
    length = 0
    while length < size:
        a, b = rng.sample(range(20), 2)
        kind = rng.random()
        if kind < 0.6:
            name, angle = rng.choice(["rx", "ry", "rz"]), rng.uniform(-3.2, 3.2)
            lines.append(f"{name}({angle!r}) q[{a}];")
            expected.append(Gate(name, (a,), (Const(angle),)))
        elif kind < 0.9:
            lines.append(f"cx q[{a}],q[{b}];")
            expected.append(Gate("cx", (a, b)))
        else:
            lines.append(f"h q[{a}];")
            expected.append(Gate("h", (a,)))
        length += len(lines[-1]) + 1
    lines.append("measure q -> c;")
    expected += [Measure(i, i) for i in range(20)]
    text = "\n".join(lines) + "\n"
    start = time.perf_counter()
    circuit = load_qasm(text, "large.qasm")
    elapsed = time.perf_counter() - start
    assert circuit == Circuit("large", (Register("q", 20),), (Register("c", 20),), (),
                              tuple(expected))
    assert elapsed < 4 * size / 1e6 + 1  # the reference parser needs minutes for 5 MB
