"""The workloads report: what training, inference, notebooks and data preparation cost, by
team and model, and what each ML lifecycle stage cost.

The engine sums effective and billed cost, accelerator-hours and rows by workload-related
dimensions (``x_Workload``, ``x_LifecycleStage``, ``x_Team``, ``x_Model``, …, filled at
ingest by enrichment and allocation); Python adds each row's share of the period's total
effective cost from those exact sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.analyze.report_rows import Execute, Row, order_rows, share_pct, total
from aifinops.analyze.spend import DIMENSIONS, Period, in_period

#: Dimensions ``--by`` may name in this report (see docs/reports.md for their columns).
WORKLOAD_DIMENSIONS = (
    "workload",
    "lifecycle_stage",
    "workload_reason",
    "team",
    "project",
    "model",
    "experiment",
    "dataset",
    "run_id",
    "environment",
    "gpu_model",
    "accelerator_kind",
    "provider",
    "month",
)
#: The report's grouping when ``--by`` is not given.
DEFAULT_WORKLOAD_BY = ("workload", "team", "model")
#: The grouping of the lifecycle-stage table.
STAGE_BY = ("lifecycle_stage",)
#: The engine's sums per group.
WORKLOAD_SUMS = ("effective_cost", "billed_cost", "accelerator_hours", "rows")
#: The measures of a finished row, after the dimensions.
WORKLOAD_MEASURES = ("effective_cost", "share_pct", "billed_cost", "accelerator_hours", "rows")


@dataclass(frozen=True)
class WorkloadReport:
    """Rows by the chosen dimensions, rows by lifecycle stage, and the period's totals."""

    by: tuple[str, ...]
    rows: list[Row]
    stages: list[Row]
    total_effective_cost: Decimal | None
    total_rows: int


def workload_costs(costs: ir.Table, *, by: Sequence[str], period: Period | None = None) -> ir.Table:
    """Return effective and billed cost, accelerator-hours and rows by ``by`` (engine sums).

    Every row of the period is counted (storage, network and other work too), so the groups
    add up to the period's totals. Ordered by effective cost, largest first.

    Args:
        costs: the lake's cost table.
        by: names from :data:`WORKLOAD_DIMENSIONS` (checked by the caller with
            :func:`aifinops.analyze.report_rows.choose_dimensions`); empty for one total row.
        period: billing months to include.
    """
    t = in_period(costs, period)
    metrics = {
        "effective_cost": t.EffectiveCost.sum(),
        "billed_cost": t.BilledCost.sum(),
        "accelerator_hours": t.x_AcceleratorHours.sum(),
        "rows": t.count(),
    }
    groups = {name: DIMENSIONS[name](t) for name in by}
    sums = t.group_by(**groups).aggregate(**metrics) if groups else t.aggregate(**metrics)
    ordered = sums.select(*by, *WORKLOAD_SUMS)
    return ordered.order_by([ibis.desc("effective_cost"), *by]) if by else ordered


def with_shares(rows: Sequence[Row], by: Sequence[str]) -> list[Row]:
    """Return rows with ``share_pct``: effective cost as a percentage of all rows' total.

    The rows must be every group of the period (the total is their exact sum). Ordered by
    effective cost, largest first.
    """
    whole = total(rows, "effective_cost")
    finished = [
        {
            **{name: row[name] for name in by},
            "effective_cost": row["effective_cost"],
            "share_pct": share_pct(row["effective_cost"], whole),
            **{name: row[name] for name in WORKLOAD_SUMS[1:]},
        }
        for row in rows
    ]
    return order_rows(finished, "effective_cost", by)


def workload_report(
    costs: ir.Table, execute: Execute, *, by: Sequence[str], period: Period | None = None
) -> WorkloadReport:
    """Run the workload and lifecycle-stage roll-ups with ``execute`` and add shares.

    Args:
        costs: the lake's cost table (``Engine.costs()``).
        execute: runs an Ibis expression (``Engine.execute``).
        by: dimensions from :data:`WORKLOAD_DIMENSIONS`.
        period: billing months to include.
    """
    rows = with_shares(execute(workload_costs(costs, by=by, period=period)).to_pylist(), by)
    stages = with_shares(
        execute(workload_costs(costs, by=STAGE_BY, period=period)).to_pylist(), STAGE_BY
    )
    return WorkloadReport(
        by=tuple(by),
        rows=rows,
        stages=stages,
        total_effective_cost=total(rows, "effective_cost"),
        total_rows=sum(int(row["rows"]) for row in rows),
    )
