"""The run ledger: what each experiment run cost, how it ended, and what it spent after it
stopped improving.

A run is a *window* on a resource (:mod:`aifinops.analyze.windows`): from its start to its
end (``now`` for a run still marked RUNNING), on the resource its tags name (or the resource
its host reported in GPU telemetry), with a GPU share = the run's GPUs ÷ the resource's GPUs
(the cost rows' ``x_GpuCount``, else the distinct GPUs in telemetry; null = the whole
instance). Its cost is the bill of that resource spread over each charge period, cut at the
run's edges, times the share::

    effective_cost = Σ EffectiveCost × overlap ÷ charge period × GPU share

Outcomes: ``finished``, ``failed``, ``killed`` (MLflow's status), ``abandoned`` (RUNNING or
SCHEDULED, but neither started nor logged a metric in the ``abandoned_after`` before
``now``) and ``running``. The early stop (:mod:`aifinops.analyze.early_stop`) is found on
the ``target_metric`` history; ``wasted_after_stop`` is the cost of the same window from the
early stop to the run's end. Everything is an Ibis expression: money is summed in the engine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.analyze.early_stop import check_rule, plateau_windows
from aifinops.analyze.windows import WINDOW_COLUMNS, cost_in_windows
from aifinops.enrich.arith import DEC

#: How a run ended, in the ledger's ``outcome`` column.
OUTCOMES = ("finished", "failed", "killed", "abandoned", "running")
#: How a run's cost is computed (``cost_basis`` of a fully linked run).
COST_BASIS = "instance cost × time overlap × GPU share"
WHOLE_BASIS = "instance cost × time overlap (whole instance: GPU share unknown)"
NO_LINK_BASIS = "no resource: tag the run aifinops.resource_id or aifinops.host (docs/runs.md)"
NO_COST_BASIS = "no cost rows of the resource in the run's time"
#: Columns of :func:`run_ledger`, in order.
LEDGER_COLUMNS = (
    "run_id",
    "run_name",
    "experiment",
    "team",
    "project",
    "model",
    "user",
    "status",
    "outcome",
    "resource_id",
    "start",
    "end",
    "hours",
    "gpu_share",
    "effective_cost",
    "cost_basis",
    "evaluations",
    "last_metric_at",
    "early_stop_at",
    "stop_confirmed_at",
    "wasted_after_stop",
)
#: Columns of :func:`experiment_summary`, in order.
SUMMARY_COLUMNS = (
    "experiment",
    "runs",
    *OUTCOMES,
    "hours",
    "effective_cost",
    "failed_cost",
    "killed_cost",
    "abandoned_cost",
    "early_stop_waste",
)
_FLOAT = "float64"
#: Run columns the windows carry through to the ledger.
_CARRIED = ("run_name", "experiment", "team", "project", "model", "user", "status")


def run_windows(
    runs: ir.Table,
    telemetry: ir.Table | None = None,
    *,
    costs: ir.Table | None = None,
    now: datetime | None = None,
) -> ir.Table:
    """Return each run as a cost window: ``window_id`` (= run_id), ``resource_id``,
    ``start``, ``end`` and ``share``.

    Args:
        runs: the ``runs`` signal table.
        telemetry: GPU telemetry; maps a run's host to a resource and counts its GPUs.
        costs: the cost rows; their ``x_GpuCount`` is the resource's GPUs.
        now: the end of runs without an end time (default: the current time).
    """
    return _windows(runs, telemetry, costs, now or datetime.now(UTC)).select(*WINDOW_COLUMNS)


def _windows(
    runs: ir.Table, telemetry: ir.Table | None, costs: ir.Table | None, now: datetime
) -> ir.Table:
    """Return the run windows with the run's own columns (:data:`_CARRIED`) and the
    resource's ``r_team`` and ``r_model``."""
    windows = runs.select(
        *_CARRIED,
        window_id=runs.run_id,
        resource_id=runs.resource_id,
        host=runs.host,
        gpu_count=runs.gpu_count,
        start=runs.start_time,
        # NOTE: a run started after ``now`` (after the bill's end) gets an empty window.
        end=runs.end_time.fill_null(ibis.greatest(runs.start_time, ibis.literal(now))),
    )
    if telemetry is not None:
        windows = _link_hosts(windows, telemetry)
    for facts in _resource_facts(costs, telemetry):
        windows = windows.left_join(facts, [("resource_id", "f_resource")]).drop("f_resource")
    known = [windows[c] for c in ("c_gpus", "t_gpus") if c in windows.columns]
    gpus = ibis.coalesce(*known) if known else ibis.null(_FLOAT)
    share = ibis.ifelse(
        windows.gpu_count.notnull() & (gpus > 0),
        ibis.least(windows.gpu_count / gpus, 1.0),
        ibis.null(_FLOAT),
    )
    blank = ibis.null(str)
    return windows.select(
        *_CARRIED,
        *[windows[c] for c in WINDOW_COLUMNS if c != "share"],
        share=share.cast(_FLOAT),
        r_team=windows.r_team if "r_team" in windows.columns else blank,
        r_model=windows.r_model if "r_model" in windows.columns else blank,
    )


def run_ledger(
    costs: ir.Table,
    runs: ir.Table,
    run_metrics: ir.Table,
    telemetry: ir.Table | None = None,
    *,
    now: datetime | None = None,
    abandoned_after: timedelta = timedelta(hours=6),
    target_metric: str = "loss",
    mode: str = "min",
    patience: int = 5,
    min_delta: float = 0.0,
) -> ir.Table:
    """Return one row per run (:data:`LEDGER_COLUMNS`): its outcome, hours, cost and the
    cost after its early stop, largest cost first.

    Args:
        costs: the lake's cost rows.
        runs: the ``runs`` signal table.
        run_metrics: the ``run_metrics`` signal table (metric histories).
        telemetry: GPU telemetry, to link runs that name only their host.
        now: when the ledger is drawn up: the end of unfinished runs and the reference of
            ``abandoned`` (default: the current time).
        abandoned_after: how long an unfinished run may go without a metric.
        target_metric: the metric the early stop watches.
        mode: ``min`` when lower is better (loss), ``max`` when higher is (accuracy).
        patience: evaluations without improvement that make a plateau.
        min_delta: how much better than the best so far an improvement must be.
    """
    check_rule(mode, patience, min_delta)
    now = now or datetime.now(UTC)
    windows = _windows(runs, telemetry, costs, now)
    series = run_metrics.filter(run_metrics.key == target_metric)
    stops = plateau_windows(
        series.select(key=series.run_id, ts=series.timestamp, value=series.value, step=series.step),
        mode=mode,
        patience=patience,
        min_delta=min_delta,
    )
    activity = run_metrics.group_by(a_run=run_metrics.run_id).aggregate(
        last_metric_at=run_metrics.timestamp.max()
    )
    base = windows.left_join(stops, [("window_id", "key")]).drop("key")
    base = base.left_join(activity, [("window_id", "a_run")]).drop("a_run")
    return _assemble(base, _run_costs(costs, base), now - abandoned_after)


def _run_costs(costs: ir.Table, base: ir.Table) -> ir.Table:
    """Return per run ``c_run``, ``effective_cost`` and ``wasted_after_stop`` (the cost from
    the early stop to the end): one pass of ``cost_in_windows`` over both kinds of window,
    told apart by a one-letter prefix of the window id."""
    after = base.filter(base.early_stop_at < base.end)
    both = base.select(
        window_id=ibis.literal("R").concat(base.window_id),
        resource_id=base.resource_id,
        start=base.start,
        end=base.end,
        share=base.share,
    ).union(
        after.select(
            window_id=ibis.literal("S").concat(after.window_id),
            resource_id=after.resource_id,
            start=after.early_stop_at,
            end=after.end,
            share=after.share,
        )
    )
    cost = cost_in_windows(costs, both)
    kind = cost.window_id.left(1)
    return cost.group_by(c_run=cost.window_id.substr(1)).aggregate(
        effective_cost=cost.effective_cost.sum(where=kind == "R"),
        wasted_after_stop=cost.effective_cost.sum(where=kind == "S"),
    )


def _assemble(base: ir.Table, spent: ir.Table, stale_before: datetime) -> ir.Table:
    """Join each run's window, early stop and activity to its costs: the ledger rows."""
    t = base.left_join(spent, [("window_id", "c_run")])
    return t.select(
        run_id=t.window_id,
        run_name=t.run_name,
        experiment=t.experiment,
        team=t.team.fill_null(t.r_team),
        project=t.project,
        model=t.model.fill_null(t.r_model),
        user=t.user,
        status=t.status,
        outcome=_outcome(t.status.upper(), t.start, t.last_metric_at, stale_before),
        resource_id=t.resource_id,
        start=t.start,
        end=t.end,
        hours=((t.end.epoch_seconds() - t.start.epoch_seconds()) / 3600).cast(_FLOAT).round(6),
        gpu_share=t.share,
        effective_cost=t.effective_cost,
        cost_basis=_basis(t.resource_id, t.effective_cost, t.share),
        evaluations=t.evaluations.fill_null(0),
        last_metric_at=t.last_metric_at,
        early_stop_at=t.early_stop_at,
        stop_confirmed_at=t.stop_confirmed_at,
        wasted_after_stop=t.wasted_after_stop,
    ).order_by(ibis.desc("effective_cost"), "start", "run_id")


def _outcome(
    status: ir.StringValue,
    start: ir.TimestampValue,
    last_metric: ir.TimestampValue,
    stale_before: datetime,
) -> ir.StringValue:
    last = ibis.greatest(start, last_metric.fill_null(start))
    return ibis.cases(
        (status == "FINISHED", "finished"),
        (status == "FAILED", "failed"),
        (status == "KILLED", "killed"),
        (last < ibis.literal(stale_before), "abandoned"),
        else_="running",
    )


def _basis(
    resource: ir.StringValue, cost: ir.DecimalValue, share: ir.FloatingValue
) -> ir.StringValue:
    return ibis.cases(
        (resource.isnull(), NO_LINK_BASIS),
        (cost.isnull(), NO_COST_BASIS),
        (share.isnull(), WHOLE_BASIS),
        else_=COST_BASIS,
    )


def experiment_summary(ledger: ir.Table) -> ir.Table:
    """Return per experiment (:data:`SUMMARY_COLUMNS`): runs by outcome, hours, cost, the
    cost of failed, killed and abandoned runs, and the cost after early stops."""
    zero = ibis.literal(Decimal(0), type=DEC)
    cost = ledger.effective_cost

    def cost_of(outcome: str) -> ir.DecimalValue:
        return cost.sum(where=ledger.outcome == outcome).cast(DEC).fill_null(zero)

    counts = {o: ledger.count(where=ledger.outcome == o) for o in OUTCOMES}
    return (
        ledger.group_by("experiment")
        .aggregate(
            runs=ledger.count(),
            **counts,
            hours=ledger.hours.sum().round(6),
            effective_cost=cost.sum().cast(DEC).fill_null(zero),
            failed_cost=cost_of("failed"),
            killed_cost=cost_of("killed"),
            abandoned_cost=cost_of("abandoned"),
            early_stop_waste=ledger.wasted_after_stop.sum().cast(DEC).fill_null(zero),
        )
        .order_by(ibis.desc("effective_cost"), "experiment")
    )


def _link_hosts(windows: ir.Table, telemetry: ir.Table) -> ir.Table:
    """Fill a missing ``resource_id`` from the telemetry of the run's host: the resource
    that host reported for longest during the run (else the nearest in time)."""
    seen = (
        telemetry.filter(telemetry.host.notnull(), telemetry.resource_id.notnull())
        .group_by(t_host=telemetry.host, t_resource=telemetry.resource_id)
        .aggregate(seen_from=telemetry.timestamp.min(), seen_to=telemetry.timestamp.max())
    )
    pairs = windows.left_join(seen, [windows.host == seen.t_host, windows.resource_id.isnull()])
    lo = ibis.greatest(pairs.seen_from, pairs.start).epoch_seconds()
    hi = ibis.least(pairs.seen_to, pairs.end).epoch_seconds()
    rank = ibis.row_number().over(
        group_by=pairs.window_id, order_by=[ibis.desc(hi - lo), pairs.t_resource]
    )
    ranked = pairs.mutate(pick=rank)
    best = ranked.filter(ranked.pick == 0)
    return best.select(
        *[best[c] for c in windows.columns if c != "resource_id"],
        resource_id=best.resource_id.fill_null(best.t_resource),
    )


def _resource_facts(costs: ir.Table | None, telemetry: ir.Table | None) -> list[ir.Table]:
    """Return per-resource facts: from the cost rows ``c_gpus``, ``r_team`` and ``r_model``;
    from telemetry ``t_gpus`` (distinct host + GPU). Cost rows win where both know the GPU
    count.

    ``c_gpus`` is the most GPUs the resource ran at once: per cost row, accelerator-hours ÷
    the charge period's hours (an Azure scale set of 4 × 8 GPUs billed per day: 768 ÷ 24 =
    32), not the row's ``x_GpuCount`` (8, per instance).
    """
    facts = []
    if costs is not None:
        rows = costs.filter(costs.ResourceId.notnull())
        hours = (
            rows.ChargePeriodEnd.epoch_seconds() - rows.ChargePeriodStart.epoch_seconds()
        ) / 3600
        running = ibis.ifelse(
            hours > 0, rows.x_AcceleratorHours.cast(_FLOAT) / hours, ibis.null(_FLOAT)
        ).round(6)
        facts.append(
            rows.group_by(f_resource=rows.ResourceId).aggregate(
                c_gpus=ibis.coalesce(running.max(), rows.x_GpuCount.max().cast(_FLOAT)),
                r_team=rows.x_Team.max(),
                r_model=rows.x_Model.max(),
            )
        )
    if telemetry is not None:
        rows = telemetry.filter(telemetry.resource_id.notnull())
        gpu = rows.host.fill_null("").concat("/", rows.gpu_uuid.fill_null(rows.gpu_index.cast(str)))
        facts.append(
            rows.group_by(f_resource=rows.resource_id).aggregate(t_gpus=gpu.nunique().cast(_FLOAT))
        )
    return facts
