"""Turn resources into usage charges, one day of one provider at a time.

:func:`provider_day` is the only entry point: it yields the day's charges in a fixed order
(opening commitment fees, resource usage, commitment closes, month-end lines), so output is
streamed and never held in memory beyond one charge.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from aifinops.demo.charges import ZERO, Charge, Labels, Sku, dec, month_bounds, priced, quant
from aifinops.demo.commitments import Ledger
from aifinops.demo.company import DEMO_END, DEMO_START
from aifinops.demo.resources import Resource, instances_at, story_at, window_at
from aifinops.demo.skus import AWS_SKUS, AZURE_SKUS, EGRESS_TIERS, GCP_SKUS

SKUS: dict[str, dict[str, Sku]] = {"aws": AWS_SKUS, "azure": AZURE_SKUS, "gcp": GCP_SKUS}
#: Native granularity floor: Azure cost details are daily whatever the scale.
DAILY_PROVIDERS = frozenset({"azure"})


class UsageState:
    """Per-provider running state that outlives one day (seed, egress volume per month)."""

    def __init__(self, *, seed: int) -> None:
        self.seed = seed
        self.egress_gb: dict[tuple[str, str], Decimal] = {}


def spot_price(sku: Sku, day: datetime, seed: int) -> Sku:
    """Return ``sku`` with the day's spot price (spot prices move; the seed picks how)."""
    rng = random.Random(f"{seed}|spot|{sku.key}|{day:%Y%m%d}")
    factor = Decimal(rng.randint(880, 1120)) / 1000
    return replace(sku, price=quant(sku.price * factor, 4))


def storage_gb(res: Resource, day: datetime) -> Decimal:
    """Return the stored GB of bucket ``res`` on ``day`` (linear growth over its window)."""
    first, last = res.size_gb
    start, end = res.growth or (DEMO_START, DEMO_END)
    if day <= start:
        return Decimal(first)
    if day >= end:
        return Decimal(last)
    done = Decimal((day - start).days * 24 + (day - start).seconds // 3600)
    total = Decimal((end - start).days * 24)
    return Decimal(first) + quant((last - first) * done / total, 0)


def provider_period_hours(provider: str, period_hours: int) -> int:
    """Return the hours one usage line of ``provider`` covers (Azure is always daily)."""
    return 24 if provider in DAILY_PROVIDERS else period_hours


def _periods(day: datetime, hours: int) -> Iterator[tuple[datetime, datetime]]:
    step = timedelta(hours=hours)
    for i in range(24 // hours):
        yield day + step * i, day + step * (i + 1)


def _instance_hours(res: Resource, start: datetime, end: datetime) -> int:
    total, moment = 0, start
    while moment < end:
        total += instances_at(res, moment)
        moment += timedelta(hours=1)
    return total


@lru_cache(maxsize=1024)
def _with_experiment(labels: Labels, experiment: str) -> Labels:
    return replace(labels, experiment=experiment)


def _finish(charge: Charge, res: Resource, start: datetime) -> Charge:
    window = window_at(res, start)
    if window is not None and window[2] and window[2] != res.labels.experiment:
        charge.labels = _with_experiment(res.labels, window[2])
    charge.story = story_at(res, start)
    if charge.sku is not None and charge.sku.gpu_model is not None:
        charge.gpu_count = Decimal(res.gpus)
    charge.zone, charge.resource_name = res.zone, res.name
    charge.resource_type, charge.tags = res.resource_type, res.tags
    return charge


def _compute(res: Resource, day: datetime, hours: int, seed: int) -> Iterator[Charge]:
    skus = {key: SKUS[res.provider][key] for key, _ in res.parts}
    skus = {k: spot_price(s, day, seed) if s.spot else s for k, s in skus.items()}
    for start, end in _periods(day, hours):
        inst = _instance_hours(res, start, end)
        if inst == 0:
            continue
        for key, units in res.parts:
            charge = priced(
                provider=res.provider,
                sub=res.sub,
                start=start,
                end=end,
                sku=skus[key],
                quantity=units * inst,
                labels=res.labels,
                resource=res.id,
            )
            yield _finish(charge, res, start)


def _storage(res: Resource, day: datetime) -> Iterator[Charge]:
    start, end = month_bounds(day)
    gb_month = quant(storage_gb(res, day) / Decimal((end - start).days), 4)
    charge = priced(
        provider=res.provider,
        sub=res.sub,
        start=day,
        end=day + timedelta(days=1),
        sku=SKUS[res.provider][res.parts[0][0]],
        quantity=gb_month,
        labels=res.labels,
        resource=res.id,
    )
    yield _finish(charge, res, day)


def _egress(res: Resource, day: datetime, hours: int, state: UsageState) -> Iterator[Charge]:
    base = SKUS[res.provider][res.parts[0][0]]
    month = f"{day.year:04d}-{day.month:02d}"
    for start, end in _periods(day, hours):
        inst = _instance_hours(res, start, end)
        if inst == 0:
            continue
        gb = Decimal(res.size_gb[0] * inst)
        done = state.egress_gb.get((res.id, month), ZERO)
        state.egress_gb[(res.id, month)] = done + gb
        rate = next(dec(r) for limit, r in EGRESS_TIERS if done < limit)
        sku = replace(
            base, price=rate, description=f"${rate} per GB data transfer out to the internet"
        )
        charge = priced(
            provider=res.provider,
            sub=res.sub,
            start=start,
            end=end,
            sku=sku,
            quantity=gb,
            labels=res.labels,
            resource=res.id,
        )
        yield _finish(charge, res, start)


def resource_day(
    res: Resource, day: datetime, *, period_hours: int, state: UsageState
) -> Iterator[Charge]:
    """Yield the usage charges of one resource on one day (before commitments)."""
    hours = provider_period_hours(res.provider, period_hours)
    if res.pricing == "egress":
        yield from _egress(res, day, hours, state)
    elif res.size_gb != (0, 0):
        yield from _storage(res, day)
    else:
        yield from _compute(res, day, hours, state.seed)


def provider_day(
    provider: str,
    day: datetime,
    *,
    roster: list[Resource],
    ledger: Ledger,
    period_hours: int,
    state: UsageState,
) -> Iterator[Charge]:
    """Yield every charge of ``provider`` on ``day``, commitments and month end included."""
    yield from ledger.open_day(day)
    for res in roster:
        for charge in resource_day(res, day, period_hours=period_hours, state=state):
            yield ledger.apply(charge, res)
    yield from ledger.close_day(day)
    yield from ledger.month_end(day)
