"""Raw scans of input files in DuckDB, and checks that name the first bad row.

A scan yields the file's columns as text (CSV) or as stored (Parquet), under their header
names. One streaming pass converts, checks and stages every row; only when a check fails is
the offending row looked up (the row number lookup is slower; only the error path pays).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aifinops.errors import BadInputError
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import DuckSession, QueryError, quote_ident, quote_literal
from aifinops.lake.write import stage


def scan_sql(info: SourceInfo, *, json_columns: Mapping[str, str] | None = None) -> str:
    """Return a FROM-clause source that reads ``info`` with its header names as columns.

    Args:
        info: the sniffed file.
        json_columns: for JSON files, the schema to read (top-level key -> DuckDB type);
            keys a record lacks read as NULL. Without it the schema is sampled.
    """
    path = quote_literal(str(info.read_path))  # a zip's unpacked CSV; info.path is recorded
    if info.kind == "parquet":
        return f"read_parquet({path})"
    if info.kind == "json":
        return _json_scan(path, info.compression, json_columns)
    positional = ", ".join(f"{quote_literal(f'c{i}')}: 'VARCHAR'" for i in range(len(info.columns)))
    compression = quote_literal(info.compression or "none")
    reader = (
        f"read_csv({path}, header=true, delim=',', quote='\"', escape='\"', all_varchar=true, "
        f"auto_detect=false, strict_mode=true, null_padding=false, compression={compression}, "
        f"columns={{{positional}}})"
    )
    renames = ", ".join(f"c{i} AS {quote_ident(name)}" for i, name in enumerate(info.columns))
    return f"(SELECT {renames} FROM {reader})"


def _json_scan(path: str, compression: str | None, columns: Mapping[str, str] | None) -> str:
    options = f"format='newline_delimited', compression={quote_literal(compression or 'none')}"
    if columns is None:
        return f"read_json({path}, {options}, sample_size=-1)"
    schema = ", ".join(f"{quote_literal(k)}: {quote_literal(v)}" for k, v in columns.items())
    return f"read_json({path}, {options}, columns={{{schema}}})"


@dataclass(frozen=True)
class Check:
    """A row condition that makes a file bad input, with how to explain it."""

    column: str
    condition: str  # SQL, true on a bad row
    shown: str  # SQL of the value to show the user
    message: str
    expected: str
    fix: str


def stage_source(
    session: DuckSession,
    info: SourceInfo,
    source: str,
    *,
    select: str,
    checks: list[Check],
    target: Path,
    ingested_at: datetime,
    where: str | None = None,
    line: str | None = None,
    wrap: Callable[[str], str] | None = None,
) -> None:
    """Read ``source`` once: check every row and write the rows to the Parquet ``target``.

    ``wrap`` turns the query of the checked rows into the query written (enrichment).

    ``line`` is SQL true on the scan rows that are lines of the file (a reader that emits a
    second row for some lines marks the copies false), so errors name the file's own line.

    The checks run inside the write's filter: a bad row raises there and stops the write,
    so good files pay nothing for a verdict column. Only then is the first bad row looked
    up, by a second scan (the error path alone pays for it).

    Raises:
        BadInputError: naming the file, 1-based data row, column, value, expectation and fix.
    """
    stamp = quote_literal(ingested_at.isoformat())
    query = (
        f"SELECT * REPLACE (CAST({stamp} AS TIMESTAMPTZ) AS x_IngestedAt) "
        f"FROM (SELECT {select} FROM {source}{_filter(checks, where)})"
    )
    if wrap is not None:
        query = wrap(query)
    try:
        stage(session, query, target)
    except QueryError as exc:
        target.unlink(missing_ok=True)
        if _CHECK_FAILED not in str(exc):
            raise bad_file(info, exc) from exc
        filtered = f"(SELECT * FROM {source} WHERE {where})" if where else source
        check = _first_failed(session, info, filtered, checks)
        _raise_first(session, info, source, check, where=where, line=line)


#: Marker of the error a failed check raises inside the staging write.
_CHECK_FAILED = "aifinops: row check failed"


def _filter(checks: list[Check], where: str | None) -> str:
    """Return the WHERE clause that keeps ``where``'s rows and raises on a bad one."""
    # NOTE: one CASE, not ``where AND check``: DuckDB may reorder conjuncts, and a check
    # must never fire on a row the reader drops (e.g. AWS Savings Plan negation lines).
    branches = "".join(
        f" WHEN {c.condition} THEN error({quote_literal(_CHECK_FAILED)})" for c in checks
    )
    if where:
        branches = f" WHEN ({where}) IS NOT TRUE THEN false" + branches
    return f" WHERE CASE{branches} ELSE true END" if branches else ""


def _first_failed(
    session: DuckSession, info: SourceInfo, source: str, checks: list[Check]
) -> Check:
    """Return the first check (in the reader's order) that some row of ``source`` fails."""
    flags = ", ".join(f"coalesce(bool_or({c.condition}), false)" for c in checks)
    found = read(session, info, f"SELECT {flags} FROM {source}")[0]
    return next(c for c, failed in zip(checks, found, strict=True) if failed)


def _raise_first(
    session: DuckSession,
    info: SourceInfo,
    source: str,
    check: Check,
    *,
    where: str | None,
    line: str | None,
) -> None:
    # NOTE: rows are numbered before the reader's filter, and only rows that are lines of
    # the file count: dropped lines (AWS negation lines) and a reader's extra rows once
    # shifted the row named in the error.
    keep = f"({where}) IS TRUE" if where else "true"
    numbered = (
        f"(SELECT row_number() OVER () AS rn, {line or 'true'} AS is_line, {keep} AS keep, "
        f"{check.condition} AS bad, CAST({check.shown} AS VARCHAR) AS shown FROM {source})"
    )
    found = read(
        session,
        info,
        f"WITH t AS MATERIALIZED (SELECT rn, is_line, keep AND bad AS hit, shown FROM {numbered}), "
        "first AS (SELECT rn, shown FROM t WHERE hit ORDER BY rn LIMIT 1) "
        "SELECT (SELECT count(*) FROM t WHERE is_line AND t.rn <= first.rn), shown FROM first",
    )
    row, shown = found[0] if found else (None, None)
    message = check.message.format(value=shown)
    raise BadInputError(
        message,
        file=str(info.path),
        row=row,
        column=check.column,
        expected=check.expected,
        fix=check.fix,
    )


def read(session: DuckSession, info: SourceInfo, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` over a scan of ``info``, turning reader failures into BadInputError."""
    try:
        return session.rows(sql)
    except QueryError as exc:
        raise bad_file(info, exc) from exc


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_EXPECTED = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def bad_file(info: SourceInfo, exc: QueryError) -> BadInputError:
    """Explain a DuckDB failure to read ``info`` in the user's terms."""
    text = str(exc)
    if "GZIP" in text.upper() or "gzip" in text:
        return BadInputError(
            "the gzip stream ends early or is corrupt",
            file=str(info.path),
            expected="a complete gzip file",
            fix="download or export the file again; it was truncated.",
        )
    line = _LINE.search(text)
    counts = _EXPECTED.search(text)
    if line:
        detail = (
            f"the row has {counts.group(2)} fields, the header {counts.group(1)}"
            if counts
            else text.splitlines()[0]
        )
        return BadInputError(
            f"malformed CSV: {detail}",
            file=str(info.path),
            row=int(line.group(1)) - 1,
            expected='comma-separated fields, one per header column, quoted with "',
            fix="check the row for an unquoted comma or a cut-off line; re-export the file.",
        )
    return BadInputError(
        f"cannot read the file: {text.splitlines()[0]}",
        file=str(info.path),
        fix="check that the file is complete CSV or Parquet.",
    )
