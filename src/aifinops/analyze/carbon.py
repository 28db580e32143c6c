"""The carbon report: estimated energy and location-based emissions by team, model and region.

Covers the rows enrichment gave an energy estimate (``x_EnergyKwh``: accelerator, instance
and Google host SKU rows). The engine sums energy, emissions, effective cost and
accelerator-hours; Python derives the intensities from those exact sums:

* ``g_co2e_per_usd`` = 1000 × Σx_CarbonKgCo2e ÷ ΣEffectiveCost of the same rows;
* ``g_co2e_per_accelerator_hour`` = 1000 × Σx_CarbonKgCo2e of the accelerator rows ÷
  Σx_AcceleratorHours.

A row whose region the catalog's grid table lacks has energy but no emissions; such rows are
counted per group (``rows_without_carbon``, ``kwh_without_carbon``) and listed by provider
and region, so a low figure is never mistaken for a clean one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.analyze.report_rows import Execute, Row, order_rows, ratio, total
from aifinops.analyze.spend import DIMENSIONS, Period, in_period

#: Dimensions ``--by`` may name in this report.
CARBON_DIMENSIONS = (
    "team",
    "project",
    "model",
    "experiment",
    "environment",
    "region",
    "provider",
    "account",
    "subaccount",
    "service",
    "gpu_model",
    "accelerator_kind",
    "instance_type",
    "workload",
    "lifecycle_stage",
    "month",
)
#: The report's grouping when ``--by`` is not given.
DEFAULT_CARBON_BY = ("team", "model", "region")
#: The engine's sums per group.
CARBON_SUMS = (
    "energy_kwh",
    "carbon_kg_co2e",
    "effective_cost",
    "accelerator_hours",
    "accelerator_kg_co2e",
    "rows",
    "rows_without_carbon",
    "kwh_without_carbon",
)
#: The measures of a finished row, after the dimensions.
CARBON_MEASURES = (
    "energy_kwh",
    "carbon_kg_co2e",
    "effective_cost",
    "g_co2e_per_usd",
    "accelerator_hours",
    "g_co2e_per_accelerator_hour",
    "rows",
    "rows_without_carbon",
    "kwh_without_carbon",
    "accelerator_kg_co2e",
)
#: Columns of the rows that have energy but no grid factor, by provider and region.
MISSING_GRID_COLUMNS = ("provider", "region", "rows", "energy_kwh")
_GRAMS = 1000


@dataclass(frozen=True)
class CarbonReport:
    """Rows by the chosen dimensions, the regions without a grid factor, and totals."""

    by: tuple[str, ...]
    rows: list[Row]
    missing_grid: list[Row]
    energy_kwh: Decimal | None
    carbon_kg_co2e: Decimal | None
    rows_without_carbon: int


def energy_rows(costs: ir.Table, period: Period | None = None) -> ir.Table:
    """Return the rows with an energy estimate in ``period``."""
    table = in_period(costs, period)
    return table.filter(table.x_EnergyKwh.notnull())


def carbon_sums(costs: ir.Table, *, by: Sequence[str], period: Period | None = None) -> ir.Table:
    """Return energy, emissions, cost and accelerator-hours by ``by`` (engine sums, exact).

    Args:
        costs: the lake's cost table.
        by: names from :data:`CARBON_DIMENSIONS`; empty for one total row.
        period: billing months to include.
    """
    t = energy_rows(costs, period)
    no_carbon = t.x_CarbonKgCo2e.isnull()
    metrics = {
        "energy_kwh": t.x_EnergyKwh.sum(),
        "carbon_kg_co2e": t.x_CarbonKgCo2e.sum(),
        "effective_cost": t.EffectiveCost.sum(),
        "accelerator_hours": t.x_AcceleratorHours.sum(),
        "accelerator_kg_co2e": t.x_CarbonKgCo2e.sum(where=t.x_AcceleratorHours.notnull()),
        "rows": t.count(),
        "rows_without_carbon": t.count(where=no_carbon),
        "kwh_without_carbon": t.x_EnergyKwh.sum(where=no_carbon),
    }
    groups = {name: DIMENSIONS[name](t) for name in by}
    sums = t.group_by(**groups).aggregate(**metrics) if groups else t.aggregate(**metrics)
    ordered = sums.select(*by, *CARBON_SUMS)
    return ordered.order_by([ibis.desc("carbon_kg_co2e"), *by]) if by else ordered


def missing_grid(costs: ir.Table, *, period: Period | None = None) -> ir.Table:
    """Return rows and energy that have no emissions figure, by provider and region."""
    t = energy_rows(costs, period)
    t = t.filter(t.x_CarbonKgCo2e.isnull())
    sums = t.group_by(provider=t.ProviderName, region=t.RegionId).aggregate(
        rows=t.count(), energy_kwh=t.x_EnergyKwh.sum()
    )
    return sums.select(*MISSING_GRID_COLUMNS).order_by([ibis.desc("energy_kwh"), "provider"])


def with_intensity(rows: Sequence[Row], by: Sequence[str]) -> list[Row]:
    """Return :func:`carbon_sums` rows with grams CO2e per USD and per accelerator-hour.

    Ordered by emissions, largest first (rows without emissions last).
    """
    finished = []
    for row in rows:
        full = {
            **row,
            "g_co2e_per_usd": ratio(row["carbon_kg_co2e"], row["effective_cost"], scale=_GRAMS),
            "g_co2e_per_accelerator_hour": ratio(
                row["accelerator_kg_co2e"], row["accelerator_hours"], scale=_GRAMS
            ),
            "kwh_without_carbon": row["kwh_without_carbon"] or Decimal(0),
        }
        finished.append({name: full[name] for name in (*by, *CARBON_MEASURES)})
    return order_rows(finished, "carbon_kg_co2e", by)


def carbon_report(
    costs: ir.Table, execute: Execute, *, by: Sequence[str], period: Period | None = None
) -> CarbonReport:
    """Run :func:`carbon_sums` and :func:`missing_grid` with ``execute`` and finish them.

    Args:
        costs: the lake's cost table (``Engine.costs()``).
        execute: runs an Ibis expression (``Engine.execute``).
        by: dimensions from :data:`CARBON_DIMENSIONS`.
        period: billing months to include.
    """
    rows = with_intensity(execute(carbon_sums(costs, by=by, period=period)).to_pylist(), by)
    missing = execute(missing_grid(costs, period=period)).to_pylist()
    missing = order_rows(missing, "energy_kwh", ("provider", "region"))
    return CarbonReport(
        by=tuple(by),
        rows=rows,
        missing_grid=missing,
        energy_kwh=total(rows, "energy_kwh"),
        carbon_kg_co2e=total(rows, "carbon_kg_co2e"),
        rows_without_carbon=sum(int(row["rows_without_carbon"]) for row in rows),
    )
