"""Issue 20: results that are NaN or infinite are never silent — the table prints them, JSON
(which has no NaN) writes null and lists them, and a warning names the output."""

from __future__ import annotations

import json

from qcompile.cli import main

MODEL = """model nanny
input x
circuit c(x) qubits 1 {
  ry(x) q[0]
}
z = expval(c(x), Z0)
y = log(scale(z, factor=-1))
w = scale(z, factor=2)
return y, w
"""


def _files(tmp_path):
    model, inputs = tmp_path / "nan.qm", tmp_path / "x.csv"
    model.write_text(MODEL)
    inputs.write_text("0.1\n2.0\n")  # <Z> = cos x: positive, then negative
    return str(model), str(inputs)


def test_nonfinite_results_are_printed_reported_and_flagged(tmp_path, capsys):
    model, inputs = _files(tmp_path)
    assert main(["run", model, "--inputs", inputs]) == 0
    out, err = capsys.readouterr()
    assert "[nan]" in out and "[-0.876717]" in out
    assert "warning: output 'y' has 1 value(s) that are NaN or infinite" in err
    assert "'w'" not in err and "RuntimeWarning" not in err
    assert main(["run", model, "--inputs", inputs, "--json"]) == 0
    out, _ = capsys.readouterr()
    document = json.loads(out)  # strict JSON: no NaN token
    assert document["y"][0] == [None] and document["nonfinite"] == {"y": 1}
    assert "NaN" not in out
