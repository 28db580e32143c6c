"""Splitting a staged file by partition: the bucketed path (large files) writes what the one
partitioned write does — the same rows per partition, with the same schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aifinops.ingest.pipeline import ingest
from aifinops.lake import Lake, connect
from aifinops.lake import write as lake_write
from aifinops.lake.duck import DuckSession
from support.demo_build import FOLDER, small_demo


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every demo lake file in one lake-schema file (many partitions), rows shuffled so that
    partitions interleave."""
    base = tmp_path_factory.getbasetemp()
    small_demo(base)
    files = sorted((base / FOLDER / "lake" / "costs").rglob("part-*.parquet"))
    table = pa.concat_tables((pq.read_table(f) for f in files), promote_options="permissive")
    order = [(i * 7919) % table.num_rows for i in range(table.num_rows)]  # 7919 is prime
    assert len(set(order)) == table.num_rows
    target = tmp_path_factory.mktemp("staged") / "staged.parquet"
    pq.write_table(table.take(order), target)
    return target


def split_with(
    staged: Path, work: Path, bucket_above: int, bucket_rows: int | None = None
) -> dict[str, pa.Table]:
    copy = work / "staged.parquet"
    work.mkdir()
    shutil.copy(staged, copy)
    with DuckSession(memory_limit="700MB") as db:
        found = lake_write.split(
            db, copy, work / "split", bucket_above=bucket_above, bucket_rows=bucket_rows
        )
    assert not copy.exists()
    return {key: pa.concat_tables(pq.read_table(f) for f in files) for key, files in found.items()}


@pytest.mark.parametrize("bucket_rows", [100, 1000], ids=["many-buckets", "few-buckets"])
def test_the_bucketed_split_writes_what_the_partitioned_write_does(
    staged: Path, tmp_path: Path, bucket_rows: int
) -> None:
    plain = split_with(staged, tmp_path / "plain", bucket_above=10**9)
    bucketed = split_with(staged, tmp_path / "bucketed", bucket_above=0, bucket_rows=bucket_rows)
    source = pq.read_table(staged)
    assert len(plain) > 3
    assert sorted(plain) == sorted(bucketed)
    for key, table in plain.items():
        mine = bucketed[key]
        assert mine.schema == table.schema, key
        assert sorted(map(repr, mine.to_pylist())) == sorted(map(repr, table.to_pylist())), key
        # Every row of the partition, and only those.
        expected = _rows_of_partition(source, mine).cast(mine.schema)
        assert sorted(map(repr, mine.to_pylist())) == sorted(map(repr, expected.to_pylist()))
    assert sum(t.num_rows for t in bucketed.values()) == source.num_rows


def _rows_of_partition(source: pa.Table, partition: pa.Table) -> pa.Table:
    """The rows of ``source`` in the partition (provider, account, month) of ``partition``."""
    first = partition.slice(0, 1).to_pylist()[0]
    month = first["BillingPeriodStart"].strftime("%Y-%m")
    keep = pc.and_(
        pc.equal(source["ProviderName"], first["ProviderName"]),
        pc.equal(source["BillingAccountId"], first["BillingAccountId"]),
    )
    keep = pc.and_(keep, pc.equal(pc.strftime(source["BillingPeriodStart"], "%Y-%m"), month))
    return source.filter(keep)


def test_an_ingest_through_the_bucketed_split_gives_the_same_lake(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FOCUS file spanning several partitions, ingested with each split path (the
    bucketed one with 100-row buckets)."""
    import duckdb

    out = tmp_path_factory.getbasetemp() / FOLDER / "out" / "focus"
    truth = sorted(out.glob("*.parquet"))
    export = tmp_path / "all.csv"
    names = ", ".join(f"'{p}'" for p in truth)
    duckdb.execute(
        f"COPY (SELECT * FROM read_parquet([{names}], union_by_name=true)) TO '{export}' "
        "(FORMAT csv, HEADER true)"
    )
    sums = []
    for name, limit in (("plain", 10**9), ("bucketed", 0)):
        monkeypatch.setattr(lake_write, "BUCKET_ABOVE_ROWS", limit)
        monkeypatch.setattr(lake_write, "BUCKET_ROWS", 100)
        lake = Lake.open(tmp_path / name)
        report = ingest([export], lake)
        engine = connect(lake)
        t = engine.costs()
        by = t.group_by("ProviderName", "BillingAccountId", "BillingPeriodStart").aggregate(
            rows=t.count(), billed=t.BilledCost.sum(), effective=t.EffectiveCost.sum()
        )
        sums.append(
            (
                sorted(engine.execute(by).to_pylist(), key=str),
                [(m.key(), m.row_count) for m in lake.manifests()],
                sorted((p.key, p.rows, p.status) for p in report.partitions),
            )
        )
        engine.close()
    assert sums[0] == sums[1]
    assert len(sums[0][1]) > 3
