"""The signal tables' store: one partition per source, written atomically, no-op when the
same rows come again; Engine.signals reads them on DuckDB and PySpark alike.

The failure tests make a real write fail at a chosen step (the disk "fills up" while the
manifest is written; the rename that puts the new partition in place fails after the old
one was moved aside), then check that the stored partition is the old one, byte for byte,
once the lake is opened again (which recovers).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from aifinops.errors import LakeError
from aifinops.lake import Lake, connect
from aifinops.lake import store as lake_store
from aifinops.signals import store
from aifinops.signals.schema import METRICS, SCHEMAS, TELEMETRY
from aifinops.signals.store import signal_files, signal_manifests, write_signal

T0 = datetime(2026, 8, 1, tzinfo=UTC)


def metrics(values: list[float], *, metric: str = "requests", source: str = "a.csv") -> pa.Table:
    """Return METRICS rows, one per value, an hour apart from T0."""
    n = len(values)
    return pa.table(
        {
            "timestamp": [T0 + timedelta(hours=i) for i in range(n)],
            "metric": [metric] * n,
            "value": [float(v) for v in values],
            "kind": ["delta"] * n,
            "resource_id": ["i-0abc"] * n,
            "host": [None] * n,
            "run_id": [None] * n,
            "model": ["ranker"] * n,
            "team": ["ml"] * n,
            "project": [None] * n,
            "labels": ["{}"] * n,
            "source": [source] * n,
        },
        schema=METRICS,
    )


def snapshot(directory: Path) -> dict[str, str]:
    """Return each file below ``directory`` with the sha256 of its bytes."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_write_stores_the_rows_and_a_manifest(tmp_lake: Lake, tmp_path: Path) -> None:
    source_file = tmp_path / "usage.csv"
    source_file.write_text("timestamp,metric,value\n")
    data = metrics([3, 1, 2])
    manifest = write_signal(tmp_lake, "metrics", "usage.csv", data, files=[source_file])

    part = tmp_lake.root / "metrics" / "source=usage.csv"
    assert signal_files(tmp_lake, "metrics") == [part / "part-0.parquet"]
    assert sorted(p.name for p in part.iterdir()) == ["manifest.json", "part-0.parquet"]
    stored = json.loads((part / "manifest.json").read_text())
    assert stored["table"] == "metrics" and stored["source"] == "usage.csv"
    assert stored["rows"] == 3 and not manifest.unchanged
    assert stored["min_timestamp"] == "2026-08-01T00:00:00+00:00"
    assert stored["max_timestamp"] == "2026-08-01T02:00:00+00:00"
    digest = hashlib.sha256(source_file.read_bytes()).hexdigest()
    assert stored["files"] == [{"path": str(source_file.resolve()), "sha256": digest}]
    assert stored["tool_version"] and stored["written_at"].endswith("+00:00")
    assert signal_manifests(tmp_lake, "metrics") == [manifest]


def test_same_rows_again_are_a_no_op(tmp_lake: Lake) -> None:
    write_signal(tmp_lake, "metrics", "a.csv", metrics([1, 2]))
    before = snapshot(tmp_lake.root / "metrics")
    again = write_signal(tmp_lake, "metrics", "a.csv", metrics([1, 2]))
    assert again.unchanged
    assert snapshot(tmp_lake.root / "metrics") == before


def test_new_rows_replace_only_that_source(tmp_lake: Lake) -> None:
    write_signal(tmp_lake, "metrics", "a.csv", metrics([1, 2]))
    write_signal(tmp_lake, "metrics", "b.csv", metrics([7], source="b.csv"))
    other = snapshot(tmp_lake.root / "metrics" / "source=b.csv")
    replaced = write_signal(tmp_lake, "metrics", "a.csv", metrics([5, 6, 7, 8]))

    assert not replaced.unchanged and replaced.rows == 4
    assert snapshot(tmp_lake.root / "metrics" / "source=b.csv") == other
    engine = connect(tmp_lake)
    values = engine.execute(engine.signals("metrics"))
    assert sorted(values.column("value").to_pylist()) == [5, 6, 7, 7, 8]
    assert [m.source for m in signal_manifests(tmp_lake, "metrics")] == ["a.csv", "b.csv"]
    assert not list((tmp_lake.costs_dir / ".trash").glob("*"))


def test_a_source_name_becomes_one_directory(tmp_lake: Lake) -> None:
    write_signal(tmp_lake, "metrics", "runs/2026 08.csv", metrics([1]))
    (part,) = signal_files(tmp_lake, "metrics")
    assert part.parent.name == "source=runs%2F2026%2008.csv"
    assert signal_manifests(tmp_lake, "metrics")[0].source == "runs/2026 08.csv"


def test_a_failed_write_leaves_the_old_partition_whole(
    tmp_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_signal(tmp_lake, "metrics", "a.csv", metrics([1, 2]))
    before = snapshot(tmp_lake.root / "metrics")

    def disk_full(self: store.SignalManifest, path: Path) -> None:
        path.write_text('{"table": ')  # half a manifest, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.SignalManifest, "write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_signal(tmp_lake, "metrics", "a.csv", metrics([9, 9, 9]))
    assert snapshot(tmp_lake.root / "metrics") == before
    assert not list((tmp_lake.costs_dir / ".staging").iterdir())


def test_a_crash_between_the_renames_is_recovered(
    tmp_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_signal(tmp_lake, "metrics", "a.csv", metrics([1, 2]))
    before = snapshot(tmp_lake.root / "metrics")
    renames: list[tuple[str, str]] = []
    real_rename = os.rename

    def crash_on_second(src: str | Path, dst: str | Path) -> None:
        renames.append((str(src), str(dst)))
        if len(renames) == 2:  # the old partition is in .trash; the new one not yet in place
            raise OSError(errno.EIO, "Input/output error")
        real_rename(src, dst)

    monkeypatch.setattr(lake_store.os, "rename", crash_on_second)
    with pytest.raises(OSError, match="Input/output"):
        write_signal(tmp_lake, "metrics", "a.csv", metrics([9, 9, 9]))
    monkeypatch.setattr(lake_store.os, "rename", real_rename)
    assert not signal_files(tmp_lake, "metrics")  # the crash left the partition moved aside

    Lake.open(tmp_lake.root)
    assert snapshot(tmp_lake.root / "metrics") == before
    assert not list((tmp_lake.costs_dir / ".trash").iterdir())


def test_a_wrong_type_names_the_column_and_the_expected_type(tmp_lake: Lake) -> None:
    data = metrics([1])
    wrong = data.set_column(2, "value", pa.array([1], pa.int64()))
    with pytest.raises(LakeError, match=r"column 'value' is int64\. Expected type: double"):
        write_signal(tmp_lake, "metrics", "a.csv", wrong)
    with pytest.raises(LakeError, match=r"column 'labels' is missing\. Expected type: string"):
        write_signal(tmp_lake, "metrics", "a.csv", data.drop_columns(["labels"]))
    with pytest.raises(LakeError, match="has no column 'extra'"):
        write_signal(tmp_lake, "metrics", "a.csv", data.append_column("extra", pa.array([1])))
    with pytest.raises(LakeError, match="Unknown signal table 'metric'"):
        write_signal(tmp_lake, "metric", "a.csv", data)
    assert not (tmp_lake.root / "metrics").exists()


def test_columns_in_any_order_and_all_null_columns_are_accepted(tmp_lake: Lake) -> None:
    data = metrics([1, 2])
    shuffled = data.select(list(reversed(data.column_names)))
    shuffled = shuffled.set_column(
        shuffled.schema.get_field_index("project"), "project", pa.nulls(2)
    )
    write_signal(tmp_lake, "metrics", "a.csv", shuffled)
    assert write_signal(tmp_lake, "metrics", "a.csv", data).unchanged


def test_engine_signals_is_typed_when_empty(tmp_lake: Lake) -> None:
    engine = connect(tmp_lake)
    for table, schema in SCHEMAS.items():
        result = engine.execute(engine.signals(table))
        assert result.num_rows == 0
        assert result.schema == schema, table
    with pytest.raises(LakeError, match="Unknown signal table"):
        engine.signals("gpus")


def telemetry_rows() -> pa.Table:
    return pa.table(
        {
            "timestamp": [T0, T0 + timedelta(seconds=1)],
            "host": ["gpu-1", "gpu-1"],
            "resource_id": [None, None],
            "gpu_index": pa.array([0, 1], pa.int32()),
            "gpu_uuid": ["GPU-a", "GPU-b"],
            "gpu_model": ["H200", "H200"],
            "gpu_util_pct": [87.0, 0.0],
            "engine_active_pct": [None, None],
            "mem_used_mib": [5409.0, 615.0],
            "mem_total_mib": [143771.0, 143771.0],
            "power_w": [610.2, 79.2],
            "energy_j": [2766.698, 2806.245],
            "source": ["t.csv", "t.csv"],
        },
        schema=TELEMETRY,
    )


def read_back(lake: Lake, engine_name: str) -> dict[str, list[dict[str, object]]]:
    engine = connect(lake, engine=engine_name)
    out = {}
    for table in ("metrics", "telemetry"):
        result = engine.execute(engine.signals(table))
        keys = [(k, "ascending") for k in ("timestamp", "source", "value")]
        keys = [k for k in keys if k[0] in result.column_names] or [("timestamp", "ascending")]
        assert result.schema == SCHEMAS[table], (engine_name, table)
        out[table] = result.sort_by(keys).to_pylist()
    return out


def test_engine_signals_reads_every_source(tmp_lake: Lake) -> None:
    write_signal(tmp_lake, "metrics", "a.csv", metrics([1, 2]))
    write_signal(tmp_lake, "metrics", "b.csv", metrics([3], metric="tokens_in", source="b.csv"))
    write_signal(tmp_lake, "telemetry", "t.csv", telemetry_rows())
    got = read_back(tmp_lake, "duckdb")
    assert [(r["metric"], r["value"]) for r in got["metrics"]] == [
        ("requests", 1.0),
        ("tokens_in", 3.0),
        ("requests", 2.0),
    ]
    assert got["telemetry"] == telemetry_rows().to_pylist()


@pytest.mark.spark
def test_duckdb_and_pyspark_read_the_same_signals(tmp_lake: Lake) -> None:
    write_signal(tmp_lake, "metrics", "a.csv", metrics([1, 2]))
    write_signal(tmp_lake, "metrics", "b.csv", metrics([3], metric="tokens_in", source="b.csv"))
    write_signal(tmp_lake, "telemetry", "t.csv", telemetry_rows())
    duck = read_back(tmp_lake, "duckdb")
    assert read_back(tmp_lake, "pyspark") == duck
    assert len(duck["metrics"]) == 3 and len(duck["telemetry"]) == 2
