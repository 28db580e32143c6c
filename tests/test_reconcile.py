"""Reconciliation: source totals beside the lake's, explained differences, refused partitions.

Uses a small real reader (a "ledger" CSV format) registered for the test, so the pipeline's
reconciliation runs exactly as it does for the provider readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.focus import lake_schema
from aifinops.ingest.pipeline import ingest
from aifinops.ingest.readers import READERS, Explanation, ReadPlan, Reconciliation
from aifinops.ingest.scan import scan_sql
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake import Lake

_VALUES = {
    "ProviderName": "'Ledger'",
    "PublisherName": "'Ledger'",
    "InvoiceIssuerName": "'Ledger'",
    "BillingAccountId": "account",
    "BillingCurrency": "'USD'",
    "BillingPeriodStart": "CAST(month || '-01' AS TIMESTAMPTZ)",
    "BillingPeriodEnd": "CAST(month || '-01' AS TIMESTAMPTZ) + INTERVAL 1 MONTH",
    "ChargePeriodStart": "CAST(month || '-01' AS TIMESTAMPTZ)",
    "ChargePeriodEnd": "CAST(month || '-02' AS TIMESTAMPTZ)",
    "ChargeCategory": "'Usage'",
    "BilledCost": "CAST(amount AS DECIMAL(38,18))",
    "EffectiveCost": "CAST(amount AS DECIMAL(38,18))",
    "ListCost": "CAST(amount AS DECIMAL(38,18))",
    "ContractedCost": "CAST(amount AS DECIMAL(38,18))",
    "x_SourceFormat": "'ledger-csv'",
}


class LedgerReader:
    """A toy export: account, month, amount, kind; 'negation' lines are dropped."""

    name = "ledger"
    description = "test ledger CSV (account, month, amount, kind)"
    provides = frozenset({"BilledCost", "BillingAccountId"})

    def __init__(self, *, explain: bool) -> None:
        self.explain = explain

    def detect(self, info: SourceInfo) -> bool:
        return info.columns == ("account", "month", "amount", "kind")

    def plan(
        self, info: SourceInfo, *, fallbacks: Mapping[str, str], run_files: Sequence[SourceInfo]
    ) -> ReadPlan:
        del fallbacks, run_files
        source = f"'{info.path}'"
        values = {**_VALUES, "x_SourceFile": source}
        select = ", ".join(
            f'CAST({values.get(f.name, "NULL")} AS {_sql(str(f.type))}) AS "{f.name}"'
            for f in lake_schema()
        )
        negations = "sum(CASE WHEN kind = 'negation' THEN CAST(amount AS DECIMAL(38,18)) END)"
        rules = (Explanation("negation lines dropped", negations),) if self.explain else ()
        return ReadPlan(
            format_name="ledger-csv",
            version="1",
            scan=scan_sql(info),
            select=select,
            checks=[],
            where="kind <> 'negation'",
            reconciliation=Reconciliation(
                account="account",
                period="month",
                total="sum(CAST(amount AS DECIMAL(38,18)))",
                explanations=rules,
            ),
        )


def _sql(arrow_type: str) -> str:
    if arrow_type.startswith("decimal"):
        return "DECIMAL(38,18)"
    if arrow_type.startswith("timestamp"):
        return "TIMESTAMPTZ"
    return {"bool": "BOOLEAN"}.get(arrow_type, "VARCHAR")


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.csv"
    path.write_text(
        "account,month,amount,kind\n"
        "A,2026-08,10.25,usage\n"
        "A,2026-08,-3.00,negation\n"
        "A,2026-09,5,usage\n"
        "B,2026-08,7.5,usage\n"
    )
    return path


def test_explained_difference_reconciles_and_commits(
    ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(READERS, "ledger", LedgerReader(explain=True))
    report = ingest([ledger], Lake.open(tmp_path / "lake"), forced_format="ledger")
    rows = {(r.billing_account, r.billing_period): r for r in report.reconciliation}
    dropped = rows[("A", "2026-08")]
    assert dropped.source_total == Decimal("7.25")
    assert dropped.billed_cost == Decimal("10.25")
    assert dropped.difference == Decimal("-3")
    assert dropped.explained == [("negation lines dropped", Decimal("-3"))]
    assert dropped.ok and "negation lines dropped: -3" in dropped.explanation()
    assert rows[("B", "2026-08")].explanation() == "equal"
    assert {p.status for p in report.partitions} == {"written"}


def test_unexplained_difference_is_not_committed(
    ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(READERS, "ledger", LedgerReader(explain=False))
    lake = Lake.open(tmp_path / "lake")
    report = ingest([ledger], lake, forced_format="ledger")
    status = {(p.billing_account_id, p.key.billing_period): p.status for p in report.partitions}
    assert status == {
        ("A", "2026-08"): "unreconciled",
        ("A", "2026-09"): "written",
        ("B", "2026-08"): "written",
    }
    assert {(m.billing_account_id, m.billing_period) for m in lake.manifests()} == {
        ("A", "2026-09"),
        ("B", "2026-08"),
    }
    bad = next(r for r in report.reconciliation if not r.ok)
    assert bad.unexplained == Decimal("-3") and "UNEXPLAINED: -3" in bad.explanation()


def test_cli_prints_reconciliation_and_exits_1_when_refused(
    ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from aifinops.cli import app

    monkeypatch.setitem(READERS, "ledger", LedgerReader(explain=False))
    args = ["ingest", str(ledger), "--lake", str(tmp_path / "lake"), "--source-format", "ledger"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "Reconciliation" in result.output and "UNEXPLAINED" in result.output
    assert "not committed" in result.output
