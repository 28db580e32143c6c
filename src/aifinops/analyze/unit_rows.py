"""Finishing unit-economics rows: the engine's sums merged per group, and every figure divided.

The engine sums exactly (money as DECIMAL, units as DECIMAL(38, 9), GPU-time in whole
microseconds); every quotient here is exact where it terminates and rounded half-even to 18
places where it does not (:func:`aifinops.analyze.report_rows.ratio`). With a GPU-hour price,
each figure is one division of the GPU-time (``Σ GPU-µs × price ÷ (units × 3.6e9)``), so the
cost is never rounded before it is divided.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import Any

from aifinops.analyze.report_rows import Row, order_rows, ratio, trimmed
from aifinops.analyze.unit_figures import FIGURES

_US_PER_HOUR = Decimal(3_600_000_000)
#: Every column of a finished row after the dimensions (and ``period`` with a grain).
UNIT_MEASURES = (
    "cost",
    "gpu_hours",
    "usd_per_gpu_hour",
    *(c for f in FIGURES for c in f.columns()),
    "usd_per_1k_requests_all_hours",
    "runs",
    "runs_cost",
    "usd_per_run",
    "loss_first",
    "loss_last",
    "loss_change",
    "resources",
    "basis",
)


def basis_of(price: Decimal | None) -> str:
    """Return ``billing``, or how GPU-time was priced."""
    if price is None:
        return "billing"
    return f"telemetry GPU-time × {trimmed(price)} USD/GPU-hour"


def _usd_us(gpu_us: int | None, price: Decimal) -> Decimal | None:
    """Return GPU-microseconds × USD per GPU-hour (exact; ÷ 3.6e9 gives USD)."""
    if gpu_us is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 80
        return Decimal(gpu_us) * price


def _gpu_usd(gpu_us: int | None, price: Decimal) -> Decimal | None:
    return ratio(_usd_us(gpu_us, price), _US_PER_HOUR)


class _Rows:
    """Rows keyed by the group's dimensions and period, created on first sight."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.rows: dict[tuple[Any, ...], Row] = {}

    def of(self, source: Row) -> Row:
        key = tuple(source.get(k) for k in self.keys)
        return self.rows.setdefault(key, {k: source.get(k) for k in self.keys})


def finish_unit_rows(
    per_metric: list[Row],
    totals: list[Row],
    gauges: list[Row],
    runs: Sequence[Row] = (),
    *,
    by: Sequence[str],
    grain: str | None,
    price: Decimal | None,
) -> list[Row]:
    """Return one finished row per group and period: sums, figures and ``basis``.

    Rows come largest cost first (with a grain: periods in order, each largest cost first);
    without a grain the ``period`` column is dropped.
    """
    rows = _Rows([*by, "period"])
    for item in per_metric:
        row, m = rows.of(item), item["metric"]
        row[m] = trimmed(item["units"])
        row[f"{m}_priced"] = trimmed(item["priced_units"] or Decimal(0))
        if price is None:
            row[f"{m}_cost"] = item.get("cost")
        else:
            row[f"{m}_cost"] = _gpu_usd(item.get("gpu_us"), price)
            row[f"_{m}_usd_us"] = _usd_us(item.get("gpu_us"), price)
    for item in totals:
        _add_totals(rows.of(item), item, price)
    for item in gauges:
        first, last = item["loss_first"], item["loss_last"]
        change = None if first is None or last is None else round(last - first, 9)
        rows.of(item).update(loss_first=first, loss_last=last, loss_change=change)
    for item in runs:
        row = rows.of(item)
        row.update(runs=item["runs"], runs_cost=item["runs_cost"])
        row["usd_per_run"] = ratio(item["runs_cost"], Decimal(item["runs"]))
    finished = [_figures(row, basis_of(price)) for row in rows.rows.values()]
    ordered = order_rows(finished, "cost", by)
    if grain:
        return sorted(ordered, key=lambda r: r["period"])
    for row in ordered:
        del row["period"]
    return ordered


def _add_totals(row: Row, item: Row, price: Decimal | None) -> None:
    """Add the all-hours cost, GPU-hours and the GPU-hour rate of one group."""
    if price is not None:
        hours = ratio(Decimal(item["gpu_us"] or 0), _US_PER_HOUR)
        row.update(cost=_gpu_usd(item["gpu_us"], price), gpu_hours=hours)
        row["_usd_us"] = _usd_us(item["gpu_us"], price)
        row["usd_per_gpu_hour"] = price if hours else None
    else:
        row.update(cost=item["cost"], gpu_hours=item["gpu_hours"])
        row["usd_per_gpu_hour"] = ratio(item["gpu_cost"], item["gpu_hours"])
    row["resources"] = item["resources"]


def _figures(row: Row, basis: str) -> Row:
    """Return the row with every per-unit figure (None where a sum is missing or zero)."""
    for figure in FIGURES:
        m = figure.metric
        usd_us = row.pop(f"_{m}_usd_us", None)
        cost, units = row.get(f"{m}_cost"), row.get(f"{m}_priced")
        row[figure.column] = _per(cost, usd_us, units, figure.scale)
    usd_us = row.pop("_usd_us", None)
    row["usd_per_1k_requests_all_hours"] = _per(row.get("cost"), usd_us, row.get("requests"), 1000)
    row["basis"] = basis
    return {**row, **{c: row.get(c) for c in UNIT_MEASURES if c not in row}}


def _per(
    cost: Decimal | None, usd_us: Decimal | None, units: Decimal | None, scale: int
) -> Decimal | None:
    """Return cost ÷ units × scale; from GPU-time (``usd_us`` = GPU-µs × USD/GPU-hour), one
    exact division ``usd_us ÷ (units × 3.6e9) × scale``, without rounding the cost first."""
    if usd_us is None:
        return ratio(cost, units, scale=scale)
    if units is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 80
        denominator = units * _US_PER_HOUR
    return ratio(usd_us, denominator, scale=scale)
