"""``aifinops catalog …``: the accelerator catalog's prices across clouds, and what it holds.

Thin over ``aifinops.catalog`` (``gpu_offers``, ``gpu_summary``, ``catalog_overview``); the lead
adds ``catalog_app`` to the main app with ``app.add_typer(catalog_app, name="catalog")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aifinops.cli_options import FormatOpt
from aifinops.cli_output import check_format, emit, errors

if TYPE_CHECKING:
    from aifinops.catalog import Catalog

catalog_app = typer.Typer(
    help="The accelerator catalog: GPU/TPU prices across clouds, power, grid carbon.",
    no_args_is_help=True,
)

CatalogDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="A refreshed catalog directory (from `aifinops catalog refresh`); its files "
        "replace the packaged catalog's. Default: $AIFINOPS_CATALOG, else the config "
        "file's catalog, else ~/.local/share/aifinops/catalog (missing: the packaged one).",
        show_default=False,
    ),
]


def _catalog(directory: Path | None) -> Catalog:
    """Return the catalog with the config file's price overrides applied (when it has any)."""
    from aifinops.catalog import load_catalog
    from aifinops.settings import load_settings

    settings = load_settings()
    catalog = load_catalog(directory or settings.catalog)
    # NOTE: getattr, so this works before and after Settings gains `price_overrides`.
    overrides = getattr(settings, "price_overrides", None) or ()
    return catalog.with_overrides(overrides) if overrides else catalog


@catalog_app.command("gpus")
def catalog_gpus(
    gpu: Annotated[
        str | None,
        typer.Option(
            "--gpu",
            help="Accelerator model, alias or prefix (H100, A100-80GB, nvidia-tesla-t4, "
            "TPU-v5e). Without it: one summary row per model.",
        ),
    ] = None,
    cloud: Annotated[str | None, typer.Option(help="Only this cloud: aws, azure or gcp.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region, e.g. us-east-1.")] = None,
    catalog_dir: CatalogDirOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Accelerators with on-demand, spot, 1y and 3y prices across clouds (like sky show-gpus).

    With --gpu: one row per instance type and region, priced per accelerator-hour and per
    instance-hour. Without: the cheapest on-demand and spot $/accelerator-hour per model.
    """
    from aifinops.catalog.offers import (
        OFFER_COLUMNS,
        OFFER_TABLE_COLUMNS,
        SUMMARY_COLUMNS,
        gpu_offers,
        gpu_summary,
    )

    with errors():
        check_format(fmt)
        catalog = _catalog(catalog_dir)
        if gpu:
            rows = gpu_offers(catalog, gpu, cloud, region)
            columns = OFFER_TABLE_COLUMNS if fmt == "table" else OFFER_COLUMNS
            title = f"{gpu}: USD per accelerator-hour (ondemand_instance: per instance-hour)"
        else:
            rows = gpu_summary(catalog, None, cloud, region)
            columns, title = SUMMARY_COLUMNS, "Cheapest USD per accelerator-hour"
    emit(rows, columns, fmt, title=title, catalog_version=catalog.version)


@catalog_app.command("show")
def catalog_show(catalog_dir: CatalogDirOpt = None, fmt: FormatOpt = "table") -> None:
    """The catalog's version, rows per table, price dates and where each file was read from."""
    from aifinops.catalog import load_catalog
    from aifinops.catalog.offers import catalog_overview
    from aifinops.settings import load_settings

    with errors():
        check_format(fmt)
        catalog = load_catalog(catalog_dir or load_settings().catalog)
        rows = catalog_overview(catalog)
    emit(
        rows,
        ["table", "rows", "as_of", "loaded_from"],
        fmt,
        title=f"Catalog {catalog.version}",
        version=catalog.version,
    )
