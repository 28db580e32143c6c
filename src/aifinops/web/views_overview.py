"""The overview route's answer: totals, trend by cloud, AI share, top movers and KPIs.

Cost figures come from the lake's daily summary (:mod:`aifinops.analyze.summary`), which
gives the same sums as the raw rows from a table ~25× smaller.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ibis.expr.types as ir

from aifinops.analyze import Period, gpu_usage, spend
from aifinops.analyze.phases import WasteThresholds
from aifinops.analyze.report_rows import ratio, total
from aifinops.analyze.summary import on_summary
from aifinops.lake import Engine
from aifinops.web.views import Row, period_label
from aifinops.web.views_ml import has_signals, idle_share

#: How many services the movers list keeps (largest absolute change first).
MOVERS = 5
_TOTALS = ("billed_cost", "effective_cost", "list_cost", "savings")


def overview(
    engine: Engine, *, period: Period | None = None, thresholds: WasteThresholds | None = None
) -> Row:
    """Return the overview of ``period``: totals, monthly trend per provider, the
    accelerator share, the top movers (last month vs the one before) and the KPIs
    (``thresholds`` classify GPU telemetry for the idle-GPU share)."""
    return on_summary(engine, lambda costs: _overview(engine, costs, period, thresholds))


def _overview(
    engine: Engine, costs: ir.Table, period: Period | None, thresholds: WasteThresholds | None
) -> Row:
    whole = engine.execute(spend(costs, by=[], period=period)).to_pylist()
    totals = {k: whole[0][k] if whole else None for k in _TOTALS}
    trend_rows = engine.execute(spend(costs, by=["month", "provider"], period=period)).to_pylist()
    trend = sorted(
        ({k: r[k] for k in ("month", "provider", "effective_cost")} for r in trend_rows),
        key=lambda r: (r["month"], r["provider"] or ""),
    )
    kinds = engine.execute(spend(costs, by=["accelerator_kind"], period=period)).to_pylist()
    accelerator = total([r for r in kinds if r["accelerator_kind"] is not None], "effective_cost")
    return {
        "period": period_label(period),
        "totals": totals,
        "trend": trend,
        "ai": _ai(accelerator, totals["effective_cost"], kinds),
        "movers": movers(engine, costs, sorted({r["month"] for r in trend_rows})),
        "kpis": kpis(engine, costs, period=period, totals=totals, thresholds=thresholds),
    }


def _ai(accelerator: Decimal | None, total_cost: Decimal | None, kinds: list[Row]) -> Row:
    share = None
    if accelerator is not None and total_cost:
        share = float(accelerator / total_cost)
    return {
        "accelerator_cost": accelerator or Decimal(0),
        "total_cost": total_cost,
        "share": share,
        "by_kind": [
            {"accelerator_kind": r["accelerator_kind"], "effective_cost": r["effective_cost"]}
            for r in kinds
            if r["accelerator_kind"] is not None
        ],
    }


def previous_month(month: str) -> str:
    """Return the month before ``YYYY-MM``."""
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def movers(engine: Engine, costs: ir.Table, months: list[str]) -> list[Row]:
    """Return the services whose effective cost in ``costs`` (raw rows or their summary)
    changed most from the month before the last of ``months`` to the last, largest absolute
    change first (at most :data:`MOVERS`)."""
    if not months:
        return []
    current = months[-1]
    before = previous_month(current)
    expr = spend(costs, by=["month", "service", "provider"], period=Period(before, current))
    cost: dict[tuple[Any, Any], dict[str, Decimal]] = {}
    for r in engine.execute(expr).to_pylist():
        cost.setdefault((r["service"], r["provider"]), {})[r["month"]] = r["effective_cost"]
    rows = []
    for (service, provider), by_month in cost.items():
        prev, now = by_month.get(before, Decimal(0)), by_month.get(current, Decimal(0))
        rows.append(
            {
                "service": service,
                "provider": provider,
                "previous_month": before,
                "current_month": current,
                "previous": prev,
                "current": now,
                "change": now - prev,
            }
        )
    rows.sort(key=lambda r: (-abs(r["change"]), r["service"] or "", r["provider"] or ""))
    return rows[:MOVERS]


def kpis(
    engine: Engine,
    costs: ir.Table,
    *,
    period: Period | None,
    totals: Row,
    thresholds: WasteThresholds | None = None,
) -> Row:
    """Return the allocatable share, effective savings rate, idle-GPU share and effective
    $/GPU-hour of ``costs`` (raw rows or their summary).

    ``allocatable_share``: the share of effective cost whose team is known (tag coverage).
    ``effective_savings_rate``: savings ÷ list cost. ``idle_gpu_share``: the share of the
    GPU-hours observed in telemetry spent idle or zombie
    (:func:`aifinops.analyze.waste.idle_gpu_share`), null without telemetry; ``telemetry``
    says whether any was imported. ``usd_per_gpu_hour``: effective cost of accelerator
    rows ÷ their accelerator-hours (exact string).
    """
    from aifinops.allocate import tag_coverage

    coverage = engine.execute(tag_coverage(costs, by=[], period=period)).to_pylist()
    usage = engine.execute(gpu_usage(costs, period=period)).to_pylist()
    hours, cost = total(usage, "accelerator_hours"), total(usage, "effective_cost")
    savings, listed = totals.get("savings"), totals.get("list_cost")
    return {
        "allocatable_share": coverage[0]["cost_share"] if coverage else None,
        "effective_savings_rate": float(savings / listed)
        if savings is not None and listed
        else None,
        "idle_gpu_share": idle_share(engine, thresholds or WasteThresholds(), period),
        "telemetry": has_signals(engine.lake, "telemetry"),
        "usd_per_gpu_hour": ratio(cost, hours),
    }
