"""Shared costs: pools split proportionally, evenly or by weights, conserved exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.allocate import AllocationConfig, SharedPool, split_exact, split_shared
from aifinops.allocate.shared import EXACT
from aifinops.analyze.spend import Period
from aifinops.errors import BadInputError
from aifinops.focus.columns import DECIMAL_TYPE
from aifinops.lake import Engine, Lake, connect
from support.allocation_lake import build_lake, focus_row

UNIT = Decimal("1e-18")
_AMOUNT = st.decimals(
    min_value=Decimal("-1e20"), max_value=Decimal("1e20"), places=18, allow_nan=False
)
_WEIGHT = st.decimals(min_value=0, max_value=Decimal("1e6"), places=6, allow_nan=False)


def total(values: Any) -> Decimal:
    with localcontext(EXACT):
        return sum(values, Decimal(0))


@settings(max_examples=300, deadline=None)
@given(
    amount=_AMOUNT,
    weights=st.dictionaries(st.text(min_size=1, max_size=4), _WEIGHT, min_size=1, max_size=8),
)
def test_split_is_exact_and_each_share_is_within_one_unit(
    amount: Decimal, weights: dict[str, Decimal]
) -> None:
    if sum(weights.values()) == 0:
        with pytest.raises(BadInputError):
            split_exact(amount, weights)
        return
    shares = split_exact(amount, weights)
    assert total(shares.values()) == amount
    whole = sum(weights.values(), Decimal(0))
    for owner, share in shares.items():
        quota = Fraction(amount) * Fraction(weights[owner]) / Fraction(whole)
        assert abs(Fraction(share) - quota) < Fraction(UNIT)
        assert share.as_tuple().exponent == -18
        if weights[owner] == 0:
            assert share == 0


def test_largest_remainder_goes_to_the_largest_fractions_then_list_order() -> None:
    assert split_exact(Decimal("1e-17"), {"a": 1, "b": 1, "c": 1}) == {
        "a": Decimal("4e-18"),
        "b": Decimal("3e-18"),
        "c": Decimal("3e-18"),
    }
    assert split_exact(Decimal("-1e-17"), {"a": 1, "b": 2}) == {
        "a": Decimal("-3e-18"),
        "b": Decimal("-7e-18"),
    }
    with pytest.raises(BadInputError):
        split_exact(Decimal("1e-19"), {"a": 1})


# --- split_shared over in-memory tables (fast enough for hypothesis) --------------------


def costs_table(rows: list[tuple[str, str | None, str, Decimal]]) -> ibis.Table:
    """(month, team, service, cost) rows as a cost table."""
    starts = [datetime(int(m[:4]), int(m[5:]), 1, tzinfo=UTC) for m, *_ in rows]
    return ibis.memtable(
        pa.table(
            {
                "BillingPeriodStart": pa.array(starts, pa.timestamp("us", tz="UTC")),
                "x_Team": pa.array([r[1] for r in rows], pa.string()),
                "ServiceName": pa.array([r[2] for r in rows], pa.string()),
                "EffectiveCost": pa.array([r[3] for r in rows], DECIMAL_TYPE),
            }
        )
    )


POOLS = [
    SharedPool(name="support", match={"ServiceName": {"equals": "Support"}}, method="even"),
    SharedPool(
        name="network",
        match={"ServiceName": {"equals": "Network"}},
        method="weights",
        weights={"a": Decimal(3), "b": Decimal(1)},
    ),
    SharedPool(name="untagged", match={"x_Team": {"missing": True}}),
]

_ROW = st.tuples(
    st.sampled_from(["2026-08", "2026-09"]),
    st.sampled_from(["a", "b", "c", None]),
    st.sampled_from(["Compute", "Support", "Network"]),
    st.decimals(min_value=-1000, max_value=10**6, places=18, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_ROW, max_size=14))
def test_every_period_is_conserved_exactly(
    rows: list[tuple[str, str | None, str, Decimal]],
) -> None:
    result = split_shared(costs_table(rows), POOLS)
    for month in {r[0] for r in rows}:
        spent = total(r[3] for r in rows if r[0] == month)
        assert total(o.total_cost for o in result.owners if o.period == month) == spent
    for pool in result.pools:
        assert total(pool.shares.values()) == pool.amount
        in_pool = total(r[3] for r in rows if r[0] == pool.period and _pool_of(r) == pool.pool)
        assert pool.amount == in_pool


def _pool_of(row: tuple[str, str | None, str, Decimal]) -> str | None:
    if row[2] == "Support":
        return "support"
    if row[2] == "Network":
        return "network"
    return "untagged" if row[1] is None else None


def test_proportional_split_matches_hand_computation() -> None:
    t = costs_table(
        [
            ("2026-08", "a", "Compute", Decimal(30)),
            ("2026-08", "b", "Compute", Decimal(10)),
            ("2026-08", "c", "Compute", Decimal(-5)),  # credits: a negative owner gets no share
            ("2026-08", None, "Compute", Decimal(8)),
            ("2026-08", "a", "Support", Decimal(3)),
            ("2026-08", None, "Network", Decimal("1.000000000000000001")),
        ]
    )
    result = split_shared(t, POOLS)
    rows = {r["team"]: r for r in result.owner_rows()}
    assert rows["a"]["shared:untagged"] == Decimal(6)  # 8 × 30/40
    assert rows["b"]["shared:untagged"] == Decimal(2)
    assert rows["c"]["shared:untagged"] == Decimal(0)
    assert [rows[k]["shared:support"] for k in "abc"] == [Decimal(1)] * 3
    assert rows["a"]["shared:network"] == Decimal("0.750000000000000001")  # remainder to a
    assert rows["b"]["shared:network"] == Decimal("0.25")
    assert rows["a"]["total_cost"] == Decimal(30) + 6 + 1 + Decimal("0.750000000000000001")
    assert {p["pool"]: p["recipients"] for p in result.pool_rows()} == {
        "support": 3,
        "network": 2,
        "untagged": 3,
    }


def test_zero_direct_cost_falls_back_to_an_even_split() -> None:
    t = costs_table(
        [
            ("2026-08", "a", "Compute", Decimal(0)),
            ("2026-08", "b", "Compute", Decimal(-4)),
            ("2026-08", None, "Compute", Decimal(9)),
        ]
    )
    shares = {o.owner: o.shared["untagged"] for o in split_shared(t, POOLS).owners}
    assert shares == {"a": Decimal("4.5"), "b": Decimal("4.5")}


def test_a_pool_nobody_can_share_stays_unallocated() -> None:
    t = costs_table([("2026-09", None, "Support", Decimal(5)), ("2026-09", None, "x", Decimal(1))])
    result = split_shared(t, POOLS)
    assert [(o.owner, o.total_cost) for o in result.owners] == [(None, Decimal(6))]


def test_among_limits_who_shares_a_pool() -> None:
    pool = SharedPool(
        name="gpu-cluster", match={"ServiceName": {"equals": "Support"}}, among=["b", "z"]
    )
    t = costs_table(
        [
            ("2026-08", "a", "Compute", Decimal(10)),
            ("2026-08", "b", "Compute", Decimal(10)),
            ("2026-08", "a", "Support", Decimal(6)),
        ]
    )
    shares = {o.owner: o.shared.get("gpu-cluster") for o in split_shared(t, [pool]).owners}
    assert shares == {"a": None, "b": Decimal(6), "z": Decimal(0)}


def test_split_by_another_owner_field_and_bad_field() -> None:
    t = costs_table([("2026-08", "a", "Compute", Decimal(1))])
    assert split_shared(t, [], by="project").owners[0].owner is None
    with pytest.raises(BadInputError, match="team"):
        split_shared(t, [], by="colour")


# --- on a real lake, both engines -------------------------------------------------------

CONFIG = AllocationConfig.model_validate(
    {
        "shared": [
            {"name": "support", "match": {"ServiceName": {"equals": "AWS Support"}}},
            {"name": "untagged", "match": {"x_Team": {"missing": True}}, "method": "even"},
        ]
    }
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return build_lake(
        tmp_path_factory.mktemp("shared"),
        [
            focus_row("70", tags={"team": "llm"}),
            focus_row("30", tags={"Team": "vision"}),
            focus_row("10", ServiceName="AWS Support"),
            focus_row("5.5", tags={"Name": "orphan"}),
            focus_row("-0.000000000000000003", ChargeCategory="Credit"),
            focus_row("12", tags={"team": "llm"}, month="2026-09"),
            focus_row("1", ServiceName="AWS Support", month="2026-09"),
        ],
    )


@pytest.fixture(params=["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest, lake: Lake) -> Engine:
    return connect(lake, engine=request.param)


def test_lake_split_derives_owners_and_conserves_each_period(engine: Engine) -> None:
    result = split_shared(engine.costs(), CONFIG, execute=engine.execute)
    rows = {(r["period"], r["team"]): r for r in result.owner_rows()}
    assert rows[("2026-08", "llm")]["shared:support"] == Decimal(7)
    assert rows[("2026-08", "vision")]["shared:support"] == Decimal(3)
    untagged = Decimal("5.499999999999999997")
    assert rows[("2026-08", "llm")]["shared:untagged"] == untagged / 2 + Decimal("0.5e-18")
    assert total(r["total_cost"] for r in result.owner_rows() if r["period"] == "2026-08") == (
        Decimal("115.499999999999999997")
    )
    assert rows[("2026-09", "llm")]["total_cost"] == Decimal(13)


def test_period_filter(engine: Engine) -> None:
    result = split_shared(
        engine.costs(), CONFIG, period=Period("2026-09", "2026-09"), execute=engine.execute
    )
    assert {o.period for o in result.owners} == {"2026-09"}


@pytest.mark.spark
def test_duckdb_and_pyspark_split_alike(lake: Lake) -> None:
    results = []
    for name in ("duckdb", "pyspark"):
        con = connect(lake, engine=name)
        split = split_shared(con.costs(), CONFIG, execute=con.execute)
        results.append((split.owner_rows(), split.pool_rows()))
    assert results[0] == results[1]


def test_an_empty_lake_has_no_owners(tmp_path: Path) -> None:
    empty = connect(Lake.open(tmp_path / "empty"))
    assert split_shared(empty.costs(), CONFIG, execute=empty.execute).owners == []
