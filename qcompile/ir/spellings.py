"""How other tools spell the IR's gates: OpenQASM 3 and Qiskit.

Both mostly use the IR's canonical names (:attr:`.gates.GateSpec.canonical`); the
exceptions, each with its reason, are the tables below. Everything else about a gate lives on
its :class:`.gates.GateSpec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from .gates import GATES, STDGATES

#: IR gates that OpenQASM 3 output writes as their definition at every use, never by name:
#: stdgates.inc defines ``cu(θ, φ, λ, γ)`` with a phase ``γ - θ/2`` on the control, which
#: Amazon Braket applies, while its comment, Qiskit and the IR mean a controlled ``U`` with
#: relative phase ``γ``; and stdgates.inc defines ``u2`` (like ``phase``/``u1``/``u3``) on a
#: qubit named ``q``, which Braket's interpreter (1.41) confuses with a register ``q`` after a
#: mid-circuit measurement. Their definitions use unambiguous gates.
OPENQASM_INLINE = frozenset({"cu", "u2"})

#: The builtin gate of OpenQASM 3, declared without any include.
OPENQASM_BUILTIN = "U"

#: Canonical IR gates that are exactly the Qiskit standard gate of the same name (Qiskit has
#: no iswapdg; a gate added to the library reaches Qiskit through its definition unless it
#: is listed here).
QISKIT_GATES = frozenset("""
    id x y z h s sdg t tdg sx sxdg rx ry rz p u u2 cx cy cz ch swap iswap ecr cp crx cry crz
    cu3 cu rxx ryy rzz ccx ccz cswap
""".split())


def openqasm_name(name: str) -> str | None:
    """The name OpenQASM 3 output calls gate ``name`` by: the canonical name (``U``, the
    builtin, for ``u``); None for the gates of :data:`OPENQASM_INLINE`."""
    if name in OPENQASM_INLINE:
        return None
    canonical = GATES[name].canonical
    return OPENQASM_BUILTIN if canonical == "u" else canonical


def openqasm_declared(name: str) -> bool:
    """Whether OpenQASM 3 output may call ``name`` without defining it (builtin or in
    stdgates.inc, which the output includes)."""
    return name == OPENQASM_BUILTIN or STDGATES in GATES[name].libraries


def qiskit_name(name: str) -> str | None:
    """The Qiskit standard gate that is exactly IR gate ``name``, or None."""
    canonical = GATES[name].canonical
    return canonical if canonical in QISKIT_GATES else None


def from_qiskit_name(name: str, num_qubits: int, num_params: int) -> str | None:
    """The IR gate for a Qiskit standard gate of this name and arity, or None."""
    spec = GATES.get(name)
    if spec is None or (spec.num_qubits, spec.num_params) != (num_qubits, num_params):
        return None
    return name if spec.canonical in QISKIT_GATES else None


def qiskit_gate(name: str, params: Sequence = ()):
    """The Qiskit standard gate that is IR gate ``name`` (it must have a
    :func:`qiskit_name`), with ``params``: numbers or Qiskit parameters."""
    gate = _qiskit_standard_gates()[qiskit_name(name)]
    return gate.base_class(*params) if params else gate


@cache
def _qiskit_standard_gates() -> dict:
    from qiskit.circuit.library import get_standard_gate_name_mapping  # slow to import

    return get_standard_gate_name_mapping()
