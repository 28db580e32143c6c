"""Split a large staged file by partition with bounded memory: sort, then stream.

DuckDB's ``PARTITION_BY`` write keeps rows of every open partition in flight: under the
ingest's 700 MB cap it ran out of memory on a 9.7M-row file spanning 1,845 partitions, and
still on the same rows spread over 18 buckets. Here DuckDB sorts the rows by partition (its
sort spills to disk) into one file, and Arrow reads that file back in batches and writes each
partition's rows, in their original order, to the partition's own file; one partition's
writer is open at a time, so memory is one batch whatever the file's size.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aifinops.lake.duck import DuckSession, quote_literal

#: Rows read back per batch.
BATCH_ROWS = 65_536
#: Rows per Parquet row group of a partition file (as DuckDB writes the lake's files).
ROW_GROUP_ROWS = 122_880


def split_sorted(
    session: DuckSession,
    staged: Path,
    directory: Path,
    *,
    hash_sql: str,
    column: str,
    parquet_options: str,
) -> dict[str, list[Path]]:
    """Write ``staged``'s rows to ``directory/<column>=<hash>/data_0.parquet`` per partition
    (``hash_sql`` computes a row's partition hash); return the files by hash.

    Rows keep their order within a partition (sorted by hash, then by row number).
    """
    directory.mkdir(parents=True, exist_ok=True)
    ordered = directory / "sorted.parquet"
    source = f"read_parquet({quote_literal(str(staged))}, file_row_number=true)"
    session.execute(
        f"COPY (SELECT * EXCLUDE (file_row_number), {hash_sql} AS {column} FROM {source} "
        f"ORDER BY {column}, file_row_number) TO {quote_literal(str(ordered))} "
        f"({parquet_options})"
    )
    found = _stream(ordered, directory, column)
    ordered.unlink()
    return found


def _stream(ordered: Path, directory: Path, column: str) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    sink = _PartitionSink(directory, column)
    for batch in pq.ParquetFile(ordered).iter_batches(batch_size=BATCH_ROWS):
        keys = batch.column(column)
        rows = batch.drop_columns([column])
        for key, start, stop in _runs(keys):
            path = sink.switch(key, rows.schema)
            found.setdefault(key, [path])
            sink.add(rows.slice(start, stop - start))
    sink.close()
    return found


def _runs(keys: pa.Array) -> list[tuple[str, int, int]]:
    """Return (key, start, stop) for each run of equal adjacent keys (none is null)."""
    if len(keys) == 0:
        return []
    changes = pc.indices_nonzero(pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1)))
    starts = [0, *(i + 1 for i in changes.to_pylist())]
    stops = [*starts[1:], len(keys)]
    return [(str(keys[s].as_py()), s, e) for s, e in zip(starts, stops, strict=True)]


class _PartitionSink:
    """Writes one partition at a time, in row groups of :data:`ROW_GROUP_ROWS`."""

    def __init__(self, directory: Path, column: str) -> None:
        self.directory = directory
        self.column = column
        self.key: str | None = None
        self.writer: pq.ParquetWriter | None = None
        self.schema = pa.schema([])
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0

    def switch(self, key: str, schema: pa.Schema) -> Path:
        """Make ``key`` the partition being written; return its file."""
        path = self.directory / f"{self.column}={key}" / "data_0.parquet"
        if key != self.key:
            self.close()
            path.parent.mkdir(parents=True, exist_ok=True)
            # NOTE: every field nullable, as DuckDB's partitioned write leaves them.
            self.schema = pa.schema([f.with_nullable(True) for f in schema])
            self.writer = pq.ParquetWriter(path, self.schema, compression="snappy")
            self.key = key
        return path

    def add(self, rows: pa.RecordBatch) -> None:
        self.pending.append(rows)
        self.pending_rows += rows.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def close(self) -> None:
        self._flush()
        if self.writer is not None:
            self.writer.close()
        self.writer, self.key = None, None

    def _flush(self) -> None:
        if self.pending and self.writer is not None:
            table = pa.Table.from_batches(self.pending).cast(self.schema)
            self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.pending, self.pending_rows = [], 0
