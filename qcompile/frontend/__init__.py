"""Frontends: the model language, OpenQASM 2/3, Qiskit circuits and the Python builder, each
producing the same IR."""
