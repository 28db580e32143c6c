"""The signal tables on disk: one Parquet partition per imported source, replaced whole.

Layout::

    LAKE/metrics/source=usage.csv/
        part-0.parquet      the rows, exactly in the table's schema (signals/schema.py)
        manifest.json       table, source, source files (sha256), rows, time range, writer
    LAKE/telemetry/source=…/   LAKE/runs/source=…/   LAKE/run_metrics/source=…/

A source is what one import reads (a file's name, or a collector's id). Importing it again
replaces its partition whole, the way ingest replaces a billing partition: the new partition
is written complete in the lake's staging area and renamed into place by
:meth:`aifinops.lake.store.Lake.replace_dir` under the lake's writer lock, so a crash leaves
the old partition or the new one, never a mix, and readers never see a half-written file.
Writing the same rows again is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aifinops import __version__
from aifinops.errors import LakeError
from aifinops.lake.store import SIGNAL_MANIFEST_NAME, Lake, sha256_file
from aifinops.signals.schema import SCHEMAS

log = logging.getLogger(__name__)

SIGNAL_MANIFEST = SIGNAL_MANIFEST_NAME
DATA_FILE = "part-0.parquet"
#: Bump when the layout of the signal partitions changes.
SIGNAL_SCHEMA_VERSION = 1
#: The column whose first and last value a manifest records, per table.
TIME_COLUMNS = {
    "metrics": "timestamp",
    "telemetry": "timestamp",
    "run_metrics": "timestamp",
    "runs": "start_time",
}


@dataclass(frozen=True)
class SignalFile:
    """One source file read into a signal partition."""

    path: str
    sha256: str


@dataclass(frozen=True)
class SignalManifest:
    """What a signal partition holds; written beside its data as ``manifest.json``.

    ``unchanged`` is not stored: :func:`write_signal` sets it when the partition already
    held exactly these rows and nothing was written.
    """

    table: str
    source: str
    rows: int
    files: tuple[SignalFile, ...]
    min_timestamp: str | None  # ISO 8601 UTC, earliest TIME_COLUMNS value; None: no rows
    max_timestamp: str | None
    content_sha256: str
    written_at: str
    tool_version: str = __version__
    schema_version: int = SIGNAL_SCHEMA_VERSION
    unchanged: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as JSON-ready data (without ``unchanged``)."""
        data = asdict(self)
        del data["unchanged"]
        return data

    def write(self, path: Path) -> None:
        """Write the manifest to ``path`` (durably)."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def read(cls, path: Path) -> SignalManifest:
        """Read a manifest written by :meth:`write`.

        Raises:
            LakeError: when the file is missing or not a signal manifest.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            data["files"] = tuple(SignalFile(**f) for f in data["files"])
            return cls(**data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LakeError(
                f"Unreadable signal manifest {path}: {exc}. To fix: re-import that source "
                "(its partition is replaced whole)."
            ) from exc


def write_signal(
    lake: Lake,
    table: str,
    source: str,
    data: pa.Table,
    *,
    files: Iterable[Path | str] = (),
) -> SignalManifest:
    """Store ``data`` as the partition of ``source`` in signal table ``table``.

    Args:
        lake: the lake to write.
        table: a signal table (``metrics``, ``telemetry``, ``runs``, ``run_metrics``).
        source: what the rows came from (a file's name, a collector's id); one partition each.
        data: the rows, with exactly the columns of ``SCHEMAS[table]`` (any order; all-null
            columns of Arrow's null type are accepted).
        files: the source files read, recorded with their sha256 in the manifest.

    Returns:
        The partition's manifest; ``unchanged`` is true when it already held these rows.

    Raises:
        LakeError: for an unknown table, an empty source, or a column missing, extra or of
            the wrong type (naming the column and the expected type).
    """
    rows = conform(table, data)
    if not source.strip():
        raise LakeError("A signal source needs a name. To fix: pass the file's name or an id.")
    digest = _content_sha256(rows)
    final = partition_dir(lake, table, source)
    with lake.writer_lock():
        old = _existing(final)
        if old is not None and old.content_sha256 == digest:
            log.info("%s/%s unchanged (%d rows)", table, source, old.rows)
            return replace(old, unchanged=True)
        manifest = _manifest(table, source, rows, digest, files)
        staged = lake.staging_dir()
        try:
            pq.write_table(rows, staged / DATA_FILE)
            manifest.write(staged / SIGNAL_MANIFEST)
            lake.replace_dir(staged, final)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    log.info("wrote %s/%s (%d rows)", table, source, manifest.rows)
    return manifest


def conform(table: str, data: pa.Table) -> pa.Table:
    """Return ``data`` with the columns of ``SCHEMAS[table]``, in order.

    Raises:
        LakeError: naming the first column that is missing, extra or of the wrong type.
    """
    schema = _schema(table)
    extra = [name for name in data.column_names if name not in schema.names]
    if extra:
        raise LakeError(
            f"Signal table {table!r} has no column {extra[0]!r}. Expected the columns: "
            f"{', '.join(schema.names)}."
        )
    columns = []
    for target in schema:
        if target.name not in data.column_names:
            raise LakeError(
                f"Signal table {table!r}: column {target.name!r} is missing. "
                f"Expected type: {target.type}."
            )
        column = data.column(target.name)
        if pa.types.is_null(column.type):
            column = column.cast(target.type)
        elif column.type != target.type:
            raise LakeError(
                f"Signal table {table!r}: column {target.name!r} is {column.type}. "
                f"Expected type: {target.type}."
            )
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def partition_dir(lake: Lake, table: str, source: str) -> Path:
    """Return the partition directory of ``source`` in ``table`` (``source=`` + escaped)."""
    _schema(table)
    return lake.root / table / f"source={quote(source, safe='-_.@')}"


def signal_files(lake: Lake, table: str) -> list[Path]:
    """Return every committed data file of signal table ``table``, sorted."""
    _schema(table)
    return sorted((lake.root / table).glob(f"source=*/{DATA_FILE}"))


def signal_manifests(lake: Lake, table: str) -> list[SignalManifest]:
    """Return the manifest of every committed partition of ``table``, sorted by source.

    Raises:
        LakeError: for an unknown table or an unreadable manifest.
    """
    _schema(table)
    paths = sorted((lake.root / table).glob(f"source=*/{SIGNAL_MANIFEST}"))
    return sorted((SignalManifest.read(p) for p in paths), key=lambda m: m.source)


def _schema(table: str) -> pa.Schema:
    try:
        return SCHEMAS[table]
    except KeyError:
        raise LakeError(
            f"Unknown signal table {table!r}. Expected one of: {', '.join(SCHEMAS)}."
        ) from None


def _existing(final: Path) -> SignalManifest | None:
    path = final / SIGNAL_MANIFEST
    if not path.exists():
        return None
    try:
        return SignalManifest.read(path)
    except LakeError:
        log.warning("replacing %s: its manifest is unreadable", final)
        return None


def _content_sha256(rows: pa.Table) -> str:
    """Return a digest of the rows' values (not of a Parquet file, which varies by writer)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _manifest(
    table: str, source: str, rows: pa.Table, digest: str, files: Iterable[Path | str]
) -> SignalManifest:
    first = last = None
    if rows.num_rows:
        bounds = pc.min_max(rows.column(TIME_COLUMNS[table]))
        first, last = (_iso(bounds["min"].as_py()), _iso(bounds["max"].as_py()))
    return SignalManifest(
        table=table,
        source=source,
        rows=rows.num_rows,
        files=tuple(SignalFile(str(Path(f).resolve()), sha256_file(Path(f))) for f in files),
        min_timestamp=first,
        max_timestamp=last,
        content_sha256=digest,
        written_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
