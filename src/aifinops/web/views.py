"""What each dashboard route answers, as plain dicts and lists (no HTTP here).

Every function calls the library (:mod:`aifinops.analyze`, :mod:`aifinops.allocate`,
:mod:`aifinops.focus.validate`, :mod:`aifinops.lake.sources`); sums run in the engine and
money stays :class:`~decimal.Decimal` until :func:`jsonable` turns it into exact strings.
The overview lives in :mod:`aifinops.web.views_overview`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from aifinops.analyze import DIMENSIONS, Period, gpu_report, spend
from aifinops.analyze.report_rows import ratio, total
from aifinops.analyze.spend import MEASURES, in_period
from aifinops.analyze.summary import on_summary, summary_table
from aifinops.catalog import Catalog
from aifinops.errors import BadInputError
from aifinops.lake import Engine, Lake
from aifinops.render import decimal_text

Row = dict[str, Any]
#: One explore filter: a dimension and the text it must equal (None: the value is empty).
Filter = tuple[str, str | None]
#: What ``/api/v1/teams`` may group by.
TEAM_OWNERS = ("team", "project", "model")


def jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-ready data: Decimals as exact strings, times as ISO 8601."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def period_label(period: Period | None) -> str:
    """Return ``2026-08..2026-10`` or ``all``."""
    return period.label() if period else "all"


def parse_filters(texts: Sequence[str]) -> list[Filter]:
    """Parse ``dim:value`` filters; ``dim:`` (empty value) keeps rows where ``dim`` is empty.

    Raises:
        BadInputError: for a filter without ``:`` or with an unknown dimension.
    """
    filters: list[Filter] = []
    for text in texts:
        name, colon, value = text.partition(":")
        if not colon or name not in DIMENSIONS:
            raise BadInputError(
                f"bad filter {text!r}",
                column="filter",
                expected=f"dimension:value with a dimension among {', '.join(DIMENSIONS)}",
                fix="for example filter=provider:AWS (filter=team: keeps rows without a team).",
            )
        filters.append((name, value if value else None))
    return filters


def filtered(costs: ir.Table, filters: Sequence[Filter]) -> ir.Table:
    """Keep rows matching every dimension's filters (one of its values; values compare as text)."""
    wanted: dict[str, list[str | None]] = {}
    for name, value in filters:
        wanted.setdefault(name, []).append(value)
    for name, values in wanted.items():
        column = DIMENSIONS[name](costs)
        texts = [v for v in values if v is not None]
        keep: ir.BooleanValue = ibis.literal(False)
        if texts:
            keep = keep | column.cast("string").isin(texts).fill_null(False)
        if None in values:
            keep = keep | column.isnull()
        costs = costs.filter(keep)
    return costs


def meta(lake: Lake) -> Row:
    """Return the lake's name, version, months and providers, and the API's dimensions."""
    manifests = lake.manifests()
    return {
        "lake": str(lake.root),
        "version": lake.version(),
        "months": sorted({m.billing_period for m in manifests}),
        "dimensions": list(DIMENSIONS),
        "measures": list(MEASURES),
        "providers": sorted({m.provider_name for m in manifests}),
    }


def explore(
    engine: Engine,
    *,
    by: Sequence[str],
    filters: Sequence[Filter] = (),
    period: Period | None = None,
    measure: str = "effective_cost",
    limit: int = 100,
) -> Row:
    """Return spend by ``by`` with ``filters``, largest ``measure`` first, and the total.

    ``rows`` holds at most ``limit`` groups; ``total`` covers every row that matched, and
    ``groups`` counts every group (so ``truncated`` tells when some were left out).
    """
    return on_summary(
        engine,
        lambda table: _explore(engine, table, by, filters, period, measure=measure, limit=limit),
    )


def _explore(
    engine: Engine,
    table: ir.Table,
    by: Sequence[str],
    filters: Sequence[Filter],
    period: Period | None,
    *,
    measure: str,
    limit: int,
) -> Row:
    costs = filtered(table, filters)
    rolled = spend(costs, by=by, period=period)
    if by:
        rolled = rolled.order_by([ibis.desc(measure), *by])
    rows = engine.execute(rolled.limit(limit)).to_pylist()
    totals = engine.execute(spend(costs, by=[], period=period)).to_pylist()
    groups = engine.execute(rolled.count().as_table()).to_pylist() if by else [{"n": 1}]
    count = int(next(iter(groups[0].values())))
    return {
        "by": list(by),
        "period": period_label(period),
        "measure": measure,
        "filters": [f"{name}:{value or ''}" for name, value in filters],
        "columns": [*by, *MEASURES],
        "rows": rows,
        "total": totals[0] if totals else dict.fromkeys(MEASURES),
        "groups": count,
        "truncated": count > len(rows),
    }


def gpus(engine: Engine, catalog: Catalog, *, period: Period | None = None) -> Row:
    """Return the GPU report: usage rows beside catalog prices, cheapest offers, notes."""
    report = on_summary(engine, lambda t: gpu_report(t, engine.execute, catalog, period=period))
    return {
        "period": period_label(period),
        "rows": report.rows,
        "cheapest": report.cheapest,
        "notes": list(report.notes),
    }


def teams(engine: Engine, config: Any, *, by: str = "team", period: Period | None = None) -> Row:
    """Return showback per owner over ``period`` (direct + shared pools) with GPU unit costs.

    Args:
        engine: the engine over the lake.
        config: the :class:`~aifinops.allocate.AllocationConfig` whose shared pools apply;
            owners are read as stored in the lake (allocated at ingest).
        by: ``team``, ``project`` or ``model``.
        period: billing months to include.
    """
    from aifinops.allocate import OWNER_COLUMNS, split_shared

    # NOTE: owners as stored (allocated at ingest), as explore shows them; only the pools
    # of the config in force are applied here.
    # NOTE: pool rules may read any column (tags too, which the summary leaves out and the
    # rules read as empty when missing), so only a config without pools uses the summary.
    costs = engine.costs() if config.shared or not engine.summaries else summary_table(engine)
    result = split_shared(costs, list(config.shared), by=by, period=period, execute=engine.execute)
    t = in_period(costs, period)
    gpu = t.filter(t.x_AcceleratorHours.notnull())
    usage = gpu.group_by(owner=gpu[OWNER_COLUMNS[by]]).aggregate(
        accelerator_hours=gpu.x_AcceleratorHours.sum(), accelerator_cost=gpu.EffectiveCost.sum()
    )
    hours = {r["owner"]: r for r in engine.execute(usage).to_pylist()}
    sums: dict[str | None, dict[str, list[Decimal]]] = {}
    for o in result.owners:
        entry = sums.setdefault(o.owner, {"direct": [], "shared": []})
        entry["direct"].append(o.direct_cost)
        entry["shared"].append(o.shared_cost)
    rows = []
    for owner, entry in sums.items():
        direct = total([{"v": v} for v in entry["direct"]], "v") or Decimal(0)
        shared = total([{"v": v} for v in entry["shared"]], "v") or Decimal(0)
        used = hours.get(owner, {})
        rows.append(
            {
                "owner": owner,
                "direct_cost": direct,
                "shared_cost": shared,
                "total_cost": direct + shared,
                "accelerator_hours": used.get("accelerator_hours"),
                "usd_per_gpu_hour": ratio(
                    used.get("accelerator_cost"), used.get("accelerator_hours")
                ),
            }
        )
    rows.sort(key=lambda r: (-r["total_cost"], r["owner"] is None, r["owner"] or ""))
    return {"by": by, "period": period_label(period), "rows": rows, "pools": result.pool_rows()}


def data_status(lake: Lake, engine: Engine) -> Row:
    """Return the lake's partitions, each one's reconciliation with the engine, and validation.

    A partition is ``reconciled`` when the engine's row count and billed / effective sums
    over its rows equal its manifest's (written when the partition was reconciled at ingest).
    """
    from aifinops.focus.validate import validate
    from aifinops.lake.sources import source_rows

    partitions = source_rows(lake)
    t = engine.costs()
    sums = t.group_by(
        provider=t.ProviderName,
        billing_account=t.BillingAccountId,
        billing_period=t.BillingPeriodStart.strftime("%Y-%m"),
    ).aggregate(
        rows=t.count(), billed_cost=t.BilledCost.sum(), effective_cost=t.EffectiveCost.sum()
    )
    found = {
        (r["provider"], r["billing_account"], r["billing_period"]): r
        for r in engine.execute(sums).to_pylist()
    }
    reconciliation = []
    for part in partitions:
        key = (part["provider"], part["billing_account"], part["billing_period"])
        seen = found.get(key, {})
        same = all(seen.get(k) == part[k] for k in ("rows", "billed_cost", "effective_cost"))
        reconciliation.append(
            {
                "provider": part["provider"],
                "billing_account": part["billing_account"],
                "billing_period": part["billing_period"],
                "rows": part["rows"],
                "billed_cost": part["billed_cost"],
                "effective_cost": part["effective_cost"],
                "lake_rows": seen.get("rows", 0),
                "lake_billed_cost": seen.get("billed_cost"),
                "lake_effective_cost": seen.get("effective_cost"),
                "status": "reconciled" if same else "mismatch",
            }
        )
    report = validate(t, execute=engine.execute)
    validation = {
        "ok": report.ok,
        "rows_checked": report.rows_checked,
        "violations": report.to_rows(),
        "skipped": list(report.skipped),
    }
    return {"partitions": partitions, "reconciliation": reconciliation, "validation": validation}
