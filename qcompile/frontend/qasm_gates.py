"""The standard OpenQASM gate libraries, built in instead of read from include files.

``qelib1.inc`` (OpenQASM 2, in the extended form Qiskit ships) and ``stdgates.inc``
(OpenQASM 3) name gates whose matrices the IR already knows, so those map straight onto IR
gates. The few qelib1 gates the IR lacks are given by their standard qelib1 definitions,
written in OpenQASM and inlined like user gates.
"""

from __future__ import annotations

from ..ir import GATES

#: Gates of the OpenQASM 3 standard library; every one is an IR gate of the same name.
STDGATES = frozenset("""
    p x y z h s sdg t tdg sx rx ry rz cx cy cz cp crx cry crz ch swap ccx cswap cu CX phase
    cphase id u1 u2 u3
""".split())

#: qelib1 gates that are IR gates of the same name.
QELIB1 = frozenset("""
    u3 u2 u1 cx id u p x y z h s sdg t tdg rx ry rz sx sxdg cz cy swap ch ccx cswap crx cry
    crz cu1 cp cu3 cu rxx rzz
""".split())

#: qelib1 gates the IR lacks. The relative-phase Toffolis are defined by their qelib1.inc
#: circuits; the multi-controlled gates by what they are, ``ctrl(n) @``, which is exact where
#: some qelib1.inc versions' c4x body is not.
QELIB1_DEFINITIONS = """
gate u0(gamma) q { }
gate csx a, b { ctrl @ sx a, b; }
gate c3x a, b, c, d { ctrl(3) @ x a, b, c, d; }
gate c3sqrtx a, b, c, d { ctrl(3) @ sx a, b, c, d; }
gate c4x a, b, c, d, e { ctrl(4) @ x a, b, c, d, e; }
gate rccx a, b, c {
  u2(0, pi) c; u1(pi/4) c; cx b, c; u1(-pi/4) c; cx a, c; u1(pi/4) c; cx b, c;
  u1(-pi/4) c; u2(0, pi) c;
}
gate rc3x a, b, c, d {
  u2(0, pi) d; u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0, pi) d; cx a, d; u1(pi/4) d;
  cx b, d; u1(-pi/4) d; cx a, d; u1(pi/4) d; cx b, d; u1(-pi/4) d; u2(0, pi) d;
  u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0, pi) d;
}
"""

#: Include files the importer knows, with the IR gates each one brings into scope.
INCLUDES = {"qelib1.inc": QELIB1, "stdgates.inc": STDGATES}

#: Gates named by one more control: ``ctrl @ g`` is ``CONTROLLED[g]`` with the control first.
CONTROLLED = {
    "x": "cx", "CX": "ccx", "cx": "ccx", "y": "cy", "z": "cz", "cz": "ccz", "h": "ch",
    "p": "cp", "phase": "cp", "u1": "cu1", "rx": "crx", "ry": "cry", "rz": "crz",
    "swap": "cswap", "U": "cu3", "u3": "cu3", "u": "cu3",
}

assert all(name in GATES for name in STDGATES | QELIB1 | set(CONTROLLED.values()))
