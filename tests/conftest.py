"""Shared fixtures; helpers for tests live in random_circuits.py and reference.py."""

import sys
from pathlib import Path

import numpy as np
import pytest

from qcompile.backends.statevector import gate_list

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks package

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def planned_path(monkeypatch):
    """Turn the simulator's lean path off: every call runs planned."""
    monkeypatch.setattr(gate_list, "MAX_QUBITS", -1)


@pytest.fixture(params=["lean", "planned"])
def simulator_path(request):
    """Run a simulator test on the lean path (where it applies) and again on the planned."""
    if request.param == "planned":
        request.getfixturevalue("planned_path")
    return request.param
