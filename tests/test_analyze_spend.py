"""Spend analysis: exact Decimal roll-ups, the same on DuckDB and PySpark."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aifinops.analyze import parse_dimensions, parse_period, spend
from aifinops.analyze.spend import DIMENSIONS, Period
from aifinops.errors import BadInputError
from aifinops.ingest.pipeline import ingest
from aifinops.lake import Lake, connect

HEADER = [
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
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "Tags",
]

# (provider, account, month, service, category, region, billed, effective, list, contracted)
ROWS = [
    (
        "AWS",
        "111111111111",
        "2026-08",
        "Amazon EC2",
        "Compute",
        "us-east-1",
        "100.000000000001",
        "80.5",
        "120",
        "100.000000000001",
    ),
    (
        "AWS",
        "111111111111",
        "2026-08",
        "Amazon S3",
        "Storage",
        "us-east-1",
        "0.000000000001",
        "0.000000000001",
        "0.000000000002",
        "0.000000000001",
    ),
    (
        "AWS",
        "111111111111",
        "2026-09",
        "Amazon EC2",
        "Compute",
        "us-west-2",
        "50.25",
        "40.25",
        "60",
        "50.25",
    ),
    (
        "Microsoft",
        "enroll-42",
        "2026-08",
        "Virtual Machines",
        "Compute",
        "eastus",
        "33.333333333333",
        "33.333333333333",
        "40",
        "33.333333333333",
    ),
    (
        "Microsoft",
        "enroll-42",
        "2026-09",
        "Storage Accounts",
        "Storage",
        "eastus",
        "-1.5",
        "-1.5",
        "0",
        "-1.5",
    ),
    (
        "Google Cloud",
        "01ABCD-234567-89EFGH",
        "2026-10",
        "Compute Engine",
        "Compute",
        "europe-west4",
        "7.77",
        "6.66",
        "9.99",
        "7.77",
    ),
]


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return f"{year + mon // 12}-{mon % 12 + 1:02d}"


def _write_focus(path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for prov, acct, month, svc, cat, region, billed, eff, lst, con in ROWS:
            start, end = f"{month}-01T00:00:00Z", f"{_next_month(month)}-01T00:00:00Z"
            writer.writerow(
                [
                    prov,
                    acct,
                    f"{prov} account",
                    "USD",
                    start,
                    end,
                    start,
                    f"{month}-02T00:00:00Z",
                    "Usage",
                    "Usage-Based",
                    "Standard",
                    svc,
                    cat,
                    region,
                    billed,
                    eff,
                    lst,
                    con,
                    '{"team": "ml"}',
                ]
            )
    del end


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("spend")
    source = root / "costs.csv"
    _write_focus(source)
    target = Lake.open(root / "lake")
    ingest([source], target)
    return target


@pytest.fixture(params=["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def run(request: pytest.FixtureRequest, lake: Lake) -> Any:
    engine = connect(lake, engine=request.param)

    def execute(**kwargs: Any) -> list[dict[str, Any]]:
        return engine.execute(spend(engine.costs(), **kwargs)).to_pylist()

    return execute


def _expected(by_index: int | None, *, months: tuple[str, str] | None = None) -> dict[Any, Decimal]:
    totals: dict[Any, Decimal] = {}
    for row in ROWS:
        if months and not months[0] <= row[2] <= months[1]:
            continue
        key = row[by_index] if by_index is not None else None
        totals[key] = totals.get(key, Decimal(0)) + Decimal(row[6])
    return totals


def test_total_billed_cost_is_exact(run: Any) -> None:
    rows = run(by=[])
    assert len(rows) == 1
    assert rows[0]["billed_cost"] == sum(Decimal(r[6]) for r in ROWS)
    assert rows[0]["rows"] == len(ROWS)


def test_spend_by_provider_matches_hand_sums_and_orders_by_effective_cost(run: Any) -> None:
    rows = run(by=["provider"])
    assert {r["provider"]: r["billed_cost"] for r in rows} == _expected(0)
    effective = [r["effective_cost"] for r in rows]
    assert effective == sorted(effective, reverse=True)


def test_savings_is_list_minus_effective(run: Any) -> None:
    for row in run(by=["provider", "service"]):
        assert row["savings"] == row["list_cost"] - row["effective_cost"]


def test_period_filter_keeps_only_those_billing_months(run: Any) -> None:
    rows = run(by=["provider", "month"], period=Period("2026-08", "2026-08"))
    assert {r["month"] for r in rows} == {"2026-08"}
    assert sum(r["billed_cost"] for r in rows) == sum(
        _expected(0, months=("2026-08", "2026-08")).values()
    )


def test_spend_by_month_and_region(run: Any) -> None:
    rows = run(by=["month", "region"], period=Period("2026-09", "2026-10"))
    assert {(r["month"], r["region"]): r["billed_cost"] for r in rows} == {
        ("2026-09", "us-west-2"): Decimal("50.25"),
        ("2026-09", "eastus"): Decimal("-1.5"),
        ("2026-10", "europe-west4"): Decimal("7.77"),
    }


@pytest.mark.spark
def test_duckdb_and_pyspark_give_equal_results(lake: Lake) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        engine = connect(lake, engine=name)
        expr = spend(engine.costs(), by=["provider", "account", "month", "service"])
        results.append(engine.execute(expr).to_pylist())
    assert results[0] == results[1]


def test_every_dimension_compiles_and_runs(lake: Lake) -> None:
    engine = connect(lake)
    for name in DIMENSIONS:
        rows = engine.execute(spend(engine.costs(), by=[name])).to_pylist()
        assert sum(r["rows"] for r in rows) == len(ROWS), name


def test_empty_lake_gives_no_rows(tmp_path: Path) -> None:
    engine = connect(Lake.open(tmp_path / "empty"))
    assert engine.execute(spend(engine.costs(), by=["provider"])).to_pylist() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09", Period("2026-09", "2026-09")),
        ("2026-08..2026-10", Period("2026-08", "2026-10")),
        ("2026", Period("2026-01", "2026-12")),
        ("all", None),
        (None, None),
    ],
)
def test_parse_period(text: str | None, expected: Period | None) -> None:
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["2026-13", "2026-10..2026-08", "last week", "26-01"])
def test_bad_period_says_what_is_expected(text: str) -> None:
    with pytest.raises(BadInputError) as caught:
        parse_period(text)
    assert caught.value.expected and "YYYY-MM" in caught.value.expected


def test_unknown_dimension_lists_the_known_ones() -> None:
    assert parse_dimensions("provider, service") == ["provider", "service"]
    with pytest.raises(BadInputError) as caught:
        parse_dimensions("provider,colour")
    assert "colour" in str(caught.value) and "service" in str(caught.value.expected)
