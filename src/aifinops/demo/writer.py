"""Append-only sinks that keep memory flat: Parquet in row groups, CSV and JSON Lines in blocks.

Each sink buffers at most ``batch_rows`` rows, so generating ten million rows needs no more
memory than generating ten thousand. :class:`TemplateSink` is the fast Parquet sink: most
columns of a row depend only on *what* was charged (the template, built once and expanded
with ``take``); only a few, such as costs and times, are buffered per row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BATCH_ROWS = 2_048
#: Rows per row group of the template sinks (bounded memory, few Python-level flushes).
TEMPLATE_BATCH_ROWS = 65_536


def _column(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    """Return ``values`` as an Arrow array (decimals go through strings: 6x faster)."""
    if pa.types.is_decimal(arrow_type):
        text = pa.array([None if v is None else str(v) for v in values], pa.string())
        return text.cast(arrow_type)
    return pa.array(values, arrow_type)


class ParquetSink:
    """Write dict rows to one Parquet file with a fixed schema, one row group per batch."""

    def __init__(
        self,
        path: Path,
        schema: pa.Schema,
        *,
        batch_rows: int = BATCH_ROWS,
        compression: str = "zstd",
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.schema = schema
        self.rows = 0
        self._batch_rows = batch_rows
        self._buffer: list[dict[str, Any]] = []
        self._writer = pq.ParquetWriter(path, schema, compression=compression)

    def write(self, row: dict[str, Any]) -> None:
        """Append one row (missing keys are null)."""
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= self._batch_rows:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one row group."""
        if not self._buffer:
            return
        columns = [_column([row.get(f.name) for row in self._buffer], f.type) for f in self.schema]
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
        self._buffer = []

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        self._writer.close()


class TemplateSink:
    """Write rows given as (template id, varying values) to one Parquet file.

    ``varying`` names the columns given per row, in the order of the values; every other
    column comes from the template row, built once per template id by a callback.
    """

    def __init__(
        self,
        path: Path,
        schema: pa.Schema,
        varying: Sequence[str],
        *,
        batch_rows: int = TEMPLATE_BATCH_ROWS,
        compression: str = "zstd",
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.schema = schema
        self.rows = 0
        self._varying = list(varying)
        self._static = [f for f in schema if f.name not in set(varying)]
        self._batch_rows = batch_rows
        self._local: dict[int, int] = {}
        self._templates: list[dict[str, Any]] = []
        self._table: pa.Table | None = None
        self._idx: list[int] = []
        self._values: list[tuple[Any, ...]] = []
        self._writer = pq.ParquetWriter(path, schema, compression=compression)

    def write(
        self, template: int, build: Callable[[], dict[str, Any]], values: tuple[Any, ...]
    ) -> None:
        """Append one row: template ``template`` (built by ``build`` if new) plus ``values``."""
        local = self._local.get(template)
        if local is None:
            local = self._local[template] = len(self._templates)
            self._templates.append(build())
            self._table = None
        self._idx.append(local)
        self._values.append(values)
        self.rows += 1
        if len(self._idx) >= self._batch_rows:
            self.flush()

    def _template_table(self) -> pa.Table:
        if self._table is None:
            arrays = [
                _column([t.get(f.name) for t in self._templates], f.type) for f in self._static
            ]
            self._table = pa.Table.from_arrays(arrays, schema=pa.schema(self._static))
        return self._table

    def flush(self) -> None:
        """Write the buffered rows as one row group."""
        if not self._idx:
            return
        static = self._template_table().take(pa.array(self._idx, pa.int32()))
        per_row = dict(zip(self._varying, zip(*self._values, strict=True), strict=True))
        columns = [
            _column(list(per_row[f.name]), f.type) if f.name in per_row else static[f.name]
            for f in self.schema
        ]
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
        self._idx, self._values = [], []

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        self._writer.close()


class CsvSink:
    """Write rows to a CSV file line by line (optionally with a UTF-8 BOM, as Azure does)."""

    def __init__(
        self, path: Path, header: list[str], *, bom: bool = False, crlf: bool = False
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._file = path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\r\n" if crlf else "\n")
        self._csv.writerow(header)

    def write(self, values: list[str]) -> None:
        """Append one row of already formatted values."""
        self._csv.writerow(values)
        self.rows += 1

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class LineSink:
    """Write pre-serialised lines (JSON Lines, plain CSV) to a file, in blocks."""

    def __init__(self, path: Path, header: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._file: io.TextIOWrapper = path.open("w", encoding="utf-8", newline="\n")
        self._lines: list[str] = [] if header is None else [header]

    def write(self, line: str) -> None:
        """Append one line (without its newline)."""
        self._lines.append(line)
        self.rows += 1
        if len(self._lines) >= BATCH_ROWS * 8:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines."""
        if self._lines:
            self._file.write("\n".join(self._lines))
            self._file.write("\n")
            self._lines = []

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        self._file.close()
