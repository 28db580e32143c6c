"""MLflow runs read through MLflow's own client, from a real file store MLflow writes here.

The store is made once per module (importing MLflow takes seconds): a finished run with
exact times, tags and a loss history (client API), a failed and a killed run (fluent API:
``start_run`` … ``end_run(status=…)``), a run left RUNNING with metrics from long ago, and a
second experiment. Errors are checked against the real thing: a directory that is not a
store, a closed loopback port, an HTTP server on loopback that is not MLflow.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from aifinops.cli_runs import import_runs, report_runs, source_slug
from aifinops.errors import BadInputError
from aifinops.signals.mlflow_runs import public_uri, read_runs, tracking_store_uri

T0 = datetime(2024, 6, 1, 1, 0, tzinfo=UTC)  # long before any run of these tests
LOSS = [(0, 5.0), (1, 4.0), (2, 3.5), (3, 3.6)]


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _log_fluent(mlflow: Any, experiment_id: str, name: str, status: str, tags: dict) -> str:
    """Log one run the way a training script does, and end it with ``status``."""
    run = mlflow.start_run(experiment_id=experiment_id, run_name=name)
    mlflow.set_tags(tags)
    mlflow.log_param("batch_size", 32)
    mlflow.log_metric("loss", 2.0, step=0)
    mlflow.end_run(status=status)
    return str(run.info.run_id)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Return the store's directory and the ids of the runs logged into it."""
    mlflow = pytest.importorskip("mlflow")
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("tracking") / "mlruns"
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        client = MlflowClient(root.as_uri())
        sweep = client.create_experiment("sweep")
        other = client.create_experiment("other")
        tags = {"aifinops.resource_id": "i-0abc", "aifinops.gpus": "4", "team": "vision"}
        fin = client.create_run(sweep, start_time=ms(T0), tags=tags, run_name="base").info.run_id
        client.log_param(fin, "lr", "0.001")
        client.log_batch(fin, metrics=[Metric("loss", v, ms(T0) + 60_000 * s, s) for s, v in LOSS])
        client.set_terminated(fin, "FINISHED", end_time=ms(T0 + timedelta(minutes=90)))
        gone = client.create_run(other, start_time=ms(T0), run_name="stale").info.run_id
        client.log_metric(gone, "loss", 1.5, timestamp=ms(T0 + timedelta(hours=1)), step=0)
        mlflow.set_tracking_uri(root.as_uri())
        try:
            failed = _log_fluent(mlflow, sweep, "crash", "FAILED", {"host": "node-7"})
            killed = _log_fluent(mlflow, sweep, "stopped", "KILLED", {"num_gpus": "two"})
        finally:
            mlflow.set_tracking_uri(None)
    finally:
        del os.environ["MLFLOW_ALLOW_FILE_STORE"]
    yield {"root": root, "fin": fin, "failed": failed, "killed": killed, "gone": gone}


@pytest.fixture(scope="module")
def read(store: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    runs, metrics = read_runs(store["root"])
    return {r["run_id"]: r for r in runs.to_pylist()}, metrics.to_pylist()


def test_runs_come_back_with_status_times_links_and_params(
    store: dict[str, Any], read: tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]
) -> None:
    runs, _ = read
    assert {k: r["status"] for k, r in runs.items()} == {
        store["fin"]: "FINISHED",
        store["failed"]: "FAILED",
        store["killed"]: "KILLED",
        store["gone"]: "RUNNING",
    }
    fin = runs[store["fin"]]
    assert (fin["run_name"], fin["experiment"]) == ("base", "sweep")
    assert (fin["start_time"], fin["end_time"]) == (T0, T0 + timedelta(minutes=90))
    assert (fin["resource_id"], fin["gpu_count"], fin["team"]) == ("i-0abc", 4.0, "vision")
    assert json.loads(fin["params"]) == {"lr": "0.001"}
    assert fin["source"] == store["root"].resolve().as_uri()
    failed, killed = runs[store["failed"]], runs[store["killed"]]
    assert (failed["host"], failed["resource_id"], failed["run_name"]) == ("node-7", None, "crash")
    assert json.loads(failed["params"]) == {"batch_size": "32"}
    assert failed["user"] == json.loads(failed["tags"])["mlflow.user"]
    assert killed["gpu_count"] is None  # "two" is not a number: ignored
    assert runs[store["gone"]]["end_time"] is None
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ


def test_metric_histories_are_complete(
    store: dict[str, Any], read: tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]
) -> None:
    _, metrics = read
    fin = [(m["step"], m["timestamp"], m["value"]) for m in metrics if m["run_id"] == store["fin"]]
    assert sorted(fin) == [(s, T0 + timedelta(minutes=s), v) for s, v in LOSS]
    gone = [(m["key"], m["timestamp"]) for m in metrics if m["run_id"] == store["gone"]]
    assert gone == [("loss", T0 + timedelta(hours=1))]
    assert len(metrics) == len(LOSS) + 3


def test_filters_and_the_parent_directory(store: dict[str, Any]) -> None:
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))

    runs, metrics = read_runs(store["root"].parent, experiments=["other"], progress=progress)
    assert runs.column("run_id").to_pylist() == [store["gone"]] and seen == [(1, 1)]
    assert metrics.num_rows == 1
    later, _ = read_runs(store["root"].as_uri(), since=T0 + timedelta(minutes=1))
    assert store["fin"] not in later.column("run_id").to_pylist()
    assert read_runs(store["root"], max_runs=2)[0].num_rows == 2
    with pytest.raises(BadInputError, match="no experiment 'nope'.*one of: Default, other, sweep"):
        read_runs(store["root"], experiments=["nope"])


def test_a_directory_that_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    with pytest.raises(BadInputError, match="is not an MLflow file store"):
        tracking_store_uri(tmp_path)
    with pytest.raises(BadInputError, match="does not exist"):
        tracking_store_uri(tmp_path / "missing")
    assert list(tmp_path.iterdir()) == [tmp_path / "notes"]  # nothing was written there


def test_an_unreachable_server_fails_fast() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(BadInputError, match="cannot reach the MLflow tracking server"):
        read_runs(f"http://127.0.0.1:{port}")


class _NotMlflow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


def test_a_server_that_is_not_mlflow() -> None:
    server = HTTPServer(("127.0.0.1", 0), _NotMlflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(BadInputError, match="MLflow could not read http://127.0.0.1"):
            read_runs(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()


def test_database_uris_need_the_full_mlflow_package() -> None:
    try:
        distribution("mlflow")
        pytest.skip("the full mlflow package is installed: database URIs are supported")
    except PackageNotFoundError:
        pass
    with pytest.raises(BadInputError, match="pip install mlflow"):
        tracking_store_uri("postgresql://ml:secret@db/mlflow")
    assert public_uri("postgresql://ml:secret@db:5432/m") == "postgresql://ml:***@db:5432/m"


def _cli() -> typer.Typer:
    """Return an app with the commands registered the way ``cli.py`` does."""
    app, imports, reports = typer.Typer(), typer.Typer(), typer.Typer()
    imports.command("runs")(import_runs)
    reports.command("runs")(report_runs)
    app.add_typer(imports, name="import")
    app.add_typer(reports, name="report")
    return app


def test_import_and_report_runs_through_the_cli(
    store: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AIFINOPS_CONFIG", "AIFINOPS_LAKE", "AIFINOPS_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    app, runner, lake = _cli(), CliRunner(), str(tmp_path / "lake")
    args = ["import", "runs", str(store["root"]), "--lake", lake, "--format", "json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    written = json.loads(first.output)["rows"]
    source = source_slug(store["root"].resolve().as_uri())
    assert [(r["table"], r["rows"], r["status"], r["source"]) for r in written] == [
        ("runs", 4, "written", source),
        ("run_metrics", len(LOSS) + 3, "written", source),
    ]
    again = json.loads(runner.invoke(app, args).output)["rows"]
    assert {r["status"] for r in again} == {"unchanged"}
    report = ["report", "runs", "--lake", lake, "--format", "json"]
    body = json.loads(runner.invoke(app, [*report, "--outcome", "failed,abandoned"]).output)
    assert {r["run_id"]: r["outcome"] for r in body["rows"]} == {
        store["failed"]: "failed",
        store["gone"]: "abandoned",
    }
    # No bill in this lake: no cost, and the summary says so per experiment.
    assert {r["experiment"]: r["runs"] for r in body["experiments"]} == {"sweep": 1, "other": 1}
    markdown = runner.invoke(app, ["report", "runs", "--lake", lake, "--format", "markdown"])
    assert markdown.exit_code == 0 and "| base " in markdown.output, markdown.output
    bad = runner.invoke(app, [*report, "--outcome", "lost"])
    assert bad.exit_code == 2 and "unknown outcome 'lost'" in bad.output


def test_source_slugs_are_short_and_stable() -> None:
    assert source_slug("http://mlflow.internal:5000") == "mlflow-mlflow.internal-5000"
    long = source_slug("file:///" + "deep/" * 30 + "mlruns")
    assert len(long) <= 60 and long == source_slug("file:///" + "deep/" * 30 + "mlruns")
