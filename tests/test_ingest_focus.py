"""Ingest of real FOCUS files: partitions, exact sums, the 1.0 -> 1.2 upgrade, formats."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.focus import lake_schema
from aifinops.ingest.pipeline import IngestReport, ingest
from aifinops.lake.manifest import Manifest
from aifinops.lake.store import Lake, PartitionKey, partition_key_from_path

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/samples/focus/spec_examples"
SPEC_FILES = sorted(p.name for p in SPEC_DIR.glob("*.csv")) if SPEC_DIR.is_dir() else []
NULL_WORDS = {"", "NULL", "null", "Null", "None", "N/A"}
AZURE_ACCOUNT = "/providers/Microsoft.Billing/billingAccounts/8611537"
SAMPLE_KEYS = {
    PartitionKey("aws", "1234567890123", "2024-09"),
    PartitionKey("microsoft", AZURE_ACCOUNT, "2024-09"),
    PartitionKey("oracle", "20209880", "2024-09"),
    PartitionKey("oracle", "20209880", "2024-10"),
}
#: Columns that say where and when a row came from; they differ between formats by design.
PROVENANCE = ("x_SourceFormat", "x_SourceVersion", "x_SourceFile", "x_IngestedAt")


# -- helpers ---------------------------------------------------------------------------------


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Return the header and the data rows of a CSV (blank lines skipped, BOM dropped)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def dec(text: str | None) -> Decimal | None:
    """Return a CSV money value as Decimal (``$`` and thousands separators allowed)."""
    if text is None or text.strip() in NULL_WORDS:
        return None
    return Decimal(text.strip().replace("$", "").replace(",", ""))


def text(value: str | None) -> str | None:
    """Return a CSV text value, None for the null spellings."""
    return None if value is None or value.strip() in NULL_WORDS else value


def dsum(values: list[Decimal | None]) -> Decimal:
    """Return the exact sum of ``values`` (None counts as nothing)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return sum((v for v in values if v is not None), Decimal(0))


def partition_dir(lake: Lake, key: PartitionKey) -> Path:
    return lake.costs_dir / key.relative_path()


def partition_table(lake: Lake, key: PartitionKey) -> pa.Table:
    """Read one partition's data files back with pyarrow."""
    files = sorted(partition_dir(lake, key).glob("part-*.parquet"))
    assert files, f"partition {key.label()} has no data files"
    return pa.concat_tables([pq.ParquetFile(f).read() for f in files])


def lake_keys(lake: Lake) -> set[PartitionKey]:
    """Return the keys of the partition directories on disk (not from the manifests)."""
    found = {p.parent for p in lake.costs_dir.glob("provider=*/*/*/part-*.parquet")}
    return {partition_key_from_path(p) for p in found}


def data_digest(lake: Lake, manifest: Manifest) -> str:
    digest = hashlib.sha256()
    for name in manifest.data_files:
        digest.update((partition_dir(lake, manifest.key()) / name).read_bytes())
    return digest.hexdigest()


def assert_manifests_agree(lake: Lake) -> None:
    """Every manifest matches its partition's data: rows, sums and content hash."""
    manifests = lake.manifests()
    assert {m.key() for m in manifests} == lake_keys(lake)
    for m in manifests:
        table = partition_table(lake, m.key())
        assert table.num_rows == m.row_count, m.key()
        assert dsum(table.column("BilledCost").to_pylist()) == m.billed_cost, m.key()
        assert dsum(table.column("EffectiveCost").to_pylist()) == m.effective_cost, m.key()
        assert dsum(table.column("ListCost").to_pylist()) == m.list_cost, m.key()
        assert data_digest(lake, m) == m.content_sha256, m.key()
        on_disk = sorted(p.name for p in partition_dir(lake, m.key()).glob("part-*.parquet"))
        assert on_disk == sorted(m.data_files)


def canonical(table: pa.Table, drop: tuple[str, ...] = PROVENANCE) -> list[dict[str, object]]:
    """Return the rows without provenance columns, in a stable order (by source Id)."""
    rows = table.drop_columns(list(drop)).to_pylist()
    return sorted(rows, key=lambda r: (str(r["x_SourceExtras"]), repr(sorted(r.items()))))


@dataclass
class Sums:
    rows: int = 0
    billed: Decimal = Decimal(0)
    effective: Decimal = Decimal(0)


def file_sums(rows: list[dict[str, str]]) -> dict[PartitionKey, Sums]:
    """Sum a FOCUS CSV per (provider, account, period) with csv + Decimal only."""
    sums: dict[PartitionKey, Sums] = defaultdict(Sums)
    with localcontext() as ctx:
        ctx.prec = 80
        for row in rows:
            key = PartitionKey(
                row["ProviderName"].lower(), row["BillingAccountId"], row["BillingPeriodStart"][:7]
            )
            s = sums[key]
            s.rows += 1
            s.billed += dec(row["BilledCost"]) or 0
            s.effective += dec(row["EffectiveCost"]) or 0
    return dict(sums)


# -- the FOCUS 1.0 sample --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_rows(sample_csv: Path) -> tuple[list[str], list[dict[str, str]]]:
    return read_csv(sample_csv)


@pytest.fixture(scope="module")
def sample_lake(
    sample_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Lake, IngestReport]:
    lake = Lake.open(tmp_path_factory.mktemp("sample") / "lake")
    return lake, ingest([sample_csv], lake)


def test_sample_lands_in_four_partitions(
    sample_lake: tuple[Lake, IngestReport], sample_csv: Path
) -> None:
    lake, report = sample_lake
    assert lake_keys(lake) == SAMPLE_KEYS
    assert {p.key for p in report.partitions} == SAMPLE_KEYS
    assert all(p.status == "written" for p in report.partitions)
    assert [(f.path, f.rows, f.format, f.version) for f in report.files] == [
        (sample_csv, 1000, "focus-1.0-csv", "1.0")
    ]
    azure = partition_dir(lake, PartitionKey("microsoft", AZURE_ACCOUNT, "2024-09"))
    # The '/' in Azure account ids is escaped, so the account is one directory.
    escaped = "%2Fproviders%2FMicrosoft.Billing%2FbillingAccounts%2F8611537"
    assert azure.parent.name == f"billing_account={escaped}"
    assert azure.parent.parent.parent == lake.costs_dir
    assert_manifests_agree(lake)


def test_sample_sums_equal_the_file_exactly(
    sample_lake: tuple[Lake, IngestReport],
    sample_rows: tuple[list[str], list[dict[str, str]]],
    sample_csv: Path,
) -> None:
    lake, report = sample_lake
    expected = file_sums(sample_rows[1])
    assert set(expected) == SAMPLE_KEYS
    by_key = {p.key: p for p in report.partitions}
    digest = hashlib.sha256(sample_csv.read_bytes()).hexdigest()
    for key, want in expected.items():
        table = partition_table(lake, key)
        manifest = lake.manifest(key)
        assert manifest is not None
        got = Sums(
            table.num_rows,
            dsum(table.column("BilledCost").to_pylist()),
            dsum(table.column("EffectiveCost").to_pylist()),
        )
        assert got == want, key
        assert (manifest.row_count, manifest.billed_cost, manifest.effective_cost) == (
            want.rows,
            want.billed,
            want.effective,
        ), key
        assert (by_key[key].rows, by_key[key].billed_cost, by_key[key].effective_cost) == (
            want.rows,
            want.billed,
            want.effective,
        ), key
        assert [(s.sha256, s.rows) for s in manifest.sources] == [(digest, want.rows)]
        assert manifest.billing_currency == "USD"
    lake_billed = dsum(
        [v for k in SAMPLE_KEYS for v in partition_table(lake, k).column("BilledCost").to_pylist()]
    )
    assert lake_billed == dsum([dec(r["BilledCost"]) for r in sample_rows[1]])
    assert lake_billed == Decimal("20.52022672899")
    assert sum((m.billed_cost for m in lake.manifests()), Decimal(0)) == lake_billed
    assert sum((m.effective_cost for m in lake.manifests()), Decimal(0)) == dsum(
        [dec(r["EffectiveCost"]) for r in sample_rows[1]]
    )


def test_sample_is_upgraded_to_focus_1_2(
    sample_lake: tuple[Lake, IngestReport],
    sample_rows: tuple[list[str], list[dict[str, str]]],
) -> None:
    lake, _ = sample_lake
    header, rows = sample_rows
    assert Counter(r["ChargeFrequency"] for r in rows)["Usage-based"] == 7  # the quirk is there
    table = pa.concat_tables([partition_table(lake, k) for k in sorted(SAMPLE_KEYS)])
    assert table.schema == lake_schema()
    for name in ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"):
        assert table.schema.field(name).type == pa.timestamp("us", tz="UTC")
    assert "Id" not in table.schema.names and "Id" in header
    assert set(table.column("x_SourceFormat").to_pylist()) == {"focus-1.0-csv"}
    assert set(table.column("x_SourceVersion").to_pylist()) == {"1.0"}
    assert Counter(table.column("ChargeFrequency").to_pylist()) == {
        "Usage-Based": 999,
        "One-Time": 1,
    }
    by_id = {r["Id"]: r for r in rows}
    lake_rows = table.to_pylist()
    assert len(lake_rows) == len(by_id) == 1000
    for got in lake_rows:
        extras = json.loads(str(got["x_SourceExtras"]))
        assert set(extras) == {"Id"}
        src = by_id.pop(extras["Id"])
        for name in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart"):
            naive = datetime.fromisoformat(src[name])
            assert naive.tzinfo is None
            assert got[name] == naive.replace(tzinfo=UTC), (extras, name)
        assert got["BilledCost"] == dec(src["BilledCost"])
        assert got["EffectiveCost"] == dec(src["EffectiveCost"])
        assert got["Tags"] == text(src["Tags"])  # kept verbatim, " org" key included
        assert got["ChargeFrequency"] == src["ChargeFrequency"].replace("-based", "-Based")
        assert got["ServiceSubcategory"] == f"Other ({src['ServiceCategory']})"
    assert not by_id
    assert any('" org"' in str(t) for t in table.column("Tags").to_pylist())


def _v12_rows(header: list[str], rows: list[dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    """Rewrite the 1.0 sample as FOCUS 1.2: ISO UTC times, spec spellings, InvoiceId added."""
    out = []
    for row in rows:
        values = []
        for name in header:
            value = "" if row[name] in NULL_WORDS else row[name]
            if name.endswith(("PeriodStart", "PeriodEnd")) and value:
                value = value.replace(" ", "T") + "Z"
            if name == "ChargeFrequency":
                value = value.replace("-based", "-Based")
            values.append(value)
        out.append([*values, ""])
    return [*header, "InvoiceId"], out


def _write_parquet(path: Path, header: list[str], rows: list[list[str]]) -> None:
    schema = lake_schema()
    columns = {}
    for i, name in enumerate(header):
        raw = [r[i] or None for r in rows]
        kind = schema.field(name).type if name in schema.names else pa.int64()
        if pa.types.is_decimal(kind):
            values: list[object] = [None if v is None else Decimal(v) for v in raw]
        elif pa.types.is_timestamp(kind):
            values = [None if v is None else datetime.fromisoformat(v) for v in raw]
        elif pa.types.is_integer(kind):
            values = [None if v is None else int(v) for v in raw]
        else:
            values = list(raw)
        columns[name] = pa.array(values, type=kind)
    pq.write_table(pa.table(columns), path)


def test_v12_csv_gz_and_parquet_ingest_to_identical_lakes(
    sample_lake: tuple[Lake, IngestReport],
    sample_rows: tuple[list[str], list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    header, rows = _v12_rows(*sample_rows)
    gz_path = tmp_path / "focus-1.2.csv.gz"
    with gzip.open(gz_path, "wt", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    pq_path = tmp_path / "focus-1.2.parquet"
    _write_parquet(pq_path, header, rows)

    base, _ = sample_lake
    lakes = {}
    for label, path in (("csv", gz_path), ("parquet", pq_path)):
        lake = Lake.open(tmp_path / f"lake-{label}")
        report = ingest([path], lake)
        assert [(f.format, f.version, f.rows) for f in report.files] == [
            (f"focus-1.2-{label}", "1.2", 1000)
        ]
        assert lake_keys(lake) == SAMPLE_KEYS
        assert_manifests_agree(lake)
        lakes[label] = lake
    for key in sorted(SAMPLE_KEYS):
        gz_table = partition_table(lakes["csv"], key)
        pq_table = partition_table(lakes["parquet"], key)
        assert gz_table.schema == pq_table.schema == lake_schema()
        assert canonical(gz_table) == canonical(pq_table), key
        # The 1.0 CSV holds the same costs, so only provenance differs.
        assert canonical(gz_table) == canonical(partition_table(base, key)), key
        assert set(pq_table.column("x_SourceFormat").to_pylist()) == {"focus-1.2-parquet"}
        assert set(gz_table.column("x_SourceVersion").to_pylist()) == {"1.2"}
        manifests = [lk.manifest(key) for lk in (base, lakes["csv"], lakes["parquet"])]
        assert (
            len(
                {
                    (m.row_count, m.billed_cost, m.effective_cost, m.list_cost)
                    for m in manifests
                    if m is not None
                }
            )
            == 1
        )


def test_providers_accounts_and_periods_land_in_separate_partitions(
    tmp_lake: Lake, tmp_path: Path
) -> None:
    header = [
        "ProviderName",
        "BillingAccountId",
        "BillingCurrency",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ChargeCategory",
        "BilledCost",
        "EffectiveCost",
        "InvoiceId",
    ]
    plan = [  # (provider, account, period start, rows)
        ("AWS", "111111111111", "2026-09-01", 3),
        ("AWS", "111111111111", "2026-10-01", 2),
        ("AWS", "222222222222", "2026-10-01", 4),
        ("Google Cloud", "01AB23-45CD67", "2026-10-01", 1),
        ("Microsoft", "/providers/Microsoft.Billing/billingAccounts/42:x", "2026-10-01", 2),
    ]
    rows = []
    n = 0
    for provider, account, start, count in plan:
        for _ in range(count):
            n += 1
            end = "2026-10-01" if start == "2026-09-01" else "2026-11-01"
            rows.append(
                [
                    provider,
                    account,
                    "USD",
                    f"{start}T00:00:00Z",
                    f"{end}T00:00:00Z",
                    f"{start}T0{n % 10}:00:00Z",
                    f"{start}T0{n % 10}:59:59Z",
                    "Usage",
                    f"{n}.0000000001",
                    f"{n}.5",
                    f"inv-{n}",
                ]
            )
    # Interleave partitions so rows of one partition are not contiguous in the file.
    rows = rows[::2] + rows[1::2]
    path = tmp_path / "several.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])

    report = ingest([path], tmp_lake)

    slugs = {"AWS": "aws", "Google Cloud": "google-cloud", "Microsoft": "microsoft"}
    expected = {PartitionKey(slugs[p], a, s[:7]): c for p, a, s, c in plan}
    assert lake_keys(tmp_lake) == set(expected)
    assert {p.key: p.rows for p in report.partitions} == expected
    for key, count in expected.items():
        table = partition_table(tmp_lake, key)
        assert table.num_rows == count
        assert {
            (r["BillingAccountId"], r["BillingPeriodStart"].strftime("%Y-%m"))
            for r in table.select(["BillingAccountId", "BillingPeriodStart"]).to_pylist()
        } == {(key.billing_account, key.billing_period)}
        want = dsum(
            [
                dec(r[8])
                for r in rows
                if (slugs[r[0]], r[1], r[3][:7])
                == (key.provider, key.billing_account, key.billing_period)
            ]
        )
        assert dsum(table.column("BilledCost").to_pylist()) == want
    assert_manifests_agree(tmp_lake)


# -- the FOCUS spec's own examples -----------------------------------------------------------


@pytest.mark.parametrize("name", SPEC_FILES or ["<spec_examples missing>"])
def test_spec_example_ingests_on_its_own(shared_data: Path, name: str, tmp_path: Path) -> None:
    path = shared_data / "samples" / "focus" / "spec_examples" / name
    header, rows = read_csv(path)
    lake = Lake.open(tmp_path / "lake")

    report = ingest([path], lake)

    assert report.files[0].rows == len(rows)
    assert sum(p.rows for p in report.partitions) == len(rows)
    assert_manifests_agree(lake)
    table = pa.concat_tables([partition_table(lake, m.key()) for m in lake.manifests()])
    assert table.num_rows == len(rows)
    assert dsum(table.column("BilledCost").to_pylist()) == dsum(
        [dec(r["BilledCost"]) for r in rows]
    )
    assert dsum(table.column("EffectiveCost").to_pylist()) == dsum(
        [dec(r["EffectiveCost"]) for r in rows]
    )
    if not name.startswith("commitment_discount"):
        return

    # Golden rows: the lake's EffectiveCost, BilledCost and status are the spec's own.
    def key(resource: str | None, category: str | None, start: datetime) -> tuple[str, ...]:
        return (str(resource), str(category), start.isoformat())

    want = Counter(
        (
            key(
                text(r["ResourceId"]),
                text(r["ChargeCategory"]),
                datetime.fromisoformat(r["ChargePeriodStart"]),
            ),
            dec(r["BilledCost"]),
            dec(r["EffectiveCost"]),
            text(r.get("CommitmentDiscountStatus")),
        )
        for r in rows
    )
    got = Counter(
        (
            key(r["ResourceId"], r["ChargeCategory"], r["ChargePeriodStart"]),
            r["BilledCost"],
            r["EffectiveCost"],
            r["CommitmentDiscountStatus"],
        )
        for r in table.to_pylist()
    )
    assert got == want


def test_parquet_map_columns_become_json_objects(tmp_lake: Lake, tmp_path: Path) -> None:
    """AWS's FOCUS exports store Tags (and SkuPriceDetails) as Parquet MAPs."""
    base = {
        "ProviderName": "AWS",
        "BillingAccountId": "123456789012",
        "BillingCurrency": "USD",
        "BillingPeriodStart": "2026-10-01T00:00:00Z",
        "BillingPeriodEnd": "2026-11-01T00:00:00Z",
        "ChargePeriodStart": "2026-10-02T00:00:00Z",
        "ChargePeriodEnd": "2026-10-02T01:00:00Z",
        "ChargeCategory": "Usage",
        "BilledCost": "1.5",
        "EffectiveCost": "1.5",
    }
    table = pa.table({k: [v, v] for k, v in base.items()})
    kv = pa.map_(pa.string(), pa.string())
    table = table.append_column(
        "Tags", pa.array([[("user:team", "ml"), ("aws:createdBy", "ci")], []], kv)
    )
    table = table.append_column(
        "SkuPriceDetails", pa.array([[("InstanceType", "p5.48xlarge")], []], kv)
    )
    source = tmp_path / "aws-focus.parquet"
    pq.write_table(table, source)
    ingest([source], tmp_lake)
    rows = pq.read_table(tmp_lake.data_files()[0], columns=["Tags", "SkuPriceDetails"])
    tags, details = rows.column("Tags").to_pylist(), rows.column("SkuPriceDetails").to_pylist()
    assert sorted(tags, key=str) == sorted(
        [json.dumps({"user:team": "ml", "aws:createdBy": "ci"}, separators=(",", ":")), None],
        key=str,
    )
    assert json.loads(next(d for d in details if d)) == {"InstanceType": "p5.48xlarge"}
