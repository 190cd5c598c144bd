"""The training and kernel benchmarks (issue 15): qcompile's ``train`` and ``kernel_matrix``
against PennyLane and qiskit-machine-learning, in one process, on the same problem.

**Training.** One 8-qubit, 4-layer variational classifier, written once per framework with
the same gates: ``ry(x_i)`` on qubit i, then 4 layers of ``ry(θ[l, i, 0])``, ``rz(θ[l, i, 1])``
on every qubit and ``cz`` on the ring (i, i + 1 mod 8); the readout is p = (1 − ⟨Z0⟩) / 2
(the probability of measuring 1 on qubit 0), the loss the binary cross-entropy of p (p
clipped to [1e-12, 1 − 1e-12], as qcompile does), the prediction class 1 when p ≥ 0.5. The
data is ``digits:3,5:pca8:scale-pi`` (:data:`RECIPE`: scikit-learn's digits, classes 3 and
5, 8 principal components scaled to [0, π], 25 % held out for the test), the initial
weights one numpy draw (uniform in ±π/4, seed :data:`SEED`) copied into every framework,
the optimizer Adam (β = 0.9, 0.999, ε = 1e-8, learning rate :data:`LR`), the mini-batches
(:data:`BATCH`) those of qcompile's ``Trainer``: its training rows, shuffled each epoch by
``np.random.default_rng([seed, epoch]).permutation(n)``, fed to every framework in the same
order. So all runs follow the same trajectory up to rounding: the outputs at the initial
weights, the per-epoch training losses and the weights after a peer's last step are compared
with qcompile's. Runs:

- **qcompile**: ``Trainer(program, data, TrainConfig(...)).run(TrainState(weights))`` on the
  model :data:`VQC` (``.qm``), batched adjoint gradients;
- **PennyLane default.qubit**: ``qml.qnn.TorchLayer``, torch interface, backprop,
  parameter broadcasting over the batch; **PennyLane lightning.qubit**: the same layer with
  ``diff_method="adjoint"``; both ``torch.optim.Adam``;
- **qiskit-machine-learning**: ``EstimatorQNN`` on qiskit's reference
  ``StatevectorEstimator`` (``default_precision=0``: exact expectation values; the QNN's
  default of 1/64 adds Gaussian noise of that size to the forward pass) with its default
  gradient (parameter shift, exact) in a ``TorchConnector`` (whose weights and outputs are
  float32: the connector fixes that type), ``torch.optim.Adam``.

Each run is timed as a whole: every step, the training-set loss after every epoch (qcompile's
``Trainer`` computes it; the peers do the same) and the final test evaluation; one untimed
forward and backward pass first (JIT compilation, caches). A peer whose next step would take
it past :data:`PEER_BUDGET` seconds stops there: its time per epoch is measured, its 30-epoch
time extrapolated (and labelled so), its accuracy the test accuracy where it stopped.

**Kernel.** The fidelity-kernel Gram matrix K[i, j] = |<ψ(x_j)|ψ(x_i)>|² of the 8-qubit ZZ
feature map with 2 repetitions (full entanglement, qiskit's ``zz_feature_map(8, reps=2)``
gate for gate) on :data:`KERNEL_SAMPLES` samples (the first rows of the training part of
``digits:pca8:scale-pi``): qcompile's ``kernel_matrix`` (the ``.qm`` template
``zz_feature_map``, symmetric path), qiskit-machine-learning's ``FidelityStatevectorKernel``,
PennyLane's ``qml.kernels.square_kernel_matrix`` (one compute-uncompute circuit per pair; timed
on a subset and extrapolated by the number of pairs) and a PennyLane qnode returning
``qml.state()`` for the whole batch with the Gram matrix from one matrix product (the fast way
in PennyLane). Every matrix is compared with qcompile's on the samples both computed.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from rich.table import Table

from qcompile.backends.statevector.kernel_matrix import kernel_matrix
from qcompile.frontend.qm import parse_model
from qcompile.training import TrainConfig, Trainer, load_data
from qcompile.training.loop import TrainState

from .harness import failure_note, generated_section, markdown_table, rich_table, timed

QUBITS, LAYERS = 8, 4
RECIPE = "digits:3,5:pca8:scale-pi"
#: ``--quick``: 64 samples (48 to train on).
QUICK_RECIPE = "digits:3,5:n64:pca8:scale-pi"
SEED = 0
EPOCHS, BATCH, LR = 30, 32, 0.05
QUICK_EPOCHS, QUICK_BATCH = 2, 8
#: A peer stops before a step that would take it past this many seconds of training.
PEER_BUDGET = 300.0
QUICK_PEER_BUDGET = 3.0
KERNEL_RECIPE = "digits:pca8:scale-pi"
KERNEL_SAMPLES, QUICK_KERNEL_SAMPLES = 1000, 50
#: Samples of the per-pair PennyLane kernel (``qml.kernels``), extrapolated to the full size.
PAIRWISE_SAMPLES, QUICK_PAIRWISE_SAMPLES = 40, 6
#: qiskit-machine-learning's kernel runs on all samples when a subset says it takes at most
#: this long, else the subset's time is extrapolated.
KERNEL_BUDGET = 300.0
#: Samples of qiskit-machine-learning's first, sizing run.
QISKIT_PROBE = 200
#: Timed runs of the fast kernels (qcompile and the PennyLane state path); the median counts.
KERNEL_REPEATS = 3
#: Targets (reported, not asserted).
SPEED_TARGET, ACCURACY_POINTS, KERNEL_TARGET, KERNEL_ATOL = 10.0, 1.0, 10.0, 1e-8
_EPS = 1e-12
MARKERS = ("<!-- training benchmark results: begin -->",
           "<!-- training benchmark results: end -->")
PACKAGES = ("qcompile", "numpy", "numba", "torch", "pennylane", "pennylane-lightning",
            "qiskit", "qiskit-machine-learning")

VQC = f"""# The benchmark's variational classifier: angle encoding, {LAYERS} ry-rz-cz-ring layers
model vqc8
input x[{QUBITS}]
weight theta[{LAYERS}, {QUBITS}, 2]

circuit classifier(x, theta) qubits {QUBITS} {{
  for i in 0..{QUBITS} {{ ry(x[i]) q[i] }}
  for l in 0..{LAYERS} {{
    for i in 0..{QUBITS} {{
      ry(theta[l, i, 0]) q[i]
      rz(theta[l, i, 1]) q[i]
    }}
    for i in 0..{QUBITS} {{ cz q[i], q[(i + 1) % {QUBITS}] }}
  }}
}}

z = expval(classifier(x, theta), Z0)
p = scale(z, factor=-0.5, offset=0.5)   # probability of 1 on qubit 0
return p
"""

FEATURE_MAP = f"""# The benchmark's feature map: Qiskit's zz_feature_map({QUBITS}, reps=2)
model zz_gram
input x[{QUBITS}]

circuit feature_map(x) qubits {QUBITS} {{
  zz_feature_map(x, reps=2)
}}

s = state(feature_map(x))
return s
"""

QCOMPILE = "qcompile"
DEFAULT_QUBIT = "PennyLane default.qubit (backprop)"
LIGHTNING = "PennyLane lightning.qubit (adjoint)"
QISKIT_ML = "qiskit-ML EstimatorQNN (param. shift)"
PL_PAIRWISE = "PennyLane qml.kernels (per pair)"
PL_STATES = "PennyLane default.qubit, qml.state() + GEMM"
QISKIT_KERNEL = "qiskit-ML FidelityStatevectorKernel"


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# --- the training problem --------------------------------------------------------------------

@dataclass
class Problem:
    """What every framework trains on: qcompile's ``Trainer`` rows and batch order."""

    trainer: Trainer
    weights: np.ndarray
    epochs: int
    batch: int

    @property
    def config(self) -> TrainConfig:
        return self.trainer.config

    @property
    def x_fit(self) -> np.ndarray:
        return self.trainer.x_fit

    @property
    def y_fit(self) -> np.ndarray:
        return self.trainer.y_fit

    @property
    def x_test(self) -> np.ndarray:
        return self.trainer.data.x_test

    @property
    def y_test(self) -> np.ndarray:
        return self.trainer.data.y_test

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The rows of each mini-batch of ``epoch``, in qcompile's order."""
        n = len(self.x_fit)
        order = np.random.default_rng([self.config.seed, epoch]).permutation(n)
        return [order[i:i + self.batch] for i in range(0, n, self.batch)]

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.x_fit) // self.batch)


def problem(quick: bool = False) -> Problem:
    epochs, batch = (QUICK_EPOCHS, QUICK_BATCH) if quick else (EPOCHS, BATCH)
    data = load_data(QUICK_RECIPE if quick else RECIPE, seed=SEED)
    config = TrainConfig(epochs=epochs, batch=batch, lr=LR, optimizer="adam",
                         loss="cross-entropy", seed=SEED)
    weights = np.random.default_rng(SEED).uniform(-np.pi / 4, np.pi / 4, (LAYERS, QUBITS, 2))
    return Problem(Trainer(parse_model(VQC), data, config), weights, epochs, batch)


@dataclass
class TrainRun:
    name: str
    #: epochs done (a fraction when the budget stopped the run inside an epoch)
    epochs_run: float = 0.0
    planned: int = EPOCHS
    steps_per_epoch: int = 1
    seconds: float | None = None
    accuracy: float | None = None
    #: the training-set loss after each completed epoch
    losses: list[float] = field(default_factory=list)
    #: the model's outputs p on the first batch at the initial weights
    initial: np.ndarray | None = None
    #: the weights after each step (qcompile), after the last step (peers)
    step_weights: list[np.ndarray] = field(default_factory=list)
    note: str = ""

    @property
    def ran(self) -> bool:
        return self.seconds is not None and self.epochs_run > 0

    @property
    def capped(self) -> bool:
        return self.ran and self.epochs_run < self.planned

    @property
    def per_epoch(self) -> float | None:
        return self.seconds / self.epochs_run if self.ran else None

    @property
    def full_seconds(self) -> float | None:
        """The time of all planned epochs: measured, or extrapolated when capped."""
        return self.per_epoch * self.planned if self.ran else None


def _accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((np.asarray(p).reshape(-1) >= 0.5).astype(int) == y))


def _bce(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(np.asarray(p, dtype=float).reshape(-1), _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def train_qcompile(task: Problem) -> TrainRun:
    run = TrainRun(QCOMPILE, planned=task.epochs, steps_per_epoch=task.steps_per_epoch)
    trainer = task.trainer
    weights = {"theta": task.weights.copy()}
    first = task.batches(0)[0]
    run.initial = trainer.outputs(weights, task.x_fit[first]).reshape(-1)
    trainer._gradient(weights, task.x_fit[first], task.y_fit[first])  # warm-up, untimed
    state = TrainState(weights)

    def keep(kind, info):  # a copy of 64 numbers per step: nothing next to a step
        if kind == "batch":
            run.step_weights.append(state.weights["theta"].copy())

    run.seconds, result = timed(lambda: trainer.run(state, keep))
    run.epochs_run = len(result.history)
    run.losses = [record["train_loss"] for record in result.history]
    run.accuracy = result.test["accuracy"]
    return run


def train_torch(name: str, model, task: Problem, budget: float) -> TrainRun:
    """Adam on ``model`` (a torch module mapping a batch (B, 8) to ⟨Z0⟩), qcompile's batches,
    until all epochs are done or the next step would pass ``budget`` seconds."""
    import torch

    run = TrainRun(name, planned=task.epochs, steps_per_epoch=task.steps_per_epoch)
    dtype = next(model.parameters()).dtype
    x_fit = torch.tensor(task.x_fit, dtype=dtype)
    y_fit = torch.tensor(task.y_fit, dtype=dtype)
    x_test = torch.tensor(task.x_test, dtype=dtype)

    def probability(x):
        return (1 - model(x).reshape(-1)) / 2

    def loss_of(p, y):
        p = torch.clamp(p, _EPS, 1 - _EPS)
        return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))

    optimizer = torch.optim.Adam(model.parameters(), lr=task.config.lr, betas=(0.9, 0.999),
                                 eps=1e-8)
    first = torch.as_tensor(task.batches(0)[0])
    with torch.no_grad():
        run.initial = probability(x_fit[first]).numpy().astype(float)
    loss_of(probability(x_fit[first[:2]]), y_fit[first[:2]]).backward()  # warm-up, untimed
    optimizer.zero_grad()
    steps, per_epoch, total = 0, task.steps_per_epoch, task.epochs * task.steps_per_epoch
    stopped, start = False, time.perf_counter()
    for epoch in range(task.epochs):
        for rows in task.batches(epoch):
            rows = torch.as_tensor(rows)
            loss = loss_of(probability(x_fit[rows]), y_fit[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
            elapsed = time.perf_counter() - start
            if steps < total and elapsed * (steps + 1) / steps > budget:
                stopped = True
                break
        if steps % per_epoch == 0:  # the epoch is complete
            with torch.no_grad():
                run.losses.append(_bce(probability(x_fit).numpy(), task.y_fit))
        if stopped:
            break
    with torch.no_grad():
        run.accuracy = _accuracy(probability(x_test).numpy(), task.y_test)
    run.seconds = time.perf_counter() - start
    run.epochs_run = steps / per_epoch
    run.step_weights = [next(model.parameters()).detach().numpy().astype(float).reshape(
        task.weights.shape)]
    return run


def pennylane_layer(task: Problem, device: str, diff_method: str):
    import pennylane as qml
    import torch

    dev = qml.device(device, wires=QUBITS)

    @qml.qnode(dev, interface="torch", diff_method=diff_method)
    def classifier(inputs, theta):
        for i in range(QUBITS):
            qml.RY(inputs[..., i], wires=i)
        for layer in range(LAYERS):
            for i in range(QUBITS):
                qml.RY(theta[layer, i, 0], wires=i)
                qml.RZ(theta[layer, i, 1], wires=i)
            for i in range(QUBITS):
                qml.CZ(wires=[i, (i + 1) % QUBITS])
        return qml.expval(qml.PauliZ(0))

    layer = qml.qnn.TorchLayer(classifier, {"theta": (LAYERS, QUBITS, 2)})
    theta = torch.nn.Parameter(torch.tensor(task.weights, dtype=torch.float64))
    layer.qnode_weights["theta"] = theta  # the dict the forward pass reads
    layer.register_parameter("theta", theta)  # what ``parameters()`` (Adam) sees
    return layer


def qiskit_model(task: Problem):
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.primitives import StatevectorEstimator
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    x = ParameterVector("x", QUBITS)
    theta = ParameterVector("theta", LAYERS * QUBITS * 2)  # theta[l, i, k] in C order
    qc = QuantumCircuit(QUBITS)
    for i in range(QUBITS):
        qc.ry(x[i], i)
    for layer in range(LAYERS):
        for i in range(QUBITS):
            qc.ry(theta[(layer * QUBITS + i) * 2], i)
            qc.rz(theta[(layer * QUBITS + i) * 2 + 1], i)
        for i in range(QUBITS):
            qc.cz(i, (i + 1) % QUBITS)
    z0 = SparsePauliOp.from_sparse_list([("Z", [0], 1.0)], num_qubits=QUBITS)
    qnn = EstimatorQNN(circuit=qc, observables=z0, input_params=list(x),
                       weight_params=list(theta), estimator=StatevectorEstimator(),
                       default_precision=0.0)  # exact: 1/64 (its default) adds noise
    return TorchConnector(qnn, initial_weights=task.weights.reshape(-1))


PEERS: dict[str, tuple[tuple[str, ...], Callable]] = {
    DEFAULT_QUBIT: (("torch", "pennylane"),
                    lambda task: pennylane_layer(task, "default.qubit", "backprop")),
    LIGHTNING: (("torch", "pennylane", "pennylane_lightning"),
                lambda task: pennylane_layer(task, "lightning.qubit", "adjoint")),
    QISKIT_ML: (("torch", "qiskit_machine_learning"), qiskit_model),
}


def train_all(quick: bool, progress=None) -> tuple[Problem, list[TrainRun]]:
    task = problem(quick)
    budget = QUICK_PEER_BUDGET if quick else PEER_BUDGET
    runs = []

    def missing_run(name: str, note: str) -> TrainRun:
        return TrainRun(name, planned=task.epochs, steps_per_epoch=task.steps_per_epoch,
                        note=note)

    for name in [QCOMPILE, *PEERS]:
        if progress is not None:
            progress(f"training: {name}")
        try:
            if name == QCOMPILE:
                runs.append(train_qcompile(task))
                continue
            modules, build = PEERS[name]
            missing = [m for m in modules if not installed(m)]
            if missing:
                runs.append(missing_run(name, f"not installed ({', '.join(missing)})"))
                continue
            runs.append(train_torch(name, build(task), task, budget))
        except Exception as err:  # a peer failing is a result to report
            runs.append(missing_run(name, failure_note(err)))
            if name == QCOMPILE:
                runs[-1].note += "\n" + traceback.format_exc()
    return task, runs


# --- the kernel ------------------------------------------------------------------------------

@dataclass
class KernelRun:
    name: str
    #: samples the timed run used
    samples: int = 0
    #: the full size
    target: int = KERNEL_SAMPLES
    seconds: float | None = None
    #: how the time was extrapolated to ``target`` samples ("" when measured on all)
    extrapolation: str = ""
    full_seconds: float | None = None
    #: max |K − K_qcompile| on the samples both computed
    difference: float | None = None
    note: str = ""


def kernel_data(quick: bool = False) -> np.ndarray:
    size = QUICK_KERNEL_SAMPLES if quick else KERNEL_SAMPLES
    x = load_data(KERNEL_RECIPE, seed=SEED).x_train
    return np.resize(x, (size, x.shape[1]))  # cycled if the set were smaller


def _median_time(call, repeats: int) -> tuple[float, object]:
    seconds, value = [], None
    for _ in range(repeats):
        elapsed, value = timed(call)
        seconds.append(elapsed)
    return statistics.median(seconds), value


def _pairs(n: int) -> int:
    return n * (n + 1) // 2


def qcompile_kernel(X: np.ndarray, repeats: int) -> tuple[KernelRun, np.ndarray]:
    circuit = parse_model(FEATURE_MAP).circuits[0]
    kernel_matrix(circuit, X[:4])  # warm-up
    seconds, K = _median_time(lambda: kernel_matrix(circuit, X), repeats)
    return KernelRun(QCOMPILE, len(X), len(X), seconds, "", seconds), K


def _pennylane_feature_map(x):
    import pennylane as qml
    for _ in range(2):
        for i in range(QUBITS):
            qml.Hadamard(wires=i)
        for i in range(QUBITS):
            qml.PhaseShift(2 * x[..., i], wires=i)
        for i in range(QUBITS):
            for j in range(i + 1, QUBITS):
                qml.CNOT(wires=[i, j])
                qml.PhaseShift(2 * (np.pi - x[..., i]) * (np.pi - x[..., j]), wires=j)
                qml.CNOT(wires=[i, j])


def pennylane_state_kernel(X: np.ndarray, repeats: int) -> np.ndarray:
    import pennylane as qml
    dev = qml.device("default.qubit", wires=QUBITS)

    @qml.qnode(dev)
    def states(x):
        _pennylane_feature_map(x)
        return qml.state()

    def gram():
        s = np.asarray(states(X))
        overlaps = s.conj() @ s.T
        return overlaps.real ** 2 + overlaps.imag ** 2

    states(X[:2])  # warm-up
    return _median_time(gram, repeats)


def pennylane_pairwise_kernel(X: np.ndarray):
    import pennylane as qml
    dev = qml.device("default.qubit", wires=QUBITS)

    @qml.qnode(dev)
    def circuit(x1, x2):
        _pennylane_feature_map(x1)
        qml.adjoint(_pennylane_feature_map)(x2)
        return qml.probs(wires=range(QUBITS))

    circuit(X[0], X[1])  # warm-up
    return timed(lambda: np.asarray(qml.kernels.square_kernel_matrix(
        X, lambda a, b: circuit(a, b)[0], assume_normalized_kernel=True)))


def qiskit_kernel(X: np.ndarray):
    from qiskit.circuit.library import zz_feature_map
    from qiskit_machine_learning.kernels import FidelityStatevectorKernel
    kernel = FidelityStatevectorKernel(feature_map=zz_feature_map(QUBITS, reps=2))
    kernel.evaluate(X[:2])  # warm-up
    return timed(lambda: kernel.evaluate(X))


def kernel_all(quick: bool, progress=None) -> list[KernelRun]:
    X = kernel_data(quick)
    n = len(X)
    repeats = 1 if quick else KERNEL_REPEATS
    pairwise = QUICK_PAIRWISE_SAMPLES if quick else PAIRWISE_SAMPLES
    if progress is not None:
        progress("kernel: qcompile")
    ours, K = qcompile_kernel(X, repeats)
    runs = [ours]

    def compare(run: KernelRun, value: np.ndarray):
        m = value.shape[0]
        run.difference = float(np.max(np.abs(value - K[:m, :m])))

    if progress is not None:
        progress("kernel: PennyLane")
    if installed("pennylane"):
        run = KernelRun(PL_STATES, target=n)
        try:
            run.seconds, value = pennylane_state_kernel(X, repeats)
            run.samples, run.full_seconds = n, run.seconds
            compare(run, value)
        except Exception as err:
            run.note = failure_note(err)
        runs.append(run)
        run = KernelRun(PL_PAIRWISE, target=n)
        try:
            run.seconds, value = pennylane_pairwise_kernel(X[:pairwise])
            run.samples = pairwise
            run.full_seconds = run.seconds * _pairs(n) / _pairs(pairwise)
            run.extrapolation = f"extrapolated from {pairwise} samples by the number of pairs"
            compare(run, value)
        except Exception as err:
            run.note = failure_note(err)
        runs.append(run)
    else:
        runs += [KernelRun(PL_STATES, note="not installed"),
                 KernelRun(PL_PAIRWISE, note="not installed")]
    if progress is not None:
        progress("kernel: qiskit-machine-learning")
    run = KernelRun(QISKIT_KERNEL, target=n)
    if not installed("qiskit_machine_learning"):
        run.note = "not installed"
    else:
        try:
            probe = min(n, QISKIT_PROBE)
            seconds, value = qiskit_kernel(X[:probe])
            estimate = seconds * _pairs(n) / _pairs(probe)
            if probe < n and estimate <= KERNEL_BUDGET:
                seconds, value = qiskit_kernel(X)
                probe = n
            run.seconds, run.samples = seconds, probe
            run.full_seconds = seconds * _pairs(n) / _pairs(probe)
            if probe < n:
                run.extrapolation = (f"extrapolated from {probe} samples by the number of "
                                     f"pairs")
            compare(run, np.asarray(value))
        except Exception as err:
            run.note = failure_note(err)
    runs.append(run)
    return runs


# --- the report ------------------------------------------------------------------------------

@dataclass
class Report:
    task: Problem
    training: list[TrainRun]
    kernel: list[KernelRun]
    seconds: float = 0.0
    quick: bool = False

    @property
    def ours(self) -> TrainRun:
        return self.training[0]

    @property
    def disagreements(self) -> list[str]:
        """Kernels off qcompile's by more than :data:`KERNEL_ATOL`, and a qcompile training
        run that failed."""
        found = [f"{run.name}: kernel differs by {run.difference:.1e}" for run in self.kernel
                 if run.difference is not None and run.difference > KERNEL_ATOL]
        if not self.ours.ran:
            found.append(f"qcompile training: {self.ours.note}")
        return found


def run(quick: bool = False, progress=None) -> Report:
    start = time.perf_counter()
    task, training = train_all(quick, progress)
    kernel = kernel_all(quick, progress)
    return Report(task, training, kernel, time.perf_counter() - start, quick)


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def _ratio(value: float | None, reference: float | None) -> str:
    return "—" if value is None or not reference else f"{value / reference:.1f}×"


def _trajectory(run: TrainRun, ours: TrainRun) -> str:
    if run is ours or not run.losses or not ours.losses:
        return "—"
    both = min(len(run.losses), len(ours.losses))
    return f"{max(abs(a - b) for a, b in zip(run.losses[:both], ours.losses[:both])):.1e}"


def weight_difference(run: TrainRun, ours: TrainRun) -> float | None:
    """max |θ_peer − θ_qcompile| after the peer's last step and qcompile's same step."""
    steps = round(run.epochs_run * run.steps_per_epoch) if run.ran else 0
    if run is ours or not run.step_weights or not 0 < steps <= len(ours.step_weights):
        return None
    return float(np.max(np.abs(run.step_weights[-1] - ours.step_weights[steps - 1])))


def _weights(run: TrainRun, ours: TrainRun) -> str:
    found = weight_difference(run, ours)
    return "—" if found is None else f"{found:.1e}"


def _initial(run: TrainRun, ours: TrainRun) -> str:
    if run is ours or run.initial is None or ours.initial is None:
        return "—"
    return f"{float(np.max(np.abs(run.initial - ours.initial))):.1e}"


TRAIN_HEADER = ["framework", "epochs run", "time measured", "time per epoch",
                "time for all epochs", "peer / qcompile", "test accuracy",
                "max |Δ p| at start", "max |Δ train loss| per epoch",
                "max |Δ θ| at the last step"]


def training_lines(report: Report) -> list[list[str]]:
    ours, lines = report.ours, []
    for run in report.training:
        if not run.ran:
            lines.append([run.name, run.note.splitlines()[0] if run.note else "—",
                          *["—"] * (len(TRAIN_HEADER) - 2)])
            continue
        epochs = f"{run.epochs_run:g}" if not run.capped else f"{run.epochs_run:.2f} (capped)"
        full = _s(run.full_seconds) + (" (extrapolated)" if run.capped else "")
        lines.append([run.name, epochs, _s(run.seconds), _s(run.per_epoch), full,
                      "—" if run is ours else _ratio(run.full_seconds, ours.full_seconds),
                      f"{100 * run.accuracy:.1f} %"
                      + (f" (after {run.epochs_run:.2f} epochs)" if run.capped else ""),
                      _initial(run, ours), _trajectory(run, ours), _weights(run, ours)])
    return lines


KERNEL_HEADER = ["kernel", "samples timed", "time measured", "time for all samples",
                 "peer / qcompile", "max |K − K_qcompile|"]


def kernel_lines(report: Report) -> list[list[str]]:
    ours, lines = report.kernel[0], []
    for run in report.kernel:
        if run.seconds is None:
            lines.append([run.name, run.note or "—", *["—"] * (len(KERNEL_HEADER) - 2)])
            continue
        full = _s(run.full_seconds) + (f" ({run.extrapolation})" if run.extrapolation else "")
        lines.append([run.name, str(run.samples), _s(run.seconds), full,
                      "—" if run is ours else _ratio(run.full_seconds, ours.full_seconds),
                      "—" if run is ours else (f"{run.difference:.1e}"
                                               if run.difference is not None else "—")])
    return lines


def targets(report: Report) -> list[str]:
    """Which targets of issue 15 the numbers meet, one line each."""
    ours, found = report.ours, []
    peers = [r for r in report.training[1:] if r.ran]
    if ours.ran and peers:
        fastest = min(peers, key=lambda r: r.full_seconds)
        ratio = fastest.full_seconds / ours.full_seconds
        how = "extrapolated" if fastest.capped else "measured"
        found.append(f"Training speed (qcompile ≥ {SPEED_TARGET:g}× faster than the fastest "
                     f"peer): {'**met**' if ratio >= SPEED_TARGET else '**missed**'}: "
                     f"{ratio:.1f}× against {fastest.name} ({_s(fastest.full_seconds)} "
                     f"{how} against qcompile's {_s(ours.full_seconds)} for "
                     f"{ours.planned} epochs).")
        full = [r for r in peers if not r.capped]
        for run in full:
            points = 100 * abs(ours.accuracy - run.accuracy)
            found.append(f"Accuracy against {run.name} (within {ACCURACY_POINTS:g} point): "
                         f"{'**met**' if points <= ACCURACY_POINTS else '**missed**'}: "
                         f"{100 * ours.accuracy:.1f} % against {100 * run.accuracy:.1f} % "
                         f"({points:.1f} points apart).")
        for run in peers:
            if run.capped:
                found.append(f"Accuracy against {run.name}: not comparable: it ran "
                             f"{run.epochs_run:.2f} of {run.planned} epochs within the "
                             f"budget ({100 * run.accuracy:.1f} % there); its "
                             f"weights after its last step are qcompile's after the same step to "
                             f"{_weights(run, ours)}.")
    elif not ours.ran:
        found.append("Training: qcompile's run failed, no target can be judged.")
    else:
        found.append("Training: no peer ran, no target can be judged.")
    ours_k = report.kernel[0]
    others = [r for r in report.kernel[1:] if r.full_seconds is not None]
    if ours_k.full_seconds and others:
        fastest = min(others, key=lambda r: r.full_seconds)
        ratio = fastest.full_seconds / ours_k.full_seconds
        found.append(f"Kernel speed (≥ {KERNEL_TARGET:g}× the fastest peer, {ours_k.target} "
                     f"samples): {'**met**' if ratio >= KERNEL_TARGET else '**missed**'}: "
                     f"{ratio:.1f}× against {fastest.name} ({_s(fastest.full_seconds)}"
                     f"{' extrapolated' if fastest.extrapolation else ''} against "
                     f"{_s(ours_k.full_seconds)}).")
        worst = max((r.difference for r in others if r.difference is not None), default=None)
        if worst is not None:
            found.append(f"Kernel agreement (max |ΔK| < {KERNEL_ATOL:g}): "
                         f"{'**met**' if worst < KERNEL_ATOL else '**missed**'}: the largest "
                         f"difference from qcompile's Gram matrix is {worst:.1e}.")
    return found


def tables(report: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    task = report.task
    return [
        (f"Training: {task.trainer.data.recipe}, {len(task.x_fit)} training / "
         f"{len(task.x_test)} test samples, {task.epochs} epochs of {task.steps_per_epoch} "
         f"steps (batch {task.batch}), Adam lr {task.config.lr}", TRAIN_HEADER,
         training_lines(report)),
        (f"Kernel: ZZ feature map, {QUBITS} qubits, reps 2, Gram matrix of "
         f"{report.kernel[0].target} samples", KERNEL_HEADER, kernel_lines(report)),
    ]


def as_rich(report: Report) -> list[Table]:
    return [rich_table(title, header, lines) for title, header, lines in tables(report)]


def as_markdown(report: Report) -> str:
    parts = [f"**{title}**\n\n{markdown_table(header, lines)}"
             for title, header, lines in tables(report)]
    return "\n\n".join(parts + ["**Targets**\n\n" + "\n".join(
        f"- {line}" for line in targets(report))])


ABOUT = f"""## Training benchmark

`python -m benchmarks --only train` (`benchmarks/training.py`) trains one {QUBITS}-qubit,
{LAYERS}-layer variational classifier (`ry(x_i)` encoding; per layer `ry`, `rz` on every
qubit and `cz` on a ring; readout p = (1 − ⟨Z0⟩)/2, binary cross-entropy) on `{RECIPE}` with
qcompile's `Trainer` and, in the same process, with PennyLane `default.qubit` (backprop) and
`lightning.qubit` (adjoint) through `qml.qnn.TorchLayer`, and qiskit-machine-learning's
`EstimatorQNN` (reference `StatevectorEstimator`, default parameter-shift gradient) through
`TorchConnector`: the same initial weights, the same mini-batches in the same order, Adam
with the same learning rate. A run's time covers every step, the training-set loss after
each epoch and the final test evaluation, after one untimed forward and backward pass. A
peer stops before a step that would take it past {PEER_BUDGET:.0f} s; its 30-epoch time is
then its time per epoch × 30 (labelled extrapolated) and its accuracy the one where it
stopped. "max |Δ p| at start" compares the outputs on the first batch at the initial
weights, "max |Δ train loss|" the per-epoch training losses with qcompile's and "max |Δ θ|"
the weights after the peer's last step with qcompile's after the same step: the runs follow
one trajectory up to rounding (qiskit-machine-learning's connector computes in float32).

The kernel part times the Gram matrix of the {QUBITS}-qubit ZZ feature map (reps 2, full
entanglement, Qiskit's `zz_feature_map` gate for gate) on {KERNEL_SAMPLES} samples of
`{KERNEL_RECIPE}`: qcompile's `kernel_matrix` (symmetric path) and a PennyLane qnode
returning `qml.state()` for the batch then one matrix product (median of {KERNEL_REPEATS}
runs each), `qml.kernels.square_kernel_matrix` (one circuit per pair, timed on
{PAIRWISE_SAMPLES} samples and extrapolated by the number of pairs) and
qiskit-machine-learning's `FidelityStatevectorKernel.evaluate` (one run). Every matrix is
compared with qcompile's on the samples both computed. `--quick` runs {QUICK_EPOCHS} epochs
on 64 samples and a {QUICK_KERNEL_SAMPLES}-sample kernel and leaves this file alone."""


def document_section(report: Report) -> str:
    return ABOUT + "\n\n" + generated_section(
        f"one run of each training, in one process; the whole benchmark took "
        f"{report.seconds:.0f} s.", as_markdown(report), PACKAGES)
