"""NVIDIA DCGM exporter series → telemetry rows.

dcgm-exporter publishes one Prometheus series per field and GPU, e.g.
``DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-…",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1"}``.
The lake's ``telemetry`` table has one row per GPU and sample with every field side by side,
so the series are pivoted: one row per (host, GPU, timestamp), each field's value in its
column. Samples are joined on their exact timestamp, which holds for a scrape (every sample of
one scrape has the scrape's time) and for a range query (Prometheus evaluates every series at
the same steps).

Labels the schema has no column for (``pod``, ``namespace``, ``container``, ``device``,
``pci_bus_id``, ``DCGM_FI_DRIVER_VERSION``, ``job``…) are not kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from aifinops.errors import BadInputError
from aifinops.signals.prometheus import PromSeries
from aifinops.signals.schema import TELEMETRY

#: DCGM field → (telemetry column, multiplier, divisor) from the DCGM unit to the column's.
#: NOTE: a divisor, not a multiplier of 0.001: 2766698 / 1000 is exactly 2766.698.
FIELDS: dict[str, tuple[str, float, float]] = {
    "DCGM_FI_DEV_GPU_UTIL": ("gpu_util_pct", 1, 1),  # %
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("engine_active_pct", 100, 1),  # ratio 0-1
    "DCGM_FI_DEV_FB_USED": ("mem_used_mib", 1, 1),  # MiB
    "DCGM_FI_DEV_FB_TOTAL": ("mem_total_mib", 1, 1),  # MiB
    "DCGM_FI_DEV_POWER_USAGE": ("power_w", 1, 1),  # W
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("energy_j", 1, 1000),  # mJ since boot
}
#: Fields that only help derive a column: total memory = used + free (+ reserved).
MEMORY_PARTS = {"DCGM_FI_DEV_FB_FREE": "free", "DCGM_FI_DEV_FB_RESERVED": "reserved"}

#: DCGM writes "blank" (no value) as a sentinel at or above these; they are read as null.
#: Energy is a 64-bit counter in mJ, the other fields fit in 32 bits.
DCGM_INT32_BLANK = 0x7FFFFFF0
DCGM_FP64_BLANK = 140737488355328.0

#: Labels naming the host, in order of preference (``instance`` is ``host:port``).
HOST_LABELS = ("Hostname", "hostname", "instance")


@dataclass
class _Row:
    """The fields of one GPU at one timestamp, gathered from several series."""

    model: str | None
    values: dict[str, float] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)


_Key = tuple[str | None, int | None, str | None, datetime]
#: The measurement columns, in TELEMETRY order.
_READINGS = [name for name in TELEMETRY.names if name.endswith(("_pct", "_mib", "_w", "_j"))]


def dcgm_telemetry(
    series: Iterable[PromSeries], *, source: str, file: str | None = None
) -> pa.Table:
    """Pivot DCGM exporter series into ``telemetry`` rows.

    Args:
        series: series from :func:`~aifinops.signals.prometheus.read_query_json` or
            :func:`~aifinops.signals.prometheus.parse_exposition`; series of other metrics
            are ignored.
        source: the ``source`` column's value (the imported file's name).
        file: the file's path, for error messages (``source`` when not given).

    Returns:
        A table with the :data:`~aifinops.signals.schema.TELEMETRY` schema, unsorted;
        ``resource_id`` is null and ``host`` is null where no series named one.

    Raises:
        BadInputError: no DCGM series were found, or one has neither a ``gpu`` nor a
            ``UUID`` label.
    """
    rows: dict[_Key, _Row] = {}
    wanted = 0
    for one in series:
        if one.name not in FIELDS and one.name not in MEMORY_PARTS:
            continue
        wanted += 1
        _add_series(rows, one, file or source)
    if not wanted:
        raise BadInputError(
            "no DCGM exporter series in it",
            file=file or source,
            expected=f"series named {', '.join(FIELDS)} (DCGM_FI_DEV_GPU_UTIL at least)",
            fix="export the dcgm-exporter metrics, e.g. query_range of "
            '{__name__=~"DCGM_FI_DEV_GPU_UTIL|DCGM_FI_DEV_FB_.*|DCGM_FI_DEV_POWER_USAGE"}',
        )
    return _to_table(rows, source)


def _add_series(rows: dict[_Key, _Row], one: PromSeries, file: str) -> None:
    """Put every point of one DCGM series into its (host, GPU, timestamp) row."""
    labels = one.labels
    gpu, uuid = labels.get("gpu"), labels.get("UUID") or labels.get("uuid")
    if gpu is None and uuid is None:
        raise BadInputError(
            f"series {one.name}{{{_show(labels)}}} has neither a gpu nor a UUID label",
            file=file,
            column=one.name,
            expected='dcgm-exporter labels such as gpu="0",UUID="GPU-…"',
            fix="keep the exporter's labels when querying (no sum/avg by() over them)",
        )
    index = _gpu_index(gpu, one, file)
    host = _host(labels)
    model = labels.get("modelName") or None
    name = one.name
    part = MEMORY_PARTS.get(name)
    column, times, per = FIELDS.get(name, ("", 1, 1))
    for when, raw in one.points:
        row = rows.setdefault((host, index, uuid, when), _Row(model))
        value = _value(name, raw)
        if value is None:
            continue
        if part is not None:
            row.memory.setdefault(part, value)
        else:
            # NOTE: time-sliced GPUs repeat each field once per pod; the readings are equal.
            row.values.setdefault(column, value * times / per)


def _gpu_index(gpu: str | None, one: PromSeries, file: str) -> int | None:
    """Return the ``gpu`` label as an int (None when absent)."""
    if gpu is None:
        return None
    try:
        return int(gpu)
    except ValueError as exc:
        raise BadInputError(
            f"series {one.name} has gpu={gpu!r}",
            file=file,
            column=one.name,
            expected="the GPU's index, a whole number",
            fix="keep dcgm-exporter's gpu label unchanged",
        ) from exc


def _host(labels: dict[str, str]) -> str | None:
    """Return the host a series was scraped from (``instance`` without its port)."""
    for name in HOST_LABELS:
        value = labels.get(name)
        if value:
            return value.rsplit(":", 1)[0] if name == "instance" and "]" not in value else value
    return None


def _value(name: str, raw: float) -> float | None:
    """Return a reading, or None for NaN, infinities and DCGM's blank sentinels."""
    if not math.isfinite(raw) or raw >= DCGM_FP64_BLANK:
        return None
    if name != "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" and raw >= DCGM_INT32_BLANK:
        return None
    return raw


def _to_table(rows: dict[_Key, _Row], source: str) -> pa.Table:
    """Return the gathered rows as a TELEMETRY table."""
    keys: list[_Key] = []
    models: list[str | None] = []
    readings: dict[str, list[float | None]] = {name: [] for name in _READINGS}
    for key, row in rows.items():
        values = row.values
        if not values:
            continue  # only blanks, or only FB_FREE: no reading to keep
        if "mem_total_mib" not in values and "mem_used_mib" in values and "free" in row.memory:
            values["mem_total_mib"] = (
                values["mem_used_mib"] + row.memory["free"] + row.memory.get("reserved", 0.0)
            )
        keys.append(key)
        models.append(row.model)
        for name, column in readings.items():
            column.append(values.get(name))
    hosts, indexes, uuids, times = zip(*keys, strict=True) if keys else ((), (), (), ())
    columns: dict[str, Any] = {
        "timestamp": times,
        "host": hosts,
        "resource_id": [None] * len(keys),
        "gpu_index": indexes,
        "gpu_uuid": uuids,
        "gpu_model": models,
        **readings,
        "source": [source] * len(keys),
    }
    return pa.table({name: list(columns[name]) for name in TELEMETRY.names}, schema=TELEMETRY)


def _show(labels: dict[str, str]) -> str:
    """Return labels as ``a="1",b="2"`` (without ``__name__``), for messages."""
    return ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
