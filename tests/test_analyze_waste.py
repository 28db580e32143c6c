"""GPU waste: GPU-hours, cost and energy of idle, zombie and under-used GPUs.

The real H200 trace (no bill: priced at a given $/GPU-hour, checked by hand), a small fleet
with a bill (a two-host resource, a resource billed without accelerator-hours, one not in
the bill), the ``report waste`` command over a real lake, and DuckDB = PySpark.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from aifinops.analyze.waste import idle_gpu_share, segment_rows, waste_report
from aifinops.catalog import load_catalog
from aifinops.cli_waste import report_waste
from aifinops.lake import Engine, Lake, connect
from aifinops.signals.schema import TELEMETRY
from aifinops.signals.store import write_signal
from aifinops.signals.telemetry_files import read_telemetry

T0 = datetime(2026, 9, 1, 10, tzinfo=UTC)
DEC = pa.decimal128(38, 18)
PRICE = Decimal("2.75")


@pytest.fixture(scope="module")
def trace(shared_data: Path) -> pa.Table:
    path = shared_data / "gpu-telemetry" / "telemetry.csv"
    if not path.is_file():
        pytest.skip(f"the H200 trace is not at {path}")
    return read_telemetry(path, host="h200")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return connect(Lake.open(tmp_path_factory.mktemp("waste") / "lake"))


def _us(a: Any, b: Any) -> int:
    return int((b - a) / timedelta(microseconds=1))


def test_trace_waste_at_a_given_price_is_gpu_hours_times_price(
    engine: Engine, trace: pa.Table
) -> None:
    report = waste_report(engine.table("trace", trace), engine.execute, by=(), gpu_hour_price=PRICE)
    ts = trace.column("timestamp").to_pylist()
    zombie_hours = _us(ts[294], ts[344]) / 3.6e9  # samples 294-343 hold 46 GB, no work
    zombie = next(r for r in report.rows if r["state"] == "zombie")
    assert zombie["gpu_hours"] == pytest.approx(zombie_hours)
    exact = Decimal(repr(round(zombie_hours, 12))) * PRICE  # hours and product: 12 places
    assert zombie["cost"] == exact.quantize(Decimal("1e-12"), ROUND_HALF_UP)
    assert zombie["cost"] == Decimal("0.019104861111")
    assert zombie["cost_basis"] == "price" and zombie["energy_source"] == "counter"
    assert [r["state"] for r in report.rows] == ["idle", "underused", "zombie"]
    whole = sum(t["gpu_hours"] for t in report.totals)
    assert zombie["share_pct"] == pytest.approx(zombie_hours * 100 / whole)
    busy = next(t for t in report.totals if t["state"] == "busy")
    assert busy["gpu_hours"] == pytest.approx(_us(ts[55], ts[155]) / 3.6e9)
    assert report.notes == ()


def test_idle_gpu_share_of_the_trace(engine: Engine, trace: pa.Table) -> None:
    ts = trace.column("timestamp").to_pylist()
    last = _us(ts[-2], ts[-1])
    idle = _us(ts[0], ts[55]) + _us(ts[155], ts[215]) + _us(ts[344], ts[-1]) + last
    zombie = _us(ts[294], ts[344])
    whole = _us(ts[0], ts[-1]) + last
    share = idle_gpu_share(engine.table("trace", trace), engine.execute)
    assert share == pytest.approx((idle + zombie) * 100 / whole)
    assert share == pytest.approx(52.15, abs=0.01)


def test_no_telemetry_gives_no_share_and_a_note(engine: Engine) -> None:
    empty = engine.signals("telemetry")
    assert idle_gpu_share(empty, engine.execute) is None
    report = waste_report(empty, engine.execute)
    assert report.rows == [] and "No GPU telemetry" in report.notes[0]


# ---- a small fleet with a bill ------------------------------------------------------------


def gpu(
    host: str, resource: str, index: int, utils: Sequence[float], *, mem_pct: float = 1
) -> dict[str, list[Any]]:
    """Return one GPU's hour of samples (one a minute from T0), 100 W, no energy counter."""
    n = len(utils)
    return {
        "timestamp": [T0 + timedelta(minutes=i) for i in range(n)],
        "host": [host] * n,
        "resource_id": [resource] * n,
        "gpu_index": [index] * n,
        "gpu_uuid": [f"GPU-{host}-{index}"] * n,
        "gpu_model": ["NVIDIA H100 80GB HBM3"] * n,
        "gpu_util_pct": list(utils),
        "engine_active_pct": [None] * n,
        "mem_used_mib": [mem_pct * 800.0] * n,
        "mem_total_mib": [80_000.0] * n,
        "power_w": [None if resource == "lab-3" else 100.0] * n,
        "energy_j": [None] * n,
        "source": ["test"] * n,
    }


def fleet() -> pa.Table:
    busy, idle = [95.0] * 60, [0.0] * 60
    gpus = [
        gpu("node-a", "cluster-1", 0, busy),
        gpu("node-a", "cluster-1", 1, idle),
        gpu("node-b", "cluster-1", 0, idle[:30] + busy[:30], mem_pct=50),  # zombie, then works
        gpu("node-b", "cluster-1", 1, [20.0] * 60),
        gpu("box-2", "box-2", 0, idle),
        gpu("box-2", "box-2", 1, busy),
        gpu("lab-3", "lab-3", 0, idle),  # not in the bill, no power readings
    ]
    columns = {name: [v for g in gpus for v in g[name]] for name in TELEMETRY.names}
    return pa.table(columns, schema=TELEMETRY)


def bill() -> pa.Table:
    """One hour of two resources: cluster-1 (two hosts, 4 GPUs, 4 accelerator-hours) and
    box-2 (billed without accelerator-hours)."""
    end = T0 + timedelta(hours=1)
    return pa.table(
        {
            "ResourceId": ["cluster-1", "box-2"],
            "ChargePeriodStart": [T0, T0],
            "ChargePeriodEnd": [end, end],
            "EffectiveCost": pa.array([Decimal(40), Decimal(8)], DEC),
            "BilledCost": pa.array([Decimal(44), Decimal(8)], DEC),
            "ListCost": pa.array([Decimal(50), Decimal(8)], DEC),
            "x_AcceleratorHours": pa.array([Decimal(4), None], DEC),
            "x_Team": ["vision", "search"],
        },
        schema=pa.schema(
            [
                ("ResourceId", pa.string()),
                ("ChargePeriodStart", pa.timestamp("us", tz="UTC")),
                ("ChargePeriodEnd", pa.timestamp("us", tz="UTC")),
                ("EffectiveCost", DEC),
                ("BilledCost", DEC),
                ("ListCost", DEC),
                ("x_AcceleratorHours", DEC),
                ("x_Team", pa.string()),
            ]
        ),
    )


def fleet_report(engine: Engine, by: Sequence[str]) -> list[dict[str, Any]]:
    telemetry, costs = engine.table("fleet", fleet()), engine.table("bill", bill())
    report = waste_report(
        telemetry,
        engine.execute,
        costs,
        by=by,
        gpu_hour_price=Decimal("2.5"),
        catalog=load_catalog(),
    )
    return report.rows


def _pick(rows: list[dict[str, Any]], *columns: str) -> set[tuple[Any, ...]]:
    return {tuple(r[c] for c in columns) for r in rows}


def test_each_gpu_of_a_two_host_resource_costs_the_bills_rate_per_gpu_hour(
    engine: Engine,
) -> None:
    rows = fleet_report(engine, ("resource",))
    assert _pick(rows, "resource", "state", "gpu_hours", "cost", "cost_basis") == {
        ("cluster-1", "idle", 1.0, Decimal(10), "bill"),  # $40 / 4 GPU-hours
        ("cluster-1", "underused", 1.0, Decimal(10), "bill"),
        ("cluster-1", "zombie", 0.5, Decimal(5), "bill"),
        ("box-2", "idle", 1.0, Decimal(4), "bill-split"),  # $8 over the 2 GPUs seen
        ("lab-3", "idle", 1.0, Decimal("2.5"), "price"),
    }
    assert _pick(rows, "resource", "state", "share_pct") == {
        ("cluster-1", "idle", 25.0),
        ("cluster-1", "underused", 25.0),
        ("cluster-1", "zombie", 12.5),
        ("box-2", "idle", 50.0),
        ("lab-3", "idle", 100.0),
    }


def test_energy_is_measured_power_else_the_catalogs_idle_watts(engine: Engine) -> None:
    rows = fleet_report(engine, ("host",))
    energy = {(r["host"], r["state"]): (r["energy_kwh"], r["energy_source"]) for r in rows}
    assert energy[("node-a", "idle")] == (pytest.approx(0.1), "power")  # 100 W × 1 h
    assert energy[("node-b", "zombie")] == (pytest.approx(0.05), "power")
    assert energy[("lab-3", "idle")] == (pytest.approx(0.084), "tdp")  # H100 SXM idle: 84 W


def test_waste_by_team_and_day(engine: Engine) -> None:
    rows = fleet_report(engine, ("team", "day"))
    assert _pick(rows, "team", "day", "state", "cost") == {
        ("vision", "2026-09-01", "idle", Decimal(10)),
        ("vision", "2026-09-01", "underused", Decimal(10)),
        ("vision", "2026-09-01", "zombie", Decimal(5)),
        ("search", "2026-09-01", "idle", Decimal(4)),
        (None, "2026-09-01", "idle", Decimal("2.5")),
    }


def test_segments_carry_cost_team_and_basis(engine: Engine) -> None:
    telemetry, costs = engine.table("fleet", fleet()), engine.table("bill", bill())
    rows = segment_rows(telemetry, engine.execute, costs)
    node_b = [r for r in rows if r["host"] == "node-b" and r["gpu_index"] == 0]
    assert [(r["state"], r["cost"], r["team"]) for r in node_b] == [
        ("zombie", Decimal(5), "vision"),
        ("busy", Decimal(5), "vision"),
    ]
    lab = next(r for r in rows if r["host"] == "lab-3")
    assert (lab["cost"], lab["cost_basis"], lab["energy_kwh"]) == (None, None, None)


# ---- the command --------------------------------------------------------------------------

app = typer.Typer()
app.command("waste")(report_waste)
app.command("other")(lambda: None)  # two commands: typer keeps the "waste" name


@pytest.fixture(scope="module")
def trace_lake(tmp_path_factory: pytest.TempPathFactory, trace: pa.Table) -> Path:
    lake = Lake.open(tmp_path_factory.mktemp("waste_cli") / "lake")
    write_signal(lake, "telemetry", "telemetry.csv", trace)
    return lake.root


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIFINOPS_CONFIG", "AIFINOPS_LAKE", "AIFINOPS_ENGINE", "AIFINOPS_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["waste", *args])
    return result.exit_code, result.output


def test_report_waste_json_prices_the_trace(trace_lake: Path) -> None:
    code, out = invoke("--lake", str(trace_lake), "--format", "json", "--gpu-hour-price", "2.75")
    assert code == 0, out
    body = json.loads(out)
    zombie = next(r for r in body["rows"] if r["state"] == "zombie")
    assert (zombie["host"], zombie["cost"]) == ("h200", "0.019104861111")
    assert [t["state"] for t in body["totals"]] == ["busy", "underused", "zombie", "idle"]


def test_report_waste_lists_segments_and_takes_thresholds(trace_lake: Path) -> None:
    code, out = invoke("--lake", str(trace_lake), "--segments", "--format", "csv")
    assert code == 0, out
    lines = out.strip().splitlines()
    assert len(lines) == 7 and lines[0].startswith("segment_id,host")
    code, out = invoke("--lake", str(trace_lake), "--zombie-memory", "3", "--format", "markdown")
    assert code == 0, out
    assert "| h200 | zombie |" in out and "GPU waste by host" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--by", "rack"), "unknown dimension 'rack'"),
        (("--idle-util", "60"), "must be below"),
        (("--gpu-hour-price", "cheap"), "bad GPU-hour price"),
    ],
)
def test_report_waste_refuses_bad_options(
    trace_lake: Path, args: tuple[str, ...], message: str
) -> None:
    code, out = invoke("--lake", str(trace_lake), *args)
    assert code == 2 and message in out


# ---- engines ------------------------------------------------------------------------------


def _rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


@pytest.mark.spark
def test_duckdb_and_pyspark_give_equal_segments_and_waste(tmp_path: Path, trace: pa.Table) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        con = connect(Lake.open(tmp_path / "lake"), engine=name)
        fleet_rows = fleet_report(con, ("resource", "team"))
        trace_rows = segment_rows(con.table("trace", trace), con.execute, gpu_hour_price=PRICE)
        results.append((_rounded(fleet_rows), _rounded(trace_rows)))
    assert results[0] == results[1]
    assert len(results[0][0]) == 5 and len(results[0][1]) == 6
