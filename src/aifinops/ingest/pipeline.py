"""Ingest: files -> checked FOCUS rows -> whole lake partitions, each written once per run.

Every file is checked completely before anything is written, so bad input leaves the lake as
it was. Partitions whose sources are unchanged are left alone (re-ingesting is a no-op).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from aifinops.errors import BadInputError
from aifinops.ingest import focus_file
from aifinops.ingest.checks import focus_checks
from aifinops.ingest.partitions import Group, check_one_currency, group_partitions, manifest_for
from aifinops.ingest.scan import scan_sql, stage_source
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

    @property
    def written(self) -> list[PartitionResult]:
        """Return the partitions this run wrote."""
        return [p for p in self.partitions if p.status == "written"]


@dataclass
class _Source:
    info: SourceInfo
    result: FileResult
    select: str  # the file's rows in the lake schema (SQL), for error look-ups
    staged: Path  # where its rows were staged


@dataclass(frozen=True)
class _Run:
    db: DuckSession
    directory: Path
    now: datetime


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
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest FOCUS files into ``lake``, replacing each partition they touch.

    Args:
        paths: files or folders (CSV, CSV.gz, Parquet; FOCUS 1.0, 1.1 or 1.2).
        lake: the lake to write.
        fallbacks: values for ProviderName / BillingAccountId / BillingCurrency when a file
            has no such column.
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
        with DuckSession(memory_limit=MEMORY_LIMIT, temp_directory=str(run_dir / "spill")) as db:
            run = _Run(db, run_dir, datetime.now(UTC))
            sources = _prepare(run, files, given, report, progress)
            if sources:
                _write(run, lake, sources, report, progress)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return report


def _prepare(
    run: _Run,
    files: list[Path],
    fallbacks: Mapping[str, str],
    report: IngestReport,
    progress: Progress | None,
) -> list[_Source]:
    seen: dict[str, Path] = {}
    sources: list[_Source] = []
    for done, path in enumerate(files, start=1):
        # Sniff before hashing: sniff turns a missing or unreadable path into BadInputError.
        info = sniff(path)
        result = FileResult(path=path, sha256=sha256_file(path))
        report.files.append(result)
        if result.sha256 in seen:
            result.duplicate_of = seen[result.sha256]
            result.notes.append(f"same content as {seen[result.sha256]}; read once")
        else:
            seen[result.sha256] = path
            sources.append(_check_file(run, info, result, fallbacks, len(sources)))
        if progress:
            progress("read", done, len(files))
    return sources


def _check_file(
    run: _Run,
    info: SourceInfo,
    result: FileResult,
    fallbacks: Mapping[str, str],
    index: int,
) -> _Source:
    path = info.path
    lay = focus_file.layout(info)
    if lay is None:
        missing = ", ".join(focus_file.missing_required(info))
        raise BadInputError(
            f"not a FOCUS file (tried: focus; missing columns {missing})",
            file=str(path),
            row=0,
            expected=f"a header with at least {', '.join(focus_file.REQUIRED)}",
            fix="export the data as FOCUS (AWS Data Exports FOCUS, Azure FocusCost, GCP FOCUS "
            "view) or check the file; see docs/ingest.md.",
        )
    for column, value in fallbacks.items():
        if column not in lay.mapping:
            result.notes.append(f"no {column} column: rows filed under {value!r}")
    result.format, result.version = f"{lay.format_name}-{info.kind}", lay.version
    projection = focus_file.projection(info, lay, fallbacks=dict(fallbacks))
    scan = scan_sql(info)
    staged = run.directory / f"source-{index}"
    stage_source(
        run.db,
        info,
        scan,
        select=projection,
        checks=focus_checks(info, lay),
        directory=staged,
        ingested_at=run.now,
    )
    return _Source(info, result, f"SELECT {projection} FROM {scan}", staged)


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
    with lake.writer_lock():
        plans = []
        for group in groups:
            old = lake.manifest(group.key)
            digests = frozenset(files[f].sha256 for f in group.files)
            unchanged = (
                old is not None
                and old.source_digests() == digests
                and old.schema_version == LAKE_SCHEMA_VERSION
            )
            report.partitions.append(_result(group, unchanged))
            if not unchanged:
                staged = tuple(
                    f
                    for s in sources
                    for h in sorted(group.partition_hashes)
                    for f in staged_files(s.staged, h)
                )
                plans.append(PartitionPlan(manifest_for(group, files, run.now), staged))
        commit_partitions(lake, plans, progress=progress)


def _result(group: Group, unchanged: bool) -> PartitionResult:
    return PartitionResult(
        key=group.key,
        status="unchanged" if unchanged else "written",
        provider_name=group.provider_name,
        billing_account_id=group.account,
        rows=group.rows,
        billed_cost=group.billed,
        effective_cost=group.effective,
        source_billed_cost=group.billed,
        currency=group.currency,
    )
