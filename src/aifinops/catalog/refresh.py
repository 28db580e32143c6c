"""``catalog refresh``: pull the public price sources and rewrite a catalog directory's prices.

:func:`refresh_catalog` reads AWS (Price List bulk files), Azure (Retail Prices API) and GCP
(Cloud Billing Catalog API), then writes into ``target``:

- ``prices.csv`` — the catalog's prices with every refreshed row replacing the row of the same
  (cloud, region, instance type, term); rows no source refreshed (AWS spot prices, regions not
  read, GCP bundled machine types) are kept from the previous ``target/prices.csv``, else from
  the package's snapshot;
- ``refresh.json`` — sources, URLs (API keys redacted), fetch time, rows per term, skips;
- ``VERSION`` — the refresh date, ``YYYY.MM.DD``.

``load_catalog(target)`` then lays these files over the package's. Everything is fetched
before anything is written, and each file is written to a temporary file and renamed over the
old one, so a failed refresh leaves the previous catalog as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import httpx

from aifinops.catalog.fetch_aws import fetch_aws
from aifinops.catalog.fetch_azure import fetch_azure
from aifinops.catalog.fetch_gcp import fetch_gcp
from aifinops.catalog.refresh_http import make_client
from aifinops.catalog.refresh_model import (
    GCP_KEY_ENV,
    PRICE_COLUMNS,
    SOURCES,
    TERMS,
    CatalogRefreshError,
    Endpoints,
    Fetched,
    PriceRow,
    SourceReport,
    regions_for,
)
from aifinops.errors import BadInputError

Progress = Callable[[str, int, int], None]
PRICES = "prices.csv"
REPORT = "refresh.json"
VERSION = "VERSION"


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did.

    Attributes:
        target: the directory written.
        version: the ``VERSION`` written (the refresh date).
        fetched_at: when the refresh started, ISO 8601 UTC.
        sources: one report per source read.
        skipped_sources: why a source was not read (no API key, no region of that cloud).
        rows_written: rows in the new ``prices.csv``.
        rows_refreshed: rows that came from the sources just read.
        rows_kept: rows kept from the previous prices (not refreshed).
        warnings: conflicting prices and other oddities.
        files: the files written.
    """

    target: Path
    version: str
    fetched_at: str
    sources: tuple[SourceReport, ...]
    skipped_sources: tuple[str, ...]
    rows_written: int
    rows_refreshed: int
    rows_kept: int
    warnings: tuple[str, ...]
    files: tuple[Path, ...]


def refresh_catalog(
    target: Path,
    *,
    sources: Sequence[str] | None = None,
    endpoints: Endpoints | None = None,
    gcp_api_key: str | None = None,
    regions: Sequence[str] | None = None,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    now: datetime | None = None,
) -> RefreshResult:
    """Pull the public price sources and write a refreshed catalog into ``target``.

    Args:
        target: the catalog directory (created when missing).
        sources: any of ``aws``, ``azure``, ``gcp``; None reads all three and skips GCP
            (with a note) when there is no API key.
        endpoints: where the sources live (default: :meth:`Endpoints.from_env`).
        gcp_api_key: Cloud Billing API key (default: ``$AIFINOPS_GCP_API_KEY``).
        regions: region ids of any cloud (``us-east-1``, ``eastus``, ``us-central1``); each
            source reads those named its cloud's way. None: AWS's default regions, every
            Azure and GCP region.
        progress: ``(step, done, total)`` callback.
        client: the HTTP client (default: one with timeouts and retries, closed afterwards).
        now: the refresh time (default: now, UTC).

    Raises:
        BadInputError: an unknown source name, or nothing left to read.
        CatalogRefreshError: a source cannot be read (the URL, what was expected, the fix);
            nothing is written then.
    """
    chosen = _chosen(sources)
    endpoints = endpoints or Endpoints.from_env()
    key = gcp_api_key or os.environ.get(GCP_KEY_ENV) or None
    wanted = tuple(regions) if regions else None
    started = (now or datetime.now(UTC)).astimezone(UTC)
    plan, skipped = _plan(chosen, wanted, key, explicit=sources is not None, endpoints=endpoints)
    http = client or make_client()
    try:
        fetched = [
            _fetch(name, http, endpoints, key, cloud_regions, progress, started)
            for name, cloud_regions in plan
        ]
    finally:
        if client is None:
            http.close()
    return _write(Path(target), fetched, skipped, started)


def _chosen(sources: Sequence[str] | None) -> tuple[str, ...]:
    if sources is None:
        return SOURCES
    names = tuple(dict.fromkeys(s.strip().lower() for s in sources if s.strip()))
    unknown = [s for s in names if s not in SOURCES]
    if unknown or not names:
        raise BadInputError(
            f"unknown price source(s) {', '.join(unknown) or '(none given)'}",
            column="--source",
            expected="aws, azure or gcp (comma-separated)",
            fix="pass --source aws,azure,gcp or a part of it.",
        )
    return names


def _plan(
    chosen: tuple[str, ...],
    regions: tuple[str, ...] | None,
    key: str | None,
    *,
    explicit: bool,
    endpoints: Endpoints,
) -> tuple[list[tuple[str, tuple[str, ...] | None]], list[str]]:
    plan: list[tuple[str, tuple[str, ...] | None]] = []
    skipped: list[str] = []
    for name in chosen:
        cloud_regions = regions_for(name, regions)
        if cloud_regions == ():
            skipped.append(f"{name}: none of the regions given is a {name} region")
        elif name == "gcp" and not key:
            if explicit:
                raise CatalogRefreshError(
                    "the Cloud Billing Catalog API needs an API key",
                    url=endpoints.gcp_billing,
                    fix=f"set {GCP_KEY_ENV} (or pass --gcp-api-key), or leave gcp out of --source.",
                )
            skipped.append(f"gcp: no API key (set {GCP_KEY_ENV} to refresh GCP prices)")
        else:
            plan.append((name, cloud_regions))
    if not plan:
        raise BadInputError(
            "nothing to refresh: " + "; ".join(skipped),
            column="--source / --region",
            expected="at least one source with a region of its cloud",
            fix="check --source and --region (us-east-1 is AWS, eastus Azure, us-central1 GCP).",
        )
    return plan, skipped


def _fetch(
    name: str,
    client: httpx.Client,
    endpoints: Endpoints,
    key: str | None,
    regions: tuple[str, ...] | None,
    progress: Progress | None,
    started: datetime,
) -> Fetched:
    today = started.date()
    if name == "aws":
        return fetch_aws(client, endpoints.aws_offer_index, regions=regions, progress=progress)
    if name == "azure":
        return fetch_azure(
            client, endpoints.azure_prices, regions=regions, progress=progress, today=today
        )
    assert key is not None  # _plan skips gcp without a key
    return fetch_gcp(
        client, endpoints.gcp_billing, key, regions=regions, progress=progress, today=today
    )


def deduplicate(rows: Iterable[PriceRow]) -> tuple[list[PriceRow], list[str]]:
    """Drop repeated rows; of two different prices for one key keep the first and warn."""
    kept: dict[tuple[str, str, str, str], PriceRow] = {}
    warnings: list[str] = []
    for row in rows:
        first = kept.setdefault(row.key, row)
        if first is not row and first.usd_per_hour != row.usd_per_hour:
            warnings.append(
                f"{row.cloud} {row.region} {row.instance_type} {row.term}: two prices, "
                f"{first.usd_per_hour} ({first.source}) kept, {row.usd_per_hour} "
                f"({row.source}) dropped"
            )
    return list(kept.values()), warnings


def with_accelerators(rows: Iterable[PriceRow]) -> list[PriceRow]:
    """Fill accelerator and count from the package catalog's instance types where it knows them.

    The catalog's counts win over the source's (they carry the fixes of CATALOG.md 1.3, e.g.
    p4de = 8 x A100-80GB); unknown instance types keep the source's count and no model.
    """
    from aifinops.catalog import load_catalog

    catalog = load_catalog()
    out: list[PriceRow] = []
    for row in rows:
        known = None if row.accelerator else catalog.instance(row.cloud, row.instance_type)
        if known is not None and known.accelerator:
            count = known.accelerator_count or row.accelerator_count
            row = replace(row, accelerator=known.accelerator, accelerator_count=count)
        out.append(row)
    return out


def _write(
    target: Path, fetched: list[Fetched], skipped: list[str], started: datetime
) -> RefreshResult:
    rows, warnings = deduplicate(row for f in fetched for row in f.rows)
    rows = with_accelerators(rows)
    base = _base_prices(target)
    fresh = {row.key: row.as_csv() for row in rows}
    kept = [r for r in base if _key(r) not in fresh]
    merged = sorted([*kept, *fresh.values()], key=_key)
    fetched_at = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    version = started.strftime("%Y.%m.%d")
    reports = tuple(_report(f, rows, fetched_at) for f in fetched)
    for f in fetched:
        warnings.extend(f.warnings)
    target.mkdir(parents=True, exist_ok=True)
    files = (target / PRICES, target / REPORT, target / VERSION)
    summary = {
        "version": version,
        "fetched_at": fetched_at,
        "sources": [_report_json(r) for r in reports],
        "skipped_sources": skipped,
        "warnings": warnings,
        "files": {PRICES: {"rows": len(merged), "refreshed": len(fresh), "kept": len(kept)}},
    }
    _replace(files[0], _csv_text(merged))
    _replace(files[1], json.dumps(summary, indent=2) + "\n")
    _replace(files[2], version + "\n")
    return RefreshResult(
        target=target,
        version=version,
        fetched_at=fetched_at,
        sources=reports,
        skipped_sources=tuple(skipped),
        rows_written=len(merged),
        rows_refreshed=len(fresh),
        rows_kept=len(kept),
        warnings=tuple(warnings),
        files=files,
    )


def _report(fetched: Fetched, rows: list[PriceRow], fetched_at: str) -> SourceReport:
    terms = Counter(row.term for row in rows if row.cloud == fetched.source)
    return SourceReport(
        source=fetched.source,
        fetched_at=fetched_at,
        as_of=fetched.as_of,
        urls=tuple(fetched.urls),
        regions=fetched.regions,
        rows_by_term={term: terms.get(term, 0) for term in TERMS},
        skipped=dict(sorted(fetched.skipped.items())),
        warnings=tuple(fetched.warnings),
    )


def _report_json(report: SourceReport) -> dict[str, object]:
    return {
        "source": report.source,
        "fetched_at": report.fetched_at,
        "as_of": report.as_of,
        "regions": list(report.regions),
        "rows": dict(report.rows_by_term),
        "skipped": dict(report.skipped),
        "urls": list(report.urls),
    }


def _base_prices(target: Path) -> list[dict[str, str]]:
    """Return the prices a refresh starts from: the target's, else the package's snapshot."""
    existing = target / PRICES
    if existing.is_file():
        return _read_prices(existing.read_text(encoding="utf-8"), str(existing))
    packaged = resources.files("aifinops.catalog").joinpath("data", PRICES)
    if packaged.is_file():
        return _read_prices(packaged.read_text(encoding="utf-8"), str(packaged))
    return []


def _read_prices(text: str, name: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in PRICE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadInputError(
            f"the header lacks {', '.join(missing)}",
            file=name,
            row=0,
            expected=", ".join(PRICE_COLUMNS),
            fix="delete the file to start again from the package's prices, or fix its header.",
        )
    return [{c: (row.get(c) or "") for c in PRICE_COLUMNS} for row in reader]


def _key(row: dict[str, str]) -> tuple[str, str, str, str]:
    return (row["cloud"], row["region"], row["instance_type"].lower(), row["term"])


def _csv_text(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PRICE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
