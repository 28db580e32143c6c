"""The embedded DuckDB session that ingest and export run on.

Ingest always runs on embedded DuckDB (it streams files, spills to disk and writes Parquet);
analysis runs on whatever engine :mod:`aifinops.lake.engine` connects to. This module and
``engine.py`` are the only places that import ``duckdb``.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import pyarrow as pa

from aifinops.errors import EngineError

log = logging.getLogger(__name__)


class QueryError(EngineError):
    """DuckDB refused or failed a statement; ``kind`` is DuckDB's error class name."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class DuckSession:
    """One in-process DuckDB connection, set to UTC, with errors turned into QueryError."""

    def __init__(
        self,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: str | None = None,
    ) -> None:
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone='UTC'")
        self._con.execute("SET preserve_insertion_order=true")
        self._con.execute("SET enable_progress_bar=false")
        if memory_limit:
            self._con.execute(f"SET memory_limit='{memory_limit}'")
        if temp_directory:
            self._con.execute(f"SET temp_directory={quote_literal(temp_directory)}")
        if threads:
            self._con.execute(f"SET threads={int(threads)}")

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        """Run a statement for its effect."""
        self._run(sql, params)

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""
        try:
            return self._con.sql(sql, params=params or None).to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(str(exc), kind=type(exc).__name__) from exc

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as Python tuples."""
        return self._run(sql, params).fetchall()

    def cursor(self) -> DuckSession:
        """Return a second connection to the same database, for a query in another thread."""
        twin = DuckSession.__new__(DuckSession)
        twin._con = self._con.cursor()
        return twin

    def register(self, name: str, table: pa.Table) -> None:
        """Expose an Arrow table to SQL under ``name``."""
        self._con.register(name, table)

    def close(self) -> None:
        """Close the connection."""
        self._con.close()

    def __enter__(self) -> DuckSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, sql: str, params: list[Any] | None) -> duckdb.DuckDBPyConnection:
        try:
            return self._con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise QueryError(str(exc), kind=type(exc).__name__) from exc


def quote_ident(name: str) -> str:
    """Return ``name`` quoted as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Return ``value`` quoted as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
