"""Generated hostile input for the fuzz tests, and the limits every case must stay within.

The sources are grammar-based hypothesis strategies: OpenQASM 3 and 2 programs and ``.qm``
models with declarations, gate definitions, gates with expressions and modifiers, loops and
conditions, where any number may be hostile (huge, infinite, a power tower, a huge shift).
:func:`bounded` runs a case in this process with a time and a memory limit; :func:`run_cli`
runs the command line in a subprocess with the same limits.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from hypothesis import strategies as st

#: What one case may take: seconds, and bytes of address space beyond what is already held.
SECONDS = 10
MEMORY = 2 * 2**30

#: Numbers that break naive unrolling and arithmetic, next to ordinary ones.
HOSTILE = ["0", "1", "2", "3", "-1", "0.5", "pi", "1e400", "-1e400", "1e308 * 10",
           "10 ** 30", "2 ** 64", "2 ** 1023 * 4", "10 ** 10 ** 10", "9" * 400, "1 / 0",
           "0 ** -1", "(-8) ** 0.5", "1000000000000", "4096", "100000"]
_QASM_ONLY = ["1 << 100000", "1 << 60", "~0", "18446744073709551616"]


class Overtime(BaseException):
    """A case ran past :data:`SECONDS` (a BaseException, so no ``except Exception`` in the
    code under test can turn it into a user error)."""


@contextmanager
def bounded(seconds: float = SECONDS, memory: int = MEMORY):
    """Run the body with at most ``seconds`` of wall time (then :class:`Overtime`) and
    ``memory`` more bytes of address space (then MemoryError), instead of hanging or
    swapping the machine."""
    def expire(signum, frame):
        raise Overtime(f"the case ran for more than {seconds} s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    held = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = held + memory if hard == resource.RLIM_INFINITY else min(held + memory, hard)
    previous = signal.signal(signal.SIGALRM, expire)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _limits() -> None:
    """In the child: :data:`MEMORY` of address space in all, :data:`SECONDS` of CPU."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (SECONDS, SECONDS + 1))


def run_cli(args: list[str], cwd: Path) -> tuple[int, str]:
    """``qcompile ARGS`` in a subprocess under :func:`_limits`: the exit status and stderr.
    The wall-clock limit is three times the CPU limit, so that a loaded machine does not
    fail a case that uses its CPU second for second, while a blocked read still ends."""
    command = [sys.executable, "-c", "import sys; from qcompile.cli import main; "
               "sys.exit(main(sys.argv[1:]))", *args]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              errors="replace", timeout=3 * SECONDS, preexec_fn=_limits,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"qcompile {' '.join(args)} ran for more than {3 * SECONDS} s") \
            from None
    return done.returncode, done.stderr


def assert_user_outcome(code: int, stderr: str, args) -> None:
    """Success, or a user error: exit status 2 with a message and no traceback."""
    assert "Traceback" not in stderr, f"qcompile {args}:\n{stderr[-3000:]}"
    assert code in (0, 2), f"qcompile {args} exited with {code}:\n{stderr[-3000:]}"
    if code == 2:
        assert "error" in stderr, f"qcompile {args} failed without a message"


# --- expressions --------------------------------------------------------------------------

def numbers(qasm: bool) -> st.SearchStrategy[str]:
    """Mostly small numbers, so that a program gets past its first lines; a quarter hostile."""
    small = st.integers(0, 3).map(str)
    return st.one_of(small, small, small,
                     st.sampled_from(HOSTILE + (_QASM_ONLY if qasm else [])))


def expressions(names: list[str], qasm: bool, functions: list[str]) -> st.SearchStrategy:
    """Angle and index expressions over ``names`` and hostile numbers."""
    operators = ["+", "-", "*", "/", "**", "%"] + (["<<", ">>", "&"] if qasm else [])
    leaves = st.one_of(numbers(qasm), st.sampled_from(names)) if names else numbers(qasm)

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(operators), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda e: f"-{e}"),
            st.tuples(st.sampled_from(functions), inner).map(lambda t: f"{t[0]}({t[1]})"))
    return st.recursive(leaves, extend, max_leaves=4)


# --- OpenQASM -----------------------------------------------------------------------------

#: Built-in gates: name, parameters, qubits.
_QASM_GATES = [("h", 0, 1), ("x", 0, 1), ("rx", 1, 1), ("U", 3, 1), ("cx", 0, 2),
               ("crz", 1, 2), ("ccx", 0, 3), ("p", 1, 1)]
_QASM_FUNCTIONS = ["sin", "cos", "exp", "ln", "sqrt", "arccos"]
_MODIFIERS = ["inv @ ", "pow({e}) @ ", "ctrl @ ", "ctrl({e}) @ ", "negctrl @ "]


def _qasm_gate(draw, gates, operands, values, version: int) -> str:
    name, nparams, nqubits = draw(st.sampled_from(gates))
    expr = expressions(values, True, _QASM_FUNCTIONS if version == 3 else ["sin", "cos"])
    params = [draw(expr) for _ in range(nparams)]
    modifiers = ""
    if version == 3:
        for _ in range(draw(st.integers(0, 2))):
            modifier = draw(st.sampled_from(_MODIFIERS))
            modifiers += modifier.format(e=draw(expr))
            nqubits += modifier.startswith(("ctrl", "negctrl"))
    qubits = [draw(st.sampled_from(operands)) for _ in range(nqubits)]
    args = f"({', '.join(params)})" if params else ""
    return f"{modifiers}{name}{args} {', '.join(qubits)};"


def _qasm_statements(draw, gates, operands, values, depth: int, in_gate: bool) -> str:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        kinds = ["gate", "gate", "barrier"] + (["for", "block"] if depth < 3 else [])
        if not in_gate:
            kinds += ["measure", "reset"] + (["if"] if depth < 3 else [])
        kind = draw(st.sampled_from(kinds))
        expr = expressions(values, True, _QASM_FUNCTIONS)
        if kind == "gate":
            out.append(_qasm_gate(draw, gates, operands, values, 3))
        elif kind == "barrier":
            out.append(f"barrier {draw(st.sampled_from(operands))};")
        elif kind == "measure":
            out.append(f"measure q[{draw(expr)}] -> c[{draw(expr)}];")
        elif kind == "reset":
            out.append(f"reset {draw(st.sampled_from(operands))};")
        else:
            inner = _qasm_statements(draw, gates, operands, [*values, f"i{depth}"], depth + 1,
                                     in_gate)
            if kind == "for":
                loop = draw(st.sampled_from(["[{a}:{b}]", "[{a}:{b}:{a}]", "{{{a}, {b}}}"]))
                out.append(f"for int i{depth} in {loop.format(a=draw(expr), b=draw(expr))} "
                           f"{{ {inner} }}")
            elif kind == "if":
                out.append(f"if (c[{draw(expr)}] == {draw(expr)}) {{ {inner} }} else {{ x q; }}")
            else:
                out.append(f"{{ {inner} }}")
    return "\n".join(out)


@st.composite
def qasm3_programs(draw) -> str:
    size = draw(numbers(True))
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";', f"qubit[{size}] q;",
             f"bit[{draw(numbers(True))}] c;", "input float x;"]
    values = ["x", "pi"]
    if draw(st.booleans()):
        lines.append(f"const int n = {draw(expressions([], True, _QASM_FUNCTIONS))};")
        values.append("n")
    if draw(st.booleans()):
        lines.append(f"int[{draw(numbers(True))}] v = {draw(numbers(True))};")
    gates = list(_QASM_GATES)
    for k in range(draw(st.integers(0, 3))):
        body = _qasm_statements(draw, gates, ["a", "b"], ["t", "pi"], 1, in_gate=True)
        lines.append(f"gate g{k}(t) a, b {{ {body} }}")
        gates.append((f"g{k}", 1, 2))
    operands = ["q", "q[0]", "q[1]", f"q[{draw(numbers(True))}]", "q[0:1]"]
    lines.append(_qasm_statements(draw, gates, operands, values, 0, in_gate=False))
    return "\n".join(lines) + "\n"


@st.composite
def qasm2_programs(draw) -> str:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{draw(numbers(False))}];",
             f"creg c[{draw(numbers(False))}];"]
    gates = [("h", 0, 1), ("u3", 3, 1), ("cx", 0, 2), ("rz", 1, 1), ("ccx", 0, 3)]
    for k in range(draw(st.integers(0, 3))):
        body = " ".join(_qasm_gate(draw, gates, ["a", "b"], ["t", "pi"], 2)
                        for _ in range(draw(st.integers(1, 3))))
        lines.append(f"gate g{k}(t) a, b {{ {body} }}")
        gates.append((f"g{k}", 1, 2))
    operands = ["q", "q[0]", "q[1]", f"q[{draw(numbers(False))}]"]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["gate", "gate", "if", "measure", "barrier"]))
        gate = _qasm_gate(draw, gates, operands, ["pi"], 2)
        lines.append({"gate": gate, "if": f"if (c == {draw(numbers(False))}) {gate}",
                      "measure": "measure q -> c;", "barrier": "barrier q;"}[kind])
    return "\n".join(lines) + "\n"


# --- the model language -------------------------------------------------------------------

_QM_GATES = [("h", 0, 1), ("rx", 1, 1), ("ry", 1, 1), ("cx", 0, 2), ("crz", 1, 2)]
_QM_FUNCTIONS = ["sin", "cos", "exp", "log", "sqrt", "arcsin"]


def _qm_statements(draw, gates, qubits, values, depth: int, in_gate: bool) -> str:
    out = []
    expr = expressions(values, False, _QM_FUNCTIONS)
    for _ in range(draw(st.integers(1, 4))):
        kinds = ["gate", "gate"] + (["for", "repeat"] if depth < 3 else [])
        if not in_gate:
            kinds += ["measure", "reset", "barrier"] + (["if"] if depth < 3 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "gate":
            name, nparams, nqubits = draw(st.sampled_from(gates))
            args = [draw(expr) for _ in range(nparams)]
            chosen = [draw(st.sampled_from(qubits)) for _ in range(nqubits)]
            out.append(f"{name}({', '.join(args)}) {', '.join(chosen)}" if args
                       else f"{name} {', '.join(chosen)}")
        elif kind == "measure":
            out.append(f"measure q[{draw(expr)}] -> c[{draw(expr)}]")
        elif kind == "reset":
            out.append(f"reset {draw(st.sampled_from(qubits))}")
        elif kind == "barrier":
            out.append("barrier")
        else:
            inner = _qm_statements(draw, gates, qubits, [*values, f"i{depth}"], depth + 1,
                                   in_gate)
            if kind == "for":
                out.append(f"for i{depth} in {draw(expr)}..{draw(expr)} {{ {inner} }}")
            elif kind == "repeat":
                out.append(f"repeat {draw(expr)} {{ {inner} }}")
            else:
                out.append(f"if (c[{draw(expr)}] == {draw(st.sampled_from(['0', '1', '7']))}) "
                           f"{{ {inner} }}")
    return "\n".join(out)


@st.composite
def qm_models(draw) -> str:
    qubits = draw(st.sampled_from(["1", "2", "3", "4096", "4097", "1000000000", "0"]))
    size = draw(st.sampled_from(["2", "1", "1048577", "99999999999", "0"]))
    lines = ["model fuzz", f"input x[{size}]", "weight w[2, 2]"]
    gates = list(_QM_GATES)
    for k in range(draw(st.integers(0, 3))):
        body = _qm_statements(draw, gates, ["a", "b"], ["t", "pi"], 1, in_gate=True)
        lines.append(f"gate g{k}(t) a, b {{\n{body}\n}}")
        gates.append((f"g{k}", 1, 2))
    body = _qm_statements(draw, gates, ["q[0]", "q[1]", "q", f"q[{draw(numbers(False))}]"],
                          ["x[0]", "w[1, 0]", "pi"], 0, in_gate=False)
    lines += [f"circuit c(x, w) qubits {qubits} bits 2 {{\n{body}\n}}",
              "y = expval(c(x, w), Z0)", "return y"]
    return "\n".join(lines) + "\n"


def sources() -> st.SearchStrategy[str]:
    return st.one_of(qasm3_programs(), qasm2_programs(), qm_models())
