"""Azure cost-details reader: demo golden test, real EA samples, header variants, bad input."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.demo import DemoResult, generate
from aifinops.errors import BadInputError
from aifinops.focus.columns import focus_schema
from aifinops.focus.validate import validate
from aifinops.ingest.azure_cost import AzureCostReader
from aifinops.ingest.azure_headers import azure_layout, view_of
from aifinops.ingest.pipeline import ingest
from aifinops.ingest.readers import ReadPlan
from aifinops.ingest.sniff import SourceInfo, sniff
from aifinops.lake import Lake, connect
from aifinops.lake.duck import DuckSession

#: The 57 FOCUS 1.2 columns, exactly the truth's schema.
FOCUS_COLUMNS = focus_schema(with_extras=False).names
JSON_COLUMNS = ("Tags", "SkuPriceDetails")
SORT_KEY = (
    "ChargePeriodStart",
    "ChargeCategory",
    "CommitmentDiscountStatus",
    "ResourceId",
    "SkuId",
    "ChargeDescription",
    "EffectiveCost",
    "BilledCost",
)
HEADER_VARIANTS = (
    "headersets__BOM.csv",
    "headersets__Enterprise.csv",
    "headersets__EnterpriseCamel.csv",
    "headersets__German.csv",
    "headersets__PayAsYouGo.csv",
    "headersets__YA.csv",
    "values__MissingBrackets.csv",
    "values__Template.csv",
    "values__VirtualMachine.csv",
)


# -- helpers ---------------------------------------------------------------------------------


def lake_rows(lake: Lake) -> list[dict[str, Any]]:
    files = sorted(lake.data_files())
    if not files:
        return []
    rows: list[dict[str, Any]] = pa.concat_tables([pq.read_table(f) for f in files]).to_pylist()
    return rows


def normalised(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return all 57 FOCUS columns of ``rows``, JSON parsed, sorted by a stable key."""
    out = []
    for row in rows:
        item = {c: row[c] for c in FOCUS_COLUMNS}
        for c in JSON_COLUMNS:
            item[c] = json.loads(item[c]) if item[c] is not None else None
        out.append(item)
    return sorted(out, key=lambda r: tuple(str(r[k]) for k in SORT_KEY))


def plan_of(paths: list[Path]) -> tuple[ReadPlan, list[SourceInfo]]:
    infos = [sniff(p) for p in paths]
    return AzureCostReader().plan(infos[0], fallbacks={}, run_files=infos), infos


def reconcile(plan: ReadPlan) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """Return (source total, total minus explained) per (account, period), from raw rows."""
    rc = plan.reconciliation
    assert rc is not None
    explained = " + ".join(f"({e.amount})" for e in rc.explanations) or "0"
    with DuckSession() as db:
        rows = db.rows(
            f"SELECT {rc.account}, {rc.period}, {rc.total}, {rc.total} - ({explained}) "
            f"FROM {plan.scan} GROUP BY ALL"
        )
    return {(a, p): (t, rest) for a, p, t, rest in rows}


def lake_billed(lake: Lake) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = {}
    for row in lake_rows(lake):
        key = (row["BillingAccountId"], f"{row['BillingPeriodStart']:%Y-%m}")
        sums[key] = sums.get(key, Decimal(0)) + row["BilledCost"]
    return sums


def assert_valid(lake: Lake) -> None:
    engine = connect(lake)
    report = validate(engine.costs(), execute=engine.execute)
    assert report.ok, report.to_rows()


# -- the demo golden test --------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return generate(tmp_path_factory.mktemp("azure-demo"), seed=7, scale=0.05)


@pytest.fixture(scope="module")
def demo_lake(demo: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake.open(tmp_path_factory.mktemp("azure-lake") / "lake")
    ingest(demo.native_files["azure"], lake)
    return lake


def test_demo_ea_pair_ingests_to_the_azure_truth_row_for_row(
    demo: DemoResult, demo_lake: Lake
) -> None:
    truth_files = [f for f in demo.truth_files if f.name.startswith("azure-")]
    truth = pa.concat_tables([pq.read_table(f) for f in truth_files]).to_pylist()
    got, want = normalised(lake_rows(demo_lake)), normalised(truth)
    assert len(got) == len(want) > 300
    for g, w in zip(got, want, strict=True):
        assert len(g) == len(FOCUS_COLUMNS) == 57
        assert g == w


def test_demo_truth_has_no_invoice_id_the_ea_export_cannot_carry(
    demo: DemoResult, demo_lake: Lake
) -> None:
    # EA cost details have no invoice column, so the truth's InvoiceId is NULL like the lake's.
    truth_files = [f for f in demo.truth_files if f.name.startswith("azure-")]
    want = {r["InvoiceId"] for f in truth_files for r in pq.read_table(f).to_pylist()}
    assert want == {r["InvoiceId"] for r in lake_rows(demo_lake)} == {None}


def test_demo_totals_match_per_enrollment_and_month(demo: DemoResult, demo_lake: Lake) -> None:
    want = {(a, m): b for (p, a, m), (b, _e) in demo.totals.items() if p == "Microsoft"}
    assert lake_billed(demo_lake) == want
    assert_valid(demo_lake)


def test_demo_pair_reconciles_with_the_actual_cost_column(demo: DemoResult) -> None:
    actual, amortized = demo.native_files["azure"][:2]
    plan, _infos = plan_of([actual, amortized])
    assert plan.sources and plan.sources[0].path == amortized
    for (account, month), (total, rest) in reconcile(plan).items():
        assert total == rest == demo.totals[("Microsoft", account, month)][0]


def test_the_amortized_twin_reads_nothing_of_its_own(demo: DemoResult) -> None:
    actual, amortized = demo.native_files["azure"][:2]
    plan, _infos = plan_of([amortized, actual])
    assert plan.where == "false" and not plan.checks
    assert "actual twin" in plan.notes[0]


# -- the real EA samples -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ea(shared_data: Path) -> tuple[Path, Path]:
    folder = shared_data / "samples" / "azure"
    return folder / "EA_ActualCost_Small.csv", folder / "EA_AmortizedCost_Small.csv"


def test_ea_sample_pair_ingests_reconciles_and_validates(
    ea: tuple[Path, Path], tmp_lake: Lake
) -> None:
    report = ingest(list(ea), tmp_lake)
    rows = lake_rows(tmp_lake)
    assert len(rows) == 28 + 1  # every amortized row and the actual reservation purchase
    purchase = [r for r in rows if r["ChargeCategory"] == "Purchase"]
    assert [(r["BilledCost"], r["EffectiveCost"], r["PricingCategory"]) for r in purchase] == [
        (Decimal("3.25"), Decimal(0), "Standard")
    ]
    covered = [r for r in rows if r["PricingCategory"] == "Committed"]
    assert {r["CommitmentDiscountType"] for r in covered} == {"Reservation", "Savings Plan"}
    assert all(r["BilledCost"] == 0 and r["CommitmentDiscountStatus"] == "Used" for r in covered)
    assert {r["BillingCurrency"] for r in rows} == {"USD"}
    assert {r["BillingPeriodEnd"].day for r in rows} == {1}
    assert any("amortized twin" in n for f in report.files for n in f.notes)
    plan, _infos = plan_of(list(ea))
    ((total, rest),) = reconcile(plan).values()
    with open(ea[0], encoding="utf-8-sig", newline="") as fh:
        assert total == sum(Decimal(r["Cost"]) for r in csv.DictReader(fh))
    assert rest == lake_billed(tmp_lake)[("8611537", "2023-09")]
    assert_valid(tmp_lake)


@pytest.mark.parametrize("which", [0, 1], ids=["actual-alone", "amortized-alone"])
def test_each_ea_sample_alone_ingests_with_a_note(
    ea: tuple[Path, Path], which: int, tmp_path: Path, tmp_lake: Lake
) -> None:
    alone = tmp_path / ea[which].name
    shutil.copy(ea[which], alone)
    report = ingest([alone], tmp_lake)
    assert "is missing" in " ".join(report.files[0].notes)
    plan, _infos = plan_of([alone])
    ((_total, rest),) = reconcile(plan).values()
    assert rest == lake_billed(tmp_lake)[("8611537", "2023-09")]
    assert_valid(tmp_lake)


def test_tags_become_one_json_object_with_keys_as_exported(
    ea: tuple[Path, Path], tmp_lake: Lake
) -> None:
    ingest([ea[0]], tmp_lake)
    tags = [json.loads(r["Tags"]) for r in lake_rows(tmp_lake) if r["Tags"]]
    assert {"CostCenter": "SubACM", "org": ""} in tags


# -- header variants ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", HEADER_VARIANTS)
def test_header_variant_ingests_and_validates(shared_data: Path, name: str, tmp_lake: Lake) -> None:
    path = shared_data / "samples" / "azure" / "opencost_header_variants" / name
    info = sniff(path)
    layout = azure_layout(info.columns)
    assert layout is not None and layout.has("Date", "Cost", "SubscriptionId", "ResourceId")
    ingest([path], tmp_lake)
    rows = lake_rows(tmp_lake)
    assert rows and all(r["ProviderName"] == "Microsoft" for r in rows)
    plan, _infos = plan_of([path])
    for key, (_total, rest) in reconcile(plan).items():
        assert rest == lake_billed(tmp_lake)[key]
    assert_valid(tmp_lake)


def test_views_come_from_the_file_name() -> None:
    assert view_of(Path("x/EA_ActualCost_Small.csv")) == "actual"
    assert view_of(Path("amortized/part-0.csv")) == "amortized"
    assert view_of(Path("costs.csv")) is None


# -- bad input ---------------------------------------------------------------------------------


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    lines = [",".join(header), *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


HEADER = [
    "BillingAccountId",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "SubscriptionId",
    "Date",
    "MeterCategory",
    "Quantity",
    "Cost",
    "UnitPrice",
    "BillingCurrency",
    "ChargeType",
    "PricingModel",
    "UnitOfMeasure",
]


def _row(cost: str = "1.5", currency: str = "USD", start: str = "09/01/2023") -> list[str]:
    end = "09/30/2023" if start.startswith("09") else "10/31/2023"
    return [
        "8611537",
        start,
        end,
        "sub-1",
        start.replace("/01/", "/04/"),
        "Storage",
        "1",
        cost,
        "1.5",
        currency,
        "Usage",
        "OnDemand",
        "1 Hour",
    ]


def test_non_numeric_cost_names_the_row(tmp_path: Path, tmp_lake: Lake) -> None:
    path = _write(tmp_path / "costs.csv", HEADER, [_row(), _row(cost="12.5 EUR")])
    with pytest.raises(BadInputError) as caught:
        ingest([path], tmp_lake)
    err = caught.value
    assert err.column == "Cost" and err.row == 2
    assert "12.5 EUR" in str(err) and "data row 2" in str(err)
    assert not lake_rows(tmp_lake)


def test_mixed_currencies_in_one_account_and_period_are_refused(
    tmp_path: Path, tmp_lake: Lake
) -> None:
    path = _write(tmp_path / "costs.csv", HEADER, [_row(), _row(currency="EUR")])
    with pytest.raises(BadInputError) as caught:
        ingest([path], tmp_lake)
    assert caught.value.column == "BillingCurrency"
    assert not lake_rows(tmp_lake)


def test_pair_whose_periods_differ_is_refused(tmp_path: Path, tmp_lake: Lake) -> None:
    actual = _write(tmp_path / "ea-actual.csv", HEADER, [_row()])
    amortized = _write(tmp_path / "ea-amortized.csv", HEADER, [_row(start="10/01/2023")])
    with pytest.raises(BadInputError) as caught:
        ingest([actual, amortized], tmp_lake)
    err = caught.value
    assert err.column == "BillingPeriodStartDate"
    assert "has rows in one file only" in str(err)
    assert "8611537 2023-09 (" in str(err) or "8611537 2023-10 (" in str(err)
    assert not lake_rows(tmp_lake)
