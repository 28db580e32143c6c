"""Reconciliation: each source's own total beside the lake's, per billing account and period.

For every source file the reader says how to total its own billed-cost column (for FOCUS
files that is BilledCost itself). The difference from the lake's ΣBilledCost must be fully
explained by named rules (for example AWS Savings Plan negation lines, which FOCUS forbids);
a partition with an unexplained difference is not committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from aifinops.ingest.partitions import Group
from aifinops.ingest.readers import ReadPlan
from aifinops.ingest.scan import read
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import DuckSession

_PRECISION = 80


@dataclass
class Reconciled:
    """One source file's totals for one billing account and period."""

    file: str
    billing_account: str
    billing_period: str
    source_total: Decimal
    billed_cost: Decimal
    effective_cost: Decimal
    explained: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        """Return source total − lake ΣBilledCost."""
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return self.source_total - self.billed_cost

    @property
    def unexplained(self) -> Decimal:
        """Return the part of the difference no rule explains (0 when reconciled)."""
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return self.difference - sum((amount for _rule, amount in self.explained), Decimal(0))

    @property
    def ok(self) -> bool:
        """Return True when the rules explain the whole difference."""
        return self.unexplained == 0

    def explanation(self) -> str:
        """Return the rules that explain the difference, with their amounts."""
        if self.difference == 0 and not any(amount for _rule, amount in self.explained):
            return "equal"
        parts = [f"{rule}: {amount}" for rule, amount in self.explained if amount]
        if not self.ok:
            parts.append(f"UNEXPLAINED: {self.unexplained}")
        return "; ".join(parts)


def reconcile(
    session: DuckSession,
    info: SourceInfo,
    plan: ReadPlan,
    groups: list[Group],
) -> list[Reconciled]:
    """Return the reconciliation of one source against the staged rows it produced."""
    name = str(info.path)
    lake = _lake_totals(groups, name)
    spec = plan.reconciliation
    if spec is None:
        return [
            Reconciled(name, account, period, billed, billed, effective)
            for (account, period), (billed, effective) in sorted(lake.items())
        ]
    amounts = "".join(f", {e.amount}" for e in spec.explanations)
    rows = read(
        session,
        info,
        f"SELECT {spec.account}, {spec.period}, {spec.total}{amounts} FROM {plan.scan} "
        f"GROUP BY ALL ORDER BY ALL",
    )
    found = []
    for account, period, total, *explained in rows:
        billed, effective = lake.get((str(account), str(period)), (Decimal(0), Decimal(0)))
        found.append(
            Reconciled(
                name,
                str(account),
                str(period),
                Decimal(total or 0),
                billed,
                effective,
                [
                    (e.rule, Decimal(v or 0))
                    for e, v in zip(spec.explanations, explained, strict=True)
                ],
            )
        )
    return found


def _lake_totals(groups: list[Group], file: str) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    totals: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for group in groups:
        if file not in group.file_billed:
            continue
        key = (group.account, group.key.billing_period)
        billed, effective = totals.get(key, (Decimal(0), Decimal(0)))
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            totals[key] = (
                billed + group.file_billed[file],
                effective + group.file_effective[file],
            )
    return totals
