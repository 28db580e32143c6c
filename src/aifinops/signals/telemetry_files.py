"""GPU telemetry files of every format aifinops knows → the lake's ``telemetry`` table.

:func:`read_telemetry` detects the format from the file's name and first line, reads it, and
returns rows with the :data:`~aifinops.signals.schema.TELEMETRY` schema. The formats, their
columns and units are described in ``docs/telemetry.md``; :data:`FORMATS` names them.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq

from aifinops.errors import BadInputError
from aifinops.signals import telemetry_columns as cols
from aifinops.signals.dcgm import dcgm_telemetry
from aifinops.signals.nvidia_smi import looks_like_smi, read_smi
from aifinops.signals.prometheus import read_exposition, read_query_json
from aifinops.signals.schema import TELEMETRY

log = logging.getLogger(__name__)

#: Every format :func:`read_telemetry` reads, by the name ``--format`` takes.
FORMATS: dict[str, str] = {
    "aifinops": "the telemetry table's own columns, CSV or Parquet (also the demo's gpu.csv)",
    "nvml-csv": "an NVML sampler's CSV (timestamp in unix seconds, utilization_gpu_pct, "
    "memory_used_mib, power_w, energy_mj...)",
    "nvidia-smi": "nvidia-smi --query-gpu=... --format=csv[,nounits] output",
    "dcgm-text": "dcgm-exporter /metrics scrapes (Prometheus text exposition, .prom/.txt)",
    "dcgm-json": "a Prometheus HTTP API response (.json) holding DCGM_FI_* series",
}
#: Column of an NVML sampler's CSV → telemetry column (``energy_mj`` is divided by 1,000).
NVML_COLUMNS = {
    "timestamp": "timestamp",
    "gpu_index": "gpu_index",
    "gpu_uuid": "gpu_uuid",
    "gpu_name": "gpu_model",
    "utilization_gpu_pct": "gpu_util_pct",
    "memory_used_mib": "mem_used_mib",
    "memory_total_mib": "mem_total_mib",
    "power_w": "power_w",
    "energy_mj": "energy_j",
}
_TEXT_SUFFIXES = {".prom", ".txt", ".metrics", ".om"}


@dataclass(frozen=True)
class TelemetryOptions:
    """What the caller knows that a file may not say (see :func:`read_telemetry`)."""

    host: str | None = None
    resource_id: str | None = None
    gpu_model: str | None = None
    default_time: datetime | None = None
    local_tz: str = "UTC"


Reader = Callable[[Path, TelemetryOptions], pa.Table]


def read_telemetry(
    path: str | Path,
    *,
    host: str | None = None,
    resource_id: str | None = None,
    gpu_model: str | None = None,
    default_time: datetime | None = None,
    fmt: str | None = None,
    local_tz: str = "UTC",
) -> pa.Table:
    """Read one GPU telemetry file into ``telemetry`` rows.

    Values in the file win; the options fill what it leaves empty.

    Args:
        path: the file.
        host: the host of rows that name none; the file's stem when not given.
        resource_id: the cloud resource the host is billed as (e.g. an EC2 instance id or
            ARN, an Azure VM resource id), so that telemetry joins the bill.
        gpu_model: the GPU model of rows that name none (for an NVML CSV, a ``meta.json``
            beside it with ``gpu_name`` is read first).
        default_time: the time of Prometheus text samples without a timestamp; the file's
            modification time when not given.
        fmt: one of :data:`FORMATS`; detected when not given.
        local_tz: the IANA zone of timestamps without one (nvidia-smi writes the box's local
            time); UTC by default.

    Returns:
        A table with the TELEMETRY schema, sorted by host, GPU and timestamp.

    Raises:
        BadInputError: the file is missing, of no known format, or a value cannot be read
            (the message names the file, row, column and the fix).
    """
    file = Path(path)
    if not file.is_file():
        raise BadInputError("no such file", file=str(file), fix="check the path")
    _check_zone(local_tz)
    options = TelemetryOptions(host, resource_id, gpu_model, default_time, local_tz)
    name = fmt or detect_format(file)
    if name not in READERS:
        raise BadInputError(
            f"unknown telemetry format {name!r}",
            file=str(file),
            expected=f"one of {', '.join(FORMATS)}",
            fix="pass one of those as the format, or leave it out to detect it",
        )
    table = READERS[name](file, options)
    log.info("read %d telemetry rows from %s (%s)", table.num_rows, file, name)
    return _finish(table, file, options)


def detect_format(path: Path) -> str:
    """Return the :data:`FORMATS` name of a telemetry file, from its suffix and first line.

    Raises:
        BadInputError: no known format matches; the message lists those known.
    """
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "dcgm-json"
    if suffix in _TEXT_SUFFIXES:
        return "dcgm-text"
    if suffix == ".parquet":
        names = pq.read_schema(path).names
    else:
        head = _first_line(path)
        if head.startswith(("{", "[")):
            return "dcgm-json"
        if head.startswith(("#", "DCGM_")):
            return "dcgm-text"
        names = next(csv.reader([head]), [])
    found = _format_of_columns([n.strip() for n in names])
    if found is None:
        known = "; ".join(f"{key}: {text}" for key, text in FORMATS.items())
        raise BadInputError(
            f"not a telemetry format aifinops knows (columns: {', '.join(names)[:200]})",
            file=str(path),
            row=0,
            expected=f"one of {known}",
            fix="export the telemetry in one of those formats, or rename the columns to the "
            "telemetry table's (see docs/telemetry.md)",
        )
    return found


def _format_of_columns(names: list[str]) -> str | None:
    """Return the tabular format whose header ``names`` is, or None."""
    if looks_like_smi(names):
        return "nvidia-smi"
    if "utilization_gpu_pct" in names:
        return "nvml-csv"
    if "timestamp" in names and set(names) & set(cols.FLOAT_COLUMNS):
        return "aifinops"
    return None


def _first_line(path: Path) -> str:
    """Return the first non-empty line of a text file."""
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for line in handle:
                if line.strip():
                    return line.strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read it as text ({exc})", file=str(path)) from exc
    raise BadInputError("the file is empty", file=str(path), fix="check the export")


def _check_zone(name: str) -> None:
    """Raise when ``name`` is not an IANA time zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInputError(
            f"unknown time zone {name!r}",
            expected="an IANA zone such as UTC, Europe/Paris or America/New_York",
            fix="pass the zone the machine's clock was set to",
        ) from exc


# --- readers ----------------------------------------------------------------------------------


def _read_table(path: Path) -> pa.Table:
    """Return a CSV (every column a string, empty = null) or a Parquet file."""
    try:
        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)
        else:
            names = next(csv.reader([_first_line(path)]))
            table = pv.read_csv(
                path,
                read_options=pv.ReadOptions(encoding="utf-8-sig"),
                convert_options=pv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    strings_can_be_null=True,
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(
            f"cannot read it ({exc})",
            file=str(path),
            expected="a CSV file with a header line, or a Parquet file",
            fix="check that every line has as many fields as the header",
        ) from exc
    return table


def _read_aifinops(path: Path, options: TelemetryOptions) -> pa.Table:
    """Read a CSV or Parquet file with the telemetry table's own column names."""
    raw = _read_table(path)
    return cols.conform(raw, file=str(path), naive_tz="UTC")


def _read_nvml_csv(path: Path, options: TelemetryOptions) -> pa.Table:
    """Read an NVML sampler's CSV (the shared H200 trace's format)."""
    raw = _read_table(path)
    raw = raw.rename_columns([NVML_COLUMNS.get(name, name) for name in raw.column_names])
    table = cols.conform(raw, file=str(path), naive_tz="UTC", divisors={"energy_j": 1000.0})
    return cols.fill(table, "gpu_model", options.gpu_model or _meta_gpu_name(path))


def _meta_gpu_name(path: Path) -> str | None:
    """Return ``gpu_name`` from a ``meta.json`` beside the file, when there is one."""
    meta = path.with_name("meta.json")
    if not meta.is_file():
        return None
    try:
        name = json.loads(meta.read_text(encoding="utf-8")).get("gpu_name")
    except (OSError, ValueError, AttributeError) as exc:
        raise BadInputError(
            f"cannot read it ({exc})",
            file=str(meta),
            expected='a JSON object such as {"gpu_name": "NVIDIA H200"}',
            fix="fix or remove meta.json, or pass the GPU model",
        ) from exc
    return str(name) if name else None


def _read_nvidia_smi(path: Path, options: TelemetryOptions) -> pa.Table:
    """Read ``nvidia-smi --query-gpu`` CSV output (timestamps in ``local_tz``)."""
    raw, divisors = read_smi(path)
    return cols.conform(raw, file=str(path), naive_tz=options.local_tz, divisors=divisors)


def _read_dcgm_text(path: Path, options: TelemetryOptions) -> pa.Table:
    """Read dcgm-exporter scrapes in the Prometheus text format."""
    series = read_exposition(path, default_time=options.default_time)
    return dcgm_telemetry(series, source=path.name, file=str(path))


def _read_dcgm_json(path: Path, options: TelemetryOptions) -> pa.Table:
    """Read a Prometheus HTTP API response holding DCGM series."""
    return dcgm_telemetry(read_query_json(path), source=path.name, file=str(path))


#: Format name → reader; filled here, in one place.
READERS: dict[str, Reader] = {
    "aifinops": _read_aifinops,
    "nvml-csv": _read_nvml_csv,
    "nvidia-smi": _read_nvidia_smi,
    "dcgm-text": _read_dcgm_text,
    "dcgm-json": _read_dcgm_json,
}


def _finish(table: pa.Table, file: Path, options: TelemetryOptions) -> pa.Table:
    """Fill what the file left empty from the options, and sort by host, GPU and time."""
    table = cols.fill(table, "host", options.host or file.stem)
    table = cols.fill(table, "resource_id", options.resource_id)
    table = cols.fill(table, "gpu_model", options.gpu_model)
    table = cols.fill(table, "source", file.name)
    order = [(name, "ascending") for name in ("host", "gpu_index", "gpu_uuid", "timestamp")]
    return table.sort_by(order).cast(TELEMETRY)
