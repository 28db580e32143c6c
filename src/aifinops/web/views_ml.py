"""What the ML routes answer: unit costs, the run ledger and GPU waste (no HTTP here).

Thin callers of :mod:`aifinops.analyze.units`, :mod:`aifinops.analyze.runs`,
:mod:`aifinops.analyze.early_stop` and :mod:`aifinops.analyze.waste`, over the lake's signal
tables (``Engine.signals``) and its cost rows. Money stays :class:`~decimal.Decimal` until
:func:`aifinops.web.views.jsonable` writes it as exact strings.

One addition to what the CLI reports do: the dashboard's telemetry (:func:`ml_telemetry`)
names a sample's GPU model from the bill (``x_GpuModel`` of the sample's resource) where the
telemetry source did not report it, so waste and utilisation *by model* name the model
however the telemetry was collected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.analyze import Period
from aifinops.analyze.early_stop import metric_plateaus
from aifinops.analyze.phases import STATES, WASTE_STATES, WasteThresholds, samples_in
from aifinops.analyze.report_rows import Execute, total
from aifinops.analyze.runs import (
    LEDGER_COLUMNS,
    OUTCOMES,
    experiment_summary,
    run_ledger,
    run_windows,
)
from aifinops.analyze.unit_figures import FIGURES
from aifinops.analyze.units import unit_costs
from aifinops.analyze.waste import (
    WASTE_MEASURES,
    gpu_waste,
    idle_gpu_share,
    power_facts,
    segment_rows,
    telemetry_models,
    waste_report,
)
from aifinops.catalog import Catalog
from aifinops.lake import Engine, Lake
from aifinops.web.views import Row, period_label

#: The early-stop rule the Runs page applies (``aifinops report runs``'s defaults).
TARGET_METRIC, MODE, PATIENCE, MIN_DELTA = "loss", "min", 5, 0.0
ABANDONED_AFTER = timedelta(hours=6)
#: The name the drawn ledger is exposed to the engine under.
LEDGER_TABLE = "aifinops_web_run_ledger"


def threshold_rows(thresholds: WasteThresholds) -> list[Row]:
    """Return each threshold's name, value and what it means."""
    fields = type(thresholds).model_fields
    return [
        {"name": name, "value": getattr(thresholds, name), "meaning": field.description or ""}
        for name, field in fields.items()
    ]


def has_signals(lake: Lake, table: str) -> bool:
    """Return True when signal table ``table`` has an imported partition."""
    from aifinops.signals.store import signal_files

    return bool(signal_files(lake, table))


def ml_telemetry(engine: Engine) -> ir.Table:
    """Return the telemetry with ``gpu_model`` filled from the bill where it is missing."""
    telemetry, costs = engine.signals("telemetry"), engine.costs()
    rows = costs.filter(costs.ResourceId.notnull() & costs.x_GpuModel.notnull())
    models = rows.group_by(b_resource=rows.ResourceId).aggregate(b_model=rows.x_GpuModel.max())
    j = telemetry.left_join(models, telemetry.resource_id == models.b_resource)
    filled = j.gpu_model.fill_null(j.b_model).name("gpu_model")
    return j.select(*[filled if c == "gpu_model" else j[c] for c in telemetry.columns])


# ---------------------------------------------------------------- unit costs


def units(engine: Engine, *, by: Sequence[str], grain: str | None, period: Period | None) -> Row:
    """Return ``aifinops report units``: cost per unit of work by ``by`` and period, each
    figure with its formula."""
    report = unit_costs(
        engine.costs(),
        engine.signals("metrics"),
        engine.execute,
        by=by,
        grain=grain,
        period=period,
    )
    per = {f.column: (f.metric, f.per) for f in FIGURES}
    per["usd_per_gpu_hour"] = ("gpu_hours", "GPU-hour")
    per["usd_per_1k_requests_all_hours"] = ("requests", "1,000 requests, every hour")
    figures = [
        {"column": column, "unit": unit, "per": text, "formula": report.formulas.get(column, "")}
        for column, (unit, text) in per.items()
    ]
    return {
        "by": list(by),
        "grain": grain or "none",
        "period": period_label(period),
        "basis": report.basis,
        "metrics": has_signals(engine.lake, "metrics"),
        "columns": list(report.columns),
        "rows": report.rows,
        "figures": figures,
        "notes": list(report.notes),
    }


# ---------------------------------------------------------------- runs


def _run_start_in(ledger: ir.Table, period: Period | None) -> ir.Table:
    if period is None:
        return ledger
    return ledger.filter(ledger.start.strftime("%Y-%m").between(period.first, period.last))


def runs(
    engine: Engine,
    *,
    outcomes: Sequence[str] = (),
    experiment: str | None = None,
    period: Period | None = None,
    now: datetime | None = None,
) -> Row:
    """Return the run ledger (``aifinops report runs``) of runs started in ``period`` with
    ``outcomes`` in ``experiment``; per experiment, by outcome; and the early-stop list.

    Args:
        engine: the engine over the lake.
        outcomes: outcomes to keep (:data:`~aifinops.analyze.runs.OUTCOMES`; none = all).
        experiment: the one experiment to keep (None = all).
        period: months the runs started in.
        now: the end of unfinished runs (default: now, to the second).
    """
    now = now or datetime.now(UTC).replace(microsecond=0)
    costs, telemetry = engine.costs(), engine.signals("telemetry")
    whole = run_ledger(
        costs,
        engine.signals("runs"),
        engine.signals("run_metrics"),
        telemetry,
        now=now,
        abandoned_after=ABANDONED_AFTER,
        target_metric=TARGET_METRIC,
        mode=MODE,
        patience=PATIENCE,
        min_delta=MIN_DELTA,
    )
    # NOTE: the ledger is one costly query; the filters and sums below run in the engine
    # over its rows (a small table), not over the whole ledger expression again.
    drawn = engine.execute(whole)
    ledger = _run_start_in(engine.table(LEDGER_TABLE, drawn), period)
    if experiment is not None:
        ledger = ledger.filter(ledger.experiment == experiment)
    if outcomes:
        ledger = ledger.filter(ledger.outcome.isin(list(outcomes)))
    split = ledger.group_by("experiment", "outcome").aggregate(
        runs=ledger.count(), effective_cost=ledger.effective_cost.sum()
    )
    ordered = ledger.order_by(ibis.desc("effective_cost"), "start", "run_id")
    rows = engine.execute(ordered).to_pylist()
    # Usage-metric sessions have neither an experiment nor an outcome: listed unfiltered.
    sessions = [] if experiment or outcomes else _plateaus(engine, now, period)
    names = {n for n in drawn.column("experiment").to_pylist() if n is not None}
    return {
        "as_of": now,
        "period": period_label(period),
        "outcomes": list(outcomes),
        "experiment": experiment,
        "runs_imported": has_signals(engine.lake, "runs"),
        "experiment_names": sorted(names),
        "columns": list(LEDGER_COLUMNS),
        "rows": rows,
        "experiments": engine.execute(experiment_summary(ledger)).to_pylist(),
        "by_outcome": sorted(
            engine.execute(split).to_pylist(),
            key=lambda r: (str(r["experiment"]), OUTCOMES.index(r["outcome"])),
        ),
        "early_stops": early_stops(rows, sessions),
        "rule": {
            "metric": TARGET_METRIC,
            "mode": MODE,
            "patience": PATIENCE,
            "min_delta": MIN_DELTA,
            "abandoned_after_hours": ABANDONED_AFTER.total_seconds() / 3600,
        },
    }


def _plateaus(engine: Engine, now: datetime, period: Period | None) -> list[Row]:
    """Return the plateaus of usage-metric loss no MLflow run covers, started in ``period``."""
    costs, runs = engine.costs(), engine.signals("runs")
    covered = run_windows(runs, engine.signals("telemetry"), costs=costs, now=now)
    plateaus = metric_plateaus(
        costs,
        engine.signals("metrics"),
        metric=TARGET_METRIC,
        mode=MODE,
        patience=PATIENCE,
        min_delta=MIN_DELTA,
        covered=covered,
    )
    rows: list[Row] = engine.execute(plateaus).to_pylist()
    if period is None:
        return rows
    return [r for r in rows if period.first <= f"{r['session_start']:%Y-%m}" <= period.last]


def early_stops(ledger: Sequence[Row], plateaus: Sequence[Row]) -> list[Row]:
    """Return every run and usage-metric session that kept going after it stopped
    improving, the costliest waste first."""
    found = [
        {
            "source": "run",
            "name": r["run_name"] or r["run_id"],
            "experiment": r["experiment"],
            "team": r["team"],
            "model": r["model"],
            "resource_id": r["resource_id"],
            "early_stop_at": r["early_stop_at"],
            "end": r["end"],
            "effective_cost": r["effective_cost"],
            "wasted_after_stop": r["wasted_after_stop"],
        }
        for r in ledger
        if r["early_stop_at"] is not None
    ]
    found += [
        {
            "source": "usage metrics",
            "name": p["run_id"] or p["resource_id"],
            "experiment": None,
            "team": p["team"],
            "model": p["model"],
            "resource_id": p["resource_id"],
            "early_stop_at": p["early_stop_at"],
            "end": p["session_end"],
            "effective_cost": p["effective_cost"],
            "wasted_after_stop": p["wasted_after_stop"],
        }
        for p in plateaus
    ]
    return sorted(found, key=lambda r: (-(r["wasted_after_stop"] or Decimal(0)), str(r["name"])))


# ---------------------------------------------------------------- GPU waste


def resources(telemetry: ir.Table, execute: Execute, period: Period | None) -> list[Row]:
    """Return each resource (else host) in the telemetry: hosts, GPUs, samples, first, last."""
    t = samples_in(telemetry, period)
    gpu = ibis.coalesce(t.gpu_uuid, t.host.fill_null("") + ":" + t.gpu_index.cast("string"))
    expr = t.group_by(resource=ibis.coalesce(t.resource_id, t.host)).aggregate(
        hosts=t.host.nunique(),
        gpus=gpu.nunique(),
        samples=t.count(),
        first=t.timestamp.min(),
        last=t.timestamp.max(),
    )
    rows: list[Row] = execute(expr.order_by("resource")).to_pylist()
    return rows


def waste(
    engine: Engine,
    catalog: Catalog,
    thresholds: WasteThresholds,
    *,
    by: Sequence[str],
    period: Period | None,
) -> Row:
    """Return ``aifinops report waste``: idle, zombie and under-used GPU-hours, cost and
    energy by ``by``; every state's total; the thresholds; the resources for the timeline."""
    telemetry = ml_telemetry(engine)
    report = waste_report(
        telemetry,
        engine.execute,
        engine.costs(),
        by=by,
        thresholds=thresholds,
        catalog=catalog,
        period=period,
    )
    return {
        "by": list(by),
        "period": period_label(period),
        "telemetry": has_signals(engine.lake, "telemetry"),
        "columns": [*by, "state", *WASTE_MEASURES],
        "rows": report.rows,
        "totals": report.totals,
        "notes": list(report.notes),
        "thresholds": threshold_rows(thresholds),
        "resources": resources(telemetry, engine.execute, period),
    }


def segments(
    engine: Engine,
    catalog: Catalog,
    thresholds: WasteThresholds,
    resource: str,
    period: Period | None,
) -> Row:
    """Return every priced segment (state by time, per GPU) of one resource (or host)."""
    telemetry = ml_telemetry(engine)
    mine = telemetry.filter(ibis.coalesce(telemetry.resource_id, telemetry.host) == resource)
    rows = segment_rows(
        mine, engine.execute, engine.costs(), catalog=catalog, thresholds=thresholds, period=period
    )
    return {"resource": resource, "period": period_label(period), "segments": rows}


def first_segments(answer: Row, limit: int) -> Row:
    """Return :func:`segments`' answer with at most ``limit`` segments, ``count`` (all of
    them) and ``truncated``."""
    rows = answer["segments"]
    return {**answer, "segments": rows[:limit], "count": len(rows), "truncated": len(rows) > limit}


def utilisation(
    engine: Engine, catalog: Catalog, thresholds: WasteThresholds, *, period: Period | None
) -> Row:
    """Return per GPU model: observed GPU-hours by state, the waste share and cost, energy
    and the mean utilisation of the samples (empty without telemetry)."""
    if not has_signals(engine.lake, "telemetry"):
        return {"period": period_label(period), "telemetry": False, "rows": []}
    telemetry, execute = ml_telemetry(engine), engine.execute
    power = power_facts(catalog, telemetry_models(telemetry, execute))
    table = gpu_waste(
        telemetry, engine.costs(), by=["model"], thresholds=thresholds, power=power, period=period
    )
    t = samples_in(telemetry, period)
    means = execute(t.group_by(model=t.gpu_model).aggregate(mean_util_pct=t.gpu_util_pct.mean()))
    mean_of = {r["model"]: r["mean_util_pct"] for r in means.to_pylist()}
    by_model: dict[str | None, list[Row]] = {}
    for row in execute(table).to_pylist():
        by_model.setdefault(row["model"], []).append(row)
    rows = [_utilisation_row(m, r, mean_of.get(m)) for m, r in by_model.items()]
    rows.sort(key=lambda r: (-r["gpu_hours"], str(r["model"])))
    return {"period": period_label(period), "telemetry": True, "rows": rows}


def _utilisation_row(model: str | None, rows: list[Row], mean: float | None) -> Row:
    hours = {s: sum(r["gpu_hours"] for r in rows if r["state"] == s) for s in STATES}
    whole = sum(hours.values())
    wasted = [r for r in rows if r["state"] in WASTE_STATES]
    energy = [r["energy_kwh"] for r in rows if r["energy_kwh"] is not None]
    return {
        "model": model,
        "gpu_hours": whole,
        **{f"{s}_hours": hours[s] for s in STATES},
        "waste_share": sum(hours[s] for s in WASTE_STATES) / whole if whole else None,
        "waste_cost": total(wasted, "cost"),
        "energy_kwh": sum(energy) if energy else None,
        "mean_util_pct": mean,
    }


def idle_share(engine: Engine, thresholds: WasteThresholds, period: Period | None) -> float | None:
    """Return the share (0-1) of observed GPU-hours idle or zombie; None without telemetry."""
    if not has_signals(engine.lake, "telemetry") or not _telemetry_in(engine.lake, period):
        return None
    pct = idle_gpu_share(
        engine.signals("telemetry"), engine.execute, thresholds=thresholds, period=period
    )
    return None if pct is None else pct / 100.0


def _telemetry_in(lake: Lake, period: Period | None) -> bool:
    """Return False when no telemetry partition has samples in ``period`` (by the months of
    its manifest's first and last sample): nothing to ask the engine."""
    from aifinops.signals.store import signal_manifests

    if period is None:
        return True
    for m in signal_manifests(lake, "telemetry"):
        if m.min_timestamp and m.max_timestamp:
            if m.min_timestamp[:7] <= period.last and period.first <= m.max_timestamp[:7]:
                return True
    return False
