"""The command line: every command runs, formats agree, exit codes are 0 / 1 / 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifinops.cli import app

runner = CliRunner()
HEADER = (
    "BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,"
    "ChargePeriodEnd,ChargeCategory,ProviderName,ServiceName,BilledCost,EffectiveCost,"
    "ListCost,ContractedCost\n"
)


def _row(account: str, month: str, service: str, cost: str, provider: str = "AWS") -> str:
    nxt = {"08": "09", "09": "10"}[month]
    return (
        f"{account},USD,2026-{month}-01T00:00:00Z,2026-{nxt}-01T00:00:00Z,"
        f"2026-{month}-03T00:00:00Z,2026-{month}-03T01:00:00Z,Usage,{provider},{service},"
        f"{cost},{cost},{cost},{cost}\n"
    )


@pytest.fixture
def focus_file(tmp_path: Path) -> Path:
    path = tmp_path / "focus.csv"
    path.write_text(
        HEADER
        + _row("1", "08", "EC2", "10.5")
        + _row("1", "09", "EC2", "2.25")
        + _row("1", "09", "S3", "0.000000000001")
        + _row("2", "08", "VMs", "7", "Microsoft")
    )
    return path


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_ingest_then_sources_lists_every_partition(tmp_path: Path, focus_file: Path) -> None:
    lake = str(tmp_path / "lake")
    code, _ = _invoke("ingest", str(focus_file), "--lake", lake)
    assert code == 0
    code, output = _invoke("sources", "--lake", lake, "--format", "json")
    assert code == 0
    rows = json.loads(output)["rows"]
    assert {(r["provider"], r["billing_account"], r["billing_period"]) for r in rows} == {
        ("AWS", "1", "2026-08"),
        ("AWS", "1", "2026-09"),
        ("Microsoft", "2", "2026-08"),
    }
    assert {r["billing_period"]: r["billed_cost"] for r in rows if r["provider"] == "AWS"} == {
        "2026-08": "10.5",
        "2026-09": "2.250000000001",
    }


def test_second_ingest_of_same_file_reports_unchanged(tmp_path: Path, focus_file: Path) -> None:
    lake = str(tmp_path / "lake")
    _invoke("ingest", str(focus_file), "--lake", lake)
    code, output = _invoke("ingest", str(focus_file), "--lake", lake, "--format", "json")
    assert code == 0
    assert {r["status"] for r in json.loads(output)["rows"]} == {"unchanged"}


def test_report_spend_json_csv_and_table_agree(tmp_path: Path, focus_file: Path) -> None:
    lake = str(tmp_path / "lake")
    _invoke("ingest", str(focus_file), "--lake", lake)
    args = ("report", "spend", "--lake", lake, "--by", "provider,month")
    code, as_json = _invoke(*args, "--format", "json")
    assert code == 0
    by_json = {
        (r["provider"], r["month"]): Decimal(r["billed_cost"]) for r in json.loads(as_json)["rows"]
    }
    _, as_csv = _invoke(*args, "--format", "csv")
    by_csv = {
        (r["provider"], r["month"]): Decimal(r["billed_cost"])
        for r in csv.DictReader(io.StringIO(as_csv))
    }
    assert (
        by_json
        == by_csv
        == {
            ("AWS", "2026-08"): Decimal("10.5"),
            ("AWS", "2026-09"): Decimal("2.250000000001"),
            ("Microsoft", "2026-08"): Decimal("7"),
        }
    )
    code, table = _invoke(*args, "--period", "2026-09")
    assert code == 0 and "2.25" in table and "Microsoft" not in table


def test_export_writes_focus_columns_first(tmp_path: Path, focus_file: Path) -> None:
    lake = str(tmp_path / "lake")
    _invoke("ingest", str(focus_file), "--lake", lake)
    target = tmp_path / "out.csv"
    code, _ = _invoke("export", "--lake", lake, "--format", "csv", "--output", str(target))
    assert code == 0
    header = next(csv.reader(target.open()))
    assert header[0] == "AvailabilityZone" and header[56] == "Tags"
    assert all(c.startswith("x_") for c in header[57:])
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == 4
    assert rows[0]["ChargePeriodStart"].endswith("Z")


@pytest.mark.parametrize(
    "args",
    [
        ("report", "spend", "--by", "colour"),
        ("report", "spend", "--period", "yesterday"),
        ("report", "spend", "--format", "xml"),
        ("export", "--format", "xlsx", "--output", "x.xlsx"),
    ],
)
def test_bad_arguments_exit_2_with_a_fix(
    tmp_path: Path, focus_file: Path, args: tuple[str, ...]
) -> None:
    lake = str(tmp_path / "lake")
    _invoke("ingest", str(focus_file), "--lake", lake)
    code, output = _invoke(*args, "--lake", lake)
    assert code == 2
    assert "Expected" in output or "expected" in output


def test_bad_input_file_exits_2_and_names_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + _row("1", "08", "EC2", "1") + _row("1", "08", "EC2", "ten"))
    code, output = _invoke("ingest", str(bad), "--lake", str(tmp_path / "lake"))
    assert code == 2
    assert "row 2" in output and "BilledCost" in output and "'ten'" in output


def test_reading_a_missing_lake_exits_2(tmp_path: Path) -> None:
    code, output = _invoke("sources", "--lake", str(tmp_path / "nowhere"))
    assert code == 2 and "No lake at" in output


def test_lake_comes_from_env_when_no_flag(
    tmp_path: Path, focus_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIFINOPS_LAKE", str(tmp_path / "envlake"))
    assert _invoke("ingest", str(focus_file))[0] == 0
    assert (tmp_path / "envlake" / "costs").is_dir()


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aifinops", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    for command in ("demo", "ingest", "sources", "validate", "export", "report"):
        assert command in done.stdout


def test_validate_exits_1_on_violations(tmp_path: Path) -> None:
    bad_lake = str(tmp_path / "bad")
    bad = tmp_path / "bad.csv"
    # A Purchase must not be Usage-Based (FOCUS 1.2 ChargeFrequency rule).
    bad.write_text(
        HEADER.replace("ChargeCategory", "ChargeFrequency,ChargeCategory")
        + _row("1", "08", "EC2", "1").replace(",Usage,", ",Usage-Based,Purchase,")
    )
    assert _invoke("ingest", str(bad), "--lake", bad_lake)[0] == 0
    code, output = _invoke("validate", "--lake", bad_lake, "--format", "json")
    assert code == 1
    rules = {r["rule"] for r in json.loads(output)["rows"]}
    assert "ChargeFrequency-not-usage-based-purchase" in rules


def test_error_messages_keep_bracketed_paths_and_values(tmp_path: Path) -> None:
    folder = tmp_path / "[draft]"
    folder.mkdir()
    bad = folder / "costs.csv"
    bad.write_text(HEADER + _row("1", "08", "EC2", "[red]"))
    code, output = _invoke("ingest", str(bad), "--lake", str(tmp_path / "lake"))
    assert code == 2
    assert "[draft]/costs.csv" in output and "'[red]' is not a number" in output
