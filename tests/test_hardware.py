"""Hardware backend: fake IBM devices through Qiskit's transpiler and the Aer primitives.

Device results are checked against noiseless simulation within the bound docs/hardware.md
derives: the transpiled circuit's error budget (from the device's reported gate and readout
errors) plus five standard deviations of shot noise. Seeds are fixed, so nothing flakes.
"""

import subprocess
import sys

import numpy as np
import pytest

from qcompile.backends.hardware import (DeviceExecutor, RetryPolicy, available_devices,
                                        error_budget, resolve_device)
from qcompile.backends.runner import init_weights, run_program
from qcompile.backends.statevector import outcome_probabilities
from qcompile.cli import main
from qcompile.ir import (Circuit, Condition, Counts, Gate, IfElse, Measure, Probs,
                         QCompileError, Register, State)
from qcompile.ir.outputs import with_output
from qcompile.jobs import JobStore, submit_job
from qcompile.models import load_model

SHOTS = 2000


@pytest.fixture(scope="module")
def zz_vqc():
    program = load_model("zoo:zz-vqc")
    inputs = {"x": np.random.default_rng(7).uniform(0, np.pi, (6, 2))}
    return program, inputs, init_weights(program, 3)


@pytest.mark.parametrize("backend", ["fake_manila", "fake_kolkata"])  # 5 and 27 qubits
def test_expval_model_agrees_with_noiseless_simulation(zz_vqc, backend):
    program, inputs, weights = zz_vqc
    device = resolve_device(backend)
    executor = DeviceExecutor(device, shots=SHOTS, transpile_seed=11)
    measured = run_program(program, inputs, weights, seed=5, execute=executor)["p"]
    exact = run_program(program, inputs, weights)["p"]
    assert measured.shape == exact.shape == (6, 1)
    # p = (1 + <Z0 Z1>) / 2: half of the expectation's bound 2 * budget + 5 / sqrt(shots)
    bound = error_budget(executor.isa_circuits[0], device) + 2.5 / np.sqrt(SHOTS)
    assert 0 < bound < 0.25
    np.testing.assert_array_less(np.abs(measured - exact), bound)
    assert np.ptp(exact) > 2 * bound  # the samples differ by more than the tolerance


@pytest.mark.parametrize("backend", ["fake_manila", "fake_kolkata"])
def test_counts_and_probs_agree_with_noiseless_simulation(zz_vqc, backend):
    program, inputs, weights = zz_vqc
    device = resolve_device(backend)
    for kind in ("counts", "probs"):
        variant = with_output(program, kind, SHOTS)
        executor = DeviceExecutor(device, shots=SHOTS, transpile_seed=11)
        measured = run_program(variant, inputs, weights, seed=5, execute=executor)
        exact = run_program(with_output(program, "probs", SHOTS), inputs, weights)
        name = variant.outputs[0]
        frequencies = measured[name] / SHOTS if kind == "counts" else measured[name]
        if kind == "counts":
            assert measured[name].dtype == np.int64 and (measured[name].sum(1) == SHOTS).all()
        bound = error_budget(executor.isa_circuits[0], device) + 2.5 / np.sqrt(SHOTS)
        np.testing.assert_array_less(np.abs(frequencies - exact[name]), bound)


def _circuit(num_qubits, num_clbits, ops):
    cregs = (Register("c", num_clbits),) if num_clbits else ()
    return Circuit("t", (Register("q", num_qubits),), cregs, (), tuple(ops))


def test_counts_index_bit_j_is_clbit_j_with_feed_forward():
    # q0 = 1 is measured into c1; c1 == 1 flips q2, measured into c2; q1 = 0 into c0, so
    # the outcome is index 0b110 = 6 (3 if the bit order were reversed), whatever layout the
    # device gives the qubits.
    circuit = _circuit(3, 3, [Gate("x", (0,)), Measure(0, 1),
                              IfElse(Condition((1,), 1), (Gate("x", (2,)),)),
                              Measure(1, 0), Measure(2, 2)])
    expected = outcome_probabilities(circuit)  # independent: exact branch simulation
    for backend in ("aer", "fake_manila"):
        executor = DeviceExecutor(resolve_device(backend), shots=400, transpile_seed=1)
        counts = executor(circuit, Counts(400), {}, seed=3)
        assert counts.shape == (1, 8)
        assert counts[0].argmax() == expected[0].argmax() == 6
        if backend == "aer":
            np.testing.assert_array_equal(counts, np.rint(expected * 400))


def test_probs_of_chosen_qubits_are_read_at_the_end():
    circuit = _circuit(3, 1, [Gate("x", (2,)), Measure(0, 0), Gate("h", (0,))])
    executor = DeviceExecutor(resolve_device("aer"), shots=4000, transpile_seed=1)
    probs = executor(circuit, Probs((2, 0)), {}, seed=2)  # index bit 0 is qubit 2
    np.testing.assert_allclose(probs, [[0, 0.5, 0, 0.5]], atol=0.03)


def test_state_is_not_available_on_hardware():
    executor = DeviceExecutor(resolve_device("aer"), shots=10)
    with pytest.raises(QCompileError, match="statevector is not observable"):
        executor(_circuit(1, 0, [Gate("h", (0,))]), State(), {}, seed=0)


def test_unknown_backend_lists_the_fake_devices():
    with pytest.raises(QCompileError, match="unknown backend 'fake_nowhere'.*fake_manila"):
        resolve_device("fake_nowhere")
    assert {"aer", "fake_manila", "fake_brisbane"} <= set(available_devices())


def test_too_wide_circuit_is_refused_before_anything_is_recorded(tmp_path):
    wide = _circuit(6, 0, [Gate("h", (q,)) for q in range(6)])
    from qcompile.ir import Program
    store = JobStore(tmp_path / "jobs.db")
    with pytest.raises(QCompileError, match="needs 6 qubits, but fake_manila has only 5"):
        submit_job(store, Program.from_circuit(wide, Probs()), backend="fake_manila",
                   inputs={}, weights={}, shots=10, seed=0)
    assert store.list() == []


def test_cli_user_errors_exit_with_status_2(tmp_path, capsys):
    store = str(tmp_path / "jobs.db")
    assert main(["fetch", "no-such-job", "--store", store]) == 2
    assert "no job 'no-such-job'" in capsys.readouterr().err
    inputs = tmp_path / "x.csv"
    inputs.write_text("0.1,0.2\n")
    assert main(["submit", "zoo:zz-vqc", "--inputs", str(inputs), "--backend", "fake_nowhere",
                 "--store", store]) == 2
    assert "fake_manila" in capsys.readouterr().err


def test_missing_ibm_credentials(tmp_path):
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "QCOMPILE_JOBS_DB":
           str(tmp_path / "jobs.db")}
    inputs = tmp_path / "x.csv"
    inputs.write_text("0.1,0.2\n")
    done = subprocess.run([sys.executable, "-m", "qcompile.cli", "submit", "zoo:zz-vqc",
                           "--inputs", str(inputs), "--backend", "ibm_brisbane"], env=env,
                          capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "no IBM Quantum credentials are configured" in done.stderr
    assert "Traceback" not in done.stderr


def test_retry_policy_backs_off_exponentially_then_gives_up():
    slept, failures = [], iter([ConnectionError("reset"), TimeoutError("slow")])

    def flaky():
        error = next(failures, None)
        if error:
            raise error
        return "result"

    policy = RetryPolicy(attempts=3, first_delay=0.5, factor=2.0, sleep=slept.append)
    assert policy.call(flaky, "fetching") == "result"
    assert slept == [0.5, 1.0]

    def down():
        raise ConnectionError("unreachable")

    with pytest.raises(QCompileError, match="fetching failed 3 times; last error: unreachable"):
        policy.call(down, "fetching")
    with pytest.raises(ValueError):  # not transient: no retry, no swallowing
        policy.call(lambda: int("x"), "parsing")


@pytest.mark.parametrize("kind", ["expval", "probs"])
def test_a_program_qcompile_lowered_runs_as_it_is(zz_vqc, kind):
    # qcompile's own lowering (what `submit` runs): the device gets exactly its gates.
    from qcompile import Target, compile

    program, inputs, weights = zz_vqc
    program = program if kind == "expval" else with_output(program, "probs", SHOTS)
    lowered = compile(program, level=3, target=Target.device("fake_manila"), seed=3).program
    device = resolve_device("fake_manila")
    executor = DeviceExecutor(device, shots=SHOTS, transpile_seed=11)
    measured = run_program(lowered, inputs, weights, seed=5, execute=executor)
    exact = run_program(program, inputs, weights)
    isa = executor.isa_circuits[0]
    ours = lowered.circuits[0].gate_counts()
    assert isa.count_ops().get("cx", 0) + isa.count_ops().get("ecr", 0) == sum(
        ours.get(g, 0) for g in ("cx", "ecr"))
    name = program.outputs[0]
    bound = error_budget(isa, device) + 2.5 / np.sqrt(SHOTS)
    np.testing.assert_array_less(np.abs(measured[name] - exact[name]), bound)
