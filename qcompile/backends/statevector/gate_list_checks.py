"""The check of a flat gate list (:mod:`.gate_list`) that both of its tiers run.

It is plain Python over arrays so that one definition serves both: the numpy tier calls it
as it is, and once the numba kernels are loaded :mod:`.gate_list_kernels` compiles this same
function (nanoseconds a gate instead of microseconds of array calls).
"""


def distinct_qubits_in_range(arity, qubit_start, qubits, num_qubits: int) -> bool:
    """Whether every gate names distinct qubits below ``num_qubits``."""
    for g in range(arity.size):
        first = qubit_start[g]
        for j in range(first, first + arity[g]):
            if qubits[j] < 0 or qubits[j] >= num_qubits:
                return False
            for i in range(first, j):
                if qubits[i] == qubits[j]:
                    return False
    return True
