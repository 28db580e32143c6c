"""Usage metrics files into the METRICS table: long CSV and Parquet, wide CSV (the real H200
event log from shared data), saved Prometheus query responses; names, kinds, timestamps,
and errors that name the file, row and column.

Every file is written here in its real format (the Prometheus ones exactly as
``/api/v1/query_range`` and ``/api/v1/query`` answer), except the shared event log.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aifinops.errors import BadInputError
from aifinops.signals.metrics_files import read_metrics
from aifinops.signals.metrics_names import Naming, kind_hints, parse_pairs
from aifinops.signals.schema import METRICS

T0 = datetime(2026, 8, 1, 10, tzinfo=UTC)
LONG_CSV = """timestamp,metric,value,resource_id,model,team,endpoint,kind
2026-08-01T10:00:00Z,requests,1311,i-0abc,ranker,applied-ml,/v1/rank,
2026-08-01 10:00:00,prompt_tokens,314640,i-0abc,ranker,applied-ml,/v1/rank,
2026-08-01T12:00:00+02:00,completion_tokens,124545,i-0abc,ranker,applied-ml,,
1785578400,epoch,1.5,i-0abc,ranker,applied-ml,,
1785578400000,loss,0.25,i-0abc,ranker,applied-ml,,
1785578400.0,queue_depth,3,i-0abc,ranker,applied-ml,,gauge
1785578400,requests_served,40,,,,,cumulative
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(table: pa.Table) -> list[dict[str, Any]]:
    assert table.schema == METRICS
    return table.to_pylist()


def test_long_csv_maps_names_kinds_times_dimensions_and_labels(tmp_path: Path) -> None:
    got = rows(read_metrics(write(tmp_path / "usage.csv", LONG_CSV)))
    assert {r["timestamp"] for r in got} == {T0}  # every time format means the same instant
    assert [(r["metric"], r["value"], r["kind"]) for r in got] == [
        ("requests", 1311.0, "delta"),
        ("tokens_in", 314640.0, "delta"),
        ("tokens_out", 124545.0, "delta"),
        ("epochs", 1.5, "cumulative"),
        ("loss", 0.25, "gauge"),
        ("queue_depth", 3.0, "gauge"),
        ("requests_served", 40.0, "cumulative"),
    ]
    first = got[0]
    assert (first["resource_id"], first["model"], first["team"]) == (
        "i-0abc",
        "ranker",
        "applied-ml",
    )
    assert first["host"] is None and first["source"] == "usage.csv"
    assert json.loads(first["labels"]) == {"endpoint": "/v1/rank"}
    assert json.loads(got[2]["labels"]) == {}


def test_long_parquet_reads_like_the_csv(tmp_path: Path) -> None:
    table = pa.table(
        {
            "timestamp": pa.array([T0.replace(tzinfo=None)] * 2, pa.timestamp("ms")),
            "metric": ["inferences", "tokens_out"],
            "value": pa.array([12, 30], pa.int64()),
            "run_id": pa.array([7, 7], pa.int64()),
            "region": ["us-east-1", "us-east-1"],
        }
    )
    pq.write_table(table, tmp_path / "usage.parquet")
    got = rows(read_metrics(tmp_path / "usage.parquet"))
    assert [(r["timestamp"], r["metric"], r["value"]) for r in got] == [
        (T0, "requests", 12.0),
        (T0, "tokens_out", 30.0),
    ]
    assert got[0]["run_id"] == "7"
    assert json.loads(got[0]["labels"]) == {"region": "us-east-1"}


def test_options_fill_missing_dimensions_and_override_names_and_kinds(tmp_path: Path) -> None:
    path = write(tmp_path / "usage.csv", LONG_CSV)
    got = rows(
        read_metrics(
            path,
            resource_id="i-default",
            host="gpu-7",
            run_id="run-1",
            names={"queue_depth": "requests", "prompt_tokens": "prompt"},
            kinds={"requests": "cumulative", "requests_served": "delta"},
        )
    )
    by_metric = {(r["metric"], r["value"]): r for r in got}
    assert by_metric[("requests", 1311.0)]["kind"] == "cumulative"  # by canonical name
    assert by_metric[("requests", 3.0)]["kind"] == "cumulative"  # option beats the file
    assert by_metric[("prompt", 314640.0)]["kind"] == "gauge"  # not canonical: a level
    assert by_metric[("requests_served", 40.0)]["kind"] == "delta"  # by source name
    assert by_metric[("requests_served", 40.0)]["resource_id"] == "i-default"  # file had none
    assert by_metric[("requests", 1311.0)]["resource_id"] == "i-0abc"  # the file wins
    assert {(r["host"], r["run_id"]) for r in got} == {("gpu-7", "run-1")}


def test_builtin_aliases_and_default_kinds() -> None:
    naming = Naming()
    cases = {
        "predictions": ("requests", "delta"),
        "inference_count": ("requests", "delta"),
        "vllm:request_success_total": ("requests", "cumulative"),
        "http_requests_total": ("requests", "cumulative"),
        "input_tokens": ("tokens_in", "delta"),
        "vllm:prompt_tokens_total": ("tokens_in", "cumulative"),
        "generation_tokens": ("tokens_out", "delta"),
        "vllm:generation_tokens_total": ("tokens_out", "cumulative"),
        "Epoch": ("epochs", "cumulative"),
        "global_step": ("steps", "delta"),
        "examples": ("samples", "delta"),
        "loss": ("loss", "gauge"),
        "gpu_cache_usage_perc": ("gpu_cache_usage_perc", "gauge"),
    }
    got = {name: (naming.metric(name), naming.kind(name, naming.metric(name))) for name in cases}
    assert got == cases


@pytest.fixture(scope="module")
def events(shared_data: Path) -> tuple[Path, dict[str, Any]]:
    folder = shared_data / "gpu-telemetry"
    if not (folder / "events.csv").is_file():
        pytest.skip(f"H200 event log not found at {folder}")
    return folder / "events.csv", json.loads((folder / "meta.json").read_text())


def test_wide_event_log_from_a_real_h200(events: tuple[Path, dict[str, Any]]) -> None:
    path, meta = events
    table = read_metrics(path, kinds={"requests": "cumulative"}, host="h200-box")
    by_metric = {m: table.filter(pc.equal(table["metric"], m)) for m in ("epochs", "requests")}
    kinds = dict(zip(table["metric"].to_pylist(), table["kind"].to_pylist(), strict=True))
    assert kinds == {
        "epochs": "cumulative",
        "loss": "gauge",
        "requests": "cumulative",
        "samples": "delta",
    }
    assert by_metric["epochs"].num_rows == meta["epochs"] == 197
    assert by_metric["epochs"]["value"].to_pylist()[-1] == 197
    last = by_metric["requests"].sort_by("timestamp")["value"].to_pylist()[-1]
    assert last == meta["inferences"] == 1_266_660
    samples = table.filter(pc.equal(table["metric"], "samples"))["value"]
    assert pc.sum(samples).as_py() == 197 * 65_536
    assert json.loads(table["labels"][0].as_py()) == {"event": "epoch_end", "phase": "training"}
    assert set(table["host"].to_pylist()) == {"h200-box"}
    start = datetime.fromtimestamp(1795830982.664, tz=UTC)
    assert by_metric["epochs"]["timestamp"][0].as_py() == start


def test_a_growing_delta_metric_gets_a_hint(events: tuple[Path, dict[str, Any]]) -> None:
    path, _meta = events
    hints = kind_hints(read_metrics(path))
    assert len(hints) == 1 and "--kind requests=cumulative" in hints[0]
    assert kind_hints(read_metrics(path, kinds={"requests": "cumulative"})) == []


def test_wide_csv_empty_cells_are_no_sample(tmp_path: Path) -> None:
    text = (
        "timestamp,host,step,loss,note\n"
        "2026-08-01T10:00:00Z,gpu-1,100,,warmup\n"
        "2026-08-01T10:01:00Z,gpu-1,,0.5,\n"
        "2026-08-01T10:02:00Z,gpu-2,100,nan,\n"
    )
    got = rows(read_metrics(write(tmp_path / "train.csv", text)))
    assert [(r["metric"], r["value"], r["host"]) for r in got] == [
        ("steps", 100.0, "gpu-1"),
        ("steps", 100.0, "gpu-2"),
        ("loss", 0.5, "gpu-1"),
    ]
    assert json.loads(got[0]["labels"]) == {"note": "warmup"}


def prom(result_type: str, result: list[dict[str, Any]]) -> str:
    return json.dumps({"status": "success", "data": {"resultType": result_type, "result": result}})


def test_prometheus_range_query_matrix(tmp_path: Path) -> None:
    start = T0.timestamp()
    labels = {"instance": "10.0.0.5:8000", "job": "vllm", "model_name": "llama-3-8b"}
    body = prom(
        "matrix",
        [
            {
                "metric": {"__name__": "vllm:prompt_tokens_total", **labels},
                "values": [[start, "1000"], [start + 60, "1500"], [start + 120, "NaN"]],
            },
            {
                "metric": {"__name__": "vllm:request_success_total", **labels, "finished": "stop"},
                "values": [[start, "10"], [start + 60, "12"]],
            },
        ],
    )
    got = rows(read_metrics(write(tmp_path / "vllm.json", body), resource_id="i-0gpu"))
    assert [(r["metric"], r["value"], r["kind"]) for r in got] == [
        ("tokens_in", 1000.0, "cumulative"),
        ("tokens_in", 1500.0, "cumulative"),
        ("requests", 10.0, "cumulative"),
        ("requests", 12.0, "cumulative"),
    ]
    assert got[1]["timestamp"] == datetime(2026, 8, 1, 10, 1, tzinfo=UTC)
    assert {(r["host"], r["model"], r["resource_id"]) for r in got} == {
        ("10.0.0.5", "llama-3-8b", "i-0gpu")
    }
    assert json.loads(got[2]["labels"]) == {"finished": "stop", "job": "vllm"}


def test_prometheus_instant_query_vector_and_unnamed_series(tmp_path: Path) -> None:
    body = prom(
        "vector",
        [
            {"metric": {"team": "search"}, "value": [T0.timestamp(), "5400"]},
            {"metric": {"team": "ads"}, "value": [T0.timestamp(), "60"]},
        ],
    )
    # sum by (team) (increase(...)) drops __name__: the series takes the file's name
    got = rows(read_metrics(write(tmp_path / "requests.json", body)))
    assert [(r["metric"], r["value"], r["kind"], r["team"]) for r in got] == [
        ("requests", 5400.0, "delta", "search"),
        ("requests", 60.0, "delta", "ads"),
    ]


def bad(tmp_path: Path, text: str, name: str = "usage.csv") -> str:
    with pytest.raises(BadInputError) as caught:
        read_metrics(write(tmp_path / name, text))
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "timestamp,metric,value\n2026-08-01T10:00:00Z,requests,1\nyesterday,requests,2\n",
            "row 2, column timestamp: 'yesterday' is not a time",
        ),
        (
            "timestamp,metric,value\n2026-08-01T10:00:00Z,requests,1\n,requests,2\n",
            "row 2, column timestamp: the cell is empty",
        ),
        (
            "timestamp,metric,value\n1785578400,requests,1\n1785578400,requests,1,5k\n",
            "row 2: the row has 4 cells, the header 3",
        ),
        (
            "timestamp,metric,value\n1785578400,requests,1\n1785578400,requests,1.2.3\n",
            "row 2, column value: '1.2.3' is not a number",
        ),
        (
            "timestamp,metric,value\n1785578400,requests,inf\n",
            "row 1, column value: inf is not finite",
        ),
        ("timestamp,metric,value\n1785578400,,1\n", "row 1, column metric"),
        (
            "timestamp,metric,value,kind\n1785578400,requests,1,counter\n",
            "row 1, column kind: the kind is 'counter', not a metric kind",
        ),
        ("timestamp,note\n1785578400,hello\n", "header: no numeric column"),
        ("time,requests\n1785578400,5\n", "header, column timestamp: no timestamp column"),
    ],
)
def test_bad_cells_name_file_row_column_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    message = bad(tmp_path, text)
    assert message.startswith(str(tmp_path / "usage.csv")), message
    assert expected in message and "To fix:" in message, message


def test_bad_files(tmp_path: Path) -> None:
    assert "unknown metrics file type '.xlsx'" in bad(tmp_path, "x", "usage.xlsx")
    assert "not a Prometheus API response" in bad(tmp_path, "{}", "usage.json")
    with pytest.raises(BadInputError, match="no such file"):
        read_metrics(tmp_path / "missing.csv")
    with pytest.raises(BadInputError, match="column --kind.*'sum', not a metric kind"):
        read_metrics(write(tmp_path / "ok.csv", LONG_CSV), kinds={"requests": "sum"})


def test_command_line_pairs() -> None:
    assert parse_pairs(["a=delta", " b = gauge "], option="--kind") == {"a": "delta", "b": "gauge"}
    with pytest.raises(BadInputError, match="column --name: 'preds' is not NAME=VALUE"):
        parse_pairs(["preds"], option="--name")
