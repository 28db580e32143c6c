"""The workloads report: cost by workload, team and model with shares, and lifecycle stages,
from a real ingested lake (enrichment classifies each row); the same on DuckDB and PySpark."""

from __future__ import annotations

from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.analyze import (
    WORKLOAD_DIMENSIONS,
    choose_dimensions,
    parse_period,
    workload_costs,
    workload_report,
)
from aifinops.analyze.report_rows import RATIO_PLACES
from aifinops.analyze.workloads import WORKLOAD_MEASURES
from aifinops.errors import BadInputError
from aifinops.lake import Lake, connect
from test_analyze_gpu import focus_row, ingest_rows

GCP = {"provider": "Google Cloud", "region": "us-central1", "service": "Compute Engine"}
LLM = {"team": "llm", "model": "llama"}
CHAT = {"team": "search", "model": "chat"}
ROWS = [
    focus_row("400", hours="10", instance="p5.48xlarge", name="llama-sft-job", **LLM),
    focus_row("137.6", hours="2.5", instance="p5.48xlarge", name="llama-pretrain", **LLM),
    focus_row("12.12", hours="10", instance="g5.2xlarge", name="llama-eval", **LLM),
    focus_row("121.2", hours="100", instance="g5.2xlarge", name="chat-serve", **CHAT),
    focus_row(
        "28.002",
        hours="50",
        meter="Nvidia L4 GPU running in Americas",
        name="chat-endpoint",
        **GCP,
        **CHAT,
    ),
    focus_row(
        "12.12", hours="10", instance="g5.2xlarge", name="chat-serve", month="2026-09", **CHAT
    ),
    focus_row(
        "20",
        billed="0",
        hours="10",
        instance="Standard_NC24ads_A100_v4",
        provider="Microsoft",
        region="eastus",
        pricing="Committed",
        service="Virtual Machines",
        name="nb-alice",
        team="research",
    ),
    focus_row("4.608", hours="24", instance="m5.xlarge", name="etl-daily", team="data"),
    focus_row("3.33", service="Amazon S3", category="Storage", name="datasets", team="data"),
]
TOTAL = Decimal("738.98")
# (workload, team, model) -> (effective, billed, accelerator-hours, rows), all periods.
EXPECTED = {
    ("training", "llm", "llama"): (Decimal("549.72"), Decimal("549.72"), 110, 3),
    ("inference", "search", "chat"): (Decimal("161.322"), Decimal("161.322"), 160, 3),
    ("notebook", "research", None): (Decimal(20), Decimal(0), 10, 1),
    ("data-prep", "data", None): (Decimal("4.608"), Decimal("4.608"), None, 1),
    ("storage", "data", None): (Decimal("3.33"), Decimal("3.33"), None, 1),
}
# lifecycle stage -> (effective, rows): SFT is retraining, eval is validation, notebooks and
# storage have no stage.
STAGES = {
    "retraining": (Decimal(400), 1),
    "training": (Decimal("137.6"), 1),
    "validation": (Decimal("12.12"), 1),
    "inference": (Decimal("161.322"), 3),
    "data-preparation": (Decimal("4.608"), 1),
    None: (Decimal("23.33"), 2),
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return ingest_rows(tmp_path_factory.mktemp("workloads"), ROWS)


def _share(part: Decimal, whole: Decimal) -> Decimal:
    with localcontext(Context(prec=100)):
        exact = Decimal(100) * part / whole
    return exact.quantize(Decimal(1).scaleb(-RATIO_PLACES))


def _run(lake: Lake, **kwargs: Any) -> Any:
    engine = connect(lake)
    return workload_report(engine.costs(), engine.execute, **kwargs)


def test_cost_by_workload_team_and_model_is_exact(lake: Lake) -> None:
    report = _run(lake, by=["workload", "team", "model"])
    found = {
        (r["workload"], r["team"], r["model"]): (
            r["effective_cost"],
            r["billed_cost"],
            r["accelerator_hours"],
            r["rows"],
        )
        for r in report.rows
    }
    assert found == EXPECTED
    assert report.total_effective_cost == TOTAL
    assert report.total_rows == len(ROWS)


def test_share_is_effective_cost_over_the_period_total(lake: Lake) -> None:
    report = _run(lake, by=["workload", "team", "model"])
    for row in report.rows:
        assert row["share_pct"] == _share(row["effective_cost"], TOTAL)
    assert report.rows[0]["share_pct"] == _share(Decimal("549.72"), TOTAL)
    assert abs(sum(r["share_pct"] for r in report.rows) - 100) < Decimal("1e-15")


def test_rows_are_largest_first_with_the_documented_columns(lake: Lake) -> None:
    report = _run(lake, by=["team"])
    assert [r["team"] for r in report.rows] == ["llm", "search", "research", "data"]
    assert all(list(r) == ["team", *WORKLOAD_MEASURES] for r in report.rows)


def test_lifecycle_stage_costs(lake: Lake) -> None:
    report = _run(lake, by=["workload"])
    assert {r["lifecycle_stage"]: (r["effective_cost"], r["rows"]) for r in report.stages} == (
        STAGES
    )
    assert sum(r["share_pct"] for r in report.stages) == pytest.approx(100)


def test_period_keeps_only_its_months(lake: Lake) -> None:
    report = _run(lake, by=["workload", "team"], period=parse_period("2026-09"))
    assert [
        (r["workload"], r["team"], r["effective_cost"], r["share_pct"]) for r in report.rows
    ] == [("inference", "search", Decimal("12.12"), 100)]


def test_no_dimensions_gives_one_total_row(lake: Lake) -> None:
    (row,) = _run(lake, by=[]).rows
    assert (row["effective_cost"], row["share_pct"], row["rows"]) == (TOTAL, 100, len(ROWS))


@settings(max_examples=15, deadline=None)
@given(dims=st.lists(st.sampled_from(WORKLOAD_DIMENSIONS), unique=True, max_size=3))
def test_any_dimensions_conserve_the_total(lake: Lake, dims: list[str]) -> None:
    engine = connect(lake)
    rows = engine.execute(workload_costs(engine.costs(), by=dims)).to_pylist()
    assert sum((r["effective_cost"] for r in rows), Decimal(0)) == TOTAL
    assert sum(r["rows"] for r in rows) == len(ROWS)


def test_dimensions_are_restricted_to_workload_ones() -> None:
    assert choose_dimensions("workload, lifecycle_stage", WORKLOAD_DIMENSIONS) == [
        "workload",
        "lifecycle_stage",
    ]
    with pytest.raises(BadInputError) as caught:
        choose_dimensions("workload,region", WORKLOAD_DIMENSIONS)
    assert "region" in str(caught.value) and "lifecycle_stage" in str(caught.value.expected)
    with pytest.raises(BadInputError, match="twice"):
        choose_dimensions("team,team", WORKLOAD_DIMENSIONS)


def test_empty_lake_gives_no_rows(tmp_path: Path) -> None:
    report = _run(Lake.open(tmp_path / "empty"), by=["workload"])
    assert (report.rows, report.stages, report.total_effective_cost) == ([], [], None)


@pytest.mark.spark
def test_duckdb_and_pyspark_give_equal_workload_reports(lake: Lake) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        engine = connect(lake, engine=name)
        report = workload_report(engine.costs(), engine.execute, by=["workload", "team", "model"])
        results.append((report.rows, report.stages))
    assert results[0] == results[1]
