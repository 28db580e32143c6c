"""The carbon report: energy and emissions by team, model and region from a real ingested
lake (enrichment estimates each row), with intensities and the rows no grid factor covers;
the same on DuckDB and PySpark."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from aifinops.analyze import CARBON_DIMENSIONS, carbon_report, choose_dimensions, parse_period
from aifinops.analyze.carbon import CARBON_MEASURES
from aifinops.catalog import load_catalog
from aifinops.errors import BadInputError
from aifinops.lake import Lake, connect
from test_analyze_gpu import focus_row, ingest_rows

GCP = {"provider": "Google Cloud", "region": "us-central1", "service": "Compute Engine"}
LLM = {"team": "llm", "model": "llama"}
CHAT = {"team": "search", "model": "chat"}
ROWS = [
    focus_row("400", hours="10", instance="p5.48xlarge", name="llama-sft", **LLM),
    focus_row("121.2", hours="100", instance="g5.2xlarge", name="chat-serve", **CHAT),
    # AWS's Mexico region is not in the grid table: energy, but no emissions.
    focus_row("6.06", hours="5", instance="g5.2xlarge", region="mx-central-1", **CHAT),
    focus_row("28.002", hours="50", meter="Nvidia L4 GPU running in Americas", **GCP, **CHAT),
    focus_row("4", hours="200", meter="G2 Instance Core running in Americas", **GCP, **CHAT),
    focus_row("3.33", service="Amazon S3", category="Storage", team="llm"),
    focus_row(
        "20",
        billed="0",
        hours="10",
        instance="Standard_NC24ads_A100_v4",
        provider="Microsoft",
        region="eastus",
        pricing="Committed",
        service="Virtual Machines",
        team="research",
        month="2026-09",
    ),
]
KEYS = ("x_Team", "x_Model", "RegionId")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return ingest_rows(tmp_path_factory.mktemp("carbon"), ROWS)


@pytest.fixture(scope="module")
def stored(lake: Lake) -> list[dict[str, Any]]:
    """The lake's rows as written, read straight from its Parquet files."""
    return [row for path in lake.data_files() for row in pq.read_table(path).to_pylist()]


def _report(lake: Lake, **kwargs: Any) -> Any:
    engine = connect(lake)
    return carbon_report(engine.costs(), engine.execute, **kwargs)


def _by_key(report: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {(r["team"], r["model"], r["region"]): r for r in report.rows}


def test_sums_equal_the_lake_rows_with_energy(lake: Lake, stored: list[dict[str, Any]]) -> None:
    expected: dict[tuple[Any, ...], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in stored:
        if row["x_EnergyKwh"] is None:
            continue
        sums = expected[tuple(row[k] for k in KEYS)]
        sums["energy_kwh"] += row["x_EnergyKwh"]
        sums["carbon_kg_co2e"] += row["x_CarbonKgCo2e"] or 0
        sums["effective_cost"] += row["EffectiveCost"]
        sums["rows"] += 1
    found = _by_key(_report(lake, by=["team", "model", "region"]))
    assert set(found) == set(expected)
    for key, sums in expected.items():
        for name, value in sums.items():
            got = found[key][name]
            assert (got if got is not None else 0) == value, (key, name)


def test_only_rows_with_energy_are_counted(lake: Lake) -> None:
    found = _by_key(_report(lake, by=["team", "model", "region"]))
    # The S3 row has no energy estimate: llm's only row is the p5's.
    assert found[("llm", "llama", "us-east-1")]["rows"] == 1
    assert ("llm", None, "us-east-1") not in found
    # Google's host core row counts energy but no accelerator-hours.
    gcp = found[("search", "chat", "us-central1")]
    assert (gcp["rows"], gcp["accelerator_hours"], gcp["effective_cost"]) == (
        2,
        50,
        Decimal("32.002"),
    )


def test_intensities_per_usd_and_per_accelerator_hour(lake: Lake) -> None:
    found = _by_key(_report(lake, by=["team", "model", "region"]))
    p5 = found[("llm", "llama", "us-east-1")]
    # Dividing by 400 USD and 80 GPU-hours terminates: the intensities are exact.
    assert p5["g_co2e_per_usd"] == p5["carbon_kg_co2e"] * 1000 / 400
    assert p5["g_co2e_per_accelerator_hour"] == p5["carbon_kg_co2e"] * 1000 / 80
    gcp = found[("search", "chat", "us-central1")]
    # Per accelerator-hour counts the GPU row's emissions only, not the host core row's.
    assert gcp["accelerator_kg_co2e"] < gcp["carbon_kg_co2e"]
    assert gcp["g_co2e_per_accelerator_hour"] == gcp["accelerator_kg_co2e"] * 1000 / 50
    tolerance = Decimal("1e-18") * gcp["effective_cost"]
    assert abs(gcp["g_co2e_per_usd"] * gcp["effective_cost"] - gcp["carbon_kg_co2e"] * 1000) <= (
        tolerance
    )


def test_rows_with_energy_but_no_grid_factor_are_counted_and_listed(
    lake: Lake, stored: list[dict[str, Any]]
) -> None:
    assert ("aws", "mx-central-1") not in load_catalog().grid
    report = _report(lake, by=["team", "model", "region"])
    mexico = _by_key(report)[("search", "chat", "mx-central-1")]
    energy = next(r["x_EnergyKwh"] for r in stored if r["RegionId"] == "mx-central-1")
    assert energy > 0
    assert (mexico["carbon_kg_co2e"], mexico["g_co2e_per_usd"]) == (None, None)
    assert (mexico["rows_without_carbon"], mexico["kwh_without_carbon"]) == (1, energy)
    assert report.rows_without_carbon == 1
    assert report.missing_grid == [
        {"provider": "AWS", "region": "mx-central-1", "rows": 1, "energy_kwh": energy}
    ]
    assert _by_key(report)[("llm", "llama", "us-east-1")]["kwh_without_carbon"] == 0


def test_rows_are_largest_emitter_first_with_the_documented_columns(lake: Lake) -> None:
    report = _report(lake, by=["region"])
    carbon = [r["carbon_kg_co2e"] for r in report.rows if r["carbon_kg_co2e"] is not None]
    assert carbon == sorted(carbon, reverse=True)
    assert report.rows[-1]["region"] == "mx-central-1"  # no emissions: last
    assert all(list(r) == ["region", *CARBON_MEASURES] for r in report.rows)
    assert report.energy_kwh == sum(r["energy_kwh"] for r in report.rows)


def test_period_and_totals(lake: Lake, stored: list[dict[str, Any]]) -> None:
    report = _report(lake, by=["team"], period=parse_period("2026-09"))
    assert [(r["team"], r["rows"]) for r in report.rows] == [("research", 1)]
    azure = next(r for r in stored if r["ProviderName"] == "Microsoft")
    assert (report.energy_kwh, report.carbon_kg_co2e) == (
        azure["x_EnergyKwh"],
        azure["x_CarbonKgCo2e"],
    )
    assert report.missing_grid == []


def test_dimensions_are_restricted_to_the_carbon_ones() -> None:
    assert choose_dimensions("team,model,region", CARBON_DIMENSIONS) == ["team", "model", "region"]
    with pytest.raises(BadInputError) as caught:
        choose_dimensions("team,sku", CARBON_DIMENSIONS)
    assert "sku" in str(caught.value) and "region" in str(caught.value.expected)


def test_empty_lake_gives_no_rows(tmp_path: Path) -> None:
    report = _report(Lake.open(tmp_path / "empty"), by=["team"])
    assert (report.rows, report.missing_grid, report.energy_kwh) == ([], [], None)


@pytest.mark.spark
def test_duckdb_and_pyspark_give_equal_carbon_reports(lake: Lake) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        engine = connect(lake, engine=name)
        report = carbon_report(engine.costs(), engine.execute, by=["team", "model", "region"])
        results.append((report.rows, report.missing_grid))
    assert results[0] == results[1]
