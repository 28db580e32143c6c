"""Read the GPUs of this machine through NVML (nvidia-ml-py) into TELEMETRY rows.

One :meth:`GpuSampler.sample` is one row per GPU, in the lake's
:data:`~aifinops.signals.schema.TELEMETRY` schema::

    NVML call                                  column          unit
    nvmlDeviceGetUtilizationRates().gpu        gpu_util_pct    %   (busy time of the last period)
    nvmlDeviceGetMemoryInfo().used / .total    mem_used_mib    MiB (bytes / 2**20)
                                               mem_total_mib
    nvmlDeviceGetPowerUsage()                  power_w         W   (NVML: mW)
    nvmlDeviceGetTotalEnergyConsumption()      energy_j        J   (NVML: mJ since driver load)

A reading the GPU does not support (``NVMLError_NotSupported``: no power sensor on some
boards, no energy counter before Volta) is null in its row; the other readings still come.
``engine_active_pct`` is a DCGM profiling metric NVML does not offer: always null here.

The ``nvml`` module is injectable: :func:`load_nvml` imports ``pynvml`` unless the testing
hook ``AIFINOPS_NVML_MODULE`` names another module with the same functions (the test suite's
``support.fake_nvml``, on machines without a GPU).
"""

from __future__ import annotations

import importlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import pyarrow as pa

from aifinops.errors import AifinopsError
from aifinops.signals.schema import TELEMETRY

log = logging.getLogger(__name__)

#: Testing hook: the module to use instead of ``pynvml`` (e.g. ``support.fake_nvml``).
NVML_MODULE_ENV = "AIFINOPS_NVML_MODULE"
_MIB = 1024 * 1024
#: NVML error codes meaning "no usable driver here" (pynvml's NVML_ERROR_* values).
_NO_DRIVER = {9: "the NVIDIA driver is not loaded", 12: "libnvidia-ml.so.1 was not found"}
_NO_DRIVER_FIX = (
    "to fix: run on a machine with an NVIDIA GPU and its driver (`nvidia-smi` must work); "
    "in a container, start it with the NVIDIA container toolkit (`docker run --gpus all`, "
    "or a Kubernetes pod that requests nvidia.com/gpu)"
)


def load_nvml(module_name: str = "pynvml") -> Any:
    """Import the NVML bindings (``pynvml`` from nvidia-ml-py, or a stand-in with its API).

    Raises:
        AifinopsError: when the module cannot be imported, with the install command.
    """
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise AifinopsError(
            f"NVML bindings not found: cannot import {module_name!r} ({exc}); "
            "to fix: pip install nvidia-ml-py (it provides the pynvml module)"
            + (f", or unset {NVML_MODULE_ENV}" if module_name != "pynvml" else "")
        ) from None


@dataclass(frozen=True)
class GpuDevice:
    """One GPU as NVML lists it."""

    index: int
    uuid: str
    name: str
    memory_total_mib: float | None
    handle: Any


def _utc_now() -> datetime:
    return datetime.now(UTC)


class GpuSampler:
    """Samples every GPU of the machine; use as a context manager (NVML init and shutdown).

    Args:
        nvml: the NVML module (``pynvml``); default: :func:`load_nvml`.
        host: the host name in the rows; default ``socket.gethostname()``.
        resource_id: the billing ResourceId of this machine (joins telemetry to costs).
        now: the wall clock of the rows' timestamps (tests pass a fake).
    """

    def __init__(
        self,
        nvml: Any = None,
        host: str | None = None,
        resource_id: str | None = None,
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.nvml = load_nvml() if nvml is None else nvml
        self.host = host or socket.gethostname()
        self.resource_id = resource_id
        self.source = f"nvml:{self.host}"
        self._now = now
        self._devices: list[GpuDevice] | None = None
        self._warned: set[tuple[int, str, int]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> list[GpuDevice]:
        """Initialise NVML and list the GPUs.

        Raises:
            AifinopsError: no driver or library, NVML refused to start, or no GPU at all.
        """
        if self._devices is not None:
            return self._devices
        try:
            self.nvml.nvmlInit()
        except self.nvml.NVMLError as exc:
            raise _init_error(exc) from None
        try:
            self._devices = self._list_devices()
        except BaseException:
            self.nvml.nvmlShutdown()
            raise
        # NOTE: pyarrow imports pandas on its first conversion of Python values (seconds on a
        # busy machine); paying that here keeps it out of the first sample's timing.
        pa.Table.from_pylist([], schema=TELEMETRY)
        return self._devices

    def close(self) -> None:
        """Shut NVML down (a no-op when not open)."""
        if self._devices is not None:
            self._devices = None
            self.nvml.nvmlShutdown()

    def __enter__(self) -> GpuSampler:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def devices(self) -> list[GpuDevice]:
        """Return the GPUs (opening NVML on first use)."""
        return self.open()

    def _list_devices(self) -> list[GpuDevice]:
        nvml = self.nvml
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except nvml.NVMLError as exc:
            raise AifinopsError(f"NVML cannot count the GPUs: {exc}; {_NO_DRIVER_FIX}") from None
        if count == 0:
            raise AifinopsError(f"NVML found no GPU on {self.host}; {_NO_DRIVER_FIX}")
        devices = []
        for index in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = self._read(index, "memory", nvml.nvmlDeviceGetMemoryInfo, handle)
            devices.append(
                GpuDevice(
                    index=index,
                    uuid=str(nvml.nvmlDeviceGetUUID(handle)),
                    name=str(nvml.nvmlDeviceGetName(handle)),
                    memory_total_mib=None if memory is None else memory.total / _MIB,
                    handle=handle,
                )
            )
        return devices

    # -- sampling ----------------------------------------------------------------------------

    def sample(self) -> pa.Table:
        """Read every GPU once: one TELEMETRY row per GPU, all with the same timestamp."""
        devices = self.devices
        moment = self._now()
        rows = [self._row(device, moment) for device in devices]
        return pa.Table.from_pylist(rows, schema=TELEMETRY)

    def _row(self, device: GpuDevice, moment: datetime) -> dict[str, Any]:
        nvml, handle, i = self.nvml, device.handle, device.index
        util = self._read(i, "utilization", nvml.nvmlDeviceGetUtilizationRates, handle)
        memory = self._read(i, "memory", nvml.nvmlDeviceGetMemoryInfo, handle)
        power_mw = self._read(i, "power", nvml.nvmlDeviceGetPowerUsage, handle)
        energy_mj = self._read(i, "energy", nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
        return {
            "timestamp": moment,
            "host": self.host,
            "resource_id": self.resource_id,
            "gpu_index": i,
            "gpu_uuid": device.uuid,
            "gpu_model": device.name,
            "gpu_util_pct": None if util is None else float(util.gpu),
            "engine_active_pct": None,
            "mem_used_mib": None if memory is None else memory.used / _MIB,
            "mem_total_mib": None if memory is None else memory.total / _MIB,
            "power_w": None if power_mw is None else power_mw / 1000.0,
            "energy_j": None if energy_mj is None else energy_mj / 1000.0,
            "source": self.source,
        }

    def _read(self, index: int, reading: str, call: Callable[[Any], Any], handle: Any) -> Any:
        """Return ``call(handle)``, or None when NVML cannot give that reading."""
        try:
            return call(handle)
        except self.nvml.NVMLError as exc:
            self._note(index, reading, exc)
            return None

    def _note(self, index: int, reading: str, exc: Exception) -> None:
        code = int(getattr(exc, "value", -1))
        key = (index, reading, code)
        if key in self._warned:
            return
        self._warned.add(key)
        not_supported = getattr(self.nvml, "NVMLError_NotSupported", ())
        # NOTE: an unsupported sensor is normal (and permanent): say it once, quietly. Any
        # other error (GPU lost, no permission) is worth a warning, still once per kind.
        level = logging.INFO if isinstance(exc, not_supported) else logging.WARNING
        log.log(level, "GPU %d: NVML gives no %s reading (%s); it is null", index, reading, exc)


def _init_error(exc: Exception) -> AifinopsError:
    code = int(getattr(exc, "value", -1))
    if code in _NO_DRIVER:
        return AifinopsError(
            f"no NVIDIA driver found: {_NO_DRIVER[code]} ({exc}); {_NO_DRIVER_FIX}"
        )
    return AifinopsError(
        f"NVML could not start: {exc} (NVML error {code}); to fix: check that `nvidia-smi` "
        "works for this user, and that the driver and nvidia-ml-py are not too far apart"
    )
