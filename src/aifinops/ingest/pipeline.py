"""Ingest: files -> checked FOCUS rows -> whole lake partitions, each written once per run.

Every file is checked completely before anything is written, so bad input leaves the lake as
it was. Partitions whose sources are unchanged are left alone (re-ingesting is a no-op).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from pathlib import Path
from typing import cast

from aifinops import __version__
from aifinops.errors import BadInputError
from aifinops.ingest import focus_file
from aifinops.ingest.checks import focus_checks
from aifinops.ingest.scan import read, run_checks, scan_sql
from aifinops.ingest.sniff import SourceInfo, sniff
from aifinops.lake.duck import DuckSession, quote_literal
from aifinops.lake.manifest import LAKE_SCHEMA_VERSION, Manifest, SourceFile
from aifinops.lake.store import Lake, PartitionKey, provider_slug, sha256_file
from aifinops.lake.write import PartitionPlan, write_partitions

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
DEFAULT_FALLBACKS = {"ProviderName": "Unknown", "BillingAccountId": "unknown"}
#: Digits kept when adding up DECIMAL(38,18) sums (Python's default context keeps 28).
_SUM_PRECISION = 80


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
    select: str


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
    with DuckSession() as session:
        sources = _prepare(session, files, given, report, progress)
        if sources:
            _write(session, lake, sources, report, progress)
    return report


def _prepare(
    session: DuckSession,
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
            sources.append(_check_file(session, info, result, fallbacks))
        if progress:
            progress("read", done, len(files))
    return sources


def _check_file(
    session: DuckSession, info: SourceInfo, result: FileResult, fallbacks: Mapping[str, str]
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
    scan = scan_sql(info)
    result.rows = run_checks(session, info, scan, focus_checks(info, lay))
    select = f"SELECT {focus_file.projection(info, lay, fallbacks=dict(fallbacks))} FROM {scan}"
    return _Source(info, result, select)


def _write(
    session: DuckSession,
    lake: Lake,
    sources: list[_Source],
    report: IngestReport,
    progress: Progress | None,
) -> None:
    union = "\nUNION ALL BY NAME\n".join(f"({s.select})" for s in sources)
    session.execute(f"CREATE OR REPLACE TEMP VIEW incoming AS {union}")
    groups = _partition_groups(session, sources)
    by_file = {str(s.info.path): s for s in sources}
    now = datetime.now(UTC)
    with lake.writer_lock():
        plans = []
        for key, group in sorted(groups.items()):
            digests = frozenset(by_file[f].result.sha256 for f in group["files"])
            old = lake.manifest(key)
            unchanged = (
                old is not None
                and old.source_digests() == digests
                and old.schema_version == LAKE_SCHEMA_VERSION
            )
            report.partitions.append(
                PartitionResult(
                    key,
                    "unchanged" if unchanged else "written",
                    str(group["provider_name"]),
                    str(group["account"]),
                    group["rows"],
                    group["billed"],
                    group["effective"],
                    group["billed"],
                    group["currency"],
                )
            )
            if not unchanged:
                plans.append((key, group))
        to_write = [
            PartitionPlan(
                _manifest(key, group, by_file, now),
                tuple(
                    (name, str(group["account"]), key.billing_period)
                    for name in sorted(group["provider_names"])
                ),
            )
            for key, group in plans
        ]
        write_partitions(session, lake, "incoming", to_write, ingested_at=now, progress=progress)


def _partition_groups(session: DuckSession, sources: list[_Source]) -> dict[PartitionKey, dict]:  # type: ignore[type-arg]
    sql = (
        "SELECT ProviderName, BillingAccountId, strftime(BillingPeriodStart, '%Y-%m') AS period, "
        "x_SourceFile, count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), "
        "list(DISTINCT BillingCurrency), any_value(BillingAccountName) "
        "FROM incoming GROUP BY ALL"
    )
    groups: dict[PartitionKey, dict] = {}  # type: ignore[type-arg]
    for provider, account, period, name, rows, billed, effective, list_cost, curs, acct in read(
        session, sources[0].info, sql
    ):
        key = PartitionKey(provider_slug(str(provider)), str(account), str(period))
        group = groups.setdefault(
            key,
            {
                "provider_name": provider,
                "account": account,
                "rows": 0,
                "files": {},
                "billed": Decimal(0),
                "effective": Decimal(0),
                "list": Decimal(0),
                "currencies": set(),
                "currency": "",
                "account_name": acct,
                "provider_names": set(),
            },
        )
        group["provider_names"].add(provider)
        group["rows"] += rows
        group["files"][name] = rows
        # NOTE: the default decimal context keeps 28 digits, fewer than DECIMAL(38,18)
        # holds; summing in it rounded large totals in the manifest.
        with localcontext() as ctx:
            ctx.prec = _SUM_PRECISION
            group["billed"] += billed or 0
            group["effective"] += effective or 0
            group["list"] += list_cost or 0
        # NOTE: this used count(DISTINCT)/min(), which reported a mix as
        # ['(several)', 'EUR'] and hid the other currency; list them all instead.
        group["currencies"].update(c for c in cast("list[object]", curs or []) if c is not None)
    for key, group in groups.items():
        _one_currency(session, sources, key, group)
        group["currency"] = next(iter(group["currencies"]), "")
    return groups


def _one_currency(
    session: DuckSession,
    sources: list[_Source],
    key: PartitionKey,
    group: dict,  # type: ignore[type-arg]
) -> None:
    if len(group["currencies"]) <= 1:
        return
    row = None
    if len(group["files"]) == 1:
        # One file: name the first row whose currency differs from the partition's first row.
        source = next(s for s in sources if str(s.info.path) in group["files"])
        names = ", ".join(quote_literal(str(n)) for n in sorted(group["provider_names"]))
        found = read(
            session,
            source.info,
            (
                f"WITH t AS (SELECT row_number() OVER () AS rn, ProviderName AS p, "
                f"BillingAccountId AS a, BillingPeriodStart AS s, BillingCurrency AS c "
                f"FROM ({source.select})), "
                f"k AS (SELECT rn, c FROM t WHERE p IN ({names}) "
                f"AND a = {quote_literal(str(group['account']))} "
                f"AND strftime(s, '%Y-%m') = {quote_literal(key.billing_period)}) "
                f"SELECT rn FROM k WHERE c IS DISTINCT FROM (SELECT c FROM k ORDER BY rn LIMIT 1) "
                f"ORDER BY rn LIMIT 1"
            ),
        )
        row = int(str(found[0][0])) if found else None
    raise BadInputError(
        f"billing account {key.billing_account}, period {key.billing_period} mixes billing "
        f"currencies {sorted(group['currencies'])}",
        file=", ".join(sorted(group["files"])),
        row=row,
        column="BillingCurrency",
        expected="one BillingCurrency per billing account and period",
        fix="ingest each currency's export separately under its own billing account.",
    )


def _manifest(
    key: PartitionKey,
    group: dict,  # type: ignore[type-arg]
    by_file: dict[str, _Source],
    now: datetime,
) -> Manifest:
    sources = tuple(
        SourceFile(
            path=str(by_file[name].info.path),
            sha256=by_file[name].result.sha256,
            format=by_file[name].result.format,
            version=by_file[name].result.version,
            rows=rows,
        )
        for name, rows in sorted(group["files"].items())
    )
    return Manifest(
        provider=key.provider,
        billing_account=key.billing_account,
        billing_period=key.billing_period,
        provider_name=str(group["provider_name"]),
        billing_account_id=str(group["account"]),
        billing_currency=group["currency"],
        row_count=group["rows"],
        billed_cost=group["billed"],
        effective_cost=group["effective"],
        list_cost=group["list"],
        sources=sources,
        content_sha256="",
        ingested_at=now.isoformat(),
        tool_version=__version__,
    )
