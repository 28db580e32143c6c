"""The ML routes of the JSON API over real HTTP: unit costs, runs, GPU waste and utilisation
equal the library's reports, add up, refuse bad input, and sit behind the token."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from aifinops.analyze import Period
from aifinops.analyze.runs import experiment_summary, run_ledger
from aifinops.analyze.units import unit_costs
from aifinops.analyze.waste import idle_gpu_share, waste_report
from aifinops.catalog import load_catalog
from aifinops.ingest.pipeline import ingest
from aifinops.lake import Engine, Lake, connect
from aifinops.settings import Settings
from aifinops.web.app import create_app
from aifinops.web.views import jsonable
from support.web_server import Live, live_server, small_demo_lake

WASTE_STATES = {"idle", "zombie", "underused"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return small_demo_lake(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def settings(lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # The packaged catalog alone, no config file: the test does not depend on the machine.
    return Settings(lake=lake.root, catalog=tmp_path_factory.mktemp("no-catalog"))


@pytest.fixture(scope="module")
def live(lake: Lake, settings: Settings) -> Iterator[Live]:
    with live_server(create_app(lake, settings=settings)) as server:
        yield server


@pytest.fixture(scope="module")
def engine(lake: Lake) -> Iterator[Engine]:
    con = connect(lake)
    yield con
    con.close()


def get(live: Live, path: str, **params: Any) -> Any:
    response = httpx.get(live.url + path, params=params, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def waste_by_resource(live: Live) -> Any:
    return get(live, "/api/v1/waste", by="resource")


def test_unit_costs_equal_the_unit_report_and_show_each_formula(live: Live, engine: Engine) -> None:
    body = get(live, "/api/v1/units", by="model,team,cloud", grain="month")
    report = unit_costs(engine.costs(), engine.signals("metrics"), engine.execute)
    assert body["rows"] == jsonable(report.rows)
    assert body["columns"] == list(report.columns)
    assert body["basis"] == report.basis == "billing"
    assert body["notes"] == list(report.notes)
    formulas = {f["column"]: f["formula"] for f in body["figures"]}
    assert formulas == report.formulas
    per = {f["column"]: f["per"] for f in body["figures"]}
    assert per["usd_per_1m_tokens_out"] == "1M output tokens"
    # Every figure the issue names has a value somewhere in the demo.
    for column in (
        "usd_per_1k_requests",
        "usd_per_1m_tokens_in",
        "usd_per_1m_tokens_out",
        "usd_per_epoch",
        "usd_per_step",
        "usd_per_gpu_hour",
    ):
        assert any(r[column] is not None for r in body["rows"]), column
    # The CSV download is the same answer.
    answer = httpx.get(
        live.url + "/api/v1/units",
        params={"by": "model,team,cloud", "grain": "month", "format": "csv"},
        timeout=120,
    )
    assert answer.headers["content-type"].startswith("text/csv")
    assert "filename=units.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == body["columns"]
    assert [r["usd_per_1k_requests"] or None for r in rows] == [
        r["usd_per_1k_requests"] for r in body["rows"]
    ]


def test_unit_costs_for_one_period_without_a_grain(live: Live, engine: Engine) -> None:
    body = get(live, "/api/v1/units", by="team", grain="none", period="2026-09")
    report = unit_costs(
        engine.costs(),
        engine.signals("metrics"),
        engine.execute,
        by=["team"],
        grain=None,
        period=Period("2026-09", "2026-09"),
    )
    assert body["grain"] == "none" and body["period"] == "2026-09"
    assert body["rows"] == jsonable(report.rows)
    assert body["rows"] and all("period" not in r for r in body["rows"])


@pytest.fixture(scope="module")
def runs_body(live: Live) -> Any:
    body = get(live, "/api/v1/runs")
    if not body["runs_imported"]:
        pytest.skip("the demo has no MLflow runs without MLflow (pip install 'aifinops[mlflow]')")
    return body


def test_run_ledger_equals_report_runs(runs_body: Any, engine: Engine) -> None:
    as_of = datetime.fromisoformat(runs_body["as_of"].replace("Z", "+00:00"))
    ledger = run_ledger(
        engine.costs(),
        engine.signals("runs"),
        engine.signals("run_metrics"),
        engine.signals("telemetry"),
        now=as_of,
    )
    assert runs_body["rows"] == jsonable(engine.execute(ledger).to_pylist())
    summary = engine.execute(experiment_summary(ledger)).to_pylist()
    assert runs_body["experiments"] == jsonable(summary)
    assert runs_body["runs_imported"] is True
    assert {r["outcome"] for r in runs_body["rows"]} >= {"finished", "failed", "killed"}
    # Cost per experiment split by outcome adds up to the experiment's cost.
    for experiment in summary:
        split = [r for r in runs_body["by_outcome"] if r["experiment"] == experiment["experiment"]]
        assert sum(Decimal(r["effective_cost"]) for r in split) == experiment["effective_cost"]
        assert sum(r["runs"] for r in split) == experiment["runs"]


def test_early_stop_opportunities_list_the_runaway_run(runs_body: Any) -> None:
    stops = runs_body["early_stops"]
    runaway = [s for s in stops if s["name"] == "pretrain-7b-run42"]
    assert len(runaway) == 1 and runaway[0]["source"] == "run"
    ledger = {r["run_name"]: r for r in runs_body["rows"]}
    assert runaway[0]["wasted_after_stop"] == ledger["pretrain-7b-run42"]["wasted_after_stop"]
    assert Decimal(runaway[0]["wasted_after_stop"]) > 0
    wasted = [Decimal(s["wasted_after_stop"] or 0) for s in stops]
    assert wasted == sorted(wasted, reverse=True)


def test_runs_filter_by_outcome_and_experiment(live: Live, runs_body: Any) -> None:
    bad = get(live, "/api/v1/runs", outcome=["failed", "killed"])
    expected = [r for r in runs_body["rows"] if r["outcome"] in ("failed", "killed")]
    assert bad["rows"] == expected and len(expected) >= 2
    assert bad["outcomes"] == ["failed", "killed"]
    assert bad["experiment_names"] == runs_body["experiment_names"]
    one = get(live, "/api/v1/runs", experiment="vega-sweep")
    assert one["rows"] == [r for r in runs_body["rows"] if r["experiment"] == "vega-sweep"]
    assert [e["experiment"] for e in one["experiments"]] == ["vega-sweep"]
    answer = httpx.get(live.url + "/api/v1/runs", params={"format": "csv"}, timeout=120)
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["run_id"] for r in rows] == [r["run_id"] for r in runs_body["rows"]]


def test_waste_equals_the_waste_report(live: Live, engine: Engine, settings: Settings) -> None:
    body = get(live, "/api/v1/waste", by="host", period="2026-08..2026-10")
    report = waste_report(
        engine.signals("telemetry"),
        engine.execute,
        engine.costs(),
        by=["host"],
        catalog=load_catalog(settings.catalog),
        period=Period("2026-08", "2026-10"),
    )
    assert body["telemetry"] is True and body["notes"] == list(report.notes)
    assert len(body["rows"]) == len(report.rows)
    for got, want in zip(body["rows"], report.rows, strict=True):
        assert (got["host"], got["state"]) == (want["host"], want["state"])
        assert got["gpu_hours"] == pytest.approx(want["gpu_hours"])
        assert got["energy_kwh"] == pytest.approx(want["energy_kwh"])
        assert got["cost"] == jsonable(want["cost"])
    hours = {t["state"]: t["gpu_hours"] for t in body["totals"]}
    assert hours == pytest.approx({t["state"]: t["gpu_hours"] for t in report.totals})
    assert sum(hours[s] for s in WASTE_STATES) > 0, "the demo has idle and zombie GPUs"
    names = [t["name"] for t in body["thresholds"]]
    assert names[:3] == ["idle_util_pct", "underused_util_pct", "zombie_memory_pct"]


def test_waste_by_any_dimension_has_the_same_totals(live: Live, waste_by_resource: Any) -> None:
    by_day = get(live, "/api/v1/waste", by="model,day")
    for one, other in zip(by_day["totals"], waste_by_resource["totals"], strict=True):
        assert (one["state"], one["cost"]) == (other["state"], other["cost"])
        assert one["gpu_hours"] == pytest.approx(other["gpu_hours"])
        assert one["energy_kwh"] == pytest.approx(other["energy_kwh"])
    for body in (by_day, waste_by_resource):
        wasted = sum(r["gpu_hours"] for r in body["rows"])
        total = sum(t["gpu_hours"] for t in body["totals"] if t["state"] in WASTE_STATES)
        assert wasted == pytest.approx(total)
    assert None not in {r["model"] for r in by_day["rows"]}, "models come from the bill"


def test_a_resources_segments_add_up_to_its_waste(live: Live, waste_by_resource: Any) -> None:
    top = waste_by_resource["rows"][0]
    listed = {r["resource"] for r in waste_by_resource["resources"]}
    assert top["resource"] in listed
    body = get(live, "/api/v1/waste/segments", resource=top["resource"])
    assert body["count"] == len(body["segments"]) and not body["truncated"]
    mine = [s for s in body["segments"] if s["state"] == top["state"]]
    assert sum(s["gpu_hours"] for s in mine) == pytest.approx(top["gpu_hours"])
    assert sum(Decimal(s["cost"]) for s in mine) == Decimal(top["cost"])
    short = get(live, "/api/v1/waste/segments", resource=top["resource"], limit=2)
    assert short["segments"] == body["segments"][:2] and short["truncated"] is True
    assert short["count"] == body["count"]


def test_gpu_utilisation_per_model_covers_every_observed_hour(
    live: Live, waste_by_resource: Any
) -> None:
    body = get(live, "/api/v1/gpus/utilisation")
    assert body["telemetry"] is True
    observed = sum(t["gpu_hours"] for t in waste_by_resource["totals"])
    assert sum(r["gpu_hours"] for r in body["rows"]) == pytest.approx(observed)
    for row in body["rows"]:
        states = sum(row[f"{s}_hours"] for s in ("busy", "underused", "zombie", "idle"))
        assert states == pytest.approx(row["gpu_hours"])
        assert row["model"] is not None
    assert any(r["waste_share"] for r in body["rows"])


def test_overview_idle_gpu_share_comes_from_telemetry(live: Live, engine: Engine) -> None:
    body = get(live, "/api/v1/overview", period="2026-09")
    pct = idle_gpu_share(
        engine.signals("telemetry"), engine.execute, period=Period("2026-09", "2026-09")
    )
    assert pct is not None and body["kpis"]["telemetry"] is True
    assert body["kpis"]["idle_gpu_share"] == pytest.approx(pct / 100)


def test_without_signals_the_kpi_and_waste_say_so(
    lake: Lake, settings: Settings, tmp_path: Path
) -> None:
    bare = Lake.open(tmp_path / "lake")
    ingest([lake.root.parent / "out" / "focus" / "aws-2026-08.parquet"], bare)
    app = create_app(bare, settings=settings.model_copy(update={"lake": bare.root}))
    with live_server(app) as server:
        kpis = get(server, "/api/v1/overview")["kpis"]
        assert kpis["idle_gpu_share"] is None and kpis["telemetry"] is False
        waste = get(server, "/api/v1/waste")
        assert waste["rows"] == [] and waste["telemetry"] is False and waste["notes"]
        assert get(server, "/api/v1/gpus/utilisation") == {
            "period": "all",
            "telemetry": False,
            "rows": [],
        }


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/api/v1/units", {"by": "model,model"}, 400, ["by", "model,model", "distinct"]),
        ("/api/v1/units", {"by": "provider"}, 422, ["by", "provider"]),
        ("/api/v1/units", {"grain": "week"}, 422, ["grain", "week"]),
        ("/api/v1/runs", {"outcome": "lost"}, 422, ["outcome", "lost"]),
        ("/api/v1/runs", {"period": "2026-10..2026-08"}, 400, ["period", "first <= last"]),
        ("/api/v1/waste", {"by": "host,host"}, 400, ["by", "host,host"]),
        ("/api/v1/waste", {"by": "region"}, 422, ["by", "region"]),
        ("/api/v1/waste/segments", {}, 422, ["resource"]),
        ("/api/v1/waste/segments", {"resource": "x", "limit": "0"}, 422, ["limit"]),
        ("/api/v1/gpus/utilisation", {"period": "2026-13"}, 422, ["period", "2026-13"]),
    ],
)
def test_bad_input_is_refused_with_what_to_fix(
    live: Live, path: str, params: dict[str, str], status: int, words: list[str]
) -> None:
    response = httpx.get(live.url + path, params=params)
    assert response.status_code == status, response.text
    detail = str(response.json()["detail"])
    for word in words:
        assert word in detail, (word, detail)


def test_a_repeated_request_is_answered_from_the_cache(live: Live, waste_by_resource: Any) -> None:
    state = live.app.state.web
    runs, hits = state.engine.executions, state.cache.hits
    again = get(live, "/api/v1/waste", by="resource")
    assert again == waste_by_resource
    assert state.engine.executions == runs and state.cache.hits == hits + 1


def test_the_token_guards_the_new_routes(lake: Lake, settings: Settings) -> None:
    with live_server(create_app(lake, settings=settings, token="ml-token")) as server:
        for path in ("/api/v1/units", "/api/v1/runs", "/api/v1/waste", "/units", "/waste"):
            assert httpx.get(server.url + path).status_code == 401, path
        none = httpx.get(
            server.url + "/api/v1/waste/segments",
            params={"resource": "no-such-resource"},
            headers={"Authorization": "Bearer ml-token"},
            timeout=120,
        )
        assert none.status_code == 200, none.text
        assert none.json()["segments"] == [] and none.json()["count"] == 0
        assert httpx.post(server.url + "/api/v1/units").status_code == 405
