"""The run ledger and the early-stop scan, against a small lake whose costs are known per hour.

Cost rows are hourly FOCUS rows (every other column empty) exposed with ``Engine.table``:
``i-8gpu`` costs $12/h and has 8 GPUs (``x_GpuCount``); ``i-tel`` costs $8/h and only its
telemetry says it has 4 GPUs; ``i-p5`` costs $98.32/h. Every expected figure below is worked
out by hand in the comment beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aifinops.analyze.early_stop import metric_plateaus, plateau_windows
from aifinops.analyze.runs import (
    COST_BASIS,
    NO_COST_BASIS,
    NO_LINK_BASIS,
    WHOLE_BASIS,
    experiment_summary,
    run_ledger,
    run_windows,
)
from aifinops.focus import lake_schema
from aifinops.lake import Engine, Lake, connect
from aifinops.signals.schema import METRICS, RUN_METRICS, RUNS, TELEMETRY

DAY = datetime(2026, 9, 1, tzinfo=UTC)
NOW = DAY + timedelta(hours=20)
CENT = Decimal("0.01")


def at(hours: float) -> datetime:
    """Return ``DAY`` plus ``hours``."""
    return DAY + timedelta(hours=hours)


def table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Return ``rows`` as ``schema`` (absent columns null)."""
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema})


def hourly(resource: str, usd: str, hours: Iterable[int], gpus: str | None = None) -> list[dict]:
    """Return hourly cost rows of ``resource`` at ``usd`` per hour."""
    cost = Decimal(usd)
    return [
        {
            "ResourceId": resource,
            "ChargePeriodStart": at(h),
            "ChargePeriodEnd": at(h + 1),
            "EffectiveCost": cost,
            "BilledCost": cost,
            "ListCost": cost,
            "x_GpuCount": None if gpus is None else Decimal(gpus),
            "x_Team": "platform",
        }
        for h in hours
    ]


COSTS = [
    *hourly("i-8gpu", "12", range(24), gpus="8"),
    *hourly("i-tel", "8", range(24)),
    *hourly("i-p5", "98.32", range(24), gpus="8"),
]


def run(run_id: str, status: str, start: float, end: float | None, **extra: Any) -> dict:
    return {
        "run_id": run_id,
        "run_name": run_id.removeprefix("r-"),
        "experiment_id": "1",
        "experiment": extra.pop("experiment", "sweep"),
        "status": status,
        "start_time": at(start),
        "end_time": None if end is None else at(end),
        "source": "file:///mlruns",
        **extra,
    }


RUNS_ROWS = [
    # 90 minutes on 4 of 8 GPUs at $12/h: 1.5 × 12 × 4/8 = $9.00.
    run("r-fin", "FINISHED", 1, 2.5, resource_id="i-8gpu", gpu_count=4.0, team="vision"),
    # No GPU count: the whole instance for an hour: $12.00.
    run("r-fail", "FAILED", 3, 4, resource_id="i-8gpu"),
    # Only a host: telemetry maps node-a to i-8gpu; 2 of 8 GPUs for 30 min: $1.50.
    run("r-kill", "KILLED", 5, 5.5, host="node-a", gpu_count=2.0),
    # RUNNING, last metric at 07:00 (13 h before NOW): abandoned; 06:00 → NOW on all 8 GPUs:
    # 14 × 12 = $168.00.
    run("r-gone", "RUNNING", 6, None, resource_id="i-8gpu", gpu_count=8.0),
    # RUNNING, last metric 19:30: running; 18:00 → NOW, 1 of 4 telemetry GPUs at $8/h:
    # 2 × 8 / 4 = $4.00.
    run("r-live", "RUNNING", 18, None, resource_id="i-tel", gpu_count=1.0),
    # No resource at all: no cost.
    run("r-orphan", "FINISHED", 1, 2, experiment="other"),
    # Started after NOW (after the bill's end): an empty window, not a negative one.
    run("r-next", "RUNNING", 21, None, resource_id="i-8gpu"),
]
# r-fin's loss every 9 minutes from 01:00: improves up to 2.5 at 01:27 (4th evaluation),
# then six evaluations do not beat 2.5: early stop at 01:27, confirmed at the 5th of them
# (02:12). Waste: 01:27 → 02:30 = 1.05 h × 12 × 4/8 = $6.30.
FIN_LOSS = [5.0, 4.0, 3.0, 2.5, 2.6, 2.7, 2.55, 2.8, 2.9, 2.65]
METRIC_ROWS = [
    *[
        {"run_id": "r-fin", "key": "loss", "step": i, "timestamp": at(1 + 0.15 * i), "value": v}
        for i, v in enumerate(FIN_LOSS)
    ],
    {"run_id": "r-fin", "key": "accuracy", "step": 0, "timestamp": at(2.4), "value": 0.9},
    {"run_id": "r-gone", "key": "loss", "step": 0, "timestamp": at(7), "value": 1.0},
    {"run_id": "r-live", "key": "loss", "step": 0, "timestamp": at(19.5), "value": 1.0},
]
TELEMETRY_ROWS = [
    {"timestamp": at(5), "host": "node-a", "resource_id": "i-8gpu", "gpu_index": 0},
    # The same host name held another resource long before the run: the overlap wins.
    {"timestamp": at(-48), "host": "node-a", "resource_id": "i-old", "gpu_index": 0},
    *[
        {"timestamp": at(18), "host": "node-b", "resource_id": "i-tel", "gpu_index": i}
        for i in range(4)
    ],
]


def expose(engine: Engine) -> dict[str, Any]:
    """Expose the test tables to ``engine``."""
    return {
        "costs": engine.table("costs_t", table(COSTS, lake_schema())),
        "runs": engine.table("runs_t", table(RUNS_ROWS, RUNS)),
        "run_metrics": engine.table("run_metrics_t", table(METRIC_ROWS, RUN_METRICS)),
        "telemetry": engine.table("telemetry_t", table(TELEMETRY_ROWS, TELEMETRY)),
    }


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return connect(Lake.open(tmp_path_factory.mktemp("runs") / "lake"))


@pytest.fixture(scope="module")
def tables(duck: Engine) -> dict[str, Any]:
    return expose(duck)


@pytest.fixture(scope="module")
def ledger(tables: dict[str, Any]) -> Any:
    t = tables
    return run_ledger(t["costs"], t["runs"], t["run_metrics"], t["telemetry"], now=NOW)


@pytest.fixture(scope="module")
def rows(duck: Engine, ledger: Any) -> dict[str, dict[str, Any]]:
    return {row["run_id"]: row for row in duck.execute(ledger).to_pylist()}


def test_ledger_costs_outcomes_and_links(rows: dict[str, dict[str, Any]]) -> None:
    cost = {k: r["effective_cost"] and r["effective_cost"].quantize(CENT) for k, r in rows.items()}
    assert cost == {
        "r-fin": Decimal("9.00"),
        "r-fail": Decimal("12.00"),
        "r-kill": Decimal("1.50"),
        "r-gone": Decimal("168.00"),
        "r-live": Decimal("4.00"),
        "r-orphan": None,
        "r-next": None,
    }
    outcome = {k: r["outcome"] for k, r in rows.items()}
    assert outcome == {
        "r-fin": "finished",
        "r-fail": "failed",
        "r-kill": "killed",
        "r-gone": "abandoned",
        "r-live": "running",
        "r-orphan": "finished",
        "r-next": "running",
    }
    assert rows["r-kill"]["resource_id"] == "i-8gpu"
    assert rows["r-live"]["gpu_share"] == 0.25 and rows["r-live"]["end"] == NOW
    assert [rows[k]["hours"] for k in ("r-fin", "r-gone", "r-next")] == [1.5, 14.0, 0.0]
    assert (rows["r-fin"]["team"], rows["r-fail"]["team"]) == ("vision", "platform")
    basis = {k: rows[k]["cost_basis"] for k in ("r-fin", "r-fail", "r-orphan", "r-next")}
    assert basis == {
        "r-fin": COST_BASIS,
        "r-fail": WHOLE_BASIS,
        "r-orphan": NO_LINK_BASIS,
        "r-next": NO_COST_BASIS,
    }


def test_ledger_early_stop_and_waste(rows: dict[str, dict[str, Any]]) -> None:
    fin = rows["r-fin"]
    assert fin["evaluations"] == 10
    assert (fin["early_stop_at"], fin["stop_confirmed_at"]) == (at(1.45), at(2.2))
    assert fin["wasted_after_stop"].quantize(CENT) == Decimal("6.30")
    assert rows["r-gone"]["evaluations"] == 1 and rows["r-gone"]["early_stop_at"] is None


def test_plateau_patience_is_a_count_of_quiet_evaluations(
    duck: Engine, tables: dict[str, Any]
) -> None:
    m = tables["run_metrics"]
    series = m.filter(m.key == "loss").select(key=m.run_id, ts=m.timestamp, value=m.value)
    found = {}
    for patience in (6, 7):
        plateaus = duck.execute(plateau_windows(series, patience=patience)).to_pylist()
        found[patience] = {r["key"]: r["early_stop_at"] for r in plateaus}
    # r-fin has six quiet evaluations after 2.5: a plateau for patience 6, not for 7.
    assert found[6] == {"r-fin": at(1.45), "r-gone": None, "r-live": None}
    assert found[7]["r-fin"] is None


def test_experiment_summary_adds_up_by_outcome(duck: Engine, ledger: Any) -> None:
    rows = duck.execute(experiment_summary(ledger)).to_pylist()
    sweep = next(r for r in rows if r["experiment"] == "sweep")
    counts = [sweep[k] for k in ("runs", "finished", "failed", "killed", "abandoned", "running")]
    assert counts == [6, 1, 1, 1, 1, 2]
    # 9 + 12 + 1.5 + 168 + 4 = 194.50; failed 12, killed 1.50, abandoned 168, waste 6.30.
    money = ("effective_cost", "failed_cost", "killed_cost", "abandoned_cost", "early_stop_waste")
    assert [sweep[k].quantize(CENT) for k in money] == [
        Decimal(x) for x in ("194.50", "12.00", "1.50", "168.00", "6.30")
    ]
    other = next(r for r in rows if r["experiment"] == "other")
    assert (other["runs"], other["effective_cost"]) == (1, Decimal(0))


def test_run_windows_without_costs_or_telemetry(duck: Engine, tables: dict[str, Any]) -> None:
    rows = duck.execute(run_windows(tables["runs"], now=NOW)).to_pylist()
    kill = next(r for r in rows if r["window_id"] == "r-kill")
    # No telemetry: the host stays unlinked; no GPU counts: the whole resource.
    assert (kill["resource_id"], kill["share"]) == (None, None)
    assert {r["window_id"] for r in rows if r["end"] == NOW} == {"r-gone", "r-live"}
    assert next(r for r in rows if r["window_id"] == "r-next")["end"] == at(21)


def test_plateau_rule_min_delta_and_max_mode(duck: Engine) -> None:
    values = [1.0, 0.95, 0.93, 0.92, 0.5]
    series = duck.table(
        "series_t",
        pa.table(
            {
                "key": ["a"] * len(values),
                "ts": pa.array([at(i) for i in range(len(values))], pa.timestamp("us", "UTC")),
                "value": values,
            }
        ),
    )
    plain = duck.execute(plateau_windows(series, patience=3)).to_pylist()[0]
    assert plain["early_stop_at"] is None  # every value beats the last one
    # Improvements of 0.05 or less do not count: 1.0 then three quiet evaluations.
    coarse = duck.execute(plateau_windows(series, patience=3, min_delta=0.05)).to_pylist()[0]
    assert (coarse["early_stop_at"], coarse["best_value"]) == (at(0), 1.0)
    rising = duck.execute(plateau_windows(series, patience=2, mode="max")).to_pylist()[0]
    assert (rising["early_stop_at"], rising["evaluations"]) == (at(0), 5)
    with pytest.raises(ValueError, match="patience"):
        plateau_windows(series, patience=0)


# i-p5 logs loss hourly with no run id: 4, 3, 2, 1.9 (03:00, the best), then six values
# above 1.9; the session ends an interval after its last sample (10:00). Waste: 03:00 →
# 10:00 = 7 × 98.32 = $688.24 of the session's 10 × 98.32 = $983.20. Four days later a new
# session starts high and improves throughout: it must not look like a plateau.
P5_LOSS = [4.0, 3.0, 2.0, 1.9, 1.95, 1.92, 1.91, 1.93, 1.94, 1.96]
NEXT_LOSS = [4.0, 3.5, 3.0, 2.5, 2.0, 1.95]


def usage_metrics() -> pa.Table:
    rows = [
        {"timestamp": at(h + offset), "metric": "loss", "value": v, "kind": "gauge",
         "resource_id": "i-p5", "team": "llm", "model": "atlas-7b"}
        for offset, series in ((0, P5_LOSS), (96, NEXT_LOSS))
        for h, v in enumerate(series)
    ]  # fmt: skip
    rows.append({"timestamp": at(3), "metric": "epochs", "value": 1.0, "resource_id": "i-p5"})
    return table(rows, METRICS)


def test_metric_plateaus_of_a_job_without_a_run(duck: Engine, tables: dict[str, Any]) -> None:
    metrics = duck.table("metrics_t", usage_metrics())
    (row,) = duck.execute(metric_plateaus(tables["costs"], metrics)).to_pylist()
    assert (row["resource_id"], row["model"], row["run_id"]) == ("i-p5", "atlas-7b", None)
    assert (row["session_start"], row["session_end"]) == (at(0), at(10))
    assert (row["early_stop_at"], row["stop_confirmed_at"]) == (at(3), at(8))
    assert (row["effective_cost"], row["wasted_after_stop"]) == (
        Decimal("983.20"),
        Decimal("688.24"),
    )


@pytest.mark.spark
def test_duckdb_and_pyspark_give_equal_ledgers(tmp_path: Path) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        engine = connect(Lake.open(tmp_path / "lake"), engine=name)
        t = expose(engine)
        ledger = run_ledger(t["costs"], t["runs"], t["run_metrics"], t["telemetry"], now=NOW)
        metrics = engine.table("metrics_t", usage_metrics())
        results.append(
            (
                engine.execute(ledger).to_pylist(),
                engine.execute(metric_plateaus(t["costs"], metrics)).to_pylist(),
            )
        )
    assert results[0] == results[1]
    assert len(results[0][0]) == len(RUNS_ROWS)
