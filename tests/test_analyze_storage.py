"""Checkpoints and data movement: object-storage cost by bucket, prefix and run, stale
checkpoints, and data-transfer cost by pipeline and route; on a hand-built lake (every figure
worked out beside it), on the demo lake, and the same rows on DuckDB and PySpark.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from aifinops.analyze.egress import egress_costs
from aifinops.analyze.storage import stale_checkpoints, storage_costs
from aifinops.cli_units import report_storage, report_units
from aifinops.errors import BadInputError
from aifinops.focus import lake_schema
from aifinops.lake import Engine, Lake, connect
from aifinops.signals.schema import RUNS

SEP = datetime(2026, 9, 1, tzinfo=UTC)
NOW = datetime(2026, 10, 15, tzinfo=UTC)


def day(n: float) -> datetime:
    """Return 2026-09-01 plus ``n`` days (day(0) is 1 September)."""
    return SEP + timedelta(days=n)


def table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema})


def charge(resource: str, usd: str, start: datetime, end: datetime, **extra: Any) -> dict:
    cost = Decimal(usd)
    return {
        "ResourceId": resource,
        "ChargePeriodStart": start,
        "ChargePeriodEnd": end,
        "BillingPeriodStart": SEP,
        "EffectiveCost": cost,
        "BilledCost": cost,
        "ListCost": cost,
        **extra,
    }


def daily(resource: str, usd: str, days: range, **extra: Any) -> list[dict]:
    return [charge(resource, usd, day(d), day(d + 1), **extra) for d in days]


S3 = {"ProviderName": "AWS", "ServiceCategory": "Storage", "ServiceSubcategory": "Object Storage"}
STORED = {"ConsumedQuantity": Decimal(100), "ConsumedUnit": "GB-Mo"}
COSTS = [
    # The checkpoint bucket: $10 a day for September ($300), 100 GB-months a day.
    *daily("arn:aws:s3:::ckpt", "10", range(30), **S3, **STORED),
    # A Google Cloud bucket, its rows tagged with a prefix: $3 a day for 10 days ($30),
    # 100 GiB-months a day = 107.3741824 GB-months.
    *daily(
        "//storage.googleapis.com/projects/_/buckets/data-gcs",
        "3",
        range(10),
        ProviderName="Google Cloud",
        ServiceCategory="Storage",
        ServiceSubcategory="Object Storage",
        Tags='{"prefix": "/raw/"}',
        ConsumedQuantity=Decimal(100),
        ConsumedUnit="GiB-Months",
    ),
    # An Azure storage account: $2 a day for 10 days ($20).
    *daily(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        "2",
        range(10),
        ProviderName="Microsoft",
        ServiceCategory="Storage",
        ServiceSubcategory="Object Storage",
    ),
    # Not object storage: a block volume and a VM.
    charge("vol-1", "7", day(0), day(1), ProviderName="AWS", ServiceCategory="Storage",
           ServiceSubcategory="Block Storage"),  # fmt: skip
    charge("i-1", "50", day(0), day(1), ProviderName="AWS", ServiceCategory="Compute"),
    # Data transfer. 1,000 GB to the internet from the ckpt bucket, tagged pipeline=etl: $90.
    charge(
        "ckpt", "90", day(3), day(3) + timedelta(hours=1), ProviderName="AWS",
        ServiceCategory="Networking", RegionId="us-east-1", SkuMeter="DataTransfer-Out-Bytes",
        ChargeDescription="$0.09 per GB data transfer out to the internet",
        Tags='{"pipeline":"etl"}', x_Project="lakehouse", ConsumedQuantity=Decimal(1000),
        ConsumedUnit="GB",
    ),
    # us-east-1 → us-west-2 (the usage type says USW2), project train: $20 for 1,000 GB.
    charge(
        "i-1", "20", day(4), day(4) + timedelta(hours=1), ProviderName="AWS",
        ServiceCategory="Networking", RegionId="us-east-1",
        x_SourceExtras='{"x_UsageType":"USE1-USW2-AWS-Out-Bytes"}', x_Project="train",
        ConsumedQuantity=Decimal(1000), ConsumedUnit="GB",
    ),
    # Google Cloud's SKU names the destination area; 100 GiB = 107.3741824 GB: $5.
    charge(
        "proj-1", "5", day(5), day(6), ProviderName="Google Cloud", ServiceCategory="Storage",
        RegionId="us-central1",
        SkuMeter="Network Inter Region Data Transfer Out from Americas to EMEA",
        ConsumedQuantity=Decimal(100), ConsumedUnit="GiB",
    ),
    # Networking that moves no data: a NAT gateway's hours.
    charge("nat-1", "33", day(5), day(6), ProviderName="AWS", ServiceCategory="Networking",
           SkuMeter="NatGateway-Hours", ChargeDescription="$0.045 per NAT Gateway Hour"),
]  # fmt: skip


def run(run_id: str, status: str, start: float, end: float | None, uri: str) -> dict:
    return {
        "run_id": run_id,
        "run_name": run_id,
        "experiment": "exp",
        "status": status,
        "start_time": day(start),
        "end_time": None if end is None else day(end),
        "artifact_uri": uri,
    }


CKPT = "s3://ckpt/mlflow/1"
RUN_ROWS = [
    # r1 alone from 1 Sep (days 0-9: $100), with r2 from 11 Sep ($5 each a day, days 10-19:
    # $50), with r2 and r5 from 21 Sep ($10 ÷ 3 = 3.33333333333 each a day, the share rounded
    # to 12 places; days 20-29: 33.3333333333). r1: 183.3333333333; r2: 83.3333333333.
    run("r1", "FINISHED", 0, 2, f"{CKPT}/r1/artifacts"),
    run("r2", "KILLED", 10, 11, f"{CKPT}/r2/artifacts"),
    run("r5", "RUNNING", 20, None, f"{CKPT}/r5/artifacts"),
    # A bucket the bill does not know, and a local store: no storage cost.
    run("r3", "FINISHED", 0, 1, "gs://elsewhere/r3"),
    run("r4", "FINISHED", 0, 1, "file:///mlruns/0/r4/artifacts"),
    # An Azure blob URI: the storage account acct, container models: $2 a day for 10 days.
    run("r6", "FAILED", 0, 1, "wasbs://models@acct.blob.core.windows.net/r6"),
]
THIRD = Decimal("33.3333333333")


def expose(engine: Engine) -> tuple[Any, Any]:
    return (
        engine.table("s_costs", table(COSTS, lake_schema())),
        engine.table("s_runs", table(RUN_ROWS, RUNS)),
    )


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return connect(Lake.open(tmp_path_factory.mktemp("storage") / "lake"))


def rows_of(engine: Engine, expr: Any) -> list[dict[str, Any]]:
    return engine.execute(expr).to_pylist()


def test_storage_by_bucket_reads_every_clouds_resource_ids(duck: Engine) -> None:
    costs, _runs = expose(duck)
    got = {(r["cloud"], r["bucket"]): r for r in rows_of(duck, storage_costs(costs))}
    assert list(got) == [("aws", "ckpt"), ("gcp", "data-gcs"), ("azure", "acct")]
    assert got[("aws", "ckpt")]["effective_cost"] == Decimal(300)
    assert got[("aws", "ckpt")]["gb_months"] == Decimal(3000)
    assert got[("aws", "ckpt")]["first_day"] == date(2026, 9, 1)
    assert got[("aws", "ckpt")]["last_day"] == date(2026, 9, 30)
    assert got[("gcp", "data-gcs")]["effective_cost"] == Decimal(30)
    assert got[("gcp", "data-gcs")]["gb_months"] == Decimal("1073.741824")
    assert got[("azure", "acct")]["effective_cost"] == Decimal(20)
    prefixes = rows_of(duck, storage_costs(costs, by="prefix"))
    assert [(r["bucket"], r["prefix"]) for r in prefixes] == [
        ("ckpt", None),
        ("data-gcs", "raw"),
        ("acct", None),
    ]


def test_storage_by_run_splits_a_shared_bucket_equally(duck: Engine) -> None:
    costs, runs = expose(duck)
    got = {r["run_id"]: r for r in rows_of(duck, storage_costs(costs, runs, by="run"))}
    assert set(got) == {"r1", "r2", "r5", "r6"}
    assert got["r1"]["effective_cost"] == 100 + 50 + THIRD
    assert got["r2"]["effective_cost"] == 50 + THIRD
    assert got["r5"]["effective_cost"] == THIRD
    assert got["r1"]["max_sharing_runs"] == 3 and got["r1"]["prefix"] == "mlflow/1/r1/artifacts"
    # The Azure run holds its storage account alone from its start: all $20.
    assert got["r6"]["effective_cost"] == Decimal(20) and got["r6"]["bucket"] == "acct"
    assert got["r6"]["prefix"] == "models/r6"


def test_stale_checkpoints_of_runs_ended_long_ago(duck: Engine) -> None:
    costs, runs = expose(duck)
    got = rows_of(duck, stale_checkpoints(costs, runs, NOW, older_than=timedelta(days=30)))
    by_run = {r["run_id"]: r for r in got}
    # Ended before 15 Sep: r1 (3 Sep), r2 (12 Sep), r6 (2 Sep); r5 still runs.
    assert set(by_run) == {"r1", "r2", "r6"}
    # r1 from 3 Sep: days 2-9 alone ($80), days 10-19 ($50), days 20-29 (a third).
    assert by_run["r1"]["cost_since_end"] == 80 + 50 + THIRD
    # r2 from 12 Sep: days 11-19 at $5 ($45), then a third.
    assert by_run["r2"]["cost_since_end"] == 45 + THIRD
    # The last 30 days of the bucket's bill (up to 1 Oct) are all of September.
    assert by_run["r1"]["monthly_cost"] == 100 + 50 + THIRD
    assert by_run["r1"]["billed_through"] == datetime(2026, 10, 1, tzinfo=UTC)
    assert by_run["r1"]["sharing_runs"] == 3
    assert [r["run_id"] for r in got] == ["r1", "r2", "r6"]
    # Nothing is stale 90 days back.
    assert rows_of(duck, stale_checkpoints(costs, runs, NOW, older_than=timedelta(days=90))) == []


def test_egress_by_pipeline_and_route(duck: Engine) -> None:
    costs, _runs = expose(duck)
    got = rows_of(duck, egress_costs(costs))
    assert [
        (r["pipeline"], r["provider"], r["source_region"], r["destination"], r["effective_cost"])
        for r in got
    ] == [
        ("etl", "aws", "us-east-1", "internet", Decimal(90)),
        ("train", "aws", "us-east-1", "USW2", Decimal(20)),
        (None, "gcp", "us-central1", "EMEA", Decimal(5)),
    ]
    assert [r["gigabytes"] for r in got] == [1000, 1000, Decimal("107.3741824")]
    by_bucket = rows_of(duck, egress_costs(costs, by=("bucket",)))
    assert by_bucket[0]["bucket"] == "ckpt"


def test_unknown_groupings_are_refused(duck: Engine) -> None:
    costs, _runs = expose(duck)
    with pytest.raises(BadInputError, match="--by"):
        storage_costs(costs, by="colour")
    with pytest.raises(BadInputError, match="runs"):
        storage_costs(costs, by="run")
    with pytest.raises(BadInputError, match="--by"):
        egress_costs(costs, by=("colour",))


# --- the command ----------------------------------------------------------------------------

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


def test_storage_command_refuses_unknown_views_and_dates(tmp_path: Path) -> None:
    root = str(Lake.open(tmp_path / "empty").root)
    code, output = invoke("storage", "--lake", root, "--by", "colour")
    assert code != 0 and "--by" in output
    code, output = invoke("storage", "--lake", root, "--by", "stale", "--now", "31/10/2026")
    assert code != 0 and "YYYY-MM-DD" in output
    code, output = invoke("storage", "--lake", root, "--by", "egress", "--format", "json")
    assert code == 0 and json.loads(output)["rows"] == []


# --- the demo -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path]:
    from support.web_server import small_demo_lake

    base = tmp_path_factory.getbasetemp()
    return connect(small_demo_lake(base)), base / "web-demo" / "out"


def test_demo_cross_cloud_copy_tops_egress(demo: tuple[Engine, Path]) -> None:
    engine, out = demo
    stories = json.loads((out / "stories.json").read_text())["stories"]
    story = next(s for s in stories if s["name"] == "cross-cloud-copy")
    top = rows_of(engine, egress_costs(engine.costs()))[0]
    assert (top["pipeline"], top["provider"], top["destination"]) == (
        "lakehouse",
        "aws",
        "internet",
    )
    assert top["effective_cost"] == Decimal(story["expected_effective_cost"])
    assert top["gigabytes"] == 180_000  # 180 TB
    days = rows_of(engine, egress_costs(engine.costs(), by=("day",)))
    assert [d["day"] for d in days[:2]] == ["2026-09-14", "2026-09-15"]
    code, output = invoke("storage", "--lake", str(engine.lake.root), "--by", "egress",
                          "--format", "json")  # fmt: skip
    assert code == 0, output
    shown = json.loads(output)["rows"][0]["effective_cost"]
    assert Decimal(shown) == Decimal(story["expected_effective_cost"])
    buckets = rows_of(engine, storage_costs(engine.costs()))
    assert {"nimbus-datasets", "nimbus-checkpoints", "nimbus-datasets-gcs"} <= {
        b["bucket"] for b in buckets
    }


# --- DuckDB = PySpark -----------------------------------------------------------------------


@pytest.mark.spark
def test_duckdb_and_pyspark_give_equal_storage_rows(tmp_path: Path) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        engine = connect(Lake.open(tmp_path / name), engine=name)
        costs, runs = expose(engine)
        # Stale checkpoints run every storage rule (bucket, prefix, runs' URIs, the split);
        # egress every transfer rule. Two queries keep the Spark run short.
        results.append(
            [
                rows_of(engine, stale_checkpoints(costs, runs, NOW)),
                rows_of(engine, egress_costs(costs)),
            ]
        )
    assert results[0] == results[1]
    assert all(results[0])
