"""``nvidia-smi --query-gpu=... --format=csv`` output → telemetry columns.

What ``nvidia-smi`` writes, and what this module undoes:

* a header that names each queried field with its unit: ``utilization.gpu [%]``,
  ``memory.used [MiB]``, ``power.draw [W]`` (the unit stays in the header under ``nounits``);
* ``", "`` between fields, and values with their unit unless ``nounits``: ``87 %``,
  ``1234 MiB``, ``312.45 W``;
* ``[N/A]``, ``[Not Supported]``, ``[Unknown Error]``… where a GPU has no value (read as null);
* timestamps ``2026/11/28 11:50:25.123`` in the box's local time, without a zone;
* under ``-l N`` / ``--loop-ms``, one block of rows per interval; files appended to by several
  runs repeat the header line, which is skipped.

Any subset and order of query fields works; fields the telemetry table has no column for are
ignored. The columns come back as strings named as the telemetry table's, for
:mod:`aifinops.signals.telemetry_files` to convert.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from aifinops.errors import BadInputError

#: ``--query-gpu`` field (as the header names it) → telemetry column. Earlier entries win when
#: a query asks for several fields of one column (``power.draw`` over ``power.draw.average``).
SMI_FIELDS: dict[str, str] = {
    "timestamp": "timestamp",
    "index": "gpu_index",
    "uuid": "gpu_uuid",
    "gpu_uuid": "gpu_uuid",
    "name": "gpu_model",
    "gpu_name": "gpu_model",
    "utilization.gpu": "gpu_util_pct",
    "memory.used": "mem_used_mib",
    "memory.total": "mem_total_mib",
    "power.draw": "power_w",
    "power.draw.instant": "power_w",
    "power.draw.average": "power_w",
    "total_energy_consumption": "energy_j",
    "energy.total": "energy_j",
}
#: Energy counter unit (from the header) → divisor to joules; NVML counts millijoules.
ENERGY_UNITS = {"mJ": 1000.0, "J": 1.0, "kJ": 0.001}
_HEADER = re.compile(r"^\s*(?P<field>[^\[]+?)\s*(?:\[(?P<unit>[^\]]*)\])?\s*$")
_NUMERIC = ("gpu_index", "gpu_util_pct", "mem_used_mib", "mem_total_mib", "power_w", "energy_j")


def looks_like_smi(names: list[str]) -> bool:
    """Return True when a CSV header is ``nvidia-smi --query-gpu`` output."""
    fields = {_split_header(name)[0] for name in names}
    return any("[" in name for name in names) or bool(
        fields & {"utilization.gpu", "memory.used", "power.draw", "pci.bus_id"}
    )


def read_smi(path: Path) -> tuple[pa.Table, dict[str, float]]:
    """Read ``nvidia-smi --query-gpu ... --format=csv[,nounits]`` output.

    Args:
        path: the CSV file (with its header: ``noheader`` output cannot be read).

    Returns:
        The telemetry columns it has, as strings with units stripped and ``[N/A]`` as null
        (``timestamp`` rewritten as naive ISO 8601), plus ``_row``, the 1-based data row of
        each line; and the divisors that bring a column to the telemetry unit
        (``{"energy_j": 1000.0}`` for a counter in mJ).

    Raises:
        BadInputError: the header names no field the telemetry table can use, or an energy
            unit is unknown.
    """
    raw = _read_strings(path)
    headers = [_split_header(name) for name in raw.column_names]
    picked: dict[str, int] = {}
    divisors: dict[str, float] = {}
    for position, (field, unit) in enumerate(headers):
        column = SMI_FIELDS.get(field)
        if column is None or column in picked:
            continue
        picked[column] = position
        if column == "energy_j":
            divisors[column] = _energy_divisor(unit, raw.column_names[position], path)
    if "timestamp" not in picked or not ({"gpu_index", "gpu_uuid"} & picked.keys()):
        raise BadInputError(
            "nvidia-smi output without a timestamp and a GPU index or uuid",
            file=str(path),
            row=0,
            expected="--query-gpu=timestamp,index,uuid,name,utilization.gpu,memory.used,"
            "memory.total,power.draw",
            fix="query timestamp and index (or uuid) with the other fields, --format=csv",
        )
    keep = _not_repeated_header(raw)
    columns = {"_row": pc.add(pc.indices_nonzero(keep), 1)}
    for column, position in picked.items():
        values = pc.utf8_trim_whitespace(raw.column(position)).filter(keep)
        columns[column] = _clean(values, column)
    return pa.table(columns), divisors


def _read_strings(path: Path) -> pa.Table:
    """Return the CSV with every column as a string, the header names as written."""
    try:
        with path.open(encoding="utf-8") as handle:
            names = handle.readline().rstrip("\r\n").split(",")
        return pv.read_csv(
            path,
            convert_options=pv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise BadInputError(
            f"cannot read it as nvidia-smi CSV ({exc})",
            file=str(path),
            expected="the output of nvidia-smi --query-gpu=... --format=csv",
            fix="write the output unchanged to the file (nvidia-smi ... -f file.csv)",
        ) from exc


def _split_header(name: str) -> tuple[str, str | None]:
    """Return ``("power.draw", "W")`` for ``" power.draw [W]"``."""
    match = _HEADER.match(name)
    if match is None:
        return name.strip(), None
    return match["field"], match["unit"]


def _energy_divisor(unit: str | None, header: str, path: Path) -> float:
    """Return the divisor from an energy header's unit to joules (mJ when it has none)."""
    if unit is None:
        return ENERGY_UNITS["mJ"]
    if unit in ENERGY_UNITS:
        return ENERGY_UNITS[unit]
    raise BadInputError(
        f"unknown energy unit [{unit}]",
        file=str(path),
        row=0,
        column=header.strip(),
        expected=f"one of {', '.join(f'[{u}]' for u in ENERGY_UNITS)}",
        fix="query the energy counter in mJ (nvidia-smi's default) or rename the unit",
    )


def _not_repeated_header(raw: pa.Table) -> pa.Array:
    """Return the mask of rows that are not a copy of the header (files appended to)."""
    first = pc.utf8_trim_whitespace(raw.column(0))
    return pc.invert(pc.equal(first, raw.column_names[0].strip()))


def _clean(values: pa.Array | pa.ChunkedArray, column: str) -> pa.Array | pa.ChunkedArray:
    """Return one column's values: null markers as null, units stripped, dates as ISO."""
    missing = pc.or_(
        pc.starts_with(values, "["),
        pc.is_in(values, value_set=pa.array(["", "N/A", "Not Supported"])),
    )
    values = pc.if_else(missing, pa.scalar(None, pa.string()), values)
    if column in _NUMERIC:
        values = pc.replace_substring_regex(values, r"\s*[A-Za-z%]+$", "")
    elif column == "timestamp":
        values = pc.replace_substring_regex(values, r"^(\d{4})/(\d{2})/(\d{2})\s+", r"\1-\2-\3T")
    return values
