"""Turn result rows into table, JSON, CSV or Markdown text (the CLI prints what this returns).

Money stays exact: JSON and CSV carry decimals as plain decimal strings; only the
human-readable table rounds, to two places with thousands separators.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.table import Table

FORMATS = ("table", "json", "csv")
Row = dict[str, Any]


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-safe data: Decimals as exact strings, times as ISO 8601."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def decimal_text(value: Decimal) -> str:
    """Return a Decimal as a plain string without exponent or trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def to_json(rows: Sequence[Row], **meta: Any) -> str:
    """Return rows (and optional metadata, which may hold lists of rows) as indented JSON."""
    body: dict[str, Any] = {k: _plain_deep(v) for k, v in meta.items()}
    body["rows"] = [{k: plain(v) for k, v in row.items()} for row in rows]
    return json.dumps(body, indent=2)


def _plain_deep(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain_deep(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_deep(v) for k, v in value.items()}
    return plain(value)


def to_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """Return rows as CSV with a header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else plain(row.get(c)) for c in columns])
    return out.getvalue()


def to_table(rows: Sequence[Row], columns: Sequence[str], *, title: str | None = None) -> Table:
    """Return a Rich table; money rounded to cents, numbers right-aligned."""
    table = Table(title=title, show_lines=False, header_style="bold")
    numeric = {c for c in columns if any(isinstance(r.get(c), (Decimal, int, float)) for r in rows)}
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(plain(value))
