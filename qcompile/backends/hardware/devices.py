"""Backend names → devices: qiskit-ibm-runtime's fake devices and Aer offline, IBM Quantum
through ``QiskitRuntimeService`` when an account is configured.

A :class:`Device` knows how to build the primitives for its backend and whether a provider
job outlives this process (``remote``): only remote jobs can be re-attached after a crash.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cache

from ...ir import QCompileError

IBM_PREFIX = "ibm_"
AER = "aer"


@dataclass
class Device:
    name: str
    backend: object  # a qiskit BackendV2
    remote: bool
    service: object | None = None  # the QiskitRuntimeService of an IBM device

    @property
    def num_qubits(self) -> int:
        return self.backend.num_qubits

    def sampler(self, *, shots: int, seed: int | None, dynamic: bool = False):
        if self.remote:
            from qiskit_ibm_runtime import SamplerV2

            sampler = SamplerV2(mode=self.backend)
            sampler.options.default_shots = shots
            return sampler
        from qiskit_aer.primitives import SamplerV2

        return SamplerV2.from_backend(self._simulator(dynamic), default_shots=shots, seed=seed)

    def estimator(self, *, shots: int, seed: int | None, dynamic: bool = False):
        if self.remote:
            from qiskit_ibm_runtime import EstimatorV2

            estimator = EstimatorV2(mode=self.backend)
            estimator.options.default_shots = shots
            return estimator
        from qiskit_aer.primitives import EstimatorV2

        # Aer's estimator is exact for the (noisy) state; the precision adds the shot noise
        # a device with this many shots would show.
        options = {"default_precision": shots ** -0.5,
                   "run_options": {"seed_simulator": seed, "shots": shots}}
        return EstimatorV2.from_backend(self._simulator(dynamic), options=options)

    def attach(self, provider_job_id: str):
        """The provider job with this id, submitted by an earlier (perhaps dead) process."""
        if not self.remote:
            raise QCompileError(f"{self.name}: local jobs cannot be re-attached")
        return self.service.job(provider_job_id)

    def _simulator(self, dynamic: bool):
        from qiskit_aer import AerSimulator

        # Aer 0.18 miscompiles a measurement inside an if-block unless truncation is off;
        # truncation (dropping idle qubits) is what keeps a 127-qubit device simulable, so it
        # stays on for circuits without feed-forward.
        options = {"enable_truncation": False} if dynamic else {}
        if self.name == AER:
            return AerSimulator(**options)
        return AerSimulator.from_backend(self.backend, **options)


@cache
def _fake_classes() -> dict[str, type]:
    from qiskit_ibm_runtime.fake_provider import backends
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    return {cls.backend_name: cls for cls in vars(backends).values()
            if inspect.isclass(cls) and issubclass(cls, FakeBackendV2)
            and isinstance(getattr(cls, "backend_name", None), str)}


def available_devices() -> list[str]:
    """Names usable without an account: every fake device, plus noiseless ``aer``."""
    return sorted([AER, *_fake_classes()])


def resolve_device(name: str) -> Device:
    if name == AER:
        from qiskit_aer import AerSimulator

        return Device(AER, AerSimulator(), remote=False)
    if name in _fake_classes():
        return Device(name, _fake_classes()[name](), remote=False)
    if name.startswith(IBM_PREFIX):
        return _ibm_device(name)
    raise QCompileError(f"unknown backend {name!r}: use an IBM Quantum backend (ibm_*, needs "
                        f"an account) or one of the offline devices "
                        f"{', '.join(available_devices())}")


def _ibm_device(name: str) -> Device:
    from qiskit_ibm_runtime import QiskitRuntimeService
    from qiskit_ibm_runtime.accounts import AccountNotFoundError

    try:
        service = QiskitRuntimeService()
    except AccountNotFoundError:
        raise QCompileError(
            f"backend {name!r} is an IBM Quantum device, but no IBM Quantum credentials are "
            "configured: save an account once with "
            "QiskitRuntimeService.save_account(channel=..., token=...) or set "
            "QISKIT_IBM_TOKEN and QISKIT_IBM_INSTANCE") from None
    try:
        backend = service.backend(name)
    except Exception as err:  # the service reports an unknown or inaccessible device
        raise QCompileError(f"IBM Quantum backend {name!r} is not available to this "
                            f"account ({err})") from None
    return Device(name, backend, remote=True, service=service)
