"""``aifinops import metrics`` and ``import telemetry`` through the command line, on a Typer
app built here the way ``cli.py`` registers the group (``app.add_typer(import_app,
name="import")``); the files are real, the lake is real and read back through the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aifinops.cli_import import import_app
from aifinops.lake import Lake, connect

app = typer.Typer()
app.add_typer(import_app, name="import")
runner = CliRunner()
USAGE = """timestamp,metric,value,resource_id,model,team
2026-08-01T00:00:00Z,requests,1311,i-0abc,ranker,applied-ml
2026-08-01T00:00:00Z,tokens_in,314640,i-0abc,ranker,applied-ml
2026-08-01T01:00:00Z,preds,903,i-0abc,ranker,applied-ml
"""


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIFINOPS_CONFIG", "AIFINOPS_LAKE", "AIFINOPS_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def stored(lake: Path, table: str) -> list[dict[str, object]]:
    engine = connect(Lake.open(lake))
    return engine.execute(engine.signals(table)).sort_by("timestamp").to_pylist()


def test_import_metrics_writes_then_reports_unchanged(tmp_path: Path) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text(USAGE)
    lake = tmp_path / "lake"
    args = ("import", "metrics", str(usage), "--lake", str(lake), "--name", "preds=requests")
    code, out = invoke(*args, "--format", "json")
    assert code == 0, out
    body = json.loads(out)
    assert body["rows"] == [
        {
            "source": "usage.csv",
            "table": "metrics",
            "rows": 3,
            "first": "2026-08-01T00:00:00+00:00",
            "last": "2026-08-01T01:00:00+00:00",
            "status": "written",
        }
    ]
    assert body["notes"] == ["usage.csv: requests (delta) 2, tokens_in (delta) 1"]
    assert [(r["metric"], r["value"]) for r in stored(lake, "metrics")] == [
        ("requests", 1311.0),
        ("tokens_in", 314640.0),
        ("requests", 903.0),
    ]

    code, out = invoke(*args)
    assert code == 0, out
    assert "unchanged" in out and "usage.csv" in out

    code, out = invoke(*args, "--kind", "requests=cumulative", "--format", "json")
    assert json.loads(out)["rows"][0]["status"] == "written"
    assert {r["kind"] for r in stored(lake, "metrics") if r["metric"] == "requests"} == {
        "cumulative"
    }


def test_a_growing_delta_metric_is_pointed_out(tmp_path: Path) -> None:
    counter = tmp_path / "served.csv"
    counter.write_text(
        "timestamp,requests\n" + "".join(f"{1785578400 + 60 * i},{100 * i}\n" for i in range(6))
    )
    code, out = invoke("import", "metrics", str(counter), "--lake", str(tmp_path / "lake"))
    assert code == 0, out
    assert "--kind requests=cumulative" in " ".join(out.split())


def test_a_bad_file_stops_the_command_before_anything_is_written(tmp_path: Path) -> None:
    good, broken = tmp_path / "good.csv", tmp_path / "broken.csv"
    good.write_text(USAGE)
    broken.write_text("timestamp,metric,value\n2026-08-01T00:00:00Z,requests,many\n")
    lake = tmp_path / "lake"
    code, out = invoke("import", "metrics", str(good), str(broken), "--lake", str(lake))
    assert code == 2
    assert "broken.csv, row 1, column value: 'many' is not a number" in " ".join(out.split())
    assert not (lake / "metrics").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--kind", "requests"], "'requests' is not NAME=VALUE"),
        (["--kind", "requests=sum"], "'sum', not a metric kind"),
        (["--format", "csv"], "unknown output format 'csv'"),
    ],
)
def test_bad_options_exit_2(tmp_path: Path, option: list[str], message: str) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text(USAGE)
    code, out = invoke("import", "metrics", str(usage), "--lake", str(tmp_path / "lake"), *option)
    assert code == 2 and message in " ".join(out.split()), out


def test_two_files_of_one_name_are_refused(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "usage.csv").write_text(USAGE)
    paths = [str(tmp_path / f / "usage.csv") for f in ("a", "b")]
    code, out = invoke("import", "metrics", *paths, "--lake", str(tmp_path / "lake"))
    assert code == 2 and "two files are named 'usage.csv'" in " ".join(out.split()), out


def test_import_telemetry_of_the_real_h200_trace(tmp_path: Path, shared_data: Path) -> None:
    trace = shared_data / "gpu-telemetry" / "telemetry.csv"
    if not trace.is_file():
        pytest.skip(f"H200 telemetry not found at {trace}")
    meta = json.loads((trace.parent / "meta.json").read_text())
    lake = tmp_path / "lake"
    args = ("import", "telemetry", str(trace), "--lake", str(lake), "--host", "h200-box")
    code, out = invoke(*args, "--resource-id", "i-0h200", "--format", "json")
    assert code == 0, out
    (row,) = json.loads(out)["rows"]
    assert (row["source"], row["table"], row["rows"]) == ("telemetry.csv", "telemetry", 374)
    assert row["rows"] == meta["samples"] and row["status"] == "written"
    got = stored(lake, "telemetry")
    assert {(r["host"], r["resource_id"]) for r in got} == {("h200-box", "i-0h200")}
    code, out = invoke(*args, "--resource-id", "i-0h200")
    assert code == 0 and "unchanged" in out, out
