"""Mangled sources never crash a frontend: every outcome is a program or a QCompileError.

Real sources (every zoo model, textual IR, QASMBench and the OpenQASM 3 examples) are mutated
by deleting text, inserting tokens and numbers, and duplicating lines.
"""

from __future__ import annotations

import random

import pytest
from conftest import CORPUS

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
    sources = _sources()
    for _ in range(150):
        text = _mutate(rng.choice(sources), rng)
        try:
            parse_source(text, "mutated")
        except QCompileError as err:
            assert str(err).strip(), "an error must say what is wrong"
