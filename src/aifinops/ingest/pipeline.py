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

from aifinops.errors import BadInputError
from aifinops.ingest.partitions import Group, check_one_currency, group_partitions, manifest_for
from aifinops.ingest.readers import ReadPlan, choose_reader
from aifinops.ingest.reconcile import Reconciled, reconcile
from aifinops.ingest.scan import stage_source
from aifinops.ingest.sniff import SourceInfo, sniff
from aifinops.lake.duck import DuckSession
from aifinops.lake.manifest import LAKE_SCHEMA_VERSION, SourceFile
from aifinops.lake.store import Lake, PartitionKey, sha256_file
from aifinops.lake.write import PartitionPlan, commit_partitions, staged_files, staged_glob

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
DEFAULT_FALLBACKS = {"ProviderName": "Unknown", "BillingAccountId": "unknown"}
#: DuckDB's memory for one ingest; beyond it the rows spill to the lake's staging area.
MEMORY_LIMIT = "1GB"


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
    staged: Path  # where its rows were staged
    companions: list[FileResult] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    db: DuckSession
    directory: Path
    now: datetime
    forced_format: str | None
    files: list[SourceInfo]


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """Return the files named by ``paths``: files as given, folders walked (sorted)."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
                )
            )
        else:
            files.append(path)
    return files


def ingest(
    paths: Iterable[Path | str],
    lake: Lake,
    *,
    fallbacks: Mapping[str, str] | None = None,
    forced_format: str | None = None,
    memory_limit: str = MEMORY_LIMIT,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest FOCUS files into ``lake``, replacing each partition they touch.

    Args:
        paths: files or folders (CSV, CSV.gz, Parquet; FOCUS 1.0, 1.1 or 1.2).
        lake: the lake to write.
        fallbacks: values for ProviderName / BillingAccountId / BillingCurrency when a file
            has no such column.
        forced_format: a reader name from :data:`READERS` to use instead of detection.
        memory_limit: DuckDB's memory for this ingest (e.g. ``1GB``); beyond it rows spill.
        progress: called with (step, done, total) as work advances.

    Returns:
        What was read and which partitions were written or left unchanged.

    Raises:
        BadInputError: for any unreadable file or bad row; the lake is then unchanged.
    """
    report = IngestReport()
    given = {**DEFAULT_FALLBACKS, **(fallbacks or {})}
    files = expand(paths)
    if not files:
        raise BadInputError("no input files", fix="name CSV, CSV.gz or Parquet files or folders.")
    run_dir = lake.staging_dir()
    try:
        with DuckSession(memory_limit=memory_limit, temp_directory=str(run_dir / "spill")) as db:
            infos = [sniff(path) for path in files]
            run = _Run(db, run_dir, datetime.now(UTC), forced_format, infos)
            sources = _prepare(run, infos, given, report, progress)
            if sources:
                _write(run, lake, sources, report, progress)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return report


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
                    shutil.rmtree(source.staged, ignore_errors=True)
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
    staged = run.directory / f"source-{index}"
    stage_source(
        run.db,
        info,
        plan.scan,
        select=plan.select,
        checks=plan.checks,
        where=plan.where,
        directory=staged,
        ingested_at=run.now,
    )
    where = f" WHERE {plan.where}" if plan.where else ""
    return _Source(info, result, plan, f"SELECT {plan.select} FROM {plan.scan}{where}", staged)


def _write(
    run: _Run,
    lake: Lake,
    sources: list[_Source],
    report: IngestReport,
    progress: Progress | None,
) -> None:
    groups = group_partitions(run.db, sources[0].info, [staged_glob(s.staged) for s in sources])
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
                staged = tuple(
                    f
                    for s in sources
                    for h in sorted(group.partition_hashes)
                    for f in staged_files(s.staged, h)
                )
                manifest = manifest_for(group, files, run.now, companions)
                plans.append(PartitionPlan(manifest, staged))
        commit_partitions(lake, plans, progress=progress)


def _reconcile(
    run: _Run, sources: list[_Source], groups: list[Group], report: IngestReport
) -> set[tuple[str, str]]:
    """Reconcile every source; return the (account, period) pairs that do not reconcile."""
    refused = set()
    for source in sources:
        for row in reconcile(run.db, source.info, source.plan, groups):
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
