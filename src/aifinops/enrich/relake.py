"""Enrich a lake again: rewrite each partition with the current catalog and rules.

Costs never change: each partition is rewritten through the same compiled enrichment as the
ingest, its row count checked against the manifest, and committed atomically (a crash leaves
the old partition). Columns a partition's files predate are read as NULL.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq

from aifinops.enrich.sql import CompiledEnrichment
from aifinops.focus import lake_schema
from aifinops.ingest.convert import sql_type
from aifinops.lake.duck import DuckSession, quote_ident, quote_literal
from aifinops.lake.manifest import Manifest
from aifinops.lake.store import Lake
from aifinops.lake.write import PartitionPlan, commit_partitions, stage

Progress = Callable[[str, int, int], None]


def lake_rows_sql(files: list[Path]) -> str:
    """Return SQL of ``files``' rows in the current lake schema (missing columns NULL)."""
    present: set[str] = set()
    for path in files:
        present.update(pq.read_schema(path).names)
    columns = []
    for field in lake_schema():
        if field.name in present:
            columns.append(quote_ident(field.name))
        else:
            typed = sql_type(str(field.type))
            columns.append(f"CAST(NULL AS {typed}) AS {quote_ident(field.name)}")
    names = ", ".join(quote_literal(str(p)) for p in files)
    return f"SELECT {', '.join(columns)} FROM read_parquet([{names}], union_by_name=true)"


def enrich_lake(
    lake: Lake,
    compiled: CompiledEnrichment,
    *,
    memory_limit: str = "700MB",
    progress: Progress | None = None,
) -> list[Manifest]:
    """Rewrite every partition of ``lake`` enriched by ``compiled``; return their manifests."""
    manifests = lake.manifests()
    done: list[Manifest] = []
    with lake.writer_lock():
        run_dir = lake.staging_dir()
        try:
            with DuckSession(
                memory_limit=memory_limit, temp_directory=str(run_dir / "spill")
            ) as db:
                compiled.register(db)
                for n, manifest in enumerate(manifests, start=1):
                    done.append(_rewrite(lake, db, compiled, manifest, run_dir / f"{n}.parquet"))
                    if progress:
                        progress("enrich", n, len(manifests))
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    return done


def _rewrite(
    lake: Lake, db: DuckSession, compiled: CompiledEnrichment, manifest: Manifest, target: Path
) -> Manifest:
    folder = lake.costs_dir / manifest.key().relative_path()
    files = [folder / name for name in manifest.data_files]
    stage(db, compiled.wrap(lake_rows_sql(files)), target)
    plan = PartitionPlan(replace(manifest, data_files=("part-0.parquet",)), (target,))
    commit_partitions(lake, [plan])
    committed = lake.manifest(manifest.key())
    assert committed is not None  # just committed under the writer lock
    return committed
