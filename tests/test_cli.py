"""The command line: every command works, and every user mistake is one message + exit 2."""

import json
import subprocess
import sys

import numpy as np
import openqasm3
import pytest
from qiskit.quantum_info import Statevector

from qcompile.cli import main

BELL = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""


@pytest.fixture
def bell(tmp_path):
    path = tmp_path / "bell.qasm"
    path.write_text(BELL)
    return path


def run_cli(*args):
    """Run the CLI as a user would; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "qcompile.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_compile_zoo_model_to_qasm3_and_ir(tmp_path, capsys):
    out = tmp_path / "zz.qasm"
    assert main(["compile", "zoo:zz-vqc", "-O2", "-o", str(out), "--stats"]) == 0
    openqasm3.parse(out.read_text())
    assert main(["compile", "zoo:zz-vqc", "--emit", "ir"]) == 0
    assert capsys.readouterr().out.startswith("qcompile.ir 1")


def test_print_after_prints_ir_of_that_pass(capsys):
    assert main(["compile", "zoo:daruan", "--pipeline", "canonicalize,merge-1q",
                 "--print-after", "merge-1q", "--emit", "ir"]) == 0
    err = capsys.readouterr().err
    assert "IR after merge-1q" in err and "IR after canonicalize" not in err


def test_ir_output_is_accepted_back_as_input(tmp_path, capsys):
    ir_file = tmp_path / "daruan.ir"
    assert main(["compile", "zoo:daruan", "--emit", "ir", "-o", str(ir_file)]) == 0
    assert main(["compile", str(ir_file), "-O0", "--emit", "ir"]) == 0
    assert capsys.readouterr().out == ir_file.read_text()


def test_run_state_json_matches_qiskit(tmp_path, capsys):
    path = tmp_path / "ghz.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nh q[0];\ncx q[0],q[1];\n'
                    'cx q[1],q[2];\nrz(0.3) q[2];\n')
    assert main(["run", str(path), "--output", "state", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["out"]
    state = np.array(data["real"][0]) + 1j * np.array(data["imag"][0])
    from qiskit import qasm2
    expected = Statevector(qasm2.loads(path.read_text())).data
    np.testing.assert_allclose(state, expected, atol=1e-12)


def test_run_counts_are_seeded(bell, capsys):
    assert main(["run", str(bell), "--shots", "500", "--seed", "3", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["run", str(bell), "--shots", "500", "--seed", "3", "--json"]) == 0
    counts = np.array(first["out"][0])
    assert first == json.loads(capsys.readouterr().out)
    assert counts.sum() == 500 and counts[1] == counts[2] == 0  # only 00 and 11


def test_run_model_with_inputs_and_weights(tmp_path, capsys):
    inputs = tmp_path / "x.csv"
    inputs.write_text("x0,x1\n0.1,0.2\n0.3,0.4\n1.5,2.5\n")
    weights = tmp_path / "w.npz"
    np.savez(weights, theta=np.zeros((2, 2, 2)))
    assert main(["run", "zoo:zz-vqc", "--inputs", str(inputs), "--weights", str(weights),
                 "--json"]) == 0
    p = np.array(json.loads(capsys.readouterr().out)["p"])
    assert p.shape == (3, 1) and np.all((0 <= p) & (p <= 1))


@pytest.mark.parametrize("args,message", [
    (["compile", "nothere.qm"], "nothere.qm: no such file"),
    (["compile", "zoo:nope"], "nope"),
    (["compile", "zoo:daruan", "--pipeline", "canonicalize,frobnicate"], "frobnicate"),
    (["compile", "zoo:daruan", "--print-after", "frobnicate"], "frobnicate"),
    (["compile", "zoo:zz-kernel", "--circuit", "nope"], "no circuit named 'nope'"),
    (["run", "zoo:zz-vqc"], "needs input 'x'"),
    (["run", "zoo:zz-vqc", "--inputs", "missing.csv"], "missing.csv: no such inputs file"),
    (["run", "zoo:daruan", "--inputs", "bad.txt"], "must be a .npy, .npz or .csv file"),
    (["compile", "-O", "7", "zoo:daruan"], "invalid choice"),
])
def test_user_errors_exit_2_without_traceback(args, message):
    code, out, err = run_cli(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_source_errors_point_at_the_line(tmp_path):
    bad = tmp_path / "bad.qasm"
    bad.write_text('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nfoo q[0];\n')
    code, _, err = run_cli("compile", bad)
    assert code == 2 and f"{bad}:4:" in err and "foo" in err and "Traceback" not in err
    model = tmp_path / "bad.qm"
    model.write_text("model m\ninput x[2]\ncircuit c(x) qubits 1 {\n  rx(x[5]) q[0]\n}\n")
    code, _, err = run_cli("compile", model)
    assert code == 2 and f"{model}:4:" in err and "^" in err and "Traceback" not in err


def test_unrecognized_content_is_explained(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("hello world\n")
    code, _, err = run_cli("run", junk)
    assert code == 2 and "cannot tell which language" in err


def test_empty_csv_is_explained(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("x0,x1\n")
    code, _, err = run_cli("run", "zoo:zz-vqc", "--inputs", csv)
    assert code == 2 and "no rows of numbers" in err and "Traceback" not in err


def test_bad_csv_names_row(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("x0,x1\n0.1,0.2\n0.3,oops\n")
    code, _, err = run_cli("run", "zoo:zz-vqc", "--inputs", csv)
    assert code == 2 and f"{csv}:3" in err and "oops" in err


def test_passes_and_models_listings():
    code, out, _ = run_cli("passes")
    assert code == 0 and "cancel-inverses" in out and "merge-1q" in out
    code, out, _ = run_cli("models")
    assert code == 0 and "zoo:daruan" in out


def test_complex_inputs_are_refused(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones((2, 2)) * 1j)
    code, _, err = run_cli("run", "zoo:zz-vqc", "--inputs", path)
    assert code == 2 and "must hold real numbers, got complex128" in err


# --- targets and backends ------------------------------------------------------------------

QFT3 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[4];
creg c[4];
h q[0]; cu1(pi/2) q[1],q[0]; h q[1]; cu1(pi/4) q[2],q[0]; cu1(pi/2) q[2],q[1]; h q[2];
ccx q[0],q[1],q[3]; swap q[0],q[3];
measure q -> c;
"""


@pytest.mark.parametrize("options,device", [
    (["--basis", "cx,rz,sx,x"], None), (["--basis", "cz,rz,sx,x", "--coupling-map", "line:4"],
                                         "line:4"),
    (["--target", "fake_manila"], "fake_manila")])
def test_compile_for_a_target_writes_only_its_gates_on_its_pairs(tmp_path, options, device):
    from qcompile.compiler import Target
    from qcompile.frontend.qasm import load_qasm
    from qcompile.ir import Gate
    from qcompile.ir.ops import walk

    source = tmp_path / "qft.qasm"
    source.write_text(QFT3)
    out = tmp_path / "out.qasm"
    code, _, err = run_cli("compile", source, "-O3", *options, "-o", out, "--seed", "1")
    assert code == 0, err
    target = Target.device(device) if device and device.startswith("fake") else (
        Target.of(options[1], device))
    circuit = load_qasm(out.read_text())
    for op in walk(circuit.ops):
        if isinstance(op, Gate):
            assert op.name in target.basis, op
            if len(op.qubits) == 2 and target.coupling is not None:
                assert target.coupling.allows(*op.qubits), op


def test_run_on_a_named_backend(bell, capsys):
    assert main(["run", str(bell), "--backend", "aer", "--shots", "200", "--json"]) == 0
    counts = np.array(json.loads(capsys.readouterr().out)["out"][0])
    assert counts.sum() == 200 and counts[1] == counts[2] == 0
    assert main(["run", str(bell), "--backend", "aer", "--output", "state"]) == 2
    assert "cannot return" in capsys.readouterr().err


@pytest.mark.parametrize("options,message", [
    (["--basis", "foo"], "basis gate 'foo'"),
    (["--basis", "rz,sx"], "no two-qubit gate"),
    (["--target", "no_such_device"], "unknown backend"),
    (["--coupling-map", "line:1"], "needs 2 qubits"),
    (["--coupling-map", "ring:x"], "line:N, ring:N or grid:RxC"),
    (["--target", "fake_manila", "--basis", "cx,rz"], "leave out"),
])
def test_bad_targets_exit_2_with_a_message(bell, options, message):
    code, _, err = run_cli("compile", bell, *options)
    assert code == 2 and message in err and "Traceback" not in err


def test_emit_choices_come_from_the_registry():
    from qcompile.backends.registry import emitters
    code, _, err = run_cli("compile", "zoo:zz-vqc", "--emit", "nope")
    assert code == 2 and all(name in err for name in emitters())
