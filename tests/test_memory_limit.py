"""Memory is estimated before the simulator allocates: a clear QCompileError naming the need,
the machine's memory and the options, from the library and from ``qcompile run``."""

import builtins
import json

import numpy as np
import pytest
from qiskit import qasm2
from qiskit.quantum_info import Statevector

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.backends.statevector import memory, simulate
from qcompile.backends.statevector.adjoint import adjoint_vjp
from qcompile.cli import main
from qcompile.ir import (Circuit, Counts, ExpVal, Gate, Measure, Param, PauliTerm, Probs,
                         QCompileError, Register, Reset, State, Symbol)


def hadamards(n, measured=False):
    ops = [Gate("h", (q,)) for q in range(n)]
    ops += [Measure(q, q) for q in range(n)] if measured else []
    return Circuit(f"h{n}", (Register("q", n),), (Register("c", n),) if measured else (),
                   ops=ops)


@pytest.mark.parametrize("text,size", [("4G", 4 << 30), ("512M", 512 << 20), ("1.5GiB", 3 << 29),
                                       ("2048", 2048), (" 64 kb ", 64 << 10), (1e6, 10 ** 6)])
def test_sizes_are_parsed_in_binary_units(text, size):
    assert memory.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "4X", "G", "-1G", "0", "four"])
def test_bad_sizes_are_reported(text):
    with pytest.raises(QCompileError, match="memory size"):
        memory.parse_size(text)


def test_available_memory_falls_back_to_meminfo_then_sysconf(monkeypatch):
    real_import, real_open = builtins.__import__, builtins.open

    def no_psutil(name, *args, **kwargs):
        if name == "psutil":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psutil)
    available, source = memory.available_memory()
    assert source == "MemAvailable" and available > 0

    def no_meminfo(path, *args, **kwargs):
        if path == "/proc/meminfo":
            raise OSError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_meminfo)
    available, source = memory.available_memory()
    assert source == "free pages" and available > 0


@pytest.mark.parametrize("output", [State(), Probs(), ExpVal(((PauliTerm(1.0, ((0, "Z"),)),),)),
                                    Counts(10)])
def test_a_40_qubit_state_is_refused_before_allocating(output):
    with pytest.raises(QCompileError, match=r"needs .* TiB for .*available on this machine"):
        simulate(hadamards(40, measured=isinstance(output, Counts)), output)


def test_the_message_names_the_need_the_limit_and_the_options():
    with pytest.raises(QCompileError) as info:
        simulate(hadamards(30), State(), max_memory="4G")
    message = str(info.value)
    assert "needs 16.0 GiB for 30 qubits × batch 1 in complex128" in message
    assert "the limit of 4.0 GiB" in message and "available)" in message
    assert "--max-memory" in message and "--dtype complex64" in message
    with pytest.raises(QCompileError, match="needs 8.0 GiB for 30 qubits × batch 1 in complex64"
                                            ", more") as info:
        simulate(hadamards(30), State(), max_memory="4G", dtype=np.complex64)
    assert "--dtype complex64" not in str(info.value)


def test_the_batch_and_the_read_out_count():
    circuit = Circuit("p", (Register("q", 16),), params=(Param("t", "input"),),
                      ops=[Gate("rx", (q,), [Symbol("t")]) for q in range(16)])
    values = {"t": np.zeros(64)}
    with pytest.raises(QCompileError, match="batch 64"):
        simulate(circuit, State(), values, max_memory="32M")  # 64 states of 1 MiB
    probs = simulate(circuit, Probs((0, 1)), values, max_memory="32M")  # a few at a time
    np.testing.assert_allclose(probs[:, 0], 1)
    with pytest.raises(QCompileError, match="the read-out"):
        simulate(circuit, Probs(), values, max_memory="32M")  # 64 × 2**16 probabilities


def test_a_counts_histogram_too_large_is_refused_with_its_own_options():
    circuit = Circuit("wide", (Register("q", 2),), (Register("c", 40),),
                      ops=[Gate("h", (0,)), Measure(0, 39)])
    with pytest.raises(QCompileError, match=r"counts histogram of 2\*\*40 entries.*"
                                            r"read out probs or expval instead"):
        simulate(circuit, Counts(10))


def test_exact_branches_are_counted_and_counts_are_suggested():
    """Each reset of a qubit in |+> doubles the exact branches of this 14-qubit circuit:
    10 resets make 1024 states of 256 KiB (256 MiB)."""
    ops = [Gate("h", (q,)) for q in range(14)] + [Gate("h", (0,)), Reset(0)] * 10
    circuit = Circuit("resets", (Register("q", 14),), ops=ops)
    with pytest.raises(QCompileError, match=r"14 qubits × batch 1 \(\d+ branches\).*"
                                            r"ask for counts"):
        simulate(circuit, Probs((1,)), max_memory="64M")
    assert simulate(circuit, Counts(16), seed=0, max_memory="64M").sum() == 16


def test_the_adjoint_gradient_is_estimated_too():
    circuit = Circuit("g", (Register("q", 28),), params=(Param("t", "weight"),),
                      ops=[Gate("rx", (0,), [Symbol("t")])])
    with pytest.raises(QCompileError, match="adjoint gradient of 28 qubits"):
        adjoint_vjp(circuit, State(), {"t": 0.1}, np.zeros((1, 2 ** 28), complex),
                    max_memory="1G")


def test_the_library_limit_allows_what_fits():
    circuit = hadamards(10)
    state = simulate(circuit, State(), max_memory=2 ** 14)  # exactly 1024 amplitudes × 16 B
    np.testing.assert_allclose(state[0], Statevector(to_qiskit(circuit)).data, atol=1e-12)
    with pytest.raises(QCompileError):
        simulate(circuit, State(), max_memory=2 ** 14 - 1)


# --- qcompile run ---------------------------------------------------------------------------

@pytest.fixture
def qasm(tmp_path):
    def write(n, name="c.qasm"):
        path = tmp_path / name
        path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\n'
                        f"qreg q[{n}];\ncreg c[{n}];\nh q[0];\nry(0.3) q[2];\ncx q[0],q[1];\n"
                        "measure q -> c;\n")
        return str(path)
    return write


def test_run_refuses_a_30_qubit_state_with_the_message_and_exit_2(qasm, capsys):
    assert main(["run", qasm(30), "--output", "state", "--max-memory", "4G"]) == 2
    err = capsys.readouterr().err
    assert "needs 16.0 GiB for 30 qubits × batch 1 in complex128" in err
    assert "Traceback" not in err


def test_run_takes_dtype_and_max_memory(qasm, capsys):
    path = qasm(3)
    assert main(["run", path, "--output", "state", "--dtype", "complex64",
                 "--max-memory", "1M", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["out"]
    state = np.array(data["real"][0]) + 1j * np.array(data["imag"][0])
    qc = qasm2.load(path, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    qc.remove_final_measurements()
    np.testing.assert_allclose(state, Statevector(qc).data, atol=1e-7)


def test_run_rejects_a_bad_size_while_parsing(qasm, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", qasm(3), "--max-memory", "lots"])
    assert info.value.code == 2 and "--max-memory" in capsys.readouterr().err


def test_run_refuses_simulator_options_for_a_device(qasm, capsys):
    assert main(["run", qasm(3), "--backend", "fake_manila", "--dtype", "complex64"]) == 2
    assert "statevector simulator" in capsys.readouterr().err
