"""Enrichment at ingest against the demo company's truth labels and the real FOCUS sample."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from aifinops.catalog import load_catalog
from aifinops.focus.columns import focus_schema
from aifinops.ingest.pipeline import ingest
from aifinops.lake.store import Lake
from support.demo_build import small_demo, small_demo_lake

FOCUS_COLUMNS = [f.name for f in focus_schema(with_extras=False)]


def _key(row: dict[str, Any]) -> str:
    """Return a row's FOCUS values as one sortable text (JSON columns parsed first)."""
    values = {}
    for column in FOCUS_COLUMNS:
        value = row[column]
        if column in ("Tags", "SkuPriceDetails") and value is not None:
            # NOTE: numbers as Decimals, so that 32.0 in one JSON and 32 in another agree.
            value = json.loads(value, parse_float=Decimal, parse_int=Decimal)
        values[column] = value
    return json.dumps(values, sort_keys=True, default=_text)


def _text(value: object) -> str:
    return str(value.normalize()) if isinstance(value, Decimal) else str(value)


def _rows(lake: Lake) -> list[dict[str, Any]]:
    """Return every row of the lake (files differ in nullability, so read one by one)."""
    return [
        r
        for f in sorted(lake.costs_dir.rglob("part-*.parquet"))
        for r in pq.read_table(f).to_pylist()
    ]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Return (lake row, truth label row) pairs, matched on every FOCUS value.

    The lake is the shared small demo (seed 7, scale 0.05): its native AWS, Azure and Google
    Cloud exports ingested, enrichment included, with the demo's BillingAccountName fallback.
    """
    base = tmp_path_factory.getbasetemp()
    demo, lake = small_demo(base).demo, small_demo_lake(base)
    truth: list[tuple[str, dict[str, Any]]] = []
    for focus_file, label_file in zip(demo.truth_files, demo.label_files, strict=True):
        rows = pq.read_table(focus_file).to_pylist()
        labels = pq.read_table(label_file).to_pylist()
        truth.extend((_key(r), lab) for r, lab in zip(rows, labels, strict=True))
    lake_rows = _rows(lake)
    got = sorted(((_key(r), r) for r in lake_rows), key=lambda p: p[0])
    want = sorted(truth, key=lambda p: p[0])
    assert [k for k, _ in got] == [k for k, _ in want]
    return [(g, w) for (_k, g), (_k2, w) in zip(got, want, strict=True)]


def test_accelerator_hours_per_model_equal_the_truth_exactly(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    got: dict[str, Decimal] = defaultdict(Decimal)
    want: dict[str, Decimal] = defaultdict(Decimal)
    for row, label in pairs:
        if row["x_GpuModel"] is not None:
            got[row["x_GpuModel"]] += row["x_AcceleratorHours"]
        if label["x_GpuModel"] is not None:
            want[label["x_GpuModel"]] += label["x_AcceleratorHours"]
    assert set(want) == {"H100-80GB-SXM", "A100-40GB", "A100-80GB", "A10G", "L4", "T4", "TPU-v5e"}
    assert dict(got) == dict(want)


def test_every_row_names_the_truths_accelerator_and_count(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    wrong = [
        (row["ChargeDescription"], row["x_GpuModel"], row["x_GpuCount"], label["x_GpuModel"])
        for row, label in pairs
        if (row["x_GpuModel"], row["x_GpuCount"], row["x_AcceleratorHours"])
        != (label["x_GpuModel"], label["x_GpuCount"], label["x_AcceleratorHours"])
    ]
    assert wrong == []


def test_at_least_95_percent_of_cost_gets_the_truths_workload(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    total = sum((abs(row["EffectiveCost"]) for row, _ in pairs), Decimal(0))
    agreed = sum(
        (abs(row["EffectiveCost"]) for row, lab in pairs if row["x_Workload"] == lab["x_Workload"]),
        Decimal(0),
    )
    misses: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for row, lab in pairs:
        if row["x_Workload"] != lab["x_Workload"]:
            misses[(row["x_WorkloadReason"], row["x_Workload"], lab["x_Workload"])] += abs(
                row["EffectiveCost"]
            )
    assert agreed / total >= Decimal("0.95"), dict(misses)
    assert all(row["x_WorkloadReason"] for row, _ in pairs)


def test_energy_and_carbon_are_estimated_for_accelerator_rows(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    gpu = [row for row, _ in pairs if row["x_GpuModel"] is not None]
    assert gpu and all(row["x_EnergyKwh"] > 0 for row in gpu)
    assert all(row["x_CarbonKgCo2e"] > 0 for row in gpu if row["RegionId"])
    p5 = next(r for r in gpu if r["x_InstanceType"] == "p5.48xlarge")
    catalog = load_catalog()
    h100, pue = catalog.accelerators["H100-80GB-SXM"], catalog.pue_for("aws", "us-east-1")
    grid = catalog.grid_for("aws", "us-east-1")
    assert pue is not None and grid is not None
    half = Decimal("0.5")
    hours = p5["x_AcceleratorHours"] / 8
    # CCF: 8 GPUs between idle and TDP, 192 vCPUs at 0.74–3.5 W, 2,048 GiB at 0.392 Wh.
    watt_hours = (
        hours * 8 * (h100.idle_watts + half * (h100.tdp_watts - h100.idle_watts))
        + hours * 192 * (Decimal("0.74") + half * (Decimal("3.5") - Decimal("0.74")))
        + hours * 2048 * Decimal("0.392")
    )
    assert p5["x_EnergyKwh"] == (watt_hours / 1000 * pue).quantize(Decimal("1e-12"))
    expected_carbon = p5["x_EnergyKwh"] * grid.g_co2e_per_kwh / 1000
    assert abs(p5["x_CarbonKgCo2e"] - expected_carbon) < Decimal("1e-9")


def test_real_focus_sample_g5_and_g3_rows_are_recognised(sample_csv: Path, tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    ingest([sample_csv], lake)
    rows = _rows(lake)
    found = {
        (r["x_InstanceType"], r["x_GpuModel"], r["x_GpuCount"])
        for r in rows
        if r["x_InstanceType"] and r["x_InstanceType"][:2] in ("g3", "g5")
    }
    assert found == {("g3.4xlarge", "M60", Decimal(1)), ("g5.4xlarge", "A10G", Decimal(1))}
    g5 = [r for r in rows if r["x_InstanceType"] == "g5.4xlarge"]
    assert sum(r["x_AcceleratorHours"] for r in g5) == sum(r["PricingQuantity"] for r in g5)
