"""``qcompile --version``, ``qcompile draw`` and ``-`` for standard input and output (issue
20's CLI conventions)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcompile.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_version():
    done = _cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == \
        f"qcompile {metadata.version('qcompile')}"


def test_draw_text_and_image_after_the_qubit_budget(tmp_path):
    done = _cli("draw", "zoo:qksan")
    assert done.returncode == 0, done.stderr
    wires = [line for line in done.stdout.splitlines() if line.lstrip().startswith("q_")]
    assert len(wires) == 4 and "Ry(theta_0)" in done.stdout and "If-0" in done.stdout
    narrow = _cli("draw", "zoo:qksan", "--max-qubits", "2")
    assert len([line for line in narrow.stdout.splitlines()
                if line.lstrip().startswith("q_")]) == 2
    image = tmp_path / "qksan.png"
    done = _cli("draw", "zoo:qksan", "-o", image)
    assert done.returncode == 0, done.stderr
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, message", [
    (["zoo:hqnn-parallel", "--circuit", "nope"], "no circuit 'nope'; the program has branch"),
    (["zoo:nope"], "nope"),
    (["zoo:qksan", "-o", "/proc/version/x.png"], "cannot write")])  # under a file
def test_draw_errors(args, message):
    done = _cli("draw", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_standard_input_and_output():
    source = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\n"
    done = subprocess.run([sys.executable, "-m", "qcompile.cli", "compile", "-", "-o", "-"],
                          input=source, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "cx q[0], q[1];" in done.stdout and "wrote" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "qcompile.cli", "compile", "-"],
                          input=b"\xff\xfe", capture_output=True, timeout=300)
    assert done.returncode == 2 and b"<stdin>: not text" in done.stderr
