"""The JSON API over real HTTP: its numbers equal the library's, bad input is refused, caching."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from aifinops.allocate import AllocationConfig, split_shared, tag_coverage
from aifinops.analyze import DIMENSIONS, Period, gpu_report, spend
from aifinops.catalog import load_catalog
from aifinops.ingest.pipeline import ingest
from aifinops.lake import Engine, Lake, connect
from aifinops.render import decimal_text
from aifinops.settings import Settings
from aifinops.web.app import create_app
from aifinops.web.views import jsonable
from support.web_server import Live, live_server, small_demo_lake

MONEY = ("billed_cost", "effective_cost", "list_cost", "contracted_cost", "savings")


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
    response = httpx.get(live.url + path, params=params, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def plain_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The library's rows as the API sends them (exact decimal strings)."""
    result: list[dict[str, Any]] = jsonable(rows)
    return result


def test_meta_lists_the_lake(live: Live, lake: Lake) -> None:
    body = get(live, "/api/v1/meta")
    assert body["version"] == lake.version()
    assert body["months"] == ["2026-08", "2026-09", "2026-10"]
    assert body["providers"] == ["AWS", "Google Cloud", "Microsoft"]
    assert body["dimensions"] == list(DIMENSIONS)
    assert "effective_cost" in body["measures"]


def test_overview_totals_and_trend_equal_spend(live: Live, engine: Engine) -> None:
    body = get(live, "/api/v1/overview")
    total = engine.execute(spend(engine.costs(), by=[])).to_pylist()[0]
    assert body["period"] == "all"
    for name in ("billed_cost", "effective_cost", "list_cost", "savings"):
        assert body["totals"][name] == decimal_text(total[name])
    trend = engine.execute(spend(engine.costs(), by=["month", "provider"])).to_pylist()
    expected = sorted(
        (
            {"month": r["month"], "provider": r["provider"], "effective_cost": r["effective_cost"]}
            for r in trend
        ),
        key=lambda r: (r["month"], r["provider"]),
    )
    assert body["trend"] == plain_rows(expected)
    assert sum(Decimal(p["effective_cost"]) for p in body["trend"]) == total["effective_cost"]
    ai = body["ai"]
    assert Decimal(ai["accelerator_cost"]) > 0
    assert ai["share"] == pytest.approx(
        float(Decimal(ai["accelerator_cost"]) / total["effective_cost"])
    )


def test_overview_movers_compare_the_last_month_with_the_one_before(
    live: Live, engine: Engine
) -> None:
    body = get(live, "/api/v1/overview", period="2026-09")
    expr = spend(
        engine.costs(), by=["month", "service", "provider"], period=Period("2026-08", "2026-09")
    )
    cost: dict[tuple[str, str], dict[str, Decimal]] = {}
    for r in engine.execute(expr).to_pylist():
        cost.setdefault((r["service"], r["provider"]), {})[r["month"]] = r["effective_cost"]
    changes = {
        key: v.get("2026-09", Decimal(0)) - v.get("2026-08", Decimal(0)) for key, v in cost.items()
    }
    biggest = sorted(changes.values(), key=abs, reverse=True)[:5]
    movers = body["movers"]
    assert len(movers) == 5
    assert [Decimal(m["change"]) for m in movers] == biggest
    for m in movers:
        assert (m["previous_month"], m["current_month"]) == ("2026-08", "2026-09")
        assert Decimal(m["change"]) == changes[(m["service"], m["provider"])]
    # The idle-GPU share, from the demo's telemetry, is tested in tests/test_web_ml.py.
    assert body["kpis"]["telemetry"] is True
    coverage = engine.execute(
        tag_coverage(engine.costs(), by=[], period=Period("2026-09", "2026-09"))
    )
    assert body["kpis"]["allocatable_share"] == coverage.to_pylist()[0]["cost_share"]


def test_explore_rows_equal_spend_with_the_filter(live: Live, engine: Engine) -> None:
    body = get(
        live,
        "/api/v1/explore",
        by="team,workload",
        filter="provider:AWS",
        period="2026-08..2026-09",
    )
    costs = engine.costs()
    aws = costs.filter(costs.ProviderName == "AWS")
    rolled = spend(aws, by=["team", "workload"], period=Period("2026-08", "2026-09"))
    expected = engine.execute(rolled).to_pylist()
    assert body["by"] == ["team", "workload"]
    assert body["filters"] == ["provider:AWS"]
    assert body["groups"] == len(expected) and not body["truncated"]
    key = ("team", "workload")
    assert sorted(body["rows"], key=lambda r: [str(r[k]) for k in key]) == sorted(
        plain_rows(expected), key=lambda r: [str(r[k]) for k in key]
    )
    assert body["total"]["effective_cost"] == decimal_text(
        sum((r["effective_cost"] for r in expected), Decimal(0))
    )


def test_explore_empty_filter_value_keeps_null_and_one_dimension_ors(
    live: Live, engine: Engine
) -> None:
    body = get(
        live,
        "/api/v1/explore",
        by="provider",
        filter=["team:", "provider:AWS", "provider:Microsoft"],
    )
    costs = engine.costs()
    wanted = costs.filter(costs.x_Team.isnull() & costs.ProviderName.isin(["AWS", "Microsoft"]))
    expected = engine.execute(spend(wanted, by=["provider"])).to_pylist()
    assert body["rows"] == plain_rows(expected)
    assert {r["provider"] for r in body["rows"]} <= {"AWS", "Microsoft"}


def test_explore_orders_by_the_measure_and_limits(live: Live) -> None:
    body = get(live, "/api/v1/explore", by="service", measure="savings", limit=3)
    assert len(body["rows"]) == 3 and body["truncated"] and body["groups"] > 3
    savings = [Decimal(r["savings"]) for r in body["rows"]]
    assert savings == sorted(savings, reverse=True)


def test_explore_csv_parses_and_equals_json(live: Live) -> None:
    params = {"by": "provider,service", "period": "2026", "limit": 1000}
    body = get(live, "/api/v1/explore", **params)
    response = httpx.get(live.url + "/api/v1/explore", params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == "attachment; filename=explore.csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(body["rows"])
    for name in MONEY:
        assert sum(Decimal(r[name]) for r in rows) == Decimal(body["total"][name])
    assert [(r["provider"], r["service"]) for r in rows] == [
        (r["provider"], r["service"]) for r in body["rows"]
    ]


def test_gpus_rows_equal_the_gpu_report(live: Live, engine: Engine, settings: Settings) -> None:
    body = get(live, "/api/v1/gpus", period="2026-10")
    report = gpu_report(
        engine.costs(),
        engine.execute,
        load_catalog(settings.catalog),
        period=Period("2026-10", "2026-10"),
    )
    assert body["rows"] == plain_rows(report.rows)
    assert body["cheapest"] == plain_rows(report.cheapest)
    assert body["notes"] == list(report.notes)
    assert body["rows"], "the demo lake has accelerator rows"


def test_teams_split_adds_up_to_the_lake(live: Live, engine: Engine, settings: Settings) -> None:
    body = get(live, "/api/v1/teams", by="project")
    shared = split_shared(
        engine.costs(), settings.allocation.shared, by="project", execute=engine.execute
    )
    direct: dict[str | None, Decimal] = {}
    for owner in shared.owners:
        direct[owner.owner] = direct.get(owner.owner, Decimal(0)) + owner.total_cost
    assert {r["owner"]: Decimal(r["total_cost"]) for r in body["rows"]} == direct
    total = engine.execute(spend(engine.costs(), by=[])).to_pylist()[0]["effective_cost"]
    assert sum(Decimal(r["total_cost"]) for r in body["rows"]) == total
    assert any(r["usd_per_gpu_hour"] is not None for r in body["rows"])


def test_data_partitions_equal_the_manifests(live: Live, lake: Lake) -> None:
    body = get(live, "/api/v1/data")
    manifests = lake.manifests()
    assert [
        (p["provider"], p["billing_account"], p["billing_period"], p["rows"], p["billed_cost"])
        for p in body["partitions"]
    ] == [
        (
            m.provider_name,
            m.billing_account_id,
            m.billing_period,
            m.row_count,
            decimal_text(m.billed_cost),
        )
        for m in manifests
    ]
    assert {r["status"] for r in body["reconciliation"]} == {"reconciled"}
    assert body["validation"]["ok"] is True
    assert body["validation"]["rows_checked"] == sum(m.row_count for m in manifests)


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/api/v1/explore", {"by": "provider,nope"}, 422, ["by", "provider,nope", "service"]),
        ("/api/v1/explore", {"by": "team,team"}, 400, ["by", "repeats"]),
        ("/api/v1/explore", {"by": "Provider;drop"}, 422, ["by"]),
        ("/api/v1/explore", {"filter": "nope:x"}, 422, ["filter", "nope:x", "provider"]),
        ("/api/v1/explore", {"filter": "provider"}, 422, ["filter", "provider"]),
        ("/api/v1/explore", {"measure": "cost"}, 422, ["measure"]),
        ("/api/v1/explore", {"limit": "0"}, 422, ["limit"]),
        ("/api/v1/explore", {"format": "xml"}, 422, ["format"]),
        ("/api/v1/overview", {"period": "2026-10..2026-08"}, 400, ["period", "first <= last"]),
        ("/api/v1/gpus", {"period": "last month"}, 422, ["period"]),
        ("/api/v1/gpus", {"period": "2026-13"}, 422, ["period", "2026-13"]),
        ("/api/v1/teams", {"by": "dept"}, 422, ["by"]),
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


def test_a_repeated_request_is_answered_from_the_cache(live: Live) -> None:
    state = live.app.state.web
    params = {"by": "region,gpu_model", "filter": ["provider:AWS", "workload:training"]}
    first = httpx.get(live.url + "/api/v1/explore", params=params)
    runs, hits = state.engine.executions, state.cache.hits
    again = httpx.get(live.url + "/api/v1/explore", params=params)
    reordered = httpx.get(
        live.url + "/api/v1/explore",
        params={**params, "filter": ["workload:training", "provider:AWS"]},
    )
    assert first.content == again.content == reordered.content
    assert state.engine.executions == runs, "the engine ran for a cached answer"
    assert state.cache.hits == hits + 2
    assert again.headers["x-lake-version"] == live.app.state.web.lake.version()


def test_parallel_requests_get_the_same_answers_as_one_at_a_time(live: Live) -> None:
    queries = [
        ("/api/v1/explore", {"by": by, "period": period})
        for by in ("provider", "service", "team,model", "region")
        for period in ("2026-08", "2026-10")
    ] + [("/api/v1/overview", {"period": "2026-08..2026-10"}), ("/api/v1/gpus", {"period": "2026"})]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(
            pool.map(lambda q: httpx.get(live.url + q[0], params=q[1], timeout=60), queries)
        )
    assert [r.status_code for r in parallel] == [200] * len(queries)
    live.app.state.web.cache.clear()
    for (path, params), answer in zip(queries, parallel, strict=True):
        assert httpx.get(live.url + path, params=params, timeout=60).json() == answer.json()


def test_an_ingest_invalidates_the_cache(lake: Lake, tmp_path: Path, settings: Settings) -> None:
    focus = lake.root.parent / "out" / "focus"
    fresh = Lake.open(tmp_path / "lake")
    ingest([focus / "aws-2026-08.parquet"], fresh)
    app = create_app(fresh, settings=settings.model_copy(update={"lake": fresh.root}))
    with live_server(app) as live:
        before = get(live, "/api/v1/overview")
        runs = app.state.web.engine.executions
        assert get(live, "/api/v1/overview") == before
        assert app.state.web.engine.executions == runs
        ingest([focus / "gcp-2026-08.parquet"], fresh)
        after = get(live, "/api/v1/overview")
        assert app.state.web.engine.executions > runs
        con = connect(fresh)
        total = con.execute(spend(con.costs(), by=[])).to_pylist()[0]["effective_cost"]
        con.close()
        assert after["totals"]["effective_cost"] == decimal_text(total)
        assert Decimal(after["totals"]["effective_cost"]) > Decimal(
            before["totals"]["effective_cost"]
        )
        assert {p["provider"] for p in after["trend"]} == {"AWS", "Google Cloud"}


def test_teams_split_a_shared_pool_exactly(lake: Lake, settings: Settings, engine: Engine) -> None:
    pool = {"name": "untagged", "match": {"x_Team": {"missing": True}}}
    config = AllocationConfig.model_validate({"shared": [pool]})
    app = create_app(lake, settings=settings.model_copy(update={"allocation": config}))
    with live_server(app) as live:
        body = get(live, "/api/v1/teams", period="2026-09")
    costs = engine.costs()
    month = costs.filter(costs.BillingPeriodStart.strftime("%Y-%m") == "2026-09")
    untagged = month.filter(month.x_Team.isnull()).EffectiveCost.sum()
    amount = engine.execute(untagged.as_table()).to_pylist()[0]
    (pooled,) = body["pools"]
    assert Decimal(pooled["amount"]) == next(iter(amount.values()))
    assert None not in {r["owner"] for r in body["rows"]}
    assert sum(Decimal(r["shared_cost"]) for r in body["rows"]) == Decimal(pooled["amount"])
    total = engine.execute(spend(costs, by=[], period=Period("2026-09", "2026-09")))
    assert (
        sum(Decimal(r["total_cost"]) for r in body["rows"])
        == total.to_pylist()[0]["effective_cost"]
    )
