"""Experiment: per-circuit LLVM code generation (llvmlite) against the numba tape kernels.

Issue 3 asked whether a kernel generated and compiled per circuit beats the numba kernels.
This module generates one straight-line LLVM function for one constant circuit, compiles it
with MCJIT at -O3 for the host CPU, runs it on numpy buffers through ctypes and times it
against ``qcompile``'s simulator. Results and conclusion: docs/codegen.md. Run it with
``python -m benchmarks.codegen_llvm [n ...]``.

State layout: separate real and imaginary ``float64`` arrays (the layout the tape kernels
use, so both sides can vectorize). Each gate is one loop nest over the whole state:
a single-qubit gate on qubit q is an outer loop over blocks of ``2**(q+1)`` and an inner
contiguous loop of ``2**q`` pairs (matrix entries are IR constants); a cx is one loop over
``2**(n-2)`` indices with zeros inserted at both qubits, exchanging two amplitudes.
"""

from __future__ import annotations

import ctypes
import statistics
import sys
import time

import numpy as np
from llvmlite import ir

from qcompile.ir import Circuit, Gate, Register

_DOUBLE = ir.DoubleType()
_I64 = ir.IntType(64)
_PTR = _DOUBLE.as_pointer()


def ladder_circuit(num_qubits: int, layers: int = 10, seed: int = 7) -> Circuit:
    """``layers`` × (RY and RZ with constant random angles on every qubit, then a CNOT
    ladder cx(q, q+1)): the circuit both sides run."""
    rng = np.random.default_rng(seed)
    ops = []
    for _ in range(layers):
        ops += [Gate("ry", (q,), [float(rng.uniform(-np.pi, np.pi))]) for q in range(num_qubits)]
        ops += [Gate("rz", (q,), [float(rng.uniform(-np.pi, np.pi))]) for q in range(num_qubits)]
        ops += [Gate("cx", (q, q + 1)) for q in range(num_qubits - 1)]
    return Circuit("ladder", (Register("q", num_qubits),), ops=ops)


def gate_matrix(gate: Gate) -> np.ndarray:
    """The 2×2 matrix of a constant ry/rz (qiskit's convention)."""
    theta = gate.params[0].value
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    if gate.name == "ry":
        return np.array([[c, -s], [s, c]], dtype=complex)
    if gate.name == "rz":
        return np.diag([np.exp(-0.5j * theta), np.exp(0.5j * theta)])
    raise ValueError(f"no constant matrix for {gate.name}")


def _counted_loop(builder: ir.IRBuilder, count: int, body, name: str) -> None:
    """Emit ``for i in range(count): body(builder, i)`` (count ≥ 1, a constant)."""
    entry = builder.block
    loop = builder.append_basic_block(f"{name}.loop")
    done = builder.append_basic_block(f"{name}.done")
    builder.branch(loop)
    builder.position_at_end(loop)
    i = builder.phi(_I64, name=f"{name}.i")
    i.add_incoming(_I64(0), entry)
    body(builder, i)
    following = builder.add(i, _I64(1))
    i.add_incoming(following, builder.block)
    builder.cbranch(builder.icmp_unsigned("<", following, _I64(count)), loop, done)
    builder.position_at_end(done)


def _load(builder, base, index):
    return builder.load(builder.gep(base, [index], inbounds=True))


def _store(builder, value, base, index):
    builder.store(value, builder.gep(base, [index], inbounds=True))


def _combine(builder, matrix, xr, xi, yr, yi, row):
    """(m[row,0]·x + m[row,1]·y) as (re, im) with the matrix entries as constants."""
    def times(entry, ar, ai):
        er, ei = _DOUBLE(entry.real), _DOUBLE(entry.imag)
        return (builder.fsub(builder.fmul(er, ar), builder.fmul(ei, ai)),
                builder.fadd(builder.fmul(er, ai), builder.fmul(ei, ar)))
    (pr, pi), (qr, qi) = times(matrix[row, 0], xr, xi), times(matrix[row, 1], yr, yi)
    return builder.fadd(pr, qr), builder.fadd(pi, qi)


def _emit_1q(builder, re, im, num_qubits, qubit, matrix, name):
    stride = 1 << qubit

    def outer(b, h):
        base = b.mul(h, _I64(2 * stride))

        def inner(b, low):
            i0 = b.add(base, low)
            i1 = b.add(i0, _I64(stride))
            xr, xi, yr, yi = _load(b, re, i0), _load(b, im, i0), _load(b, re, i1), _load(b, im, i1)
            for row, index in ((0, i0), (1, i1)):
                real, imag = _combine(b, matrix, xr, xi, yr, yi, row)
                _store(b, real, re, index)
                _store(b, imag, im, index)
        _counted_loop(b, stride, inner, f"{name}.in")
    _counted_loop(builder, 1 << (num_qubits - 1 - qubit), outer, f"{name}.out")


def _insert_zero(b, index, bit):
    low = b.and_(index, _I64((1 << bit) - 1))
    return b.or_(b.shl(b.lshr(index, _I64(bit)), _I64(bit + 1)), low)


def _emit_cx(builder, re, im, num_qubits, control, target, name):
    lo, hi = sorted((control, target))

    def body(b, i):
        base = b.or_(_insert_zero(b, _insert_zero(b, i, lo), hi), _I64(1 << control))
        i1 = b.or_(base, _I64(1 << target))
        for part in (re, im):
            a, c = _load(b, part, base), _load(b, part, i1)
            _store(b, c, part, base), _store(b, a, part, i1)
    _counted_loop(builder, 1 << (num_qubits - 2), body, name)


def gate_passes(circuit: Circuit, fuse: bool) -> list[tuple[tuple[int, ...], np.ndarray | None]]:
    """The passes to emit: ``((qubit,), matrix)`` or ``((control, target), None)`` for cx.
    With ``fuse``, consecutive single-qubit gates on one qubit are multiplied into one matrix
    (what qcompile's planner does), so both sides do the same number of dense passes."""
    passes, pending = [], {}
    for gate in circuit.ops:
        if gate.name == "cx":
            passes += [((q,), pending.pop(q)) for q in gate.qubits if q in pending]
            passes.append((gate.qubits, None))
        elif fuse:
            pending[gate.qubits[0]] = gate_matrix(gate) @ pending.get(gate.qubits[0], np.eye(2))
        else:
            passes.append((gate.qubits, gate_matrix(gate)))
    return passes + [((q,), m) for q, m in pending.items()]


def generate_ir(circuit: Circuit, fuse: bool = False) -> str:
    """LLVM IR text of ``void kernel(double* noalias re, double* noalias im)`` applying the
    constant ry/rz/cx ``circuit`` in order, one loop nest per pass (see :func:`gate_passes`)."""
    n = circuit.num_qubits
    module = ir.Module(name=circuit.name)
    function = ir.Function(module, ir.FunctionType(ir.VoidType(), [_PTR, _PTR]), name="kernel")
    for arg in function.args:
        arg.add_attribute("noalias")
    re, im = function.args
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    for k, (qubits, matrix) in enumerate(gate_passes(circuit, fuse)):
        if matrix is None:
            _emit_cx(builder, re, im, n, qubits[0], qubits[1], f"g{k}")
        else:
            _emit_1q(builder, re, im, n, qubits[0], matrix, f"g{k}")
    builder.ret_void()
    return str(module)


class CompiledKernel:
    """A generated kernel compiled by MCJIT at -O3 for the host CPU; keeps the engine alive."""

    def __init__(self, ir_text: str):
        import llvmlite.binding as llvm
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        start = time.perf_counter()
        target = llvm.Target.from_default_triple()
        machine = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                               features=llvm.get_host_cpu_features().flatten(),
                                               opt=3, jit=True)
        module = llvm.parse_assembly(ir_text)
        module.verify()
        builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(
            speed_level=3))
        builder.getModulePassManager().run(module, builder)
        self._engine = llvm.create_mcjit_compiler(module, machine)
        self._engine.finalize_object()
        address = self._engine.get_function_address("kernel")
        self.compile_seconds = time.perf_counter() - start
        self.optimized_ir = str(module)
        self._function = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(address)

    def __call__(self, re: np.ndarray, im: np.ndarray) -> None:
        """Apply the circuit in place to the C-contiguous float64 arrays ``re``, ``im``."""
        for part in (re, im):
            if part.dtype != np.float64 or not part.flags.c_contiguous:
                raise ValueError("the kernel needs C-contiguous float64 arrays")
        self._function(re.ctypes.data, im.ctypes.data)


def run_generated(kernel: CompiledKernel, num_qubits: int) -> np.ndarray:
    """The generated kernel's final state from |0…0⟩ as a complex vector."""
    re, im = np.zeros(1 << num_qubits), np.zeros(1 << num_qubits)
    re[0] = 1.0
    kernel(re, im)
    return re + 1j * im


def _median_times(functions: dict, repeats: int) -> dict:
    """Median wall and CPU seconds of each function, called alternately ``repeats`` times."""
    walls, cpus = {k: [] for k in functions}, {k: [] for k in functions}
    for _ in range(repeats):
        for key, function in functions.items():
            w, c = time.perf_counter(), time.process_time()
            function()
            walls[key].append(time.perf_counter() - w)
            cpus[key].append(time.process_time() - c)
    return {k: (statistics.median(walls[k]), statistics.median(cpus[k])) for k in functions}


def measure(num_qubits: int, repeats: int = 7) -> dict:
    """Compile, check (state equal to 1e-12) and time both sides for one size."""
    import numba

    from qcompile.backends.statevector import simulate
    from qcompile.backends.statevector.plan import build_plan
    from qcompile.backends.statevector.simulate import _prepare, bind
    from qcompile.ir import State

    numba.set_num_threads(1)
    circuit = ladder_circuit(num_qubits)
    kernel = CompiledKernel(generate_ir(circuit))
    fused = CompiledKernel(generate_ir(circuit, fuse=True))
    ours = simulate(circuit, State())[0]
    for compiled in (kernel, fused):
        np.testing.assert_allclose(run_generated(compiled, num_qubits), ours, rtol=0, atol=1e-12)

    (plan,), _, _ = _prepare(circuit, None, np.complex128)
    # With one thread and one sample, fuse_steps runs n <= 18 as one whole-state cluster;
    # build_plan's default gives the cache-sized clusters a multi-threaded run would use.
    clustered = build_plan(list(bind(circuit, None, np.complex128)[0]), num_qubits,
                           np.complex128)
    states = np.zeros((1, 1 << num_qubits), dtype=np.complex128)
    re, im = np.zeros(1 << num_qubits), np.zeros(1 << num_qubits)
    times = _median_times({"llvm": lambda: kernel(re, im),
                           "llvm_fused": lambda: fused(re, im),
                           "numba_plan": lambda: plan.apply(states),
                           "numba_clustered": lambda: clustered.apply(states),
                           "simulate": lambda: simulate(circuit, State())}, repeats)
    passes = len(circuit.ops)
    return {"n": num_qubits, "gate_passes": passes, "fused_passes": len(gate_passes(circuit, True)),
            "clusters": (len(plan.clusters), len(clustered.clusters)),
            "compile_s": kernel.compile_seconds, "fused_compile_s": fused.compile_seconds,
            "times": times}


def main(sizes: list[int]) -> None:
    for n in sizes:
        r = measure(n)
        t = r["times"]
        print(f"n={n} passes={r['gate_passes']} fused={r['fused_passes']} "
              f"clusters={r['clusters']} compile={r['compile_s']:.1f}/{r['fused_compile_s']:.1f} s"
              " | median wall/cpu ms: "
              + " ".join(f"{k}={w * 1e3:.2f}/{c * 1e3:.2f}" for k, (w, c) in t.items())
              + f" | llvm per pass {t['llvm'][0] / r['gate_passes'] * 1e6:.1f} us, fused "
              f"{t['llvm_fused'][0] / r['fused_passes'] * 1e6:.1f} us", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [12, 18, 22])
