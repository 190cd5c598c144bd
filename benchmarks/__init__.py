"""Benchmark harness: qcompile's simulator against qiskit-aer and PennyLane, and its compiler
against Qiskit and pytket, each in one process.

``python -m benchmarks`` runs the workloads of issue 3 (batched QNN forward and gradient,
a 22-qubit layered circuit, a 22-qubit QFT) on every installed simulator, checks that they
agree numerically, prints medians and ratios, then runs the compiler benchmark
(:mod:`.compile`: QASMBench and generated circuits, every output checked for equivalence),
and records both in ``docs/performance.md``.
"""
