"""Bad input is refused with a precise error, and the lake it was meant for stays as it was."""

from __future__ import annotations

import csv
import gzip
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from aifinops.errors import BadInputError
from aifinops.ingest.pipeline import ingest
from aifinops.lake.store import Lake

Rows = list[list[str]]


@dataclass(frozen=True)
class Expect:
    """What the error must say: data row, column, and words of message/expected/fix."""

    row: int | None
    column: str | None
    message: str
    expected: str
    fix: str


@dataclass(frozen=True)
class Case:
    make: Callable[[Path, Rows], Path]
    expect: Expect


def write_csv(path: Path, rows: Rows, delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def with_value(rows: Rows, row: int, column: str, value: str) -> Rows:
    """Return a copy of ``rows`` (header first) with one cell of data row ``row`` changed."""
    out = [list(r) for r in rows]
    out[row][rows[0].index(column)] = value
    return out


def snapshot(root: Path) -> dict[str, str]:
    """Return every path under ``root`` with the sha256 of its bytes ('dir' for folders)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        found[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


# -- the cases -------------------------------------------------------------------------------


def _random_csv(tmp: Path, rows: Rows) -> Path:
    return write_csv(tmp / "people.csv", [["name", "age", "city"], ["Ada", "36", "London"]])


def _oracle_report(tmp: Path, rows: Rows) -> Path:
    header = [
        "lineItem/referenceNo",
        "lineItem/tenantId",
        "lineItem/intervalUsageStart",
        "lineItem/intervalUsageEnd",
        "product/service",
        "product/resourceId",
        "usage/billedQuantity",
        "cost/unitPrice",
        "cost/myCost",
        "cost/currencyCode",
    ]
    row = [
        "ref-1",
        "ocid1.tenancy.oc1..aaa",
        "2024-09-01T00:00Z",
        "2024-09-01T01:00Z",
        "COMPUTE",
        "ocid1.instance.oc1..bbb",
        "1",
        "0.5",
        "0.5",
        "USD",
    ]
    return write_csv(tmp / "reports_cost-csv_0001000000123456.csv", [header, row])


def _truncated_gzip(tmp: Path, rows: Rows) -> Path:
    whole = tmp / "whole.csv"
    write_csv(whole, rows)
    data = gzip.compress(whole.read_bytes())
    path = tmp / "focus.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _semicolons(tmp: Path, rows: Rows) -> Path:
    return write_csv(tmp / "focus-semicolon.csv", rows, delimiter=";")


def _not_a_number(tmp: Path, rows: Rows) -> Path:
    return write_csv(tmp / "abc.csv", with_value(rows, 700, "BilledCost", "abc"))


def _unknown_category(tmp: Path, rows: Rows) -> Path:
    return write_csv(tmp / "refund.csv", with_value(rows, 321, "ChargeCategory", "Refund"))


def _no_billing_period(tmp: Path, rows: Rows) -> Path:
    return write_csv(tmp / "no-period.csv", with_value(rows, 555, "BillingPeriodStart", ""))


def _extra_field(tmp: Path, rows: Rows) -> Path:
    out = [list(r) for r in rows]
    out[432].append("stray")
    return write_csv(tmp / "ragged.csv", out)


def _missing_field(tmp: Path, rows: Rows) -> Path:
    out = [list(r) for r in rows]
    out[98] = out[98][:-1]
    return write_csv(tmp / "short.csv", out)


def _mixed_currency(tmp: Path, rows: Rows) -> Path:
    # Row 812 is an AWS row; the rest of that account+period bills in USD.
    assert rows[812][rows[0].index("ProviderName")] == "AWS"
    return write_csv(tmp / "eur.csv", with_value(rows, 812, "BillingCurrency", "EUR"))


def _empty(tmp: Path, rows: Rows) -> Path:
    path = tmp / "empty.csv"
    path.write_bytes(b"")
    return path


def _missing_path(tmp: Path, rows: Rows) -> Path:
    return tmp / "does-not-exist" / "focus.csv"


def _binary(tmp: Path, rows: Rows) -> Path:
    path = tmp / "invoice.pdf"
    path.write_bytes(b"%PDF-1.7\n\x00\x01\x02\xff" * 50)
    return path


_NOT_FOCUS = Expect(0, None, "no reader recognises this file", "billing export", "--source-format")
_MALFORMED = Expect(None, None, "malformed CSV", "one per header column", "re-export")
CASES: dict[str, Case] = {
    "random-csv": Case(_random_csv, _NOT_FOCUS),
    "oracle-cost-report": Case(_oracle_report, _NOT_FOCUS),
    "truncated-gzip": Case(
        _truncated_gzip,
        Expect(None, None, "gzip stream ends early", "a complete gzip file", "truncated"),
    ),
    "semicolon-delimiter": Case(
        _semicolons, Expect(0, None, "';' separators", "comma-separated columns", "comma-separated")
    ),
    "non-numeric-cost": Case(
        _not_a_number,
        Expect(700, "BilledCost", "'abc' is not a number", "plain decimal", "cost columns"),
    ),
    "unknown-charge-category": Case(
        _unknown_category,
        Expect(
            321,
            "ChargeCategory",
            "'Refund'",
            "one of Adjustment, Credit, Purchase, Tax, Usage",
            "ChargeClass=Correction",
        ),
    ),
    "no-billing-period": Case(
        _no_billing_period,
        Expect(
            555,
            "BillingPeriodStart",
            "no billing period",
            "BillingPeriodStart as a UTC date",
            "fill BillingPeriodStart",
        ),
    ),
    "extra-field": Case(
        _extra_field,
        Expect(
            432, None, "the row has 45 fields, the header 44", _MALFORMED.expected, _MALFORMED.fix
        ),
    ),
    "missing-field": Case(
        _missing_field,
        Expect(
            98, None, "the row has 43 fields, the header 44", _MALFORMED.expected, _MALFORMED.fix
        ),
    ),
    "mixed-currencies": Case(
        _mixed_currency,
        Expect(
            812,
            "BillingCurrency",
            "mixes billing currencies ['EUR', 'USD']",
            "one BillingCurrency per billing account and period",
            "separately",
        ),
    ),
    "empty-file": Case(_empty, Expect(0, None, "empty", "a header line", "header row")),
    "missing-path": Case(
        _missing_path, Expect(None, None, "no such file", "an existing", "check the path")
    ),
    "binary-file": Case(
        _binary,
        Expect(
            None,
            None,
            "not a CSV, CSV.gz, JSONL or Parquet file",
            ".csv, .csv.gz, .jsonl or .parquet",
            "export the cost data as CSV, JSONL or Parquet",
        ),
    ),
}


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_rows(sample_csv: Path) -> Rows:
    with open(sample_csv, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1001
    return rows


@pytest.fixture(scope="module")
def lake_template(sample_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "lake"
    report = ingest([sample_csv], Lake.open(root))
    assert len(report.written) == 4
    return root


@pytest.fixture
def full_lake(lake_template: Path, tmp_path: Path) -> Lake:
    """A lake that already holds the FOCUS sample (a byte copy of one ingest)."""
    root = tmp_path / "lake"
    shutil.copytree(lake_template, root)
    return Lake.open(root)


# -- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_and_lake_unchanged(
    case: str, full_lake: Lake, sample_rows: Rows, tmp_path: Path
) -> None:
    spec = CASES[case]
    bad = spec.make(tmp_path, sample_rows)
    before = snapshot(full_lake.root)
    assert any(name.endswith("part-0.parquet") for name in before)

    with pytest.raises(BadInputError) as caught:
        ingest([bad], full_lake)

    err, want = caught.value, spec.expect
    assert err.file == str(bad)
    assert err.row == want.row
    assert err.column == want.column
    assert want.message in err.message
    assert err.expected is not None and want.expected in err.expected
    assert err.fix is not None and want.fix in err.fix
    assert str(bad) in str(err)  # the one-line message names the file too
    assert snapshot(full_lake.root) == before
    assert snapshot(Lake.open(full_lake.root).root) == before  # recovery finds nothing to do


def test_bad_file_after_good_one_writes_nothing(
    full_lake: Lake, sample_rows: Rows, tmp_path: Path
) -> None:
    """Every file is checked before any partition is written, good files included."""
    cost = sample_rows[0].index("BilledCost")
    restated = [sample_rows[0]] + [[*r[:cost], "1", *r[cost + 1 :]] for r in sample_rows[1:]]
    good = write_csv(tmp_path / "restated.csv", restated)
    bad = _not_a_number(tmp_path, sample_rows)
    before = snapshot(full_lake.root)

    with pytest.raises(BadInputError) as caught:
        ingest([good, bad], full_lake)

    assert (caught.value.file, caught.value.row) == (str(bad), 700)
    assert snapshot(full_lake.root) == before
    # The good file alone is fine and does replace the partitions.
    assert len(ingest([good], full_lake).written) == 4
    assert snapshot(full_lake.root) != before


def test_no_input_files(tmp_lake: Lake, tmp_path: Path) -> None:
    empty_dir = tmp_path / "exports"
    empty_dir.mkdir()
    before = snapshot(tmp_lake.root)
    with pytest.raises(BadInputError) as caught:
        ingest([empty_dir], tmp_lake)
    assert caught.value.message == "no input files"
    assert caught.value.fix is not None and "CSV" in caught.value.fix
    assert snapshot(tmp_lake.root) == before
