"""GPU waste: the GPU-hours, cost and energy of idle, zombie and under-used GPUs.

Telemetry becomes segments (:mod:`aifinops.analyze.phases`); each segment is then priced
and given an energy figure, all in the engine:

* **cost** — the bill's rate per GPU-hour in the segment's time span × its GPU-hours: the
  resource's effective cost in the span (:func:`aifinops.analyze.windows.cost_in_windows`)
  × the segment's GPU-hours ÷ the accelerator-hours the bill counts for the resource in that
  span (basis ``bill``). That ratio prices one GPU of a multi-GPU, multi-host resource
  right, whatever the hosts. Where the bill has the resource but no accelerator-hours, the
  span's cost is split evenly over the GPUs the telemetry shows for it (``bill-split``).
  A resource the bill lacks is priced at ``gpu_hour_price`` if given (``price``).
* **energy** — the board's energy counter, else Σ power × time (measured), else the
  catalog's idle and TDP watts at the segment's utilisation (``tdp``, an estimate).

Money stays DECIMAL (sums in the engine); hours, energy and shares are floats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from aifinops.analyze.phases import (
    STATES,
    WASTE_STATES,
    WasteThresholds,
    gpu_id,
    gpu_segments,
    gpu_states,
    samples_in,
)
from aifinops.analyze.report_rows import Execute, Row, order_rows, total
from aifinops.analyze.spend import Period
from aifinops.analyze.windows import cost_in_windows
from aifinops.catalog import Catalog
from aifinops.enrich.arith import product
from aifinops.errors import BadInputError

#: Energy source of a catalog estimate (measured sources: ``counter``, ``power``).
TDP = "tdp"
#: Cost bases: the bill's rate per GPU-hour, the bill split over GPUs, the given price.
BILL, BILL_SPLIT, PRICE = "bill", "bill-split", "price"
#: Dimensions the waste report groups by, and what each reads from a segment.
WASTE_DIMENSIONS: dict[str, Callable[[ir.Table], ir.Value]] = {
    "host": lambda t: t.host,
    "resource": lambda t: t.resource_id,
    "model": lambda t: t.gpu_model,
    "gpu": lambda t: ibis.coalesce(
        t.gpu_uuid, t.host.fill_null("") + ":" + t.gpu_index.cast("string")
    ),
    "team": lambda t: t.team,
    "day": lambda t: t.start.strftime("%Y-%m-%d"),
}
#: The measures of each waste row.
WASTE_MEASURES = (
    "gpu_hours",
    "share_pct",
    "cost",
    "cost_basis",
    "unpriced_gpu_hours",
    "energy_kwh",
    "energy_source",
    "segments",
)
_FRACTION = ibis.dtype("decimal(20, 12)")
_MIXED = "mixed"


def parse_waste_by(text: str | Sequence[str]) -> list[str]:
    """Parse ``host,day`` into dimension names of :data:`WASTE_DIMENSIONS`.

    Raises:
        BadInputError: naming the unknown or repeated dimension and listing the known ones.
    """
    names = [d.strip() for d in (text.split(",") if isinstance(text, str) else text)]
    names = [d for d in names if d]
    for name in names:
        if name not in WASTE_DIMENSIONS:
            raise BadInputError(
                f"unknown dimension {name!r}",
                column="--by",
                expected=f"one or more of {', '.join(WASTE_DIMENSIONS)}",
                fix="pick dimensions from the list, comma-separated (docs/waste.md).",
            )
    if len(set(names)) != len(names):
        raise BadInputError(
            f"a dimension is named twice in {', '.join(names)}",
            column="--by",
            expected="each dimension once",
            fix="drop the repeated name.",
        )
    return names


#: Watts per GPU model name as telemetry spells it: (TDP, idle).
PowerFacts = Mapping[str, tuple[float, float]]


def power_facts(catalog: Catalog, models: Iterable[str | None]) -> dict[str, tuple[float, float]]:
    """Return (TDP W, idle W) of each telemetry GPU model the catalog knows (by name or
    alias: ``NVIDIA H200`` is ``H200-141GB``)."""
    facts: dict[str, tuple[float, float]] = {}
    for model in models:
        acc = catalog.accelerator(model) if model else None
        if model and acc is not None:
            facts[model] = (float(acc.tdp_watts), float(acc.idle_watts))
    return facts


def telemetry_models(telemetry: ir.Table, execute: Execute) -> list[str | None]:
    """Return the distinct GPU model names of ``telemetry``."""
    column = execute(telemetry.select("gpu_model").distinct()).column("gpu_model")
    return [None if name is None else str(name) for name in column.to_pylist()]


def with_estimated_energy(segments: ir.Table, facts: PowerFacts) -> ir.Table:
    """Fill ``energy_kwh`` where nothing was measured: the model's idle watts for idle and
    zombie segments, idle + utilisation × (TDP − idle) otherwise (CCF's model), × GPU-hours.
    ``energy_source`` becomes :data:`TDP` there."""
    if not facts:
        return segments
    key = segments.gpu_model
    tdp = ibis.cases(*[(key == k, w[0]) for k, w in facts.items()], else_=ibis.null("float64"))
    idle = ibis.cases(*[(key == k, w[1]) for k, w in facts.items()], else_=ibis.null("float64"))
    resting = segments.state.isin(["idle", "zombie"])
    util = (segments.mean_util_pct.fill_null(0) / 100.0).clip(0, 1)
    watts = ibis.ifelse(resting, idle, idle + util * (tdp - idle))
    estimate = watts * segments.gpu_hours / 1000.0
    measured = segments.energy_kwh.notnull()
    return segments.mutate(
        energy_kwh=ibis.ifelse(measured, segments.energy_kwh, estimate),
        energy_source=ibis.ifelse(
            measured | estimate.isnull(), segments.energy_source, ibis.literal(TDP)
        ),
    )


def with_team(segments: ir.Table, costs: ir.Table | None) -> ir.Table:
    """Add ``team``: the bill's x_Team of the segment's resource (the largest name when the
    resource's rows name several), null without a bill."""
    if costs is None:
        return segments.mutate(team=ibis.null("string"))
    teams = costs.filter(costs.ResourceId.notnull() & costs.x_Team.notnull())
    teams = teams.group_by(_rid=teams.ResourceId).aggregate(team=teams.x_Team.max())
    joined = segments.left_join(teams, segments.resource_id == teams._rid)
    return joined.select(*segments.columns, "team")


def _at_price(hours: ir.FloatingValue, price: Decimal | None) -> ir.Value:
    """Return ``hours × price`` as the lake's decimal (null without a price)."""
    if price is None:
        return ibis.null("decimal(38, 18)")
    return product(hours.round(12).cast(_FRACTION), price)


def _with_bill(segments: ir.Table, costs: ir.Table) -> ir.Table:
    """Add the bill's ``effective_cost`` and ``accelerator_hours`` of the segment's resource
    in its span, and ``_gpus``: the GPUs the telemetry shows for that resource."""
    known = segments.filter(segments.resource_id.notnull())
    windows = known.select(
        window_id=known.segment_id,
        resource_id=known.resource_id,
        start=known.start,
        end=known.end,
        share=ibis.literal(1.0),
    )
    billed = cost_in_windows(costs, windows)
    gpus = known.group_by(_res=known.resource_id).aggregate(_gpus=gpu_id(known).nunique())
    j = segments.left_join(billed, segments.segment_id == billed.window_id)
    j = j.select(*segments.columns, "effective_cost", "accelerator_hours")
    return j.left_join(gpus, j.resource_id == gpus._res).select(*j.columns, "_gpus")


def with_cost(
    segments: ir.Table, costs: ir.Table | None, gpu_hour_price: Decimal | None
) -> ir.Table:
    """Add ``cost`` (DECIMAL) and ``cost_basis`` (:data:`BILL`, :data:`BILL_SPLIT`,
    :data:`PRICE` or null) to each segment; see the module's docstring."""
    priced = _at_price(segments.gpu_hours, gpu_hour_price)
    price_basis = ibis.literal(PRICE) if gpu_hour_price is not None else ibis.null("string")
    if costs is None:
        return segments.mutate(cost=priced, cost_basis=price_basis)
    j = _with_bill(segments, costs)
    has_hours = (j.accelerator_hours > 0).fill_null(False)
    per_gpu_hour = j.gpu_hours / j.accelerator_hours.cast("float64")
    fraction = ibis.ifelse(has_hours, per_gpu_hour, 1.0 / j._gpus.cast("float64"))
    on_bill = j.effective_cost.notnull()
    bill = product(j.effective_cost, fraction.round(12).cast(_FRACTION))
    basis = ibis.cases((on_bill & has_hours, BILL), (on_bill, BILL_SPLIT), else_=price_basis)
    fallback = _at_price(j.gpu_hours, gpu_hour_price)
    return j.mutate(cost=ibis.ifelse(on_bill, bill, fallback), cost_basis=basis).drop(
        "effective_cost", "accelerator_hours", "_gpus"
    )


def priced_segments(
    telemetry: ir.Table,
    costs: ir.Table | None = None,
    *,
    thresholds: WasteThresholds | None = None,
    gpu_hour_price: Decimal | None = None,
    power: PowerFacts | None = None,
    period: Period | None = None,
) -> ir.Table:
    """Return :func:`aifinops.analyze.phases.gpu_segments` of ``telemetry`` in ``period``
    with ``team``, ``cost``, ``cost_basis`` and, where nothing was measured, a catalog
    estimate of ``energy_kwh``.

    Args:
        telemetry: rows of the TELEMETRY schema.
        costs: the lake's cost table (None: no bill; only ``gpu_hour_price`` prices).
        thresholds: the classification's thresholds (defaults when None).
        gpu_hour_price: USD per GPU-hour for resources the bill does not have.
        power: TDP and idle watts per GPU model (:func:`power_facts`), for segments
            without power readings.
        period: months (UTC) of samples to include.
    """
    segments = gpu_segments(gpu_states(samples_in(telemetry, period), thresholds))
    if power:
        segments = with_estimated_energy(segments, power)
    return with_cost(with_team(segments, costs), costs, gpu_hour_price)


def _one_or_mixed(column: ir.StringColumn) -> ir.StringValue:
    """Return the column's one value in a group, ``mixed`` when it has several (nulls are
    left out; null when every value is)."""
    low, high = column.min(), column.max()
    return ibis.cases((low.isnull(), ibis.null("string")), (low == high, low), else_=_MIXED)


def gpu_waste(
    telemetry: ir.Table,
    costs: ir.Table | None = None,
    *,
    by: Sequence[str] = (),
    thresholds: WasteThresholds | None = None,
    gpu_hour_price: Decimal | None = None,
    power: PowerFacts | None = None,
    period: Period | None = None,
) -> ir.Table:
    """Return GPU-hours, cost and energy by ``by`` and state (every state in :data:`STATES`).

    Columns: ``by``, ``state``, ``gpu_hours``, ``group_gpu_hours`` (all states of the
    group), ``cost`` (null when no segment of the group could be priced),
    ``cost_basis`` and ``energy_source`` (the one value of the group's segments, or
    ``mixed``), ``unpriced_gpu_hours``, ``energy_kwh`` and ``segments``. The other
    arguments are those of :func:`priced_segments`.
    """
    t = priced_segments(
        telemetry,
        costs,
        thresholds=thresholds,
        gpu_hour_price=gpu_hour_price,
        power=power,
        period=period,
    )
    groups = {name: WASTE_DIMENSIONS[name](t) for name in by}
    sums = t.group_by(**groups, state=t.state).aggregate(
        _us=t.duration_us.sum(),
        _unpriced_us=ibis.ifelse(t.cost.isnull(), t.duration_us, 0).sum(),
        cost=t.cost.sum(),
        cost_basis=_one_or_mixed(t.cost_basis),
        energy_kwh=t.energy_kwh.sum(),
        energy_source=_one_or_mixed(t.energy_source),
        segments=t.count(),
    )
    whole = sums._us.sum().over(ibis.window(group_by=list(by)) if by else ibis.window())
    return sums.select(
        *by,
        "state",
        gpu_hours=sums._us.cast("float64") / 3.6e9,
        group_gpu_hours=whole.cast("float64") / 3.6e9,
        cost=sums.cost,
        cost_basis=sums.cost_basis,
        unpriced_gpu_hours=sums._unpriced_us.cast("float64") / 3.6e9,
        energy_kwh=sums.energy_kwh,
        energy_source=sums.energy_source,
        segments=sums.segments,
    )


@dataclass(frozen=True)
class WasteReport:
    """Waste rows (idle, zombie and under-used, largest first), one total per state
    (busy included) and what the reader should know."""

    rows: list[Row]
    totals: list[Row]
    notes: tuple[str, ...]


def _share(part: float, whole: float) -> float | None:
    return part * 100.0 / whole if whole else None


def _totals(rows: Sequence[Row]) -> list[Row]:
    """Return one row per state: GPU-hours, share of all GPU-hours, cost and energy."""
    whole = sum(row["gpu_hours"] for row in rows)
    totals = []
    for state in STATES:
        mine = [row for row in rows if row["state"] == state]
        hours = sum(row["gpu_hours"] for row in mine)
        energy = [row["energy_kwh"] for row in mine if row["energy_kwh"] is not None]
        totals.append(
            {
                "state": state,
                "gpu_hours": hours,
                "share_pct": _share(hours, whole),
                "cost": total(mine, "cost"),
                "energy_kwh": sum(energy) if energy else None,
            }
        )
    return totals


def waste_report(
    telemetry: ir.Table,
    execute: Execute,
    costs: ir.Table | None = None,
    *,
    by: Sequence[str] = ("host",),
    thresholds: WasteThresholds | None = None,
    gpu_hour_price: Decimal | None = None,
    catalog: Catalog | None = None,
    period: Period | None = None,
) -> WasteReport:
    """Run :func:`gpu_waste` with ``execute``; keep the waste states, add each row's share
    of its group's GPU-hours (``share_pct``) and order by GPU-hours, largest first.

    ``catalog`` gives the idle and TDP watts of the telemetry's GPU models (for segments
    without power readings); the other arguments are those of :func:`gpu_waste`.
    """
    power = power_facts(catalog, telemetry_models(telemetry, execute)) if catalog else None
    table = gpu_waste(
        telemetry,
        costs,
        by=by,
        thresholds=thresholds,
        gpu_hour_price=gpu_hour_price,
        power=power,
        period=period,
    )
    raw = execute(table).to_pylist()
    rows = [_waste_row(row, by) for row in raw if row["state"] in WASTE_STATES]
    return WasteReport(order_rows(rows, "gpu_hours", (*by, "state")), _totals(raw), _notes(raw))


def _waste_row(row: Row, by: Sequence[str]) -> Row:
    """Return one report row: the dimensions, the state and :data:`WASTE_MEASURES`."""
    shared = {"share_pct": _share(row["gpu_hours"], row["group_gpu_hours"])}
    measures = {name: shared.get(name, row.get(name)) for name in WASTE_MEASURES}
    return {**{name: row[name] for name in by}, "state": row["state"], **measures}


def _notes(rows: Sequence[Row]) -> tuple[str, ...]:
    if not rows:
        return ("No GPU telemetry: import some (aifinops import telemetry) or collect it.",)
    notes = []
    unpriced = sum(row["unpriced_gpu_hours"] for row in rows if row["state"] in WASTE_STATES)
    if unpriced:
        notes.append(
            f"{unpriced:,.2f} wasted GPU-hours have no cost: their resource is not in the bill "
            "(telemetry resource_id = ResourceId). Pass --gpu-hour-price to price them."
        )
    if any(row["energy_source"] in (TDP, _MIXED) for row in rows):
        notes.append("Energy 'tdp' is a catalog estimate (idle/TDP watts), not a measurement.")
    return tuple(notes)


def segment_rows(
    telemetry: ir.Table,
    execute: Execute,
    costs: ir.Table | None = None,
    *,
    catalog: Catalog | None = None,
    **options: Any,
) -> list[Row]:
    """Return every priced segment, by GPU and start time (``catalog`` as in
    :func:`waste_report`, ``options`` those of :func:`priced_segments`)."""
    power = power_facts(catalog, telemetry_models(telemetry, execute)) if catalog else None
    table = priced_segments(telemetry, costs, power=power, **options)
    rows = execute(table).to_pylist()
    return sorted(
        rows, key=lambda r: (str(r["host"]), str(r["gpu_uuid"]), r["gpu_index"] or 0, r["start"])
    )


def idle_gpu_share(
    telemetry: ir.Table,
    execute: Execute,
    *,
    thresholds: WasteThresholds | None = None,
    period: Period | None = None,
) -> float | None:
    """Return the share (%) of observed GPU-hours spent idle or zombie (paid for, doing no
    work), or None when there is no telemetry."""
    t = gpu_segments(gpu_states(samples_in(telemetry, period), thresholds))
    resting = ibis.ifelse(t.state.isin(["idle", "zombie"]), t.duration_us, 0)
    sums = t.aggregate(resting=resting.sum(), whole=t.duration_us.sum())
    row = execute(sums).to_pylist()[0]
    if not row["whole"]:
        return None
    return float(row["resting"]) * 100.0 / float(row["whole"])
