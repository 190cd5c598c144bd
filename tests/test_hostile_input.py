"""Hand-written hostile input: each probe ends, within 10 s and 2 GiB, in one QCompileError
(exit status 2 on the command line) whose message names the problem.

These are the inputs that once ended in a traceback, a hang or gigabytes of memory: work
multiplied by unrolling (nested definitions, huge loops, ``pow``, ``ctrl``), nesting deeper
than the parsers recurse, numbers no circuit can hold, registers and files too large to read,
files that are no files, and command-line numbers numpy cannot take.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from fuzz_sources import assert_user_outcome, bounded, run_cli

from qcompile.cli import main
from qcompile.frontend.limits import MAX_OPERATIONS, MAX_SOURCE_BYTES
from qcompile.frontend.source import load_source, parse_source
from qcompile.ir import QCompileError

Q3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
#: A loop over nothing makes a program no longer flat: the reference importer reads it, not
#: the fast reader of flat files (:mod:`qcompile.frontend.qasm_flat`).
NOT_FLAT = "for int i in [0:-1] { }\n"
LIMIT = f"limit of {MAX_OPERATIONS:,} operations"


def _model(body: str, before: str = "") -> str:
    return (f"model m\n{before}circuit c() qubits 2 {{\n{body}\n}}\n"
            "y = expval(c(), Z0)\nreturn y\n")


def _doubling(qasm: bool, levels: int) -> str:
    """Gate definitions each applying the one before twice: 2**levels gates."""
    end = ";" if qasm else ""
    gates = f"gate g0 a {{ x a; x a{end} }}\n" + "".join(
        f"gate g{i} a {{ g{i - 1} a; g{i - 1} a{end} }}\n" for i in range(1, levels))
    if qasm:
        return Q3 + "qubit q;\n" + gates + f"g{levels - 1} q;\n"
    return _model(f"g{levels - 1} q[0]", gates)


def _squaring(qasm: bool) -> str:
    """Gate definitions passing ``a * a`` on: an angle of 2**40 terms in 40 short lines."""
    end = ";" if qasm else ""
    gates = f"gate g0(a) r {{ rx(a) r{end} }}\n" + "".join(
        f"gate g{i}(a) r {{ g{i - 1}(a * a) r{end} }}\n" for i in range(1, 40))
    if qasm:
        return Q3 + "input float x;\nqubit q;\n" + gates + "g39(x) q;\n"
    return ("model m\ninput x\n" + gates + "circuit c(x) qubits 1 {\n  g39(x) q[0]\n}\n"
            "y = expval(c(x), Z0)\nreturn y\n")


def _wide_ctrl(controls: int) -> str:
    qubits = ", ".join(f"q[{i}]" for i in range(controls + 1))
    return Q3 + f"qubit[{controls + 1}] q;\nctrl({controls}) @ h {qubits};\n"


PROBES = [
    # unrolling
    ("nested gate definitions", _doubling(True, 30), LIMIT),
    ("nested gate definitions, .qm", _doubling(False, 30), LIMIT),
    ("gates nested past the limit", Q3 + "qubit q;\ngate g0 a { x a; }\n" + "".join(
        f"gate g{i} a {{ g{i - 1} a; }}\n" for i in range(1, 60)) + "g59 q;\n",
     "at most 32 are supported"),
    ("huge for range", Q3 + "qubit q;\nfor int i in [0:10**12] { x q; }\n",
     "for loop of 1,000,000,000,001 iterations"),
    ("huge for range beyond int64", Q3 + "qubit q;\nfor int i in [0:2**100] { }\n",
     "for loop of"),
    ("nested loops", Q3 + "qubit q;\nfor int i in [0:999] { for int j in [0:999] { x q; } }\n",
     LIMIT),
    ("huge pow", Q3 + "qubit q;\npow(10**12) @ x q;\n", "pow(1000000000000) @ repeats"),
    ("huge ctrl count", Q3 + "qubit[3] q;\nctrl(100000) @ x q[0], q[1], q[2];\n",
     "size 100000 is too large"),
    ("ctrl count beyond the operands", Q3 + "qubit[3] q;\nctrl(4000) @ x q[0], q[1];\n",
     "acts on 4001 qubit(s), got 2"),
    ("ctrl needing a huge matrix", _wide_ctrl(20), "explicit matrix on 11 qubits"),
    ("ctrl matrices in a loop", Q3 + "qubit[10] q;\nfor int i in [0:999] { ctrl(9) @ h "
     + ", ".join(f"q[{i}]" for i in range(10)) + "; }\n", "builds explicit matrices"),
    ("huge for, .qm", _model("for i in 0..1000000000000 { x q[0] }"),
     "for loop of 1,000,000,000,000 iterations"),
    ("huge repeat, .qm", _model("repeat 10 ** 12 { x q[0] }"), "repeat of 1,000,000,000,000"),
    ("exponential angle expression", _squaring(True), "terms once written out"),
    ("exponential angle expression, .qm", _squaring(False), "terms once written out"),
    # nesting
    ("100000 parentheses", Q3 + "qubit q;\nrx(" + "(" * 100000 + "1" + ")" * 100000 + ") q;\n",
     "brackets nested too deeply"),
    ("10000 braces", Q3 + "qubit q;\n" + "{" * 10000 + "x q;" + "}" * 10000 + "\n",
     "brackets nested too deeply"),
    ("long operator chain", Q3 + "qubit q;\nrx(" + " + ".join(["1"] * 2000) + ") q;\n",
     "nested too deeply for the parser"),
    ("if after if", Q3 + "qubit q;\nbit c;\n" + "if (c) " * 500 + "x q;\n",
     "nested too deeply for the parser"),
    ("long operator chain, .qm", _model("rx(" + " + ".join(["1"] * 2000) + ") q[0]"),
     "nested too deeply"),
    ("10000 nested repeats, .qm", _model("repeat 1 {" * 10000 + "x q[0]" + "}" * 10000),
     "nested too deeply"),
    ("long chain, textual IR", "qcompile.ir 1\nprogram m {\n  circuit c() qubits q[1] {\n"
     "    rx(" + " + ".join(["1"] * 2000) + ") q[0]\n  }\n  %y = call c() -> probs()\n"
     "  return %y\n}\n", "nested too deeply"),
    # numbers
    ("huge integer literal", Q3 + "qubit q;\nrx(" + "9" * 5000 + ") q;\n",
     "a number of 5,000 digits"),
    ("huge integer literal, .qm", _model("rx(" + "9" * 5000 + ") q[0]"),
     "a number of 5,000 digits"),
    ("integer too large for a float, .qm", _model("rx(" + "9" * 400 + ") q[0]"), "1329 bits"),
    ("huge qubit number in an observable, .qm",
     _model("h q[0]").replace("Z0", "Z" + "9" * 5000), "a number of 5,000 digits"),
    ("huge number, textual IR", "qcompile.ir 1\nprogram m {\n  circuit c() qubits q[1] {\n"
     "    rx(" + "9" * 5000 + ") q[0]\n  }\n  %y = call c() -> probs()\n  return %y\n}\n",
     "a number of 5,000 digits"),
    ("integer too large for a float", Q3 + "qubit q;\nrx(10**400) q;\n", "1000 bits"),
    ("power tower", Q3 + "qubit q;\nrx(10**10**10) q;\n", "more than 1000 bits"),
    ("power tower, .qm", _model("rx(10**10**10) q[0]"), "more than 1000 bits"),
    ("huge shift", Q3 + "qubit q;\nconst int a = 1 << 100000000000;\n", "more than 1000 bits"),
    ("infinite angle", Q3 + "qubit q;\nrx(1e400) q;\n", "no finite number"),
    ("overflowing product", Q3 + "qubit q;\nrx(1e308 * 10) q;\n", "no finite number"),
    ("infinite angle, .qm", _model("rx(1e400) q[0]"), "no finite number"),
    ("overflowing function", Q3 + "qubit q;\nrx(exp(1000)) q;\n", "too large for a float"),
    ("complex power", Q3 + "qubit q;\nrx((-8) ** 0.5) q;\n", "not a real number"),
    ("negative bit index", Q3 + "const uint a = 5;\nqubit q;\nrx(a[-1]) q;\n", "negative"),
    # sizes
    ("huge qubit register", Q3 + "qubit[1000000000] q;\nx q[0];\n",
     "size 1000000000 is too large"),
    ("huge qreg", 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[99999999999];\nx q[0];\n',
     "size 99999999999 is too large"),
    ("registers past the total", Q3 + "qubit[3000] a;\nqubit[3000] b;\n", "6,000 qubits in all"),
    ("huge integer width", Q3 + "qubit q;\nint[100000] n = 5;\n", "size 100000 is too large"),
    ("huge qubit count, .qm", "model m\ncircuit c() qubits 1000000000 {\n  x q[0]\n}\n"
     "y = expval(c(), Z0)\nreturn y\n", "qubit count 1000000000 is too large"),
    ("huge tensor, .qm", "model m\ninput x[99999999999, 99999999]\ncircuit c(x) qubits 1 {\n"
     "  ry(x[0, 0]) q[0]\n}\ny = expval(c(x), Z0)\nreturn y\n", "size 99999999999"),
    ("large tensor, .qm", "model m\ninput x[2048, 2048]\ncircuit c(x) qubits 1 {\n"
     "  ry(x[0, 0]) q[0]\n}\ny = expval(c(x), Z0)\nreturn y\n", "4,194,304 elements"),
    # text
    ("NUL byte", Q3 + "qubit q;\x00\nx q;\n", "\\x00"),
    ("unicode garbage", Q3 + "qubit q;\n\u202e\u200b\ufffd x q;\n", "syntax error"),
    ("program too long for the reference parser",
     Q3 + NOT_FLAT + "// padding\n" * 250000, "at most 2,097,152 are parsed"),
    (".qm text too long", _model("x q[0]\n" + "#\n" * 2500000), "at most 4,194,304 are parsed"),
]


def _readers():
    """Each probe as written, and each OpenQASM 3 one without loops (which may be flat) also
    made not flat, so that both readers of OpenQASM are tried."""
    for name, text, fragment in PROBES:
        yield pytest.param(text, fragment, id=name)
        if text.startswith(Q3) and "for " not in text:
            yield pytest.param(Q3 + NOT_FLAT + text[len(Q3):], fragment, id=f"{name}, not flat")


@pytest.mark.parametrize("text,fragment", list(_readers()))
def test_hostile_source_is_a_located_user_error(text, fragment):
    with bounded(), pytest.raises(QCompileError) as err:
        parse_source(text, "hostile")
    assert fragment in str(err.value)
    assert err.value.location is not None or str(err.value).startswith("hostile:")


@pytest.mark.parametrize("text", [
    Q3 + "qubit[2] q;\nfor int i in [0:19999] { h q[0]; cx q[0], q[1]; }\n",
    _model("for i in 0..20000 { h q[0]; cx q[0], q[1] }"),
], ids=["OpenQASM", ".qm"])
def test_programs_within_the_limits_are_read(text):
    with bounded():
        assert len(parse_source(text, "large").circuits[0].ops) == 40000


def test_crlf_reads_as_lf(tmp_path):
    text = Q3 + "qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n"
    path = tmp_path / "crlf.qasm"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    with bounded():
        assert load_source(path) == parse_source(text, str(path))


def test_long_line_is_read():
    text = Q3 + "qubit[2] q;\n" + "h q[0]; cx q[0], q[1]; " * 40000 + "\n"
    with bounded():
        assert len(parse_source(text, "long").circuits[0].ops) == 80000


def test_five_megabytes_of_flat_gates_stay_bounded():
    lines = [f"rz({k % 97 / 7}) q[{k % 20}]; cx q[{k % 20}], q[{(k + 1) % 20}];"
             for k in range(120000)]
    text = Q3 + "qubit[20] q;\n" + "\n".join(lines) + "\n"
    assert len(text) > 5_000_000
    with bounded(seconds=60):
        assert len(parse_source(text, "big").circuits[0].ops) == 240000


@pytest.fixture
def hostile_files(tmp_path):
    """Files that are no source: a device, a pipe, a directory, binary data, too many
    bytes."""
    (tmp_path / "zero.qasm").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.qasm")
    (tmp_path / "dir.qasm").mkdir()
    (tmp_path / "binary.qasm").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "big.qasm").write_bytes(b"x" * (MAX_SOURCE_BYTES + 1))
    return tmp_path


@pytest.mark.parametrize("name,fragment", [
    ("zero.qasm", "not a regular file"), ("pipe.qasm", "not a regular file"),
    ("dir.qasm", "is a directory"), ("binary.qasm", "not a text file"),
    ("big.qasm", f"more than {MAX_SOURCE_BYTES:,} bytes"), ("missing.qasm", "no such file"),
])
def test_unreadable_source_is_a_user_error(hostile_files, name, fragment):
    with bounded(), pytest.raises(QCompileError) as err:
        load_source(hostile_files / name)
    assert fragment in str(err.value)


@pytest.fixture
def hostile_data(tmp_path):
    """Input files that are not what they say: a device, a pipe, an .npz unpacking to more
    than it may (with the limit lowered to 4 kB), a header promising 1.6 TB, NaN, strings."""
    (tmp_path / "zero.npy").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.csv")
    np.savez_compressed(tmp_path / "bomb.npz", x=np.zeros(10_000))
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 2), }"
    header = header.ljust(117) + b"\n"
    (tmp_path / "liar.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                                        + header + bytes(16))
    (tmp_path / "nan.csv").write_text("x0,x1\n0.1,nan\n")
    (tmp_path / "huge.csv").write_text("x0,x1\n1e400,1\n")
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    return tmp_path


@pytest.mark.parametrize("name,fragment", [
    ("zero.npy", "not a regular file"), ("pipe.csv", "not a regular file"),
    ("bomb.npz", "uncompressed"), ("liar.npy", "larger than the memory available"),
    ("nan.csv", "must be finite numbers"), ("huge.csv", "must be finite numbers"),
    ("text.npy", "must hold real numbers"),
])
def test_hostile_inputs_file_is_a_user_error(hostile_data, capsys, monkeypatch, name, fragment):
    monkeypatch.setattr("qcompile.cli.io.MAX_ARRAY_BYTES", 4096)  # bomb.npz: 80 kB unpacked
    with bounded():
        assert main(["run", "zoo:zz-vqc", "--inputs", str(hostile_data / name)]) == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize("args,fragment", [
    (["--shots", str(10**30)], "--shots: must be a positive integer of at most"),
    (["--shots", "0"], "--shots: must be a positive integer"),
    (["--seed", "-1"], "--seed: must be a non-negative integer"),
    (["--seed", str(2**64)], "--seed: must be a non-negative integer of at most"),
    (["--seed", "9" * 100000], "(100000 characters)"),
])
def test_numeric_options_are_bounded(capsys, args, fragment):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "zoo:zz-vqc", *args])
    assert exit_.value.code == 2
    assert fragment in capsys.readouterr().err


def test_compile_seed_is_bounded(capsys):
    with pytest.raises(SystemExit):
        main(["compile", "zoo:zz-vqc", "--seed", "-5"])
    assert "--seed: must be a non-negative integer" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["compile", "{files}/zero.qasm"], ["run", "zoo:zz-vqc", "--shots", str(10**30)],
    ["compile", "{files}/nested.qasm"],
])
def test_command_line_exits_2_without_traceback(hostile_files, args):
    (hostile_files / "nested.qasm").write_text(_doubling(True, 40))
    code, err = run_cli([a.format(files=hostile_files) for a in args], hostile_files)
    assert code == 2
    assert_user_outcome(code, err, args)
