"""Spend roll-ups: billed, effective, list and contracted cost by any dimensions and period.

Written once as Ibis expressions; every engine runs the same expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from aifinops.analyze.summary import charge_day, row_count
from aifinops.errors import BadInputError

Dimension = Callable[[ir.Table], ir.Value]

#: Dimension names users may group by, and the column each one reads.
DIMENSIONS: dict[str, Dimension] = {
    "provider": lambda t: t.ProviderName,
    "account": lambda t: t.BillingAccountId,
    "account_name": lambda t: t.BillingAccountName,
    "subaccount": lambda t: t.SubAccountId,
    "subaccount_name": lambda t: t.SubAccountName,
    "service": lambda t: t.ServiceName,
    "service_category": lambda t: t.ServiceCategory,
    "service_subcategory": lambda t: t.ServiceSubcategory,
    "region": lambda t: t.RegionId,
    "charge_category": lambda t: t.ChargeCategory,
    "charge_class": lambda t: t.ChargeClass,
    "pricing_category": lambda t: t.PricingCategory,
    "commitment_type": lambda t: t.CommitmentDiscountType,
    "sku": lambda t: t.SkuId,
    "resource": lambda t: t.ResourceId,
    "resource_type": lambda t: t.ResourceType,
    "currency": lambda t: t.BillingCurrency,
    "month": lambda t: t.BillingPeriodStart.strftime("%Y-%m"),
    "day": charge_day,
    "source_format": lambda t: t.x_SourceFormat,
    "instance_type": lambda t: t.x_InstanceType,
    "gpu_model": lambda t: t.x_GpuModel,
    "gpu_count": lambda t: t.x_GpuCount,
    "accelerator_kind": lambda t: t.x_AcceleratorKind,
    "is_spot": lambda t: t.x_IsSpot,
    "workload": lambda t: t.x_Workload,
    "lifecycle_stage": lambda t: t.x_LifecycleStage,
    "workload_reason": lambda t: t.x_WorkloadReason,
    "team": lambda t: t.x_Team,
    "project": lambda t: t.x_Project,
    "model": lambda t: t.x_Model,
    "experiment": lambda t: t.x_Experiment,
    "dataset": lambda t: t.x_Dataset,
    "run_id": lambda t: t.x_RunId,
    "environment": lambda t: t.x_Environment,
}

MEASURES = ("billed_cost", "effective_cost", "list_cost", "contracted_cost", "savings", "rows")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class Period:
    """An inclusive range of billing months, ``YYYY-MM`` to ``YYYY-MM``."""

    first: str
    last: str

    def label(self) -> str:
        """Return ``2026-08..2026-10`` (or one month)."""
        return self.first if self.first == self.last else f"{self.first}..{self.last}"


def parse_period(text: str | None) -> Period | None:
    """Parse ``2026-09``, ``2026-08..2026-10``, ``2026`` or ``all`` (None means all).

    Raises:
        BadInputError: for anything else.
    """
    if text is None or text.strip().lower() in ("", "all"):
        return None
    value = text.strip()
    if _YEAR.match(value):
        return Period(f"{value}-01", f"{value}-12")
    first, _, last = value.partition("..")
    last = last or first
    if not (_MONTH.match(first) and _MONTH.match(last)) or first > last:
        raise BadInputError(
            f"bad period {text!r}",
            column="--period",
            expected="YYYY-MM, YYYY-MM..YYYY-MM, YYYY or all",
            fix="for example --period 2026-09 or --period 2026-08..2026-10.",
        )
    return Period(first, last)


def parse_dimensions(text: str | Sequence[str]) -> list[str]:
    """Parse ``provider,service`` into known dimension names.

    Raises:
        BadInputError: naming the unknown dimension and listing the known ones.
    """
    names = [d.strip() for d in (text.split(",") if isinstance(text, str) else text)]
    names = [d for d in names if d]
    for name in names:
        if name not in DIMENSIONS:
            raise BadInputError(
                f"unknown dimension {name!r}",
                column="--by",
                expected=f"one of {', '.join(DIMENSIONS)}",
                fix="pick dimensions from the list, comma-separated.",
            )
    return names


def in_period(costs: ir.Table, period: Period | None) -> ir.Table:
    """Keep the rows whose billing period falls in ``period`` (all rows when None)."""
    if period is None:
        return costs
    month = costs.BillingPeriodStart.strftime("%Y-%m")
    return costs.filter(month.between(period.first, period.last))


def spend(costs: ir.Table, *, by: Sequence[str], period: Period | None = None) -> ir.Table:
    """Return spend by ``by`` over ``period``: billed, effective, list and contracted cost.

    ``savings`` is list cost minus effective cost (what discounts, commitments and credits
    saved). Rows are ordered by effective cost, largest first.

    Args:
        costs: the lake's cost table.
        by: dimension names from :data:`DIMENSIONS` (empty for one total row).
        period: billing months to include.
    """
    table = in_period(costs, period)
    groups = {name: DIMENSIONS[name](table) for name in by}
    metrics = {
        "billed_cost": table.BilledCost.sum(),
        "effective_cost": table.EffectiveCost.sum(),
        "list_cost": table.ListCost.sum(),
        "contracted_cost": table.ContractedCost.sum(),
        "rows": row_count(table),
    }
    rolled = table.group_by(**groups).aggregate(**metrics) if groups else table.aggregate(**metrics)
    rolled = rolled.mutate(savings=rolled.list_cost - rolled.effective_cost)
    ordered = rolled.select(*by, *MEASURES)
    return ordered.order_by([ibis.desc("effective_cost"), *by]) if by else ordered
