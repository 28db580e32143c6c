"""Ingest: files -> checked FOCUS rows -> whole lake partitions, each written once per run.

Every file is checked completely before anything is written, so bad input leaves the lake as
it was. Partitions whose sources are unchanged are left alone (re-ingesting is a no-op).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from aifinops.errors import BadInputError
from aifinops.ingest.delivery import plan_delivery
from aifinops.ingest.partitions import Group, check_one_currency, group_partitions, manifest_for
from aifinops.ingest.readers import ReadPlan, choose_reader
from aifinops.ingest.reconcile import Reconciled, SourceTotals, reconcile, source_totals
from aifinops.ingest.scan import stage_source
from aifinops.ingest.sniff import SourceInfo, sniff
from aifinops.lake.duck import DuckSession
from aifinops.lake.manifest import LAKE_SCHEMA_VERSION, SourceFile
from aifinops.lake.store import Lake, PartitionKey, sha256_file
from aifinops.lake.write import PartitionPlan, commit_partitions, split

if TYPE_CHECKING:
    from aifinops.enrich.sql import CompiledEnrichment

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
DEFAULT_FALLBACKS = {"ProviderName": "Unknown", "BillingAccountId": "unknown"}
#: DuckDB's memory for one ingest; beyond it the rows spill to the lake's staging area.
#: NOTE: the process needs ~200 MB besides (Python, Arrow, CSV buffers outside the limit):
#: at 1GB an Azure pair of 1.6 GB peaked at 1.19 GB RSS, at 600MB at 0.78 GB.
MEMORY_LIMIT = "700MB"


@dataclass
class FileResult:
    """What happened to one input file."""

    path: Path
    sha256: str
    format: str = ""
    version: str = ""
    rows: int = 0
    duplicate_of: Path | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class PartitionResult:
    """What happened to one partition: ``written`` or ``unchanged``."""

    key: PartitionKey
    status: str
    provider_name: str
    billing_account_id: str
    rows: int
    billed_cost: Decimal
    effective_cost: Decimal
    source_billed_cost: Decimal
    currency: str


@dataclass
class IngestReport:
    """The outcome of one ingest run."""

    files: list[FileResult] = field(default_factory=list)
    partitions: list[PartitionResult] = field(default_factory=list)
    reconciliation: list[Reconciled] = field(default_factory=list)

    @property
    def written(self) -> list[PartitionResult]:
        """Return the partitions this run wrote."""
        return [p for p in self.partitions if p.status == "written"]

    @property
    def refused(self) -> list[PartitionResult]:
        """Return the partitions not committed because their totals did not reconcile."""
        return [p for p in self.partitions if p.status == "unreconciled"]


@dataclass
class _Source:
    info: SourceInfo
    result: FileResult
    plan: ReadPlan
    select: str  # the file's rows in the lake schema (SQL), for error look-ups
    staged: Path  # the Parquet file its rows were staged in
    totals: Future[SourceTotals | None]  # the source's own totals, computed beside staging
    companions: list[FileResult] = field(default_factory=list)
    split: dict[str, list[Path]] | None = None  # staged files by partition hash, once split


@dataclass(frozen=True)
class _Run:
    db: DuckSession
    directory: Path
    now: datetime
    forced_format: str | None
    files: list[SourceInfo]
    pool: ThreadPoolExecutor
    wrap: Callable[[str], str] | None = None  # enrichment around each staging query


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """Return the files ingest reads for ``paths``: files as given, CUR manifests as the
    files they list, folders walked (sorted) less superseded CUR assemblies and manifests.

    See :mod:`aifinops.ingest.delivery`.
    """
    return plan_delivery(paths).files


def ingest(
    paths: Iterable[Path | str],
    lake: Lake,
    *,
    fallbacks: Mapping[str, str] | None = None,
    forced_format: str | None = None,
    memory_limit: str = MEMORY_LIMIT,
    progress: Progress | None = None,
    enrichment: CompiledEnrichment | None | Literal["default"] = "default",
) -> IngestReport:
    """Ingest FOCUS files into ``lake``, replacing each partition they touch.

    Args:
        paths: files or folders (CSV, CSV.gz, CSV.zip, Parquet, JSONL) or AWS CUR manifests.
        lake: the lake to write.
        fallbacks: values for ProviderName / BillingAccountId / BillingCurrency when a file
            has no such column.
        forced_format: a reader name from :data:`READERS` to use instead of detection.
        memory_limit: DuckDB's memory for this ingest (e.g. ``700MB``); beyond it rows spill.
        progress: called with (step, done, total) as work advances.
        enrichment: what fills the accelerator, workload, owner and energy columns as rows
            are written (``aifinops.enrich.cache.enrichment``); ``"default"`` is the packaged
            catalog with the default rules; None writes those columns empty.

    Returns:
        What was read and which partitions were written or left unchanged.

    Raises:
        BadInputError: for any unreadable file or bad row; the lake is then unchanged.
    """
    report = IngestReport()
    given = {**DEFAULT_FALLBACKS, **(fallbacks or {})}
    delivery = plan_delivery(paths)
    files = delivery.files
    if not files:
        raise BadInputError("no input files", fix="name CSV, CSV.gz or Parquet files or folders.")
    run_dir = lake.staging_dir()
    try:
        with (
            DuckSession(memory_limit=memory_limit, temp_directory=str(run_dir / "spill")) as db,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            # NOTE: a zip's CSV is unpacked into the run's staging area, removed below.
            infos = [sniff(path, unpack_to=run_dir / "unpacked") for path in files]
            wrap = None
            if enrichment is not None:
                compiled = _default_enrichment() if enrichment == "default" else enrichment
                compiled.register(db)
                wrap = compiled.wrap
            run = _Run(db, run_dir, datetime.now(UTC), forced_format, infos, pool, wrap)
            sources = _prepare(run, infos, given, report, progress)
            delivery.annotate(report.files)
            report.files.extend(FileResult(p, "", notes=[n]) for p, n in delivery.skipped.items())
            if sources:
                _write(run, lake, sources, report, progress)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return report


def _default_enrichment() -> CompiledEnrichment:
    # NOTE: imported here: a cache miss compiles through Ibis (seconds).
    from aifinops.enrich.cache import enrichment

    return enrichment()


def _prepare(
    run: _Run,
    infos: list[SourceInfo],
    fallbacks: Mapping[str, str],
    report: IngestReport,
    progress: Progress | None,
) -> list[_Source]:
    seen: dict[str, Path] = {}
    sources: list[_Source] = []
    consumed: dict[Path, Path] = {}
    # NOTE: hashing runs in threads beside DuckDB's read (hashlib releases the GIL), so a big
    # file's sha256 costs no extra time; a duplicate is found after its rows were staged and
    # its staged rows are dropped (rare, and cheaper than hashing every file up front).
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = {info.path: pool.submit(sha256_file, info.path) for info in infos}
        for done, info in enumerate(infos, start=1):
            result = FileResult(path=info.path, sha256="")
            report.files.append(result)
            if info.path in consumed:
                result.sha256 = digests[info.path].result()
                result.notes.append(f"read together with {consumed[info.path]}")
            else:
                source = _check_file(run, info, result, fallbacks, len(sources))
                result.sha256 = digests[info.path].result()
                if result.sha256 in seen:
                    result.duplicate_of = seen[result.sha256]
                    result.notes.append(f"same content as {seen[result.sha256]}; read once")
                    source.staged.unlink(missing_ok=True)
                else:
                    seen[result.sha256] = info.path
                    _add_companions(source, consumed, digests)
                    sources.append(source)
            if progress:
                progress("read", done, len(infos))
    return sources


def _add_companions(
    source: _Source, consumed: dict[Path, Path], digests: Mapping[Path, Future[str]]
) -> None:
    for companion in source.plan.sources:
        consumed[companion.path] = source.info.path
        digest = (
            digests[companion.path].result()
            if companion.path in digests
            else sha256_file(companion.path)
        )
        source.companions.append(
            FileResult(companion.path, digest, source.result.format, source.result.version)
        )


def _check_file(
    run: _Run,
    info: SourceInfo,
    result: FileResult,
    fallbacks: Mapping[str, str],
    index: int,
) -> _Source:
    reader = choose_reader(info, forced=run.forced_format)
    plan = reader.plan(info, fallbacks=fallbacks, run_files=run.files)
    result.notes.extend(plan.notes)
    result.format, result.version = plan.format_name, plan.version
    staged = run.directory / f"source-{index}.parquet"
    # NOTE: the source's own totals come from a second scan of the raw file, run beside the
    # staging write: that write leaves about a third of the CPU idle, which hides the scan.
    totals = run.pool.submit(_source_totals, run.db, info, plan)
    stage_source(
        run.db,
        info,
        plan.scan,
        select=plan.select,
        checks=plan.checks,
        where=plan.where,
        line=plan.line,
        target=staged,
        ingested_at=run.now,
        wrap=run.wrap,
    )
    where = f" WHERE {plan.where}" if plan.where else ""
    return _Source(
        info, result, plan, f"SELECT {plan.select} FROM {plan.scan}{where}", staged, totals
    )


def _source_totals(db: DuckSession, info: SourceInfo, plan: ReadPlan) -> SourceTotals | None:
    with db.cursor() as cursor:
        return source_totals(cursor, info, plan)


def _write(
    run: _Run,
    lake: Lake,
    sources: list[_Source],
    report: IngestReport,
    progress: Progress | None,
) -> None:
    groups = group_partitions(run.db, sources[0].info, [s.staged for s in sources])
    selects = {str(s.info.path): (s.info, s.select) for s in sources}
    for group in groups:
        check_one_currency(run.db, group, selects)
    for source in sources:
        source.result.rows = sum(g.files.get(str(source.info.path), 0) for g in groups)
    files = {
        str(s.info.path): SourceFile(
            str(s.info.path), s.result.sha256, s.result.format, s.result.version, s.result.rows
        )
        for s in sources
    }
    companions = {
        str(s.info.path): [
            SourceFile(str(c.path), c.sha256, c.format, c.version, 0) for c in s.companions
        ]
        for s in sources
    }
    unreconciled = _reconcile(run, sources, groups, report)
    with lake.writer_lock():
        plans = []
        for group in groups:
            old = lake.manifest(group.key)
            digests = frozenset(
                d
                for f in group.files
                for d in (files[f].sha256, *(c.sha256 for c in companions[f]))
            )
            unchanged = (
                old is not None
                and old.source_digests() == digests
                and old.schema_version == LAKE_SCHEMA_VERSION
            )
            status = (
                "unreconciled"
                if (group.account, group.key.billing_period) in unreconciled
                else "unchanged"
                if unchanged
                else "written"
            )
            report.partitions.append(_result(group, status, report.reconciliation))
            if status == "written":
                staged = tuple(f for s in sources for f in _files_for(run, s, groups, group))
                manifest = manifest_for(group, files, run.now, companions)
                plans.append(PartitionPlan(manifest, staged))
        commit_partitions(lake, plans, progress=progress)


def _files_for(run: _Run, source: _Source, groups: list[Group], group: Group) -> list[Path]:
    """Return the staged files holding ``source``'s rows of ``group`` (splitting if needed)."""
    name = str(source.info.path)
    if name not in group.files:
        return []
    if source.split is None:
        touched = [g for g in groups if name in g.files]
        if len(touched) == 1:
            return [source.staged]
        source.split = split(run.db, source.staged, run.directory / f"{source.staged.stem}-split")
    return [f for h in sorted(group.partition_hashes) for f in source.split.get(h, [])]


def _reconcile(
    run: _Run, sources: list[_Source], groups: list[Group], report: IngestReport
) -> set[tuple[str, str]]:
    """Reconcile every source; return the (account, period) pairs that do not reconcile."""
    refused = set()
    for source in sources:
        for row in reconcile(source.info, source.plan, source.totals.result(), groups):
            report.reconciliation.append(row)
            if not row.ok:
                refused.add((row.billing_account, row.billing_period))
    return refused


def _result(group: Group, status: str, reconciled: list[Reconciled]) -> PartitionResult:
    source_total = sum(
        (
            r.source_total
            for r in reconciled
            if (r.billing_account, r.billing_period) == (group.account, group.key.billing_period)
        ),
        Decimal(0),
    )
    return PartitionResult(
        key=group.key,
        status=status,
        provider_name=group.provider_name,
        billing_account_id=group.account,
        rows=group.rows,
        billed_cost=group.billed,
        effective_cost=group.effective,
        source_billed_cost=source_total,
        currency=group.currency,
    )
