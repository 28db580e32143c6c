"""The allocation commands as cli.py wires them: allocate --dry-run, report tags, showback."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aifinops import cli_allocate
from support.allocation_lake import build_lake, focus_row

app = typer.Typer()
report = typer.Typer()
app.command("allocate")(cli_allocate.allocate)
report.command("tags")(cli_allocate.report_tags)
report.command("showback")(cli_allocate.report_showback)
app.add_typer(report, name="report")
runner = CliRunner()

CONFIG = """\
lake: /nowhere
allocation:
  rules:
    - name: sandbox
      match: {"tag:Name": {prefix: sandbox-}}
      set: {team: research}
  shared:
    - name: support
      match: {ServiceName: {equals: AWS Support}}
"""


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_lake(
        tmp_path_factory.mktemp("cli"),
        [
            focus_row("75", tags={"Team": "llm"}, ResourceId="i-1"),
            focus_row("25", tags={"Name": "sandbox-7"}, ResourceId="i-2"),
            focus_row("8", ServiceName="AWS Support"),
            focus_row("2", ResourceId="i-3", month="2026-09"),
        ],
    )
    return built.root


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("AIFINOPS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "alloc.yaml"
    path.write_text(CONFIG)
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_dry_run_json_names_the_rule_per_row_and_summarises(lake: Path, config: Path) -> None:
    code, out = invoke("allocate", "--dry-run", "--lake", str(lake), "--config", str(config),
                       "--format", "json")  # fmt: skip
    assert code == 0, out
    body = json.loads(out)
    assert [(r["resource"], r["rule"], r["team"]) for r in body["rows"]] == [
        ("i-1", "tag:team", "llm"),
        ("i-2", "rule:sandbox", "research"),
        (None, None, None),
        ("i-3", None, None),
    ]
    assert body["summary"] == [
        {"rule": "rule:sandbox", "rows": 1, "effective_cost": "25"},
        {"rule": "tag:team", "rows": 1, "effective_cost": "75"},
        {"rule": "(unallocated)", "rows": 2, "effective_cost": "10"},
    ]


def test_dry_run_table_limit_period_and_rule_filter(lake: Path, config: Path) -> None:
    code, out = invoke("allocate", "--dry-run", "--lake", str(lake), "--config", str(config),
                       "--period", "2026-08", "--limit", "1")  # fmt: skip
    assert code == 0, out
    assert "i-1" in out and "i-2" not in out and "rule:sandbox" in out  # summary lists it
    code, out = invoke("allocate", "--dry-run", "--lake", str(lake), "--config", str(config),
                       "--rule", "rule:sandbox", "--format", "csv")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["resource"], r["team"]) for r in rows] == [("i-2", "research")]


def test_allocate_without_dry_run_exits_2_and_says_what_to_do(lake: Path, config: Path) -> None:
    code, out = invoke("allocate", "--lake", str(lake), "--config", str(config))
    assert code == 2 and "--dry-run" in out


def test_bad_config_exits_2_naming_file_and_line(lake: Path, tmp_path: Path, config: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("allocation:\n  rules:\n    - name: x\n      match: {Colour: {equals: red}}\n"
                   "      set: {team: t}\n")  # fmt: skip
    code, out = invoke("allocate", "--dry-run", "--lake", str(lake), "--config", str(bad))
    assert code == 2 and f"{bad}:4" in out.replace("\n", "") and "Colour" in out


def test_report_tags_json_has_coverage_and_untagged(lake: Path, config: Path) -> None:
    code, out = invoke("report", "tags", "--lake", str(lake), "--config", str(config),
                       "--format", "json", "--by", "provider,account")  # fmt: skip
    assert code == 0, out
    body = json.loads(out)
    assert body["rows"] == [
        {"provider": "AWS", "account": "111111111111", "rows": 4, "allocatable_rows": 2,
         "effective_cost": "110", "allocatable_cost": "100", "unallocated_cost": "10",
         "cost_share": 100 / 110, "row_share": 0.5},
    ]  # fmt: skip
    assert [(u["service"], u["effective_cost"]) for u in body["untagged"]] == [
        ("AWS Support", "8"),
        ("Amazon EC2", "2"),
    ]


def test_report_tags_table_csv_and_stored(lake: Path, config: Path) -> None:
    code, out = invoke("report", "tags", "--lake", str(lake), "--config", str(config))
    assert code == 0 and "90.9 %" in out and "Biggest untagged spenders" in out
    code, out = invoke("report", "tags", "--lake", str(lake), "--config", str(config),
                       "--stored", "--format", "csv", "--limit", "0")  # fmt: skip
    # Stored owners: the ingest's default aliases gave x_Team to the Team-tagged row only.
    assert list(csv.DictReader(io.StringIO(out)))[0]["allocatable_cost"] == "75"
    code, out = invoke("report", "tags", "--lake", str(lake), "--required", "colour")
    assert code == 2 and "colour" in out


def test_report_showback_conserves_the_period(lake: Path, config: Path) -> None:
    code, out = invoke("report", "showback", "--lake", str(lake), "--config", str(config),
                       "--format", "json", "--period", "2026-08")  # fmt: skip
    assert code == 0, out
    body = json.loads(out)
    by_team = {r["team"]: r for r in body["rows"]}
    assert by_team["llm"]["shared:support"] == "6"
    assert by_team["research"]["shared:support"] == "2"
    assert sum(Decimal(r["total_cost"]) for r in body["rows"]) == Decimal(108)
    assert body["pools"] == [
        {"period": "2026-08", "pool": "support", "method": "proportional", "rows": 1,
         "amount": "8", "recipients": 2}
    ]  # fmt: skip
    code, out = invoke("report", "showback", "--lake", str(lake), "--config", str(config))
    assert code == 0 and "Shared-cost pools" in out
