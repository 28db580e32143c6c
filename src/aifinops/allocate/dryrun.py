"""Dry runs: which rule or tag alias decides each row's owners, and a summary per rule."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from aifinops.allocate.config import OWNER_COLUMNS, AllocationConfig
from aifinops.allocate.ownership import RULE_COLUMN, owners
from aifinops.allocate.rules import ordered
from aifinops.analyze.spend import Period, in_period

UNALLOCATED = "(unallocated)"

#: Columns of a dry-run row: the row's identity, its cost, the deciding labels, the owners.
IDENTITY: dict[str, str] = {
    "provider": "ProviderName",
    "account": "BillingAccountId",
    "subaccount": "SubAccountId",
    "resource": "ResourceId",
    "service": "ServiceName",
    "sku": "SkuId",
    "charge_category": "ChargeCategory",
}
DRY_RUN_COLUMNS = ("month", *IDENTITY, "cost", "rule", *OWNER_COLUMNS)
SUMMARY_COLUMNS = ("rule", "rows", "effective_cost")


def dry_run(
    costs: ir.Table,
    config: AllocationConfig,
    *,
    period: Period | None = None,
    rule: str | None = None,
) -> ir.Table:
    """Return each row's identity and cost, the labels that decided it, and its owners.

    Rows come largest ``EffectiveCost`` first. ``rule`` keeps only rows one label decided
    (``rule:<name>``, ``tag:<alias>``, ``source:<field>``, or ``(unallocated)``).
    """
    t = owners(in_period(costs, period), config)
    rows = t.select(
        month=t.BillingPeriodStart.strftime("%Y-%m"),
        **{name: _column(t, col) for name, col in IDENTITY.items()},
        cost=t.EffectiveCost,
        rule=t[RULE_COLUMN],
        **{field: t[col] for field, col in OWNER_COLUMNS.items()},
    )
    if rule is not None:
        rows = rows.filter(_has_label(rows.rule, rule))
    ties = [c for c in DRY_RUN_COLUMNS if c != "cost"]
    return rows.order_by([ibis.desc("cost"), *ties])


def rule_summary(
    costs: ir.Table, config: AllocationConfig, *, period: Period | None = None
) -> ir.Table:
    """Return, per label that decided owner fields, the rows and EffectiveCost it decided.

    A row decided by two labels (a rule for team, a tag for project) counts under both;
    rows with no owner at all count under ``(unallocated)``.
    """
    t = owners(in_period(costs, period), config)
    labelled = t.select(
        label=t[RULE_COLUMN].fill_null(UNALLOCATED).split(";"), cost=t.EffectiveCost
    ).unnest("label")
    summary = labelled.group_by(rule=labelled.label).aggregate(
        rows=labelled.count(), effective_cost=labelled.cost.sum()
    )
    return summary.order_by([ibis.desc("effective_cost"), "rule"])


def summary_rows(rows: Sequence[dict[str, Any]], config: AllocationConfig) -> list[dict[str, Any]]:
    """Return :func:`rule_summary` rows with every configured rule listed (0 when unused).

    Rules come first in the order they are tried, then tag aliases and the rest by cost.
    """
    found = {row["rule"]: row for row in rows}
    listed = [
        found.get(f"rule:{r.name}", {"rule": f"rule:{r.name}", "rows": 0, "effective_cost": 0})
        for r in ordered(config.rules)
    ]
    rest = [row for name, row in found.items() if not name.startswith("rule:")]
    return [
        {**row, "effective_cost": Decimal(row["effective_cost"] or 0)} for row in [*listed, *rest]
    ]


def _column(t: ir.Table, name: str) -> ir.Value:
    return t[name] if name in t.columns else ibis.null(str)


def _has_label(labels: ir.StringValue, label: str) -> ir.BooleanValue:
    if label == UNALLOCATED:
        return labels.isnull()
    return (";" + labels + ";").contains(f";{label};").fill_null(False)
