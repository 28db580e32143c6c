"""``aifinops report waste``: GPU-hours, cost and energy of idle, zombie and under-used GPUs.

Thin over :mod:`aifinops.analyze.waste`; prints ``table`` (default), ``json``, ``csv`` or
``markdown``. ``cli.py`` registers it on its ``report`` group::

    report_app.command("waste")(report_waste)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from aifinops.cli_catalog import CatalogDirOpt
from aifinops.cli_options import EngineOpt, LakeOpt, PeriodOpt, parse_gpu_hour_price
from aifinops.cli_output import check_format, errors
from aifinops.cli_report_output import REPORT_FORMATS, ReportFormatOpt, View, show, show_views
from aifinops.errors import BadInputError

if TYPE_CHECKING:
    from aifinops.analyze.phases import WasteThresholds
    from aifinops.settings import Settings

WasteByOpt = Annotated[
    str,
    typer.Option(
        "--by", help="Dimensions, comma-separated: host, resource, model, gpu, team, day."
    ),
]
PriceOpt = Annotated[
    str | None,
    typer.Option(
        "--gpu-hour-price",
        help="USD per GPU-hour for GPUs whose resource is not in the bill.",
        show_default=False,
    ),
]
IdleOpt = Annotated[
    float | None,
    typer.Option(
        "--idle-util", help="Activity % at or below which a GPU is idle.", show_default=False
    ),
]
UnderusedOpt = Annotated[
    float | None,
    typer.Option(
        "--underused-util", help="Activity % below which a GPU is under-used.", show_default=False
    ),
]
ZombieOpt = Annotated[
    float | None,
    typer.Option(
        "--zombie-memory",
        help="Framebuffer % held that makes an idle GPU a zombie.",
        show_default=False,
    ),
]
SegmentsOpt = Annotated[
    bool, typer.Option("--segments", help="List every segment instead of the totals.")
]
#: Columns of the segment listing (JSON and CSV carry every column of a segment).
SEGMENT_VIEW = View.of(
    (
        "host",
        "gpu_index",
        "state",
        "start",
        "end",
        "gpu_hours",
        "mean_util_pct",
        "peak_mem_used_mib",
        "mean_power_w",
        "energy_kwh",
        "energy_source",
        "cost",
        "cost_basis",
    ),
    gpu_index="gpu",
    mean_util_pct="util_%",
    peak_mem_used_mib="peak_mem_mib",
    mean_power_w="power_w",
    energy_kwh="kwh",
    energy_source="energy",
    cost_basis="basis",
)
_SHORT = {
    "share_pct": "share_%",
    "unpriced_gpu_hours": "unpriced_h",
    "energy_kwh": "kwh",
    "energy_source": "energy",
    "cost_basis": "basis",
}


def report_waste(
    by: WasteByOpt = "host",
    period: PeriodOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    gpu_hour_price: PriceOpt = None,
    idle_util: IdleOpt = None,
    underused_util: UnderusedOpt = None,
    zombie_memory: ZombieOpt = None,
    catalog_dir: CatalogDirOpt = None,
    fmt: ReportFormatOpt = "table",
    segments: SegmentsOpt = False,
) -> None:
    """GPU-hours, cost and energy of idle, zombie and under-used GPUs, from GPU telemetry
    and the bill (docs/waste.md)."""
    from aifinops.analyze.spend import parse_period
    from aifinops.analyze.waste import parse_waste_by, segment_rows, waste_report
    from aifinops.cli_reports import _catalog, _connect

    with errors():
        check_format(fmt, REPORT_FORMATS)
        dims, chosen = parse_waste_by(by), parse_period(period)
        price = parse_gpu_hour_price(gpu_hour_price)
        settings, con = _connect(lake, engine)
        options: dict[str, Any] = {
            "thresholds": _thresholds(settings, idle_util, underused_util, zombie_memory),
            "gpu_hour_price": price,
            "catalog": _catalog(settings, catalog_dir),
            "period": chosen,
        }
        telemetry, costs = con.signals("telemetry"), con.costs()
        if segments:
            rows = segment_rows(telemetry, con.execute, costs, **options)
        else:
            report = waste_report(telemetry, con.execute, costs, by=dims, **options)
    label = chosen.label() if chosen else "all periods"
    if segments:
        _show_segments(rows, fmt, label)
        return
    from aifinops.analyze.waste import WASTE_MEASURES

    columns = [*dims, "state", *WASTE_MEASURES]
    if fmt in ("json", "csv"):
        show(report.rows, columns, fmt, notes=report.notes, period=label, totals=report.totals)
        return
    totals = View.of(("state", "gpu_hours", "share_pct", "cost", "energy_kwh"), **_SHORT)
    show_views(
        [
            (
                View.of(columns, **_SHORT),
                f"GPU waste by {', '.join(dims) or 'total'} ({label})",
                _rounded(report.rows),
            ),
            (totals, "All GPU-hours observed, by state", _rounded(report.totals)),
        ],
        fmt,
        notes=report.notes,
    )


def _show_segments(rows: list[dict[str, Any]], fmt: str, label: str) -> None:
    if fmt in ("json", "csv"):
        columns = list(rows[0]) if rows else list(SEGMENT_VIEW.headers)
        show(rows, columns, fmt, period=label)
        return
    show_views([(SEGMENT_VIEW, f"GPU segments ({label})", _rounded(rows))], fmt)


def _rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return rows with floats rounded to 4 places, for the terminal and Markdown."""
    return [{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


def _thresholds(
    settings: Settings, idle: float | None, underused: float | None, zombie: float | None
) -> WasteThresholds:
    """Return the settings' thresholds (``waste:``), with the options given replacing them."""
    from aifinops.analyze.phases import WasteThresholds

    base = settings.waste
    given = {"idle_util_pct": idle, "underused_util_pct": underused, "zombie_memory_pct": zombie}
    update = {k: v for k, v in given.items() if v is not None}
    try:
        return WasteThresholds(**{**base.model_dump(), **update})
    except ValidationError as exc:
        problem = "; ".join(str(e["msg"]) for e in exc.errors())
        raise BadInputError(
            f"bad thresholds: {problem}",
            column="--idle-util / --underused-util / --zombie-memory",
            expected="percentages from 0 to 100, idle below under-used",
            fix="see docs/waste.md for the defaults and what each means",
        ) from None
