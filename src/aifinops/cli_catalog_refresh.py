"""``aifinops catalog refresh``: pull the public price sources into the user's catalog directory.

One command function, :func:`refresh`, registered on the ``catalog`` command group by the
lead (``catalog_app.command("refresh")(refresh)``). ``docs/catalog-refresh.md`` describes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aifinops.catalog.refresh import RefreshResult, refresh_catalog
from aifinops.catalog.refresh_model import TERMS
from aifinops.cli_options import FormatOpt
from aifinops.cli_output import check_format, emit, err, errors, progress_bar
from aifinops.settings import load_settings

COLUMNS = ("source", *TERMS, "rows", "as_of", "fetched_at", "url", "note")


def refresh(
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Sources to read, comma-separated: aws, azure, gcp (default: all three; GCP "
            "is skipped without an API key).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Catalog directory to write (default: $AIFINOPS_CATALOG, else the config "
            "file's catalog, else ~/.local/share/aifinops/catalog).",
            show_default=False,
        ),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            help="Region to read, repeatable or comma-separated, any cloud's naming "
            "(us-east-1, eastus, us-central1); each source reads its own. Default: AWS's "
            "busiest regions, every Azure and GCP region.",
            show_default=False,
        ),
    ] = None,
    gcp_api_key: Annotated[
        str | None,
        typer.Option(
            "--gcp-api-key",
            help="Cloud Billing API key (default: $AIFINOPS_GCP_API_KEY, which keeps the key "
            "out of the shell history).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Pull AWS, Azure and GCP list prices and rewrite the catalog's prices.csv."""
    with errors():
        check_format(fmt)
        target = (output or load_settings().catalog).expanduser()
        sources = source.split(",") if source else None
        regions = [r.strip() for value in region or [] for r in value.split(",") if r.strip()]
        with progress_bar() as progress:
            result = refresh_catalog(
                target,
                sources=sources,
                gcp_api_key=gcp_api_key,
                regions=regions or None,
                progress=progress,
            )
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    emit(
        summary_rows(result),
        COLUMNS,
        fmt,
        title=f"Catalog refreshed in {result.target} (version {result.version}: "
        f"{result.rows_refreshed} rows refreshed, {result.rows_kept} kept)",
        target=str(result.target),
        version=result.version,
        rows_written=result.rows_written,
        rows_refreshed=result.rows_refreshed,
        rows_kept=result.rows_kept,
    )


def summary_rows(result: RefreshResult) -> list[dict[str, Any]]:
    """Return one row per source read, then one per source skipped."""
    rows: list[dict[str, Any]] = []
    for report in result.sources:
        skipped = sum(report.skipped.values())
        rows.append(
            {
                "source": report.source,
                **{term: report.rows_by_term.get(term, 0) for term in TERMS},
                "rows": report.rows,
                "as_of": report.as_of,
                "fetched_at": report.fetched_at,
                "url": report.urls[0] if report.urls else "",
                "note": f"{len(report.urls)} requests, {skipped} items left out",
            }
        )
    for reason in result.skipped_sources:
        name, _, why = reason.partition(": ")
        rows.append({"source": name, "rows": 0, "note": f"skipped: {why}"})
    return rows
