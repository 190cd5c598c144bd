"""Real and fake quantum hardware through Qiskit: compile for a device's ``Target``, run
through the Qiskit primitives, read results back as the simulator's outputs.

``devices`` resolves a backend name, ``target`` lowers a circuit onto the device with
Qiskit's transpiler, ``primitives`` turns one circuit call on a batch into one primitive
unit (PUB) and its result into ``(B, ...)`` arrays.
"""

from .devices import Device, available_devices, resolve_device
from .primitives import DeviceExecutor, RetryPolicy
from .target import compile_for_device, error_budget

__all__ = ["Device", "DeviceExecutor", "RetryPolicy", "available_devices", "compile_for_device",
           "error_budget", "resolve_device"]
