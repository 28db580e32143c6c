"""Cells of a metrics file as typed columns: timestamps in UTC and float values.

Both parsers take an Arrow column as the file gave it (strings from a CSV, typed columns
from Parquet) and either return the typed column or raise :class:`BadInputError` naming
the file, the 1-based data row, the column, what was expected and how to fix it.

Timestamps (docs/import.md): ISO 8601 with a zone (``2026-08-01T10:00:00Z``,
``…+02:00``) or without one, read as UTC; or unix epoch numbers, whose unit follows from
their size: below 10¹¹ seconds, below 10¹⁴ milliseconds, below 10¹⁷ microseconds, else
nanoseconds (10¹¹ seconds is the year 5138; 10¹¹ milliseconds is 1973).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from aifinops.errors import BadInputError
from aifinops.signals.schema import TS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: (below this magnitude, microseconds per unit): seconds, milliseconds, microseconds, ns.
_EPOCH_UNITS = ((1e11, 1_000_000.0), (1e14, 1_000.0), (1e17, 1.0), (math.inf, 0.001))
TIMESTAMP_EXPECTED = (
    "an ISO 8601 time (2026-08-01T10:00:00Z; no zone means UTC) "
    "or unix seconds or milliseconds (1785578400 or 1785578400000)"
)


def parse_timestamps(column: pa.ChunkedArray | pa.Array, *, file: str, name: str) -> pa.Array:
    """Return ``column`` as UTC timestamps (microseconds).

    Raises:
        BadInputError: for an empty cell or a value that is not a time (first such row).
    """
    column = _combined(column)
    _no_nulls(column, file=file, name=name, expected=TIMESTAMP_EXPECTED)
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        return column.cast(TS)
    if pa.types.is_date(column.type):
        return pc.assume_timezone(column.cast(pa.timestamp("us")), "UTC").cast(TS)
    text = column if pa.types.is_string(column.type) else column.cast(pa.string())
    text = pc.utf8_trim_whitespace(text.cast(pa.string()))
    uniques = pc.unique(text)
    parsed = []
    for value in uniques.to_pylist():
        moment = parse_time(value)
        if moment is None:
            row = _first_row(text, value)
            raise _error(f"{value!r} is not a time", file, row, name, TIMESTAMP_EXPECTED)
        parsed.append(moment)
    times = pa.array(parsed, type=TS)
    return times.take(pc.index_in(text, uniques))


def parse_time(text: str) -> datetime | None:
    """Return the UTC time a cell holds (ISO 8601 or unix epoch), or None when it is none."""
    try:
        number = float(text)
    except ValueError:
        return _iso(text)
    if not math.isfinite(number):
        return None
    return from_epoch(number)


def from_epoch(number: float) -> datetime | None:
    """Return the UTC time of a unix epoch number whose unit follows from its size."""
    for limit, micros in _EPOCH_UNITS:
        if abs(number) < limit:
            try:
                return EPOCH + timedelta(microseconds=round(number * micros))
            except OverflowError:
                return None
    return None


def _iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_values(
    column: pa.ChunkedArray | pa.Array, *, file: str, name: str, required: bool
) -> pa.Array:
    """Return ``column`` as float64; an empty cell is null (an error when ``required``).

    ``NaN`` stays NaN (callers drop it as "no sample"); ``±inf`` is an error.

    Raises:
        BadInputError: for a cell that is not a finite number (first such row).
    """
    column = _combined(column)
    expected = "a number such as 1311 or 2.33035"
    if required:
        _no_nulls(column, file=file, name=name, expected=expected)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pc.utf8_trim_whitespace(column.cast(pa.string()))
        try:
            values = column.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            row, value = _first_not_number(column)
            raise _error(f"{value!r} is not a number", file, row, name, expected) from None
    elif _is_number_type(column.type):
        values = column.cast(pa.float64())
    else:
        raise _error(f"the column is {column.type}", file, None, name, expected)
    infinite = pc.is_inf(values)
    if pc.any(infinite).as_py():
        row = pc.index(infinite, True).as_py() + 1
        raise _error(f"{values[row - 1].as_py()} is not finite", file, row, name, expected)
    return values


def is_numeric(column: pa.ChunkedArray | pa.Array) -> bool:
    """Return whether every non-empty cell is a number and at least one cell is not empty."""
    column = _combined(column)
    if column.null_count == len(column):
        return False
    if _is_number_type(column.type):
        return True
    if not pa.types.is_string(column.type):
        return False
    try:
        pc.utf8_trim_whitespace(column).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _is_number_type(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def _combined(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column


def _no_nulls(column: pa.Array, *, file: str, name: str, expected: str) -> None:
    if column.null_count:
        row = pc.index(column.is_null(), True).as_py() + 1
        raise _error("the cell is empty", file, row, name, expected)


def _first_row(column: pa.Array, value: str) -> int:
    return int(pc.index(column, value).as_py()) + 1


def _first_not_number(column: pa.Array) -> tuple[int, str]:
    for row, value in enumerate(column.to_pylist(), 1):
        if value is None:
            continue
        try:
            float(value)
        except ValueError:
            return row, value
    return 0, ""  # NOTE: unreachable when Arrow's cast failed; keeps the types simple


def _error(message: str, file: str, row: int | None, name: str, expected: str) -> BadInputError:
    return BadInputError(
        message,
        file=file,
        row=row,
        column=name,
        expected=expected,
        fix="correct or remove that row, then import the file again.",
    )
