"""``aifinops enrich``: a lake enriched again equals one enriched at ingest; costs never move."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from typer.testing import CliRunner

from aifinops.cli import app
from aifinops.enrich.compiled import compile_enrichment
from aifinops.enrich.relake import enrich_lake
from aifinops.focus import lake_schema
from aifinops.ingest.pipeline import ingest
from aifinops.lake.store import Lake

ENRICHED = [n for n in lake_schema().names if n.startswith("x_") and n != "x_IngestedAt"]


def _rows(lake: Lake) -> list[dict[str, Any]]:
    files = sorted(lake.costs_dir.rglob("part-*.parquet"))
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def test_enriching_a_plain_lake_gives_what_ingest_gives(sample_csv: Path, tmp_path: Path) -> None:
    plain, direct = Lake.open(tmp_path / "plain"), Lake.open(tmp_path / "direct")
    ingest([sample_csv], plain, enrichment=None)
    ingest([sample_csv], direct)
    before = {m.key(): m for m in plain.manifests()}
    assert all(r["x_Workload"] is None for r in _rows(plain))

    done = enrich_lake(plain, compile_enrichment())

    assert {m.key() for m in done} == set(before)
    for m in done:
        old = before[m.key()]
        assert (m.row_count, m.billed_cost, m.effective_cost) == (
            old.row_count,
            old.billed_cost,
            old.effective_cost,
        )
        assert m.content_sha256 != old.content_sha256
    mine = [{c: r[c] for c in ENRICHED} for r in _rows(plain)]
    want = [{c: r[c] for c in ENRICHED} for r in _rows(direct)]
    assert sorted(map(str, mine)) == sorted(map(str, want))
    assert any(r["x_GpuModel"] == "A10G" for r in mine)


def test_enrich_command_rewrites_every_partition(sample_csv: Path, tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    ingest([sample_csv], lake, enrichment=None)
    result = CliRunner().invoke(app, ["enrich", "--lake", str(lake.root), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert sum(r["rows"] for r in body["rows"]) == sum(m.row_count for m in lake.manifests())
    assert all(r["x_WorkloadReason"] for r in _rows(lake))
    again = CliRunner().invoke(app, ["enrich", "--lake", str(lake.root), "--format", "json"])
    assert again.exit_code == 0 and json.loads(again.output) == body
