"""Lake.version(): what the dashboard's caches key on. Every commit changes it; reading,
recovering leftovers and failed writes do not."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from aifinops.errors import BadInputError
from aifinops.ingest.pipeline import ingest
from aifinops.lake import Lake
from aifinops.signals.schema import METRICS
from aifinops.signals.store import write_signal
from support.demo_build import FOLDER, small_demo


@pytest.fixture
def lake(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    base = tmp_path_factory.getbasetemp()
    small_demo(base)
    shutil.copytree(base / FOLDER / "lake", tmp_path / "lake")
    return Lake.open(tmp_path / "lake")


@pytest.fixture
def truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One month of the demo's Google Cloud FOCUS truth."""
    out = tmp_path_factory.getbasetemp() / FOLDER / "out"
    return sorted((out / "focus").glob("gcp-*.parquet"))[0]


def export(truth: Path, target: Path, *, account: str, factor: str = "1") -> Path:
    """``truth`` as a FOCUS CSV under billing account ``account``, costs times ``factor``."""
    scaled = ", ".join(f"{c} * {factor} AS {c}" for c in ("BilledCost", "EffectiveCost"))
    duckdb.execute(
        f"COPY (SELECT * REPLACE ('{account}' AS BillingAccountId, {scaled}) "
        f"FROM read_parquet('{truth}')) TO '{target}' (FORMAT csv, HEADER true)"
    )
    return target


def test_the_version_is_stable_while_nothing_changes(lake: Lake) -> None:
    first = lake.version()
    assert lake.version() == first
    assert Lake.open(lake.root).version() == first  # recovering nothing changes nothing
    (lake.costs_dir / ".staging" / "left-over").mkdir(parents=True)
    assert lake.version() == first  # a write in progress is not part of the lake


def test_every_commit_changes_the_version(lake: Lake, truth: Path, tmp_path: Path) -> None:
    seen = {lake.version()}
    ingest([export(truth, tmp_path / "a.csv", account="new-1")], lake)
    seen.add(lake.version())
    # The same partition again with other costs replaces it.
    ingest([export(truth, tmp_path / "b.csv", account="new-1", factor="2")], lake)
    seen.add(lake.version())
    row = {name: [None] for name in METRICS.names}
    row.update(timestamp=[0], metric=["requests"], value=[1.0], kind=["delta"], source=["t"])
    write_signal(lake, "metrics", "unit-test", pa.table(row, schema=METRICS))
    seen.add(lake.version())
    assert len(seen) == 4


def test_a_failed_ingest_leaves_the_version(lake: Lake, tmp_path: Path) -> None:
    before = lake.version()
    bad = tmp_path / "bad.csv"
    bad.write_text("BillingAccountId,BilledCost\nx,not-a-number\n", encoding="utf-8")
    with pytest.raises(BadInputError):
        ingest([bad], lake)
    assert lake.version() == before
