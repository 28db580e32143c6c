"""Azure FocusCost exports (1.0, 1.0r2, 1.2; CSV, CSV.gz, Parquet) into FOCUS 1.2 lake rows."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.errors import BadInputError
from aifinops.focus.validate import validate
from aifinops.ingest.pipeline import ingest
from aifinops.ingest.readers import choose_reader
from aifinops.ingest.sniff import sniff
from aifinops.lake.engine import connect
from aifinops.lake.export import export
from aifinops.lake.store import Lake
from support import azure_focus_fixtures as fx

VALIDATOR = Path("/work/shared/tools/focus-validate")
D = Decimal
#: (version, file name, x_SourceFormat) per export variant.
CASES = [
    ("1.2", "part_0_0001.csv", "azure-focuscost-1.2-csv"),
    ("1.0", "part_0_0001.csv.gz", "azure-focuscost-1.0-csv"),
    ("1.0r2", "part_0_0001.parquet", "azure-focuscost-1.0r2-parquet"),
]
#: Hand-computed lake values per ChargeDescription (the fixes each row exercises).
EXPECTED: dict[str, dict[str, Any]] = {
    "NC24ads A100 v4 on demand": {
        "BilledCost": D("36.72"),
        "EffectiveCost": D("36.72"),
        "ChargeFrequency": "Usage-Based",
        "ConsumedQuantity": D("10"),
        "SkuPriceId": None,  # "-2" placeholder
        "SkuPriceDetails": {
            "CoreCount": 24,
            "InstanceType": "Standard_NC24ads_A100_v4",
            "x_ImageType": "Canonical",
        },
        "Tags": {"team": "ml", "project": "llm"},
        "ServiceSubcategory": "Other (Compute)",
    },
    "ND96isr H100 v5 reserved": {
        "BilledCost": D("0"),
        "EffectiveCost": D("70.00"),
        "ContractedCost": D("98.32"),
        "CommitmentDiscountStatus": "Used",
        "SkuPriceDetails": {
            "CoreCount": 96,
            "InstanceType": "Standard_ND96isr_H100_v5",
            "x_Nested": '{"a":1}',
        },
        "Tags": {"team": "ml"},  # Azure's braceless tags wrapped
    },
    "ND96isr H100 v5 reservation unused": {
        "EffectiveCost": D("30.00"),
        "ConsumedQuantity": None,  # FOCUS: null on Unused commitment rows
        "ConsumedUnit": None,
        "PublisherName": "Microsoft",  # empty in the export
        "ListCost": D("0"),  # missing prices stay as sent
    },
    "Reservation ND96isr H100 v5 monthly": {
        "BilledCost": D("2400.00"),
        "EffectiveCost": D("0"),  # BUG fix: purchases are amortized, not effective
        "ChargeFrequency": "Recurring",  # BUG fix: was Usage-Based
        "ServiceName": "ND H100 v5 Series",  # empty: x_SkuMeterSubcategory
        "PublisherName": "Microsoft",
    },
    "Savings plan monthly fee": {"ChargeFrequency": "Recurring", "EffectiveCost": D("0")},
    "D4s v5 savings plan": {
        "EffectiveCost": D("1.50"),
        "ContractedCost": D("2.0"),  # BUG fix: 0.2 x 10, Azure sent 1.50
        "CommitmentDiscountCategory": "Spend",
    },
    "Reservation refund": {
        "BilledCost": D("-200.00"),
        "EffectiveCost": D("0"),
        "ChargeClass": "Correction",
        "ContractedCost": D("-200.00"),
    },
    "Sales tax": {
        "BilledCost": D("12.34"),
        "PricingQuantity": None,
        "ServiceCategory": "Other",
        "ServiceSubcategory": "Other (Other)",
    },
    "NVIDIA AI Enterprise": {
        "ServiceName": "NVIDIA",  # Marketplace: the publisher
        "PublisherName": "NVIDIA",
        "ListCost": D("0"),
        "ContractedCost": D("0"),
        "SkuPriceId": None,
    },
    "Hot LRS data stored": {
        "PricingQuantity": D("0.5"),
        "ConsumedQuantity": D("50"),
        "ContractedCost": D("0.92"),
        "ServiceSubcategory": "Other (Storage)",
    },
}
#: Values every row shares.
COMMON = {
    "BillingAccountId": fx.ACCOUNT,
    "BillingAccountType": "Billing Account",
    "BillingCurrency": "EUR",
    "PricingCurrency": "USD",
    "InvoiceId": "G012345678",
    "AvailabilityZone": None,
    "PricingCurrencyContractedUnitPrice": None,
    "PricingCurrencyEffectiveCost": None,
    "PricingCurrencyListUnitPrice": None,
    "SubAccountType": "Subscription",
}


def write_export(root: Path, version: str, name: str) -> Path:
    header, rows = fx.rows_for(version)
    path = fx.write(root / version / name, header, rows)
    if version == "1.0r2":
        fx.write_manifest(path.parent, "1.0r2")
    return path


def lake_rows(lake: Lake) -> dict[str, dict[str, Any]]:
    files = sorted(lake.costs_dir.rglob("part-*.parquet"))
    table = pa.concat_tables([pq.ParquetFile(f).read() for f in files])
    return {r["ChargeDescription"]: r for r in table.to_pylist()}


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def ingested(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str, Lake, Any]:
    version, name, fmt = request.param
    root = tmp_path_factory.mktemp(f"focuscost-{version}")
    path = write_export(root, version, name)
    lake = Lake.open(root / "lake")
    report = ingest([path], lake)
    return version, fmt, lake, report


def test_version_and_format_recorded(ingested: tuple[str, str, Lake, Any]) -> None:
    version, fmt, lake, _ = ingested
    rows = lake_rows(lake).values()
    assert {r["x_SourceFormat"] for r in rows} == {fmt}
    assert {r["x_SourceVersion"] for r in rows} == {version}


def test_lake_rows_match_hand_computed_values(ingested: tuple[str, str, Lake, Any]) -> None:
    _, _, lake, _ = ingested
    rows = lake_rows(lake)
    assert set(rows) == set(EXPECTED)
    for desc, expected in EXPECTED.items():
        row = rows[desc]
        for column, value in {**COMMON, **expected}.items():
            got = row[column]
            if column in ("Tags", "SkuPriceDetails") and got is not None:
                got = json.loads(got)
            assert got == value, (desc, column, got, value)
        assert f"{row['BillingPeriodEnd']:%Y-%m-%d}" == "2025-02-01"
        assert f"{row['ChargePeriodEnd']:%Y-%m-%d}" == "2025-01-06"


def test_azure_extras_kept_and_promoted_columns_not_duplicated(
    ingested: tuple[str, str, Lake, Any],
) -> None:
    _, _, lake, _ = ingested
    extras = json.loads(lake_rows(lake)["NC24ads A100 v4 on demand"]["x_SourceExtras"])
    assert extras["x_ResourceGroupName"] == "ml-train-rg"
    assert extras["x_SkuMeterCategory"] == "Virtual Machines"
    assert extras["x_InvoiceSectionName"] == "Unassigned"  # kept verbatim
    assert not {"x_SkuDetails", "x_InvoiceId", "x_PricingCurrency", "x_SkuMeterName"} & set(extras)


def test_reconciles_to_the_files_own_billed_cost(ingested: tuple[str, str, Lake, Any]) -> None:
    _, _, _, report = ingested
    [rec] = report.reconciliation
    assert (rec.billing_account, rec.billing_period) == (fx.ACCOUNT, "2025-01")
    assert rec.source_total == rec.billed_cost == D("2399.98")
    assert rec.explained == []
    assert [p.status for p in report.partitions] == ["written"]


def test_validate_ok(ingested: tuple[str, str, Lake, Any]) -> None:
    _, _, lake, _ = ingested
    engine = connect(lake)
    report = validate(engine.costs(), execute=engine.execute)
    assert report.ok, report.to_rows()


@pytest.mark.skipif(not VALIDATOR.is_file(), reason="focus-validate not installed")
def test_focus_validate_accepts_the_export(
    ingested: tuple[str, str, Lake, Any], tmp_path: Path
) -> None:
    _, _, lake, _ = ingested
    out = tmp_path / "costs.parquet"
    export(lake, out, fmt="parquet")
    done = subprocess.run(
        [str(VALIDATOR), str(out)], capture_output=True, text=True, timeout=120, check=False
    )
    summary = [line for line in done.stdout.splitlines() if line.startswith("Total:")]
    assert summary, done.stdout + done.stderr
    failed = [
        line
        for line in done.stdout.splitlines()
        if "FAIL" in line.upper() and "InvoiceId-C-00" not in line and "Total:" not in line
    ]
    print(summary[0])
    assert not failed, "\n".join(failed)


def test_detection_prefers_focuscost_over_plain_focus(tmp_path: Path) -> None:
    path = write_export(tmp_path, "1.2", "x.csv")
    assert choose_reader(sniff(path)).name == "azure-focus"
    header, rows = fx.rows_for("1.2")
    plain = tuple(c for c in header if not c.startswith("x_"))
    assert choose_reader(sniff(fx.write(tmp_path / "plain.csv", plain, rows))).name == "focus"


def test_preview_versions_detected(tmp_path: Path) -> None:
    from aifinops.ingest.azure_focus import detect_version
    from aifinops.ingest.focus_file import layout

    header, rows = fx.rows_for("1.2")
    preview = fx.write(tmp_path / "p12.csv", (*header, "x_SkuDetails"), rows)
    old = tuple("UsageQuantity" if c == "ConsumedQuantity" else c for c in fx.COLUMNS_10)
    v1 = fx.write(tmp_path / "v1.csv", (*old, "ChargeSubcategory"), rows)
    for path, version in ((preview, "1.2-preview"), (v1, "1.0-preview(v1)")):
        info = sniff(path)
        lay = layout(info)
        assert lay is not None
        assert detect_version(info, lay) == version


def test_non_numeric_billed_cost_names_file_row_and_column(tmp_path: Path) -> None:
    header, rows = fx.rows_for("1.2")
    rows[2]["BilledCost"] = "twelve"
    path = fx.write(tmp_path / "bad" / "part_0_0001.csv", header, rows)
    with pytest.raises(BadInputError) as caught:
        ingest([path], Lake.open(tmp_path / "lake"))
    err = caught.value
    text = str(err)
    assert str(path) in text and "BilledCost" in text and "twelve" in text
    assert err.row == 3, text
