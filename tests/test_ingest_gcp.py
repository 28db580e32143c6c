"""Google Cloud BigQuery billing export: golden demo ingest, semantics, formats, bad input."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq
import pytest

from aifinops.demo import DemoResult, generate
from aifinops.errors import BadInputError
from aifinops.focus.columns import SERVICE_SUBCATEGORIES, focus_schema
from aifinops.focus.validate import validate
from aifinops.ingest.gcp_billing import _table
from aifinops.ingest.pipeline import IngestReport, ingest
from aifinops.lake.engine import connect
from aifinops.lake.store import Lake

FIXTURES = Path(__file__).parent / "data" / "gcp"
PACIFIC = FIXTURES / "pacific-standard.jsonl"
FOCUS_COLUMNS = [f.name for f in focus_schema(with_extras=False)]
NAME = {"BillingAccountName": "Nimbus Labs"}


def lake_rows(lake: Lake) -> list[dict[str, Any]]:
    """Return every lake row (all lake columns)."""
    files = sorted(lake.costs_dir.rglob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pylist()


def parsed(row: dict[str, Any]) -> dict[str, Any]:
    """Return the FOCUS columns of ``row`` with JSON columns parsed."""
    out = {c: row[c] for c in FOCUS_COLUMNS}
    for column in ("Tags", "SkuPriceDetails"):
        if out[column] is not None:
            out[column] = json.loads(out[column])
    return out


def stable(row: dict[str, Any]) -> tuple[str, ...]:
    keys = ("ChargePeriodStart", "SubAccountId", "ResourceId", "ChargeDescription")
    return tuple(str(row[k]) for k in keys)


# -- golden: the demo's export ingests to the demo's truth -----------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return generate(tmp_path_factory.mktemp("demo"), seed=7, scale=0.05)


@pytest.fixture(scope="module")
def golden(demo: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, IngestReport]:
    lake = Lake.open(tmp_path_factory.mktemp("gcp") / "lake")
    return lake, ingest(demo.native_files["gcp"], lake, fallbacks=NAME)


def test_demo_export_ingests_to_the_truth_row_for_row(
    demo: DemoResult, golden: tuple[Lake, IngestReport]
) -> None:
    truth_files = [f for f in demo.truth_files if f.name.startswith("gcp-")]
    truth = sorted(
        (parsed(r) for f in truth_files for r in pq.read_table(f).to_pylist()), key=stable
    )
    got = sorted((parsed(r) for r in lake_rows(golden[0])), key=stable)
    assert len(got) == len(truth) > 500
    for mine, want in zip(got, truth, strict=True):
        assert len(mine) == len(FOCUS_COLUMNS) == 57
        assert mine == want, stable(want)


def test_demo_golden_rows_carry_what_the_export_says(golden: tuple[Lake, IngestReport]) -> None:
    rows = lake_rows(golden[0])
    # The BigQuery export has no invoice id, so neither has the truth.
    assert {r["InvoiceId"] for r in rows} == {None}
    # Vertex AI rows: the machine type comes from the machine_spec system label; enrichment
    # adds FOCUS's GpuCount (the SKU's "with 1 L4 GPU").
    vertex = {r["SkuPriceDetails"] for r in rows if r["ServiceName"] == "Vertex AI"}
    assert vertex == {'{"InstanceType":"g2-standard-8","GpuCount":1}'}
    # CUD fee rows have their own commitment SKU, not the covered L4 usage SKU.
    fees = {(r["SkuId"], r["SkuMeter"]) for r in rows if r["ChargeCategory"] == "Purchase"}
    assert len(fees) == 1
    (fee_sku, meter), *_ = fees
    assert meter == "Commitment v1: Nvidia L4 GPU in Americas for 1 Year"
    covered = {r["SkuId"] for r in rows if r["CommitmentDiscountStatus"] == "Used"}
    assert covered and fee_sku not in covered


def test_demo_totals_and_reconciliation(
    demo: DemoResult, golden: tuple[Lake, IngestReport]
) -> None:
    _lake, report = golden
    for part in report.partitions:
        key = (part.provider_name, part.billing_account_id, part.key.billing_period)
        assert (part.billed_cost, part.effective_cost) == demo.totals[key]
    assert len(report.reconciliation) == 3
    assert all(r.ok and r.difference == 0 for r in report.reconciliation)
    assert {f.format for f in report.files} == {"gcp-billing-json"}
    assert {f.version for f in report.files} == {"detailed"}


def test_demo_lake_passes_our_validator(golden: tuple[Lake, IngestReport]) -> None:
    engine = connect(golden[0])
    report = validate(engine.costs(), execute=engine.execute)
    assert report.ok, report.to_rows()


# -- semantics on a hand-written export (Pacific invoice months) -----------------------------


@pytest.fixture(scope="module")
def pacific(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    lake = Lake.open(tmp_path_factory.mktemp("pacific") / "lake")
    ingest([PACIFIC], lake)
    return sorted(lake_rows(lake), key=lambda r: str(r["ChargePeriodStart"]))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_invoice_months_are_pacific_time(pacific: list[dict[str, Any]]) -> None:
    february = [r for r in pacific if r["BillingPeriodStart"].month == 2]
    assert {(r["BillingPeriodStart"], r["BillingPeriodEnd"]) for r in february} == {
        (utc(2026, 2, 1, 8), utc(2026, 3, 1, 8))  # PST: UTC-8
    }
    july = [r for r in pacific if r["BillingPeriodStart"].month == 7]
    assert [(r["BillingPeriodStart"], r["BillingPeriodEnd"]) for r in july] == [
        (utc(2026, 7, 1, 7), utc(2026, 8, 1, 7))  # PDT: UTC-7
    ]


#: The columns a Credit row shares with its export row's usage row.
SHARED = (
    "BillingAccountId BillingAccountType BillingCurrency BillingPeriodStart BillingPeriodEnd "
    "ChargePeriodStart ChargePeriodEnd ProviderName PublisherName InvoiceIssuerName "
    "ServiceName ServiceCategory ServiceSubcategory SubAccountId SubAccountName SubAccountType "
    "RegionId RegionName AvailabilityZone ResourceId ResourceName ResourceType Tags ChargeClass"
).split()
#: The columns a Credit row leaves empty: it has no price, quantity, SKU or commitment.
EMPTY_ON_CREDIT = (
    "ConsumedQuantity ConsumedUnit ContractedUnitPrice ListUnitPrice PricingCategory "
    "PricingQuantity PricingUnit SkuId SkuMeter SkuPriceDetails SkuPriceId "
    "CommitmentDiscountId CommitmentDiscountCategory CommitmentDiscountName "
    "CommitmentDiscountType CommitmentDiscountStatus CommitmentDiscountQuantity "
    "CommitmentDiscountUnit CapacityReservationId CapacityReservationStatus"
).split()


def test_discounts_stay_on_the_row_and_promotions_become_credit_rows(
    pacific: list[dict[str, Any]],
) -> None:
    # The T4 hour of 2026-02-10 10:00Z: cost 0.35, SUD -0.05, free trial (PROMOTION) -0.1.
    hour = [r for r in pacific if r["ChargePeriodStart"] == utc(2026, 2, 10, 10)]
    usage = next(r for r in hour if r["ChargeCategory"] == "Usage")
    assert usage["BilledCost"] == usage["EffectiveCost"] == Decimal("0.3")
    assert usage["ListCost"] == usage["ContractedCost"] == Decimal("0.35")
    assert [c["id"] for c in json.loads(usage["x_SourceExtras"])["credits"]] == ["sud-1"]
    (credit,) = [r for r in hour if r["ChargeCategory"] == "Credit"]
    assert len(hour) == 2
    for column in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        assert credit[column] == Decimal("-0.1"), column
    assert (credit["ChargeDescription"], credit["ChargeFrequency"]) == (
        "Free trial credit",
        "One-Time",
    )
    assert {c: credit[c] for c in SHARED} == {c: usage[c] for c in SHARED}
    assert {c: credit[c] for c in EMPTY_ON_CREDIT} == dict.fromkeys(EMPTY_ON_CREDIT)
    extras = json.loads(credit["x_SourceExtras"])
    assert [(c["id"], c["type"]) for c in extras["credits"]] == [("promo-1", "PROMOTION")]
    assert Decimal(extras["credits"][0]["amount"]) == Decimal("-0.1")
    assert [r["ChargeCategory"] for r in pacific].count("Credit") == 1


def test_promotions_of_one_row_give_one_credit_row(tmp_path: Path) -> None:
    records = lines()
    records[0]["credits"] = [
        {"name": "Trial", "amount": -0.2, "full_name": None, "id": "p-1", "type": "PROMOTION"},
        {"name": "Startup", "amount": -0.05, "full_name": "Startup program credit",
         "id": "p-2", "type": "PROMOTION"},
        {"name": "New kind", "amount": -0.01, "full_name": None, "id": "x-1", "type": "NEW"},
    ]  # fmt: skip
    lake = Lake.open(tmp_path / "lake")
    report = ingest([write_jsonl(tmp_path / "promos.jsonl", records)], lake)
    rows = [r for r in lake_rows(lake) if r["ChargePeriodStart"] == utc(2026, 3, 1, 2)]
    by_category = {r["ChargeCategory"]: r for r in rows}
    assert len(rows) == len(by_category) == 2
    # An unknown credit type is netted like a discount; the promotions leave the row.
    assert by_category["Usage"]["BilledCost"] == Decimal("0.34")
    credit = by_category["Credit"]
    assert (credit["BilledCost"], credit["ChargeDescription"]) == (
        Decimal("-0.25"),
        "Trial; Startup program credit",
    )
    assert [c["id"] for c in json.loads(credit["x_SourceExtras"])["credits"]] == ["p-1", "p-2"]
    assert all(r.ok and r.difference == 0 for r in report.reconciliation)


def test_spend_cud_tax_and_correction(pacific: list[dict[str, Any]]) -> None:
    sql = next(r for r in pacific if r["ServiceName"] == "Cloud SQL")
    assert sql["BilledCost"] == Decimal("0.9")
    assert (sql["CommitmentDiscountCategory"], sql["CommitmentDiscountId"]) == (
        "Spend",
        "cud-spend-1",
    )
    assert (sql["PricingCategory"], sql["CommitmentDiscountStatus"]) == ("Committed", "Used")
    assert (sql["ServiceCategory"], sql["ServiceSubcategory"]) == (
        "Databases",
        "Relational Databases",
    )
    tax = next(r for r in pacific if r["ChargeCategory"] == "Tax")
    assert tax["PricingQuantity"] is None and tax["SkuId"] is None and tax["RegionId"] is None
    fix = next(r for r in pacific if r["ChargeClass"] == "Correction")
    assert (fix["ChargeCategory"], fix["BilledCost"]) == ("Usage", Decimal("-0.2"))
    assert fix["ConsumedQuantity"] is None


def test_tags_flatten_labels_system_labels_and_resource_tags(
    pacific: list[dict[str, Any]],
) -> None:
    gpu = pacific[-2]  # the T4 hour at 2026-03-01 02:00Z, February's invoice
    assert gpu["ChargePeriodStart"] == utc(2026, 3, 1, 2)
    assert json.loads(gpu["Tags"]) == {
        "team": "vision",
        "adhoc": True,
        "gcp-system/compute.googleapis.com/machine_spec": "n1-standard-8",
        "gcp-tag/111111111111/env": "prod",
    }
    assert "cost-center" not in gpu["Tags"]  # project labels are not resource labels
    # The machine type from machine_spec; enrichment adds GpuCount per pricing unit (a GPU SKU
    # bills one GPU per hour, whatever the machine has).
    assert json.loads(gpu["SkuPriceDetails"]) == {"InstanceType": "n1-standard-8", "GpuCount": 1}
    assert (gpu["SkuId"], gpu["ChargeDescription"]) == (
        "0ACF-E0A3-B3E8",
        "Nvidia Tesla T4 GPU running in Americas",
    )
    assert (gpu["RegionName"], gpu["PricingUnit"], gpu["SubAccountType"]) == (
        "South Carolina",
        "Hours",
        "Project",
    )


def test_pacific_export_reconciles_and_passes_our_validator(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    report = ingest([PACIFIC], lake)
    assert {r.billing_period for r in report.reconciliation} == {"2026-02", "2026-07"}
    assert all(r.ok and r.difference == 0 for r in report.reconciliation)
    assert {f.version for f in report.files} == {"standard"}
    # The Credit row leaves the file's total as Google bills it: Σ(cost + Σ every credit).
    billed = sum(
        (
            Decimal(str(r["cost"])) + sum((Decimal(str(c["amount"])) for c in r["credits"]), 0)
            for r in lines()
        ),
        Decimal(0),
    )
    assert sum((r.source_total for r in report.reconciliation), Decimal(0)) == billed
    assert sum((r["BilledCost"] for r in lake_rows(lake)), Decimal(0)) == billed
    engine = connect(lake)
    result = validate(engine.costs(), execute=engine.execute)
    assert result.ok, result.to_rows()


# -- the same export as Parquet, CSV (records as JSON text) and JSONL.gz ---------------------


def write_csv(path: Path) -> Path:
    records = [json.loads(line) for line in PACIFIC.read_text().splitlines()]
    header = list(records[0])
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for rec in records:
            writer.writerow(["" if rec.get(k) is None else _cell(rec[k]) for k in header])
    return path


def _cell(value: object) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl.gz"])
def test_other_kinds_read_like_jsonl(
    kind: str, pacific: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / f"export.{kind}"
    if kind == "parquet":
        pq.write_table(pj.read_json(PACIFIC), path)
    elif kind == "csv":
        write_csv(path)
    else:
        path.write_bytes(gzip.compress(PACIFIC.read_bytes()))
    lake = Lake.open(tmp_path / "lake")
    ingest([path], lake)
    got = sorted(lake_rows(lake), key=lambda r: str(r["ChargePeriodStart"]))
    assert [parsed(r) for r in got] == [parsed(r) for r in pacific]
    assert [r["ChargeCategory"] for r in got].count("Credit") == 1


# -- bad input ------------------------------------------------------------------------------


def lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in PACIFIC.read_text().splitlines()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_non_numeric_cost_names_the_row(tmp_path: Path) -> None:
    records = lines()
    records[2]["cost"] = "12,5 EUR"  # after the row with a promotion credit (row 2)
    path = write_jsonl(tmp_path / "bad-cost.jsonl", records)
    with pytest.raises(BadInputError) as info:
        ingest([path], Lake.open(tmp_path / "lake"))
    err = info.value
    assert (err.file, err.row, err.column) == (str(path), 3, "cost")
    assert "'12,5 EUR' is not a number" in str(err)


def test_truncated_jsonl_gz(tmp_path: Path) -> None:
    data = gzip.compress(PACIFIC.read_bytes() * 50)
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInputError, match="gzip stream ends early") as info:
        ingest([path], Lake.open(tmp_path / "lake"))
    assert info.value.file == str(path)


def test_mixed_currencies_in_one_account_month(tmp_path: Path) -> None:
    records = lines()
    records[1]["currency"] = "EUR"
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    with pytest.raises(BadInputError, match="mixes billing currencies") as info:
        ingest([path], Lake.open(tmp_path / "lake"))
    assert (info.value.file, info.value.row, info.value.column) == (
        str(path),
        2,
        "BillingCurrency",
    )


def test_jsonl_that_is_not_a_billing_export(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no reader recognises") as info:
        ingest([FIXTURES / "not-billing.jsonl"], Lake.open(tmp_path / "lake"))
    assert info.value.file == str(FIXTURES / "not-billing.jsonl")


# -- package data ---------------------------------------------------------------------------


def test_service_table_uses_focus_categories() -> None:
    for _service, category, subcategory, _note in _table("gcp_services.csv"):
        assert SERVICE_SUBCATEGORIES[subcategory] == category, subcategory
