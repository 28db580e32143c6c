"""Write rows of a DuckDB relation into lake partitions, one pass, each committed atomically."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aifinops.errors import LakeError
from aifinops.lake.duck import DuckSession, quote_literal
from aifinops.lake.manifest import Manifest
from aifinops.lake.store import Lake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionPlan:
    """A partition to write: its manifest and the (ProviderName, account, period) it holds."""

    manifest: Manifest
    matches: tuple[tuple[str, str, str], ...]


def write_partitions(
    session: DuckSession,
    lake: Lake,
    relation: str,
    plans: list[PartitionPlan],
    *,
    ingested_at: datetime,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Write the rows of ``relation`` that belong to ``plans`` and commit each partition.

    ``relation`` must have the lake schema. The caller must hold the lake's writer lock.
    Rows are written in one partitioned pass into a staging directory; each partition is
    then checked (row count) and renamed into place.

    Raises:
        LakeError: when a written partition does not hold the rows its manifest promises.
    """
    if not plans:
        return
    staging = lake.staging_dir()
    keys = pa.table(
        {
            "k_provider": [m[0] for p in plans for m in p.matches],
            "k_account": [m[1] for p in plans for m in p.matches],
            "k_period": [m[2] for p in plans for m in p.matches],
            "pidx": [i for i, p in enumerate(plans) for _ in p.matches],
        }
    )
    session.register("_partition_keys", keys)
    stamp = quote_literal(ingested_at.isoformat())
    session.execute(
        f"COPY (SELECT r.* REPLACE (CAST({stamp} AS TIMESTAMPTZ) AS x_IngestedAt), k.pidx "
        f"FROM {relation} r JOIN _partition_keys k ON r.ProviderName = k.k_provider "
        f"AND r.BillingAccountId = k.k_account "
        f"AND strftime(r.BillingPeriodStart, '%Y-%m') = k.k_period) "
        f"TO {quote_literal(str(staging))} "
        f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (pidx), ROW_GROUP_SIZE 122880)"
    )
    try:
        for done, (index, plan) in enumerate(enumerate(plans), start=1):
            _commit_one(lake, staging / f"pidx={index}", plan.manifest)
            if progress:
                progress("write", done, len(plans))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit_one(lake: Lake, staged: Path, manifest: Manifest) -> None:
    files = sorted(staged.glob("*.parquet"))
    names = []
    digest = hashlib.sha256()
    rows = 0
    for n, path in enumerate(files):
        target = staged / f"part-{n}.parquet"
        path.rename(target)
        names.append(target.name)
        rows += pq.ParquetFile(target).metadata.num_rows
        with open(target, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    if rows != manifest.row_count:
        raise LakeError(
            f"partition {manifest.key().label()}: wrote {rows} rows, expected "
            f"{manifest.row_count}; nothing was committed for it."
        )
    final = replace(manifest, content_sha256=digest.hexdigest(), data_files=tuple(names))
    lake.commit(manifest.key(), staged, final)
