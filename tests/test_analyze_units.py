"""Unit economics: counters, cost per unit on a hand-built lake, the real H200 trace, and the
demo's runaway training job; the same rows on DuckDB and PySpark.

Cost rows are hourly FOCUS rows (every other column empty) exposed with ``Engine.table``; every
expected figure is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from aifinops.analyze.counters import counted, parse_bucket
from aifinops.analyze.report_rows import ratio
from aifinops.analyze.units import unit_costs
from aifinops.cli_units import report_storage, report_units
from aifinops.errors import BadInputError
from aifinops.focus import lake_schema
from aifinops.lake import Engine, Lake, connect
from aifinops.signals.schema import METRICS, RUN_METRICS, RUNS

DAY = datetime(2026, 9, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    """Return ``DAY`` plus ``hours``."""
    return DAY + timedelta(hours=hours)


def table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Return ``rows`` as ``schema`` (absent columns null)."""
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema})


def hourly(resource: str, usd: str, hours: Iterable[int], **extra: Any) -> list[dict]:
    """Return hourly cost rows of ``resource`` at ``usd`` per hour."""
    cost = Decimal(usd)
    rows = []
    for h in hours:
        row = {
            "ResourceId": resource,
            "ChargePeriodStart": at(h),
            "ChargePeriodEnd": at(h + 1),
            "BillingPeriodStart": datetime(2026, 9, 1, tzinfo=UTC),
            "EffectiveCost": cost,
            "BilledCost": cost,
            "ListCost": cost,
        }
        rows.append({**row, **extra})
    return rows


def sample(hours: float, metric: str, value: float, kind: str, **dims: Any) -> dict:
    return {"timestamp": at(hours), "metric": metric, "value": value, "kind": kind, **dims}


# ep-1: an AWS endpoint at $3/h all day (24 h = $72). i-train: a Google Cloud VM at $10/h for
# six hours with 8 accelerator-hours per hour.
COSTS = [
    *hourly("ep-1", "3", range(24), ProviderName="AWS", x_Model="ranker", x_Team="ml"),
    *hourly(
        "i-train",
        "10",
        range(6),
        ProviderName="Google Cloud",
        x_Team="research",
        x_AcceleratorHours=Decimal(8),
    ),
]
EP = {"resource_id": "ep-1"}
TRAIN = {"resource_id": "i-train", "model": "llm"}
METRIC_ROWS = [
    # Requests (delta) in hours 9 and 10 only: 400 + 600 + 3,000 = 4,000 for 2 × $3 = $6:
    # $1.5 per 1,000; all day: $72 ÷ 4,000 × 1,000 = $18.
    sample(9.25, "requests", 400, "delta", **EP),
    sample(9.75, "requests", 600, "delta", **EP),
    sample(10.5, "requests", 3000, "delta", **EP),
    # 500,000 input tokens in hour 9 ($3): $6 per 1M; 200,000 output tokens in hour 10: $15.
    sample(9.5, "tokens_in", 500_000, "delta", **EP),
    sample(10.5, "tokens_out", 200_000, "delta", **EP),
    # Epochs (cumulative): 1 is the baseline; +1 in hours 1, 2; a restart at 3:30 counts its
    # value (1); +1 in hour 4: 4 epochs in hours 1-4 = $40: $10 per epoch.
    *[
        sample(h + 0.5, "epochs", v, "cumulative", **TRAIN)
        for h, v in enumerate((1.0, 2.0, 3.0, 1.0, 2.0))
    ],
    # 3 steps in hour 1 ($10): $3.333… per step (18 places, half-even).
    sample(1.2, "steps", 3, "delta", **TRAIN),
    # Loss (gauge): never summed; first 2.0, last 0.5.
    sample(0.5, "loss", 2.0, "gauge", **TRAIN),
    sample(2.5, "loss", 1.0, "gauge", **TRAIN),
    sample(4.5, "loss", 0.5, "gauge", **TRAIN),
    # Requests from a host the bill does not know: counted, never priced.
    sample(9.5, "requests", 10, "delta", host="h-x", model="ranker", team="ml"),
]


def run(run_id: str, start: float, end: float) -> dict:
    return {
        "run_id": run_id,
        "status": "FINISHED",
        "start_time": at(start),
        "end_time": at(end),
        "resource_id": "i-train",
        "model": "llm",
        "team": "research",
    }


# Two runs on i-train: 2 h and 1 h at $10/h: $30 for 2 runs, $15 per run.
RUN_ROWS = [run("r-a", 1, 3), run("r-b", 3, 4)]


def expose(engine: Engine) -> dict[str, Any]:
    return {
        "costs": engine.table("u_costs", table(COSTS, lake_schema())),
        "metrics": engine.table("u_metrics", table(METRIC_ROWS, METRICS)),
        "runs": engine.table("u_runs", table(RUN_ROWS, RUNS)),
        "run_metrics": engine.table("u_run_metrics", table([], RUN_METRICS)),
    }


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return connect(Lake.open(tmp_path_factory.mktemp("units") / "lake"))


def hand_rows(engine: Engine, *, with_runs: bool = False, **kwargs: Any) -> list[dict[str, Any]]:
    t = expose(engine)
    if with_runs:
        kwargs.update(runs=t["runs"], run_metrics=t["run_metrics"], now=at(24))
    report = unit_costs(t["costs"], t["metrics"], engine.execute, **kwargs)
    return report.rows


# --- counters ------------------------------------------------------------------------------


def test_counters_sum_deltas_take_increases_and_skip_gauges(duck: Engine) -> None:
    rows = [
        # cumulative 10 → 15 (+5) → 4 (restart: +4) → 9 (+5); the first is the baseline.
        sample(0, "requests", 10, "cumulative", resource_id="a"),
        sample(1, "requests", 15, "cumulative", resource_id="a"),
        sample(2, "requests", 4, "cumulative", resource_id="a"),
        sample(3, "requests", 9, "cumulative", resource_id="a"),
        # Another series of the same metric: its own baseline (100), then +1.
        sample(1.5, "requests", 100, "cumulative", resource_id="b"),
        sample(2.5, "requests", 101, "cumulative", resource_id="b"),
        sample(0, "steps", 3, "delta", resource_id="a"),
        sample(1, "steps", 5, "delta", resource_id="a"),
        sample(1, "loss", 2.0, "gauge", resource_id="a"),
    ]
    t = duck.table("counter_t", table(rows, METRICS))
    c = counted(t)
    got = duck.execute(c.select("resource_id", "metric", "timestamp", "amount")).to_pylist()
    amounts = {(r["resource_id"], r["metric"], r["timestamp"]): r["amount"] for r in got}
    assert amounts == {
        ("a", "requests", at(0)): 0.0,
        ("a", "requests", at(1)): 5.0,
        ("a", "requests", at(2)): 4.0,
        ("a", "requests", at(3)): 5.0,
        ("b", "requests", at(1.5)): 0.0,
        ("b", "requests", at(2.5)): 1.0,
        ("a", "steps", at(0)): 3.0,
        ("a", "steps", at(1)): 5.0,
    }


@pytest.mark.parametrize(
    ("size", "seconds"),
    [("hour", 3600), ("day", 86400), ("10s", 10), ("15m", 900), (timedelta(seconds=30), 30)],
)
def test_bucket_sizes(size: Any, seconds: int) -> None:
    assert parse_bucket(size) == seconds


@pytest.mark.parametrize("size", ["7s", "week", "0s", "25h", timedelta(seconds=1.5)])
def test_bad_bucket_sizes_say_what_to_use(size: Any) -> None:
    with pytest.raises(BadInputError, match="divides a day"):
        parse_bucket(size)


# --- cost per unit on the hand-built lake --------------------------------------------------


def test_cost_per_unit_charges_only_the_buckets_with_units(duck: Engine) -> None:
    rows = hand_rows(duck, by=("model", "team", "cloud"), grain=None, with_runs=True)
    by_key = {(r["model"], r["team"], r["cloud"]): r for r in rows}
    ep = by_key[("ranker", "ml", "aws")]
    assert ep["requests"] == 4000 and ep["requests_cost"] == Decimal(6)
    assert ep["usd_per_1k_requests"] == Decimal("1.5")
    assert ep["cost"] == Decimal(72)
    assert ep["usd_per_1k_requests_all_hours"] == Decimal(18)
    assert ep["usd_per_1m_tokens_in"] == Decimal(6)
    assert ep["usd_per_1m_tokens_out"] == Decimal(15)
    assert ep["usd_per_epoch"] is None and ep["gpu_hours"] is None
    assert ep["basis"] == "billing" and ep["requests_priced"] == 4000

    train = by_key[("llm", "research", "gcp")]
    assert train["epochs"] == 4 and train["epochs_cost"] == Decimal(40)
    assert train["usd_per_epoch"] == Decimal(10)
    assert train["usd_per_step"] == Decimal("3.333333333333333333")
    assert train["cost"] == Decimal(60) and train["gpu_hours"] == Decimal(48)
    assert train["usd_per_gpu_hour"] == Decimal("1.25")
    assert (train["loss_first"], train["loss_last"], train["loss_change"]) == (2.0, 0.5, -1.5)
    assert train["usd_per_1k_requests"] is None
    assert (train["runs"], train["runs_cost"], train["usd_per_run"]) == (2, 30, 15)
    assert ep["runs"] is None and ep["usd_per_run"] is None

    host_only = by_key[("ranker", "ml", None)]
    assert host_only["requests"] == 10 and host_only["requests_priced"] == 0
    assert host_only["usd_per_1k_requests"] is None and host_only["cost"] is None
    assert [r["cost"] for r in rows] == [Decimal(72), Decimal(60), None]


def test_unknown_dimension_and_grain_are_refused(duck: Engine) -> None:
    with pytest.raises(BadInputError, match="--by"):
        hand_rows(duck, by=("colour",))
    with pytest.raises(BadInputError, match="--grain"):
        hand_rows(duck, grain="week")


# --- the command ---------------------------------------------------------------------------

app = typer.Typer()
app.command("units")(report_units)
app.command("storage")(report_storage)


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIFINOPS_CONFIG", "AIFINOPS_LAKE", "AIFINOPS_ENGINE", "AIFINOPS_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_units_command_explains_an_empty_lake_and_bad_options(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "empty")
    code, output = invoke("units", "--lake", str(lake.root))
    assert code == 0 and "aifinops import metrics" in output
    code, output = invoke("units", "--lake", str(lake.root), "--gpu-hour-price", "-1")
    assert code != 0 and "--gpu-hour-price" in output
    code, output = invoke("units", "--lake", str(lake.root), "--bucket", "7s")
    assert code != 0 and "divides a day" in output


# --- the real H200 trace -------------------------------------------------------------------

H200_PRICE = Decimal("3.50")
BUCKET_S = 10
US_PER_HOUR = 3_600_000_000


@pytest.fixture(scope="module")
def h200(shared_data: Path) -> Path:
    folder = shared_data / "gpu-telemetry"
    if not (folder / "telemetry.csv").is_file() or not (folder / "events.csv").is_file():
        pytest.skip(f"the H200 trace is not at {folder}")
    return folder


def _ms(text: str) -> int:
    """Return a Unix timestamp with a fraction ("1795830955.254") as whole milliseconds."""
    return int(Decimal(text) * 1000)


def hand_h200(folder: Path, metric_event: str, column: str, scale: int) -> Decimal:
    """Work out USD per unit from the CSV files in plain Python, independently of Ibis.

    GPU-time: each sample stands for the time to the next one (the last one for the interval
    before it); it falls in the 10-second bucket of its timestamp. Units: increases of the
    cumulative counter between consecutive events (the first is the baseline). Cost per unit:
    Σ GPU-time of the buckets with units × $3.50 per GPU-hour ÷ units × scale.
    """
    with (folder / "telemetry.csv").open() as f:
        stamps = [_ms(row["timestamp"]) for row in csv.DictReader(f)]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    gaps.append(gaps[-1])
    gpu_us: dict[int, int] = {}
    for ms, gap in zip(stamps, gaps, strict=True):
        bucket = ms // 1000 // BUCKET_S * BUCKET_S
        gpu_us[bucket] = gpu_us.get(bucket, 0) + gap * 1000
    with (folder / "events.csv").open() as f:
        events = [r for r in csv.DictReader(f) if r["event"] == metric_event]
    units: dict[int, Decimal] = {}
    previous = None
    for event in events:
        value = Decimal(event[column])
        if previous is not None:
            increase = value - previous if value >= previous else value
            bucket = _ms(event["timestamp"]) // 1000 // BUCKET_S * BUCKET_S
            units[bucket] = units.get(bucket, Decimal(0)) + increase
        previous = value
    counted_units = sum(u for u in units.values() if u)
    usd_us = sum(gpu_us.get(b, 0) for b, u in units.items() if u) * H200_PRICE
    quotient = ratio(usd_us * scale, counted_units * US_PER_HOUR)
    assert quotient is not None
    return quotient


def test_h200_cost_per_epoch_and_per_1k_inferences(h200: Path, tmp_path: Path) -> None:
    from aifinops.signals.metrics_files import read_metrics
    from aifinops.signals.store import write_signal
    from aifinops.signals.telemetry_files import read_telemetry

    lake = Lake.open(tmp_path / "lake")
    metrics = read_metrics(h200 / "events.csv", host="h200", kinds={"requests": "cumulative"})
    write_signal(lake, "metrics", "events.csv", metrics)
    telemetry = read_telemetry(h200 / "telemetry.csv", host="h200")
    write_signal(lake, "telemetry", "telemetry.csv", telemetry)
    engine = connect(lake)
    report = unit_costs(
        engine.costs(),
        engine.signals("metrics"),
        engine.execute,
        telemetry=engine.signals("telemetry"),
        by=("host",),
        grain=None,
        gpu_hour_price=H200_PRICE,
        bucket="10s",
    )
    (row,) = report.rows
    # 197 epochs and 1,266,660 inferences; the first event of each counter is the baseline.
    assert row["epochs"] == 196 and row["requests"] == 1_266_660 - 27_240
    assert row["usd_per_epoch"] == hand_h200(h200, "epoch_end", "epoch", 1)
    assert row["usd_per_1k_requests"] == hand_h200(h200, "inference_count", "requests", 1000)
    # The whole trace: 186.619 s from first to last sample, plus the last sample's 0.5 s:
    # 187.119 s = 0.0519775 GPU-hours.
    assert row["gpu_hours"] == Decimal("0.0519775")
    assert row["cost"] == Decimal("0.0519775") * H200_PRICE
    assert row["usd_per_gpu_hour"] == H200_PRICE
    assert row["basis"] == "telemetry GPU-time × 3.5 USD/GPU-hour"
    # About 60 s of training buckets for 196 epochs: $0.000298 per epoch; 40 s of inference
    # buckets for 1,239,420 inferences: $0.0000392 per 1,000.
    assert Decimal("0.000297") < row["usd_per_epoch"] < Decimal("0.000298")
    assert Decimal("0.0000392") < row["usd_per_1k_requests"] < Decimal("0.0000393")

    # The command gives the same figures, exact in JSON.
    code, output = invoke(
        "units", "--lake", str(lake.root), "--by", "host", "--grain", "none",
        "--bucket", "10s", "--gpu-hour-price", "3.50", "--format", "json",
    )  # fmt: skip
    assert code == 0, output
    body = json.loads(output)
    (shown,) = body["rows"]
    assert Decimal(shown["usd_per_epoch"]) == row["usd_per_epoch"]
    assert body["basis"] == row["basis"] and "usd_per_epoch" in body["formulas"]


# --- the demo's runaway training job -------------------------------------------------------

RUNAWAY = "runaway-training"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path]:
    """Return an engine over the small demo lake (shared with the web tests) and its exports."""
    from support.web_server import small_demo_lake

    base = tmp_path_factory.getbasetemp()
    lake = small_demo_lake(base)
    return connect(lake), base / "web-demo" / "out"


def test_demo_runaway_job_keeps_paying_for_epochs_at_a_flat_loss(
    demo: tuple[Engine, Path],
) -> None:
    from aifinops.signals.metrics_files import read_metrics

    engine, out = demo
    story = next(
        s for s in json.loads((out / "stories.json").read_text())["stories"] if s["name"] == RUNAWAY
    )
    (resource,) = story["resource_ids"]
    # The small demo samples once a day at midnight: a day is the finest honest bucket.
    metrics = engine.table("demo_metrics", read_metrics(out / "metrics" / "usage.csv"))
    report = unit_costs(
        engine.costs(), metrics, engine.execute, by=("resource",), grain="day", bucket="day"
    )
    days = {r["period"]: r for r in report.rows if r["resource"] == resource}
    runaway = [f"2026-09-{d:02d}" for d in range(10, 19)]
    for day in runaway:
        row = days[day]
        # Epochs keep counting (0.05 an hour), the cost keeps accruing, the loss is flat.
        assert row["epochs"] == Decimal("1.2"), day
        assert row["usd_per_epoch"] == ratio(row["epochs_cost"], Decimal("1.2")), day
        assert row["usd_per_epoch"] > 0
        assert 1.9 <= row["loss_last"] <= 1.92, day
        assert abs(row["loss_change"]) < 0.02, day
    # Before the planned end the loss was still falling.
    assert days["2026-09-02"]["loss_last"] > days["2026-09-08"]["loss_last"] + 0.5
    # After the runaway days: no more epochs (the instance stopped on 2026-09-19).
    assert "2026-09-19" not in days
    # The cost of the runaway days' epochs is the story's cost, to the cent.
    spent = sum((days[d]["epochs_cost"] for d in runaway), Decimal(0))
    assert spent.quantize(Decimal("0.01")) == Decimal(story["expected_effective_cost"])


# --- DuckDB = PySpark ----------------------------------------------------------------------


@pytest.mark.spark
def test_duckdb_and_pyspark_give_equal_unit_rows(tmp_path: Path, shared_data: Path) -> None:
    from aifinops.signals.metrics_files import read_metrics
    from aifinops.signals.telemetry_files import read_telemetry

    folder = shared_data / "gpu-telemetry"
    trace = {
        "metrics": read_metrics(
            folder / "events.csv", host="h200", kinds={"requests": "cumulative"}
        ),
        "telemetry": read_telemetry(folder / "telemetry.csv", host="h200"),
    }
    results = []
    for name in ("duckdb", "pyspark"):
        engine = connect(Lake.open(tmp_path / name), engine=name)
        billing = hand_rows(engine, by=("model", "team", "cloud", "run_id"), grain="day")
        t = expose(engine)
        telemetric = unit_costs(
            t["costs"],
            engine.table("h_metrics", trace["metrics"]),
            engine.execute,
            telemetry=engine.table("h_telemetry", trace["telemetry"]),
            by=("host", "model"),
            grain="month",
            gpu_hour_price=H200_PRICE,
            bucket="10s",
        )
        results.append((billing, telemetric.rows))
    assert results[0] == results[1]
    assert len(results[0][0]) == 3 and results[0][1][0]["epochs"] == 196
