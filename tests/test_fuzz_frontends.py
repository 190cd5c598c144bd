"""Mangled and generated sources never crash a frontend: every outcome is a program or a
QCompileError, within 10 s and 2 GiB (:func:`fuzz_sources.bounded`).

Real sources (every zoo model, textual IR, QASMBench and the OpenQASM 3 examples) are mutated
by deleting text, inserting tokens and numbers, and duplicating lines; grammar-based
OpenQASM 2/3 programs and ``.qm`` models with hostile numbers come from
:func:`fuzz_sources.sources`.
"""

from __future__ import annotations

import random

import pytest
from conftest import CORPUS
from fuzz_sources import bounded, sources
from hypothesis import HealthCheck, given, settings

from qcompile.frontend.source import parse_source
from qcompile.ir import QCompileError, print_program
from qcompile.models import list_models, load_model, model_source

TOKENS = ["(", ")", "[", "]", "{", "}", ",", ";", "q[7]", "x[9]", "-", "**", "pi", "if", "for",
          "0..", "measure", "->", "=", "%", "1e999", "nan", "\n", " ", "ctrl @", "inv @",
          "c[0]", "qubit[0] q;", "weight", "input", "frozen", "gate", "return"]


def _sources() -> list[str]:
    texts = [model_source(name) for name in list_models()]
    texts += [print_program(load_model(name)) for name in ("zz-vqc", "qksan", "qrnn-cell")]
    qasm = sorted(CORPUS.glob("qasmbench/*/*.qasm"))[:15]
    qasm += sorted(CORPUS.glob("openqasm3-examples/*.qasm"))
    return texts + [path.read_text() for path in qasm]


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(text) + 1)
        kind = rng.randrange(4)
        if kind == 0:
            text = text[:position] + text[position + rng.randint(1, 8):]
        elif kind == 1:
            text = text[:position] + rng.choice(TOKENS) + text[position:]
        elif kind == 2:
            lines = text.splitlines(keepends=True) or [""]
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(lines))
            text = "".join(lines)
        else:
            text = text[:position] + str(rng.randint(-3, 99)) + text[position:]
    return text


@pytest.mark.parametrize("seed", range(4))
def test_mutated_sources_fail_only_with_user_errors(seed):
    rng = random.Random(seed)
    texts = _sources()
    for _ in range(150):
        _parse(_mutate(rng.choice(texts), rng))


def _parse(text: str) -> None:
    with bounded():
        try:
            parse_source(text, "fuzzed")
        except QCompileError as err:
            assert str(err).strip(), "an error must say what is wrong"


_FUZZ = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


@settings(_FUZZ, max_examples=150, derandomize=True)
@given(text=sources())
def test_generated_sources_fail_only_with_user_errors(text):
    _parse(text)


@pytest.mark.slow
@settings(_FUZZ, max_examples=3000)
@given(text=sources())
def test_many_generated_sources_fail_only_with_user_errors(text):
    _parse(text)
