"""The GPU report: accelerator-hours and effective USD per accelerator-hour, beside the catalog.

The engine sums the lake's accelerator rows (those enrichment gave an ``x_GpuModel`` and
``x_AcceleratorHours``) by accelerator model × provider × region × pricing category × spot
× price basis; Python then divides those exact sums (``effective_rate`` = ΣEffectiveCost ÷
Σx_AcceleratorHours) and looks up the catalog's prices for the same model (small, in memory):
the cheapest on-demand and spot offer in that region (naming the instance type), the cheapest
anywhere (naming cloud, region and instance type), and what paying that would have saved.

Catalog prices come from ``Catalog.prices`` (per accelerator-hour = ``usd_per_hour ÷
accelerator_count``, exact; the config's price overrides apply): the prices ``aifinops
catalog gpus`` shows, there rounded to 10 places.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import ibis
import ibis.expr.types as ir

from aifinops.analyze.report_rows import Execute, Row, order_rows, ratio, trimmed
from aifinops.analyze.spend import Period, in_period
from aifinops.analyze.summary import PRICE_BASIS, row_count
from aifinops.catalog import CLOUD_OF_PROVIDER, Catalog, cloud_key

#: What one GPU row is grouped by.
GPU_KEYS = ("gpu_model", "provider", "region", "pricing_category", "is_spot", "price_basis")
#: The engine's sums per group.
GPU_SUMS = ("accelerator_hours", "effective_cost", "billed_cost", "list_cost", "rows")
#: Every column of a finished GPU row, in order (JSON and CSV carry them all).
GPU_COLUMNS = (
    *GPU_KEYS[:5],
    "accelerator_hours",
    "effective_cost",
    "effective_rate",
    "region_ondemand",
    "region_ondemand_type",
    "region_spot",
    "region_spot_type",
    "cheapest_ondemand",
    "cheapest_ondemand_where",
    "cheapest_spot",
    "cheapest_spot_where",
    "saving_vs_ondemand",
    "saving_vs_spot",
    "price_basis",
    "billed_cost",
    "list_cost",
    "rows",
)
#: Columns of the cheapest-offer rows (one per model and term).
CHEAPEST_COLUMNS = (
    "gpu_model",
    "term",
    "usd_per_accelerator_hour",
    "cloud",
    "region",
    "instance_type",
)
#: A Google Cloud SKU that bills a whole machine ("Vertex AI: … G2 Instance with 1 L4 GPU").
_WITH_HOST = r"(?i)instance with"
#: The terms compared: on-demand and spot.
COMPARED_TERMS = ("ondemand", "spot")
#: The region shown for a price (a config override) that answers for every region.
ANY_REGION = "(any)"
#: What a GCP GPU/TPU SKU price covers (no host) vs an instance price (host included).
ACCELERATOR_ONLY = "accelerator-only"
INSTANCE = "instance"
#: How each price basis is explained under the report.
BASIS_NOTE = (
    "price_basis: 'accelerator-only' rows are Google Cloud GPU/TPU SKUs, billed apart from "
    "the VM: their rate excludes the host's vCPU and RAM, as do the catalog's gpu:<model> "
    "prices. 'instance' rates (AWS, Azure, Vertex AI machines) and every other catalog "
    "offer include the host. Compare like with like before acting on a saving."
)


@dataclass(frozen=True)
class Offer:
    """One catalog price of one accelerator-hour: where, and how much."""

    cloud: str
    region: str
    instance_type: str
    usd_per_accelerator_hour: Decimal

    def where(self) -> str:
        """Return ``cloud region instance_type``."""
        return f"{self.cloud} {self.region} {self.instance_type}"

    def order(self) -> tuple[Decimal, str, str, str]:
        """Return the sort key: cheapest first, then by name (a stable tie-break)."""
        return (self.usd_per_accelerator_hour, self.cloud, self.region, self.instance_type)


class PriceBook:
    """The catalog's on-demand and spot prices per accelerator model, as exact USD per
    accelerator-hour (``usd_per_hour ÷ accelerator_count``), indexed for lookups."""

    def __init__(self, catalog: Catalog) -> None:
        self._offers: dict[tuple[str, str], list[Offer]] = defaultdict(list)
        for price in catalog.prices:
            if not price.accelerator or price.term not in COMPARED_TERMS:
                continue
            rate = ratio(price.usd_per_hour, price.accelerator_count)
            if rate is not None:
                region = price.region or ANY_REGION
                offer = Offer(price.cloud, region, price.instance_type, rate)
                self._offers[(price.accelerator, price.term)].append(offer)

    def in_region(self, model: str, provider: str, region: str, term: str) -> Offer | None:
        """Return the cheapest offer of ``model`` in one cloud region (``provider`` may be a
        FOCUS ProviderName), or None when the catalog prices none there.

        A region-less price (a config override) answers for every region, unless a price
        of the same instance type for this very region exists (that one wins).
        """
        cloud, place = cloud_key(provider), region.lower()
        by_type: dict[str, Offer] = {}
        for offer in self._offers.get((model, term), []):
            if offer.cloud != cloud:
                continue
            if offer.region == place:
                by_type[offer.instance_type.lower()] = offer
            elif offer.region == ANY_REGION:
                by_type.setdefault(offer.instance_type.lower(), offer)
        return _cheapest(by_type.values())

    def anywhere(self, model: str, term: str) -> Offer | None:
        """Return the cheapest offer of ``model`` in any cloud and region, or None."""
        return _cheapest(self._offers.get((model, term), []))


def _cheapest(offers: Iterable[Offer]) -> Offer | None:
    return min(offers, key=Offer.order, default=None)


def saving(cost: Decimal | None, hours: Decimal | None, offer: Offer | None) -> Decimal | None:
    """Return what ``hours`` at the offer's rate would have saved on ``cost``.

    ``hours × (your rate − offer rate)`` = ``cost − hours × offer rate``, exactly; never
    negative (0 when you already pay the offer's rate or less); None without an offer.
    """
    if cost is None or hours is None or offer is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 80  # exact: sums carry 18 places, rates up to 10
        return trimmed(max(cost - hours * offer.usd_per_accelerator_hour, Decimal(0)))


def compare(row: dict[str, Any], book: PriceBook) -> dict[str, Any]:
    """Return the catalog columns for one usage row (model, provider, region, hours, cost)."""
    model, provider, region = row["gpu_model"], row["provider"], row["region"] or ""
    cost, hours = row["effective_cost"], row["accelerator_hours"]
    local = {t: book.in_region(model, provider, region, t) for t in COMPARED_TERMS}
    best = {t: book.anywhere(model, t) for t in COMPARED_TERMS}
    columns: dict[str, Any] = {}
    for term in COMPARED_TERMS:
        here = local[term]
        columns[f"region_{term}"] = here.usd_per_accelerator_hour if here else None
        columns[f"region_{term}_type"] = here.instance_type if here else None
    for term in COMPARED_TERMS:
        cheapest = best[term]
        columns[f"cheapest_{term}"] = cheapest.usd_per_accelerator_hour if cheapest else None
        columns[f"cheapest_{term}_where"] = cheapest.where() if cheapest else None
    for term in COMPARED_TERMS:
        columns[f"saving_vs_{term}"] = saving(cost, hours, best[term])
    return columns


@dataclass(frozen=True)
class GpuReport:
    """The finished rows, the cheapest offer per model and term, and what the reader must
    know to compare them (:data:`BASIS_NOTE`)."""

    rows: list[Row]
    cheapest: list[Row]
    notes: tuple[str, ...]


def price_basis(t: ir.Table) -> ir.StringValue:
    """Return ``accelerator-only`` for Google Cloud GPU/TPU SKU rows, else ``instance``."""
    if PRICE_BASIS in t.columns:  # a summary: computed per raw row already
        return t[PRICE_BASIS]
    gcp = [name for name, cloud in CLOUD_OF_PROVIDER.items() if cloud == "gcp"]
    text = ibis.coalesce(t.SkuMeter, t.ChargeDescription, "")
    only = t.ProviderName.isin(gcp).fill_null(False) & ~text.re_search(_WITH_HOST)
    return ibis.ifelse(only, ibis.literal(ACCELERATOR_ONLY), ibis.literal(INSTANCE))


def accelerator_rows(costs: ir.Table, period: Period | None = None) -> ir.Table:
    """Return the rows that bought accelerator-hours (model and hours known) in ``period``."""
    table = in_period(costs, period)
    return table.filter(table.x_GpuModel.notnull() & table.x_AcceleratorHours.notnull())


def gpu_usage(costs: ir.Table, *, period: Period | None = None) -> ir.Table:
    """Return accelerator-hours and costs by :data:`GPU_KEYS` (engine sums, exact).

    Columns: :data:`GPU_KEYS` then :data:`GPU_SUMS`; ordered by effective cost, largest first.
    ``is_spot`` is False where enrichment left it empty.
    """
    t = accelerator_rows(costs, period)
    groups = {
        "gpu_model": t.x_GpuModel,
        "provider": t.ProviderName,
        "region": t.RegionId,
        "pricing_category": t.PricingCategory,
        "is_spot": t.x_IsSpot.fill_null(False),
        "price_basis": price_basis(t),
    }
    sums = t.group_by(**groups).aggregate(
        accelerator_hours=t.x_AcceleratorHours.sum(),
        effective_cost=t.EffectiveCost.sum(),
        billed_cost=t.BilledCost.sum(),
        list_cost=t.ListCost.sum(),
        rows=row_count(t),
    )
    return sums.select(*GPU_KEYS, *GPU_SUMS).order_by([ibis.desc("effective_cost"), *GPU_KEYS])


def finish_gpu_rows(sums: list[Row], catalog: Catalog | PriceBook) -> list[Row]:
    """Return :func:`gpu_usage` rows with the effective rate and the catalog's comparison.

    ``effective_rate`` = effective_cost ÷ accelerator_hours (exact sums; see
    :func:`aifinops.analyze.report_rows.ratio`). Rows come back in :data:`GPU_COLUMNS` order,
    largest effective cost first.
    """
    book = catalog if isinstance(catalog, PriceBook) else PriceBook(catalog)
    finished = []
    for row in sums:
        rate = ratio(row["effective_cost"], row["accelerator_hours"])
        full: dict[str, Any] = {**row, "effective_rate": rate, **compare(row, book)}
        finished.append({name: full.get(name) for name in GPU_COLUMNS})
    return order_rows(finished, "effective_cost", GPU_KEYS)


def cheapest_offers(models: Iterable[str], catalog: Catalog | PriceBook) -> list[Row]:
    """Return, per model and term (on-demand, spot), the catalog's cheapest offer anywhere.

    Columns: :data:`CHEAPEST_COLUMNS`; a model the catalog prices in neither term is left out.
    """
    book = catalog if isinstance(catalog, PriceBook) else PriceBook(catalog)
    rows = []
    for model in sorted(set(models)):
        for term in COMPARED_TERMS:
            offer = book.anywhere(model, term)
            if offer is not None:
                rows.append(
                    {
                        "gpu_model": model,
                        "term": term,
                        "usd_per_accelerator_hour": offer.usd_per_accelerator_hour,
                        "cloud": offer.cloud,
                        "region": offer.region,
                        "instance_type": offer.instance_type,
                    }
                )
    return rows


def gpu_report(
    costs: ir.Table, execute: Execute, catalog: Catalog, *, period: Period | None = None
) -> GpuReport:
    """Run :func:`gpu_usage` with ``execute`` and finish it with :func:`finish_gpu_rows`.

    Args:
        costs: the lake's cost table (``Engine.costs()``).
        execute: runs an Ibis expression (``Engine.execute``).
        catalog: prices to compare with (``load_catalog()``, with any overrides).
        period: billing months to include.
    """
    book = PriceBook(catalog)
    rows = finish_gpu_rows(execute(gpu_usage(costs, period=period)).to_pylist(), book)
    cheapest = cheapest_offers((row["gpu_model"] for row in rows), book)
    return GpuReport(rows, cheapest, (BASIS_NOTE,) if rows else ())
