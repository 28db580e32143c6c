"""AWS CUR deliveries: manifests (legacy CUR and CUR 2.0), restated months, zipped CSV."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from aifinops.demo import generate
from aifinops.errors import BadInputError
from aifinops.focus.columns import FOCUS_COLUMN_NAMES
from aifinops.ingest.delivery import plan_delivery
from aifinops.ingest.pipeline import IngestReport, expand, ingest
from aifinops.lake import Lake
from aifinops.lake.store import sha256_file

SAMPLE = Path("samples") / "aws" / "legacy_cur_sample-anonymous-aws-export-dataset.csv"
SAMPLE_TOTAL = Decimal("1.6823086974")
REPORT, PERIOD = "nimbus-cur", "20231101-20231201"
NEW, OLD = "5f1c2d3e-aaaa-4bbb-8ccc-0123456789ab", "0b9e8d7c-1111-4222-8333-ba9876543210"
Row = dict[str, Any]


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> Path:
    path = shared_data / SAMPLE
    if not path.is_file():
        pytest.skip(f"legacy CUR sample not found at {path}")
    return path


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        header, *rows = csv.reader(fh)
    return header, rows


def _write_gz(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _legacy_manifest(header: list[str], assembly: str, keys: list[str]) -> dict[str, Any]:
    """Return a legacy CUR manifest as AWS writes it (fields abridged to those that matter)."""
    return {
        "assemblyId": assembly,
        "account": "123412340534",
        "columns": [
            {"category": h.split("/")[0], "name": h.split("/")[-1], "type": "String"}
            for h in header
        ],
        "charset": "UTF-8",
        "compression": "GZIP",
        "contentType": "text/csv",
        "reportId": "0f6c0b1e9a7d4c2b8e3f5a6d7c8b9a0e1f2d3c4b5a6978800112233445566778",
        "reportName": REPORT,
        "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        "bucket": "nimbus-billing",
        "reportKeys": keys,
        "additionalArtifactKeys": [],
    }


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def _legacy_delivery(root: Path, sample: Path, *, extra_key: bool = False) -> Path:
    """Write a synced legacy CUR bucket: the current assembly in two parts, a superseded one.

    Returns the period's own manifest (``<period>/<report>-Manifest.json``).
    """
    header, rows = _read_csv(sample)
    cost = header.index("lineItem/UnblendedCost")
    period = root / "cur" / REPORT / PERIOD
    half = len(rows) // 2
    new_keys = [f"cur/{REPORT}/{PERIOD}/{NEW}/{REPORT}-0000{i}.csv.gz" for i in (1, 2)]
    for key, part in zip(new_keys, (rows[:half], rows[half:]), strict=True):
        _write_gz(root / key, header, part)
    # The superseded assembly: the same lines at ten times the cost, in one part.
    restated = [[*r[:cost], str(Decimal(r[cost] or 0) * 10), *r[cost + 1 :]] for r in rows]
    old_key = f"cur/{REPORT}/{PERIOD}/{OLD}/{REPORT}-00001.csv.gz"
    _write_gz(root / old_key, header, restated)
    listed = (
        [*new_keys, f"cur/{REPORT}/{PERIOD}/{NEW}/{REPORT}-00003.csv.gz"] if extra_key else new_keys
    )
    current = _legacy_manifest(header, NEW, listed)
    _write_json(period / NEW / f"{REPORT}-Manifest.json", current)
    _write_json(period / OLD / f"{REPORT}-Manifest.json", _legacy_manifest(header, OLD, [old_key]))
    return _write_json(period / f"{REPORT}-Manifest.json", current)


def _billed(report: IngestReport) -> tuple[int, Decimal]:
    return sum(p.rows for p in report.partitions), sum(
        (p.billed_cost for p in report.partitions), Decimal(0)
    )


def _notes(report: IngestReport) -> dict[str, list[str]]:
    return {f.path.name if f.path.suffix != ".json" else str(f.path): f.notes for f in report.files}


def test_legacy_folder_reads_only_the_current_assembly(
    sample: Path, tmp_path: Path, tmp_lake: Lake
) -> None:
    manifest = _legacy_delivery(tmp_path / "bucket", sample)
    report = ingest([tmp_path / "bucket"], tmp_lake)
    assert _billed(report) == (1281, SAMPLE_TOTAL)  # not 11x: the old assembly is skipped
    assert all(r.ok for r in report.reconciliation)
    read = [f for f in report.files if f.format]
    assert [f.path.name for f in read] == [f"{REPORT}-00001.csv.gz", f"{REPORT}-00002.csv.gz"]
    assert all(NEW in str(f.path) and f"listed by {manifest}" in f.notes[-1] for f in read)
    skipped = {f.path: f.notes for f in report.files if not f.format}
    old = manifest.parent / OLD / f"{REPORT}-00001.csv.gz"
    assert "superseded assembly" in skipped[old][0] and str(manifest) in skipped[old][0]
    assert "CUR manifest" in skipped[manifest][0]
    assert manifest.parent / OLD / f"{REPORT}-Manifest.json" in skipped
    assert not [p for p in expand([tmp_path / "bucket"]) if p.suffix == ".json"]


def test_legacy_manifest_ingests_exactly_its_files(
    sample: Path, tmp_path: Path, tmp_lake: Lake
) -> None:
    manifest = _legacy_delivery(tmp_path / "bucket", sample)
    report = ingest([manifest], tmp_lake)
    assert _billed(report) == (1281, SAMPLE_TOTAL)
    assert [f.path.parent.name for f in report.files if f.format] == [NEW, NEW]
    # An assembly's own copy of the manifest reads that assembly: here the superseded one.
    old = ingest([manifest.parent / OLD / f"{REPORT}-Manifest.json"], Lake.open(tmp_path / "l2"))
    assert _billed(old) == (1281, SAMPLE_TOTAL * 10)


def _snapshot(lake: Lake) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(lake.root.rglob("*")) if p.is_file()}


def test_manifest_listing_a_missing_file_is_refused(
    sample: Path, tmp_path: Path, tmp_lake: Lake
) -> None:
    manifest = _legacy_delivery(tmp_path / "bucket", sample, extra_key=True)
    ingest([manifest.parent / NEW / f"{REPORT}-00001.csv.gz"], tmp_lake)
    before = _snapshot(tmp_lake)
    for given in (manifest, tmp_path / "bucket"):
        with pytest.raises(BadInputError) as err:
            ingest([given], tmp_lake)
        assert (err.value.file, err.value.row, err.value.column) == (str(manifest), 3, "reportKeys")
        assert f"{REPORT}-00003.csv.gz" in err.value.message
        assert err.value.fix and "aws s3 sync" in err.value.fix
        assert _snapshot(tmp_lake) == before


def test_broken_manifest_json_is_refused(tmp_path: Path, tmp_lake: Lake) -> None:
    manifest = tmp_path / PERIOD / f"{REPORT}-Manifest.json"
    manifest.parent.mkdir()
    manifest.write_text('{"assemblyId": "x", "reportKeys": [', encoding="utf-8")
    with pytest.raises(BadInputError) as err:
        ingest([tmp_path], tmp_lake)
    assert err.value.file == str(manifest) and "JSON" in err.value.message


@pytest.fixture(scope="module")
def cur2_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = generate(tmp_path_factory.mktemp("demo"), seed=7, scale=0.05)
    return Path(next(p for p in result.native_files["aws"] if "=2026-08" in str(p)))


def test_cur2_data_exports_delivery_reads_the_manifest_files(
    cur2_file: Path, tmp_path: Path, tmp_lake: Lake
) -> None:
    root = tmp_path / "sync" / "exports" / "nimbus-cur2"
    data = root / "data" / "BILLING_PERIOD=2026-08"
    data.mkdir(parents=True)
    table = pq.read_table(cur2_file)
    half = table.num_rows // 2
    names = [f"nimbus-cur2-0000{i}.snappy.parquet" for i in (1, 2)]
    pq.write_table(table.slice(0, half), data / names[0])
    pq.write_table(table.slice(half), data / names[1])
    pq.write_table(table, data / "nimbus-cur2-00003.snappy.parquet")  # an earlier run's part
    uri = "s3://nimbus-billing/exports/nimbus-cur2/data/BILLING_PERIOD=2026-08/"
    columns = [{"name": f.name, "type": str(f.type)} for f in table.schema]
    manifest = _write_json(
        root / "metadata" / "BILLING_PERIOD=2026-08" / "nimbus-cur2-Manifest.json",
        {
            "executionId": "9c1d0f3a-2b4e-4c6d-8e0f-1a2b3c4d5e6f",
            "exportArn": "arn:aws:bcm-data-exports:us-east-1:123456789012:export/nimbus-cur2-0a1b",
            "bucket": "nimbus-billing",
            "billingPeriod": {"start": "2026-08-01T00:00:00Z", "end": "2026-09-01T00:00:00Z"},
            "columns": columns,
            "dataFiles": [uri + n for n in names],
            "additionalOutputFiles": [],
        },
    )
    report = ingest([tmp_path / "sync"], tmp_lake)
    plain = ingest([cur2_file], Lake.open(tmp_path / "plain"))
    assert _billed(report) == _billed(plain) and _billed(report)[0] > 300
    assert [f.path.name for f in report.files if f.format] == names
    skipped = {f.path.name: f.notes[0] for f in report.files if not f.format}
    assert "superseded" in skipped["nimbus-cur2-00003.snappy.parquet"]
    assert "CUR manifest" in skipped[manifest.name]
    assert plan_delivery([manifest]).files == [data / n for n in names]
    (data / names[1]).unlink()
    with pytest.raises(BadInputError) as err:
        ingest([manifest], tmp_lake)
    assert (err.value.row, err.value.column) == (2, "dataFiles")


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _lake_rows(lake: Lake) -> list[Row]:
    rows = [r for p in lake.data_files() for r in pq.read_table(p).to_pylist()]
    return sorted(rows, key=lambda r: tuple(str(r[c]) for c in FOCUS_COLUMN_NAMES))


def test_zipped_csv_reads_like_the_plain_csv(sample: Path, tmp_path: Path, tmp_lake: Lake) -> None:
    archive = _zip(tmp_path / f"{REPORT}-1.csv.zip", {f"{REPORT}-1.csv": sample.read_bytes()})
    report = ingest([archive], tmp_lake)
    plain_lake = Lake.open(tmp_path / "plain")
    plain = ingest([sample], plain_lake)
    assert _billed(report) == _billed(plain) == (1281, SAMPLE_TOTAL)
    got, want = _lake_rows(tmp_lake), _lake_rows(plain_lake)
    assert [{c: r[c] for c in FOCUS_COLUMN_NAMES} for r in got] == [
        {c: r[c] for c in FOCUS_COLUMN_NAMES} for r in want
    ]
    assert {r["x_SourceFile"] for r in got} == {str(archive)}
    manifest = tmp_lake.manifest(report.partitions[0].key)
    assert manifest is not None
    (source,) = manifest.sources
    assert (source.path, source.sha256) == (str(archive), sha256_file(archive))
    assert not list(tmp_lake.root.rglob("*.csv"))  # the unpacked copy is gone


def test_same_zip_twice_is_read_once_and_reingest_is_a_no_op(
    sample: Path, tmp_path: Path, tmp_lake: Lake
) -> None:
    archive = _zip(tmp_path / "a.csv.zip", {f"{REPORT}-1.csv": sample.read_bytes()})
    twin = shutil.copy(archive, tmp_path / "b.csv.zip")
    report = ingest([archive, twin], tmp_lake)
    assert _billed(report) == (1281, SAMPLE_TOTAL)
    assert report.files[1].duplicate_of == archive
    again = ingest([archive], tmp_lake)
    assert [p.status for p in again.partitions] == ["unchanged"]


HEADER = b"bill/PayerAccountId,lineItem/LineItemType,lineItem/UnblendedCost\n1,Usage,1\n"


@pytest.mark.parametrize(
    ("members", "said"),
    [
        ({"readme.txt": b"hello"}, "0 CSV files"),
        ({"a-1.csv": HEADER, "a-2.csv": HEADER}, "2 CSV files"),
        ({}, "0 CSV files"),
    ],
)
def test_zip_without_exactly_one_csv_is_refused(
    members: dict[str, bytes], said: str, tmp_path: Path, tmp_lake: Lake
) -> None:
    archive = _zip(tmp_path / "r.csv.zip", members)
    with pytest.raises(BadInputError) as err:
        ingest([archive], tmp_lake)
    assert err.value.file == str(archive) and said in err.value.message
    assert err.value.fix and "unzip" in err.value.fix
    assert not tmp_lake.data_files()


def test_corrupt_zip_is_refused(tmp_path: Path, tmp_lake: Lake) -> None:
    whole = _zip(tmp_path / "w.zip", {"r-1.csv": HEADER * 5000}).read_bytes()
    for name, content in (("cut.csv.zip", whole[: len(whole) // 2]), ("x.csv.zip", b"not a zip")):
        broken = tmp_path / name
        broken.write_bytes(content)
        with pytest.raises(BadInputError) as err:
            ingest([broken], tmp_lake)
        assert err.value.file == str(broken)
        assert "zip" in err.value.message and err.value.fix and "download" in err.value.fix
