"""The report commands (gpu, workloads, carbon) as cli.py registers them, in every format;
and all three on a small demo lake, where the GPU report must match the lake's own sums."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from aifinops.analyze import spend
from aifinops.analyze.gpu import GPU_COLUMNS
from aifinops.cli_report_output import show, to_markdown
from aifinops.cli_reports import report_carbon, report_gpu, report_workloads
from aifinops.lake import Lake, connect
from support.demo_build import small_demo_lake
from test_analyze_gpu import ROWS, ingest_rows

app = typer.Typer()
app.command("gpu")(report_gpu)
app.command("workloads")(report_workloads)
app.command("carbon")(report_carbon)
runner = CliRunner()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingest_rows(tmp_path_factory.mktemp("cli_reports"), ROWS).root


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIFINOPS_CONFIG", "AIFINOPS_LAKE", "AIFINOPS_ENGINE", "AIFINOPS_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_gpu_json_carries_exact_rates_catalog_columns_and_notes(lake: Path) -> None:
    code, out = invoke("gpu", "--lake", str(lake), "--format", "json")
    assert code == 0, out
    body = json.loads(out)
    h100 = next(r for r in body["rows"] if r["gpu_model"] == "H100-80GB-SXM" and not r["is_spot"])
    assert (h100["accelerator_hours"], h100["effective_rate"]) == ("100", "5.376")
    assert h100["region_ondemand_type"] == "p5.48xlarge"
    assert list(h100) == list(GPU_COLUMNS)
    assert "accelerator-only" in body["notes"][0]
    assert {c["term"] for c in body["cheapest"]} == {"ondemand", "spot"}


def test_gpu_csv_has_every_column_and_exact_decimals(lake: Path) -> None:
    code, out = invoke("gpu", "--lake", str(lake), "--format", "csv")
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == GPU_COLUMNS
    assert len(rows) == 8
    spot = next(r for r in rows if r["gpu_model"] == "H100-80GB-SXM" and r["is_spot"] == "True")
    assert Decimal(spot["effective_rate"]) == Decimal("2.2036125")


def test_gpu_table_shows_usage_catalog_and_cheapest_tables(lake: Path) -> None:
    code, out = invoke("gpu", "--lake", str(lake), "--limit", "2")
    assert code == 0, out
    for title in ("Accelerator usage", "Against the catalog", "Cheapest catalog offers"):
        assert title in out
    assert "5.38" in out and "537.60" in out  # the H100 row: 537.60 USD at 5.376 $/GPU-h
    assert "A100-80GB" not in out  # --limit 2: neither its row nor its cheapest offers
    assert "price_basis" in out


def test_gpu_markdown_is_a_table_with_numbers_right_aligned(lake: Path) -> None:
    code, out = invoke("gpu", "--lake", str(lake), "--format", "markdown", "--period", "2026-09")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "**Accelerator usage (2026-09)**"
    header = lines[2]
    assert header.startswith("| model | cloud | region | pricing | spot | acc_hours |")
    assert lines[3].startswith("|---|---|---|---|---|---:|")
    assert "| A10G | aws | us-east-1 | Standard | no | 10.00 | 12.12 | 1.21 |" in out
    assert "price_basis:" in out


def test_price_overrides_from_the_config_file_apply(lake: Path, tmp_path: Path) -> None:
    (tmp_path / "aifinops.yaml").write_text(
        "price_overrides:\n"
        "  - {cloud: aws, instance_type: g5.2xlarge, term: ondemand, usd_per_hour: '0.5'}\n"
    )
    code, out = invoke("gpu", "--lake", str(lake), "--format", "json")
    assert code == 0, out
    mexico = next(r for r in json.loads(out)["rows"] if r["region"] == "mx-central-1")
    assert (mexico["region_ondemand"], mexico["cheapest_ondemand"]) == ("0.5", "0.5")


def test_workloads_json_has_shares_stages_and_total(lake: Path) -> None:
    code, out = invoke("workloads", "--lake", str(lake), "--by", "team", "--format", "json")
    assert code == 0, out
    body = json.loads(out)
    assert body["by"] == ["team"]
    total = sum(Decimal(r["EffectiveCost"]) for r in ROWS)
    assert Decimal(body["total_effective_cost"]) == total
    llm = next(r for r in body["rows"] if r["team"] == "llm")
    assert Decimal(llm["effective_cost"]) == Decimal("537.6")
    assert {s["lifecycle_stage"] for s in body["stages"]} >= {"retraining", "inference"}


def test_workloads_table_and_markdown_show_both_tables(lake: Path) -> None:
    for fmt in ("table", "markdown"):
        code, out = invoke("workloads", "--lake", str(lake), "--format", fmt)
        assert code == 0, out
        assert "Workloads by workload, team, model" in out and "Lifecycle stages" in out
        assert "Total effective cost: 768.86 USD." in out


def test_workloads_refuses_a_dimension_it_does_not_offer(lake: Path) -> None:
    code, out = invoke("workloads", "--lake", str(lake), "--by", "workload,sku")
    assert code == 2
    assert "sku" in out and "lifecycle_stage" in out


def test_carbon_markdown_lists_regions_without_grid_factor(lake: Path) -> None:
    code, out = invoke("carbon", "--lake", str(lake), "--by", "region", "--format", "markdown")
    assert code == 0, out
    assert "| region | kwh | kg_co2e | effective_cost | g_per_usd |" in out
    assert "**Energy without a grid factor**" in out
    assert "| AWS | mx-central-1 | 1 |" in out
    assert "1 row(s) have energy but no emissions" in out


def test_carbon_csv_and_json(lake: Path) -> None:
    code, out = invoke("carbon", "--lake", str(lake), "--by", "team", "--format", "csv")
    assert code == 0, out
    assert out.splitlines()[0].startswith("team,energy_kwh,carbon_kg_co2e,effective_cost,")
    code, out = invoke("carbon", "--lake", str(lake), "--format", "json")
    body = json.loads(out)
    assert body["rows_without_carbon"] == 1 and body["missing_grid"][0]["region"] == "mx-central-1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("gpu", "--format", "xml"), "markdown"),
        (("carbon", "--period", "last week"), "YYYY-MM"),
        (("workloads", "--by", "region"), "workload"),
    ],
)
def test_bad_input_exits_2_saying_what_is_expected(
    lake: Path, args: tuple[str, ...], message: str
) -> None:
    code, out = invoke(*args, "--lake", str(lake))
    assert code == 2
    assert message in out


def test_a_lake_without_enrichment_hints_at_aifinops_enrich(tmp_path: Path) -> None:
    empty = Lake.open(tmp_path / "bare")
    code, out = invoke("gpu", "--lake", str(empty.root))
    assert code == 0
    assert "aifinops enrich" in out


def test_spend_rows_render_as_markdown(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = connect(Lake.open(lake, create=False))
    rows = engine.execute(spend(engine.costs(), by=["provider"])).to_pylist()
    show(rows, ["provider", "billed_cost", "rows"], "markdown", title="Spend by provider")
    out = capsys.readouterr().out
    assert out.startswith(
        "**Spend by provider**\n\n| provider | billed_cost | rows |\n|---|---:|---:|"
    )
    assert "| AWS | 697.94 | 7 |" in out


def test_markdown_escapes_cell_borders() -> None:
    text = to_markdown([{"a": "x|y", "b": None, "c": True}], ["a", "b", "c"])
    assert text.splitlines()[2] == "| x\\|y | — | yes |"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The small demo lake (seed 7, scale 0.05) the web tests share; the reports only read it."""
    return small_demo_lake(tmp_path_factory.getbasetemp())


def test_demo_gpu_hours_per_model_equal_the_lake(demo: Lake) -> None:
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for path in demo.data_files():
        for row in pq.read_table(path, columns=["x_GpuModel", "x_AcceleratorHours"]).to_pylist():
            if row["x_GpuModel"] and row["x_AcceleratorHours"] is not None:
                expected[row["x_GpuModel"]] += row["x_AcceleratorHours"]
    code, out = invoke("gpu", "--lake", str(demo.root), "--format", "json")
    assert code == 0, out
    found: dict[str, Decimal] = defaultdict(Decimal)
    for row in json.loads(out)["rows"]:
        found[row["gpu_model"]] += Decimal(row["accelerator_hours"])
    assert expected and found == expected


def test_demo_workloads_and_carbon_run_and_conserve(demo: Lake) -> None:
    stored = [r for p in demo.data_files() for r in pq.read_table(p).to_pylist()]
    code, out = invoke("workloads", "--lake", str(demo.root), "--format", "json")
    assert code == 0, out
    assert Decimal(json.loads(out)["total_effective_cost"]) == sum(
        r["EffectiveCost"] for r in stored
    )
    code, out = invoke("carbon", "--lake", str(demo.root), "--format", "json")
    assert code == 0, out
    energy = sum(r["x_EnergyKwh"] for r in stored if r["x_EnergyKwh"] is not None)
    assert Decimal(json.loads(out)["energy_kwh"]) == energy > 0
    for fmt in ("table", "markdown"):
        for command in ("gpu", "workloads", "carbon"):
            code, out = invoke(command, "--lake", str(demo.root), "--format", fmt)
            assert code == 0, out
