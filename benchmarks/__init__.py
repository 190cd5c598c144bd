"""Benchmark harness: qcompile's simulator against qiskit-aer and PennyLane in one process.

``python -m benchmarks`` runs the workloads of issue 3 (batched QNN forward and gradient,
a 22-qubit layered circuit, a 22-qubit QFT) on every installed simulator, checks that they
agree numerically, prints medians and ratios, and records them in ``docs/performance.md``.
"""
