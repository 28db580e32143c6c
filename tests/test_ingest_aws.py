"""AWS readers: the demo CUR 2.0 against its FOCUS truth, the real legacy CUR sample, bad input."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.demo import generate
from aifinops.errors import BadInputError
from aifinops.focus.columns import FOCUS_COLUMN_NAMES
from aifinops.focus.validate import validate
from aifinops.ingest.aws_common import COVERED_RULE, NEGATION_RULE
from aifinops.ingest.aws_cur import snake
from aifinops.ingest.pipeline import ingest
from aifinops.ingest.readers import READERS, ReadPlan, choose_reader
from aifinops.ingest.sniff import sniff
from aifinops.lake import Lake, connect
from aifinops.lake.duck import DuckSession

Row = dict[str, Any]
SAMPLE = Path("samples") / "aws" / "legacy_cur_sample-anonymous-aws-export-dataset.csv"
#: Sort key shared by lake and truth: unique per AWS truth row.
KEY = (
    "ChargePeriodStart",
    "ResourceId",
    "ChargeCategory",
    "CommitmentDiscountStatus",
    "SkuId",
    "ChargeDescription",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    out = tmp_path_factory.mktemp("demo")
    result = generate(out, seed=7, scale=0.05)
    truth = [p for p in result.truth_files if p.name.startswith("aws-")]
    return list(result.native_files["aws"]), truth


@pytest.fixture(scope="module")
def cur2_lake(
    demo: tuple[list[Path], list[Path]], tmp_path_factory: pytest.TempPathFactory
) -> Lake:
    lake = Lake.open(tmp_path_factory.mktemp("lake") / "lake")
    ingest(demo[0], lake)
    return lake


def _rows(tables: list[pa.Table]) -> list[Row]:
    rows = [r for t in tables for r in t.select(list(FOCUS_COLUMN_NAMES)).to_pylist()]
    return sorted(rows, key=lambda r: tuple(str(r[k] or "") for k in KEY))


def _lake_rows(lake: Lake) -> list[Row]:
    return _rows([pq.read_table(p) for p in sorted(lake.root.rglob("*.parquet"))])


def _cell(column: str, value: Any) -> Any:
    return json.loads(value) if column in ("Tags", "SkuPriceDetails") and value else value


def _mismatches(lake: list[Row], truth: list[Row]) -> dict[str, list[tuple[Any, Any]]]:
    """Return column -> (lake, truth) cells that differ, over all 57 FOCUS columns."""
    found: dict[str, list[tuple[Any, Any]]] = {}
    for got, want in zip(lake, truth, strict=True):
        for c in FOCUS_COLUMN_NAMES:
            if _cell(c, got[c]) != _cell(c, want[c]):
                found.setdefault(c, []).append((got[c], want[c]))
    return found


def test_cur2_is_detected_and_registered_before_focus(demo: tuple[list[Path], list[Path]]) -> None:
    names = list(READERS)
    assert names.index("aws-cur2") < names.index("focus")
    assert names.index("aws-cur") < names.index("focus")
    assert choose_reader(sniff(demo[0][0])).name == "aws-cur2"
    assert choose_reader(sniff(demo[1][0])).name == "focus"


def test_cur2_golden_matches_the_demo_truth_row_for_row(
    cur2_lake: Lake, demo: tuple[list[Path], list[Path]]
) -> None:
    rows, truth = _lake_rows(cur2_lake), _rows([pq.read_table(p) for p in demo[1]])
    assert len(rows) == len(truth) > 500
    found = _mismatches(rows, truth)  # every row, all 57 FOCUS columns, no gaps
    assert not found, {k: v[:2] for k, v in found.items()}
    # tests/test_demo.py checks the truth states the facts only some CUR lines carry.


def test_cur2_lake_is_valid_focus(cur2_lake: Lake) -> None:
    engine = connect(cur2_lake)
    assert validate(engine.costs(), execute=engine.execute).ok


def _reconcile(plan: ReadPlan, lake_rows: list[Row]) -> dict[tuple[str, str], Decimal]:
    """Return source total − Σexplanations − lake ΣBilledCost per account and period."""
    rec = plan.reconciliation
    assert rec is not None
    amounts = ", ".join(f"COALESCE({e.amount}, 0)" for e in rec.explanations)
    with DuckSession() as db:
        rows = db.rows(
            f"SELECT {rec.account}, {rec.period}, {rec.total}, {amounts} "
            f"FROM {rec.scan or plan.scan} "
            "GROUP BY ALL"
        )
    lake: Counter[tuple[str, str]] = Counter()
    for r in lake_rows:
        lake[(r["BillingAccountId"], f"{r['BillingPeriodStart']:%Y-%m}")] += r["BilledCost"]
    return {(a, p): total - sum(explained) - lake[(a, p)] for a, p, total, *explained in rows}


def test_cur2_reconciles_per_payer_and_month(
    cur2_lake: Lake, demo: tuple[list[Path], list[Path]]
) -> None:
    lake = _lake_rows(cur2_lake)
    for path in demo[0]:
        info = sniff(path)
        plan = READERS["aws-cur2"].plan(info, fallbacks={}, run_files=[info])
        differences = _reconcile(
            plan, [r for r in lake if f"{r['BillingPeriodStart']:%Y-%m}" in str(path)]
        )
        assert differences and set(differences.values()) == {Decimal(0)}
        assert plan.where is not None and "SavingsPlanNegation" in plan.where


def test_pipeline_reports_negations_and_covered_usage_as_explained(
    demo: tuple[list[Path], list[Path]], tmp_lake: Lake
) -> None:
    report = ingest([demo[0][0]], tmp_lake)
    assert not report.refused
    (row,) = report.reconciliation
    assert row.ok and row.difference == 0
    explained = dict(row.explained)
    assert explained[NEGATION_RULE] < 0 < explained[COVERED_RULE]
    assert explained[NEGATION_RULE] + explained[COVERED_RULE] == 0


def test_cur2_subset_export_reads_missing_columns_as_null(
    demo: tuple[list[Path], list[Path]], tmp_path: Path, tmp_lake: Lake
) -> None:
    table = pq.read_table(demo[0][0])
    keep = [c for c in table.column_names if not c.startswith(("savings_plan_", "reservation_"))]
    keep = [
        c for c in keep if c not in ("product", "resource_tags", "pricing_public_on_demand_cost")
    ]
    keep.append("bill_payer_account_name")
    subset = tmp_path / "subset.parquet"
    pq.write_table(table.select(sorted(set(keep))), subset)
    ingest([subset], tmp_lake)
    rows = _lake_rows(tmp_lake)
    assert {r["ServiceName"] for r in rows} >= {"Amazon Elastic Compute Cloud", "Amazon SageMaker"}
    assert all(r["Tags"] is None and r["CommitmentDiscountId"] is None for r in rows)


def test_cur2_resource_name_is_the_name_tag_in_either_case(
    demo: tuple[list[Path], list[Path]], tmp_path: Path, tmp_lake: Lake
) -> None:
    table = pq.read_table(demo[0][0])
    rids, tags = table["line_item_resource_id"].to_pylist(), table["resource_tags"].to_pylist()
    for rid, pairs in zip(rids, tags, strict=True):  # `user_name`, as some exports spell it
        pairs[:] = [(k.replace("user_Name", "user_name"), v) for k, v in pairs]
        if str(rid).startswith("arn:aws:sagemaker"):  # a Name tag beats the ARN's last segment
            pairs.append(("user_name", "tagged"))
    i = table.column_names.index("resource_tags")
    pq.write_table(
        table.set_column(i, "resource_tags", pa.array(tags, table[i].type)), tmp_path / "n.parquet"
    )
    ingest([tmp_path / "n.parquet"], tmp_lake)
    names = {r["ResourceId"]: r["ResourceName"] for r in _lake_rows(tmp_lake) if r["ResourceName"]}
    assert {n for k, n in names.items() if k.startswith("arn:aws:sagemaker")} == {"tagged"}
    assert "atlas-pretrain-p5-0" in names.values() and names["nimbus-datasets"] == "nimbus-datasets"


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # map columns: CUR 2.0 CSV writes them as JSON objects
        return json.dumps(dict(value))
    if hasattr(value, "isoformat"):
        return f"{value:%Y-%m-%dT%H:%M:%SZ}"
    return str(value)


def _write_csv_gz(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with gzip.open(path, "wt", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _as_csv(table: pa.Table, path: Path, header: list[str]) -> Path:
    columns = [table.column(c).to_pylist() for c in table.column_names]
    rows = [[_csv_value(col[i]) for col in columns] for i in range(table.num_rows)]
    return _write_csv_gz(path, header, rows)


def _legacy_header(key: str) -> str:
    groups = ("bill", "identity", "line_item", "pricing", "product", "reservation", "savings_plan")
    for group in sorted(groups, key=len, reverse=True):
        if key.startswith(group + "_"):
            head = "".join(w.title() for w in group.split("_"))
            name = "".join(w.title() for w in key.removeprefix(group + "_").split("_"))
            return f"{head[0].lower()}{head[1:]}/{name}"
    return key


def _same_rows(a: list[Row], b: list[Row]) -> None:
    assert len(a) == len(b)
    assert not _mismatches(a, b)


def test_cur2_csv_gz_reads_like_parquet(
    demo: tuple[list[Path], list[Path]], cur2_lake: Lake, tmp_path: Path, tmp_lake: Lake
) -> None:
    table = pq.read_table(demo[0][1])
    ingest([_as_csv(table, tmp_path / "cur2.csv.gz", table.column_names)], tmp_lake)
    lake = [r for r in _lake_rows(cur2_lake) if f"{r['BillingPeriodStart']:%Y-%m}" == "2026-09"]
    _same_rows(_lake_rows(tmp_lake), lake)


def _legacy_table(table: pa.Table) -> tuple[pa.Table, list[str]]:
    """Return CUR 2.0 rows as a legacy CUR: slash headers, one column per tag key."""
    tags = table.column("resource_tags").to_pylist()
    keys = sorted({k for row in tags for k, _ in row})
    plain = [
        c
        for c in table.column_names
        if c
        not in (
            "product",
            "resource_tags",
            "cost_category",
            "discount",
            "bill_payer_account_name",
            "line_item_usage_account_name",
        )
    ]
    names = [_legacy_header(c) for c in plain]
    assert all(snake(n) == c for n, c in zip(names, plain, strict=True))
    out = table.select(plain)
    product = [dict(row) for row in table.column("product").to_pylist()]
    for attr in ("product_name", "vcpu", "memory", "gpu"):
        out = out.append_column(f"product_{attr}", pa.array([p.get(attr) for p in product]))
        names.append("product/ProductName" if attr == "product_name" else f"product/{attr}")
    for key in keys:
        values = [dict(row).get(key) for row in tags]
        out = out.append_column(key, pa.array(values))
        names.append("resourceTags/" + key.replace("_", ":", 1))
    return out, names


def test_legacy_cur_csv_reads_like_cur2(
    demo: tuple[list[Path], list[Path]], cur2_lake: Lake, tmp_path: Path, tmp_lake: Lake
) -> None:
    table, names = _legacy_table(pq.read_table(demo[0][0]))
    report = ingest([_as_csv(table, tmp_path / "cur.csv.gz", names)], tmp_lake)
    assert report.files[0].format == "aws-cur-csv"
    want = [r for r in _lake_rows(cur2_lake) if f"{r['BillingPeriodStart']:%Y-%m}" == "2026-08"]
    got = _lake_rows(tmp_lake)
    for r in want:  # legacy CUR has no account names
        r["BillingAccountName"] = r["SubAccountName"] = None
    _same_rows(got, want)


def test_legacy_cur_athena_parquet_is_read(
    demo: tuple[list[Path], list[Path]], tmp_path: Path, tmp_lake: Lake
) -> None:
    table, names = _legacy_table(pq.read_table(demo[0][2]))
    athena = table.rename_columns([snake(n).replace(":", "_").lower() for n in names])
    pq.write_table(athena, tmp_path / "athena.parquet")
    report = ingest([tmp_path / "athena.parquet"], tmp_lake)
    assert report.files[0].format == "aws-cur-athena-parquet"
    rows = _lake_rows(tmp_lake)
    assert any(r["Tags"] and "team" in json.loads(r["Tags"]) for r in rows)
    assert {r["ChargeClass"] for r in rows} == {None, "Correction"}


LEGACY_HEADER = [
    "bill/PayerAccountId", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate",
    "lineItem/UsageEndDate", "lineItem/ProductCode", "lineItem/UsageType", "lineItem/UsageAmount",
    "lineItem/CurrencyCode", "lineItem/UnblendedCost", "lineItem/LineItemDescription",
    "pricing/unit", "pricing/term", "resourceTags/user:Team", "resourceTags/aws:createdBy",
]  # fmt: skip


def _legacy(account: str, kind: str, cost: str, **extra: str) -> list[str]:
    row = {
        "bill/PayerAccountId": account,
        "bill/BillingPeriodStartDate": "2024-05-01T00:00:00Z",
        "bill/BillingPeriodEndDate": "2024-06-01T00:00:00Z",
        "lineItem/UsageAccountId": account,
        "lineItem/LineItemType": kind,
        "lineItem/UsageStartDate": "2024-05-02T00:00:00Z",
        "lineItem/UsageEndDate": "2024-05-02T01:00:00Z",
        "lineItem/ProductCode": "AmazonEC2",
        "lineItem/CurrencyCode": "USD",
        "lineItem/UnblendedCost": cost,
        "lineItem/LineItemDescription": kind,
        **extra,
    }
    return [row.get(h, "") for h in LEGACY_HEADER]


def test_legacy_cur_line_types_spot_tax_credit_refund_tags(tmp_path: Path, tmp_lake: Lake) -> None:
    acct = "012345678901"
    rows = [
        _legacy(acct, "Usage", "2.5", **{"lineItem/UsageType": "USE1-SpotUsage:p4d.24xlarge",
            "lineItem/UsageAmount": "1", "pricing/unit": "Hrs", "resourceTags/user:Team": "ml",
            "resourceTags/aws:createdBy": "Root"}),
        _legacy(acct, "Tax", "0.25", **{"lineItem/UsageAmount": "1"}),
        _legacy(acct, "Credit", "-1"),
        _legacy(acct, "Refund", "-0.5"),
    ]  # fmt: skip
    ingest([_write_csv_gz(tmp_path / "cur.csv.gz", LEGACY_HEADER, rows)], tmp_lake)
    got = {r["ChargeDescription"]: r for r in _lake_rows(tmp_lake)}
    usage, tax, credit, refund = (got[k] for k in ("Usage", "Tax", "Credit", "Refund"))
    assert usage["BillingAccountId"] == acct and usage["PricingCategory"] == "Dynamic"
    assert usage["PricingUnit"] == "Hours"
    assert json.loads(usage["Tags"]) == {"Team": "ml", "aws:createdBy": "Root"}
    assert (tax["ChargeCategory"], tax["PricingQuantity"], tax["PricingUnit"]) == (
        "Tax",
        None,
        None,
    )
    assert tax["PricingCategory"] is None
    assert (credit["ChargeCategory"], credit["EffectiveCost"]) == ("Credit", Decimal(-1))
    assert (refund["ChargeCategory"], refund["ChargeClass"]) == ("Usage", "Correction")
    assert usage["ChargePeriodEnd"].isoformat() == "2024-05-02T01:00:00+00:00"
    engine = connect(tmp_lake)
    assert validate(engine.costs(), execute=engine.execute).ok


def test_legacy_sample_ingests_reconciles_and_validates(shared_data: Path, tmp_lake: Lake) -> None:
    path = shared_data / SAMPLE
    if not path.is_file():
        pytest.skip(f"legacy CUR sample not found at {path}")
    report = ingest([path], tmp_lake)
    assert report.files[0].format == "aws-cur-csv"
    assert [(r.source_total, r.ok) for r in report.reconciliation] == [
        (Decimal("1.6823086974"), True)
    ]
    assert [(p.billing_account_id, p.key.billing_period, p.rows) for p in report.partitions] == [
        ("123412340534", "2023-11", 1281)
    ]
    info = sniff(path)
    plan = READERS["aws-cur"].plan(info, fallbacks={}, run_files=[info])
    assert set(_reconcile(plan, _lake_rows(tmp_lake)).values()) == {Decimal(0)}
    engine = connect(tmp_lake)
    assert validate(engine.costs(), execute=engine.execute).ok
    rows = _lake_rows(tmp_lake)
    assert Counter(r["ChargeCategory"] for r in rows) == {"Usage": 1269, "Tax": 12}
    assert {r["PricingUnit"] for r in rows if r["ChargeCategory"] == "Tax"} == {None}


def test_non_numeric_unblended_cost_names_row_and_column(tmp_path: Path, tmp_lake: Lake) -> None:
    rows = [_legacy("111122223333", "Usage", "1.5"), _legacy("111122223333", "Usage", "12,5 USD")]
    path = _write_csv_gz(tmp_path / "bad.csv.gz", LEGACY_HEADER, rows)
    with pytest.raises(BadInputError) as err:
        ingest([path], tmp_lake)
    assert (err.value.file, err.value.row, err.value.column) == (
        str(path),
        2,
        "lineItem/UnblendedCost",
    )
    assert "12,5 USD" in err.value.message
    assert not list(tmp_lake.root.rglob("*.parquet"))


def test_mixed_currencies_in_one_account_month_are_refused(tmp_path: Path, tmp_lake: Lake) -> None:
    rows = [
        _legacy("111122223333", "Usage", "1.5"),
        _legacy("111122223333", "Usage", "2", **{"lineItem/CurrencyCode": "EUR"}),
    ]
    path = _write_csv_gz(tmp_path / "mixed.csv.gz", LEGACY_HEADER, rows)
    with pytest.raises(BadInputError) as err:
        ingest([path], tmp_lake)
    assert (err.value.row, err.value.column) == (2, "BillingCurrency")
    assert "EUR" in err.value.message and "USD" in err.value.message


def test_truncated_cur_csv_gz_is_refused(tmp_path: Path, tmp_lake: Lake) -> None:
    rows = [_legacy("111122223333", "Usage", str(i)) for i in range(3000)]
    whole = _write_csv_gz(tmp_path / "whole.csv.gz", LEGACY_HEADER, rows).read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(BadInputError) as err:
        ingest([cut], tmp_lake)
    assert err.value.file == str(cut)
    assert "gzip" in err.value.describe().lower()


def test_bad_row_is_named_by_its_line_after_dropped_and_split_lines(
    shared_data: Path, tmp_path: Path, tmp_lake: Lake
) -> None:
    # Lines 1 and 3 are Savings Plan negations (dropped), line 2 a fee line with an unused
    # part (read as two rows); the bad cost on line 5 must still be reported as line 5.
    sample = shared_data / "samples" / "aws" / "legacy_cur_sample-anonymous-aws-export-dataset.csv"
    with open(sample, newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames or []), [next(reader) for _ in range(6)]
    rows[0]["lineItem/LineItemType"] = "SavingsPlanNegation"
    rows[2]["lineItem/LineItemType"] = "SavingsPlanNegation"
    rows[1].update(
        {
            "lineItem/LineItemType": "SavingsPlanRecurringFee",
            "savingsPlan/TotalCommitmentToDate": "10",
            "savingsPlan/UsedCommitment": "4",
            "savingsPlan/SavingsPlanARN": "arn:aws:savingsplans::1:savingsplan/x",
        }
    )
    rows[4]["lineItem/UnblendedCost"] = "twelve"
    path = tmp_path / "cur.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)

    with pytest.raises(BadInputError) as caught:
        ingest([path], tmp_lake)

    assert caught.value.row == 5
    assert caught.value.column is not None and "UnblendedCost" in caught.value.column
    assert "twelve" in str(caught.value)
