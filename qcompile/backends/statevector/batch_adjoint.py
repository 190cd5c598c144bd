"""Adjoint gradients of a batch of small unitary circuits, one whole sample per thread.

The per-gate sweep of :mod:`.adjoint` launches several kernels per gate over the batch's
``(B, 2**n)`` states: for a batch of small states that is mostly launch overhead and memory
traffic. Here a single numba kernel does, per sample and thread, a *forward tape* from the
product state, seeds the costate G from the readout's cotangent, and walks a *backward
tape* that un-applies the gates from G (and from ψ where needed) and collects the
derivative terms. Only the angle derivatives ``(B, A)`` leave the kernel.

Blocks. Gates are taken in blocks: a run of single-qubit gates on one qubit, multiplied into
one 2x2 matrix V, or one multi-qubit gate. For an angle θ of gate U_j inside
V = ... U_j W_j (W_j: the block's gates before U_j), dL/dθ = Re⟨G_after| ∂V/∂θ |ψ_before⟩
= Re⟨G_before| K |ψ_before⟩ with K = W_j† U_j† ∂U_j/∂θ W_j, a small anti-Hermitian matrix
built per batch in numpy (for a rotation U_j† ∂U_j/∂θ is -i/2 times its Pauli).

Layers. Consecutive single-qubit blocks on distinct qubits commute, so each one's terms can
be read after the whole layer: Re⟨V†G| K |V†ψ⟩ = Re⟨G| V K V† |ψ⟩. One OVERLAPS pass then
sums, for every qubit of the layer at once, the 2x2 overlaps R[a, b] = Σ conj(G[.. a ..])
ψ[.. b ..] (a, b: the qubit's value) tile by tile in cache, and every angle of the layer is
Re Σ K'[a, b] R[a, b], four real sums per qubit (K' = V K V† is anti-Hermitian). A layer
costs one pass instead of one per qubit. The layer that opens the circuit is never
un-applied: its product state starts the forward tape, and its overlaps come from that
product state and two contractions of G (:func:`product_overlaps`).

Checkpoints. Un-applying ψ only recovers states the forward tape already had. Runs of cx/swap
blocks (a CNOT ring) are one PERMUTE gather, which needs a second buffer anyway: the forward
tape gathers into a fresh buffer and keeps the state before the ring (up to
:data:`CHECKPOINT_BYTES` per thread), and the backward tape, after un-applying the ring from
G, takes that state back as ψ. Rows that un-apply ψ before such a restore, with no derivative
reading ψ in between, leave ψ alone (``psi_too``): for a layered network ψ is never
un-applied, and the backward sweep costs one pass per gate on G plus one per layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numba import njit, prange

from ...ir import Barrier, Circuit, ExpVal, Probs, Unitary
from ...ir.expr import Expr, evaluate, is_constant
from ...ir.gates import GATES, gate_matrix
from . import tape as tp
from .bits import column_offsets, insert_zero_bit, parity
from .gate_angles import gate_derivative
from .permutation import permute_into
from .plan import MIN_PERMUTATION_RUN, PlanGate, TapeEncoder, float_past_permutations

EXPECTATION, PROBABILITIES = tp.EXPECTATION, tp.PROBABILITIES
#: Memory per thread for checkpoints of ψ, beyond ψ, G and a spare G: 32 states of 16
#: qubits, 8 of 18 (in complex128).
CHECKPOINT_BYTES = 32 << 20
#: Overlap tiles of 2**12 amplitudes: ψ and G of a tile (128 KiB) stay in L2 while every
#: qubit of a layer is summed over them.
TILE_BITS = 12


@dataclass
class Block:
    """Gates un-applied together: ``matrix`` ``(M, d, d)``, and per symbolic angle its
    generator K ``(M, d, d)`` (see the module docstring)."""

    qubits: tuple[int, ...]
    matrix: np.ndarray
    diagonal: bool
    generators: list[tuple[Expr, np.ndarray]] = field(default_factory=list)

    @cached_property
    def is_permutation(self) -> bool:
        """A constant cx or swap (applied by moving amplitudes)."""
        return not self.generators and PlanGate(self.qubits, self.matrix,
                                                False).permutation is not None

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
class AdjointTapes:
    """What :func:`run_batch_adjoint` runs for one bound circuit: the product start
    ``first`` (as :func:`.tape.split_product_prefix` gives it), the forward and backward
    tapes over one pair of coefficient arrays, which backward rows un-apply ψ as well as G
    (``psi_too``), how many checkpoints the forward tape keeps, the read-out's sign masks on
    the state where the forward tape ends, and ``angles[slot]``, the angle whose derivative
    lands in column ``slot``."""

    first: np.ndarray
    forward: np.ndarray
    backward: np.ndarray
    psi_too: np.ndarray
    checkpoints: int
    shared: np.ndarray
    per_sample: np.ndarray
    signs: np.ndarray
    angles: tuple[Expr, ...]


def adjoint_tapes(blocks: list[Block], num_qubits: int, dtype, signs: np.ndarray,
                  z_only: bool) -> AdjointTapes:
    """The tapes of ``blocks`` (see the module docstring). ``z_only``: every read-out term
    is a Z-string, so trailing cx/swap blocks are left out and ``signs`` rewritten instead
    (:func:`.tape.absorb_trailing_rows`)."""
    encoder = TapeEncoder(dtype)
    opening, body = _opening_blocks(blocks)
    body = float_past_permutations(body, lambda block: block.qubits,
                                   lambda block: block.is_permutation)
    if z_only:
        kept = len(body)
        while kept and body[kept - 1].is_permutation:
            kept -= 1
        tail = _table([_row(encoder, block, block.matrix) for block in body[kept:]])
        _, signs = tp.absorb_trailing_rows(tail, np.zeros(1), signs, False, True)
        body = body[:kept]
    first = np.tile(np.array([-1, 0], dtype=np.int64), (num_qubits, 1))
    for block in opening:
        first[block.qubits[0]] = encoder.store(block.matrix)
    room = CHECKPOINT_BYTES // (16 << num_qubits)  # complex128: 16 bytes per amplitude
    forward, undo, angles, checkpoints = [], [], [], 0
    for unit in _units(body):
        if unit[0].is_permutation and len(unit) >= MIN_PERMUTATION_RUN:
            rows = [_row(encoder, block, block.matrix) for block in unit]
            back = [encoder.permutation_row(rows[::-1], num_qubits)]
            # Right after the product start nothing would read the checkpoint (the opening
            # layer's overlaps come from its product state): the ring is folded into the
            # start instead (:func:`.tape.start_state`).
            if forward and checkpoints < room:
                forward.append(_marker(tp.CHECKPOINT, checkpoints))
                back.append(_marker(tp.CHECKPOINT, checkpoints))
                checkpoints += 1
            forward.append(encoder.permutation_row(rows, num_qubits))
        elif len(unit[0].qubits) == 1:
            forward += [_row(encoder, block, block.matrix) for block in unit]
            back = _layer_gradient_rows(encoder, unit, angles)
            back += [_row(encoder, block, _dagger(block.matrix)) for block in unit]
        else:
            (block,) = unit
            forward.append(_row(encoder, block, block.matrix))
            back = [_row(encoder, block, _dagger(block.matrix))]
            for angle, generator in block.generators:
                back.append(encoder.gradient_row(block.qubits, generator, len(angles)))
                angles.append(angle)
        undo.append(back)
    backward = [row for back in reversed(undo) for row in back]
    backward += _layer_gradient_rows(encoder, opening, angles, product=True)
    backward = _table(backward)
    return AdjointTapes(first, _table(forward), backward, _psi_too(backward), checkpoints,
                        *encoder.arrays(), np.asarray(signs, dtype=np.int64), tuple(angles))


def _units(body: list[Block]) -> list[list[Block]]:
    """``body`` cut into layers (consecutive single-qubit blocks on distinct qubits),
    permutation runs of at least :data:`.plan.MIN_PERMUTATION_RUN` cx/swap blocks (one
    PERMUTE row), and single blocks."""
    units: list[list[Block]] = []
    for block in body:
        last = units[-1] if units else None
        if last and len(block.qubits) == 1 and len(last[0].qubits) == 1 and all(
                block.qubits != other.qubits for other in last):
            last.append(block)
        elif last and block.is_permutation and last[0].is_permutation:
            last.append(block)
        else:
            units.append([block])
    return [part for unit in units for part in (
        [[block] for block in unit]
        if unit[0].is_permutation and len(unit) < MIN_PERMUTATION_RUN else [unit])]


def _row(encoder: TapeEncoder, block: Block, matrix: np.ndarray) -> list[int]:
    """The tape row applying ``matrix`` (the block's or its inverse) on the block's qubits."""
    values = np.diagonal(matrix, axis1=1, axis2=2) if block.diagonal else matrix
    identity = range(max(block.qubits) + 1)
    return encoder.row(PlanGate(block.qubits, values, block.diagonal),
                       dict(zip(identity, identity)), tuple(identity), spread_diagonals=False)


def _marker(kind: int, value: int, width: int = 0) -> list[int]:
    return [kind, width, 0, 0, value] + [0] * (tp.MAX_WIDTH - 1)


def _layer_gradient_rows(encoder: TapeEncoder, layer: list[Block], angles: list,
                         product: bool = False) -> list:
    """One OVERLAPS row for the layer's qubits with angles (``product``: the opening layer,
    whose overlaps come from its product state, not from ψ), then a GRADIENT row per angle
    with its generator moved past the layer (V K V†); appends the angles to ``angles``."""
    rows, mask = [], 0
    for block in layer:
        for angle, generator in block.generators:
            moved = block.matrix @ generator @ _dagger(block.matrix)
            rows.append(encoder.gradient_row(block.qubits, moved, len(angles)))
            angles.append(angle)
            mask |= 1 << block.qubits[0]
    return [_marker(tp.OVERLAPS, mask, int(product))] + rows if rows else []


def _table(rows: list) -> np.ndarray:
    return np.array(rows, dtype=np.int64).reshape(-1, tp.HEADER + tp.MAX_WIDTH)


def _psi_too(backward: np.ndarray) -> np.ndarray:
    """1 for the backward rows that must un-apply ψ too: a row that reads ψ (a layer's
    OVERLAPS, a multi-qubit GRADIENT) comes after them before a CHECKPOINT row replaces
    it."""
    psi_too = np.zeros(len(backward), dtype=np.int64)
    needed = False
    for r in range(len(backward) - 1, -1, -1):
        kind, width = backward[r, 0], backward[r, 1]
        if kind == tp.CHECKPOINT:
            needed = False
        elif kind == tp.OVERLAPS or kind == tp.GRADIENT:
            reads_psi = width == 0 if kind == tp.OVERLAPS else width > 1
            needed = needed or reads_psi
        else:
            psi_too[r] = needed
    return psi_too


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
                flip, sign, phase = term.masks()
                terms.append((flip, sign, 2 * term.coeff * phase, column))
    flips, signs, factors, columns = (np.array([t[k] for t in terms], dtype=kind)
                                      for k, kind in enumerate((np.int64, np.int64,
                                                                np.complex128, np.int64)))
    qubits = tuple(output.qubits or range(num_qubits)) if isinstance(output, Probs) else ()
    mode = EXPECTATION if isinstance(output, ExpVal) else PROBABILITIES
    return mode, flips, signs, factors, columns, np.array(qubits, dtype=np.int64)


def angle_derivatives(blocks: list[Block], num_qubits: int, batch: int,
                      output: ExpVal | Probs, cotangent: np.ndarray, dtype) -> tuple[
                          np.ndarray, tuple[Expr, ...]]:
    """dL/d angle for every sample, ``(B, A)``, and the angle of each column, for
    L = Σ cotangent · readout of the circuit of ``blocks``."""
    mode, flips, signs, factors, columns, marginal = readout_terms(output, num_qubits)
    z_only = mode == EXPECTATION and not flips.any()
    tapes = adjoint_tapes(blocks, num_qubits, dtype, signs, z_only)
    out = np.zeros((batch, len(tapes.angles)))
    run_batch_adjoint(num_qubits, tapes.first, tapes.forward, tapes.backward, tapes.psi_too,
                      tapes.checkpoints, tapes.shared, tapes.per_sample, batch,
                      tp.workers(batch), mode, flips, tapes.signs, factors, columns, marginal,
                      np.ascontiguousarray(cotangent, dtype=np.float64),
                      np.zeros(1, dtype=np.dtype(dtype).type(0).real.dtype), out)
    return out, tapes.angles


@njit(cache=True, parallel=True)
def run_batch_adjoint(num_qubits, first, forward, backward, psi_too, checkpoints, shared,
                      per_sample, batch, count, mode, flips, signs, factors, columns,
                      marginal_qubits, cotangent, precision, out):
    """Per sample: ψ = forward tape on the product state of ``first``, G = costate of
    ``cotangent[b]`` (ExpVal: G = Σ_k factors[k] cotangent[b, columns[k]] P_k ψ; Probs:
    G_i = 2 cotangent[b, outcome(i)] ψ_i), then the backward tape, which writes ``out[b]``.
    ``count``: :func:`.tape.workers`; ψ and G have the dtype of ``precision`` (sums are
    float64)."""
    size = 1 << num_qubits
    real = precision.dtype
    for worker in prange(count):
        psi_re = np.empty((checkpoints + 1, size), dtype=real)
        psi_im = np.empty((checkpoints + 1, size), dtype=real)
        # G and the buffer its PERMUTE rows gather into; ψ's PERMUTE rows past the
        # checkpoints run in place (no state-sized scratch).
        gr, gi = np.empty(size, dtype=real), np.empty(size, dtype=real)
        spare_re, spare_im = np.empty(size, dtype=real), np.empty(size, dtype=real)
        scratch = np.empty(tp.GROUP_SCRATCH, dtype=np.complex128)
        overlaps = np.zeros((num_qubits, 4))
        for b in range(np.int64(worker), batch, count):
            row = per_sample[0 if per_sample.shape[0] == 1 else b]
            start = tp.start_state(psi_re[0], psi_im[0], first, shared, row, forward)
            current = run_forward_tape(psi_re, psi_im, forward, start, shared, row, scratch)
            pr, pi = psi_re[current], psi_im[current]
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
            run_backward_tape(psi_re, psi_im, current, gr, gi, spare_re, spare_im, backward,
                              psi_too, first, shared, row, scratch, overlaps, out[b])


@njit(cache=True)
def run_forward_tape(psi_re, psi_im, tape, start, shared, per_sample_row, scratch):
    """Run ``tape`` from row ``start`` (:func:`.tape.start_state`) on buffer 0 of
    ``psi_re``/``psi_im``; a CHECKPOINT row leaves its buffer as it is and the PERMUTE row
    after it gathers into the next. Returns the index of the buffer that holds the final
    state."""
    current = 0
    r = start
    while r < tape.shape[0]:
        if tape[r, 0] == tp.CHECKPOINT:
            permute_into(psi_re[current], psi_im[current], psi_re[current + 1],
                         psi_im[current + 1], shared, tape[r + 1, 3], tape[r + 1, 1])
            current += 1
            r += 2
            continue
        tp.apply_row(psi_re[current], psi_im[current], tape, r, shared, per_sample_row, scratch)
        r += 1
    return current


@njit(cache=True, fastmath=True)
def _add_pauli_image(pr, pi, gr, gi, factor, flip, sign):
    """G += factor · P ψ for the Pauli string of ``flip`` and ``sign`` (without its i**n_Y,
    which ``factor`` carries)."""
    for i in range(pr.size):
        f = (1 - 2 * parity(i & sign)) * factor
        j = i ^ flip
        gr[j] += f.real * pr[i] - f.imag * pi[i]
        gi[j] += f.real * pi[i] + f.imag * pr[i]


@njit(cache=True)
def run_backward_tape(psi_re, psi_im, current, gr, gi, spare_re, spare_im, tape, psi_too,
                      first, shared, per_sample_row, scratch, overlaps, out):
    """Walk the backward tape with ψ in buffer ``current`` and G in ``gr``/``gi``: un-apply
    rows act on G (and on ψ where ``psi_too``; a PERMUTE row gathers G into the spare
    buffer, which then holds G), CHECKPOINT rows switch ψ to their buffer, OVERLAPS rows
    fill ``overlaps`` (from the product state of ``first``, not ψ, when their width is 1)
    and GRADIENT rows add their term to ``out``."""
    slot_column = tp.HEADER + tp.MAX_WIDTH - 1
    for r in range(tape.shape[0]):
        kind, width = tape[r, 0], tape[r, 1]
        c = shared if tape[r, 2] == 0 else per_sample_row
        o = tape[r, 3]
        q = tape[r, tp.HEADER]
        pr, pi = psi_re[current], psi_im[current]
        if kind == tp.CHECKPOINT:
            current = q
        elif kind == tp.OVERLAPS and width:
            product_overlaps(gr, gi, first, shared, per_sample_row, q, overlaps)
        elif kind == tp.OVERLAPS:
            layer_overlaps(pr, pi, gr, gi, q, overlaps, TILE_BITS)
        elif kind == tp.GRADIENT and width == 1:
            # K is anti-Hermitian (U† dU is, for unitary U): only four sums matter.
            out[tape[r, slot_column]] += (
                -c[o].imag * overlaps[q, 0] - c[o + 3].imag * overlaps[q, 1]
                - c[o + 1].imag * overlaps[q, 2] + c[o + 1].real * overlaps[q, 3])
        elif kind == tp.GRADIENT:
            out[tape[r, slot_column]] += _overlap_dense(
                pr, pi, gr, gi, tape[r, tp.HEADER:tp.HEADER + width], c, o, scratch)
        else:
            if psi_too[r]:
                tp.apply_row(pr, pi, tape, r, shared, per_sample_row, scratch)
            if kind == tp.PERMUTE:
                permute_into(gr, gi, spare_re, spare_im, c, o, width)
                gr, gi, spare_re, spare_im = spare_re, spare_im, gr, gi
            else:
                tp.apply_row(gr, gi, tape, r, shared, per_sample_row, scratch)


@njit(cache=True, fastmath=True)
def layer_overlaps(pr, pi, gr, gi, mask, overlaps, tile_bits):
    """For every qubit q in the bit ``mask``, ``overlaps[q]`` = the sums that
    Re Σ K[a, b] R[a, b] needs for an anti-Hermitian K on q, R[a, b] = Σ conj(G[.. a ..])
    ψ[.. b ..]: Im R00, Im R11, Im (R01 + R10), Re (R01 - R10). (With K = -iH, H Hermitian,
    the term is Im Σ H[a, b] R[a, b].)

    One pass in tiles of 2**tile_bits amplitudes, so that every qubit's sums read ψ and G
    from cache: qubits below ``tile_bits`` over contiguous tiles, the others over tiles
    made of short contiguous runs, one run per value of those qubits."""
    num_qubits = overlaps.shape[0]
    size = pr.size
    tile_bits = min(tile_bits, num_qubits)
    overlaps[:] = 0.0
    for start in range(0, size, 1 << tile_bits):
        for q in range(tile_bits):
            if (mask >> q) & 1:
                _qubit_sums(pr, pi, gr, gi, q, start, start + (1 << tile_bits), overlaps[q])
    high = np.array([q for q in range(tile_bits, num_qubits) if (mask >> q) & 1],
                    dtype=np.int64)
    if high.size == 0:
        return
    run_bits = min(tile_bits, max(3, tile_bits - high.size))  # below every high qubit
    offsets = column_offsets(high)
    for part in range(size >> (high.size + run_bits)):
        base = part << run_bits
        for q in high:
            base = insert_zero_bit(base, q)
        for k in range(high.size):
            for value in range(1 << high.size):
                if not (value >> k) & 1:
                    i0 = base + offsets[value]
                    _run_sums(pr, pi, gr, gi, i0, i0 + (1 << high[k]), 1 << run_bits,
                              overlaps[high[k]])


@njit(cache=True, fastmath=True)
def product_overlaps(gr, gi, first, shared, per_sample_row, mask, overlaps):
    """:func:`layer_overlaps` for ψ = ⊗_q φ_q, the product state of ``first``
    (:func:`.tape.start_product_state`), in about one pass instead of one per qubit:
    R[a, b] = φ_q[b] conj(E_q[a]) with E_q = ⟨⊗_{p≠q} φ_p|G⟩, and every E_q comes from two
    contractions of G, with the product over its high half of qubits and over its low
    half, and then small ones over the other half."""
    num_qubits = overlaps.shape[0]
    phi = np.zeros((num_qubits, 2), dtype=np.complex128)
    for q in range(num_qubits):
        phi[q, 0] = 1.0
        if first[q, 0] >= 0:
            c = shared if first[q, 0] == 0 else per_sample_row
            phi[q, 0], phi[q, 1] = c[first[q, 1]], c[first[q, 1] + 2]
    low = num_qubits // 2
    low_phi, high_phi = _product(phi[:low]), _product(phi[low:])
    # low_part[l] = Σ_h G[h, l] conj(high_phi[h]), high_part[h] = Σ_l G[h, l] conj(low_phi[l]),
    # in real arithmetic on split parts so that the loop vectorizes.
    width = 1 << low
    low_re, low_im = np.zeros(width), np.zeros(width)
    phi_re, phi_im = low_phi.real.copy(), low_phi.imag.copy()
    high_part = np.zeros(1 << (num_qubits - low), dtype=np.complex128)
    for h in range(high_part.size):
        w_re, w_im = high_phi[h].real, -high_phi[h].imag
        g_re, g_im = gr[h * width:(h + 1) * width], gi[h * width:(h + 1) * width]
        sum_re = sum_im = 0.0
        for j in range(width):
            a, b = g_re[j], g_im[j]
            low_re[j] += a * w_re - b * w_im
            low_im[j] += a * w_im + b * w_re
            sum_re += a * phi_re[j] + b * phi_im[j]
            sum_im += b * phi_re[j] - a * phi_im[j]
        high_part[h] = complex(sum_re, sum_im)
    low_part = low_re + 1j * low_im
    overlaps[:] = 0.0
    for q in range(num_qubits):
        if not (mask >> q) & 1:
            continue
        part, bit = (low_part, q) if q < low else (high_part, q - low)
        others = phi[:low] if q < low else phi[low:]
        e0 = e1 = 0j
        for index in range(part.size):
            weight = part[index]
            for k in range(others.shape[0]):
                if k != bit:
                    weight *= np.conj(others[k, (index >> k) & 1])
            if (index >> bit) & 1:
                e1 += weight
            else:
                e0 += weight
        r00, r01 = np.conj(e0) * phi[q, 0], np.conj(e0) * phi[q, 1]
        r10, r11 = np.conj(e1) * phi[q, 0], np.conj(e1) * phi[q, 1]
        overlaps[q, 0], overlaps[q, 1] = r00.imag, r11.imag
        overlaps[q, 2], overlaps[q, 3] = (r01 + r10).imag, (r01 - r10).real


@njit(cache=True)
def _product(phi):
    """The amplitudes of ⊗_k phi[k] (bit k of the index: qubit k's value)."""
    out = np.ones(1 << phi.shape[0], dtype=np.complex128)
    for index in range(out.size):
        for k in range(phi.shape[0]):
            out[index] *= phi[k, (index >> k) & 1]
    return out


@njit(cache=True, fastmath=True)
def _qubit_sums(pr, pi, gr, gi, q, start, stop, acc):
    """Add qubit ``q``'s four sums over the amplitudes ``start .. stop`` to ``acc``."""
    bit = 1 << q
    if q > 1 or stop - start < 4:
        for high in range(start, stop, 2 * bit):
            _run_sums(pr, pi, gr, gi, high, high + bit, bit, acc)
        return
    # Bits 0 and 1: constant strides instead of inner runs of length 1 and 2 (vectorized
    # as interleaved accesses: 3.9 → 1.0 and 2.4 → 1.0 ns per amplitude), as in tape._dense1.
    sums = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for j in range(start >> 2, stop >> 2):
        for i0 in (4 * j, 4 * j + 1) if q == 1 else (4 * j, 4 * j + 2):
            i1 = i0 + bit
            sums = _add_pair_terms(sums, gr[i0], gi[i0], gr[i1], gi[i1], pr[i0], pi[i0],
                                   pr[i1], pi[i1])
    _add_sums(acc, sums)


@njit(cache=True, fastmath=True, inline="always")
def _run_sums(pr, pi, gr, gi, i0, i1, length, acc):
    """Add the four sums over the amplitude pairs ``(i0 + j, i1 + j)``, ``j < length``
    (the qubit at 0 and at 1), to ``acc``. Slices: the loop indexes from 0 and vectorizes."""
    p0r, p0i, g0r, g0i = pr[i0:i0 + length], pi[i0:i0 + length], gr[i0:i0 + length], gi[
        i0:i0 + length]
    p1r, p1i, g1r, g1i = pr[i1:i1 + length], pi[i1:i1 + length], gr[i1:i1 + length], gi[
        i1:i1 + length]
    sums = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for j in range(length):
        sums = _add_pair_terms(sums, g0r[j], g0i[j], g1r[j], g1i[j], p0r[j], p0i[j], p1r[j],
                               p1i[j])
    _add_sums(acc, sums)


@njit(cache=True, fastmath=True, inline="always")
def _add_pair_terms(sums, g0r, g0i, g1r, g1i, p0r, p0i, p1r, p1i):
    """``sums`` plus one pair's Im conj(G0) ψ0, Im conj(G1) ψ1, Im conj(G0) ψ1,
    Im conj(G1) ψ0, Re conj(G0) ψ1 and Re conj(G1) ψ0: six short sums instead of four
    longer ones (shorter dependency chains)."""
    return (sums[0] + g0r * p0i - g0i * p0r, sums[1] + g1r * p1i - g1i * p1r,
            sums[2] + g0r * p1i - g0i * p1r, sums[3] + g1r * p0i - g1i * p0r,
            sums[4] + g0r * p1r + g0i * p1i, sums[5] + g1r * p0r + g1i * p0i)


@njit(cache=True, inline="always")
def _add_sums(acc, sums):
    acc[0] += sums[0]
    acc[1] += sums[1]
    acc[2] += sums[2] + sums[3]
    acc[3] += sums[4] - sums[5]


@njit(cache=True)
def _overlap_dense(pr, pi, gr, gi, qubits, c, o, scratch):
    """Re ⟨G| K |ψ⟩ for the ``d x d`` matrix K at ``c[o:]`` on ``qubits`` (any width)."""
    d = 1 << qubits.size
    offsets = column_offsets(qubits)
    ordered = np.sort(qubits)
    total = 0.0
    for group in range(pr.size >> qubits.size):
        base = tp.group_product(pr, pi, group, ordered, offsets, c, o, scratch)
        for row in range(d):
            k_psi = scratch[d + row]
            total += gr[base + offsets[row]] * k_psi.real + gi[base + offsets[row]] * k_psi.imag
    return total
