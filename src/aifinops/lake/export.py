"""Export the lake as one FOCUS file: FOCUS 1.2 columns first, then ours (``x_``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from aifinops.errors import BadInputError, LakeError
from aifinops.focus import lake_schema
from aifinops.focus.columns import FOCUS_13_EXTRAS, FOCUS_COLUMN_NAMES
from aifinops.focus.extensions import EXTENSION_NAMES
from aifinops.lake.duck import DuckSession, quote_ident, quote_literal
from aifinops.lake.store import Lake

FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and how many rows it holds."""

    path: Path
    format: str
    rows: int
    columns: tuple[str, ...]


def export_columns(*, include_focus_13: bool = False, include_ours: bool = True) -> list[str]:
    """Return the exported columns in order: FOCUS 1.2, optionally the 1.3 extras, then ``x_``."""
    columns = list(FOCUS_COLUMN_NAMES)
    if include_focus_13:
        columns += [c.name for c in FOCUS_13_EXTRAS]
    if include_ours:
        columns += list(EXTENSION_NAMES)
    return columns


def export(
    lake: Lake,
    output: Path,
    *,
    fmt: str = "csv",
    period: tuple[str, str] | None = None,
    include_focus_13: bool = False,
    include_ours: bool = True,
) -> ExportResult:
    """Write the lake's cost rows to ``output`` as FOCUS CSV or Parquet.

    CSV uses ISO 8601 UTC times (``2026-10-01T00:00:00Z``), plain decimals without trailing
    zeros and empty fields for nulls, which is what the FOCUS validator expects.

    Args:
        lake: the lake to read.
        output: the file to write (replaced atomically).
        fmt: ``csv`` or ``parquet``.
        period: inclusive ``(first, last)`` billing months ``YYYY-MM`` to keep, or all.
        include_focus_13: also write the eight FOCUS 1.3 columns.
        include_ours: also write our ``x_`` columns.

    Raises:
        BadInputError: for an unknown format.
        LakeError: when the lake holds no data.
    """
    if fmt not in FORMATS:
        raise BadInputError(
            f"unknown export format {fmt!r}",
            expected=" or ".join(FORMATS),
            fix="pass --format csv or --format parquet.",
        )
    files = lake.data_files()
    if not files:
        raise LakeError(f"The lake at {lake.root} holds no cost data. To fix: ingest first.")
    columns = export_columns(include_focus_13=include_focus_13, include_ours=include_ours)
    select = ", ".join(_column_sql(c, fmt) for c in columns)
    sources = "[" + ", ".join(quote_literal(str(f)) for f in files) + "]"
    where = ""
    if period is not None:
        where = (
            f" WHERE strftime(BillingPeriodStart, '%Y-%m') BETWEEN "
            f"{quote_literal(period[0])} AND {quote_literal(period[1])}"
        )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
    query = (
        f"SELECT {select} FROM read_parquet({sources}, hive_partitioning=false) {where} "
        f"ORDER BY ChargePeriodStart, ProviderName, BillingAccountId, ChargeCategory"
    )
    with DuckSession() as session:
        session.execute(f"COPY ({query}) TO {quote_literal(str(tmp))} ({options})")
        rows = int(session.rows(f"SELECT count(*) FROM ({query})")[0][0])
    os.replace(tmp, output)
    return ExportResult(output, fmt, rows, tuple(columns))


def _column_sql(name: str, fmt: str) -> str:
    ident = quote_ident(name)
    if fmt == "parquet":
        return ident
    arrow_type = str(lake_schema().field(name).type)
    if arrow_type.startswith("timestamp"):
        return f"strftime({ident}, '%Y-%m-%dT%H:%M:%SZ') AS {ident}"
    if arrow_type.startswith("decimal"):
        # 12.500000000000000000 -> 12.5 ; 3.000000000000000000 -> 3
        text = f"CAST({ident} AS VARCHAR)"
        trimmed = f"rtrim(rtrim({text}, '0'), '.')"
        return f"(CASE WHEN contains({text}, '.') THEN {trimmed} ELSE {text} END) AS {ident}"
    return ident
