"""``aifinops report units`` (cost per unit of work) and ``report storage`` (checkpoints and
data movement).

Thin over :mod:`aifinops.analyze.units`, :mod:`aifinops.analyze.storage` and
:mod:`aifinops.analyze.egress`; every command prints ``table`` (default), ``json``, ``csv`` or
``markdown``. ``cli.py`` registers them on its ``report`` group::

    report_app.command("units")(report_units)
    report_app.command("storage")(report_storage)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from aifinops.cli_options import EngineOpt, LakeOpt, PeriodOpt, parse_gpu_hour_price
from aifinops.cli_output import check_format, err, errors
from aifinops.cli_report_output import REPORT_FORMATS, ReportFormatOpt, View, show, show_views
from aifinops.errors import BadInputError

if TYPE_CHECKING:
    from aifinops.analyze.units import UnitReport

Row = dict[str, Any]
LimitOpt = Annotated[int, typer.Option(help="Rows to show, largest first (0 = all).")]
UnitByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        help="Dimensions, comma-separated: model, team, project, cloud, resource, host, run_id.",
    ),
]
GrainOpt = Annotated[
    str, typer.Option("--grain", help="One row per month, per day, or none (the whole span).")
]
BucketOpt = Annotated[
    str,
    typer.Option(
        "--bucket",
        help="Where units meet cost: hour, day, or Ns/Nm/Nh dividing a day (10s, 15m). No "
        "finer than the metrics' sampling interval.",
    ),
]
PriceOpt = Annotated[
    str | None,
    typer.Option(
        "--gpu-hour-price",
        help="USD per GPU-hour: price measured GPU-time (telemetry) instead of the bill.",
        show_default=False,
    ),
]
StorageByOpt = Annotated[
    str, typer.Option("--by", help="bucket, prefix, run, egress (data transfer) or stale.")
]
EgressByOpt = Annotated[
    str,
    typer.Option(
        "--egress-by",
        help="With --by egress: pipeline, provider, source_region, destination, resource, "
        "bucket, day, month (comma-separated).",
    ),
]
OlderOpt = Annotated[
    int, typer.Option("--older-than", min=0, help="With --by stale: days since the run ended.")
]
NowOpt = Annotated[
    str | None,
    typer.Option(
        "--now", help="With --by stale: the reference date (YYYY-MM-DD; default today).",
        show_default=False,
    ),
]  # fmt: skip
_COUNTED = ("requests", "tokens_in", "tokens_out", "epochs", "steps", "samples")
_COUNTS = ("resources", *_COUNTED, *(f"{m}_priced" for m in _COUNTED))
_NO_METRICS = (
    "no usage metrics in the lake: import them with `aifinops import metrics` "
    "(docs/unit-economics.md)."
)
_SERVING = ("requests", "usd_per_1k_requests", "usd_per_1k_requests_all_hours", "tokens_in",
            "usd_per_1m_tokens_in", "tokens_out", "usd_per_1m_tokens_out")  # fmt: skip
_TRAINING = ("gpu_hours", "usd_per_gpu_hour", "epochs", "usd_per_epoch", "steps",
             "usd_per_step", "loss_first", "loss_last", "loss_change")  # fmt: skip
_SHORT = {
    "usd_per_1k_requests": "usd/1k_req",
    "usd_per_1k_requests_all_hours": "usd/1k_req_all_h",
    "usd_per_1m_tokens_in": "usd/1M_tok_in",
    "usd_per_1m_tokens_out": "usd/1M_tok_out",
    "usd_per_gpu_hour": "usd/gpu_h",
    "usd_per_epoch": "usd/epoch",
    "usd_per_step": "usd/step",
}


def report_units(
    by: UnitByOpt = "model,team,cloud",
    grain: GrainOpt = "month",
    period: PeriodOpt = None,
    gpu_hour_price: PriceOpt = None,
    bucket: BucketOpt = "hour",
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: ReportFormatOpt = "table",
    limit: LimitOpt = 0,
) -> None:
    """Cost per unit of work: USD per 1,000 requests, 1M tokens, epoch, step and GPU-hour,
    by model, team and cloud (docs/unit-economics.md)."""
    from aifinops.analyze.spend import parse_period
    from aifinops.analyze.units import unit_costs
    from aifinops.cli_reports import _connect
    from aifinops.signals.store import signal_files

    with errors():
        check_format(fmt, REPORT_FORMATS)
        dims = [d.strip() for d in by.split(",") if d.strip()]
        cut = None if grain.strip().lower() == "none" else grain.strip().lower()
        chosen, price = parse_period(period), parse_gpu_hour_price(gpu_hour_price)
        settings, con = _connect(lake, engine)
        has_runs = bool(signal_files(con.lake, "runs"))
        report = unit_costs(
            con.costs(),
            con.signals("metrics"),
            con.execute,
            telemetry=con.signals("telemetry") if price is not None else None,
            by=dims,
            grain=cut,
            period=chosen,
            gpu_hour_price=price,
            bucket=bucket,
            max_gap_s=settings.waste.max_gap_s,
            runs=con.signals("runs") if has_runs else None,
            run_metrics=con.signals("run_metrics") if has_runs else None,
        )
    rows, label = _limited(report.rows, limit), chosen.label() if chosen else "all periods"
    notes = [
        *report.notes,
        "Each figure's formula: --format json (formulas), or docs/unit-economics.md.",
    ]
    if fmt in ("json", "csv"):
        meta: dict[str, Any] = {"basis": report.basis, "formulas": report.formulas, "by": dims}
        show(rows, report.columns, fmt, notes=report.notes, period=label, **meta)
        return
    if not rows:
        err.print(escape(_NO_METRICS))
    show_views(_unit_views(report, rows, label), fmt, notes=notes)


def _unit_views(report: UnitReport, rows: list[Row], label: str) -> list[Any]:
    """Return the serving and training tables (each only with rows that have such units)."""
    from aifinops.analyze.unit_rows import UNIT_MEASURES

    keys = [c for c in report.columns if c not in UNIT_MEASURES]
    shown = [_display(row) for row in rows]
    serving = [r for r in shown if any(r.get(m) is not None for m in _COUNTED[:3])]
    training = [r for r in shown if any(r.get(m) is not None for m in _COUNTED[3:])]
    views = []
    if serving or not training:
        view = View.of([*keys, "cost", *_SERVING], **_SHORT)
        views.append(
            (view, f"Serving: cost per request and token ({label}, {report.basis})", serving)
        )
    if training:
        view = View.of([*keys, "cost", *_TRAINING], **_SHORT)
        views.append(
            (view, f"Training: cost per epoch and step ({label}, {report.basis})", training)
        )
    return views


def _display(row: Row) -> Row:
    """Return the row for the terminal: counts as integers, small figures to 4 digits."""
    shown = dict(row)
    for key, value in row.items():
        if not isinstance(value, Decimal):
            continue
        if key.startswith("usd_per_") and abs(value) < 1:
            shown[key] = float(f"{value:.4g}")
        elif key in _COUNTS:
            shown[key] = int(value) if value == value.to_integral_value() else float(f"{value:.4f}")
    return shown


def _limited(rows: list[Row], limit: int) -> list[Row]:
    return rows[:limit] if limit > 0 else rows


def report_storage(
    by: StorageByOpt = "bucket",
    period: PeriodOpt = None,
    egress_by: EgressByOpt = "pipeline,provider,source_region,destination",
    older_than: OlderOpt = 30,
    now: NowOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: ReportFormatOpt = "table",
    limit: LimitOpt = 0,
) -> None:
    """Checkpoints and data movement: object-storage cost by bucket, prefix or run, the
    checkpoints of long-ended runs still paid for, and data-transfer cost by pipeline and
    route (docs/storage.md)."""
    from aifinops.analyze.spend import parse_period
    from aifinops.cli_reports import _connect

    with errors():
        check_format(fmt, REPORT_FORMATS)
        chosen = parse_period(period)
        _settings, con = _connect(lake, engine)
        rows, columns, title, notes = _storage_rows(
            con, by.strip().lower(), chosen, egress_by, older_than, _when(now)
        )
    rows, label = _limited(rows, limit), chosen.label() if chosen else "all periods"
    if fmt in ("json", "csv"):
        show(rows, columns, fmt, notes=notes, period=label, by=by)
        return
    show_views([(View.of(columns), f"{title} ({label})", rows)], fmt, notes=notes)


def _storage_rows(
    con: Any, by: str, period: Any, egress_by: str, older_than: int, now: datetime
) -> tuple[list[Row], list[str], str, list[str]]:
    """Run the storage view ``by`` and return its rows, columns, title and notes."""
    from aifinops.analyze.egress import EGRESS_MEASURES, check_egress_by, egress_costs
    from aifinops.analyze.storage import STORAGE_COLUMNS, stale_checkpoints, storage_costs

    costs = con.costs()
    if by == "egress":
        dims = check_egress_by([d.strip() for d in egress_by.split(",") if d.strip()])
        rows = con.execute(egress_costs(costs, by=dims, period=period)).to_pylist()
        note = "Data-transfer rows: meter, usage type or description reads like moving bytes."
        return rows, [*dims, *EGRESS_MEASURES], "Data transfer by route", [note]
    split = (
        "Runs sharing a bucket split its cost equally (an estimate: the bill does not say whose "
        "bytes are whose); artifacts are taken to stay from the run's start."
    )
    if by == "stale":
        expr = stale_checkpoints(
            costs, con.signals("runs"), now, older_than=timedelta(days=older_than)
        )
        title = f"Checkpoints of runs ended over {older_than} days before {now:%Y-%m-%d}"
        return con.execute(expr).to_pylist(), list(STORAGE_COLUMNS["stale"]), title, [split]
    runs = con.signals("runs") if by == "run" else None
    rows = con.execute(storage_costs(costs, runs, by=by, period=period)).to_pylist()
    return (
        rows,
        list(STORAGE_COLUMNS[by]),
        f"Object storage by {by}",
        [split] if runs is not None else [],
    )


def _when(text: str | None) -> datetime:
    """Parse ``--now`` (YYYY-MM-DD, midnight UTC), default the current time."""
    if text is None:
        return datetime.now(UTC)
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadInputError(
            f"bad date {text!r}", column="--now", expected="YYYY-MM-DD", fix="e.g. --now 2026-10-31"
        ) from None
