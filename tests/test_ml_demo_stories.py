"""The demo's planted stories, found from its telemetry, usage metrics and MLflow runs.

``stories.json`` (written by the generator from the truth rows) says what each story cost; the
analyses must find the same resources, the same periods and the same money without reading it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aifinops.analyze.runs import run_ledger
from aifinops.analyze.waste import segment_rows
from aifinops.lake import Engine, connect
from support.demo_build import small_demo, small_demo_lake

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, dict[str, Any]]:
    base = tmp_path_factory.getbasetemp()
    build = small_demo(base)
    engine = connect(small_demo_lake(base))
    stories = json.loads(Path(build.demo.out_dir / "stories.json").read_text())
    return engine, {s["name"]: s for s in stories["stories"]}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _segments(engine: Engine, resource: str) -> list[dict[str, Any]]:
    telemetry = engine.signals("telemetry")
    rows = segment_rows(
        telemetry.filter(telemetry.resource_id == resource), engine.execute, engine.costs()
    )
    return list(rows)


def test_idle_cluster_is_idle_for_its_whole_week_and_costs_what_the_story_says(
    demo: tuple[Engine, dict[str, Any]],
) -> None:
    engine, stories = demo
    story = stories["idle-gpu-cluster"]
    resource = story["resource_ids"][0]
    start, end = _when(story["period_start"]), _when(story["period_end"])
    idle = [s for s in _segments(engine, resource) if s["state"] == "idle"]
    assert idle, "no idle segment found on the ND H100 v5 pool"
    assert min(s["start"] for s in idle) == start
    assert max(s["end"] for s in idle) == end
    hours = sum(Decimal(str(s["gpu_hours"])) for s in idle)
    assert hours == 32 * (end - start).total_seconds() / 3600  # 4 nodes x 8 GPUs, all week
    cost = sum(Decimal(str(s["cost"])) for s in idle)
    assert cost == Decimal(story["expected_effective_cost"])


def test_zombie_notebook_holds_memory_without_compute_from_its_last_use(
    demo: tuple[Engine, dict[str, Any]],
) -> None:
    engine, stories = demo
    story = stories["zombie-notebook"]
    resource = story["resource_ids"][0]
    start = _when(story["period_start"])
    end = _when(story["period_end"])
    segments = _segments(engine, resource)
    during = [s for s in segments if s["end"] > start]
    # From its last use to the end, the notebook is one unbroken zombie (memory held, no
    # compute), day after day; before, in use, it was sometimes busy.
    assert {s["state"] for s in during} == {"zombie"}
    assert min(s["start"] for s in during) == start and max(s["end"] for s in during) == end
    assert any(s["state"] != "zombie" for s in segments if s["end"] <= start)
    cost = sum(Decimal(str(s["cost"])) for s in during)
    assert cost == Decimal(story["expected_effective_cost"])


def test_runaway_run_stops_improving_at_its_planned_end_and_the_rest_is_waste(
    demo: tuple[Engine, dict[str, Any]],
) -> None:
    engine, stories = demo
    story = stories["runaway-training"]
    planned_end = _when(story["period_start"])
    ledger = engine.execute(
        run_ledger(
            engine.costs(),
            engine.signals("runs"),
            engine.signals("run_metrics"),
            engine.signals("telemetry"),
            now=NOW,
        )
    ).to_pylist()
    run = next(r for r in ledger if r["run_name"] == "pretrain-7b-run42")
    assert run["resource_id"] == story["resource_ids"][0]
    # The last improving evaluation is the last one before the planned end (6-hourly evals).
    assert planned_end.replace(day=9, hour=18) == run["early_stop_at"]
    after_plan = Decimal(story["expected_effective_cost"])
    # Waste = the story's nine days + the six hours between the last good eval and the plan.
    assert run["wasted_after_stop"] == after_plan * Decimal(9 * 24 + 6) / Decimal(9 * 24)
    outcomes = {r["run_name"]: r["outcome"] for r in ledger}
    assert outcomes["vega-sweep-b"] == "failed"
    assert outcomes["vega-sweep-c"] == "killed"
    assert outcomes["lora-sweep-7"] == "abandoned"
