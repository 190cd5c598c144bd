"""Train the zoo's EfficientSU2 classifier gradient-free with COBYLA, as in "Local optimizers
for VQCs" (2021), on two synthetic 5-feature Gaussian blobs (stand-ins for 5 PCA components).

    .venv/bin/python examples/efficientsu2_cobyla.py
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from qcompile.backends.runner import init_weights, run_program
from qcompile.models import load_model


def blobs(rng, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes with means -0.6 and +0.6 per feature; labels are -1 and +1."""
    labels = rng.choice([-1.0, 1.0], count)
    return labels[:, None] * 0.6 + rng.normal(0.0, 0.5, (count, 5)), labels


def main() -> None:
    rng = np.random.default_rng(7)
    program = load_model("efficientsu2-vqc")
    shape = program.weights[0].shape
    x_train, y_train = blobs(rng, 40)
    x_test, y_test = blobs(rng, 200)

    def scores(flat, x):
        return run_program(program, {"x": x}, {"theta": flat.reshape(shape)})["score"][:, 0]

    def loss(flat):  # squared error between <Z0> and the +-1 label
        return float(np.mean((scores(flat, x_train) - y_train) ** 2))

    start = init_weights(program, seed=0)["theta"].ravel()
    result = minimize(loss, start, method="COBYLA", options={"maxiter": 300})
    for name, flat in (("initial", start), ("trained", result.x)):
        accuracy = np.mean(np.sign(scores(flat, x_test)) == y_test)
        print(f"{name}: loss {loss(flat):.3f}, test accuracy {accuracy:.2%}")


if __name__ == "__main__":
    main()
