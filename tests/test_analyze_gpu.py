"""The GPU report: accelerator-hours and $/accelerator-hour from a real ingested lake, beside
the catalog's prices; the same rows on DuckDB and PySpark.

The lake is a FOCUS CSV written here and ingested for real, so enrichment fills the x_
columns (model, count, accelerator-hours, spot, workload, energy); owners come in the
file's own x_Team / x_Model columns. The other report tests build their lakes with
:func:`focus_row` and :func:`ingest_rows`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from aifinops.analyze import gpu_report, parse_period
from aifinops.analyze.gpu import (
    GPU_COLUMNS,
    GPU_KEYS,
    PriceBook,
    cheapest_offers,
    finish_gpu_rows,
    saving,
)
from aifinops.catalog import Catalog, Price, PriceOverride, cloud_key, load_catalog
from aifinops.ingest.pipeline import ingest
from aifinops.lake import Lake, connect

HEADER = (
    "ProviderName",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeFrequency",
    "PricingCategory",
    "ServiceName",
    "ServiceCategory",
    "RegionId",
    "PricingUnit",
    "PricingQuantity",
    "SkuMeter",
    "SkuPriceDetails",
    "ResourceId",
    "ResourceName",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "Tags",
    "x_Team",
    "x_Model",
)
_ACCOUNTS = {"AWS": "111111111111", "Google Cloud": "01ABCD-234567-89EFGH", "Microsoft": "e-42"}


def focus_row(
    cost: str,
    *,
    provider: str = "AWS",
    region: str = "us-east-1",
    hours: str = "",
    meter: str = "",
    instance: str = "",
    name: str = "",
    team: str = "",
    model: str = "",
    month: str = "2026-08",
    pricing: str = "Standard",
    service: str = "Amazon EC2",
    category: str = "Compute",
    billed: str | None = None,
) -> dict[str, str]:
    """Return one FOCUS row: ``cost`` effective (and billed, list and contracted unless
    ``billed`` is given), ``hours`` of usage priced in Hours."""
    year, mon = int(month[:4]), int(month[5:])
    following = f"{year + mon // 12}-{mon % 12 + 1:02d}"
    return {
        "ProviderName": provider,
        "BillingAccountId": _ACCOUNTS[provider],
        "BillingAccountName": f"{provider} account",
        "BillingCurrency": "USD",
        "BillingPeriodStart": f"{month}-01T00:00:00Z",
        "BillingPeriodEnd": f"{following}-01T00:00:00Z",
        "ChargePeriodStart": f"{month}-03T00:00:00Z",
        "ChargePeriodEnd": f"{month}-04T00:00:00Z",
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "PricingCategory": pricing,
        "ServiceName": service,
        "ServiceCategory": category,
        "RegionId": region,
        "PricingUnit": "Hours" if hours else "",
        "PricingQuantity": hours,
        "SkuMeter": meter,
        "SkuPriceDetails": f'{{"InstanceType":"{instance}"}}' if instance else "",
        "ResourceId": f"res-{name or 'x'}",
        "ResourceName": name,
        "BilledCost": cost if billed is None else billed,
        "EffectiveCost": cost,
        "ListCost": cost if billed is None else billed,
        "ContractedCost": cost if billed is None else billed,
        "Tags": "",
        "x_Team": team,
        "x_Model": model,
    }


def ingest_rows(root: Path, rows: Sequence[dict[str, str]]) -> Lake:
    """Write ``rows`` as a FOCUS CSV under ``root`` and ingest it (enriched) into a new lake."""
    source = root / "costs.csv"
    with open(source, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    lake = Lake.open(root / "lake")
    ingest([source], lake)
    return lake


GCP = {"provider": "Google Cloud", "region": "us-central1", "service": "Compute Engine"}
ROWS = [
    # p5.48xlarge: 8 H100s per instance; 10 h + 2.5 h (per-second billing) = 100 GPU-hours.
    focus_row("400", hours="10", instance="p5.48xlarge", name="llama-sft-job", team="llm"),
    focus_row("137.6", hours="2.5", instance="p5.48xlarge", name="llama-pretrain", team="llm"),
    focus_row("17.6289", hours="1", instance="p5.48xlarge", pricing="Dynamic", name="sweep-42"),
    focus_row("121.2", hours="100", instance="g5.2xlarge", name="ranker-serve", team="search"),
    focus_row("12.12", hours="10", instance="g5.2xlarge", name="ranker-serve", month="2026-09"),
    focus_row("6.06", hours="5", instance="g5.2xlarge", region="mx-central-1", name="ranker-serve"),
    focus_row("3.33", service="Amazon S3", category="Storage", name="datasets"),
    # Google bills the L4 apart from the VM: GPU SKU rows (on demand, spot) and host rows.
    focus_row("28.002", hours="50", meter="Nvidia L4 GPU running in Americas", **GCP),
    focus_row(
        "8.924",
        hours="40",
        meter="Nvidia L4 GPU attached to Spot Preemptible VMs running in Americas",
        **GCP,
    ),
    focus_row("4", hours="200", meter="G2 Instance Core running in Americas", **GCP),
    focus_row(
        "10",
        hours="10",
        meter="Vertex AI: Online/Batch Prediction G2 Instance with 1 L4 GPU running in Americas",
        **GCP,
    ),
    # Azure, on a commitment: amortized (effective) cost, nothing billed.
    focus_row(
        "20",
        billed="0",
        hours="10",
        instance="Standard_NC24ads_A100_v4",
        provider="Microsoft",
        region="eastus",
        pricing="Committed",
        service="Virtual Machines",
        name="nb-alice",
    ),
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return ingest_rows(tmp_path_factory.mktemp("gpu"), ROWS)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def report(lake: Lake, catalog: Catalog) -> dict[tuple[Any, ...], dict[str, Any]]:
    engine = connect(lake)
    found = gpu_report(engine.costs(), engine.execute, catalog)
    return {_key(row): row for row in found.rows}


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in GPU_KEYS)


H100 = ("H100-80GB-SXM", "AWS", "us-east-1", "Standard", False, "instance")
H100_SPOT = ("H100-80GB-SXM", "AWS", "us-east-1", "Dynamic", True, "instance")
A10G = ("A10G", "AWS", "us-east-1", "Standard", False, "instance")
A10G_MX = ("A10G", "AWS", "mx-central-1", "Standard", False, "instance")
L4 = ("L4", "Google Cloud", "us-central1", "Standard", False, "accelerator-only")
L4_SPOT = ("L4", "Google Cloud", "us-central1", "Standard", True, "accelerator-only")
L4_VERTEX = ("L4", "Google Cloud", "us-central1", "Standard", False, "instance")
A100 = ("A100-80GB", "Microsoft", "eastus", "Committed", False, "instance")


def _cheapest(
    prices: Sequence[Price], model: str, term: str, **where: str
) -> tuple[Decimal, Price]:
    """The catalog's cheapest USD per accelerator-hour, read straight from its price rows."""
    rated = [
        (p.usd_per_hour / p.accelerator_count, p.cloud, p.region, p.instance_type, p)
        for p in prices
        if p.accelerator == model
        and p.term == term
        and p.accelerator_count
        and all(getattr(p, k) == v for k, v in where.items())
    ]
    rate, *_, best = min(rated, key=lambda r: r[:4])
    # The models here come 1, 2, 4 or 8 to an instance: the quotient is exact.
    assert rate * best.accelerator_count == best.usd_per_hour
    return rate, best


def test_groups_are_model_cloud_region_pricing_spot_and_basis(report: dict[Any, Any]) -> None:
    # The Google host core row buys no accelerator; the Vertex AI machine (host included)
    # is kept apart from the GPU-only SKU row of the same model, region and pricing.
    assert set(report) == {H100, H100_SPOT, A10G, A10G_MX, L4, L4_SPOT, L4_VERTEX, A100}


def test_accelerator_hours_and_rate_are_exact(report: dict[Any, Any]) -> None:
    h100 = report[H100]
    assert h100["accelerator_hours"] == Decimal(100)  # (10 + 2.5) h × 8 GPUs
    assert h100["effective_cost"] == Decimal("537.6")
    assert h100["effective_rate"] == Decimal("5.376")
    assert h100["rows"] == 2
    spot = report[H100_SPOT]
    assert (spot["accelerator_hours"], spot["effective_rate"]) == (8, Decimal("2.2036125"))
    a10g = report[A10G]  # August's 100 h and September's 10 h: all periods by default
    assert (a10g["accelerator_hours"], a10g["effective_rate"]) == (110, Decimal("1.212"))
    assert (report[A100]["effective_rate"], report[A100]["billed_cost"]) == (2, 0)


def test_google_rows_rates_and_spot(report: dict[Any, Any]) -> None:
    assert report[L4]["effective_rate"] == Decimal("0.56004")
    assert (report[L4_SPOT]["accelerator_hours"], report[L4_SPOT]["effective_rate"]) == (
        40,
        Decimal("0.2231"),
    )
    vertex = report[L4_VERTEX]
    assert (vertex["accelerator_hours"], vertex["effective_cost"], vertex["rows"]) == (10, 10, 1)


def test_catalog_prices_in_region_are_the_cheapest_instance_of_that_model(
    report: dict[Any, Any], catalog: Catalog
) -> None:
    h100 = report[H100]
    for term in ("ondemand", "spot"):
        rate, price = _cheapest(
            catalog.prices, "H100-80GB-SXM", term, cloud="aws", region="us-east-1"
        )
        assert h100[f"region_{term}"] == rate
        assert h100[f"region_{term}_type"] == price.instance_type
    a10g = report[A10G]
    rate, price = _cheapest(catalog.prices, "A10G", "ondemand", cloud="aws", region="us-east-1")
    assert (a10g["region_ondemand"], a10g["region_ondemand_type"]) == (rate, price.instance_type)


def test_cheapest_elsewhere_names_cloud_region_and_type(
    report: dict[Any, Any], catalog: Catalog
) -> None:
    for key, row in report.items():
        for term in ("ondemand", "spot"):
            rate, price = _cheapest(catalog.prices, key[0], term)
            assert row[f"cheapest_{term}"] == rate, (key, term)
            assert row[f"cheapest_{term}_where"] == (
                f"{price.cloud} {price.region} {price.instance_type}"
            )


def test_saving_is_hours_times_rate_difference_never_negative(report: dict[Any, Any]) -> None:
    for row in report.values():
        for term in ("ondemand", "spot"):
            with localcontext(Context(prec=100)):
                gap = row["accelerator_hours"] * (row["effective_rate"] - row[f"cheapest_{term}"])
            assert row[f"saving_vs_{term}"] == max(gap, Decimal(0))
    l4 = report[L4]
    assert l4["saving_vs_ondemand"] == 50 * (Decimal("0.56004") - l4["cheapest_ondemand"])
    assert l4["saving_vs_ondemand"] > 0


def test_region_the_catalog_does_not_price_gives_no_regional_price(
    report: dict[Any, Any],
) -> None:
    row = report[A10G_MX]
    assert row["region_ondemand"] is None and row["region_spot_type"] is None
    assert row["cheapest_ondemand"] is not None


def test_price_override_answers_for_every_region(lake: Lake, catalog: Catalog) -> None:
    cheap = PriceOverride(
        cloud="aws", instance_type="g5.2xlarge", term="ondemand", usd_per_hour=Decimal("0.5")
    )
    engine = connect(lake)
    rows = gpu_report(engine.costs(), engine.execute, catalog.with_overrides([cheap])).rows
    mexico = next(r for r in rows if r["region"] == "mx-central-1")
    assert (mexico["region_ondemand"], mexico["region_ondemand_type"]) == (
        Decimal("0.5"),
        "g5.2xlarge",
    )
    assert mexico["cheapest_ondemand"] == Decimal("0.5")
    assert mexico["saving_vs_ondemand"] == Decimal("6.06") - 5 * Decimal("0.5")


def test_period_keeps_only_its_months(lake: Lake, catalog: Catalog) -> None:
    engine = connect(lake)
    september = gpu_report(engine.costs(), engine.execute, catalog, period=parse_period("2026-09"))
    assert [(r["gpu_model"], r["accelerator_hours"]) for r in september.rows] == [("A10G", 10)]


def test_rows_are_ordered_by_effective_cost_with_every_column(lake: Lake, catalog: Catalog) -> None:
    engine = connect(lake)
    found = gpu_report(engine.costs(), engine.execute, catalog)
    costs = [r["effective_cost"] for r in found.rows]
    assert costs == sorted(costs, reverse=True)
    assert all(tuple(r) == GPU_COLUMNS for r in found.rows)
    assert found.notes and "accelerator-only" in found.notes[0]
    models = {r["gpu_model"] for r in found.cheapest}
    assert models == {"H100-80GB-SXM", "A10G", "L4", "A100-80GB"}


def test_cheapest_offers_match_the_catalog_summary(catalog: Catalog) -> None:
    from aifinops.catalog import gpu_summary

    summary = {row["accelerator"]: row for row in gpu_summary(catalog)}
    for offer in cheapest_offers(["T4", "H100-80GB-SXM"], catalog):
        expected = summary[offer["gpu_model"]]
        term = offer["term"]
        # The summary rounds to 10 places (for display); the report keeps the exact quotient.
        places = Decimal(1).scaleb(-10)
        rate = offer["usd_per_accelerator_hour"]
        assert rate.quantize(places) == expected[f"cheapest_{term}"].quantize(places)
        where = f"{offer['cloud']} {offer['region']} {offer['instance_type']}"
        assert where == expected[f"{term}_where"]


def test_unknown_model_or_cloud_has_no_catalog_prices(catalog: Catalog) -> None:
    sums = [
        {
            "gpu_model": "Imaginary-GPU",
            "provider": "Oracle",
            "region": "x",
            "pricing_category": "Standard",
            "is_spot": False,
            "price_basis": "instance",
            "accelerator_hours": Decimal(2),
            "effective_cost": Decimal(1),
            "billed_cost": Decimal(1),
            "list_cost": Decimal(1),
            "rows": 1,
        }
    ]
    (row,) = finish_gpu_rows(sums, PriceBook(catalog))
    assert row["effective_rate"] == Decimal("0.5")
    assert row["region_ondemand"] is row["cheapest_spot"] is row["saving_vs_ondemand"] is None
    assert cloud_key("Oracle") is None


def test_saving_is_exact_beyond_28_digits() -> None:
    from aifinops.analyze.gpu import Offer

    offer = Offer("aws", "us-east-1", "p5.48xlarge", Decimal("0.1234567891"))
    cost, hours = Decimal("123456789.123456789012345678"), Decimal("98765432.109876543210987654")
    with localcontext(Context(prec=100)):
        exact = cost - hours * offer.usd_per_accelerator_hour
    assert exact != cost - hours * offer.usd_per_accelerator_hour  # 28 digits would round
    assert saving(cost, hours, offer) == exact


def test_empty_lake_gives_no_rows(tmp_path: Path, catalog: Catalog) -> None:
    engine = connect(Lake.open(tmp_path / "empty"))
    assert gpu_report(engine.costs(), engine.execute, catalog).rows == []


@pytest.mark.spark
def test_duckdb_and_pyspark_give_equal_gpu_rows(lake: Lake, catalog: Catalog) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        engine = connect(lake, engine=name)
        results.append(gpu_report(engine.costs(), engine.execute, catalog).rows)
    assert results[0] == results[1]
    assert len(results[0]) == 8
