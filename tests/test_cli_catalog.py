"""``aifinops catalog gpus`` and ``catalog show``: rows, filters, formats and exit codes."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aifinops.catalog.load import COLUMNS
from aifinops.cli_catalog import catalog_app
from aifinops.settings import Settings

app = typer.Typer()
app.add_typer(catalog_app, name="catalog")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's config and refreshed catalog out of the test."""
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    monkeypatch.setenv("AIFINOPS_CONFIG", str(config))
    monkeypatch.setenv("AIFINOPS_CATALOG", str(tmp_path / "no-refreshed-catalog"))


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["catalog", *args])
    return result.exit_code, result.output


def _json_rows(*args: str) -> list[dict[str, str | None]]:
    code, output = _run(*args, "--format", "json")
    assert code == 0, output
    rows: list[dict[str, str | None]] = json.loads(output)["rows"]
    return rows


def test_gpus_lists_offers_per_instance_type_and_region() -> None:
    rows = _json_rows("gpus", "--gpu", "H100", "--cloud", "aws", "--region", "us-east-1")
    by_type = {r["instance_type"]: r for r in rows}
    assert set(by_type) == {"p5.48xlarge", "p5.4xlarge"}
    p5 = by_type["p5.48xlarge"]
    assert (p5["accelerator"], p5["count"], p5["memory_gib"]) == ("H100-80GB-SXM", "8", "80")
    assert (p5["ondemand"], p5["ondemand_instance"]) == ("6.88", "55.04")
    assert (p5["spot"], p5["spot_instance"]) == ("2.2036125", "17.6289")
    assert p5["commit_1y"] is None and by_type["p5.4xlarge"]["spot"] is None


def test_gpus_accepts_aliases_and_shows_gcp_gpu_skus_and_commitments() -> None:
    rows = _json_rows("gpus", "--gpu", "nvidia-l4", "--cloud", "gcp", "--region", "us-central1")
    by_type = {r["instance_type"]: r for r in rows}
    assert (by_type["gpu:L4"]["ondemand"], by_type["gpu:L4"]["spot"]) == ("0.56004", "0.2231")
    g2 = by_type["g2-standard-48"]
    assert (g2["count"], g2["ondemand_instance"]) == ("4", "4.001665148")
    assert Decimal(g2["commit_3y"] or "0") * 4 == Decimal(g2["commit_3y_instance"] or "")
    assert rows[0]["instance_type"] == "gpu:L4"  # cheapest on-demand per accelerator first


def test_gpus_summary_has_one_row_per_model_with_the_cheapest_prices() -> None:
    code, output = _run("gpus", "--format", "csv")
    assert code == 0, output
    rows = {r["accelerator"]: r for r in csv.DictReader(io.StringIO(output))}
    assert {"H100-80GB-SXM", "TPU-v5e", "Inferentia2", "M60"} <= set(rows)
    t4 = rows["T4"]
    assert (t4["cheapest_ondemand"], t4["ondemand_where"]) == ("0.35", "gcp asia-east1 gpu:T4")
    assert t4["spot_where"].startswith("azure ")
    assert (
        rows["H100-80GB-PCIe"]["offers"] == "0"
        and rows["H100-80GB-PCIe"]["cheapest_ondemand"] == ""
    )


def test_gpus_summary_respects_the_cloud_filter() -> None:
    rows = _json_rows("gpus", "--cloud", "azure")
    models = {r["accelerator"] for r in rows}
    assert {"MI25", "A10", "H100-94GB-NVL", "K80"} <= models
    assert not models & {"TPU-v5e", "A10G", "Trainium1"}
    assert all(str(r["ondemand_where"]).startswith("azure ") for r in rows)


def test_gpus_table_output() -> None:
    code, output = _run("gpus", "--gpu", "A10G", "--region", "us-east-1")
    assert code == 0, output
    assert "g5.xlarge" in output and "1.01" in output and "ondemand_instance" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("gpus", "--gpu", "Z80"), "unknown accelerator 'Z80'"),
        (("gpus", "--cloud", "oracle"), "unknown cloud 'oracle'"),
        (("gpus", "--format", "xml"), "unknown output format 'xml'"),
        (("show", "--format", "yaml"), "unknown output format 'yaml'"),
    ],
)
def test_bad_options_exit_2_with_the_fix(args: tuple[str, ...], message: str) -> None:
    code, output = _run(*args)
    assert code == 2
    assert message in output and "To fix:" in output


def test_show_reports_version_tables_and_price_dates() -> None:
    code, output = _run("show", "--format", "json")
    assert code == 0, output
    body = json.loads(output)
    rows = {str(r["table"]).strip(): r for r in body["rows"]}
    assert (
        body["version"]
        == (Path(__file__).resolve().parents[1] / "src/aifinops/catalog/data/VERSION")
        .read_text()
        .strip()
    )
    assert int(rows["instance_types.csv"]["rows"]) > 200
    assert rows["prices gcp"]["as_of"] == "2026-07-30..2026-08-22"
    assert rows["prices aws"]["as_of"] == "2026-07-20..2026-08-22"
    assert rows["grid.csv"]["loaded_from"] == "package"


def test_a_refreshed_catalog_directory_is_used(tmp_path: Path) -> None:
    refreshed = tmp_path / "refreshed"
    refreshed.mkdir()
    (refreshed / "prices.csv").write_text(
        ",".join(COLUMNS["prices.csv"]) + "\n"
        "aws,us-east-1,p5.48xlarge,H100-80GB-SXM,8,ondemand,40,recorded,2026-11-27\n"
    )
    rows = _json_rows("gpus", "--gpu", "H100", "--catalog", str(refreshed))
    assert [(r["instance_type"], r["ondemand"]) for r in rows] == [("p5.48xlarge", "5")]
    shown = {str(r["table"]).strip(): r for r in _json_rows("show", "--catalog", str(refreshed))}
    assert shown["prices.csv"]["loaded_from"] == str(refreshed / "prices.csv")
    assert shown["prices aws"]["as_of"] == "2026-11-27"


def test_config_price_overrides_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "price_overrides" not in Settings.model_fields:
        pytest.skip("Settings has no price_overrides field yet")
    config = tmp_path / "overrides.yaml"
    config.write_text(
        "price_overrides:\n  - {cloud: aws, instance_type: p5.48xlarge, usd_per_hour: '44'}\n"
    )
    monkeypatch.setenv("AIFINOPS_CONFIG", str(config))
    rows = _json_rows("gpus", "--gpu", "H100", "--cloud", "aws", "--region", "eu-west-2")
    p5 = next(r for r in rows if r["instance_type"] == "p5.48xlarge")
    assert p5["ondemand_instance"] == "44" and p5["ondemand"] == "5.5"
