"""Billing cost inside time windows: the join every ML-observability figure stands on.

A run, a telemetry segment (idle, zombie, …) or a reporting period is a *window*: a resource
and a time span ``[start, end)``, with a share (the GPUs the window used ÷ the GPUs of the
resource; 1 for the whole resource). Its cost is, for every cost row of that resource whose
charge period overlaps the window::

    EffectiveCost × overlap seconds ÷ charge-period seconds × share

i.e. the bill spread evenly over each charge period (an hour on AWS and Google Cloud, a day on
Azure), then cut at the window's edges. The fraction is rounded to 12 digits and the product to
12 (:func:`aifinops.enrich.arith.product`), so DuckDB and PySpark give the same decimals; the
sum is done in the engine.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from aifinops.enrich.arith import product

#: Columns a windows table must have (``share`` may be null = 1).
WINDOW_COLUMNS = ("window_id", "resource_id", "start", "end", "share")
_FRACTION = ibis.dtype("decimal(20, 12)")


def _seconds(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.NumericValue:
    return end.epoch_seconds() - start.epoch_seconds()


def cost_in_windows(costs: ir.Table, windows: ir.Table) -> ir.Table:
    """Return ``window_id``, ``effective_cost``, ``billed_cost``, ``list_cost``,
    ``accelerator_hours`` and ``rows`` of the cost rows inside each window.

    Windows without any overlapping cost row are absent (left-join the result to keep them).
    Costs are matched on ``ResourceId`` = ``resource_id`` exactly.
    """
    rows = costs.filter(
        costs.ResourceId.notnull(), costs.ChargePeriodEnd > costs.ChargePeriodStart
    ).select(
        resource_id=costs.ResourceId,
        c_start=costs.ChargePeriodStart,
        c_end=costs.ChargePeriodEnd,
        EffectiveCost=costs.EffectiveCost,
        BilledCost=costs.BilledCost,
        ListCost=costs.ListCost,
        acc_hours=costs.x_AcceleratorHours,
    )
    joined = windows.join(
        rows,
        [
            windows.resource_id == rows.resource_id,
            rows.c_start < windows.end,
            rows.c_end > windows.start,
        ],
    )
    lo = ibis.greatest(joined.c_start, joined.start)
    hi = ibis.least(joined.c_end, joined.end)
    share = joined.share.fill_null(1.0)
    fraction = (_seconds(lo, hi).cast("float64") / _seconds(joined.c_start, joined.c_end)).cast(
        "float64"
    ) * share.cast("float64")
    frac = fraction.round(12).cast(_FRACTION)
    parts = joined.select(
        joined.window_id,
        effective_cost=product(joined.EffectiveCost, frac),
        billed_cost=product(joined.BilledCost, frac),
        list_cost=product(joined.ListCost, frac),
        accelerator_hours=product(joined.acc_hours.fill_null(0), frac),
    )
    return parts.group_by("window_id").aggregate(
        effective_cost=parts.effective_cost.sum(),
        billed_cost=parts.billed_cost.sum(),
        list_cost=parts.list_cost.sum(),
        accelerator_hours=parts.accelerator_hours.sum(),
        rows=parts.count(),
    )
