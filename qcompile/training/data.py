"""Data recipes: a dataset and its preprocessing named in one string, never a download;
and how a sample's features fill a model's inputs.

``digits:3,5:pca8:scale-pi`` is scikit-learn's bundled digits, classes 3 and 5 only (labels
0, 1 in that order), 8 principal components, each feature scaled to [0, π]. The first part
names a bundled set (:data:`DATASETS`) or a file: ``.csv`` (one sample per row, the label in
the last column, a header line allowed) or ``.npz`` (arrays ``x`` and ``y``). The steps, in
order:

- ``A,B,...``: keep those classes, relabelled 0, 1, ... in the order given;
- ``nN``: N samples (a seeded, stratified subset; for ``moons``/``circles`` the number drawn);
- ``pcaK``: K principal components; ``standard``: zero mean, unit variance; ``minmax``:
  [0, 1]; ``scale-pi``: [0, π]; ``scale-2pi``: [-π, π].

The data is split into training and test parts first (seeded, stratified for classes), and
every scaling or projection is fitted on the training part only, so the test part tells how
the model does on data it never saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frontend.limits import read_file
from ..ir import Program, QCompileError

DATASETS = ("digits", "breast_cancer", "iris", "wine", "moons", "circles")
#: The largest data file read (bytes): .npz as stored; CSV smaller, since it becomes
#: Python numbers first (about 30 bytes of memory per character).
MAX_DATA_BYTES = 256 * 2 ** 20
MAX_CSV_BYTES = 16 * 2 ** 20
#: The most samples ``nN`` may ask for (moons and circles are generated that large).
MAX_SAMPLES = 1_000_000
_SCALINGS = ("standard", "minmax", "scale-pi", "scale-2pi")


@dataclass(frozen=True)
class Dataset:
    """Training and test parts; ``classes`` names the labels 0.. of a classification task
    (None: regression, float targets)."""

    recipe: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...] | None

    @property
    def features(self) -> int:
        return self.x_train.shape[1]


def load_data(recipe: str, *, seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """The dataset a recipe describes, split into training and test parts."""
    source, *steps = recipe.split(":")
    count = next((int(s[1:]) for s in steps if re.fullmatch(r"n[0-9]+", s)), None)
    if count is not None and not 1 <= count <= MAX_SAMPLES:
        raise QCompileError(f"data recipe {recipe!r}: n{count} asks for {count} samples; take "
                            f"1 to {MAX_SAMPLES}")
    x, y, classes = _source(source, count, seed)
    for step in steps:
        if "," in step or step.isdigit():
            x, y, classes = _keep_classes(x, y, classes, step, recipe)
        elif not (re.fullmatch(r"n[0-9]+", step) or re.fullmatch(r"pca[0-9]+", step)
                  or step in _SCALINGS):
            raise QCompileError(f"data recipe {recipe!r}: unknown step {step!r}; steps are "
                                f"classes (3,5), nN, pcaK, {', '.join(_SCALINGS)}")
    if count is not None and source not in ("moons", "circles"):
        x, y = _subset(x, y, count, seed, classes is not None, recipe)
    if not 0.0 < test_fraction < 1.0:
        raise QCompileError(f"the test fraction must lie strictly between 0 and 1, got "
                            f"{test_fraction}")
    x_train, x_test, y_train, y_test = _split(x, y, test_fraction, seed, classes is not None,
                                              recipe)
    for step in steps:
        if step.startswith("pca") or step in _SCALINGS:
            x_train, x_test = _transform(step, x_train, x_test, recipe)
    return Dataset(recipe, x_train, y_train, x_test, y_test, classes)


def _is_file(part: str) -> bool:
    return Path(part).suffix.lower() in (".csv", ".npz")


def _source(name: str, count: int | None, seed: int):
    from sklearn import datasets

    if name in ("moons", "circles"):
        n = count or 200
        if name == "moons":
            x, y = datasets.make_moons(n, noise=0.1, random_state=seed)
        else:
            x, y = datasets.make_circles(n, noise=0.05, factor=0.5, random_state=seed)
        return x.astype(float), y.astype(int), ("0", "1")
    if name in DATASETS:
        bunch = getattr(datasets, f"load_{name}")()
        names = tuple(str(t) for t in getattr(bunch, "target_names", np.unique(bunch.target)))
        return bunch.data.astype(float), bunch.target.astype(int), names
    if _is_file(name):
        return _read_file(Path(name))
    raise QCompileError(f"unknown dataset {name!r}: name one of {', '.join(DATASETS)} or a "
                        f".csv / .npz file")


def _read_file(path: Path):
    data = read_file(path, MAX_DATA_BYTES if path.suffix.lower() == ".npz" else MAX_CSV_BYTES,
                     "data file")
    try:
        if path.suffix.lower() == ".npz":
            import io
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                if not {"x", "y"} <= set(arrays.files):
                    raise QCompileError(f"{path}: an .npz data file holds arrays 'x' and "
                                        f"'y'; it has {', '.join(arrays.files) or 'none'}")
                x, y = arrays["x"], arrays["y"]
        else:
            lines = data.decode("utf-8").splitlines()
            rows = [line for line in lines if line.strip()]
            try:
                float(rows[0].split(",")[0])
            except (ValueError, IndexError):
                rows = rows[1:]  # a header
            table = np.array([[float(v) for v in row.split(",")] for row in rows])
            if table.ndim != 2 or table.shape[1] < 2:
                raise ValueError("every row needs features and a label")
            x, y = table[:, :-1], table[:, -1]
    except QCompileError:
        raise
    except (ValueError, UnicodeDecodeError, OSError) as err:
        raise QCompileError(f"{path}: cannot read the data: {err}") from None
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise QCompileError(f"{path}: the data needs as many labels as samples and at least "
                            f"one sample of features (got x {x.shape}, y {np.shape(y)})")
    if not (np.isfinite(x).all() and np.isfinite(np.asarray(y, dtype=float)).all()):
        raise QCompileError(f"{path}: the data holds NaN or infinity")
    y = np.asarray(y, dtype=float)
    if np.all(y == np.round(y)) and len(np.unique(y)) <= 20:
        labels = np.unique(y)
        return x, np.searchsorted(labels, y).astype(int), tuple(
            str(int(v)) for v in labels)
    return x, y, None


def _keep_classes(x, y, classes, step: str, recipe: str):
    if classes is None:
        raise QCompileError(f"data recipe {recipe!r}: {step!r} keeps classes, but the "
                            f"targets are continuous (regression)")
    wanted = [part.strip() for part in step.split(",")]
    index = []
    for label in wanted:
        matches = [k for k, name in enumerate(classes) if name == label] or (
            [int(label)] if label.isdigit() and int(label) < len(classes) else [])
        if not matches:
            raise QCompileError(f"data recipe {recipe!r}: no class {label!r}; the classes "
                                f"are {', '.join(classes)}")
        index.append(matches[0])
    if len(set(index)) < 2:
        raise QCompileError(f"data recipe {recipe!r}: {step!r} keeps one class; a "
                            f"classification task needs at least 2")
    keep = np.isin(y, index)
    relabel = {old: new for new, old in enumerate(index)}
    return (x[keep], np.array([relabel[v] for v in y[keep]], dtype=int),
            tuple(classes[k] for k in index))


def _subset(x, y, count: int, seed: int, stratify: bool, recipe: str):
    if count >= len(x):
        return x, y
    from sklearn.model_selection import train_test_split

    try:
        x, _, y, _ = train_test_split(x, y, train_size=count, random_state=seed,
                                      stratify=y if stratify else None)
    except ValueError as err:
        raise QCompileError(f"data recipe {recipe!r}: cannot draw {count} samples: "
                            f"{err}") from None
    return x, y


def _split(x, y, fraction: float, seed: int, stratify: bool, recipe: str):
    from sklearn.model_selection import train_test_split

    if len(x) < 2:
        raise QCompileError(f"data recipe {recipe!r}: {len(x)} sample(s) cannot be split "
                            f"into training and test parts")
    try:
        return train_test_split(x, y, test_size=fraction, random_state=seed,
                                stratify=y if stratify else None)
    except ValueError as err:  # a class with one sample, or a part left empty
        raise QCompileError(f"data recipe {recipe!r}: cannot split {len(x)} samples into "
                            f"training and test parts: {err}") from None


def _transform(step: str, train: np.ndarray, test: np.ndarray, recipe: str):
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if step.startswith("pca"):
        k = int(step[3:])
        if not 1 <= k <= min(train.shape):
            raise QCompileError(f"data recipe {recipe!r}: {step} needs 1 to "
                                f"{min(train.shape)} components here")
        model = PCA(k, random_state=0)
    elif step == "standard":
        model = StandardScaler()
    else:
        model = MinMaxScaler({"minmax": (0.0, 1.0), "scale-pi": (0.0, np.pi),
                              "scale-2pi": (-np.pi, np.pi)}[step])
    return model.fit_transform(train), model.transform(test)


def features_to_inputs(program: Program, x: np.ndarray) -> dict[str, np.ndarray]:
    """Columns of ``x`` (samples × features) as the program's inputs, in declaration
    order, each reshaped to its declared shape."""
    sizes = [int(np.prod(d.shape)) if d.shape else 1 for d in program.inputs]
    if x.ndim != 2 or x.shape[1] != sum(sizes):
        wanted = ", ".join(f"{d.name}{list(d.shape)}" for d in program.inputs) or "none"
        raise QCompileError(f"the data has {x.shape[1] if x.ndim == 2 else '?'} features per "
                            f"sample; the model's inputs ({wanted}) take {sum(sizes)}")
    bounds = np.cumsum([0] + sizes)
    return {d.name: x[:, lo:hi].reshape((len(x),) + tuple(d.shape))
            for d, lo, hi in zip(program.inputs, bounds[:-1], bounds[1:])}
