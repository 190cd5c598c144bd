"""The standard OpenQASM gate libraries, built in instead of read from include files.

``qelib1.inc`` (OpenQASM 2, in the extended form Qiskit ships) and ``stdgates.inc``
(OpenQASM 3) name gates the IR gate library already holds (each spec lists the include files
that declare it), so those map straight onto IR gates. The few qelib1 gates the IR lacks are
given by their standard qelib1 definitions, written in OpenQASM and inlined like user gates.
"""

from __future__ import annotations

from ..ir.gates import QELIB1, STDGATES

#: Include files the importer knows.
INCLUDE_FILES = (QELIB1, STDGATES)

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
