"""Reconciliation: each source's own total beside the lake's, per billing account and period.

For every source file the reader says how to total its own billed-cost column (for FOCUS
files that is BilledCost itself). The difference from the lake's ΣBilledCost must be fully
explained by named rules (for example AWS Savings Plan negation lines, which FOCUS forbids);
a partition with an unexplained difference is not committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from aifinops.errors import BadInputError
from aifinops.ingest.partitions import Group
from aifinops.ingest.readers import GroupCheck, ReadPlan, Reconciliation
from aifinops.ingest.scan import read
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import DuckSession, quote_literal

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


#: A source's own totals: (account, period) -> (total, amounts explained by each rule).
SourceTotals = dict[tuple[str, str], tuple[Decimal, tuple[Decimal, ...]]]


def source_totals(session: DuckSession, info: SourceInfo, plan: ReadPlan) -> SourceTotals | None:
    """Return the source's own totals per billing account and period (None: not needed).

    Runs on its own scan of the raw file, so it may run beside the staging write.

    Raises:
        BadInputError: when an account and period fails one of the reader's group checks.
    """
    spec = plan.reconciliation
    if spec is None:
        return None
    scan = spec.scan or plan.scan
    amounts = "".join(f", {e.amount}" for e in spec.explanations)
    flags = "".join(f", {g.bad}" for g in spec.group_checks)
    rows = read(
        session,
        info,
        f"SELECT {spec.account}, {spec.period}, {spec.total}{amounts}{flags} FROM {scan} "
        f"GROUP BY ALL ORDER BY ALL",
    )
    totals: SourceTotals = {}
    for account, period, total, *rest in rows:
        explained, failed = rest[: len(spec.explanations)], rest[len(spec.explanations) :]
        for check, bad in zip(spec.group_checks, failed, strict=True):
            if bad:
                _raise_group(session, info, spec, scan, check, (account, period))
        totals[(str(account), str(period))] = (
            Decimal(total or 0),
            tuple(Decimal(v or 0) for v in explained),
        )
    return totals


def _raise_group(
    session: DuckSession,
    info: SourceInfo,
    spec: Reconciliation,
    scan: str,
    check: GroupCheck,
    group: tuple[Any, Any],
) -> None:
    """Raise for ``group``, showing one of its rows (the same scan the check ran on)."""
    found = read(
        session,
        info,
        f"SELECT CAST({check.shown} AS VARCHAR) FROM {scan} "
        f"WHERE {spec.account} = {quote_literal(str(group[0]))} "
        f"AND {spec.period} = {quote_literal(str(group[1]))} LIMIT 1",
    )
    raise BadInputError(
        check.message.format(value=found[0][0] if found else f"{group[0]} {group[1]}"),
        file=str(info.path),
        column=check.column,
        expected=check.expected,
        fix=check.fix,
    )


def reconcile(
    info: SourceInfo,
    plan: ReadPlan,
    totals: SourceTotals | None,
    groups: list[Group],
) -> list[Reconciled]:
    """Return the reconciliation of one source's own ``totals`` against its staged rows."""
    name = str(info.path)
    lake = _lake_totals(groups, name)
    if plan.reconciliation is None or totals is None:
        return [
            Reconciled(name, account, period, billed, billed, effective)
            for (account, period), (billed, effective) in sorted(lake.items())
        ]
    rules = [e.rule for e in plan.reconciliation.explanations]
    found = []
    for (account, period), (total, explained) in sorted(totals.items()):
        billed, effective = lake.get((account, period), (Decimal(0), Decimal(0)))
        found.append(
            Reconciled(
                name,
                account,
                period,
                total,
                billed,
                effective,
                list(zip(rules, explained, strict=True)),
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
