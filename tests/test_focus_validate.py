"""Tests for the in-engine FOCUS 1.2 validator (``aifinops.focus.validate``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.focus import lake_schema
from aifinops.focus.columns import DATETIME_COLUMNS, DECIMAL_COLUMNS, FOCUS_COLUMNS, Level
from aifinops.focus.rules import ALLOWED_VALUE_COLUMNS, Kind
from aifinops.focus.validate import (
    RULES,
    Severity,
    ValidationReport,
    Violation,
    is_key_value_object,
    validate,
)
from aifinops.lake.engine import normalise_types

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FOCUS_10_SAMPLE = SHARED_DATA / "samples" / "focus" / "FOCUS-1.0_focus_sample.csv"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "validation.md"

# NOTE: ibis 12's DuckDB backend still calls fetch_arrow_table(), which DuckDB 2.0 deprecates.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning"
)


def _ts(day: int, hour: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def valid_row(**overrides: Any) -> dict[str, Any]:
    """Return one valid FOCUS 1.2 usage row in the lake schema, with ``overrides`` applied."""
    row: dict[str, Any] = dict.fromkeys(lake_schema().names)
    row.update(
        BilledCost=Decimal("10"), EffectiveCost=Decimal("10"), ListCost=Decimal("12"),
        ContractedCost=Decimal("10"), ListUnitPrice=Decimal("1.2"),
        ContractedUnitPrice=Decimal("1"), PricingQuantity=Decimal("10"), PricingUnit="Hours",
        ConsumedQuantity=Decimal("10"), ConsumedUnit="Hours",
        BillingAccountId="123456789012", BillingAccountName="acme",
        BillingAccountType="Billing Account", BillingCurrency="USD",
        BillingPeriodStart=_ts(1), BillingPeriodEnd=_ts(1, month=7),
        ChargePeriodStart=_ts(3), ChargePeriodEnd=_ts(3, 1),
        ChargeCategory="Usage", ChargeDescription="g5.4xlarge hours",
        ChargeFrequency="Usage-Based", PricingCategory="Standard",
        InvoiceIssuerName="AWS", ProviderName="AWS", PublisherName="AWS",
        ServiceCategory="Compute", ServiceSubcategory="Virtual Machines", ServiceName="EC2",
        ResourceId="i-valid", SkuPriceId="sku-1", Tags='{"team": "ml", "gpu": true}',
        SkuPriceDetails='{"InstanceType": "g5.4xlarge", "GpuCount": 1}',
        x_SourceFile="test.parquet",
    )  # fmt: skip
    row.update(overrides)
    return row


def make_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Return ``rows`` as an Arrow table in the lake schema."""
    return pa.Table.from_pylist(rows, schema=lake_schema())


@pytest.fixture
def duck() -> Iterator[Any]:
    con = ibis.duckdb.connect()
    yield con
    con.disconnect()


Runner = Callable[..., ValidationReport]


@pytest.fixture
def run(duck: Any, tmp_path: Path) -> Runner:
    """Write a table as Parquet, read it back through DuckDB and validate it."""

    def _run(table: pa.Table, sample: int = 5) -> ValidationReport:
        path = tmp_path / f"part-{len(list(tmp_path.iterdir()))}.parquet"
        pq.write_table(table, path)
        return validate(
            duck.read_parquet(str(path)),
            execute=lambda e: normalise_types(duck.to_pyarrow(e)),
            sample=sample,
        )

    return _run


def with_bad_rows(**overrides: Any) -> pa.Table:
    """Return three valid rows and two rows with ``overrides`` applied."""
    good = [valid_row(ResourceId=f"i-good-{i}") for i in range(3)]
    bad = [valid_row(ResourceId=f"i-bad-{i}", **overrides) for i in range(2)]
    return make_table(good + bad)


def only(report: ValidationReport, rule_id: str) -> Violation:
    found = [v for v in report.violations if v.rule == rule_id]
    assert found, f"{rule_id} not reported; got {[v.rule for v in report.violations]}"
    return found[0]


def assert_caught(report: ValidationReport, rule_id: str, count: int = 2) -> None:
    violation = only(report, rule_id)
    assert violation.count == count
    assert [e["ResourceId"] for e in violation.examples] == ["i-bad-0", "i-bad-1"]
    assert all(violation.column in e for e in violation.examples)


# Relation rules: rule id -> overrides that break it (and as few others as practical).
_CD = {"CommitmentDiscountId": "cd-1", "CommitmentDiscountCategory": "Spend"}
_NO_PRICING = {"PricingQuantity": None, "PricingUnit": None, "PricingCategory": None}
_NO_CONSUMED = {"ConsumedQuantity": None, "ConsumedUnit": None}
RELATION_CASES: dict[str, dict[str, Any]] = {
    "ServiceSubcategory-in-category": {"ServiceSubcategory": "Object Storage"},
    "ListCost-unit-price": {"ListCost": Decimal("12.000001")},
    "ContractedCost-unit-price": {"ContractedCost": Decimal("9.99")},
    "ChargePeriodEnd-after-start": {"ChargePeriodEnd": _ts(3)},
    "BillingPeriodEnd-after-start": {"BillingPeriodEnd": _ts(1)},
    "ChargePeriodStart-in-billing-period": {
        "ChargePeriodStart": _ts(1, month=7), "ChargePeriodEnd": _ts(1, 1, month=7)},
    "ChargeFrequency-not-usage-based-purchase": {"ChargeCategory": "Purchase", **_NO_CONSUMED},
    "PricingQuantity-null-on-tax": {"ChargeCategory": "Tax", **_NO_CONSUMED},
    "PricingUnit-null-on-tax": {
        "ChargeCategory": "Tax", **_NO_PRICING, **_NO_CONSUMED, "PricingUnit": "Hours"},
    "PricingQuantity-required": {"PricingQuantity": None, "PricingUnit": None},
    "PricingUnit-null-iff-quantity": {"PricingUnit": None},
    "PricingCategory-required": {"PricingCategory": None},
    "PricingCategory-null-on-tax": {
        "ChargeCategory": "Tax", **_NO_PRICING, **_NO_CONSUMED, "PricingCategory": "Standard"},
    "ConsumedQuantity-usage-only": {"ChargeCategory": "Credit"},
    "ConsumedUnit-usage-only": {"ChargeCategory": "Adjustment", "ConsumedQuantity": None},
    "ConsumedUnit-null-iff-quantity": {"ConsumedUnit": None},
    "CommitmentDiscountStatus-required": _CD,
    "CommitmentDiscountStatus-null-without-id": {"CommitmentDiscountStatus": "Used"},
    "CommitmentDiscountCategory-null-iff-id": {
        "CommitmentDiscountId": "cd-1", "CommitmentDiscountStatus": "Used"},
    "CapacityReservationStatus-required": {"CapacityReservationId": "cr-1"},
    "CapacityReservationStatus-null-without-id": {"CapacityReservationStatus": "Unused"},
    "EffectiveCost-equals-billed-on-credit": {
        "ChargeCategory": "Credit", "EffectiveCost": Decimal("9"), **_NO_CONSUMED},
    "Tags-json-object": {"Tags": '["team", "ml"]'},
    "SkuPriceDetails-json-object": {"SkuPriceDetails": "InstanceType=g5.4xlarge"},
}  # fmt: skip
PRESENCE_RULES = [r for r in RULES if r.kind is Kind.SCHEMA]
NOT_NULL = [c.name for c in FOCUS_COLUMNS if not c.nullable]


def test_validates_the_lake_through_the_engine(tmp_path: Path) -> None:
    from aifinops.lake import Lake, connect

    lake = Lake.open(tmp_path / "lake")
    part = lake.costs_dir / "provider=aws/billing_account=1/billing_period=2025-06"
    part.mkdir(parents=True)
    pq.write_table(with_bad_rows(ChargeFrequency="Bogus"), part / "part-0.parquet")
    engine = connect(lake)
    try:
        report = validate(engine.costs(), execute=engine.execute)
    finally:
        engine.close()

    assert [(v.rule, v.count) for v in report.violations] == [("ChargeFrequency-allowed", 2)]
    assert not report.ok


def test_valid_table_is_ok(run: Runner) -> None:
    report = run(with_bad_rows())

    assert report == ValidationReport(rows_checked=5, violations=[], skipped=[])
    assert report.ok
    assert report.to_rows() == []


def test_empty_table_is_ok(run: Runner) -> None:
    report = run(make_table([]))

    assert (report.rows_checked, report.violations, report.ok) == (0, [], True)


@pytest.mark.parametrize("name", [r.column for r in PRESENCE_RULES])
def test_missing_mandatory_column(run: Runner, name: str) -> None:
    report = run(with_bad_rows().drop_columns([name]))

    violation = only(report, f"{name}-present")
    assert (violation.count, violation.examples, violation.severity) == (5, [], Severity.ERROR)
    assert not report.ok
    assert all(name in rule.needs for rule in RULES if rule.id in report.skipped)
    if name in NOT_NULL:
        assert f"{name}-not-null" in report.skipped


def test_missing_column_reported_on_empty_table(run: Runner) -> None:
    report = run(make_table([]).drop_columns(["BilledCost"]))

    assert [(v.rule, v.count) for v in report.violations] == [("BilledCost-present", 0)]


@pytest.mark.parametrize("name", NOT_NULL)
def test_not_null(run: Runner, name: str) -> None:
    report = run(with_bad_rows(**{name: None}))

    assert_caught(report, f"{name}-not-null")
    mandatory = next(c for c in FOCUS_COLUMNS if c.name == name).level is Level.MANDATORY
    assert only(report, f"{name}-not-null").severity == (
        Severity.ERROR if mandatory else Severity.WARNING
    )


@pytest.mark.parametrize("name", ALLOWED_VALUE_COLUMNS)
def test_allowed_values(run: Runner, name: str) -> None:
    report = run(with_bad_rows(**{name: "Bogus"}))

    assert_caught(report, f"{name}-allowed")
    assert only(report, f"{name}-allowed").examples[0][name] == "Bogus"


@pytest.mark.parametrize("rule_id", list(RELATION_CASES))
def test_relation_rule(run: Runner, rule_id: str) -> None:
    report = run(with_bad_rows(**RELATION_CASES[rule_id]))

    assert_caught(report, rule_id)


def test_every_rule_has_a_test() -> None:
    tested = (
        {r.id for r in PRESENCE_RULES}
        | {f"{n}-not-null" for n in NOT_NULL}
        | {f"{n}-allowed" for n in ALLOWED_VALUE_COLUMNS}
        | set(RELATION_CASES)
    )
    assert tested == {r.id for r in RULES}


def test_unit_price_skipped_on_corrections_and_tiny_rounding(run: Runner) -> None:
    table = make_table([
        valid_row(ChargeClass="Correction", ListCost=Decimal("99")),
        valid_row(ListCost=Decimal("12.000000000001")),  # within 1e-9 × max(1, |cost|)
        valid_row(ListUnitPrice=None, ListCost=Decimal("99")),
    ])  # fmt: skip

    assert run(table).violations == []


def test_unused_commitment_row_has_no_consumed_quantity(run: Runner) -> None:
    unused = {**_CD, "CommitmentDiscountStatus": "Unused"}
    report = run(with_bad_rows(**unused))

    assert_caught(report, "ConsumedQuantity-usage-only")


def test_correction_may_leave_its_billing_period(run: Runner) -> None:
    moved = RELATION_CASES["ChargePeriodStart-in-billing-period"]
    assert run(with_bad_rows(**moved, ChargeClass="Correction")).violations == []


def test_warnings_alone_keep_report_ok(run: Runner) -> None:
    report = run(with_bad_rows(ChargeFrequency=None))

    assert [v.rule for v in report.violations] == ["ChargeFrequency-not-null"]
    assert report.ok


def test_sample_limits_examples_and_to_rows_is_flat(run: Runner) -> None:
    report = run(with_bad_rows(BilledCost=None), sample=1)

    violation = only(report, "BilledCost-not-null")
    assert violation.count == 2
    assert violation.examples == [{
        "x_SourceFile": "test.parquet", "ProviderName": "AWS",
        "BillingAccountId": "123456789012", "ChargePeriodStart": _ts(3),
        "ResourceId": "i-bad-0", "BilledCost": None,
    }]  # fmt: skip
    (row,) = report.to_rows()
    assert row["rule"] == "BilledCost-not-null"
    assert row["severity"] == "error"
    assert row["examples"].startswith('[{"x_SourceFile":"test.parquet"')
    assert all(isinstance(v, str | int) for v in row.values())


def test_query_count(duck: Any) -> None:
    executed: list[ibis.Expr] = []

    def execute(expr: ibis.Expr) -> pa.Table:
        executed.append(expr)
        return normalise_types(duck.to_pyarrow(expr))

    validate(ibis.memtable(with_bad_rows()), execute=execute)
    # One aggregation for every row rule, one distinct-value query per JSON column.
    assert len(executed) == 3

    executed.clear()
    report = validate(ibis.memtable(with_bad_rows(BilledCost=None, Tags="[]")), execute=execute)
    # ... plus one UNION ALL query for the examples of all failed rules.
    assert len(executed) == 4
    assert [len(v.examples) for v in report.violations] == [2, 2]


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"a": 1, "b": "x", "c": true, "d": null}', True),
        ("{}", True),
        ('{"a": {"b": 1}}', False),
        ('{"a": [1]}', False),
        ('{"a": 1, "a": 2}', False),
        ('["a"]', False),
        ('"a"', False),
        ("a=1", False),
        ("", False),
    ],
)
def test_is_key_value_object(text: str, ok: bool) -> None:
    assert is_key_value_object(text) is ok


def test_docs_list_every_rule() -> None:
    rows = re.findall(r"^\| `([A-Za-z-]+)` \| (\w+) \| (\w+) \|", DOCS.read_text(), re.MULTILINE)
    assert sorted(rows) == sorted((r.id, r.column, str(r.severity)) for r in RULES)


def _read_focus_csv(con: Any, path: Path) -> ibis.Table:
    raw = con.read_csv(str(path), all_varchar=True, nullstr=["NULL", ""])
    casts = {
        c: raw[c].cast("decimal(38, 18)") if c in DECIMAL_COLUMNS else raw[c].cast("timestamp")
        for c in raw.columns
        if c in DECIMAL_COLUMNS or c in DATETIME_COLUMNS
    }
    return raw.mutate(**casts)


def test_real_focus_10_sample(duck: Any) -> None:
    if not FOCUS_10_SAMPLE.exists():
        pytest.skip("../shared/data not present")
    table = _read_focus_csv(duck, FOCUS_10_SAMPLE)

    report = validate(table, execute=lambda e: normalise_types(duck.to_pyarrow(e)))

    assert report.rows_checked == 1000
    assert {v.rule: v.count for v in report.violations} == {
        "ContractedCost-not-null": 7,
        "ChargeFrequency-allowed": 7,  # the sample's "Usage-based" next to "Usage-Based"
        "ListCost-unit-price": 31,
        "ContractedCost-unit-price": 18,
        "ChargePeriodStart-in-billing-period": 1,
        "PricingCategory-required": 5,
        "ConsumedQuantity-usage-only": 2,
        "ConsumedUnit-usage-only": 2,
        "EffectiveCost-equals-billed-on-credit": 1,
    }
    frequency = only(report, "ChargeFrequency-allowed")
    assert {e["ChargeFrequency"] for e in frequency.examples} == {"Usage-based"}
    # FOCUS 1.0 has no 1.1/1.2 columns such as ServiceSubcategory or SkuPriceDetails.
    assert {"ServiceSubcategory-allowed", "SkuPriceDetails-json-object"} <= set(report.skipped)


def _broad_table() -> pa.Table:
    rows = [valid_row(ResourceId=f"i-good-{i}") for i in range(3)]
    for n, overrides in enumerate(RELATION_CASES.values()):
        rows.append(valid_row(ResourceId=f"i-bad-{n:02d}", **overrides))
    rows.append(valid_row(ResourceId="i-null", BilledCost=None, ChargeCategory="Bogus"))
    return make_table(rows)


@pytest.mark.spark
def test_pyspark_gives_the_same_report(duck: Any, tmp_path: Path) -> None:
    from aifinops.lake.engine import spark_session

    spark = ibis.pyspark.connect(spark_session())
    # Counts for every rule without examples (one Spark job per fetched example branch is
    # slow on local[2]), then examples of a decimal, a timestamp and a JSON rule.
    focused = with_bad_rows(ListCost=Decimal("13"), ChargePeriodEnd=_ts(3), Tags="[1]")
    for n, (table, sample) in enumerate([(_broad_table(), 0), (focused, 5)]):
        path = str(tmp_path / f"part-{n}.parquet")
        pq.write_table(table, path)

        duck_report, spark_report = (
            validate(
                con.read_parquet(path),
                execute=lambda e, c=con: normalise_types(c.to_pyarrow(e)),
                sample=sample,
            )
            for con in (duck, spark)
        )

        assert len(duck_report.violations) > (20 if sample == 0 else 2)
        assert spark_report == duck_report
