"""Parameter expressions: evaluation over batches, folding, exact derivatives."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcompile.ir.expr import (PI, Binary, Const, Symbol, Unary, diff, evaluate, fold,
                              format_expr, symbols)

X = Symbol("x", (0,))
Y = Symbol("x", (1,))
W = Symbol("w", (1, 0))

# Functions restricted to where they are smooth on the sampled domain.
SAFE_UNARY = ["sin", "cos", "exp", "arctan", "neg"]

leaves = st.sampled_from([X, Y, W]) | st.floats(-2, 2).map(Const)


def _extend(children):
    return (st.tuples(st.sampled_from(SAFE_UNARY), children).map(lambda t: Unary(*t))
            | st.tuples(st.sampled_from(["+", "-", "*"]), children, children)
            .map(lambda t: Binary(*t)))


expressions = st.recursive(leaves, _extend, max_leaves=12)


def _env(rng, batch=5):
    return {"x": rng.uniform(-1, 1, (batch, 2)), "w": rng.uniform(-1, 1, (2, 2))}


def test_symbol_indexes_trailing_axes_so_batched_and_shared_values_mix():
    env = {"x": np.array([[1.0, 2.0], [3.0, 4.0]]), "w": np.array([[0.5, 0.0], [7.0, 0.0]])}
    np.testing.assert_allclose(evaluate(2 * Y + W, env), [11.0, 15.0])


def test_operators_build_nodes_and_print_readably():
    e = -(X + 2) * Unary("sin", W) ** 2 / PI
    assert format_expr(e) == "-(x[0] + 2) * sin(w[1, 0]) ** 2 / pi"
    assert symbols(e) == {X, W}


@settings(max_examples=200, deadline=None)
@given(expressions)
def test_fold_preserves_value(expr):
    env = _env(np.random.default_rng(0))
    np.testing.assert_allclose(evaluate(fold(expr), env) + 0 * env["x"][:, 0],
                               evaluate(expr, env) + 0 * env["x"][:, 0], rtol=1e-12, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(expressions)
def test_derivative_matches_central_differences(expr):
    rng = np.random.default_rng(1)
    env = _env(rng, batch=3)
    for wrt, (name, index) in ((X, ("x", (slice(None), 0))), (W, ("w", (1, 0)))):
        h = 1e-6
        plus = {k: v.copy() for k, v in env.items()}
        minus = {k: v.copy() for k, v in env.items()}
        plus[name][index] += h
        minus[name][index] -= h
        numeric = (np.asarray(evaluate(expr, plus)) - evaluate(expr, minus)) / (2 * h)
        exact = evaluate(diff(expr, wrt), env) + 0 * env["x"][:, 0]
        np.testing.assert_allclose(exact, numeric + 0 * env["x"][:, 0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op,x", [("tan", 0.3), ("log", 1.7), ("sqrt", 2.2), ("arcsin", 0.4),
                                  ("arccos", -0.2), ("arctan", 3.0)])
def test_derivative_of_each_function(op, x):
    h = 1e-6
    expr = Unary(op, Symbol("t"))
    numeric = (evaluate(expr, {"t": x + h}) - evaluate(expr, {"t": x - h})) / (2 * h)
    assert math.isclose(evaluate(diff(expr, Symbol("t")), {"t": x}), numeric, rel_tol=1e-6)


def test_power_and_quotient_rules():
    t = Symbol("t")
    for expr in (t ** 3, Const(2.0) ** t, t ** t, Unary("sin", t) / (t + 3)):
        h, v = 1e-6, 1.3
        numeric = (evaluate(expr, {"t": v + h}) - evaluate(expr, {"t": v - h})) / (2 * h)
        assert math.isclose(evaluate(diff(expr, t), {"t": v}), numeric, rel_tol=1e-6)


def test_fold_simplifies_constants_and_neutral_elements():
    assert fold(Const(2) * Const(3) + X * 1 - 0) == Binary("+", Const(6.0), X)
    assert fold(Unary("neg", Unary("neg", X))) == X
    assert fold(Unary("cos", Const(0.0))) == Const(1.0)
    # Division by zero is not folded into inf: the expression stays as written.
    assert fold(Const(1) / Const(0)) == Binary("/", Const(1.0), Const(0.0))


def test_unbound_symbol_is_reported_by_name():
    with pytest.raises(KeyError, match="'w' is not bound"):
        evaluate(W, {"x": np.zeros(2)})
