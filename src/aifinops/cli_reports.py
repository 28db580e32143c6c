"""Report commands: ``aifinops report gpu``, ``report workloads``, ``report carbon``.

Thin over :mod:`aifinops.analyze`; every command prints ``table`` (default), ``json``, ``csv``
or ``markdown`` (:mod:`aifinops.cli_report_output`). ``cli.py`` registers them on its
``report`` group::

    report_app.command("gpu")(report_gpu)
    report_app.command("workloads")(report_workloads)
    report_app.command("carbon")(report_carbon)
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from aifinops.cli_catalog import CatalogDirOpt
from aifinops.cli_options import EngineOpt, LakeOpt, PeriodOpt
from aifinops.cli_output import check_format, err, errors
from aifinops.cli_report_output import REPORT_FORMATS, ReportFormatOpt, View, show, show_views

if TYPE_CHECKING:
    from aifinops.analyze import Period
    from aifinops.catalog import Catalog
    from aifinops.lake import Engine
    from aifinops.settings import Settings

LimitOpt = Annotated[int, typer.Option(help="Rows to show, largest first (0 = all).")]
_EMPTY_LAKE_HINT = (
    "no rows carry {what}: was the lake ingested before enrichment? "
    "Run `aifinops enrich` to fill the x_ columns of an existing lake."
)
_ROW_KEYS = ("gpu_model", "cloud", "region", "pricing_category", "is_spot")
_SHORT = {"gpu_model": "model", "pricing_category": "pricing", "is_spot": "spot"}
#: The GPU report's terminal / Markdown views (JSON and CSV carry every column).
GPU_USAGE_VIEW = View.of(
    (
        *_ROW_KEYS,
        "accelerator_hours",
        "effective_cost",
        "effective_rate",
        "price_basis",
        "rows",
    ),
    **_SHORT,
    accelerator_hours="acc_hours",
    effective_rate="usd_per_acc_hour",
    price_basis="basis",
)
GPU_PRICE_VIEW = View.of(
    (
        *_ROW_KEYS,
        "effective_rate",
        "region_ondemand",
        "region_spot",
        "cheapest_ondemand",
        "cheapest_spot",
        "saving_vs_ondemand",
        "saving_vs_spot",
    ),
    **_SHORT,
    effective_rate="paid",
    region_ondemand="reg_od",
    region_spot="reg_spot",
    cheapest_ondemand="best_od",
    cheapest_spot="best_spot",
    saving_vs_ondemand="saving_od",
    saving_vs_spot="saving_spot",
)
CHEAPEST_VIEW = View.of(
    ("gpu_model", "term", "usd_per_accelerator_hour", "cloud", "region", "instance_type"),
    gpu_model="model",
    usd_per_accelerator_hour="usd_per_acc_hour",
)
#: The carbon report's short headers in the terminal and Markdown.
CARBON_SHORT = {
    "energy_kwh": "kwh",
    "carbon_kg_co2e": "kg_co2e",
    "g_co2e_per_usd": "g_per_usd",
    "accelerator_hours": "acc_hours",
    "g_co2e_per_accelerator_hour": "g_per_acc_hour",
    "rows_without_carbon": "no_carbon",
}
#: Carbon columns JSON and CSV carry but the terminal table leaves out.
_CARBON_JSON_ONLY = ("kwh_without_carbon", "accelerator_kg_co2e")
WorkloadByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        help="Dimensions, comma-separated: workload, lifecycle_stage, workload_reason, team, "
        "project, model, experiment, dataset, run_id, environment, gpu_model, "
        "accelerator_kind, provider, month.",
    ),
]
CarbonByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        help="Dimensions, comma-separated: team, project, model, experiment, environment, "
        "region, provider, account, subaccount, service, gpu_model, accelerator_kind, "
        "instance_type, workload, lifecycle_stage, month.",
    ),
]


def report_gpu(
    period: PeriodOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    catalog_dir: CatalogDirOpt = None,
    fmt: ReportFormatOpt = "table",
    limit: LimitOpt = 0,
) -> None:
    """Accelerator-hours and effective $/accelerator-hour by model, cloud, region and pricing,
    beside the catalog's on-demand and spot prices there and the cheapest anywhere."""
    from aifinops.analyze import gpu_report, parse_period
    from aifinops.analyze.gpu import GPU_COLUMNS
    from aifinops.catalog import cloud_key

    with errors():
        check_format(fmt, REPORT_FORMATS)
        chosen = parse_period(period)
        settings, con = _connect(lake, engine)
        catalog = _catalog(settings, catalog_dir)
        report = gpu_report(con.costs(), con.execute, catalog, period=chosen)
    rows, label = _limited(report.rows, limit), _label(chosen)
    models = {row["gpu_model"] for row in rows}
    cheapest = [offer for offer in report.cheapest if offer["gpu_model"] in models]
    if fmt in ("json", "csv"):
        show(rows, GPU_COLUMNS, fmt, notes=report.notes, period=label, cheapest=cheapest)
        return
    if not rows:
        err.print(escape(_EMPTY_LAKE_HINT.format(what="accelerator-hours")))
    shown = [{**row, "cloud": cloud_key(row["provider"]) or row["provider"]} for row in rows]
    show_views(
        [
            (GPU_USAGE_VIEW, f"Accelerator usage ({label})", shown),
            (GPU_PRICE_VIEW, "Against the catalog: USD per accelerator-hour", shown),
            (CHEAPEST_VIEW, "Cheapest catalog offers anywhere", cheapest),
        ],
        fmt,
        notes=report.notes,
    )


def report_workloads(
    by: WorkloadByOpt = "workload,team,model",
    period: PeriodOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: ReportFormatOpt = "table",
    limit: LimitOpt = 0,
) -> None:
    """Cost of training, inference, notebooks and data prep by team and model, with each
    row's share of the total, and the cost of each lifecycle stage."""
    from aifinops.analyze import WORKLOAD_DIMENSIONS, choose_dimensions, parse_period
    from aifinops.analyze import workload_report as run_report
    from aifinops.analyze.workloads import STAGE_BY, WORKLOAD_MEASURES

    with errors():
        check_format(fmt, REPORT_FORMATS)
        dims, chosen = choose_dimensions(by, WORKLOAD_DIMENSIONS), parse_period(period)
        _settings, con = _connect(lake, engine)
        report = run_report(con.costs(), con.execute, by=dims, period=chosen)
    rows, label = _limited(report.rows, limit), _label(chosen)
    columns = [*dims, *WORKLOAD_MEASURES]
    if fmt in ("json", "csv"):
        meta: dict[str, Any] = {
            "total_effective_cost": report.total_effective_cost,
            "stages": report.stages,
        }
        show(rows, columns, fmt, period=label, by=dims, **meta)
        return
    tables = [(View.of(columns), f"Workloads by {', '.join(dims) or 'total'} ({label})", rows)]
    if dims != list(STAGE_BY):
        stage_view = View.of([*STAGE_BY, *WORKLOAD_MEASURES])
        tables.append((stage_view, f"Lifecycle stages ({label})", report.stages))
    total = f"Total effective cost: {_figure(report.total_effective_cost)} USD."
    show_views(tables, fmt, notes=[total])


def report_carbon(
    by: CarbonByOpt = "team,model,region",
    period: PeriodOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: ReportFormatOpt = "table",
    limit: LimitOpt = 0,
) -> None:
    """Estimated energy (kWh) and location-based emissions (kg CO2e) by team, model and
    region, with grams CO2e per USD and per accelerator-hour."""
    from aifinops.analyze import CARBON_DIMENSIONS, carbon_report, choose_dimensions, parse_period
    from aifinops.analyze.carbon import CARBON_MEASURES, MISSING_GRID_COLUMNS

    with errors():
        check_format(fmt, REPORT_FORMATS)
        dims, chosen = choose_dimensions(by, CARBON_DIMENSIONS), parse_period(period)
        _settings, con = _connect(lake, engine)
        report = carbon_report(con.costs(), con.execute, by=dims, period=chosen)
    rows, label = _limited(report.rows, limit), _label(chosen)
    columns = [*dims, *CARBON_MEASURES]
    notes = [
        f"Total: {_figure(report.energy_kwh)} kWh, {_figure(report.carbon_kg_co2e)} kg CO2e "
        "(location-based estimates, docs/enrichment.md)."
    ]
    if report.rows_without_carbon:
        notes.append(
            f"{report.rows_without_carbon:,} row(s) have energy but no emissions: their region "
            "is not in the catalog's grid table (see 'Energy without a grid factor')."
        )
    if fmt in ("json", "csv"):
        meta: dict[str, Any] = {
            "energy_kwh": report.energy_kwh,
            "carbon_kg_co2e": report.carbon_kg_co2e,
            "rows_without_carbon": report.rows_without_carbon,
            "missing_grid": report.missing_grid,
        }
        show(rows, columns, fmt, notes=notes, period=label, by=dims, **meta)
        return
    if not rows:
        err.print(escape(_EMPTY_LAKE_HINT.format(what="an energy estimate")))
    view = View.of([c for c in columns if c not in _CARBON_JSON_ONLY], **CARBON_SHORT)
    title = f"Energy and emissions by {', '.join(dims) or 'total'} ({label})"
    tables = [(view, title, rows)]
    if report.missing_grid:
        missing = View.of(MISSING_GRID_COLUMNS)
        tables.append((missing, "Energy without a grid factor", report.missing_grid))
    show_views(tables, fmt, notes=notes)


def _figure(value: Decimal | None) -> str:
    return f"{value or 0:,.2f}"


def _label(period: Period | None) -> str:
    return period.label() if period else "all periods"


def _limited(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    return rows[:limit] if limit > 0 else rows


def _connect(lake: Path | None, engine: str | None) -> tuple[Settings, Engine]:
    """Return the settings in force and an engine over their (existing) lake."""
    from aifinops.lake import Lake, connect
    from aifinops.settings import load_settings

    settings = load_settings(lake=lake, engine=engine)
    return settings, connect(Lake.open(settings.lake, create=False), engine=settings.engine)


def _catalog(settings: Settings, directory: Path | None) -> Catalog:
    """Return the catalog (a refreshed directory, else the settings' one, else the package's)
    with the settings' price overrides applied."""
    from aifinops.catalog import load_catalog

    catalog = load_catalog(directory or settings.catalog)
    overrides = settings.price_overrides
    return catalog.with_overrides(overrides) if overrides else catalog
