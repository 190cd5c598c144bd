"""Memory estimated before the simulator allocates: a clear error instead of an out-of-memory
kill or a numpy traceback.

A state of ``n`` qubits is ``2**n`` amplitudes of 8 (complex64) or 16 (complex128) bytes, and
the simulator holds one per sample of the batch and per classical branch. Every large
allocation first asks :func:`require`, against ``max_memory`` (bytes, or a size such as
``"4G"``) or, by default, the memory this machine has available now.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ...ir import QCompileError

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(size: int | float | str) -> int:
    """Bytes from a number of bytes or a size with a binary unit: ``4G``, ``512M``,
    ``1.5GiB``, ``2048``."""
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        number, unit = float(size), ""
    else:
        match = _SIZE.fullmatch(str(size))
        if match is None:
            raise QCompileError(f"memory size {size!r} is not a size such as 4G, 512M or a "
                                f"number of bytes")
        number, unit = float(match.group(1)), match.group(2).lower()
    if not number > 0:
        raise QCompileError(f"memory size {size!r} must be positive")
    return int(number * _UNITS[unit])


def format_size(nbytes: float) -> str:
    """``16.0 GiB``: binary units, one decimal."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} B" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def available_memory() -> tuple[int, str]:
    """Bytes this machine can give without swapping, and where the figure comes from:
    psutil if installed, else /proc/meminfo's MemAvailable, else free physical pages."""
    try:
        import psutil
    except ImportError:
        pass
    else:
        return int(psutil.virtual_memory().available), "psutil"
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable"
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free pages"


def fits(nbytes: float, max_memory: int | float | str | None) -> bool:
    """Whether ``nbytes`` are within ``max_memory``, or the available memory when None."""
    limit = available_memory()[0] if max_memory is None else parse_size(max_memory)
    return nbytes <= limit


def require(nbytes: float, what: str, max_memory: int | float | str | None, *,
            dtype=None, reserve: float = 0, hints: tuple[str, ...] = ()) -> None:
    """Raise a QCompileError when ``nbytes`` (plus ``reserve`` bytes for the read-out)
    exceed the limit: ``max_memory`` or, when None, the available memory. ``what`` says
    what the bytes hold ("30 qubits × batch 1"); with ``dtype`` they are states in it, and
    fewer qubits (and complex64, for complex128) are suggested after the caller's
    ``hints``."""
    total = nbytes + reserve
    if fits(total, max_memory):
        return
    limit = None if max_memory is None else parse_size(max_memory)
    available, source = available_memory()
    have = (f"the limit of {format_size(limit)} (max_memory; this machine has "
            f"{format_size(available)} available)" if limit is not None else
            f"the {format_size(available)} of memory available on this machine ({source})")
    need = what if dtype is None else f"{what} in {np.dtype(dtype)}"
    if reserve:
        need = f"{need} ({format_size(nbytes)}) and the read-out ({format_size(reserve)})"
    options = (*hints, "allow more with --max-memory SIZE (max_memory= in Python)")
    if dtype is not None:
        options += ("simulate fewer qubits",)
        if np.dtype(dtype) == np.complex128:
            options += ("use --dtype complex64 (dtype=numpy.complex64), which halves it",)
    raise QCompileError(f"the simulation needs {format_size(total)} for {need}, more than "
                        f"{have}; {'; '.join(options)}")
