"""Stage rows as Parquet in one streaming pass, then commit them partition by partition.

:func:`stage` streams a query's rows into ``.staging`` split by a partition hash and by a
check result, so one read of a source both writes its rows and tells whether any row is bad.
:func:`commit_partitions` then gathers each partition's staged files, checks them against the
manifest and renames them into place (see :meth:`Lake.commit`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow.parquet as pq

from aifinops.errors import LakeError
from aifinops.lake.duck import DuckSession, quote_literal
from aifinops.lake.manifest import Manifest
from aifinops.lake.store import Lake

log = logging.getLogger(__name__)

#: Column holding the partition hash while rows are staged (not written into the files).
PARTITION_COLUMN = "_partition"
#: Column holding the index of the first failed check, -1 for a good row (not written).
CHECK_COLUMN = "_failed_check"


def partition_hash_sql() -> str:
    """Return SQL of the partition hash of a lake-schema row (provider, account, month)."""
    return (
        "md5(concat_ws(chr(31), ProviderName, BillingAccountId, "
        "strftime(BillingPeriodStart, '%Y-%m')))"
    )


def stage(session: DuckSession, query: str, directory: Path) -> list[int]:
    """Write the rows of ``query`` under ``directory``, split by partition and check result.

    ``query`` must yield the lake schema plus :data:`PARTITION_COLUMN` and
    :data:`CHECK_COLUMN`. Returns the indexes of the checks that failed on some row.
    """
    # NOTE: snappy, not zstd: converting + writing 100k CUR rows took 1.85 s vs 2.62 s.
    session.execute(
        f"COPY ({query}) TO {quote_literal(str(directory))} (FORMAT parquet, COMPRESSION snappy, "
        f"PARTITION_BY ({PARTITION_COLUMN}, {CHECK_COLUMN}), ROW_GROUP_SIZE 122880)"
    )
    failed = set()
    for path in directory.glob(f"{PARTITION_COLUMN}=*/{CHECK_COLUMN}=*"):
        index = int(path.name.split("=", 1)[1])
        if index >= 0:
            failed.add(index)
    return sorted(failed)


def staged_glob(directory: Path) -> str:
    """Return the glob of a staging directory's good rows (for reading them back)."""
    return str(directory / f"{PARTITION_COLUMN}=*" / f"{CHECK_COLUMN}=-1" / "*.parquet")


def staged_files(directory: Path, partition_hash: str) -> list[Path]:
    """Return the good staged files of one partition hash."""
    return sorted(
        (directory / f"{PARTITION_COLUMN}={partition_hash}" / f"{CHECK_COLUMN}=-1").glob(
            "*.parquet"
        )
    )


@dataclass(frozen=True)
class PartitionPlan:
    """A partition to commit: its manifest and the staged files that hold its rows."""

    manifest: Manifest
    files: tuple[Path, ...]


def commit_partitions(
    lake: Lake,
    plans: list[PartitionPlan],
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Move each plan's staged files into a partition directory and commit it atomically.

    The caller must hold the lake's writer lock.

    Raises:
        LakeError: when staged files do not hold the rows the manifest promises; that
            partition is not committed.
    """
    for done, plan in enumerate(plans, start=1):
        staged = lake.staging_dir()
        names, digest, rows = [], hashlib.sha256(), 0
        for n, source in enumerate(plan.files):
            target = staged / f"part-{n}.parquet"
            source.rename(target)
            names.append(target.name)
            rows += pq.ParquetFile(target).metadata.num_rows
            with open(target, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        if rows != plan.manifest.row_count:
            raise LakeError(
                f"partition {plan.manifest.key().label()}: staged {rows} rows, expected "
                f"{plan.manifest.row_count}; nothing was committed for it."
            )
        final = replace(plan.manifest, content_sha256=digest.hexdigest(), data_files=tuple(names))
        lake.commit(final.key(), staged, final)
        if progress:
            progress("write", done, len(plans))
