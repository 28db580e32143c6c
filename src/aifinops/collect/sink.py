"""Where collected samples go: buffered, then written to the lake one chunk at a time.

A long collection is written as a series of chunks, each its own partition of the lake's
``telemetry`` table (source ``nvml-<host>-<start, UTC>-<chunk n>``, e.g.
``nvml-gpu-node-1-20261129T101500Z-0003``). Each flush is atomic (see
:func:`aifinops.signals.store.write_signal`), so a crash, a power cut or ``kill -9`` loses
at most the samples since the last flush, never what was flushed before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from aifinops.lake import Lake
from aifinops.signals.schema import TELEMETRY
from aifinops.signals.store import SignalManifest, partition_dir, write_signal

log = logging.getLogger(__name__)

TABLE = "telemetry"
#: Flush at least this often, whatever the time: bounds memory on many-GPU machines.
MAX_BUFFERED_ROWS = 100_000

WriteSignal = Callable[[Lake, str, str, pa.Table], SignalManifest]


class Sink(Protocol):
    """Receives the samples of a collection."""

    def add(self, rows: pa.Table) -> None:
        """Take the rows of one sample."""

    def close(self) -> None:
        """Write whatever is still buffered."""


@dataclass(frozen=True)
class Chunk:
    """One flushed chunk: its partition's source name, rows and directory."""

    source: str
    rows: int
    path: Path


def chunk_prefix(host: str, started: datetime) -> str:
    """Return ``nvml-<host>-<YYYYMMDDTHHMMSSZ>``, the source prefix of one collection."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in host) or "unknown"
    return f"nvml-{safe}-{started.strftime('%Y%m%dT%H%M%SZ')}"


@dataclass
class LakeSink:
    """Buffers samples and writes them to the lake every ``flush_s`` seconds.

    Args:
        lake: the lake.
        prefix: the source prefix (:func:`chunk_prefix`); chunk ``n`` is ``prefix-000n``.
        flush_s: the longest time samples stay in memory before they are written.
        clock: monotonic seconds (tests pass a fake).
        write: the partition writer (:func:`aifinops.signals.store.write_signal`).
    """

    lake: Lake
    prefix: str
    flush_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    write: WriteSignal = write_signal
    chunks: list[Chunk] = field(default_factory=list)
    _buffer: list[pa.Table] = field(default_factory=list)
    _buffered_rows: int = 0
    _since: float | None = None

    def add(self, rows: pa.Table) -> None:
        """Buffer one sample's rows; flush when ``flush_s`` has passed since the last one."""
        now = self.clock()
        if self._since is None:
            self._since = now
        self._buffer.append(rows)
        self._buffered_rows += rows.num_rows
        if now - self._since >= self.flush_s or self._buffered_rows >= MAX_BUFFERED_ROWS:
            self.flush()

    def flush(self) -> Chunk | None:
        """Write the buffered rows as the next chunk; None when nothing is buffered."""
        self._since = self.clock()
        if not self._buffered_rows:
            self._buffer.clear()
            return None
        data = pa.concat_tables(self._buffer).cast(TELEMETRY)
        source = f"{self.prefix}-{len(self.chunks) + 1:04d}"
        self.write(self.lake, TABLE, source, data)
        path = partition_dir(self.lake, TABLE, source)
        chunk = Chunk(source=source, rows=data.num_rows, path=path)
        self.chunks.append(chunk)
        self._buffer.clear()
        self._buffered_rows = 0
        log.info("wrote %d telemetry rows to %s", chunk.rows, chunk.path)
        return chunk

    def close(self) -> None:
        """Write what is still buffered."""
        self.flush()

    @property
    def rows_written(self) -> int:
        """Return the rows written so far, all chunks together."""
        return sum(chunk.rows for chunk in self.chunks)


@dataclass
class NullSink:
    """Keeps nothing (``--no-lake``: the Prometheus endpoint only); counts the rows."""

    rows_seen: int = 0

    def add(self, rows: pa.Table) -> None:
        """Count the rows and drop them."""
        self.rows_seen += rows.num_rows

    def close(self) -> None:
        """Nothing to write."""
