"""The textual IR: printing and parsing round-trip exactly, and bad text is reported in user
terms at the right place.

References: structural equality with the program that was printed; hand-written text with
hand-built IR; Python's own expression grammar for precedence; Qiskit's register semantics
for ``q[3]`` names.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.quantum_info import Operator
from scipy.stats import unitary_group

from qcompile.backends.qiskit_circuit import to_qiskit
from qcompile.ir import (PI, Barrier, Binary, Circuit, Condition, Const, Counts, ExpVal, Gate,
                         IfElse, Measure, Param, PauliTerm, Probs, Program, QCompileError,
                         QuantumCall, Register, Reset, State, Symbol, TensorDecl, TensorOp,
                         Unary, Unitary, VerificationError, looks_like_ir, parse_program,
                         print_program)
from qcompile.ir.expr import evaluate, format_expr
from qcompile.ir.tensor_ops import TENSOR_OPS
from random_circuits import random_circuit


def assert_round_trip(program: Program) -> str:
    text = print_program(program)
    parsed = parse_program(text)
    assert parsed == program, text
    assert print_program(parsed) == text
    return text


# --- hand-built programs --------------------------------------------------------------------

def _every_operation_circuit(rng) -> Circuit:
    x, w = Symbol("x", (1,)), Symbol("theta", (1, 0))
    ops = [
        Gate("h", (0,)),
        Gate("rz", (0,), (Const(2.0) * x,)),
        Gate("u", (3,), (w, -x, Const(-2.5))),
        Gate("cu", (1, 3), (PI, Unary("neg", Const(0.5)), x ** 2, Unary("sin", w) / 3)),
        Gate("ccx", (0, 1, 3)),
        Unitary(unitary_group.rvs(4, random_state=rng), (3, 0), "fused \"block\"\n"),
        Unitary(np.diag([1.0, -1.0 + 0.0j]) * (1 - 0j), (2,)),
        Measure(0, 0),
        Measure(3, 2),
        Reset(1),
        Barrier((0, 3)),
        Barrier(()),
        IfElse(Condition((0,), 1), (Gate("x", (1,)),)),
        IfElse(Condition((0, 1), 2), (Reset(0),), (Gate("ry", (2,), (x,)),)),
        IfElse(Condition((1, 0), 3), (), (Barrier((2,)),)),
        IfElse(Condition((2,), 0), (IfElse(Condition((0, 1, 2), 5), (Gate("z", (3,)),)),)),
        IfElse(Condition((), 0), ()),
    ]
    return Circuit("vqc", (Register("q", 3), Register("anc", 1)),
                   (Register("c", 2), Register("flag", 1)),
                   (Param("x", "input", (2,)), Param("theta", "weight", (2, 2)),
                    Param("s", "weight")), ops)


def _every_tensor_op_body() -> list[TensorOp]:
    e = ("e",)
    unary = ["relu", "tanh", "sigmoid", "exp", "log", "sin", "cos", "abs", "neg", "sqrt",
             "square", "l2normalize"]
    body = [TensorOp(f"u_{name}", name, e) for name in unary]
    body += [TensorOp(f"b_{name}", name, ("e", "u_relu")) for name in ("add", "sub", "mul",
                                                                      "div")]
    body += [
        TensorOp("scaled", "scale", e, (("factor", 2.0), ("offset", -0.5))),
        TensorOp("lin", "linear", ("e", "W", "b")),
        TensorOp("lin2", "linear", ("e", "W")),
        TensorOp("mm", "matmul", ("lin", "M")),
        TensorOp("soft", "softmax", ("mm",), (("axis", -1),)),
        TensorOp("norm", "layernorm", ("soft",), (("eps", 1e-05),)),
        TensorOp("cat", "concat", ("e", "lin", "norm"), (("axis", 0),)),
        TensorOp("part", "slice", ("cat",), (("start", 1), ("stop", 7), ("axis", 0))),
        TensorOp("grid", "reshape", ("part",), (("shape", (3, 2)),)),
        TensorOp("turned", "transpose", ("grid",), (("axes", (1, 0)),)),
        TensorOp("total", "sum", ("grid",)),
        TensorOp("rows", "mean", ("grid",), (("axis", 1),)),
        TensorOp("q8", "quantize", e, (("bits", 8), ("scale", 0.1), ("zero_point", -3))),
        TensorOp("dq", "dequantize", ("q8",), (("scale", 0.1), ("zero_point", -3))),
        TensorOp("overlap", "fidelity", ("psi", "psi")),
    ]
    return body


def every_kind_program(rng) -> Program:
    circuit = _every_operation_circuit(rng)
    args = (("x", "x"), ("theta", "theta"), ("s", "s"))
    calls = [
        QuantumCall("e", "vqc", args, ExpVal((
            (PauliTerm(0.5, ((0, "Z"), (1, "Z"))), PauliTerm(1.0, ((2, "X"),))),
            (PauliTerm(-1.0, ((3, "Y"),)), PauliTerm(-0.0, ((0, "I"),)), PauliTerm(0.25, ())),
            (PauliTerm(1.0, ()),),
        ))),
        QuantumCall("p", "vqc", args, Probs((0, 3))),
        QuantumCall("p_all", "vqc", args, Probs()),
        QuantumCall("hist", "vqc", args, Counts(1000)),
        QuantumCall("psi", "vqc", args, State()),
        QuantumCall("bell", "bell pair", (), State()),
    ]
    bell = Circuit("bell pair", (Register("q", 2),), (), (), (Gate("h", (0,)),
                                                            Gate("cx", (0, 1))))
    return Program(inputs=(TensorDecl("x", (2,)),),
                   weights=(TensorDecl("theta", (2, 2)), TensorDecl("s", trainable=False),
                            TensorDecl("W", (3, 3)), TensorDecl("b", (3,)),
                            TensorDecl("M", (3, 3))),
                   circuits=(circuit, bell), body=(*calls, *_every_tensor_op_body()),
                   outputs=("e", "overlap", "rows"), name="every kind",
                   metadata=(("source", "test"),))


def test_program_with_every_kind_round_trips(rng):
    program = every_kind_program(rng)
    assert {s.op for s in program.body if isinstance(s, TensorOp)} == set(TENSOR_OPS)
    text = assert_round_trip(program)
    assert 'program "every kind" {' in text
    assert "unitary \"fused \\\"block\\\"\\n\" anc[0], q[0] [[" in text
    assert "if (c == 2) {" in text and "if ([c[1], c[0]] == 3) {" in text
    assert "if (flag[0] == 0) {" in text and "if ([] == 0) {" in text
    assert "expval(0.5 * Z0 Z1 + X2, -Y3 - 0.0 * I0 + 0.25, 1.0)" in text
    assert "weight s: [] frozen\n" in text and "weight theta: [2, 2]\n" in text


def test_frozen_weights_round_trip_and_older_text_stays_trainable():
    """``frozen`` is the only difference between a fixed and a trainable weight; text written
    before the word existed parses to trainable weights."""
    circuit = Circuit("c", (Register("q", 1),), (), (Param("r", "weight", (2,)),),
                      (Gate("ry", (0,), (Symbol("r", (0,)),)),
                       Gate("rz", (0,), (Symbol("r", (1,)),))))
    call = QuantumCall("z", "c", (("r", "r"),), ExpVal(((PauliTerm(1.0, ((0, "Z"),)),),)))
    frozen = Program((), (TensorDecl("r", (2,), trainable=False),), (circuit,), (call,), ("z",))
    text = assert_round_trip(frozen)
    assert "  weight r: [2] frozen\n" in text
    trainable = parse_program(text.replace(" frozen", ""))
    assert trainable.weights == (TensorDecl("r", (2,)),) and trainable.weights[0].trainable
    assert trainable != frozen


def test_unitary_entries_survive_bit_for_bit(rng):
    signed_zeros_and_subnormal = np.array([[complex(-0.0, 1.0), complex(-0.0, -0.0)],
                                           [complex(0.0, -0.0), complex(1.0, 5e-324)]])
    circuit = Circuit("c", (Register("q", 3),), (), (),
                      (Unitary(unitary_group.rvs(4, random_state=rng), (0, 2)),
                       Unitary(signed_zeros_and_subnormal, (1,))))
    parsed = parse_program(assert_round_trip(Program.from_circuit(circuit))).circuits[0]
    for before, after in zip(circuit.ops, parsed.ops):
        assert before.matrix.tobytes() == after.matrix.tobytes()


def test_hand_written_text_parses_to_the_intended_program():
    text = """
    // comments and blank lines may come before the header

    qcompile.ir 1
    program zz_vqc {
      input x: [2]
      weight theta: [2, 2]
      circuit vqc(x: input[2],
                  theta: weight[2, 2]) qubits q[2] bits c[2] {
        h q[0]   // a trailing comment
        rzz(2 * (pi - x[0]) * (pi - x[1])) q[0], q[1]
        c[1] = measure q[0]
        if (c[1] == 1) {
          x q[1]
        } else {
          reset q[1]
        }
        unitary "fused" q[1] [[1+0j, 0.0-0.0j],
                              [0+0j, -1-0j]]
      }
      %e = call vqc(x=%x, theta=%theta) -> expval(1.0 * Z0 Z1, -X1 + 2)
      %z = slice(%e) {start=0, stop=1, axis=0}
      return %z
    }
    """
    x0, x1 = Symbol("x", (0,)), Symbol("x", (1,))
    ops = (Gate("h", (0,)),
           Gate("rzz", (0, 1), (Binary("*", Binary("*", Const(2), Binary("-", PI, x0)),
                                        Binary("-", PI, x1)),)),
           Measure(0, 1),
           IfElse(Condition((1,), 1), (Gate("x", (1,)),), (Reset(1),)),
           Unitary(np.diag([1.0, -1.0]), (1,), "fused"))
    circuit = Circuit("vqc", (Register("q", 2),), (Register("c", 2),),
                      (Param("x", "input", (2,)), Param("theta", "weight", (2, 2))), ops)
    observables = ((PauliTerm(1.0, ((0, "Z"), (1, "Z"))),),
                   (PauliTerm(-1.0, ((1, "X"),)), PauliTerm(2.0, ())))
    expected = Program((TensorDecl("x", (2,)),), (TensorDecl("theta", (2, 2)),), (circuit,),
                       (QuantumCall("e", "vqc", (("x", "x"), ("theta", "theta")),
                                    ExpVal(observables)),
                        TensorOp("z", "slice", ("e",), (("start", 0), ("stop", 1),
                                                        ("axis", 0)))),
                       ("z",), name="zz_vqc")
    assert looks_like_ir(text)
    assert parse_program(text) == expected


def test_printed_layout_of_a_small_program():
    circuit = Circuit("bell", (Register("q", 2),), (Register("c", 2),), (Param("t", "weight"),),
                      (Gate("ry", (0,), (Symbol("t"),)), Gate("cx", (0, 1)), Measure(1, 0)))
    program = Program((), (TensorDecl("t"),), (circuit,),
                      (QuantumCall("k", "bell", (("t", "t"),), Counts(100)),
                       TensorOp("r", "reshape", ("k",), (("shape", (2, 2)),))), ("r",),
                      name="demo")
    assert print_program(program) == (
        "qcompile.ir 1\n"
        "program demo {\n"
        "  weight t: []\n"
        "\n"
        "  circuit bell(t: weight) qubits q[2] bits c[2] {\n"
        "    ry(t) q[0]\n"
        "    cx q[0], q[1]\n"
        "    c[0] = measure q[1]\n"
        "  }\n"
        "\n"
        "  %k = call bell(t=%t) -> counts(shots=100)\n"
        "  %r = reshape(%k) {shape=[2, 2]}\n"
        "  return %r\n"
        "}\n")


def test_register_names_mean_what_qiskit_means():
    text = """qcompile.ir 1
    program p {
      circuit regs() qubits a[2], b[3] {
        h b[0]
        cx b[0], a[1]
        crx(0.75) a[0], b[2]
        swap b[1], a[0]
        unitary "y" b[2] [[0.0+0.0j, -0.0-1.0j], [0.0+1.0j, 0.0+0.0j]]
      }
    }
    """
    a, b = QuantumRegister(2, "a"), QuantumRegister(3, "b")
    reference = QuantumCircuit(a, b)
    reference.h(b[0])
    reference.cx(b[0], a[1])
    reference.crx(0.75, a[0], b[2])
    reference.swap(b[1], a[0])
    reference.y(b[2])
    parsed = parse_program(text).circuits[0]
    assert Operator(to_qiskit(parsed)).equiv(Operator(reference))


def test_classical_register_names_mean_what_qiskit_means():
    text = """qcompile.ir 1
    program p {
      circuit m() qubits q[2] bits lo[1], hi[2] {
        x q[1]
        hi[1] = measure q[1]
        lo[0] = measure q[0]
      }
    }
    """
    parsed = parse_program(text).circuits[0]
    q, lo, hi = QuantumRegister(2, "q"), ClassicalRegister(1, "lo"), ClassicalRegister(2, "hi")
    reference = QuantumCircuit(q, lo, hi)
    reference.x(q[1])
    reference.measure(q[1], hi[1])
    reference.measure(q[0], lo[0])
    ours = to_qiskit(parsed)
    assert [(i.operation.name, [ours.find_bit(b).index for b in i.qubits + i.clbits])
            for i in ours.data] == \
        [(i.operation.name, [reference.find_bit(b).index for b in i.qubits + i.clbits])
         for i in reference.data]


# --- random circuits ------------------------------------------------------------------------

def _random_output(rng, num_qubits: int):
    kind = int(rng.integers(4))
    if kind == 0:
        return State()
    if kind == 1:
        k = int(rng.integers(0, num_qubits + 1))
        return Probs(tuple(int(q) for q in rng.choice(num_qubits, k, replace=False)))
    if kind == 2:
        return Counts(int(rng.integers(1, 5000)))
    terms = tuple(PauliTerm(rng.normal(), tuple((int(q), "IXYZ"[rng.integers(4)])
                                                 for q in range(num_qubits) if rng.random() < .6))
                  for _ in range(int(rng.integers(1, 4))))
    return ExpVal((terms, (PauliTerm(1.0, ((0, "Z"),)),)))


def test_random_circuits_round_trip():
    rng = np.random.default_rng(2024)
    for trial in range(320):
        num_qubits = int(rng.integers(1, 5))
        circuit = random_circuit(rng, num_qubits, int(rng.integers(1, 30)),
                                 dynamic=trial % 2 == 0, symbolic=trial % 3 != 0,
                                 num_clbits=int(rng.integers(1, 4)))
        program = Program.from_circuit(circuit, _random_output(rng, num_qubits))
        assert_round_trip(program)


# --- expressions ----------------------------------------------------------------------------

_SYMBOLS = st.one_of(st.builds(Symbol, st.just("x"), st.tuples(st.integers(0, 2))),
                     st.builds(Symbol, st.just("w"), st.tuples(st.integers(0, 1),
                                                               st.integers(0, 1))),
                     st.just(Symbol("s")))
_CONSTANTS = st.one_of(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                       st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, math.pi, -math.pi, 1e-300,
                                        -2.5e-8, 1e200]))
_LEAVES = st.one_of(_SYMBOLS, st.builds(Const, _CONSTANTS))
_EXPRS = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.builds(Unary, st.sampled_from(["neg", "sin", "cos", "tan", "exp", "log", "sqrt",
                                      "arcsin", "arccos", "arctan", "neg"]), inner),
    st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "**"]), inner, inner)),
    max_leaves=8)
_ENV = {"x": np.array([0.3, -1.7, 2.2]), "w": np.array([[0.5, -0.25], [1.5, 0.1]]), "s": 0.9}


def _gate_program(*params) -> Program:
    circuit = Circuit("c", (Register("q", 1),), (),
                      (Param("x", "input", (3,)), Param("w", "weight", (2, 2)),
                       Param("s", "weight")), (Gate("u", (0,), params),))
    return Program.from_circuit(circuit)


def parse_expr(text: str):
    """The expression written as the first angle of a gate in an otherwise fixed program."""
    program = print_program(_gate_program(Const(0), Const(0), Const(0)))
    return parse_program(program.replace("u(0, 0, 0)", f"u({text}, 0, 0)")).circuits[0] \
        .ops[0].params[0]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_EXPRS)
def test_expressions_round_trip_exactly(expr):
    program = _gate_program(expr, Const(0), Const(0))
    assert_round_trip(program)
    with np.errstate(all="ignore"):
        expected = evaluate(expr, _ENV)
        assert np.array_equal(evaluate(parse_expr(format_expr(expr)), _ENV), expected,
                              equal_nan=True)


_PYTHON_ENV = {"pi": math.pi, **{f: getattr(np, f) for f in
                                 ("sin", "cos", "tan", "exp", "log", "sqrt", "arcsin",
                                  "arccos", "arctan")}}


class _FloatLiterals(ast.NodeTransformer):
    """Number literals are floats in our IR; in Python ``2 ** 60 + 1`` would be exact."""

    def visit_Constant(self, node):
        return ast.copy_location(ast.Constant(float(node.value)), node)

    def visit_Subscript(self, node):  # indices stay integers
        return node


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_EXPRS)
def test_printed_expressions_mean_the_same_in_python(expr):
    """Python's grammar shares our precedence rules, so it is an independent reader."""
    text = format_expr(expr)
    env = {**_PYTHON_ENV, "x": _ENV["x"].copy(), "s": np.float64(_ENV["s"]),
           "w": _ENV["w"].copy()}
    with np.errstate(all="ignore"):
        try:
            code = compile(_FloatLiterals().visit(ast.parse(text, mode="eval")), "<expr>",
                           "eval")
            value = eval(code, {"__builtins__": {}}, env)
            python_value = math.nan if isinstance(value, complex) else float(value)
        except (ZeroDivisionError, OverflowError):  # numpy gives inf or nan instead
            python_value = math.nan
        assume(math.isfinite(python_value))
        ours = evaluate(parse_expr(text), _ENV)
    assert ours == pytest.approx(python_value, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("expr, text", [
    (Unary("neg", Binary("**", Symbol("x", (0,)), Const(2))), "-x[0] ** 2"),
    (Binary("**", Unary("neg", Symbol("x", (0,))), Const(2)), "(-x[0]) ** 2"),
    (Binary("-", Symbol("s"), Binary("-", Symbol("x", (1,)), Symbol("x", (2,)))),
     "s - (x[1] - x[2])"),
    (Binary("-", Binary("-", Symbol("s"), Symbol("x", (1,))), Symbol("x", (2,))),
     "s - x[1] - x[2]"),
    (Binary("*", Const(-2), Symbol("s")), "-2 * s"),
    (Binary("*", Unary("neg", Const(2)), Symbol("s")), "-(2) * s"),
    (Binary("**", Const(-2), Symbol("s")), "(-2) ** s"),
    (Unary("neg", Binary("**", Const(2), Symbol("s"))), "-(2 ** s)"),
    (Binary("**", Const(2), Binary("**", Const(3), Const(2))), "2 ** 3 ** 2"),
    (Binary("**", Binary("**", Const(2), Const(3)), Const(2)), "(2 ** 3) ** 2"),
    (Binary("**", Const(2), Unary("neg", Symbol("s"))), "2 ** (-s)"),
    (Binary("*", Symbol("s"), Const(-0.0)), "s * (-0)"),
    (Binary("**", Const(-0.0), Symbol("s")), "(-0) ** s"),
    (Unary("neg", PI), "-pi"),
    (Const(-math.pi), "-3.141592653589793"),
    (Binary("/", Symbol("w", (1, 0)), Unary("sqrt", Const(1e-300))), "w[1, 0] / sqrt(1e-300)"),
])
def test_precedence_corner_cases(expr, text):
    assert format_expr(expr) == text
    assert parse_expr(text) == expr


@pytest.mark.parametrize("text, expr", [
    ("-2.5", Const(-2.5)),
    ("-(2.5)", Unary("neg", Const(2.5))),
    ("--2.5", Unary("neg", Const(-2.5))),
    ("-2 ** s", Unary("neg", Binary("**", Const(2), Symbol("s")))),
    ("2 ** -s", Binary("**", Const(2), Unary("neg", Symbol("s")))),
    ("2 ** -1", Binary("**", Const(2), Const(-1))),
    ("pi", Const(math.pi)),
    ("1e400 - inf", Binary("-", Const(math.inf), Const(math.inf))),
    ("x[2]*2-1", Binary("-", Binary("*", Symbol("x", (2,)), Const(2)), Const(1))),
])
def test_hand_written_expressions(text, expr):
    assert parse_expr(text) == expr


# --- content detection ----------------------------------------------------------------------

def test_looks_like_ir(rng):
    text = print_program(every_kind_program(rng))
    assert looks_like_ir(text)
    assert looks_like_ir("\n  // produced by --print-after\n\nqcompile.ir 1  // header\n")
    assert not looks_like_ir("OPENQASM 3.0;\ninclude \"stdgates.inc\";\n")
    assert not looks_like_ir("// qcompile.ir 1\nmodel m {\n}\n")
    assert not looks_like_ir("")


# --- errors ---------------------------------------------------------------------------------

_CIRCUIT = "qcompile.ir 1\nprogram p {\n  circuit k(x: input[2]) qubits q[2] bits c[2] {\n"


def _error(text: str, kind=QCompileError) -> QCompileError:
    with pytest.raises(kind) as info:
        parse_program(text, "model.ir")
    return info.value


def _in_circuit(*lines: str, after: str = "") -> str:
    return _CIRCUIT + "".join(f"    {line}\n" for line in lines) + "  }\n" + after + "}\n"


def test_syntax_error_reports_file_line_column_and_caret():
    err = _error(_in_circuit("h q[0]", "cx q[0] q[1]"))
    assert (err.location.file, err.location.line, err.location.column) == ("model.ir", 5, 13)
    assert str(err) == ("model.ir:5:13: syntax error: expected ',' between qubits, or the end "
                        "of the line, found 'q'\n"
                        "        cx q[0] q[1]\n"
                        "                ^")


@pytest.mark.parametrize("line, column, message", [
    ("h", 6, "expected a qubit like q[0] after the gate name, found the end of the line"),
    ("rz(0.5) 3", 13, "expected a qubit like q[0] after the gate name, found '3'"),
    ("reset q", 12, "expected an index in brackets after the register name, like q[0]"),
    ("rz(1 + ) q[0]", 12, "expected an expression, found ')'"),
    ("rz(1 @ 2) q[0]", 10, "found the character '@'"),
    ("3 q[0]", 5, "expected an operation (a gate, measure, reset, barrier, if, set or unitary)"),
    ("unitary \"a\" q[0] [[1.0, 0j]]", 24, "expected a complex number like 1.0+0.0j"),
])
def test_syntax_errors_name_the_problem(line, column, message):
    err = _error(_in_circuit(line))
    assert message in err.message and "syntax error" in err.message
    assert (err.location.line, err.location.column) == (4, column)
    assert "Token" not in err.message and "$END" not in err.message


def test_missing_header_and_unknown_version():
    err = _error("program p {\n}\n")
    assert "expected the header line 'qcompile.ir 1'" in err.message
    assert (err.location.line, err.location.column) == (1, 1)
    err = _error("qcompile.ir 7\nprogram p {\n}\n")
    assert "unsupported textual IR version 7" in err.message
    assert (err.location.line, err.location.column) == (1, 13)


def test_unclosed_circuit_points_at_the_end_of_the_text():
    err = _error(_CIRCUIT + "    h q[0]\n")
    assert "found the end of the text" in err.message and "'}'" in err.message
    assert err.location.line == 4


def test_unknown_gate():
    err = _error(_in_circuit("h q[0]", "frobnicate q[1]"), VerificationError)
    assert "unknown gate 'frobnicate'" in err.message
    assert (err.location.line, err.location.column) == (5, 5)


def test_wrong_number_of_qubits_and_parameters():
    err = _error(_in_circuit("cx q[0]"), VerificationError)
    assert "gate 'cx' acts on 2 qubit(s), got 1" in err.message
    assert (err.location.line, err.location.column) == (4, 5)
    err = _error(_in_circuit("h q[1]", "rx q[0]"), VerificationError)
    assert "gate 'rx' takes 1 parameter(s), got 0" in err.message
    assert err.location.line == 5


def test_undeclared_parameter_inside_a_conditional_block():
    err = _error(_in_circuit("c[0] = measure q[0]", "if (c[0] == 1) {",
                             "  rz(x[0] + y) q[1]", "}"), VerificationError)
    assert "parameter 'y' is not declared" in err.message
    assert "then-block" in err.message
    assert (err.location.line, err.location.column) == (6, 7)
    assert err.location.source_line.strip() == "rz(x[0] + y) q[1]"


def test_unknown_registers_and_out_of_range_bits():
    err = _error(_in_circuit("h r[0]"))
    assert "'r' is not a quantum register of this circuit (declared: q)" in err.message
    assert (err.location.line, err.location.column) == (4, 7)
    err = _error(_in_circuit("x q[2]"))
    assert "q[2] is out of range: quantum register 'q' has 2 bit(s)" in err.message
    err = _error(_in_circuit("q[0] = measure q[1]"))
    assert "'q' is not a classical register" in err.message
    err = _error(_in_circuit("if (d == 1) {", "}"))
    assert "'d' is not a classical register" in err.message


def test_program_level_errors_point_at_the_statement():
    err = _error(_in_circuit("h q[0]", after="  %a = call k(x=%x) -> state\n"),
                 VerificationError)
    assert "value 'x' is not defined before use" in err.message
    assert (err.location.line, err.location.column) == (6, 3)
    err = _error(_in_circuit("h q[0]", after="  input x: [2]\n  %a = call k(x=%x) -> state\n"
                                            "  %b = linear(%a, %a)\n"), VerificationError)
    assert "linear" in err.message and err.location.line == 8
    err = _error("qcompile.ir 1\nprogram p {\n  input x: [2]\n  return %x, %y\n}\n",
                 VerificationError)
    assert "output 'y' is not defined" in err.message and err.location.line == 4
    err = _error("qcompile.ir 1\nprogram p {\n  input x: [2]\n  weight x: [2]\n}\n",
                 VerificationError)
    assert "value 'x' is declared twice" in err.message and err.location.line == 4


def test_misplaced_program_statement():
    err = _error("qcompile.ir 1\nprogram p {\n  input x: [2]\n  h q[0]\n}\n")
    assert "expected a declaration (input, weight), a circuit, a statement like " \
           "%y = op(%x), return, or '}', found 'h'" in err.message
    assert (err.location.line, err.location.column) == (4, 3)


@pytest.mark.parametrize("lines", [("3",), ("h q[0]", "3"), ("if (c[0] == 1) {", "3"),
                                   ("if (c[0] == 1) {", "h q[0]", "3")])
def test_misplaced_operation_at_any_depth(lines):
    err = _error(_in_circuit(*lines))
    assert "expected an operation (a gate, measure, reset, barrier, if, set or unitary) or '}', " \
           "found '3'" in err.message
    assert err.location.line == 3 + len(lines)

def test_bad_tensor_attributes():
    text = "qcompile.ir 1\nprogram p {\n  input x: [4]\n  %y = slice(%x) {start=\"a\"}\n}\n"
    err = _error(text, VerificationError)
    assert "slice: invalid attribute value(s)" in err.message and err.location.line == 4
    err = _error(text.replace(' {start="a"}', "").replace("slice", "reshape"),
                 VerificationError)
    assert "reshape: missing attribute shape" in err.message


def test_other_user_errors():
    err = _error(_in_circuit("rz(cosh(x[0])) q[0]"))
    assert "unknown function 'cosh'" in err.message and err.location.column == 8
    err = _error(_in_circuit('unitary "u" q[0] [[1.0+0.0j, 0.0+0.0j]]'))
    assert "must be square" in err.message
    err = _error(_in_circuit('unitary "bad \\q" q[0] [[1.0+0.0j]]'))
    assert "invalid string literal" in err.message and err.location.column == 13
    err = _error(_in_circuit("h q[0]", after="  return\n  return\n"))
    assert "one return statement" in err.message and err.location.line == 7


def test_printer_refuses_what_it_cannot_write_back():
    bad_value = Program(body=(QuantumCall("a b", "c", (), State()),))
    with pytest.raises(QCompileError, match="value name 'a b'"):
        print_program(bad_value)
    bad_attr = Program(body=(TensorOp("y", "relu", ("x",), (("flag", True),)),))
    with pytest.raises(QCompileError, match="attribute value True"):
        print_program(bad_attr)

