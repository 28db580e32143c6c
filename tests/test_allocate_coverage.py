"""Tag coverage: the allocatable share of spend by cloud, account and team; untagged spenders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aifinops.allocate import AllocationConfig, tag_coverage, untagged_spenders
from aifinops.analyze.spend import Period
from aifinops.errors import BadInputError
from aifinops.lake import Engine, Lake, connect
from support.allocation_lake import build_lake, focus_row

CONFIG = AllocationConfig.model_validate(
    {"rules": [{"name": "support", "match": {"ServiceName": {"equals": "AWS Support"}},
                "set": {"team": "finops"}}]}
)  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return build_lake(
        tmp_path_factory.mktemp("coverage"),
        [
            focus_row("60", tags={"user:Team": "llm", "project": "atlas"}, ResourceId="i-1"),
            focus_row("20", ResourceId="i-2", ServiceName="Amazon S3"),
            focus_row("15", ResourceId="i-2", ServiceName="Amazon S3", month="2026-09"),
            focus_row("5", ServiceName="AWS Support"),
            focus_row("30", tags={" team": "vision"}, ProviderName="Microsoft",
                      BillingAccountId="ea-1", ResourceId="vm-1"),
            focus_row("10", tags={"Owner": "someone"}, ProviderName="Microsoft",
                      BillingAccountId="ea-1", ResourceId="vm-2"),
        ],
    )  # fmt: skip


@pytest.fixture(params=["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest, lake: Lake) -> Engine:
    return connect(lake, engine=request.param)


def test_coverage_by_provider_counts_cost_and_rows(engine: Engine) -> None:
    rows = engine.execute(tag_coverage(engine.costs(), config=CONFIG)).to_pylist()
    assert rows == [
        {"provider": "AWS", "rows": 4, "allocatable_rows": 2, "effective_cost": Decimal(100),
         "allocatable_cost": Decimal(65), "unallocated_cost": Decimal(35),
         "cost_share": 0.65, "row_share": 0.5},
        {"provider": "Microsoft", "rows": 2, "allocatable_rows": 1, "effective_cost": Decimal(40),
         "allocatable_cost": Decimal(30), "unallocated_cost": Decimal(10),
         "cost_share": 0.75, "row_share": 0.5},
    ]  # fmt: skip


def test_stored_owners_are_read_as_they_are_without_a_config(engine: Engine) -> None:
    # The ingest filled x_Team from the default tag aliases (user:Team, " team"); without a
    # config the coverage reads those stored owners and applies no rule of its own.
    rows = engine.execute(tag_coverage(engine.costs(), by=[])).to_pylist()
    assert rows[0]["allocatable_cost"] == Decimal(90)
    assert rows[0]["cost_share"] == pytest.approx(90 / 140)


def test_coverage_by_account_and_team_with_two_required_fields(engine: Engine) -> None:
    expr = tag_coverage(
        engine.costs(), by=["account", "team"], required=["team", "project"], config=CONFIG
    )
    got = {
        (r["account"], r["team"]): r["allocatable_cost"] for r in engine.execute(expr).to_pylist()
    }
    assert got == {
        ("111111111111", "llm"): Decimal(60),
        ("111111111111", None): Decimal(0),
        ("111111111111", "finops"): Decimal(0),
        ("ea-1", "vision"): Decimal(0),
        ("ea-1", None): Decimal(0),
    }


def test_untagged_spenders_are_biggest_first_and_limited(engine: Engine) -> None:
    rows = engine.execute(untagged_spenders(engine.costs(), config=CONFIG)).to_pylist()
    assert [(r["resource"], r["effective_cost"], r["rows"]) for r in rows] == [
        ("i-2", Decimal(35), 2),
        ("vm-2", Decimal(10), 1),
    ]
    assert rows[0]["service"] == "Amazon S3" and rows[1]["provider"] == "Microsoft"
    top = untagged_spenders(engine.costs(), limit=1, by=["service"], config=CONFIG)
    assert engine.execute(top).to_pylist() == [
        {"service": "Amazon S3", "rows": 2, "effective_cost": Decimal(35)}
    ]


def test_period_filter_applies(engine: Engine) -> None:
    expr = tag_coverage(
        engine.costs(), by=["provider"], period=Period("2026-09", "2026-09"), config=CONFIG
    )
    assert engine.execute(expr).to_pylist()[0]["effective_cost"] == Decimal(15)


def test_unknown_required_field_says_which_exist(engine: Engine) -> None:
    with pytest.raises(BadInputError, match="colour") as caught:
        tag_coverage(engine.costs(), required=["colour"])
    assert "run_id" in str(caught.value.expected)


@pytest.mark.spark
def test_duckdb_and_pyspark_agree(lake: Lake) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        con = connect(lake, engine=name)
        cover = tag_coverage(con.costs(), by=["provider", "account", "team"], config=CONFIG)
        worst = untagged_spenders(con.costs(), config=CONFIG)
        results.append((con.execute(cover).to_pylist(), con.execute(worst).to_pylist()))
    assert results[0] == results[1]
