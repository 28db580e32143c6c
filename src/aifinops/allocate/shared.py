"""Shared costs: pools (support, networking, platform clusters, untagged rows) split to owners.

The engine sums each billing period's direct cost per owner and each pool's amount, exactly
(``decimal(38, 18)``). Python then splits every pool among its owners with exact integer
arithmetic at the lake's scale (10⁻¹⁸) and the largest-remainder rule, so the shares of a
pool add up to the pool to the last digit, and every owner's total adds up to the period's
cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from aifinops.allocate.config import OWNER_COLUMNS, AllocationConfig, SharedPool
from aifinops.allocate.ownership import owners
from aifinops.allocate.rules import matched_rules
from aifinops.analyze.spend import Period, in_period
from aifinops.analyze.summary import ROWS, is_summary
from aifinops.errors import BadInputError
from aifinops.focus.columns import DECIMAL_SCALE

Owner = str | None
Execute = Callable[[ir.Table], pa.Table]
#: Decimal arithmetic that never rounds: any inexact step raises instead.
EXACT = Context(prec=120, traps=[Inexact])


@dataclass(frozen=True)
class OwnerCost:
    """One owner's cost in one billing period: direct, shared per pool, and total."""

    period: str
    owner: Owner
    direct_cost: Decimal
    shared: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def shared_cost(self) -> Decimal:
        """Return the owner's share of every pool."""
        with localcontext(EXACT):
            return sum(self.shared.values(), Decimal(0))

    @property
    def total_cost(self) -> Decimal:
        """Return direct plus shared cost."""
        with localcontext(EXACT):
            return self.direct_cost + self.shared_cost


@dataclass(frozen=True)
class PoolCost:
    """One pool in one billing period: its amount and who received how much."""

    period: str
    pool: str
    method: str
    rows: int
    amount: Decimal
    shares: Mapping[Owner, Decimal]


@dataclass(frozen=True)
class SharedCosts:
    """The result of :func:`split_shared`: owners' costs and the pools that were split."""

    by: str
    owners: list[OwnerCost]
    pools: list[PoolCost]

    def owner_rows(self) -> list[dict[str, Any]]:
        """Return one row per (period, owner): direct, each pool's share, shared, total."""
        names = list(dict.fromkeys(p.pool for p in self.pools))
        return [
            {
                "period": o.period,
                self.by: o.owner,
                "direct_cost": o.direct_cost,
                **{f"shared:{n}": o.shared.get(n, Decimal(0)) for n in names},
                "shared_cost": o.shared_cost,
                "total_cost": o.total_cost,
            }
            for o in self.owners
        ]

    def pool_rows(self) -> list[dict[str, Any]]:
        """Return one row per (period, pool): method, rows, amount and recipients."""
        return [
            {
                "period": p.period,
                "pool": p.pool,
                "method": p.method,
                "rows": p.rows,
                "amount": p.amount,
                "recipients": sum(1 for o in p.shares if o is not None),
            }
            for p in self.pools
        ]


def split_exact(amount: Decimal, weights: Mapping[str, Decimal | int]) -> dict[str, Decimal]:
    """Split ``amount`` by ``weights`` exactly, at 18 decimals, by the largest remainder.

    Each owner gets ``amount × weight ÷ Σweights`` rounded down to 10⁻¹⁸ (towards zero for
    negative amounts); the units left over go one each to the largest remainders, ties to
    the owner listed first. The shares always add up to ``amount``.

    Raises:
        BadInputError: for an amount finer than 10⁻¹⁸, or weights that are negative or add
            up to zero.
    """
    with localcontext(EXACT):
        units = amount.scaleb(DECIMAL_SCALE)
        if units != units.to_integral_value():
            raise BadInputError(f"amount {amount} has more than {DECIMAL_SCALE} decimals")
        exact = {k: Fraction(w) for k, w in weights.items()}
    total = sum(exact.values(), Fraction(0))
    if total <= 0 or any(w < 0 for w in exact.values()):
        raise BadInputError("weights must be zero or more and add up to more than zero")
    whole = abs(int(units))
    quotas = {k: whole * w / total for k, w in exact.items()}
    floors = {k: q.numerator // q.denominator for k, q in quotas.items()}
    rank = {k: i for i, k in enumerate(quotas)}
    order = sorted(quotas, key=lambda k: (floors[k] - quotas[k], rank[k]))
    for key in order[: whole - sum(floors.values())]:
        floors[key] += 1
    sign = 1 if units < 0 else 0
    return {
        k: Decimal((sign, tuple(int(d) for d in str(v)), -DECIMAL_SCALE)) for k, v in floors.items()
    }


def split_shared(
    costs: ir.Table,
    config: AllocationConfig | Sequence[SharedPool],
    *,
    by: str = "team",
    period: Period | None = None,
    execute: Execute | None = None,
) -> SharedCosts:
    """Split each shared pool's EffectiveCost among owners, per billing period, exactly.

    Args:
        costs: cost rows. With an :class:`AllocationConfig`, owners are derived first
            (:func:`~aifinops.allocate.ownership.owners`) and its ``shared`` pools are used;
            with a list of pools, the owner columns are read as they are.
        config: the allocation config, or the pools themselves.
        by: the owner field shares go to (``team``, ``project``, ...).
        period: billing months to include.
        execute: runs an Ibis expression and returns an Arrow table (``Engine.execute``);
            defaults to the expression's own backend.

    Raises:
        BadInputError: for an unknown ``by``.
    """
    if by not in OWNER_COLUMNS:
        raise BadInputError(
            f"unknown owner field {by!r}",
            column="--by",
            expected=f"one of {', '.join(OWNER_COLUMNS)}",
            fix="split by an owner field, e.g. --by team.",
        )
    if isinstance(config, AllocationConfig):
        pools, table = list(config.shared), owners(costs, config)
    else:
        pools, table = list(config), costs
    expr = pool_sums(in_period(table, period), pools, by=by)
    rows = (execute or _execute)(expr).to_pylist()
    return _split(rows, pools, by=by)


def pool_sums(t: ir.Table, pools: Sequence[SharedPool], *, by: str) -> ir.Table:
    """Return EffectiveCost and rows per (period, pool, owner); owner is null in pools.

    A row belongs to the first pool whose conditions hold; rows in no pool are direct cost.
    """
    owner_col = OWNER_COLUMNS[by]
    owner: ir.Value = t[owner_col] if owner_col in t.columns else ibis.null(str)
    pool: ir.Value = ibis.null(str)
    if pools:
        hits = matched_rules(t, pools)
        pool = ibis.cases(*[(hits[p.name], p.name) for p in pools], else_=ibis.null(str))
        owner = ibis.cases((pool.isnull(), owner), else_=ibis.null(str))
    keyed = t.select(
        period=t.BillingPeriodStart.strftime("%Y-%m"),
        pool=pool,
        owner=owner,
        cost=t.EffectiveCost,
        weight=t[ROWS] if is_summary(t) else ibis.literal(1, "int64"),
    )
    return keyed.group_by(["period", "pool", "owner"]).aggregate(
        cost=keyed.cost.sum(), rows=keyed.weight.sum()
    )


def _execute(expr: ir.Table) -> pa.Table:
    return expr.to_pyarrow()


def _split(rows: list[dict[str, Any]], pools: list[SharedPool], *, by: str) -> SharedCosts:
    owners_out: list[OwnerCost] = []
    pools_out: list[PoolCost] = []
    for month in sorted({r["period"] for r in rows}):
        in_month = [r for r in rows if r["period"] == month]
        direct = {r["owner"]: Decimal(r["cost"]) for r in in_month if r["pool"] is None}
        shares: dict[Owner, dict[str, Decimal]] = {o: {} for o in direct}
        for pool in pools:
            found = [r for r in in_month if r["pool"] == pool.name]
            if not found:
                continue
            amount, count = Decimal(found[0]["cost"]), int(found[0]["rows"])
            split = _split_pool(amount, pool, direct)
            pools_out.append(PoolCost(month, pool.name, pool.method, count, amount, split))
            for owner, share in split.items():
                shares.setdefault(owner, {})[pool.name] = share
        for owner in sorted(shares, key=lambda o: (o is None, o or "")):
            owners_out.append(OwnerCost(month, owner, direct.get(owner, Decimal(0)), shares[owner]))
    return SharedCosts(by, owners_out, pools_out)


def _split_pool(
    amount: Decimal, pool: SharedPool, direct: Mapping[Owner, Decimal]
) -> dict[Owner, Decimal]:
    """Return the pool's shares; with nobody to share it, the pool stays unallocated."""
    weights = recipients(pool, direct)
    if not weights:
        return {None: amount}
    return {owner: share for owner, share in split_exact(amount, weights).items()}


def recipients(pool: SharedPool, direct: Mapping[Owner, Decimal]) -> dict[str, Decimal]:
    """Return who shares ``pool`` and with which weight (empty: nobody can).

    proportional: each owner's direct cost in the period (negative counts as zero); when
    no owner has a positive direct cost, the pool falls back to an even split. even: 1 each.
    weights: the configured weights. Owners are those in ``among``, else every owner with
    direct cost rows in the period.
    """
    if pool.method == "weights":
        return dict(pool.weights or {})
    names = pool.among if pool.among is not None else sorted(o for o in direct if o is not None)
    if not names:
        return {}
    if pool.method == "proportional":
        weights = {n: max(direct.get(n, Decimal(0)), Decimal(0)) for n in names}
        if sum(weights.values()) > 0:
            return weights
    return {n: Decimal(1) for n in names}
