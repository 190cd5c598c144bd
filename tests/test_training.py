"""Issue 15, training: data recipes against scikit-learn's own transforms, losses against
finite differences, every optimizer lowering the loss, seeded reproducibility, bit-for-bit
resume, every trainable zoo model training, and the CLI's errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from qcompile.ir import QCompileError
from qcompile.ir.verify import value_shapes
from qcompile.models import list_models, load_model
from qcompile.training import (OPTIMIZERS, Dataset, TrainConfig, Trainer, choose_objective,
                               load_checkpoint, load_data, output_range, save_checkpoint,
                               train)
from qcompile.training.objectives import Objective


@pytest.fixture(scope="module")
def moons() -> Dataset:
    return load_data("moons:n120:scale-pi", seed=3)


# --- data recipes --------------------------------------------------------------------------

def test_recipe_matches_scikit_learn_fitted_on_the_training_part():
    data = load_data("digits:3,5:pca8:scale-pi", seed=4)
    digits = load_digits()
    keep = np.isin(digits.target, [3, 5])
    x, y = digits.data[keep], (digits.target[keep] == 5).astype(int)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=4,
                                                        stratify=y)
    pca = PCA(8, random_state=0).fit(x_train)
    scaler = MinMaxScaler((0, np.pi)).fit(pca.transform(x_train))
    np.testing.assert_allclose(data.x_train, scaler.transform(pca.transform(x_train)))
    np.testing.assert_allclose(data.x_test, scaler.transform(pca.transform(x_test)))
    assert (data.y_train == y_train).all() and (data.y_test == y_test).all()
    assert data.classes == ("3", "5") and data.features == 8


def test_user_files_and_their_errors(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,c,label\n" + "\n".join(",".join(map(str, [*r, t]))
                                                for r, t in zip(x, y)))
    data = load_data(f"{csv}:standard", seed=1)
    assert data.features == 3 and data.classes == ("0", "1")
    assert len(data.x_train) + len(data.x_test) == 40
    npz = tmp_path / "d.npz"
    np.savez(npz, x=x, y=x[:, 1] * 2.5)  # continuous targets: regression
    assert load_data(str(npz)).classes is None
    bad = tmp_path / "nan.csv"
    bad.write_text("1,2,0\nnan,3,1\n4,5,0\n")
    cases = [(str(bad), "NaN or infinity"), ("nosuchset", "unknown dataset 'nosuchset'"),
             ("digits:pcaX", "unknown step 'pcaX'"), ("iris:setosa,tulip", "no class 'tulip'"),
             ("digits:pca99", "pca99 needs 1 to"), (str(tmp_path / "none.csv"), "none.csv"),
             ("moons:n99999999999", "take 1 to 1000000"), ("iris:0", "keeps one class"),
             ("iris:setosa,setosa", "keeps one class"),
             (f"{csv}:n1", "cannot draw 1 samples")]
    for recipe, message in cases:
        with pytest.raises(QCompileError, match=message):
            load_data(recipe)


# --- objectives ----------------------------------------------------------------------------

@pytest.mark.parametrize("model, classes, loss", [
    ("zz-vqc", 2, "cross-entropy"), ("qcnn", 2, "mse"), ("farhi-neven", 2, "mse"),
    ("hqnn-parallel", 2, "cross-entropy"), ("dressed-circuit", 2, "softmax-cross-entropy"),
    ("qrnn-cell", 2, "logistic"), ("qvf", 8, "cross-entropy"), ("daruan", None, "mse")])
def test_auto_loss_follows_the_output_range(model, classes, loss):
    program = load_model(model)
    assert choose_objective(program, program.outputs[0], classes).loss == loss


def test_output_ranges():
    assert output_range(load_model("zz-vqc"), "p") == (0.0, 1.0)
    assert output_range(load_model("zz-vqc"), "parity") == (-1.0, 1.0)
    assert output_range(load_model("qrnn-cell"), "y") == (-np.inf, np.inf)


@pytest.mark.parametrize("loss, classes, width", [
    ("cross-entropy", 2, 1), ("cross-entropy", 3, 3), ("softmax-cross-entropy", 3, 3),
    ("logistic", 2, 1), ("mse", 2, 1), ("hinge", 2, 1), ("mse", None, 2)])
def test_loss_gradients_match_finite_differences(loss, classes, width):
    rng = np.random.default_rng(6)
    out = rng.uniform(0.1, 0.9, (5, width))
    if loss == "cross-entropy" and width > 1:
        out /= out.sum(axis=1, keepdims=True)
    y = rng.integers(0, classes, 5) if classes else rng.normal(size=(5, width))
    objective = Objective(loss, classes)
    _, grad = objective.value_and_grad(out, y)
    numeric = np.zeros_like(out)
    for index in np.ndindex(out.shape):
        step = np.zeros_like(out)
        step[index] = 1e-6
        numeric[index] = (objective.value_and_grad(out + step, y)[0]
                          - objective.value_and_grad(out - step, y)[0]) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


# --- the loop ------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_lowers_the_loss(moons, optimizer):
    program = load_model("zz-vqc")
    config = TrainConfig(epochs=4, batch=16, lr=0.2 if optimizer == "spsa" else 0.1,
                         optimizer=optimizer, seed=2, evaluations=40)
    trainer = Trainer(program, moons, config)
    start = trainer.evaluate(trainer.initial_state().weights, "fit")["loss"]
    result = trainer.run()
    assert result.history[-1]["train_loss"] < start - 0.02, optimizer


def test_seeded_runs_repeat():
    program = load_model("dressed-circuit")
    data = load_data("digits:3,5:pca8:standard:n120", seed=1)
    first = train(program, data, TrainConfig(epochs=3, seed=9))
    again = train(program, data, TrainConfig(epochs=3, seed=9))
    other = train(program, data, TrainConfig(epochs=3, seed=10))
    for name in first.weights:
        assert np.array_equal(first.weights[name], again.weights[name])
    assert any(not np.array_equal(first.weights[n], other.weights[n]) for n in first.weights)
    assert first.test["accuracy"] > 0.75


FROZEN = """model frozen_layer
input x[2]
weight theta[2]
weight r[2] frozen
circuit c(x, theta, r) qubits 2 {
  ry(x[0]) q[0]
  ry(x[1]) q[1]
  ry(r[0]) q[0]
  cx q[0], q[1]
  ry(theta[0]) q[0]
  ry(theta[1] + r[1]) q[1]
}
parity = expval(c(x, theta, r), Z0 Z1)
p = scale(parity, factor=0.5, offset=0.5)
return p
"""


@pytest.mark.parametrize("optimizer", ["adam", "spsa"])
def test_frozen_weights_are_not_trained(moons, optimizer):
    from qcompile.frontend.qm import parse_model

    program = parse_model(FROZEN)
    trainer = Trainer(program, moons, TrainConfig(epochs=2, optimizer=optimizer, seed=5))
    start = trainer.initial_state().weights
    result = trainer.run()
    assert np.array_equal(result.weights["r"], start["r"])
    assert not np.array_equal(result.weights["theta"], start["theta"])


def test_resume_after_an_interruption_equals_the_uninterrupted_run(moons, tmp_path):
    program = load_model("zz-vqc")
    config = TrainConfig(epochs=3, batch=16, lr=0.1, seed=4, validation=0.2)
    whole = Trainer(program, moons, config).run()
    trainer = Trainer(program, moons, config)
    state = trainer.initial_state()

    def interrupt(kind, info):
        if kind == "batch" and info["epoch"] == 1 and info["batch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer.run(state, interrupt)
    save_checkpoint(tmp_path, state, config, moons.recipe)
    state, loaded, recipe = load_checkpoint(tmp_path)
    assert (loaded, recipe, state.epoch, state.batch) == (config, moons.recipe, 1, 3)
    resumed = Trainer(program, moons, loaded).run(state)
    for name in whole.weights:
        assert np.array_equal(whole.weights[name], resumed.weights[name])
    assert whole.history == resumed.history


def test_early_stopping_keeps_the_best_validation_weights(moons):
    program = load_model("zz-vqc")
    result = train(program, moons, TrainConfig(epochs=30, lr=0.8, seed=1, validation=0.3,
                                               patience=2))
    losses = [h["val_loss"] for h in result.history]
    assert result.stopped_early and len(losses) < 30
    best = int(np.argmin(losses))
    assert len(losses) - 1 - best == 2


def _synthetic(program, classes: int, rng) -> Dataset:
    features = sum(int(np.prod(d.shape)) if d.shape else 1 for d in program.inputs)
    x = rng.uniform(0, np.pi, (48, features))
    y = (np.argsort(np.argsort(x[:, 0])) * classes // len(x)).astype(int)
    cut = 36
    return Dataset("synthetic", x[:cut], y[:cut], x[cut:], y[cut:],
                   tuple(str(k) for k in range(classes)))


@pytest.mark.parametrize("name", list_models())
def test_every_trainable_zoo_model_trains(name):
    program = load_model(name)
    if not any(w.trainable for w in program.weights):
        with pytest.raises(QCompileError, match="no trainable weights"):
            Trainer(program, _synthetic(program, 2, np.random.default_rng(0)))
        return
    output = program.outputs[-1]
    width = int(np.prod(value_shapes(program, bodies=False)[output]) or 1)
    data = _synthetic(program, 2 if width == 1 else width, np.random.default_rng(7))
    result = train(program, data, TrainConfig(epochs=2, batch=12, output=output, seed=3))
    assert np.isfinite(result.history[-1]["train_loss"])
    assert result.history[-1]["train_loss"] <= result.history[0]["train_loss"] + 1e-9


def test_bad_configurations_and_data():
    program = load_model("zz-vqc")
    data = load_data("moons:n40", seed=0)
    wrong = Dataset("w", np.zeros((4, 3)), np.zeros(4, int), np.zeros((2, 3)),
                    np.zeros(2, int), ("0", "1"))
    outside = Dataset("o", np.zeros((4, 2)), np.array([0, 1, 2, 1]), np.zeros((2, 2)),
                      np.zeros(2, int), ("0", "1"))
    cases = [(lambda: Trainer(program, wrong), "the data has 3 features per sample; the "
                                               r"model's inputs \(x\[2\]\) take 2"),
             (lambda: Trainer(program, outside), "labels lie outside the classes 0..1"),
             (lambda: TrainConfig(optimizer="lbfgs"), "unknown optimizer 'lbfgs'"),
             (lambda: TrainConfig(patience=3), "needs a validation fraction"),
             (lambda: Trainer(program, data, TrainConfig(loss="hinge", output="nope")),
              "no output 'nope'"),
             (lambda: Trainer(load_model("qvf"), load_data("moons")), "8 values per sample")]
    for make, message in cases:
        with pytest.raises(QCompileError, match=message):
            make()


# --- command line --------------------------------------------------------------------------

def _cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcompile.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=cwd)


def test_cli_train_writes_a_run_and_evaluate_reads_it(tmp_path):
    out = tmp_path / "run"
    done = _cli("train", "zoo:zz-vqc", "--data", "moons:n80:scale-pi", "--epochs", "3",
                "--batch", "16", "--lr", "0.1", "--out", out, "--seed", "2")
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} >= {"weights.npz", "metrics.json", "config.json",
                                              "curves.png", "checkpoint.npz"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == 3 and metrics["loss"] == "cross-entropy"
    done = _cli("evaluate", "zoo:zz-vqc", "--weights", out / "weights.npz", "--data",
                "moons:n80:scale-pi", "--seed", "2", "--json", "--attack", "pgd:0.2")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["test"]["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert found["test under pgd:0.2"]["loss"] > found["test"]["loss"]
    done = _cli("train", "zoo:zz-vqc", "--resume", out)  # finished: nothing left to do
    assert done.returncode == 0, done.stderr
    done = _cli("train", "zoo:qcnn", "--resume", out)
    assert done.returncode == 2 and "another model" in done.stderr


@pytest.mark.parametrize("args, message", [
    (["--data", "moons", "--epochs", "0"], "must be a positive integer"),
    (["--data", "digits"], "the data has 64 features per sample"),
    (["--data", "moons:nope"], "unknown step 'nope'"),
    ([], "--data RECIPE"),
    (["--data", "moons", "--lr", "-1"], "expected a positive number"),
    (["--resume", "/nonexistent/run"], "no readable checkpoint"),
    (["--data", "moons", "--adversarial", "pgd"], "fgsm:EPS or pgd:EPS")])
def test_cli_train_errors(tmp_path, args, message):
    done = _cli("train", "zoo:zz-vqc", *args, "--out", tmp_path / "r")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


# --- adversarial ---------------------------------------------------------------------------

def test_input_gradient_matches_finite_differences(moons):
    from qcompile.training import input_gradient

    program = load_model("zz-vqc")
    trainer = Trainer(program, moons)
    weights = trainer.initial_state().weights
    x, y = moons.x_train[:6], moons.y_train[:6]
    _, grad = input_gradient(program, "p", trainer.objective, weights, x, y)
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = 1e-6
        numeric[index] = (trainer.loss(weights, x + step, y)
                          - trainer.loss(weights, x - step, y)) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-7)


def test_attacks_raise_the_loss_within_the_box_and_adversarial_training_resists():
    from qcompile.training import attack

    program = load_model("dressed-circuit")
    data = load_data("digits:3,5:pca8:standard", seed=0)
    plain = Trainer(program, data, TrainConfig(epochs=6, seed=1))
    weights = plain.run().weights
    x, y = data.x_test, data.y_test
    clean = plain.loss(weights, x, y)
    for kind in ("fgsm", "pgd"):
        moved = attack(kind, program, "y", plain.objective, weights, x, y, 0.3)
        assert np.abs(moved - x).max() <= 0.3 + 1e-12
        assert plain.loss(weights, moved, y) > clean + 0.1
    robust = Trainer(program, data, TrainConfig(epochs=6, seed=1, adversarial="fgsm:0.3"))
    tuned = robust.run().weights
    for name in ("fgsm:0.3", "pgd:0.3"):
        assert (robust.evaluate(tuned, "test", name)["accuracy"]
                > plain.evaluate(weights, "test", name)["accuracy"] + 0.03)
    with pytest.raises(QCompileError, match="needs a gradient optimizer"):
        TrainConfig(optimizer="spsa", adversarial="fgsm:0.1")
    with pytest.raises(QCompileError, match="fgsm:EPS or pgd:EPS"):
        TrainConfig(adversarial="fgsm:-1")


def test_oversized_csv_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    from qcompile.training import data as recipes

    monkeypatch.setattr(recipes, "MAX_CSV_BYTES", 100)
    big = tmp_path / "big.csv"
    big.write_text("0.5,0.25,1\n" * 20)
    with pytest.raises(QCompileError, match="big.csv"):
        load_data(str(big))
