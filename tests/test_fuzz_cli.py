"""Generated command lines never crash ``qcompile``: every run ends in success or exit status
2 with a message, never a traceback, within 10 s of CPU and 2 GiB (each in a subprocess,
:func:`fuzz_sources.run_cli`).

A case is a command, a model (a zoo model, a generated source, a file that is no source) and
options drawn from hostile values (sizes, seeds and shot counts beyond int64, coupling maps of
a trillion qubits, broken input files). A subprocess costs seconds, so the default suite runs
six cases and the slow one three hundred.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzz_sources import assert_user_outcome, run_cli, sources
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_INTEGERS = ["0", "1", "-1", "7", "1024", str(2**62), str(2**63), str(10**30), "abc", "1e3", ""]


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


#: Input and weight files: name -> content.
_DATA = {
    "ok.csv": b"x0,x1\n0.1,0.2\n0.3,0.4\n", "nan.csv": b"1,nan\n", "huge.csv": b"1e400,2\n",
    "ragged.csv": b"1,2\n3\n", "empty.csv": b"", "binary.csv": bytes(range(256)),
    "ok.npy": _npy(np.zeros((2, 2))), "scalar.npy": _npy(np.float64(1.0)),
    "wide.npy": _npy(np.zeros((1, 4096))), "text.npy": _npy(np.array(["a"])),
    "complex.npy": _npy(np.ones((2, 2), dtype=complex)), "truncated.npy": _npy(np.zeros(9))[:70],
    "bad.npz": b"PK\x03\x04 not a zip", "map.json": b"[[0, 1], [1, 2]]",
    "huge-map.json": b"[[0, 1000000000000]]", "broken-map.json": b"[[0, 1",
}
_OPTIONS = {
    "-O": ["0", "3", "7", "-1"], "--pipeline": ["canonicalize", "frobnicate", ",,", ""],
    "--basis": ["cx,rz,sx,x", "zz", ""],
    "--coupling-map": ["line:3", "line:0", "line:1000000000000", "ring:-1", "grid:2x2",
                       "grid:100000x100000", "grid:x", "map.json", "huge-map.json",
                       "broken-map.json"],
    "--target": ["fake_manila", "nope"], "--print-after": ["canonicalize", "nope"],
    "--include-path": [".", "/nonexistent"],
}
_COMPILE = {"--emit": ["qasm3", "ir", "nope"], "--circuit": ["nope", "c"], "--seed": _INTEGERS,
            "-o": ["out.qasm", "/proc/nope/out", "."]}
_RUN = {"--inputs": sorted(_DATA), "--weights": sorted(_DATA), "--shots": _INTEGERS,
        "--seed": _INTEGERS, "--output": ["expval", "probs", "counts", "state", "nope"],
        "--backend": ["statevector", "nope"], "--dtype": ["complex64", "x"],
        "--max-memory": ["1G", "0", "-1", "1e999", "99999999999999999999T", "abc"]}
_FLAGS = {"compile": ["--stats"], "run": ["--json"]}
_MODELS = ["zoo:daruan", "zoo:zz-vqc", "zoo:qksan", "zoo:nope", "source.qasm", "zero.qasm",
           "pipe.qm", "missing.qm", "."]


@st.composite
def cases(draw) -> tuple[list[str], str]:
    """Command-line arguments, and the text of ``source.qasm`` (any generated source)."""
    command = draw(st.sampled_from(["compile", "compile", "run"]))
    options = {**_OPTIONS, **(_COMPILE if command == "compile" else _RUN)}
    args = [command, draw(st.sampled_from(_MODELS))]
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        args += [name, draw(st.sampled_from(options[name]))]
    args += draw(st.lists(st.sampled_from(_FLAGS[command]), max_size=1))
    return args, draw(sources())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz-cli")
    for name, content in _DATA.items():
        (path / name).write_bytes(content)
    return path


def _case_directory(workdir: Path, source: str) -> Path:
    """A directory of its own (outputs do not collide): the data files, the source, a
    device that never ends and a pipe nobody writes."""
    directory = Path(tempfile.mkdtemp(dir=workdir))
    for name in _DATA:
        (directory / name).symlink_to(workdir / name)
    (directory / "source.qasm").write_text(source)
    (directory / "zero.qasm").symlink_to("/dev/zero")
    os.mkfifo(directory / "pipe.qm")
    return directory


def _check(workdir: Path, case) -> None:
    args, source = case
    code, err = run_cli(args, _case_directory(workdir, source))
    assert_user_outcome(code, err, args)


_FUZZ = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


@settings(_FUZZ, max_examples=6, derandomize=True)
@given(case=cases())
def test_generated_command_lines_fail_only_with_user_errors(workdir, case):
    _check(workdir, case)


@pytest.mark.slow
@settings(_FUZZ, max_examples=300)
@given(case=cases())
def test_many_generated_command_lines_fail_only_with_user_errors(workdir, case):
    _check(workdir, case)
