"""Convert a telemetry file's columns to the TELEMETRY schema's types, naming bad cells.

Tabular readers (:mod:`aifinops.signals.telemetry_files`, :mod:`aifinops.signals.nvidia_smi`)
hand over a table whose columns already carry telemetry names but may still be strings, plus
``_row``, each line's 1-based data row. :func:`conform` converts them with vectorised casts;
only when a cast fails does it look for the first bad cell, so the error can name its row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from aifinops.errors import BadInputError
from aifinops.signals.prometheus import from_unix
from aifinops.signals.schema import TELEMETRY, TS

FLOAT_COLUMNS = (
    "gpu_util_pct",
    "engine_active_pct",
    "mem_used_mib",
    "mem_total_mib",
    "power_w",
    "energy_j",
)
STRING_COLUMNS = ("host", "resource_id", "gpu_uuid", "gpu_model", "source")
#: Valid range of each measurement (None: unbounded).
LIMITS: dict[str, tuple[float, float | None]] = {
    "gpu_util_pct": (0.0, 100.0),
    "engine_active_pct": (0.0, 100.0),
    "mem_used_mib": (0.0, None),
    "mem_total_mib": (0.0, None),
    "power_w": (0.0, None),
    "energy_j": (0.0, None),
}
#: pyarrow has no type stubs: an Array or ChunkedArray.
_Column = Any


def conform(
    raw: pa.Table,
    *,
    file: str,
    naive_tz: str,
    divisors: Mapping[str, float] | None = None,
) -> pa.Table:
    """Return ``raw`` with the TELEMETRY schema: columns converted, missing ones null.

    Args:
        raw: columns named as TELEMETRY's (strings or typed), optionally ``_row``; others are
            ignored.
        file: the file, for error messages.
        naive_tz: the zone of timestamps written without one.
        divisors: column → number its values are divided by (``energy_j``: 1000 for mJ).

    Raises:
        BadInputError: a timestamp or number cannot be read, a measurement is out of range,
            or a row names no GPU (the message names the row and column).
    """
    where = _Where(file, raw["_row"] if "_row" in raw.column_names else None)
    if "timestamp" not in raw.column_names:
        raise where.error("there is no timestamp column", "timestamp", None, "a timestamp")
    if not {"gpu_index", "gpu_uuid"} & set(raw.column_names):
        raise where.error(
            "there is neither a gpu_index nor a gpu_uuid column", "gpu_index", None, "either"
        )
    out: dict[str, _Column] = {"timestamp": _timestamps(raw["timestamp"], where, naive_tz)}
    for name in TELEMETRY.names:
        if name == "timestamp":
            continue
        if name not in raw.column_names:
            out[name] = pa.nulls(raw.num_rows, TELEMETRY.field(name).type)
        elif name == "gpu_index":
            out[name] = _convert(raw[name], pa.int32(), int, where, name, "a GPU index (0, 1…)")
        elif name in STRING_COLUMNS:
            out[name] = _strings(raw[name])
        else:
            values = _convert(raw[name], pa.float64(), float, where, name, "a number")
            values = pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values)
            if divisors and name in divisors:
                values = pc.divide(values, divisors[name])
            out[name] = values
    table = pa.table(out, schema=TELEMETRY)
    _check(table, where)
    return table


def fill(table: pa.Table, name: str, value: str | None) -> pa.Table:
    """Return ``table`` with the nulls of string column ``name`` replaced by ``value``."""
    if value is None:
        return table
    index = table.schema.get_field_index(name)
    filled = pc.fill_null(table[name], pa.scalar(value, pa.string()))
    return table.set_column(index, name, filled)


class _Where:
    """Where a column came from, to name the file and row of a bad cell.

    ``rows`` holds each line's 1-based data row when lines were dropped; else the row is the
    position plus one.
    """

    def __init__(self, file: str, rows: _Column | None) -> None:
        self.file = file
        self.rows = rows

    def error(
        self, message: str, column: str, position: int | None, expected: str
    ) -> BadInputError:
        """Return the error for the cell at ``position`` (0-based; None: the whole column)."""
        if position is None:
            row = 0  # the column as a whole: the header
        elif self.rows is None:
            row = position + 1
        else:
            row = int(self.rows[position].as_py())
        return BadInputError(
            message,
            file=self.file,
            row=row,
            column=column,
            expected=expected,
            fix="correct the value in the file (or remove the row) and import it again",
        )


def _convert(
    values: _Column,
    to: pa.DataType,
    parse: Callable[[str], object],
    where: _Where,
    column: str,
    expected: str,
) -> _Column:
    """Cast ``values`` to ``to``; on failure name the first cell ``parse`` rejects."""
    try:
        return values.cast(to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        for position, cell in enumerate(values.to_pylist()):
            try:
                if cell is not None:
                    parse(str(cell).strip())
            except ValueError:
                raise where.error(
                    f"{cell!r} is not {expected}", column, position, expected
                ) from None
        raise where.error(f"cannot read the column ({exc})", column, None, expected) from exc


def _strings(values: _Column) -> _Column:
    """Return a column as strings, blank cells as null."""
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _timestamps(values: _Column, where: _Where, naive_tz: str) -> _Column:
    """Return timestamps as UTC microseconds: from timestamps, unix seconds or ISO 8601."""
    kind = values.type
    if pa.types.is_timestamp(kind):
        return _as_utc(values, naive_tz) if kind.tz is None else values.cast(TS)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return _unix(values.cast(pa.float64()))
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    attempts: list[Callable[[], _Column]] = [
        lambda: _unix(text.cast(pa.float64())),
        lambda: text.cast(TS),
        lambda: _as_utc(text.cast(pa.timestamp("us")), naive_tz),
    ]
    for attempt in attempts:
        try:
            result = attempt()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        _no_nulls(result, where)
        return result
    return _parse_each(text.to_pylist(), where, naive_tz)


def _unix(seconds: _Column) -> _Column:
    """Return unix seconds as microsecond timestamps (rounded, so .254 stays .254000)."""
    micros = pc.round(pc.multiply(seconds, 1_000_000.0)).cast(pa.int64())
    return micros.cast(TS)


def _as_utc(naive: _Column, zone: str) -> _Column:
    """Return naive wall-clock timestamps of ``zone`` as UTC (a DST overlap: the earlier)."""
    local = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="earliest")
    return local.cast(TS)


def _parse_each(cells: list[str | None], where: _Where, naive_tz: str) -> pa.Array:
    """Parse cells one by one (mixed offsets or kinds); name the first one that fails."""
    zone = ZoneInfo(naive_tz)
    parsed: list[datetime] = []
    expected = "an ISO 8601 time (2026-11-28T11:50:25Z) or unix seconds"
    for position, cell in enumerate(cells):
        if cell is None:
            raise where.error("the timestamp is empty", "timestamp", position, expected)
        try:
            moment = from_unix(float(cell)) if _is_number(cell) else datetime.fromisoformat(cell)
        except (ValueError, OverflowError):
            raise where.error(f"{cell!r} is not a time", "timestamp", position, expected) from None
        parsed.append(moment if moment.tzinfo else moment.replace(tzinfo=zone))
    return pa.array(parsed, TS)


def _is_number(text: str) -> bool:
    """Return True for ``1795830955.254``-like text."""
    return text.replace(".", "", 1).isdigit()


def _no_nulls(timestamps: _Column, where: _Where) -> None:
    """Raise when a timestamp is empty."""
    if timestamps.null_count:
        position = pc.index(pc.is_null(timestamps), True).as_py()
        raise where.error("the timestamp is empty", "timestamp", position, "a time")


def _check(table: pa.Table, where: _Where) -> None:
    """Raise on the first row without a GPU or with a measurement out of range."""
    no_gpu = pc.and_(pc.is_null(table["gpu_index"]), pc.is_null(table["gpu_uuid"]))
    if pc.any(no_gpu).as_py():
        position = pc.index(no_gpu, True).as_py()
        raise where.error("the row names no GPU", "gpu_index", position, "a GPU index or UUID")
    for name, (low, high) in LIMITS.items():
        values = table[name]
        bad = pc.less(values, low)
        if high is not None:
            bad = pc.or_(bad, pc.greater(values, high))
        bad = pc.fill_null(bad, False)
        if pc.any(bad).as_py():
            position = pc.index(bad, True).as_py()
            span = f"{low:g} to {high:g}" if high is not None else f"{low:g} or more"
            value = values[position].as_py()
            raise where.error(f"{value:g} is out of range", name, position, span)
