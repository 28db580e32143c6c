"""Google Cloud FOCUS view / FOCUS export: quirks fixed, kinds, reconciliation, bad input."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.errors import BadInputError
from aifinops.focus.validate import validate
from aifinops.ingest.pipeline import IngestReport, ingest
from aifinops.ingest.readers import READERS, choose_reader
from aifinops.ingest.sniff import sniff
from aifinops.lake.engine import connect
from aifinops.lake.export import export
from aifinops.lake.store import Lake
from support import gcp_focus_fixtures as fx

TOOL = Path(__file__).resolve().parents[1].parent / "shared" / "tools" / "focus-validate"
WRITERS = {"jsonl": fx.write_jsonl, "parquet": fx.write_parquet, "csv": fx.write_csv}


def lake_rows(lake: Lake) -> list[dict[str, Any]]:
    files = sorted(lake.costs_dir.rglob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pylist()


def by_description(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = r["ChargeDescription"]
        out[key if key not in out else key + " (correction)"] = r
    return out


def view_rows_with_todo_account() -> list[dict[str, Any]]:
    rows = fx.view_rows()
    rows[0]["BillingAccountId"] = fx.TODO_ACCOUNT  # the template's literal, not replaced
    return rows


@pytest.fixture(scope="module", params=sorted(WRITERS))
def read(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Lake, IngestReport, str]:
    kind = str(request.param)
    folder = tmp_path_factory.mktemp(f"view-{kind}")
    path = WRITERS[kind](folder / f"focus_view.{kind}", view_rows_with_todo_account())
    lake = Lake.open(folder / "lake")
    return lake, ingest([path], lake, fallbacks={"BillingAccountName": "Acme"}), kind


def d(text: str) -> Decimal:
    return Decimal(text)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- detection ---------------------------------------------------------------------------------


def test_the_view_and_the_export_are_detected_before_focus(tmp_path: Path) -> None:
    names = list(READERS)
    assert names.index("gcp-focus") < names.index("focus")
    view = sniff(fx.write_jsonl(tmp_path / "v.jsonl", fx.view_rows()))
    export_file = sniff(fx.write_parquet(tmp_path / "e.parquet", fx.export_rows()))
    assert choose_reader(view).name == choose_reader(export_file).name == "gcp-focus"
    # A plain FOCUS file (no Google x_ columns) stays with the FOCUS reader.
    plain = tmp_path / "plain.csv"
    plain.write_text("BilledCost,ChargeCategory,ChargePeriodStart,BillingPeriodStart\n")
    assert choose_reader(sniff(plain)).name == "focus"


# -- every kind gives the same, hand-computed rows ---------------------------------------------


def test_partition_totals_and_reconciliation(read: tuple[Lake, IngestReport, str]) -> None:
    _lake, report, kind = read
    # Σ view BilledCost = 2.3472 + 0 + 0.2496 + 9.6 + 0.52 + 0 + 3 + 1.25 - 1.5 - 0.000001;
    # EffectiveCost lacks the CUD fee (0.2496): FOCUS wants 0 on the purchase row.
    total = d("15.466799")
    assert [(p.billing_account_id, p.key.billing_period) for p in report.partitions] == [
        (fx.ACCOUNT, "2026-08")
    ]
    part = report.partitions[0]
    assert (part.billed_cost, part.effective_cost) == (total, total - d("0.2496"))
    (rec,) = report.reconciliation
    assert rec.ok and rec.source_total == total and rec.difference == 0
    expected = {"jsonl": "gcp-focus-view-jsonl", "parquet": "gcp-focus-view-parquet"}
    assert {f.format for f in report.files} == {expected.get(kind, "gcp-focus-view-csv")}
    assert {f.version for f in report.files} == {"view-1.0"}


def test_quirks_are_fixed(read: tuple[Lake, IngestReport, str]) -> None:
    rows = by_description(lake_rows(read[0]))
    assert len(rows) == 10
    for r in rows.values():
        # The view's inclusive Pacific last day becomes the exclusive next-month start.
        assert (r["BillingPeriodStart"], r["BillingPeriodEnd"]) == (
            utc(2026, 8, 1, 7),
            utc(2026, 9, 1, 7),
        )
        # The template's TODO literal falls back to the real id; SubAccountId is the project.
        assert r["BillingAccountId"] == fx.ACCOUNT and r["BillingAccountName"] == "Acme"
        assert (r["SubAccountId"], r["SubAccountName"], r["SubAccountType"]) == (
            "ml-prod",
            "ML Prod",
            "Project",
        )
        assert r["BillingCurrency"] == "USD" and r["InvoiceIssuerName"] == "Google Cloud"
    gpu = rows["Nvidia Tesla A100 GPU running in Americas"]
    assert (gpu["BilledCost"], gpu["EffectiveCost"], gpu["ContractedCost"]) == (
        d("2.3472"),
        d("2.3472"),
        d("2.934"),
    )
    assert (gpu["ChargeCategory"], gpu["ChargeFrequency"], gpu["PricingCategory"]) == (
        "Usage",
        "Usage-Based",
        "Standard",
    )
    assert (gpu["PricingQuantity"], gpu["PricingUnit"], gpu["ContractedUnitPrice"]) == (
        d("1"),
        "Hours",
        d("2.934"),
    )
    assert (gpu["ConsumedQuantity"], gpu["ConsumedUnit"]) == (d("3600"), "seconds")
    assert (gpu["ServiceCategory"], gpu["ServiceSubcategory"]) == ("Compute", "Virtual Machines")
    assert json.loads(gpu["Tags"]) == {
        "team": "ml",
        "gcp-system/compute.googleapis.com/machine_spec": "a2-highgpu-1g",
        "gcp-tag/acme-org/env": "prod",
        "scratch": True,
    }
    # Enrichment adds GpuCount per pricing unit: the GPU SKU bills one GPU per hour.
    assert json.loads(gpu["SkuPriceDetails"]) == {"InstanceType": "a2-highgpu-1g", "GpuCount": 1}
    assert (gpu["ResourceType"], gpu["RegionName"]) == ("Instance", "Iowa")
    extras = json.loads(gpu["x_SourceExtras"])
    assert extras["x_Credits"][0]["Type"] == "SUSTAINED_USAGE_DISCOUNT"
    assert extras["ChargeCategory"] == "usage"


def test_commitments(read: tuple[Lake, IngestReport, str]) -> None:
    rows = by_description(lake_rows(read[0]))
    core = rows["A2 Instance Core running in Americas"]
    assert (core["BilledCost"], core["PricingQuantity"], core["ContractedUnitPrice"]) == (
        d("0"),
        d("12"),
        d("0.0316"),
    )
    assert (core["PricingCategory"], core["CommitmentDiscountStatus"]) == ("Committed", "Used")
    assert (core["CommitmentDiscountId"], core["CommitmentDiscountName"]) == (fx.CUD_ID, "a2-1y")
    assert (core["CommitmentDiscountCategory"], core["CommitmentDiscountType"]) == (
        "Usage",
        "Committed Use Discount",
    )
    assert (core["CommitmentDiscountQuantity"], core["CommitmentDiscountUnit"]) == (
        d("12"),
        "Hours",
    )
    fee = rows["Commitment v1: A2 Cpu in Americas for 1 Year"]
    assert (fee["ChargeCategory"], fee["ChargeFrequency"], fee["PricingCategory"]) == (
        "Purchase",
        "Recurring",
        "Standard",
    )
    assert (fee["CommitmentDiscountId"], fee["CommitmentDiscountStatus"]) == (fx.FEE_ID, None)
    # NOTE: the view cannot amortize the fee (no committed price per covered row).
    assert (fee["BilledCost"], fee["EffectiveCost"]) == (d("0.2496"), d("0"))


def test_other_rows(read: tuple[Lake, IngestReport, str]) -> None:
    rows = by_description(lake_rows(read[0]))
    tpu = rows["TPU v5e chip-hours in us-west4"]
    assert (tpu["ServiceCategory"], tpu["ServiceSubcategory"]) == ("Compute", "Other (Compute)")
    assert (tpu["PricingQuantity"], tpu["RegionName"]) == (d("8"), "Las Vegas")
    storage = rows["Standard Storage US Multi-region"]
    assert (storage["PricingQuantity"], storage["PricingUnit"]) == (d("20"), "GiB-Months")
    assert (storage["ServiceCategory"], storage["ServiceSubcategory"]) == (
        "Storage",
        "Object Storage",
    )
    bq = rows["Analysis"]
    assert (bq["BilledCost"], bq["ListCost"], bq["PricingUnit"]) == (d("0"), d("6.25"), "TiB")
    assert (bq["ServiceCategory"], bq["ServiceSubcategory"]) == ("Databases", "Data Warehouses")
    partner = rows["Partner interconnect attachment"]
    # Unknown service: the first FOCUS category in the taxonomy array; block of 10 hours.
    assert (partner["ServiceCategory"], partner["ServiceSubcategory"]) == (
        "Networking",
        "Other (Networking)",
    )
    assert (partner["PricingQuantity"], partner["ContractedUnitPrice"]) == (d("300"), d("0.01"))
    tax = rows["Sales tax"]
    assert (tax["ChargeCategory"], tax["PricingQuantity"], tax["PricingCategory"]) == (
        "Tax",
        None,
        None,
    )
    fix = rows["Nvidia Tesla A100 GPU running in Americas (correction)"]
    assert (fix["ChargeCategory"], fix["ChargeClass"], fix["BilledCost"]) == (
        "Usage",
        "Correction",
        d("-1.5"),
    )
    rounding = rows["Rounding error"]
    assert (rounding["ChargeCategory"], rounding["ChargeClass"], rounding["BilledCost"]) == (
        "Adjustment",
        None,
        d("-0.000001"),
    )


def test_lake_passes_our_validator(read: tuple[Lake, IngestReport, str]) -> None:
    engine = connect(read[0])
    report = validate(engine.costs(), execute=engine.execute)
    assert report.ok, report.to_rows()


def test_native_export(tmp_path: Path) -> None:
    path = fx.write_parquet(tmp_path / "gcp_billing_export_focus.parquet", fx.export_rows())
    lake = Lake.open(tmp_path / "lake")
    report = ingest([path], lake)
    assert {(f.format, f.version) for f in report.files} == {("gcp-focus-export-parquet", "export")}
    rows = by_description(lake_rows(lake))
    gpu = rows["Nvidia Tesla A100 GPU running in Americas"]
    assert json.loads(gpu["Tags"]) == {
        "team": "ml",
        "gcp-system/compute.googleapis.com/machine_spec": "a2-highgpu-1g",
        "gcp-tag/acme-org/env": "prod",
    }
    assert (gpu["SubAccountId"], gpu["BillingAccountId"]) == ("ml-prod", fx.ACCOUNT)
    assert gpu["BillingPeriodEnd"] == utc(2026, 9, 1, 7)
    assert rows["Sales tax"]["PricingUnit"] is None
    assert all(r.ok for r in report.reconciliation)
    engine = connect(lake)
    assert validate(engine.costs(), execute=engine.execute).ok


@pytest.mark.skipif(not TOOL.exists(), reason="focus-validate is not installed here")
def test_focus_validate_accepts_the_export(
    read: tuple[Lake, IngestReport, str], tmp_path: Path
) -> None:
    if read[2] != "jsonl":
        pytest.skip("one kind is enough: all kinds give the same rows")
    out = export(read[0], tmp_path / "gcp-focus.parquet", fmt="parquet")
    done = subprocess.run(
        ["bash", str(TOOL), str(out.path)], capture_output=True, text=True, timeout=120, check=False
    )
    summary = [line for line in done.stdout.splitlines() if line.startswith("Total:")]
    assert summary, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("- ")]
    # Only the validator's known InvoiceId contradiction may fail (docs/validation.md).
    assert all("InvoiceId-C-00" in line for line in failed), done.stdout


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "jsonl"])  # Parquet NUMERIC cannot hold text
def test_a_non_numeric_billed_cost_names_file_row_and_column(kind: str, tmp_path: Path) -> None:
    rows = fx.view_rows()
    rows[3]["BilledCost"] = "12,5 EUR"
    path = WRITERS[kind](tmp_path / f"bad.{kind}", rows)
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(BadInputError) as info:
        ingest([path], lake)
    err = info.value
    assert (err.file, err.row, err.column) == (str(path), 4, "BilledCost")
    assert "12,5 EUR" in str(err)
    assert not list(lake.costs_dir.rglob("*.parquet"))


def test_an_unknown_cost_type_is_bad_input(tmp_path: Path) -> None:
    rows = fx.view_rows()
    rows[5] |= {"ChargeCategory": "error", "x_CostType": "surprise"}
    path = fx.write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(BadInputError) as info:
        ingest([path], Lake.open(tmp_path / "lake"))
    assert (info.value.row, info.value.column) == (6, "ChargeCategory")
    assert "surprise" in str(info.value)


def test_a_view_without_any_billing_account_is_bad_input(tmp_path: Path) -> None:
    rows = fx.view_rows()
    rows[1] |= {"BillingAccountId": fx.TODO_ACCOUNT, "SubAccountId": None}
    path = fx.write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(BadInputError) as info:
        ingest([path], Lake.open(tmp_path / "lake"))
    assert (info.value.row, info.value.column) == (2, "BillingAccountId")
