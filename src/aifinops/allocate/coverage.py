"""Tag coverage: the share of spend (and of rows) whose owners are known.

A row is *allocatable* when every required owner field (``team`` by default) is non-null
after tag aliases and allocation rules. The KPI is the allocatable share of EffectiveCost by
cloud, account, team or any other spend dimension; the untagged spenders are the biggest
resources and services that are not allocatable.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from aifinops.allocate.config import OWNER_COLUMNS, AllocationConfig
from aifinops.allocate.ownership import owners
from aifinops.analyze.spend import DIMENSIONS, Period, in_period, parse_dimensions
from aifinops.analyze.summary import row_count, rows_where
from aifinops.errors import BadInputError

COVERAGE_MEASURES = (
    "rows",
    "allocatable_rows",
    "effective_cost",
    "allocatable_cost",
    "unallocated_cost",
    "cost_share",
    "row_share",
)
UNTAGGED_BY = ("provider", "subaccount", "service", "resource")
UNTAGGED_MEASURES = ("rows", "effective_cost")


def parse_required(text: str | Sequence[str]) -> list[str]:
    """Parse ``team,project`` into owner field names.

    Raises:
        BadInputError: naming the unknown field and listing the owner fields.
    """
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in OWNER_COLUMNS]
    if unknown or not names:
        raise BadInputError(
            f"unknown owner field {unknown[0]!r}" if unknown else "no owner field given",
            column="--required",
            expected=f"owner fields among {', '.join(OWNER_COLUMNS)}",
            fix="for example --required team or --required team,project.",
        )
    return names


def allocatable(t: ir.Table, required: Sequence[str]) -> ir.BooleanValue:
    """Return true where every required owner field of the row is known."""
    known: ir.BooleanValue = ibis.literal(True)
    for field in required:
        column = OWNER_COLUMNS[field]
        known = known & (t[column].notnull() if column in t.columns else ibis.literal(False))
    return known


def tag_coverage(
    costs: ir.Table,
    *,
    by: Sequence[str] = ("provider",),
    required: Sequence[str] = ("team",),
    period: Period | None = None,
    config: AllocationConfig | None = None,
) -> ir.Table:
    """Return the allocatable share of EffectiveCost and of rows, by ``by``.

    Args:
        costs: cost rows.
        by: spend dimensions (:data:`aifinops.analyze.DIMENSIONS`), e.g. provider, account.
        required: owner fields a row needs to be allocatable.
        period: billing months to include.
        config: when given, owners are derived first with it (else read as stored).

    The shares are floats (a ratio, not money), null where the group's cost is zero; the
    Decimal sums beside them are exact.
    """
    dims, fields = parse_dimensions(by), parse_required(required)
    t = _prepared(costs, config, period)
    ok = allocatable(t, fields)
    groups = {name: DIMENSIONS[name](t) for name in dims}
    metrics = {
        "rows": row_count(t),
        "allocatable_rows": rows_where(t, ok),
        "effective_cost": t.EffectiveCost.sum(),
        "allocatable_cost": t.EffectiveCost.sum(where=ok),
    }
    rolled = t.group_by(**groups).aggregate(**metrics) if groups else t.aggregate(**metrics)
    allocated = rolled.allocatable_cost.fill_null(0)
    total = rolled.effective_cost
    rolled = rolled.mutate(
        allocatable_cost=allocated,
        unallocated_cost=total - allocated,
        cost_share=allocated.cast("float64") / total.cast("float64").nullif(0.0),
        row_share=rolled.allocatable_rows.cast("float64") / rolled.rows.cast("float64"),
    )
    ordered = rolled.select(*dims, *COVERAGE_MEASURES)
    return ordered.order_by([ibis.desc("effective_cost"), *dims]) if dims else ordered


def untagged_spenders(
    costs: ir.Table,
    *,
    limit: int = 20,
    by: Sequence[str] = UNTAGGED_BY,
    required: Sequence[str] = ("team",),
    period: Period | None = None,
    config: AllocationConfig | None = None,
) -> ir.Table:
    """Return the biggest spenders that are not allocatable, largest EffectiveCost first.

    Args:
        costs: cost rows.
        limit: how many to return (0: all).
        by: what a spender is: spend dimensions, resources by default.
        required: owner fields a row needs to be allocatable.
        period: billing months to include.
        config: when given, owners are derived first with it (else read as stored).
    """
    dims, fields = parse_dimensions(by), parse_required(required)
    t = _prepared(costs, config, period)
    t = t.filter(~allocatable(t, fields))
    groups = {name: DIMENSIONS[name](t) for name in dims}
    rolled = t.group_by(**groups).aggregate(rows=t.count(), effective_cost=t.EffectiveCost.sum())
    ordered = rolled.order_by([ibis.desc("effective_cost"), *dims])
    return ordered.limit(limit) if limit else ordered


def _prepared(costs: ir.Table, config: AllocationConfig | None, period: Period | None) -> ir.Table:
    t = in_period(costs, period)
    return owners(t, config) if config is not None else t
