"""The daily summary answers every dashboard question exactly as the raw rows do."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aifinops.allocate import AllocationConfig
from aifinops.analyze import DIMENSIONS, Period, spend
from aifinops.analyze.summary import ROWS, SUMMARY_KEYS, summary_table
from aifinops.catalog import load_catalog
from aifinops.ingest.pipeline import ingest
from aifinops.lake import Engine, Lake, connect
from aifinops.web import views
from aifinops.web.views_overview import overview
from support.demo_build import FOLDER, small_demo
from support.web_server import small_demo_lake

#: Dimensions the summary keeps (the others fall back to the raw rows).
KEPT = [name for name in DIMENSIONS if name not in ("resource", "sku", "run_id")]
PERIODS = [
    None,
    Period("2026-09", "2026-09"),
    Period("2026-08", "2026-10"),
    Period("2030-01", "2030-01"),
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return small_demo_lake(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def engines(lake: Lake) -> Iterator[tuple[Engine, Engine]]:
    fast, raw = connect(lake), connect(lake)
    raw.summaries = False
    yield fast, raw
    fast.close()
    raw.close()


def test_the_summary_is_smaller_and_counts_every_row(engines: tuple[Engine, Engine]) -> None:
    fast, raw = engines
    table = summary_table(fast)
    rows = fast.execute(table.aggregate(n=table.count(), raw=table[ROWS].sum())).to_pylist()[0]
    lake_rows = raw.execute(raw.costs().count().as_table()).to_pylist()[0]
    assert rows["raw"] == next(iter(lake_rows.values()))
    assert rows["n"] < rows["raw"], rows  # groups of the same day and keys become one row
    assert set(SUMMARY_KEYS) <= set(table.columns)


def test_the_summary_is_built_once_per_lake_version(engines: tuple[Engine, Engine]) -> None:
    fast, _ = engines
    assert summary_table(fast) is summary_table(fast)


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_overview_is_the_same_on_the_summary(
    engines: tuple[Engine, Engine], period: Period | None
) -> None:
    fast, raw = engines
    assert overview(fast, period=period) == overview(raw, period=period)


@pytest.mark.parametrize("by", KEPT)
def test_explore_by_each_kept_dimension_is_the_same(
    engines: tuple[Engine, Engine], by: str
) -> None:
    fast, raw = engines
    assert views.explore(fast, by=[by], limit=1000) == views.explore(raw, by=[by], limit=1000)


def test_explore_by_a_dimension_the_summary_lacks_reads_the_raw_rows(
    engines: tuple[Engine, Engine],
) -> None:
    fast, raw = engines
    for by, filters in ((["resource"], []), (["provider"], [("sku", None)]), (["run_id"], [])):
        got = views.explore(fast, by=by, filters=filters, limit=1000)
        assert got == views.explore(raw, by=by, filters=filters, limit=1000)
        assert got["total"]["rows"] > 0


def _values(engine: Engine, name: str) -> list[str | None]:
    table = engine.costs()
    expr = DIMENSIONS[name](table).cast("string").name("v")
    rows = engine.execute(table.select(expr).distinct().order_by("v")).to_pylist()
    return [r["v"] for r in rows][:6]


@pytest.fixture(scope="module")
def filter_values(engines: tuple[Engine, Engine]) -> dict[str, list[str | None]]:
    _, raw = engines
    return {
        name: _values(raw, name) for name in ("provider", "team", "gpu_model", "service", "day")
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_explore_is_the_same_on_the_summary(
    engines: tuple[Engine, Engine], filter_values: dict[str, list[str | None]], data: Any
) -> None:
    """Property: any group-by of kept dimensions, any filters, any period, any measure."""
    fast, raw = engines
    by = data.draw(st.lists(st.sampled_from(KEPT), min_size=0, max_size=3, unique=True))
    names = data.draw(st.lists(st.sampled_from(sorted(filter_values)), max_size=2))
    filters = [(n, data.draw(st.sampled_from([*filter_values[n], None]))) for n in names]
    period = data.draw(st.sampled_from(PERIODS))
    measure = data.draw(st.sampled_from(["effective_cost", "billed_cost", "rows", "savings"]))
    args: dict[str, Any] = {"by": by, "filters": filters, "period": period, "measure": measure}
    assert views.explore(fast, **args) == views.explore(raw, **args)


def test_gpus_and_teams_are_the_same_on_the_summary(engines: tuple[Engine, Engine]) -> None:
    fast, raw = engines
    catalog = load_catalog()
    for period in PERIODS[:2]:
        assert views.gpus(fast, catalog, period=period) == views.gpus(raw, catalog, period=period)
        for by in views.TEAM_OWNERS:
            plain = AllocationConfig()
            assert views.teams(fast, plain, by=by, period=period) == views.teams(
                raw, plain, by=by, period=period
            )


def test_teams_with_pools_read_the_raw_rows(engines: tuple[Engine, Engine]) -> None:
    """Pool rules may match tags, which the summary leaves out: the split stays exact."""
    fast, raw = engines
    pool = {"name": "platform", "match": {"tag:project": {"equals": "platform"}}}
    config = AllocationConfig.model_validate({"shared": [pool]})
    got = views.teams(fast, config)
    assert got == views.teams(raw, config)
    # The pool matched by its tag (on the summary, which has no Tags, it would be empty).
    assert got["pools"] and all(p["amount"] > 0 and p["rows"] > 0 for p in got["pools"])


def test_the_summary_follows_an_ingest(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.getbasetemp()
    small_demo(base)
    root = tmp_path / "lake"
    shutil.copytree(base / FOLDER / "lake", root)
    lake = Lake.open(root)
    engine = connect(lake)
    before = overview(engine)["totals"]["billed_cost"]
    first = summary_table(engine)
    extra = _one_more_export(base / FOLDER / "out", tmp_path)
    ingest([extra], lake)
    after = overview(engine)
    assert summary_table(engine) is not first
    raw = connect(lake)
    raw.summaries = False
    assert after == overview(raw)
    assert after["totals"]["billed_cost"] != before
    engine.close()
    raw.close()


def _one_more_export(out: Path, work: Path) -> Path:
    """The demo's FOCUS truth of one provider-month under a new billing account (a new
    partition), as a FOCUS CSV."""
    import duckdb

    source = sorted((out / "focus").glob("aws-*.parquet"))[0]
    target = work / "more.csv"
    duckdb.execute(
        f"COPY (SELECT * REPLACE (BillingAccountId || '-more' AS BillingAccountId) "
        f"FROM read_parquet('{source}')) TO '{target}' (FORMAT csv, HEADER true)"
    )
    return target


def test_spend_rows_count_raw_rows_on_the_summary(engines: tuple[Engine, Engine]) -> None:
    fast, raw = engines
    a = fast.execute(spend(summary_table(fast), by=["provider"])).to_pylist()
    b = raw.execute(spend(raw.costs(), by=["provider"])).to_pylist()
    assert a == b
    assert sum(r["rows"] for r in a) > len(a)
    assert all(isinstance(r["effective_cost"], Decimal) for r in a)


@pytest.mark.spark
def test_pyspark_summary_gives_the_duckdb_answers(
    lake: Lake, engines: tuple[Engine, Engine]
) -> None:
    _, raw = engines
    spark = connect(lake, engine="pyspark")
    period = Period("2026-09", "2026-09")
    assert overview(spark, period=period) == overview(raw, period=period)
    args: dict[str, Any] = {"by": ["provider", "team"], "filters": [("gpu_model", None)]}
    assert views.explore(spark, **args) == views.explore(raw, **args)


def test_an_empty_lake_summarises_to_nothing(tmp_path: Path) -> None:
    engine = connect(Lake.open(tmp_path / "empty"))
    table = summary_table(engine)
    counted = engine.execute(table.aggregate(n=table.count())).to_pylist()
    assert counted == [{"n": 0}]
    assert overview(engine)["totals"]["effective_cost"] is None
    engine.close()
