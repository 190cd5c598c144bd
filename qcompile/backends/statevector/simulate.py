"""Run a circuit on a batch of parameter values and read out what the caller asked for.

``values`` maps each circuit parameter to an array: with one more axis than the parameter's
shape it is per-sample data (axis 0 is the batch), with exactly its shape it is shared by the
whole batch (typically weights). Outputs have shape ``(B, *output_shape)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...ir import Circuit, Counts, ExpVal, Probs, QCompileError, State
from ...ir.program import PAULIS, Output, PauliTerm
from ..binding import bind_values
from . import kernels
from .bits import pauli_masks
from .branches import Branch, initial_branch, run_steps
from .batch_readout import evaluate_unitary
from .plan import Plan, fuse_steps
from .steps import bind_steps, compile_circuit


def simulate(circuit: Circuit, output: Output, values: Mapping[str, np.ndarray] | None = None,
             *, seed: int | None = None, dtype=np.complex128) -> np.ndarray:
    """Simulate ``circuit`` exactly for a batch and return ``output`` per sample.

    ExpVal and Probs give real arrays, State a complex one (it is undefined once measurement
    or reset left more than one branch), Counts an int64 histogram of ``shots`` samples drawn
    from the exact outcome distribution with ``numpy.random.default_rng(seed)``.
    """
    _check_output(circuit, output)
    if isinstance(output, Counts):
        distribution = outcome_probabilities(circuit, values, dtype=dtype)
        distribution = distribution / distribution.sum(axis=1, keepdims=True)
        try:
            rng = np.random.default_rng(seed)
        except (TypeError, ValueError) as err:
            raise QCompileError(f"counts: {seed!r} is not a usable seed ({err})") from None
        return rng.multinomial(output.shots, distribution)
    steps, batch, dtype = _prepare(circuit, values, dtype)
    if isinstance(output, (ExpVal, Probs)) and all(isinstance(s, Plan) for s in steps):
        return evaluate_unitary(steps[0] if steps else None, circuit.num_qubits, batch, output,
                                dtype, _expectation, _marginal)
    branches = run_steps(steps, [initial_branch(circuit.num_qubits, circuit.num_clbits, batch,
                                                dtype)])
    if isinstance(output, State):
        if len(branches) > 1:
            raise QCompileError(
                f"circuit {circuit.name!r}: the statevector is not defined after mid-circuit "
                f"measurement or reset (the outcome is a mixture of {len(branches)} branches); "
                f"ask for probs, expval or counts")
        return branches[0].states
    if isinstance(output, Probs):
        return _marginal(sum(_probabilities(b.states) for b in branches),
                         output.qubits or tuple(range(circuit.num_qubits)))
    expectations = np.zeros((branches[0].states.shape[0], len(output.observables)))
    for column, observable in enumerate(output.observables):
        expectations[:, column] = _expectation(observable, branches)
    return expectations.astype(branches[0].states.real.dtype)


def outcome_probabilities(circuit: Circuit, values: Mapping[str, np.ndarray] | None = None,
                          *, dtype=np.complex128) -> np.ndarray:
    """The exact distribution that Counts samples from, shape ``(B, 2**k)``, float64.

    Over the classical bits (index bit j is clbit j), or over all qubits measured at the end
    when the circuit has no classical bits.
    """
    branches = _run(circuit, values, dtype)
    if not circuit.num_clbits:
        return sum(_probabilities(b.states) for b in branches).astype(np.float64)
    out = np.zeros((branches[0].states.shape[0], 2 ** circuit.num_clbits))
    for branch in branches:
        index = sum(bit << j for j, bit in enumerate(branch.record))
        out[:, index] += _probabilities(branch.states).sum(axis=1)
    return out


def _run(circuit: Circuit, values, dtype) -> list[Branch]:
    steps, batch, dtype = _prepare(circuit, values, dtype)
    start = initial_branch(circuit.num_qubits, circuit.num_clbits, batch, dtype)
    return run_steps(steps, [start])


def _prepare(circuit: Circuit, values, dtype) -> tuple[tuple, int, np.dtype]:
    """Check the dtype, bind the values and fuse: the steps to run, and the batch size."""
    steps, env, batch, dtype = bind(circuit, values, dtype)
    return fuse_steps(steps, circuit.num_qubits, dtype, batch), batch, dtype


def bind(circuit: Circuit, values, dtype) -> tuple[tuple, dict[str, np.ndarray], int, np.dtype]:
    """Check the dtype and the values and bind them: the bound steps, the values by name,
    the batch size and the dtype."""
    dtype = checked_dtype(dtype)
    steps = compile_circuit(circuit, dtype)
    binding = bind_values(circuit, values)
    return bind_steps(steps, binding.values, dtype), binding.values, binding.batch, dtype


def checked_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.complex64, np.complex128):
        raise QCompileError(f"the statevector simulator runs in complex64 or complex128, "
                            f"not {dtype}")
    return dtype


def _check_output(circuit: Circuit, output) -> None:
    n = circuit.num_qubits
    if isinstance(output, ExpVal):
        for observable in output.observables:
            for term in observable:
                qubits = [q for q, _ in term.paulis]
                if len(set(qubits)) != len(qubits):
                    raise QCompileError(f"observable term {_describe(term)} names a qubit "
                                        f"twice; write one Pauli factor per qubit")
                for q, p in term.paulis:
                    if p not in PAULIS or not 0 <= q < n:
                        raise QCompileError(f"observable factor {p}{q} is not a Pauli on one "
                                            f"of the {n} qubits of circuit {circuit.name!r}")
    elif isinstance(output, Probs):
        if len(set(output.qubits)) != len(output.qubits) or not all(
                0 <= q < n for q in output.qubits):
            raise QCompileError(f"probs qubits {list(output.qubits)} must be distinct qubits "
                                f"of circuit {circuit.name!r} (0..{n - 1})")
    elif isinstance(output, Counts):
        if output.shots < 1:
            raise QCompileError(f"counts needs a positive number of shots, got {output.shots}")
    elif not isinstance(output, State):
        raise QCompileError(f"unknown output {output!r}: expected expval, probs, counts or "
                            f"state")


def _describe(term: PauliTerm) -> str:
    return " ".join(f"{p}{q}" for q, p in term.paulis) or "I"


def _probabilities(states: np.ndarray) -> np.ndarray:
    return states.real ** 2 + states.imag ** 2


def _marginal(probabilities: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
    """Sum out all qubits but ``qubits``; bit j of the result's index is ``qubits[j]``."""
    batch, n = probabilities.shape[0], int(probabilities.shape[1]).bit_length() - 1
    axis = {q: n - q for q in range(n)}  # qubit q is axis n - q of (B, 2, ..., 2)
    kept = [axis[q] for q in reversed(qubits)]
    summed = [a for a in range(1, n + 1) if a not in kept]
    tensor = probabilities.reshape((batch,) + (2,) * n).transpose([0, *kept, *summed])
    return tensor.reshape(batch, 2 ** len(qubits), -1).sum(axis=2)


def _expectation(observable, branches: list[Branch]) -> np.ndarray:
    """Sum over terms and branches of coeff * <psi|P|psi>, per sample."""
    total = np.zeros(branches[0].states.shape[0])
    for term in observable:
        flip, sign, phase = pauli_masks(term)
        for branch in branches:
            overlap = kernels.pauli_overlaps(branch.states, flip, sign).sum(axis=1)
            total += term.coeff * (phase * overlap).real
    return total
