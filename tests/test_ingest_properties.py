"""Properties of ingest over generated FOCUS tables (DuckDB only).

* conservation: ΣBilledCost / ΣEffectiveCost per partition equal the Decimal sums of the rows;
* idempotence: ingesting the same file twice equals ingesting it once;
* replacement: version 2 of some partitions replaces version 1 exactly, others stay as they were.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aifinops.ingest.pipeline import ingest
from aifinops.lake.store import Lake, PartitionKey

#: ProviderName -> partition slug; 'aws' and 'AWS' share one partition.
PROVIDERS = {
    "AWS": "aws",
    "aws": "aws",
    "Google Cloud": "google-cloud",
    "Microsoft": "microsoft",
    "Oracle Cloud Infrastructure": "oracle-cloud-infrastructure",
    "Acme SaaS, Inc.": "acme-saas-inc",
}
CURRENCIES = {
    "aws": "USD",
    "google-cloud": "EUR",
    "microsoft": "USD",
    "oracle-cloud-infrastructure": "JPY",
    "acme-saas-inc": "GBP",
}
CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment", "usage")
NULL_WORDS = {"", "NULL", "null", "Null", "None", "N/A"}
HEADER = [
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
    "ResourceId",
    "Tags",
]
SETTINGS = settings(
    max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@dataclass(frozen=True)
class Row:
    provider: str
    account: str
    year: int
    month: int
    day: int
    category: str
    billed: Decimal
    effective: Decimal
    tags: str

    @property
    def key(self) -> PartitionKey:
        return PartitionKey(
            PROVIDERS[self.provider], self.account, f"{self.year:04d}-{self.month:02d}"
        )

    def cells(self, resource_id: str) -> list[str]:
        start = f"{self.year:04d}-{self.month:02d}-01T00:00:00Z"
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        charge = f"{self.year:04d}-{self.month:02d}-{self.day:02d}T"
        return [
            self.provider,
            self.account,
            CURRENCIES[PROVIDERS[self.provider]],
            start,
            f"{year:04d}-{month:02d}-01T00:00:00Z",
            charge + "00:00:00Z",
            charge + "01:00:00Z",
            self.category,
            money(self.billed),
            money(self.effective),
            resource_id,
            self.tags,
        ]


def money(value: Decimal) -> str:
    # str() gives '1E-10' / '0E-10' for tiny values, which a FOCUS file may contain.
    return str(value) if value.adjusted() < -6 or value.is_zero() else f"{value:f}"


accounts = st.text(
    alphabet=st.sampled_from("0123456789abcXYZ-_./:%@ é"), min_size=1, max_size=12
).filter(lambda s: s.strip() not in NULL_WORDS and s == s.strip())
# Up to 29 significant digits: more than Python's default decimal context keeps (28).
costs = st.decimals(
    min_value=Decimal("-1e18"),
    max_value=Decimal("1e18"),
    places=10,
    allow_nan=False,
    allow_infinity=False,
)
#: Rows every run checks: a 29-digit cost, tiny costs written as 1E-10 and 0E-10.
EDGE_ROWS = [
    Row(
        "AWS",
        "007",
        2026,
        10,
        2,
        "Usage",
        Decimal("123456789012345678.0123456789"),
        Decimal("-1E-10"),
        '{"team": "ml", " org": "x"}',
    ),
    Row("aws", "007", 2026, 10, 3, "Credit", Decimal("-0.0000000001"), Decimal("0E-10"), ""),
    Row(
        "Microsoft",
        "/providers/Microsoft.Billing/billingAccounts/1",
        2026,
        12,
        31,
        "Tax",
        Decimal("0.0000000007"),
        Decimal("1"),
        "",
    ),
]
tags = st.one_of(
    st.just(""),
    st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=3).map(
        lambda d: json.dumps(d, ensure_ascii=False)
    ),
)


@st.composite
def rows(draw: st.DrawFn, keys: st.SearchStrategy[tuple[str, str, int, int]]) -> Row:
    provider, account, year, month = draw(keys)
    return Row(
        provider,
        account,
        year,
        month,
        draw(st.integers(1, 28)),
        draw(st.sampled_from(CATEGORIES)),
        draw(costs),
        draw(costs),
        draw(tags),
    )


def partition_keys() -> st.SearchStrategy[tuple[str, str, int, int]]:
    return st.tuples(
        st.sampled_from(sorted(PROVIDERS)), accounts, st.integers(2019, 2031), st.integers(1, 12)
    )


def tables(keys: list[tuple[str, str, int, int]] | None = None) -> st.SearchStrategy[list[Row]]:
    """Tables of 1-30 rows over a few partition keys (drawn, or among ``keys``)."""
    if keys is not None:
        return st.lists(rows(st.sampled_from(keys)), min_size=1, max_size=30)
    return st.lists(partition_keys(), min_size=1, max_size=4).flatmap(
        lambda ks: st.lists(rows(st.sampled_from(ks)), min_size=1, max_size=30)
    )


def write(path: Path, table: list[Row], tag: str) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(row.cells(f"{tag}-{i}") for i, row in enumerate(table))
    return path


def expected(table: list[Row], tag: str) -> dict[PartitionKey, dict[str, object]]:
    """Per partition: rows, exact sums, and which (resource id, billed, effective) it holds."""
    out: dict[PartitionKey, dict[str, object]] = defaultdict(
        lambda: {"rows": 0, "billed": Decimal(0), "effective": Decimal(0), "ids": set()}
    )
    with localcontext() as ctx:
        ctx.prec = 80
        for i, row in enumerate(table):
            part = out[row.key]
            part["rows"] += 1  # type: ignore[operator]
            part["billed"] += row.billed  # type: ignore[operator]
            part["effective"] += row.effective  # type: ignore[operator]
            part["ids"].add((f"{tag}-{i}", row.billed, row.effective))  # type: ignore[attr-defined]
    return dict(out)


def actual(lake: Lake) -> dict[PartitionKey, dict[str, object]]:
    """Read every partition back and describe it as :func:`expected` does."""
    out = {}
    for manifest in lake.manifests():
        folder = lake.costs_dir / manifest.key().relative_path()
        table = pa.concat_tables([pq.ParquetFile(folder / n).read() for n in manifest.data_files])
        data = table.select(["ResourceId", "BilledCost", "EffectiveCost"]).to_pydict()
        with localcontext() as ctx:
            ctx.prec = 80
            part = {
                "rows": table.num_rows,
                "billed": sum(data["BilledCost"], Decimal(0)),
                "effective": sum(data["EffectiveCost"], Decimal(0)),
                "ids": set(
                    zip(data["ResourceId"], data["BilledCost"], data["EffectiveCost"], strict=True)
                ),
            }
        assert (manifest.row_count, manifest.billed_cost, manifest.effective_cost) == (
            part["rows"],
            part["billed"],
            part["effective"],
        ), manifest.key()
        out[manifest.key()] = part
    return out


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): "dir"
        if p.is_dir()
        else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
    }


@SETTINGS
@example(table=EDGE_ROWS)
@given(table=tables())
def test_ingest_conserves_costs_and_twice_equals_once(table: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = write(Path(tmp) / "focus.csv", table, "r")
        lake = Lake.open(Path(tmp) / "lake")

        first = ingest([source], lake)
        want = expected(table, "r")
        assert actual(lake) == want
        assert {p.key: (p.status, p.rows, p.billed_cost) for p in first.partitions} == {
            k: ("written", v["rows"], v["billed"]) for k, v in want.items()
        }
        before = snapshot(lake.root)

        second = ingest([source], Lake.open(lake.root))
        assert {p.key for p in second.partitions} == set(want)
        assert all(p.status == "unchanged" for p in second.partitions)
        assert second.written == []
        assert snapshot(lake.root) == before


@st.composite
def two_versions(draw: st.DrawFn) -> tuple[list[Row], list[Row]]:
    """v1 over some partitions; v2 restates some of them and may add new ones."""
    keys = draw(st.lists(partition_keys(), min_size=1, max_size=4))
    v1 = draw(tables(keys))
    used = sorted({(r.provider, r.account, r.year, r.month) for r in v1})
    restated = draw(st.lists(st.sampled_from(used), min_size=1, max_size=len(used), unique=True))
    extra = draw(st.lists(partition_keys(), max_size=1))
    return v1, draw(tables(restated + extra))


@SETTINGS
@example(versions=(EDGE_ROWS, EDGE_ROWS[1:2]))
@given(versions=two_versions())
def test_version_2_replaces_version_1_exactly(versions: tuple[list[Row], list[Row]]) -> None:
    v1, v2 = versions
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake.open(Path(tmp) / "lake")
        ingest([write(Path(tmp) / "v1.csv", v1, "v1")], lake)
        old = expected(v1, "v1")
        assert actual(lake) == old
        before = snapshot(lake.costs_dir)

        report = ingest([write(Path(tmp) / "v2.csv", v2, "v2")], lake)

        new = expected(v2, "v2")
        assert {p.key for p in report.written} == set(new)
        assert actual(lake) == {**old, **new}
        after = snapshot(lake.costs_dir)
        for key in set(old) - set(new):  # untouched partitions: the very same bytes
            folder = str(key.relative_path())

            def inside(path: str, folder: str = folder) -> bool:
                return path == folder or path.startswith(folder + "/")

            assert {k: v for k, v in after.items() if inside(k)} == {
                k: v for k, v in before.items() if inside(k)
            }
        assert not any(Path(lake.costs_dir, ".staging").iterdir())
        assert not Path(lake.costs_dir, ".trash").exists() or not any(
            Path(lake.costs_dir, ".trash").iterdir()
        )
