"""Tests of the Nimbus Labs demo generator (aifinops.demo)."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from aifinops.demo import DemoResult, generate
from aifinops.focus.columns import (
    CHARGE_CATEGORIES,
    CHARGE_FREQUENCIES,
    PRICING_CATEGORIES,
    SERVICE_CATEGORIES,
    SERVICE_SUBCATEGORIES,
    focus_schema,
)

SCALE = 0.05
Key = tuple[str, str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return generate(tmp_path_factory.mktemp("demo"), seed=7, scale=SCALE)


@pytest.fixture(scope="module")
def truth(demo: DemoResult) -> list[dict[str, Any]]:
    return [r for f in demo.truth_files for r in pq.read_table(f).to_pylist()]


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_bytes(demo: DemoResult, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", seed=7, scale=SCALE)
    assert _digest(again.out_dir) == _digest(demo.out_dir)


def test_two_processes_write_the_same_files(demo: DemoResult, tmp_path: Path) -> None:
    again = generate(tmp_path / "parallel", seed=7, scale=SCALE, workers=2)
    assert _digest(again.out_dir) == _digest(demo.out_dir)
    assert again.totals == demo.totals and again.rows == demo.rows
    assert again.truth_files == [
        again.out_dir / f.relative_to(demo.out_dir) for f in demo.truth_files
    ]


def test_fleet_grows_so_rows_follow_scale() -> None:
    from aifinops.demo.company import fleet, fleet_factor

    assert fleet_factor(0.5) == 0.5 and fleet_factor(1) == 1 and fleet_factor(20) == 39
    assert fleet(3, 20) == 117 and fleet(1, 0.05) == 1


def test_other_seed_gives_other_data(demo: DemoResult, tmp_path: Path) -> None:
    other = generate(tmp_path / "other", seed=8, scale=SCALE)
    mine, theirs = _digest(demo.out_dir), _digest(other.out_dir)
    assert mine.keys() == theirs.keys()
    assert mine["focus/aws-2026-08.parquet"] != theirs["focus/aws-2026-08.parquet"]
    assert mine["telemetry/gpu.csv"] != theirs["telemetry/gpu.csv"]


def test_truth_schema_is_focus_12(demo: DemoResult) -> None:
    assert len(demo.truth_files) == 9
    for path in demo.truth_files:
        assert pq.read_schema(path).remove_metadata() == focus_schema(with_extras=False)


def test_row_count_is_small_but_not_tiny(demo: DemoResult, truth: list[dict[str, Any]]) -> None:
    assert demo.rows == len(truth)
    assert 1_000 <= demo.rows <= 10_000


def _check_row(r: dict[str, Any]) -> None:
    assert r["ChargeCategory"] in CHARGE_CATEGORIES
    assert r["ChargeFrequency"] in CHARGE_FREQUENCIES
    assert r["ServiceCategory"] in SERVICE_CATEGORIES
    assert SERVICE_SUBCATEGORIES[r["ServiceSubcategory"]] == r["ServiceCategory"]
    assert r["PricingCategory"] is None or r["PricingCategory"] in PRICING_CATEGORIES
    assert r["ProviderName"] in ("AWS", "Microsoft", "Google Cloud")
    assert r["InvoiceIssuerName"] and r["PublisherName"]
    assert all(v != "" for v in r.values()), "empty strings must be nulls"
    for price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
        if r[price] is not None and r["PricingQuantity"] is not None:
            assert r[price] * r["PricingQuantity"] == r[cost]
    assert r["ChargePeriodStart"] < r["ChargePeriodEnd"]
    assert r["BillingPeriodStart"] <= r["ChargePeriodStart"]
    assert r["ChargePeriodEnd"] <= r["BillingPeriodEnd"]
    start = r["BillingPeriodStart"]
    assert (start.day, start.hour, start.minute) == (1, 0, 0)
    assert str(start.tzinfo) == "UTC"
    if r["ChargeCategory"] == "Tax":
        assert r["PricingQuantity"] is None and r["PricingUnit"] is None
        assert r["PricingCategory"] is None
    if r["ChargeCategory"] in ("Usage", "Purchase") and r["ChargeClass"] is None:
        assert r["PricingQuantity"] is not None and r["PricingCategory"] is not None
    if r["ChargeCategory"] != "Usage" or r["CommitmentDiscountStatus"] == "Unused":
        assert r["ConsumedQuantity"] is None and r["ConsumedUnit"] is None
    if r["CommitmentDiscountId"] is not None and r["ChargeCategory"] == "Usage":
        assert r["CommitmentDiscountStatus"] in ("Used", "Unused")
    if r["ChargeCategory"] == "Purchase":
        assert r["EffectiveCost"] == 0 and r["ChargeFrequency"] != "Usage-Based"
    assert r["ChargeClass"] in (None, "Correction")
    for name in ("Tags", "SkuPriceDetails"):
        if r[name] is not None:
            assert isinstance(json.loads(r[name]), dict)


def test_every_truth_row_follows_the_focus_rules(truth: list[dict[str, Any]]) -> None:
    for row in truth:
        _check_row(row)


def test_truth_has_the_commitment_and_one_off_lines(truth: list[dict[str, Any]]) -> None:
    kinds = {
        (
            r["ProviderName"],
            r["ChargeCategory"],
            r["CommitmentDiscountStatus"],
            r["PricingCategory"],
            r["ChargeClass"],
        )
        for r in truth
    }
    assert ("AWS", "Usage", "Unused", "Committed", None) in kinds
    assert ("AWS", "Purchase", None, "Standard", None) in kinds
    assert ("Microsoft", "Usage", "Used", "Committed", None) in kinds
    assert ("Google Cloud", "Usage", "Used", "Committed", None) in kinds
    assert ("AWS", "Usage", None, "Dynamic", None) in kinds
    assert ("AWS", "Credit", None, None, None) in kinds
    assert ("AWS", "Usage", None, None, "Correction") in kinds
    assert any(r["ChargeCategory"] == "Tax" for r in truth)
    covered = [r for r in truth if r["CommitmentDiscountStatus"] == "Used"]
    assert all(r["BilledCost"] == 0 and r["EffectiveCost"] > 0 for r in covered)


def test_truth_says_only_what_the_native_exports_carry(truth: list[dict[str, Any]]) -> None:
    # Only the CUR names an invoice; EA cost details and the BigQuery export have no invoice id.
    invoiced: dict[str, set[bool]] = {}
    for r in truth:
        invoiced.setdefault(r["ProviderName"], set()).add(r["InvoiceId"] is not None)
    assert invoiced == {"AWS": {True}, "Microsoft": {False}, "Google Cloud": {False}}
    aws = [r for r in truth if r["ProviderName"] == "AWS"]
    # Every EC2 instance is named by its Name tag, the CUR's only name for it.
    ec2 = [r for r in aws if str(r["ResourceId"]).startswith("i-")]
    assert ec2 and all(json.loads(r["Tags"])["Name"] == r["ResourceName"] for r in ec2)
    # Every AWS SKU line has a rate code; both commitments are named from their lines' terms.
    assert None not in {r["SkuPriceId"] for r in aws if r["SkuId"] is not None}
    names = {r["CommitmentDiscountName"] for r in aws} - {None}
    assert names == {"Compute Savings Plan 1yr No Upfront", "m6i.2xlarge 1yr No Upfront"}
    # An unused Savings Plan line keeps its fee line's service.
    unused = {r["ServiceName"] for r in aws if r["CommitmentDiscountStatus"] == "Unused"}
    assert unused == {"Savings Plans for AWS Compute usage"}


def _truth_sums(truth: list[dict[str, Any]]) -> dict[Key, list[Decimal]]:
    sums: dict[Key, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in truth:
        key = (r["ProviderName"], r["BillingAccountId"], f"{r['BillingPeriodStart']:%Y-%m}")
        sums[key][0] += r["BilledCost"]
        sums[key][1] += r["EffectiveCost"]
    return sums


def test_totals_are_the_sums_of_the_truth(demo: DemoResult, truth: list[dict[str, Any]]) -> None:
    sums = _truth_sums(truth)
    assert {k: (v[0], v[1]) for k, v in sums.items()} == demo.totals
    assert len(demo.totals) == 9


def test_labels_align_with_truth(demo: DemoResult) -> None:
    for focus, labels in zip(demo.truth_files, demo.label_files, strict=True):
        assert focus.name == labels.name
        table = pq.read_table(labels)
        assert table.num_rows == pq.read_metadata(focus).num_rows
        assert "x_GpuModel" in table.column_names and "x_Story" in table.column_names
    models = {m for f in demo.label_files for m in pq.read_table(f)["x_GpuModel"].to_pylist()}
    assert {"H100-80GB-SXM", "A100-40GB", "A100-80GB", "A10G", "L4", "TPU-v5e"} <= models


def _billed(demo: DemoResult, provider: str) -> dict[tuple[str, str], Decimal]:
    return {(acct, month): v[0] for (p, acct, month), v in demo.totals.items() if p == provider}


def test_aws_cur2_sums_to_truth(demo: DemoResult) -> None:
    # Σ unblended over every line, SavingsPlanNegation included: the negation cancels the
    # on-demand cost of covered usage, which is what was billed.
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    types: set[str] = set()
    for path in demo.native_files["aws"]:
        for r in pq.read_table(path).to_pylist():
            month = f"{r['bill_billing_period_start_date']:%Y-%m}"
            sums[(r["bill_payer_account_id"], month)] += Decimal(
                repr(r["line_item_unblended_cost"])
            )
            types.add(r["line_item_line_item_type"])
    assert dict(sums) == _billed(demo, "AWS")
    assert types == {
        "Usage",
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "SavingsPlanRecurringFee",
        "DiscountedUsage",
        "RIFee",
        "Tax",
        "Credit",
        "Refund",
    }


def _ea(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(path.open(encoding="utf-8-sig", newline="")))


def test_azure_actual_sums_to_truth_billed(demo: DemoResult) -> None:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    charge_types: set[str] = set()
    for path in demo.native_files["azure"]:
        for r in _ea(path):
            charge_types.add(r["ChargeType"])
            if "actual" in path.name:
                m, _d, y = r["BillingPeriodStartDate"].split("/")
                sums[(r["BillingAccountId"], f"{y}-{m}")] += Decimal(r["Cost"])
    assert dict(sums) == _billed(demo, "Microsoft")
    assert charge_types == {"Usage", "Purchase", "UnusedReservation"}


def test_gcp_export_sums_to_truth_billed(demo: DemoResult) -> None:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    credit_types: set[str] = set()
    for path in demo.native_files["gcp"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line, parse_float=Decimal)
            net = Decimal(r["cost"]) + sum((Decimal(c["amount"]) for c in r["credits"]), Decimal(0))
            month = r["invoice"]["month"]
            sums[(r["billing_account_id"], f"{month[:4]}-{month[4:]}")] += net
            credit_types |= {c["type"] for c in r["credits"]}
    assert dict(sums) == _billed(demo, "Google Cloud")
    assert credit_types == {"COMMITTED_USAGE_DISCOUNT"}


def test_every_story_is_planted(demo: DemoResult) -> None:
    assert demo.stories_file is not None
    stories = {s["name"]: s for s in json.loads(demo.stories_file.read_text())["stories"]}
    assert set(stories) == {
        "runaway-training",
        "idle-gpu-cluster",
        "zombie-notebook",
        "cross-cloud-copy",
    }
    for story in stories.values():
        assert story["truth_rows"] > 0 and Decimal(story["expected_billed_cost"]) > 0
        assert story["resource_ids"]
    labelled = [s for f in demo.label_files for s in pq.read_table(f)["x_Story"].to_pylist()]
    for name, story in stories.items():
        assert labelled.count(name) == story["truth_rows"]


def test_signals_show_the_stories(demo: DemoResult) -> None:
    assert demo.telemetry_file is not None and demo.metrics_file is not None
    stories = json.loads(demo.stories_file.read_text())["stories"] if demo.stories_file else []
    ids = {s["name"]: s["resource_ids"][0] for s in stories}
    idle, zombie = defaultdict(list), defaultdict(list)
    with demo.telemetry_file.open(newline="") as f:
        for r in csv.DictReader(f):
            if (
                r["resource_id"] == ids["idle-gpu-cluster"]
                and "2026-10-13" <= r["timestamp"] < "2026-10-18"
            ):
                idle["util"].append(float(r["gpu_util_pct"]))
            if r["resource_id"] == ids["zombie-notebook"] and r["timestamp"] >= "2026-09":
                zombie["util"].append(float(r["gpu_util_pct"]))
                zombie["mem"].append(int(r["mem_used_mib"]) / int(r["mem_total_mib"]))
    assert idle["util"] and max(idle["util"]) < 3
    assert zombie["util"] and max(zombie["util"]) == 0 and min(zombie["mem"]) > 0.5
    with demo.metrics_file.open(newline="") as f:
        metrics = {r["metric"] for r in csv.DictReader(f)}
    assert {"requests", "tokens_in", "tokens_out", "epochs", "steps"} <= metrics


# The first 12 days are enough to fill every write buffer; generating all 92 at scale 2 takes
# too long for a unit test.
_RSS = """
import resource, sys, tempfile
from pathlib import Path
import aifinops.demo.build as g
all_days = g.days
g.days = lambda: all_days()[:12]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with tempfile.TemporaryDirectory() as d:
    g.generate(Path(d), scale=float(sys.argv[1]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def _rss_growth_kib(scale: float) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _RSS, str(scale)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(done.stdout.strip())


@pytest.mark.slow
def test_memory_stays_flat_when_scale_grows() -> None:
    small, large = _rss_growth_kib(0.2), _rss_growth_kib(2.0)
    # Ten times the rows may cost a little more (bigger batches, more resources), not 10x.
    assert large < small * 1.5 + 16 * 1024
