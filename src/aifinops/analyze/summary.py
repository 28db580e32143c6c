"""The daily summary: the cost table rolled up by day and every low-cardinality dimension.

Dashboards ask the same few questions (spend by provider, month, team, GPU model…) of a
lake that may hold tens of millions of rows. The summary answers them from a table ~25×
smaller (the demo's 9.7M rows become 396k), built once per lake version
(:func:`summary_table`), and answers them **exactly**:

* every key column (:data:`SUMMARY_KEYS`) keeps its values unchanged, so grouping and
  filtering on it select the same raw rows;
* every measure column (:data:`SUMMARY_SUMS`) holds the Decimal sum of its group, and a sum
  of sums is the sum (nulls are skipped both times);
* ``x_Rows`` counts the raw rows of a group: count rows with :func:`row_count` and
  :func:`rows_where`, which weigh summary rows by it and count raw rows plainly;
* ``x_AcceleratorHoursKnown`` is a key, so a group's hour sum is null exactly when every raw
  row's was (``x_AcceleratorHours.notnull()`` selects the same rows);
* ``x_ChargeDay`` and ``x_PriceBasis`` are values computed per raw row (the charge day and
  :func:`aifinops.analyze.gpu.price_basis`), so they are keys too.

Columns the summary leaves out (ResourceId, SkuId, x_RunId, quantities, charge times, tags)
simply do not exist in it: an analysis that needs one fails to build on the summary (an
``AttributeError`` from Ibis) and :func:`on_summary` runs it on the raw rows instead.
``tests/test_summary.py`` proves every dashboard answer equal on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import ibis.common.exceptions as ibis_errors
import ibis.expr.types as ir

if TYPE_CHECKING:
    from aifinops.lake import Engine

#: Columns kept as they are (the group keys of the summary).
SUMMARY_KEYS = (
    "ProviderName",
    "BillingAccountId",
    "BillingAccountName",
    "SubAccountId",
    "SubAccountName",
    "ServiceName",
    "ServiceCategory",
    "ServiceSubcategory",
    "RegionId",
    "ChargeCategory",
    "ChargeClass",
    "PricingCategory",
    "CommitmentDiscountType",
    "ResourceType",
    "BillingCurrency",
    "BillingPeriodStart",
    "x_SourceFormat",
    "x_InstanceType",
    "x_GpuModel",
    "x_GpuCount",
    "x_AcceleratorKind",
    "x_IsSpot",
    "x_Workload",
    "x_LifecycleStage",
    "x_WorkloadReason",
    "x_Team",
    "x_Project",
    "x_Model",
    "x_Experiment",
    "x_Dataset",
    "x_Environment",
)
#: Columns summed per group (Decimal sums; exact).
SUMMARY_SUMS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "x_AcceleratorHours")
#: The raw rows behind a summary row.
ROWS = "x_Rows"
#: The charge day of a raw row, ``YYYY-MM-DD`` (UTC).
CHARGE_DAY = "x_ChargeDay"
#: :func:`aifinops.analyze.gpu.price_basis` of a raw row.
PRICE_BASIS = "x_PriceBasis"
#: Whether a raw row's accelerator-hours were known (keeps ``notnull()`` filters exact).
HOURS_KNOWN = "x_AcceleratorHoursKnown"

T = TypeVar("T")


def summarise(costs: ir.Table) -> ir.Table:
    """Return the summary of ``costs`` as an Ibis expression (see the module's notes)."""
    from aifinops.analyze.gpu import price_basis

    keys = {name: costs[name] for name in SUMMARY_KEYS}
    keys[CHARGE_DAY] = costs.ChargePeriodStart.strftime("%Y-%m-%d")
    keys[PRICE_BASIS] = price_basis(costs)
    keys[HOURS_KNOWN] = costs.x_AcceleratorHours.notnull()
    sums = {name: costs[name].sum() for name in SUMMARY_SUMS}
    return costs.group_by(**keys).aggregate(**sums, **{ROWS: costs.count()})


def is_summary(table: ir.Table) -> bool:
    """Return whether ``table`` is a summary (it counts raw rows in ``x_Rows``)."""
    return ROWS in table.columns


def row_count(table: ir.Table) -> ir.IntegerScalar:
    """Return the number of raw rows behind ``table`` (a summary or the raw cost table)."""
    if is_summary(table):
        return table[ROWS].sum().fill_null(0)
    return table.count()


def rows_where(table: ir.Table, condition: ir.BooleanValue) -> ir.IntegerScalar:
    """Return the number of raw rows behind ``table`` where ``condition`` holds (null: no)."""
    if is_summary(table):
        return table[ROWS].sum(where=condition.fill_null(False)).fill_null(0)
    return condition.fill_null(False).cast("int64").sum().fill_null(0)


def charge_day(table: ir.Table) -> ir.StringValue:
    """Return each row's charge day ``YYYY-MM-DD`` on a summary or raw rows."""
    if CHARGE_DAY in table.columns:
        return table[CHARGE_DAY]
    return table.ChargePeriodStart.strftime("%Y-%m-%d")


def summary_table(engine: Engine) -> ir.Table:
    """Return the summary of ``engine``'s lake, built once per lake version and kept in the
    engine (see :meth:`aifinops.lake.Engine.materialise`)."""
    return engine.materialise("summary", lambda: summarise(engine.costs()))


def on_summary(engine: Engine, build: Callable[[ir.Table], T]) -> T:
    """Return ``build(summary)``, or ``build(raw costs)`` when ``build`` needs a column the
    summary does not keep (Ibis raises while building; nothing ran yet).

    ``build`` must only build expressions and execute them; it must count rows with
    :func:`row_count` / :func:`rows_where` (``count()`` counts summary rows). With
    ``engine.summaries`` off, ``build`` gets the raw rows.
    """
    if not engine.summaries:
        return build(engine.costs())
    try:
        return build(summary_table(engine))
    except (AttributeError, ibis_errors.IbisTypeError) as exc:
        if not _missing_column(exc):
            raise
    return build(engine.costs())


def _missing_column(exc: Exception) -> bool:
    text = str(exc)
    # Ibis: "'Table' object has no attribute 'X'" / "Column 'X' is not found in table."
    return "'Table' object has no attribute" in text or "is not found in table" in text


__all__ = [
    "CHARGE_DAY",
    "HOURS_KNOWN",
    "PRICE_BASIS",
    "ROWS",
    "SUMMARY_KEYS",
    "SUMMARY_SUMS",
    "charge_day",
    "is_summary",
    "on_summary",
    "row_count",
    "rows_where",
    "summarise",
    "summary_table",
]
