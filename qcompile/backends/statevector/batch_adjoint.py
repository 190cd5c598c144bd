"""Adjoint gradients of a batch of small unitary circuits, one whole sample per thread.

The per-gate sweep of :mod:`.adjoint` launches several kernels per gate over the batch's
``(B, 2**n)`` states: for a batch of small states that is mostly launch overhead and memory
traffic. Here a single numba kernel does, per sample and thread, the forward plan
(:mod:`.plan`), seeds the costate G from the readout's cotangent, and walks a *backward tape*
that un-applies every gate from ψ and G and collects the derivative terms. ψ and G stay
in the thread's cache; only the angle derivatives ``(B, A)`` leave the kernel.

Derivative terms. Gates are taken in *blocks*: a run of single-qubit gates on one qubit,
multiplied into one 2x2 matrix V (as the forward plan does), or one multi-qubit gate. For an
angle θ of gate U_j inside V = ... U_j W_j (W_j: the block's gates before U_j),
dL/dθ = Re⟨G_after| ∂V/∂θ |ψ_before⟩ = Re⟨G_before| K |ψ_before⟩ with G_before = V† G_after
and K = W_j† U_j† ∂U_j/∂θ W_j, a small matrix built per batch in numpy (for a rotation
U_j† ∂U_j/∂θ is just -i/2 times its Pauli). So a block is un-applied once; for a single-qubit
block one more pass gathers the 2x2 overlaps R[a, b] = Σ conj(G[.. a ..]) ψ[.. b ..]
(a, b: the qubit's value), and each of its angles is then Re Σ K[a, b] R[a, b]: K is
anti-Hermitian, so four real sums of R suffice. Un-applying and gathering in one fused loop
was measured slower (1.5–1.8 against 1.3 ns per amplitude, 16 qubits): too few registers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from ...ir import Barrier, Circuit, ExpVal, Probs, Unitary
from ...ir.expr import Expr, evaluate, is_constant
from ...ir.gates import GATES, gate_matrix
from . import tape as tp
from .batch_readout import pauli_masks
from .gate_angles import gate_derivative
from .kernels import column_offsets
from .plan import Plan, _Encoder, _Item, float_past_permutations, merge_permutation_rows

EXPECTATION, PROBABILITIES = tp.EXPECTATION, tp.PROBABILITIES


@dataclass
class Block:
    """Gates un-applied together: ``matrix`` ``(M, d, d)``, and per symbolic angle its
    generator K ``(M, d, d)`` (see the module docstring)."""

    qubits: tuple[int, ...]
    matrix: np.ndarray
    diagonal: bool
    generators: list[tuple[Expr, np.ndarray]] = field(default_factory=list)

    def then(self, later: Block) -> Block:
        """This block followed by ``later`` on the same single qubit."""
        w_dagger = _dagger(self.matrix)
        moved = [(angle, w_dagger @ k @ self.matrix) for angle, k in later.generators]
        return Block(self.qubits, later.matrix @ self.matrix, self.diagonal and later.diagonal,
                     self.generators + moved)


def _dagger(matrix: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(matrix, -1, -2))


def _batched(matrix: np.ndarray) -> np.ndarray:
    return np.asarray(matrix, dtype=complex) if matrix.ndim == 3 else np.asarray(
        matrix, dtype=complex)[None]


def gate_block(op, env) -> Block:
    """The block of one gate or unitary, with the generators of its symbolic angles."""
    if isinstance(op, Unitary):
        return Block(tuple(op.qubits), _batched(op.matrix), False)
    angles = [np.asarray(evaluate(p, env), dtype=float) for p in op.params]
    matrix = _batched(gate_matrix(op.name, angles))
    block = Block(tuple(op.qubits), matrix, GATES[op.name].diagonal)
    for index, angle in enumerate(op.params):
        if not is_constant(angle):
            derivative = _batched(gate_derivative(op.name, angles, index))
            block.generators.append((angle, _dagger(matrix) @ derivative))
    return block


def circuit_blocks(circuit: Circuit, env) -> list[Block]:
    """The circuit's gates as blocks in an order equivalent to the program's: single-qubit
    runs are merged and placed where they end (gates on other qubits commute with them)."""
    blocks: list[Block] = []
    pending: dict[int, Block] = {}
    for op in circuit.ops:
        if isinstance(op, Barrier):
            continue
        block = gate_block(op, env)
        if len(block.qubits) == 1:
            q = block.qubits[0]
            pending[q] = block if q not in pending else pending[q].then(block)
            continue
        blocks += [pending.pop(q) for q in block.qubits if q in pending]
        blocks.append(block)
    return blocks + list(pending.values())


@dataclass(frozen=True)
class BackwardTape:
    """Blocks in reverse as tape rows: each block's inverse, then one GRADIENT row per
    angle; ``angles[slot]`` is the angle whose derivative lands in column ``slot``."""

    tape: np.ndarray
    shared: np.ndarray
    per_sample: np.ndarray
    angles: tuple[Expr, ...]


def backward_tape(blocks: list[Block], num_qubits: int, dtype) -> BackwardTape:
    """The backward tape of ``blocks``. The *opening* blocks (single-qubit blocks that come
    first on their qubit) commute with each other and with every block before them, so they
    are taken last and never un-applied: nothing later needs ψ or G before them, and
    Re⟨V†G| K |V†ψ⟩ = Re⟨G| V K V† |ψ⟩ gives their angles from the current ψ and G. That
    saves two passes per qubit (an embedding layer merged with the first weights)."""
    encoder = _Encoder(dtype)
    identity = {q: q for q in range(num_qubits)}
    everything = tuple(range(num_qubits))
    rows, angles = [], []
    opening, body = _opening_blocks(blocks)
    body = float_past_permutations(body, lambda block: block.qubits, _is_permutation)
    for block in reversed(body):
        inverse = _dagger(block.matrix)
        values = np.diagonal(inverse, axis1=1, axis2=2) if block.diagonal else inverse
        rows.append(encoder.row(_Item(block.qubits, values, block.diagonal), identity,
                                everything, spread_diagonals=False))
        for angle, generator in block.generators:
            rows.append(encoder.gradient_row(block.qubits, generator, len(angles)))
            angles.append(angle)
    rows = merge_permutation_rows(rows, num_qubits, encoder)
    for block in opening:
        for angle, generator in block.generators:
            moved = block.matrix @ generator @ _dagger(block.matrix)
            rows.append(encoder.gradient_row(block.qubits, moved, len(angles)))
            angles.append(angle)
    table = np.array(rows, dtype=np.int64).reshape(-1, tp.HEADER + tp.MAX_WIDTH)
    return BackwardTape(table, *encoder.arrays(), tuple(angles))


def _is_permutation(block: Block) -> bool:
    return not block.generators and _Item(block.qubits, block.matrix,
                                          False).permutation is not None


def _opening_blocks(blocks: list[Block]) -> tuple[list[Block], list[Block]]:
    """The single-qubit blocks that come first on their qubit, and the other blocks."""
    opening, body, touched = [], [], set()
    for block in blocks:
        if len(block.qubits) == 1 and block.qubits[0] not in touched:
            opening.append(block)
        else:
            body.append(block)
        touched.update(block.qubits)
    return opening, body


def readout_terms(output: ExpVal | Probs, num_qubits: int):
    """Kernel arguments describing the readout: mode, Pauli flips, signs, factors (2 · coeff
    · i**n_Y, the costate's seed), observable columns, and the Probs qubits."""
    terms = []
    if isinstance(output, ExpVal):
        for column, observable in enumerate(output.observables):
            for term in observable:
                flip, sign, phase = pauli_masks(term)
                terms.append((flip, sign, 2 * term.coeff * phase, column))
    flips, signs, factors, columns = (np.array([t[k] for t in terms], dtype=kind)
                                      for k, kind in enumerate((np.int64, np.int64,
                                                                np.complex128, np.int64)))
    qubits = tuple(output.qubits or range(num_qubits)) if isinstance(output, Probs) else ()
    mode = EXPECTATION if isinstance(output, ExpVal) else PROBABILITIES
    return mode, flips, signs, factors, columns, np.array(qubits, dtype=np.int64)


def angle_derivatives(plan: Plan | None, backward: BackwardTape, num_qubits: int, batch: int,
                      output: ExpVal | Probs, cotangent: np.ndarray) -> np.ndarray:
    """dL/d angle for every sample and every slot of ``backward``, shape ``(B, A)``.

    ``plan`` is the forward plan as one cluster over all qubits (None: no gates);
    L = Σ cotangent · readout."""
    if plan is None or not plan.clusters:
        forward = np.zeros((0, tp.HEADER + tp.MAX_WIDTH), np.int64)
        shared, per_sample = np.zeros(1, backward.shared.dtype), np.zeros(
            (1, 1), backward.shared.dtype)
    else:
        forward, shared, per_sample = plan.clusters[0].tape, plan.shared, plan.per_sample
    out = np.zeros((batch, len(backward.angles)))
    first, forward = tp.split_product_prefix(forward, num_qubits)
    run_batch_adjoint(num_qubits, first, forward, shared, per_sample, backward.tape,
                      backward.shared, backward.per_sample, batch, tp.workers(batch),
                      *readout_terms(output, num_qubits),
                      np.ascontiguousarray(cotangent, dtype=np.float64), out)
    return out


@njit(cache=True, parallel=True)
def run_batch_adjoint(num_qubits, first, forward, shared, per_sample, backward, back_shared,
                      back_per_sample, batch, count, mode, flips, signs, factors, columns,
                      marginal_qubits, cotangent, out):
    """Per sample: ψ = forward tape on the product state of ``first``
    (:func:`.tape.split_product_prefix`), G = costate of ``cotangent[b]`` (ExpVal:
    G = Σ_k factors[k] cotangent[b, columns[k]] P_k ψ; Probs: G_i = 2 cotangent[b,
    outcome(i)] ψ_i), then the backward tape, which writes ``out[b]``. ``count``:
    :func:`.tape.workers`."""
    size = 1 << num_qubits
    for worker in prange(count):
        pr, pi, gr, gi = np.empty(size), np.empty(size), np.empty(size), np.empty(size)
        scratch = tp.scratch_for(forward, size)
        if scratch.size < size:  # the backward tape may permute where the forward does not
            scratch = tp.scratch_for(backward, size)
        for b in range(np.int64(worker), batch, count):
            row = per_sample[0 if per_sample.shape[0] == 1 else b]
            tp.start_product_state(pr, pi, first, shared, row)
            tp.run_tape(pr, pi, forward, shared, row, scratch)
            if mode == EXPECTATION:
                gr[:] = 0.0
                gi[:] = 0.0
                for k in range(flips.size):
                    _add_pauli_image(pr, pi, gr, gi, factors[k] * cotangent[b, columns[k]],
                                     flips[k], signs[k])
            else:
                for i in range(size):
                    j = 0
                    for k in range(marginal_qubits.size):
                        j |= ((i >> marginal_qubits[k]) & 1) << k
                    weight = 2.0 * cotangent[b, j]
                    gr[i] = weight * pr[i]
                    gi[i] = weight * pi[i]
            run_backward_tape(pr, pi, gr, gi, backward, back_shared,
                              back_per_sample[0 if back_per_sample.shape[0] == 1 else b],
                              scratch, out[b])


@njit(cache=True, fastmath=True)
def _add_pauli_image(pr, pi, gr, gi, factor, flip, sign):
    """G += factor · P ψ for the Pauli string of ``flip`` and ``sign`` (without its i**n_Y,
    which ``factor`` carries)."""
    for i in range(pr.size):
        f = (1 - 2 * tp.parity(i & sign)) * factor
        j = i ^ flip
        gr[j] += f.real * pr[i] - f.imag * pi[i]
        gi[j] += f.real * pi[i] + f.imag * pr[i]


@njit(cache=True)
def run_backward_tape(pr, pi, gr, gi, tape, shared, per_sample_row, scratch, out):
    """Un-apply every block from ψ and G; GRADIENT rows add their term to ``out``. The
    GRADIENT rows of one single-qubit block share one pass of :func:`_overlaps1`."""
    overlaps = np.zeros(4)  # see _overlaps1; valid for ``overlap_qubit``
    overlap_qubit = -1
    slot_column = tp.HEADER + tp.MAX_WIDTH - 1
    for r in range(tape.shape[0]):
        kind, width = tape[r, 0], tape[r, 1]
        c = shared if tape[r, 2] == 0 else per_sample_row
        o = tape[r, 3]
        q = tape[r, tp.HEADER]
        if kind == tp.GRADIENT:
            if width == 1:
                if overlap_qubit != q:
                    _overlaps1(pr, pi, gr, gi, q, overlaps)
                    overlap_qubit = q
                # K is anti-Hermitian (U† dU is, for unitary U): only four sums matter.
                term = (-c[o].imag * overlaps[0] - c[o + 3].imag * overlaps[1]
                        - c[o + 1].imag * overlaps[2] + c[o + 1].real * overlaps[3])
                out[tape[r, slot_column]] += term
            else:
                out[tape[r, slot_column]] += _overlap_dense(
                    pr, pi, gr, gi, tape[r, tp.HEADER:tp.HEADER + width], c, o, scratch)
        else:
            tp.apply_row(pr, pi, tape, r, shared, per_sample_row, scratch)
            tp.apply_row(gr, gi, tape, r, shared, per_sample_row, scratch)
            overlap_qubit = -1


@njit(cache=True, inline="always")
def _halves(re, im, high, bit):
    """The amplitudes with the qubit at 0 and at 1 in the block starting at ``high``."""
    return (re[high:high + bit], im[high:high + bit], re[high + bit:high + 2 * bit],
            im[high + bit:high + 2 * bit])


@njit(cache=True, fastmath=True)
def _overlaps1(pr, pi, gr, gi, q, overlaps):
    """The sums that Re Σ K[a, b] R[a, b] needs for an anti-Hermitian K on qubit ``q``,
    R[a, b] = Σ conj(G[.. a ..]) ψ[.. b ..]: Im R00, Im R11, Im (R01 + R10), Re (R01 - R10).
    (With K = -iH, H Hermitian, the term is Im Σ H[a, b] R[a, b].)"""
    bit = 1 << q
    s00 = s11 = s_sum = s_diff = 0.0
    # Bits 0 and 1: constant strides instead of inner runs of length 1 and 2 (vectorized
    # as interleaved accesses: 3.9 → 1.0 and 2.4 → 1.0 ns per amplitude), as in tape._dense1.
    if q <= 1 and pr.size >= 4:
        for j in range(pr.size >> 2):
            for i0 in (4 * j, 4 * j + 1) if q == 1 else (4 * j, 4 * j + 2):
                i1 = i0 + bit
                s00 += gr[i0] * pi[i0] - gi[i0] * pr[i0]
                s11 += gr[i1] * pi[i1] - gi[i1] * pr[i1]
                s_sum += gr[i0] * pi[i1] - gi[i0] * pr[i1] + gr[i1] * pi[i0] - gi[i1] * pr[i0]
                s_diff += gr[i0] * pr[i1] + gi[i0] * pi[i1] - gr[i1] * pr[i0] - gi[i1] * pi[i0]
        overlaps[0], overlaps[1], overlaps[2], overlaps[3] = s00, s11, s_sum, s_diff
        return
    for high in range(0, pr.size, 2 * bit):
        # Slices: the loop below then indexes from 0 and vectorizes.
        p0r, p0i, p1r, p1i = _halves(pr, pi, high, bit)
        g0r, g0i, g1r, g1i = _halves(gr, gi, high, bit)
        for j in range(bit):
            s00 += g0r[j] * p0i[j] - g0i[j] * p0r[j]
            s11 += g1r[j] * p1i[j] - g1i[j] * p1r[j]
            s_sum += g0r[j] * p1i[j] - g0i[j] * p1r[j] + g1r[j] * p0i[j] - g1i[j] * p0r[j]
            s_diff += g0r[j] * p1r[j] + g0i[j] * p1i[j] - g1r[j] * p0r[j] - g1i[j] * p0i[j]
    overlaps[0], overlaps[1], overlaps[2], overlaps[3] = s00, s11, s_sum, s_diff


@njit(cache=True)
def _overlap_dense(pr, pi, gr, gi, qubits, c, o, scratch):
    """Re ⟨G| K |ψ⟩ for the ``d x d`` matrix K at ``c[o:]`` on ``qubits`` (any width)."""
    width = qubits.size
    d = 1 << width
    offsets = column_offsets(qubits)
    ordered = np.sort(qubits)
    total = 0.0
    for group in range(pr.size >> width):
        base = group
        for q in ordered:
            base = tp._insert_zero_bit(base, q)
        for column in range(d):
            scratch[column] = complex(pr[base + offsets[column]], pi[base + offsets[column]])
        for row in range(d):
            acc = 0j
            start = o + row * d
            for column in range(d):
                acc += c[start + column] * scratch[column]
            g = complex(gr[base + offsets[row]], gi[base + offsets[row]])
            total += (np.conj(g) * acc).real
    return total
