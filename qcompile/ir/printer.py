"""Program → textual IR, the compiler's debugging surface.

The text is meant to be read by people and parsed back by :mod:`qcompile.ir.parser`: numbers
are written with ``repr`` (unitary entries and Pauli coefficients included), so a printed
program parses back to an equal one, bit for bit. Qubits and classical bits are written by
register, ``q[3]``; Pauli factors and probability qubits by flat index, ``Z3``.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import textwrap

from .circuit import Circuit, Param
from .diagnostics import QCompileError
from .expr import format_expr
from .ops import Barrier, Condition, Gate, IfElse, Measure, Operation, Reset, SetBits, Unitary
from .program import Counts, ExpVal, PauliTerm, Probs, Program, QuantumCall, State, TensorOp

FORMAT_VERSION = 1
#: The first line of every textual IR file: format name and version.
HEADER = f"qcompile.ir {FORMAT_VERSION}"

_NAME = re.compile(r"[^\W\d]\w*")
_VALUE_NAME = re.compile(r"[\w.]+")
_INDENT = "  "


def print_program(program: Program) -> str:
    """The textual IR of ``program`` (``Program.metadata`` is not part of it)."""
    declarations = [f"input {_name(d.name)}: {_shape(d.shape)}" for d in program.inputs]
    declarations += [f"weight {_name(d.name)}: {_shape(d.shape)}"
                     + ("" if d.trainable else " frozen") for d in program.weights]
    statements = [_statement(s) for s in program.body]
    if program.outputs:
        statements.append("return " + ", ".join(map(_value, program.outputs)))
    sections = [declarations, *(_circuit_lines(c) for c in program.circuits), statements]
    body = "\n\n".join("\n".join(section) for section in sections if section)
    lines = [HEADER, f"program {_title(program.name)} {{", textwrap.indent(body, _INDENT), "}"]
    return "\n".join(line for line in lines if line) + "\n"


# --- circuits -------------------------------------------------------------------------------

def _circuit_lines(circuit: Circuit) -> list[str]:
    params = ", ".join(_param(p) for p in circuit.params)
    head = f"circuit {_title(circuit.name)}({params})"
    if circuit.qregs:
        head += " qubits " + ", ".join(f"{_name(r.name)}[{r.size}]" for r in circuit.qregs)
    if circuit.cregs:
        head += " bits " + ", ".join(f"{_name(r.name)}[{r.size}]" for r in circuit.cregs)
    return [head + " {", *_block_lines(circuit, circuit.ops, _INDENT), "}"]


def _param(param: Param) -> str:
    shape = _shape(param.shape) if param.shape else ""
    return f"{_name(param.name)}: {param.role}{shape}"


def _block_lines(circuit: Circuit, ops, indent: str) -> list[str]:
    lines: list[str] = []
    for op in ops:
        if isinstance(op, IfElse):
            lines.append(f"{indent}if ({_condition(circuit, op.condition)}) {{")
            lines += _block_lines(circuit, op.then_body, indent + _INDENT)
            if op.else_body:
                lines.append(f"{indent}}} else {{")
                lines += _block_lines(circuit, op.else_body, indent + _INDENT)
            lines.append(f"{indent}}}")
        else:
            lines.append(indent + _operation(circuit, op, indent))
    return lines


def _operation(circuit: Circuit, op: Operation, indent: str) -> str:
    qubits = ", ".join(circuit.qubit_name(q) for q in getattr(op, "qubits", ()))
    if isinstance(op, Gate):
        params = f"({', '.join(format_expr(p) for p in op.params)})" if op.params else ""
        return f"{op.name}{params} {qubits}"
    if isinstance(op, Measure):
        return f"{circuit.clbit_name(op.clbit)} = measure {circuit.qubit_name(op.qubit)}"
    if isinstance(op, Reset):
        return f"reset {circuit.qubit_name(op.qubit)}"
    if isinstance(op, SetBits):
        return f"set {_bits(circuit, op.clbits)} = {op.value}"
    if isinstance(op, Barrier):
        return f"barrier {qubits}".rstrip()
    if isinstance(op, Unitary):
        head = f"unitary {json.dumps(op.label)} {qubits} ["
        rows = ("[" + ", ".join(_complex(z) for z in row) + "]" for row in op.matrix)
        return head + (",\n" + " " * (len(indent) + len(head))).join(rows) + "]"
    raise TypeError(f"not an operation: {op!r}")


def _condition(circuit: Circuit, condition: Condition) -> str:
    return f"{_bits(circuit, condition.clbits)} == {condition.value}"


def _bits(circuit: Circuit, bits: tuple[int, ...]) -> str:
    """A whole register by name, one bit by itself, else a list of bits."""
    offset = 0
    for register in circuit.cregs:
        if len(bits) > 1 and bits == tuple(range(offset, offset + register.size)):
            return _name(register.name)
        offset += register.size
    names = [circuit.clbit_name(b) for b in bits]
    return names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"


def _complex(z: complex) -> str:
    """``repr`` of both parts, so the entry parses back exactly (signed zeros included)."""
    sign = "-" if math.copysign(1.0, z.imag) < 0 else "+"
    return f"{float(z.real)!r}{sign}{abs(float(z.imag))!r}j"


# --- the classical program ------------------------------------------------------------------

def _statement(statement) -> str:
    if isinstance(statement, QuantumCall):
        args = ", ".join(f"{_name(p)}={_value(v)}" for p, v in statement.args)
        return (f"{_value(statement.result)} = call {_title(statement.circuit)}({args}) -> "
                f"{_output(statement.output)}")
    if isinstance(statement, TensorOp):
        text = (f"{_value(statement.result)} = {_name(statement.op)}("
                f"{', '.join(map(_value, statement.operands))})")
        if statement.attrs:
            text += " {" + ", ".join(f"{_name(k)}={_attribute(v)}"
                                     for k, v in statement.attrs) + "}"
        return text
    raise TypeError(f"not a statement: {statement!r}")


def _output(output) -> str:
    if isinstance(output, ExpVal):
        return "expval(" + ", ".join(_pauli_sum(obs) for obs in output.observables) + ")"
    if isinstance(output, Probs):
        return "probs(" + ", ".join(map(str, output.qubits)) + ")"
    if isinstance(output, Counts):
        return f"counts(shots={output.shots})"
    if isinstance(output, State):
        return "state"
    raise TypeError(f"not a quantum call output: {output!r}")


def _pauli_sum(terms: tuple[PauliTerm, ...]) -> str:
    """``0.5 * Z0 Z1 - X2 + 0.25``: a unit coefficient is left out, an identity term is
    just its coefficient."""
    text = ""
    for position, term in enumerate(terms):
        negative = math.copysign(1.0, term.coeff) < 0
        factors = " ".join(f"{p}{q}" for q, p in term.paulis)
        magnitude = repr(abs(term.coeff))
        if not factors:
            body = magnitude
        elif abs(term.coeff) == 1.0:
            body = factors
        else:
            body = f"{magnitude} * {factors}"
        if position == 0:
            text = ("-" if negative else "") + body
        else:
            text += (" - " if negative else " + ") + body
    return text


def _attribute(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_attribute, value)) + "]"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return repr(float(value))
    raise QCompileError(f"attribute value {value!r} cannot be written in the textual IR "
                        "(use an integer, a finite float, a string or a list of them)")


# --- names ----------------------------------------------------------------------------------

def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def _name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise QCompileError(f"name {name!r} cannot be written in the textual IR: names of "
                            "registers, parameters, values and operations must be identifiers")
    return name


def _title(name: str) -> str:
    """Program and circuit names: an identifier, or a quoted string for anything else."""
    return name if _NAME.fullmatch(name) else json.dumps(name)


def _value(name: str) -> str:
    if not _VALUE_NAME.fullmatch(name):
        raise QCompileError(f"value name {name!r} cannot be written in the textual IR: use "
                            "letters, digits, '_' and '.'")
    return "%" + name
