"""Unit economics: USD per 1,000 requests, per 1M tokens, per epoch, per step, per GPU-hour.

Usage metrics (:data:`aifinops.signals.schema.METRICS`) say what the work did; the bill (or
measured GPU-time × a price) says what it cost. The join is per *window*: one resource in one
time bucket (an hour by default; see :mod:`aifinops.analyze.unit_windows`):

1. each metric's samples add up per window (:func:`aifinops.analyze.counters.counted`:
   deltas sum, cumulative counters give their increases, gauges never add up);
2. each window gets the resource's cost in that bucket;
3. per group (model, team, cloud …) and period: ``usd_per_<unit>`` = Σ cost of the windows in
   which the unit was counted ÷ the units counted in those windows (× 1,000 or 1,000,000).

So an endpoint's idle night hours, without requests, are *not* charged to requests; the
fully loaded ``usd_per_1k_requests_all_hours`` divides all the cost of the group's resources
in the period (idle hours included) by the same requests. Input and output tokens each carry
the full cost of their windows (no split between them). Money is summed in the engine as
DECIMAL; units are summed as DECIMAL(38, 9) (each increase rounded to 9 places) so that every
engine gives the same sums; the division is done here in Python (:func:`ratio`). docs/unit-
economics.md states every rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.analyze.counters import as_time, bucket_of, counted, parse_bucket
from aifinops.analyze.report_rows import Execute, Row
from aifinops.analyze.runs import run_ledger
from aifinops.analyze.spend import Period
from aifinops.analyze.unit_figures import FIGURES, formulas, notes
from aifinops.analyze.unit_rows import UNIT_MEASURES, basis_of, finish_unit_rows
from aifinops.analyze.unit_windows import (
    billing_costs,
    billing_totals,
    match_totals,
    resource_facts,
    sample_time,
    telemetry_gpu_time,
    telemetry_totals,
    window_id,
    window_key,
)
from aifinops.errors import BadInputError

#: Metrics that are counted (each has a figure in :data:`FIGURES`).
UNIT_METRICS = tuple(f.metric for f in FIGURES)
#: Dimensions a unit-economics row may be grouped by.
UNIT_DIMENSIONS = ("model", "team", "project", "cloud", "resource", "host", "run_id")
DEFAULT_UNIT_BY = ("model", "team", "cloud")
#: Reporting periods: one row per month, per day, or one for the whole span (None).
GRAINS = ("month", "day")
_LABEL = {"month": "%Y-%m", "day": "%Y-%m-%d"}
_UNITS = ibis.dtype("decimal(38, 9)")


@dataclass(frozen=True)
class UnitOptions:
    """How :func:`unit_sums` groups, cuts and prices (see :func:`unit_costs`)."""

    by: tuple[str, ...] = DEFAULT_UNIT_BY
    grain: str | None = "month"
    period: Period | None = None
    seconds: int = 3600
    price: Decimal | None = None
    max_gap_s: float = 300.0


@dataclass(frozen=True)
class UnitSums:
    """The engine's sums: per metric, per group (all hours), and the loss gauge."""

    per_metric: ir.Table
    totals: ir.Table
    gauges: ir.Table


@dataclass(frozen=True)
class UnitReport:
    """Finished rows, the formula of every figure, and what the reader must know."""

    rows: list[Row]
    columns: tuple[str, ...]
    formulas: dict[str, str]
    notes: tuple[str, ...]
    basis: str


def check_unit_options(by: Sequence[str], grain: str | None) -> None:
    """Raise :class:`BadInputError` for an unknown dimension or grain."""
    for name in by:
        if name not in UNIT_DIMENSIONS:
            raise BadInputError(
                f"dimension {name!r} is not offered by the unit report",
                column="--by",
                expected=f"one or more of {', '.join(UNIT_DIMENSIONS)}",
                fix="pick dimensions from the list, comma-separated (docs/unit-economics.md).",
            )
    if grain is not None and grain not in GRAINS:
        raise BadInputError(
            f"unknown grain {grain!r}",
            column="--grain",
            expected="month, day or none",
            fix="use --grain month, --grain day or --grain none.",
        )


def _in_months(t: ir.Table, ts: ir.TimestampValue, period: Period | None) -> ir.Table:
    if period is None:
        return t
    return t.filter(ts.strftime("%Y-%m").between(period.first, period.last))


def _label(ts: ir.TimestampValue, grain: str | None) -> ir.StringValue:
    return ts.strftime(_LABEL[grain]) if grain else ibis.literal("")


def _with_dims(t: ir.Table, facts: ir.Table, grain: str | None, ts: str) -> ir.Table:
    """Add the dimension columns and ``period`` (labels from column ``ts``)."""
    j = t.left_join(facts, t.resource_id == facts.f_resource)
    return j.mutate(
        model=ibis.coalesce(j.model, j.f_model),
        team=ibis.coalesce(j.team, j.f_team),
        project=ibis.coalesce(j.project, j.f_project),
        cloud=j.f_cloud,
        resource=ibis.coalesce(j.resource_id, j.host),
        period=_label(j[ts], grain),
    )


def _units(metrics: ir.Table, opts: UnitOptions) -> ir.Table:
    """Return units per series dimensions, metric and bucket, with ``window_id``."""
    c = counted(metrics.filter(metrics.metric.isin(UNIT_METRICS)))
    c = _in_months(c, c.timestamp, opts.period)
    keys = ["resource_id", "host", "run_id", "model", "team", "project", "metric"]
    units = c.group_by(*keys, bucket=bucket_of(c.timestamp, opts.seconds)).aggregate(
        units=c.amount.round(9).cast(_UNITS).sum()
    )
    # A bucket where a counter stood still (or only held the baseline) accrued nothing.
    units = units.filter(units.units != 0)
    return units.mutate(
        window_id=window_id(window_key(units), units.bucket),
        key=window_key(units),
        start=as_time(units.bucket),
    )


def unit_sums(
    costs: ir.Table,
    metrics: ir.Table,
    *,
    telemetry: ir.Table | None = None,
    options: UnitOptions | None = None,
) -> UnitSums:
    """Return the engine's sums behind :func:`unit_costs` (three Ibis tables).

    ``per_metric``: dimensions, ``period``, ``metric``, ``units``, ``priced_units``,
    ``cost`` (billing) or ``gpu_us`` (telemetry), ``windows``. ``totals``: dimensions,
    ``period``, ``cost``, ``gpu_hours`` and ``gpu_cost``, or ``gpu_us``; ``resources``.
    ``gauges``: dimensions, ``period``, ``loss_first``, ``loss_last``.
    """
    opts = options or UnitOptions()
    check_unit_options(opts.by, opts.grain)
    telemetric = opts.price is not None
    if telemetric and telemetry is None:
        raise BadInputError(
            "a GPU-hour price needs GPU telemetry to measure GPU-time",
            column="--gpu-hour-price",
            fix="import telemetry first (aifinops import telemetry), or drop the price to "
            "use the bill.",
        )
    facts = resource_facts(costs)
    units = _units(metrics, opts)
    windows = units.select(
        "window_id",
        "resource_id",
        "bucket",
        host=ibis.ifelse(units.resource_id.notnull(), ibis.null(str), units.host),
    ).distinct()
    samples = None
    if telemetric and telemetry is not None:
        samples = _in_months(telemetry, telemetry.timestamp, opts.period)
        samples = sample_time(samples, opts.max_gap_s)
        priced = telemetry_gpu_time(samples, windows, opts.seconds)
        measure = "gpu_us"
    else:
        priced = billing_costs(costs, windows, opts.seconds)
        measure = "cost"
    priced = priced.rename(p_window="window_id")
    joined = units.left_join(priced, units.window_id == priced.p_window)
    dims = _with_dims(joined, facts, opts.grain, "start")
    group = [*opts.by, "period"]
    per_window = dims.group_by(*group, "metric", "window_id").aggregate(
        units=dims.units.sum(), amount=dims[measure].max()
    )
    has = per_window.amount.notnull()
    per_metric = per_window.group_by(*group, "metric").aggregate(
        units=per_window.units.sum(),
        priced_units=per_window.units.sum(where=has),
        **{measure: per_window.amount.sum()},
        windows=per_window.count(),
    )
    totals = _totals(costs, samples, dims, opts, group)
    return UnitSums(per_metric, totals, _gauges(metrics, facts, opts, group))


def _totals(
    costs: ir.Table,
    samples: ir.Table | None,
    dims: ir.Table,
    opts: UnitOptions,
    group: list[str],
) -> ir.Table:
    """Return the all-hours sums of each group's resources in each period."""
    members = dims.select(
        *group,
        m_key=dims.key,
        m_resource=dims.resource_id,
        m_host=ibis.ifelse(dims.resource_id.notnull(), ibis.null(str), dims.host),
    ).distinct()
    if samples is not None:
        totals = telemetry_totals(samples, _label(samples.timestamp, opts.grain))
        j = match_totals(members, totals)
        return j.group_by(*group).aggregate(gpu_us=j.a_gpu_us.sum(), resources=j.m_key.nunique())
    cut = _in_months(costs, costs.ChargePeriodStart, opts.period)
    totals = billing_totals(cut, _label(cut.ChargePeriodStart, opts.grain))
    j = members.left_join(
        totals, [members.m_key == totals.a_key, members.period == totals.a_period]
    )
    return j.group_by(*group).aggregate(
        cost=j.a_cost.sum(),
        gpu_hours=j.a_gpu_hours.sum(),
        gpu_cost=j.a_gpu_cost.sum(),
        resources=j.m_key.nunique(),
    )


def _gauges(metrics: ir.Table, facts: ir.Table, opts: UnitOptions, group: list[str]) -> ir.Table:
    """Return the first and last loss of each group and period."""
    g = metrics.filter(metrics.metric == "loss", metrics.kind == "gauge", metrics.value.notnull())
    g = _in_months(g, g.timestamp, opts.period)
    d = _with_dims(g, facts, opts.grain, "timestamp")
    # NOTE: not argmin/argmax: several resources of a group report at the same moment, and
    # which of the tied rows an engine picks is arbitrary. The mean at the first and the
    # last moment is the same on every engine and every run.
    w = ibis.window(group_by=group)
    d = d.mutate(_first=d.timestamp.min().over(w), _last=d.timestamp.max().over(w))
    return d.group_by(*group).aggregate(
        loss_first=d.value.mean(where=d.timestamp == d._first).round(6),
        loss_last=d.value.mean(where=d.timestamp == d._last).round(6),
    )


def run_sums(
    costs: ir.Table,
    runs: ir.Table,
    run_metrics: ir.Table,
    *,
    options: UnitOptions | None = None,
    now: datetime | None = None,
) -> ir.Table:
    """Return per group and period (of each run's start) the ``runs`` and their cost
    (``runs_cost``, the run ledger's :func:`aifinops.analyze.runs.run_ledger`)."""
    opts = options or UnitOptions()
    ledger = run_ledger(costs, runs, run_metrics, now=now)
    ledger = _in_months(ledger, ledger.start, opts.period)
    t = ledger.select(
        "run_id", "model", "team", "project", "resource_id", "start",
        host=ibis.null(str), cost=ledger.effective_cost,
    )  # fmt: skip
    d = _with_dims(t, resource_facts(costs), opts.grain, "start")
    return d.group_by(*opts.by, "period").aggregate(runs=d.count(), runs_cost=d.cost.sum())


def unit_costs(
    costs: ir.Table,
    metrics: ir.Table,
    execute: Execute,
    *,
    telemetry: ir.Table | None = None,
    by: Sequence[str] = DEFAULT_UNIT_BY,
    grain: str | None = "month",
    period: Period | None = None,
    gpu_hour_price: Decimal | None = None,
    bucket: str | int | timedelta = "hour",
    max_gap_s: float = 300.0,
    runs: ir.Table | None = None,
    run_metrics: ir.Table | None = None,
    now: datetime | None = None,
) -> UnitReport:
    """Return cost per unit of work by ``by`` and period.

    Args:
        costs: the lake's cost rows (``Engine.costs()``).
        metrics: usage metrics (``Engine.signals("metrics")``).
        execute: runs an Ibis expression (``Engine.execute``).
        telemetry: GPU telemetry (``Engine.signals("telemetry")``); needed with a price.
        by: dimensions from :data:`UNIT_DIMENSIONS`.
        grain: ``month``, ``day`` or None (one row per group for the whole span).
        period: billing months to include (metrics by timestamp, costs by charge start).
        gpu_hour_price: USD per GPU-hour: price measured GPU-time instead of the bill.
        bucket: the time bucket units and cost meet in (``hour``, ``day``, ``10s``, …).
        max_gap_s: the longest time one telemetry sample stands for.
        runs: experiment runs (``Engine.signals("runs")``): with ``run_metrics``, adds
            ``runs``, ``runs_cost`` and ``usd_per_run`` from the run ledger.
        run_metrics: the runs' metric histories (``Engine.signals("run_metrics")``).
        now: the end of runs still running (default: the current time).

    Raises:
        BadInputError: for an unknown dimension, grain or bucket, or a price without
            telemetry.
    """
    opts = UnitOptions(
        by=tuple(by),
        grain=grain,
        period=period,
        seconds=parse_bucket(bucket),
        price=gpu_hour_price,
        max_gap_s=max_gap_s,
    )
    sums = unit_sums(costs, metrics, telemetry=telemetry, options=opts)
    run_rows: list[Row] = []
    if runs is not None and run_metrics is not None:
        expr = run_sums(costs, runs, run_metrics, options=opts, now=now)
        run_rows = execute(expr).to_pylist()
    rows = finish_unit_rows(
        execute(sums.per_metric).to_pylist(),
        execute(sums.totals).to_pylist(),
        execute(sums.gauges).to_pylist(),
        run_rows,
        by=opts.by,
        grain=opts.grain,
        price=gpu_hour_price,
    )
    keys = (*opts.by, "period") if grain else opts.by
    return UnitReport(
        rows=rows,
        columns=(*keys, *UNIT_MEASURES),
        formulas=formulas(opts.seconds, gpu_hour_price),
        notes=notes(opts.seconds, gpu_hour_price),
        basis=basis_of(gpu_hour_price),
    )
