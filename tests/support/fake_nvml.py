"""A stand-in for ``pynvml`` (nvidia-ml-py) on machines without an NVIDIA GPU.

It exposes the functions, structures and error classes the collector calls, with the same
names, arguments, units and return types as ``pynvml`` (memory in bytes, power in mW, energy
in mJ, names and UUIDs as ``str``), and it is driven by a script of states per GPU.
:func:`trace_gpus` builds that script from the real H200 NVML trace in
``shared/data/gpu-telemetry/telemetry.csv``, so a collected run replays the trace row by row.

The GPUs report the state of the current moment: state ``n`` from ``start + n × period_s``
on, on the clock given to :func:`install` (a :class:`FakeClock` in the loop tests, so a run
sampled every ``period_s`` reads the states one by one; the real monotonic clock otherwise).
The last state repeats once the script runs out. A state field that is ``None`` raises
``NVMLError_NotSupported``, as a GPU without that sensor does.

This is the one sanctioned fake of the suite (there is no GPU here). The collector loads it
through its testing hook, ``AIFINOPS_NVML_MODULE=support.fake_nvml``; tests call
:func:`install` first (the hook imports this same module object). To run the command by hand
without a GPU, ``FAKE_NVML_TRACE=path/to/telemetry.csv`` installs that trace's GPUs on import.
"""

from __future__ import annotations

import csv
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_UNKNOWN = 999

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}
MIB = 1024 * 1024


class NVMLError(Exception):
    """pynvml's error: ``NVMLError(code)`` builds the subclass of that code, ``.value`` = code."""

    _by_code: dict[int, type[NVMLError]] = {}
    value: int

    def __new__(cls, value: int) -> NVMLError:
        if cls is NVMLError:
            cls = NVMLError._by_code.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML Error with code {self.value}")


def _error_class(code: int, name: str) -> type[NVMLError]:
    def new(cls: type[NVMLError], *args: Any) -> NVMLError:
        obj = Exception.__new__(cls)
        obj.value = code
        return obj

    klass = type(name, (NVMLError,), {"__new__": new, "__init__": lambda self, *a: None})
    NVMLError._by_code[code] = klass
    return klass


NVMLError_Uninitialized = _error_class(NVML_ERROR_UNINITIALIZED, "NVMLError_Uninitialized")
NVMLError_InvalidArgument = _error_class(NVML_ERROR_INVALID_ARGUMENT, "NVMLError_InvalidArgument")
NVMLError_NotSupported = _error_class(NVML_ERROR_NOT_SUPPORTED, "NVMLError_NotSupported")
NVMLError_NoPermission = _error_class(NVML_ERROR_NO_PERMISSION, "NVMLError_NoPermission")
NVMLError_DriverNotLoaded = _error_class(NVML_ERROR_DRIVER_NOT_LOADED, "NVMLError_DriverNotLoaded")
NVMLError_LibraryNotFound = _error_class(NVML_ERROR_LIBRARY_NOT_FOUND, "NVMLError_LibraryNotFound")
NVMLError_GpuIsLost = _error_class(NVML_ERROR_GPU_IS_LOST, "NVMLError_GpuIsLost")


@dataclass
class c_nvmlUtilization_t:
    """``nvmlDeviceGetUtilizationRates``' structure: percentages."""

    gpu: int
    memory: int


@dataclass
class c_nvmlMemory_t:
    """``nvmlDeviceGetMemoryInfo``' structure (v1): bytes."""

    total: int
    free: int
    used: int


@dataclass(frozen=True)
class State:
    """What one GPU reports at one sample; ``None`` = that reading is not supported."""

    util_gpu: int | None = 0
    util_mem: int | None = 0
    mem_used_mib: int | None = 0
    mem_total_mib: int | None = 81559
    power_w: float | None = 60.0
    energy_mj: int | None = 0
    timestamp: float | None = None  # the trace's unix time, for the tests' expectations


@dataclass
class FakeGpu:
    """One GPU: its identity and its script of states."""

    name: str
    uuid: str
    states: list[State]


@dataclass
class _Machine:
    gpus: list[FakeGpu] = field(default_factory=list)
    init_error: int | None = None
    clock: Callable[[], float] = time.monotonic
    start: float = 0.0
    period_s: float = 0.5
    initialised: int = 0
    init_calls: int = 0
    shutdown_calls: int = 0


class FakeClock:
    """A monotonic clock and a ``sleep`` that move only when told: no test waits for real."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the current time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock on by ``seconds``."""
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Move the clock on without sleeping (time spent working)."""
        self.now += seconds


@dataclass(frozen=True)
class _Handle:
    index: int


_machine = _Machine()


def install(
    gpus: list[FakeGpu],
    *,
    init_error: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    period_s: float = 0.5,
) -> None:
    """Make ``gpus`` the machine's GPUs, state 0 from now on ``clock``.

    Args:
        gpus: the GPUs and their scripts.
        init_error: the NVML error code ``nvmlInit`` fails with (no driver, no library).
        clock: the clock the states follow.
        period_s: how long each state lasts.
    """
    global _machine
    _machine = _Machine(
        gpus=list(gpus), init_error=init_error, clock=clock, start=clock(), period_s=period_s
    )


def calls() -> dict[str, int]:
    """Return how often the library was initialised and shut down, for the tests."""
    return {"init": _machine.init_calls, "shutdown": _machine.shutdown_calls}


def trace_gpus(path: Path, *, limit: int | None = None) -> list[FakeGpu]:
    """Return one :class:`FakeGpu` per GPU of an NVML trace CSV (``telemetry.csv``'s columns)."""
    rows: dict[int, list[dict[str, str]]] = defaultdict(list)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            rows[int(row["gpu_index"])].append(row)
    gpus = []
    for index in sorted(rows):
        found = rows[index][:limit]
        states = [
            State(
                util_gpu=int(r["utilization_gpu_pct"]),
                util_mem=int(r["utilization_mem_pct"]),
                mem_used_mib=int(r["memory_used_mib"]),
                mem_total_mib=int(r["memory_total_mib"]),
                power_w=float(r["power_w"]),
                energy_mj=int(r["energy_mj"]),
                timestamp=float(r["timestamp"]),
            )
            for r in found
        ]
        gpus.append(FakeGpu(name="NVIDIA H200", uuid=found[0]["gpu_uuid"], states=states))
    return gpus


def _raise(code: int) -> None:
    raise NVMLError(code)


def _gpu(handle: object) -> FakeGpu:
    if _machine.initialised <= 0:
        _raise(NVML_ERROR_UNINITIALIZED)
    if not isinstance(handle, _Handle) or not 0 <= handle.index < len(_machine.gpus):
        _raise(NVML_ERROR_INVALID_ARGUMENT)
    assert isinstance(handle, _Handle)
    return _machine.gpus[handle.index]


def _state(handle: object) -> State:
    gpu = _gpu(handle)
    # NOTE: the epsilon keeps a sample taken exactly on a period boundary on the new state
    # despite float rounding (1000.0 + 0.1 * 3 < 1000.3).
    step = int((_machine.clock() - _machine.start) / _machine.period_s + 1e-6)
    return gpu.states[min(max(step, 0), len(gpu.states) - 1)]


def _supported(value: Any) -> Any:
    if value is None:
        _raise(NVML_ERROR_NOT_SUPPORTED)
    return value


# -- pynvml's functions -----------------------------------------------------------------------


def nvmlInit() -> None:
    """Initialise; fails with the installed ``init_error`` (no driver, no library)."""
    _machine.init_calls += 1
    if _machine.init_error is not None:
        _raise(_machine.init_error)
    _machine.initialised += 1


def nvmlShutdown() -> None:
    """Shut down one initialisation."""
    if _machine.initialised <= 0:
        _raise(NVML_ERROR_UNINITIALIZED)
    _machine.shutdown_calls += 1
    _machine.initialised -= 1


def nvmlDeviceGetCount() -> int:
    """Return the number of GPUs."""
    if _machine.initialised <= 0:
        _raise(NVML_ERROR_UNINITIALIZED)
    return len(_machine.gpus)


def nvmlDeviceGetHandleByIndex(index: int) -> _Handle:
    """Return the handle of GPU ``index``."""
    handle = _Handle(index)
    _gpu(handle)
    return handle


def nvmlDeviceGetName(handle: _Handle) -> str:
    """Return the product name (pynvml decodes it to ``str``)."""
    return _gpu(handle).name


def nvmlDeviceGetUUID(handle: _Handle) -> str:
    """Return the GPU's UUID (``GPU-…``)."""
    return _gpu(handle).uuid


def nvmlDeviceGetUtilizationRates(handle: _Handle) -> c_nvmlUtilization_t:
    """Return GPU and memory-controller utilisation in %."""
    state = _state(handle)
    return c_nvmlUtilization_t(gpu=_supported(state.util_gpu), memory=state.util_mem or 0)


def nvmlDeviceGetMemoryInfo(handle: _Handle, version: int | None = None) -> c_nvmlMemory_t:
    """Return framebuffer memory in bytes (v1 structure)."""
    state = _state(handle)
    total = _supported(state.mem_total_mib) * MIB
    used = _supported(state.mem_used_mib) * MIB
    return c_nvmlMemory_t(total=total, free=total - used, used=used)


def nvmlDeviceGetPowerUsage(handle: _Handle) -> int:
    """Return the board's power draw in milliwatts."""
    state = _state(handle)
    return round(_supported(state.power_w) * 1000)


def nvmlDeviceGetTotalEnergyConsumption(handle: _Handle) -> int:
    """Return the energy counter since the driver loaded, in millijoules."""
    state = _state(handle)
    return int(_supported(state.energy_mj))


if os.environ.get("FAKE_NVML_TRACE"):
    install(trace_gpus(Path(os.environ["FAKE_NVML_TRACE"])))
