"""``catalog refresh`` against recorded price-source answers served on real loopback HTTP.

The recordings in ``tests/data/catalog`` have the exact shapes of the AWS Price List bulk API,
the Azure Retail Prices API and the GCP Cloud Billing Catalog API; a ``ThreadingHTTPServer``
on 127.0.0.1 serves them (and, per test, failures: HTTP 500, a cut-off JSON page, a CSV
shorter than its Content-Length, a stalled answer).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from aifinops.catalog import load_catalog
from aifinops.catalog.fetch_aws import fetch_aws
from aifinops.catalog.fetch_azure import fetch_azure
from aifinops.catalog.fetch_gcp import fetch_gcp, parse_description, unit_price
from aifinops.catalog.refresh import RefreshResult, deduplicate, refresh_catalog
from aifinops.catalog.refresh_model import (
    PRICE_COLUMNS,
    CatalogRefreshError,
    Endpoints,
    PriceRow,
    format_decimal,
)
from aifinops.errors import BadInputError

DATA = Path(__file__).parent / "data" / "catalog"
KEY = "test-key-123"
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
EC2 = "/offers/v1.0/aws/AmazonEC2"
SOURCE_TAGS = ("aws-price-list", "azure-retail-prices", "gcp-billing-catalog")


@dataclass
class Reply:
    """One answer of the loopback server."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    declared_length: int | None = None  # a Content-Length larger than the body: a cut-off
    delay: float = 0.0


class PriceServer:
    """The three price sources on one loopback port, replaying the recordings."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.overrides: dict[str, Reply] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                reply = server.reply(self.path)
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                length = reply.declared_length or len(reply.body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(reply.body)
                if reply.declared_length:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            aws_offer_index=f"{self.base}/offers/v1.0/aws/index.json",
            azure_prices=f"{self.base}/api/retail/prices",
            gcp_billing=f"{self.base}/v1",
        )

    def reply(self, path: str) -> Reply:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        override = self.overrides.get(parts.path + ("#2" if self._second(query) else ""))
        if override is not None:
            return override
        recorded = self._recording(parts.path, query)
        if recorded is None:
            return Reply(404, b'{"error": "not found"}')
        if parts.path.startswith("/v1/") and query.get("key") != [KEY]:
            return Reply(403, b'{"error": {"code": 403, "message": "API key not valid."}}')
        body = recorded.read_bytes().replace(b"https://prices.azure.com:443", self.base.encode())
        kind = "text/csv" if recorded.suffix == ".csv" else "application/json"
        return Reply(200, body, kind)

    @staticmethod
    def _second(query: dict[str, list[str]]) -> bool:
        return "$skip" in query or "pageToken" in query

    def _recording(self, path: str, query: dict[str, list[str]]) -> Path | None:
        page = "2" if self._second(query) else "1"
        csv_match = path.startswith(f"{EC2}/20261120183037/") and path.endswith("/index.csv")
        table = {
            "/offers/v1.0/aws/index.json": DATA / "aws" / "offer-index.json",
            f"{EC2}/current/region_index.json": DATA / "aws" / "region_index.json",
            "/api/retail/prices": DATA / "azure" / f"prices-page{page}.json",
            "/v1/services": DATA / "gcp" / "services.json",
            "/v1/services/6F81-5844-456A/skus": DATA / "gcp" / f"skus-page{page}.json",
        }
        if csv_match:
            region = path.split("/")[-2]
            candidate = DATA / "aws" / f"{region}.csv"
            return candidate if candidate.is_file() else None
        return table.get(path)


@pytest.fixture(scope="module")
def module_server() -> Iterator[PriceServer]:
    server = PriceServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def server(module_server: PriceServer) -> PriceServer:
    """The loopback price server with no failures set and an empty request log."""
    module_server.overrides.clear()
    module_server.requests.clear()
    return module_server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as http:
        yield http


def _prices(rows: list[PriceRow]) -> dict[tuple[str, str, str], Decimal]:
    return {(r.region, r.instance_type, r.term): r.usd_per_hour for r in rows}


# --- AWS -------------------------------------------------------------------------------------


def test_aws_keeps_linux_shared_ondemand_and_standard_no_upfront_reservations(
    server: PriceServer, client: httpx.Client
) -> None:
    fetched = fetch_aws(client, server.endpoints.aws_offer_index, regions=("us-east-1",))

    assert _prices(fetched.rows) == {
        ("us-east-1", "p5.48xlarge", "ondemand"): Decimal("55.04"),
        ("us-east-1", "p5.48xlarge", "commit_1y"): Decimal("43.161"),
        ("us-east-1", "p5.48xlarge", "commit_3y"): Decimal("29.7216"),
        ("us-east-1", "p5.4xlarge", "ondemand"): Decimal("6.88"),
        ("us-east-1", "p4d.24xlarge", "ondemand"): Decimal("21.9576"),
        ("us-east-1", "g5.xlarge", "ondemand"): Decimal("1.006"),
        ("us-east-1", "g5.xlarge", "commit_1y"): Decimal("0.634"),
        ("us-east-1", "g4dn.xlarge", "ondemand"): Decimal("0.526"),
        ("us-east-1", "g6.xlarge", "ondemand"): Decimal("0.8048"),
        ("us-east-1", "trn1.32xlarge", "ondemand"): Decimal("21.5"),
        ("us-east-1", "inf2.xlarge", "ondemand"): Decimal("0.7582"),
    }
    assert fetched.as_of == "2026-11-20"
    assert fetched.skipped == {
        "not Linux": 1,
        "not shared tenancy": 1,
        "capacity not used": 1,
        "not on-demand market": 1,
        "pre-installed software": 1,
        "reserved: not standard no-upfront": 2,
        "not hourly": 1,
        "not accelerated": 2,
        "not an instance": 1,
    }
    by_type = {r.instance_type: r for r in fetched.rows if r.term == "ondemand"}
    assert by_type["p5.48xlarge"].accelerator_count == 8
    assert by_type["trn1.32xlarge"].accelerator_count is None  # GPU column empty: kept by family
    assert by_type["p5.48xlarge"].source == (
        "aws-price-list:3K3ZV6JQJ6NJ5Y4S.JRTCKXETXF.6YS6EN2CT7"
    )


def test_aws_follows_offer_index_to_region_index_to_region_csvs(
    server: PriceServer, client: httpx.Client
) -> None:
    steps: list[tuple[str, int, int]] = []
    fetched = fetch_aws(
        client,
        server.endpoints.aws_offer_index,
        regions=("us-west-2", "us-east-1"),
        progress=lambda step, done, total: steps.append((step, done, total)),
    )

    assert server.requests == [
        "/offers/v1.0/aws/index.json",
        f"{EC2}/current/region_index.json",
        f"{EC2}/20261120183037/us-west-2/index.csv",
        f"{EC2}/20261120183037/us-east-1/index.csv",
    ]
    assert _prices(fetched.rows)[("us-west-2", "g5.xlarge", "commit_3y")] == Decimal("0.411")
    assert {s for s, _, _ in steps} == {"aws us-west-2", "aws us-east-1"}
    assert all(done <= total for _, done, total in steps)


def test_aws_default_regions_are_those_of_the_index_in_the_default_list(
    server: PriceServer, client: httpx.Client
) -> None:
    fetched = fetch_aws(client, server.endpoints.aws_offer_index)

    assert fetched.regions == ("us-east-1", "us-west-2")  # ap-southeast-2 is not a default


def test_aws_unknown_region_names_the_index_and_the_choices(
    server: PriceServer, client: httpx.Client
) -> None:
    with pytest.raises(CatalogRefreshError) as caught:
        fetch_aws(client, server.endpoints.aws_offer_index, regions=("us-east-7",))

    message = str(caught.value)
    assert f"{server.base}{EC2}/current/region_index.json" in message
    assert "us-east-7" in message and "us-west-2" in message


# --- Azure -----------------------------------------------------------------------------------


def test_azure_follows_next_page_link_and_keeps_linux_ondemand_spot_and_reservations(
    server: PriceServer, client: httpx.Client
) -> None:
    fetched = fetch_azure(client, server.endpoints.azure_prices, today=NOW.date())

    def hourly(total: str, hours: int) -> Decimal:
        return (Decimal(total) / hours).quantize(Decimal("1E-10"), rounding=ROUND_HALF_EVEN)

    assert _prices(fetched.rows) == {
        ("eastus", "Standard_NC24ads_A100_v4", "ondemand"): Decimal("3.673"),
        ("eastus", "Standard_NC24ads_A100_v4", "spot"): Decimal("0.4407"),
        ("eastus", "Standard_NC24ads_A100_v4", "commit_1y"): hourly("20010", 8760),
        ("eastus", "Standard_NC24ads_A100_v4", "commit_3y"): hourly("38676", 26280),
        ("eastus", "Standard_ND96isr_H100_v5", "ondemand"): Decimal("98.32"),
        ("eastus", "Standard_NC4as_T4_v3", "ondemand"): Decimal("0.526"),
        ("eastus", "Standard_NC4as_T4_v3", "spot"): Decimal("0.0526"),
        ("westus2", "Standard_NC4as_T4_v3", "ondemand"): Decimal("0.526"),
        ("eastus", "Standard_NV36ads_A10_v5", "ondemand"): Decimal("3.2"),
    }
    assert hourly("20010", 8760) == Decimal("2.2842465753")
    assert fetched.skipped == {
        "low priority": 1,
        "windows": 1,
        "type DevTestConsumption": 1,
        "non-primary meter": 1,
        "cloud services": 1,
        "reservation: other term": 1,
    }
    assert len(server.requests) == 2
    first = parse_qs(urlsplit(server.requests[0]).query)
    assert first["api-version"] == ["2023-01-01-preview"]
    assert first["$filter"] == [
        "serviceName eq 'Virtual Machines' and startswith(armSkuName, 'Standard_N')"
    ]
    assert "$skip=1000" in server.requests[1]
    assert all(r.as_of == "2026-11-28" for r in fetched.rows)


def test_azure_regions_become_one_filtered_query_each(
    server: PriceServer, client: httpx.Client
) -> None:
    fetch_azure(client, server.endpoints.azure_prices, regions=("eastus", "westus2"))

    filters = [parse_qs(urlsplit(r).query).get("$filter", [""])[0] for r in server.requests]
    assert filters[0].endswith(" and armRegionName eq 'eastus'")
    assert filters[2].endswith(" and armRegionName eq 'westus2'")
    assert len(server.requests) == 4  # two pages per region


# --- GCP -------------------------------------------------------------------------------------


def test_gcp_reads_every_sku_page_and_prices_gpus_and_tpus_exactly(
    server: PriceServer, client: httpx.Client
) -> None:
    fetched = fetch_gcp(client, server.endpoints.gcp_billing, KEY, today=NOW.date())

    americas = ("us-central1", "us-east1", "us-west1")
    expected = {(r, "gpu:T4", "ondemand"): Decimal("0.35") for r in americas}
    expected |= {(r, "gpu:T4", "spot"): Decimal("0.1379") for r in americas}
    expected |= {
        ("us-east4", "gpu:H100-80GB-SXM", "ondemand"): Decimal("9.79655"),
        ("us-central1", "gpu:L4", "commit_1y"): Decimal("0.35283"),
        ("us-east4", "gpu:L4", "commit_1y"): Decimal("0.35283"),
        ("us-central1", "gpu:L4", "ondemand"): Decimal("0.56004"),
        ("us-east4", "gpu:L4", "ondemand"): Decimal("0.56004"),
        ("us-central1", "gpu:TPU-v5e", "ondemand"): Decimal("1.2"),
        ("us-central1", "gpu:TPU-v5e", "spot"): Decimal("0.245"),
    }
    assert _prices(fetched.rows) == expected
    assert all(r.accelerator_count == 1 for r in fetched.rows)
    assert {r.accelerator for r in fetched.rows} == {"T4", "H100-80GB-SXM", "L4", "TPU-v5e"}
    assert fetched.skipped["DWS / Flex-start / Calendar-mode SKU (kept apart)"] == 2
    assert fetched.skipped["not an accelerator SKU"] == 2  # N1 core, Virtual Workstation
    assert fetched.skipped["not compute"] == 1
    skus = [r for r in server.requests if "/skus" in r]
    assert len(skus) == 2 and "pageToken=CiAKGjBpNDd2" in skus[1]
    assert all("currencyCode=USD" in r for r in skus)
    assert all(KEY not in url and "key=REDACTED" in url for url in fetched.urls)


def test_gcp_dws_and_flex_start_skus_never_become_ondemand_prices(
    server: PriceServer, client: httpx.Client
) -> None:
    fetched = fetch_gcp(client, server.endpoints.gcp_billing, KEY, regions=("us-east4",))

    h100 = [r for r in fetched.rows if r.instance_type == "gpu:H100-80GB-SXM"]
    assert [(r.term, r.usd_per_hour) for r in h100] == [("ondemand", Decimal("9.79655"))]
    assert {r.region for r in fetched.rows} == {"us-east4"}


@pytest.mark.parametrize(
    ("description", "usage", "expected"),
    [
        ("Nvidia Tesla A100 GPU running in Americas", "OnDemand", ("A100-40GB", "ondemand")),
        ("Nvidia Tesla A100 80GB GPU running in EMEA", "OnDemand", ("A100-80GB", "ondemand")),
        ("Nvidia H100 80GB Mega GPU running in APAC", "OnDemand", ("H100-80GB-MEGA", "ondemand")),
        (
            "Nvidia L4 GPU attached to Spot Preemptible VMs running in EMEA",
            "Preemptible",
            ("L4", "spot"),
        ),
        (
            "Commitment v1: Nvidia H100 80GB GPU running in Americas for 3 Years",
            "Commit3Yr",
            ("H100-80GB-SXM", "commit_3y"),
        ),
        (
            "Commitment v1: Nvidia L4 GPU in Americas for 3 Years",
            "Commit1Yr",
            "description contradicts usage type",
        ),
        ("Nvidia L4 GPU running in Americas", "Preemptible", "description contradicts usage type"),
        (
            "Nvidia H100 80GB GPU running in Americas (DWS Calendar Mode)",
            "OnDemand",
            "DWS / Flex-start / Calendar-mode SKU (kept apart)",
        ),
        ("Nvidia RTX 6000 96GB GPU running in Americas", "OnDemand", "not an accelerator SKU"),
    ],
)
def test_gcp_descriptions_are_matched_exactly_with_their_usage_type(
    description: str, usage: str, expected: tuple[str, str] | str
) -> None:
    assert parse_description(description, usage) == expected


@given(units=st.integers(0, 10**6), nanos=st.integers(0, 999_999_999))
def test_gcp_unit_price_is_units_plus_nanos_exactly(units: int, nanos: int) -> None:
    sku = {
        "skuId": "X",
        "pricingInfo": [
            {
                "pricingExpression": {
                    "usageUnit": "h",
                    "tieredRates": [{"unitPrice": {"units": str(units), "nanos": nanos}}],
                }
            }
        ],
    }
    assert unit_price(sku, "http://x") == Decimal(f"{units}.{nanos:09d}")


# --- refresh: layout, merge, atomicity -------------------------------------------------------


def _refresh(server: PriceServer, target: Path, **kwargs: object) -> RefreshResult:
    options: dict[str, object] = {
        "endpoints": server.endpoints,
        "gcp_api_key": KEY,
        "regions": ("us-east-1", "eastus", "us-central1", "us-east4"),
        "now": NOW,
    }
    options.update(kwargs)
    return refresh_catalog(target, **options)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_refresh_writes_prices_report_and_version(server: PriceServer, tmp_path: Path) -> None:
    result = _refresh(server, tmp_path / "catalog")

    target = tmp_path / "catalog"
    assert sorted(p.name for p in target.iterdir()) == ["VERSION", "prices.csv", "refresh.json"]
    assert (target / "VERSION").read_text() == "2026.11.28\n"
    header = (target / "prices.csv").read_text().splitlines()[0]
    assert header == ",".join(PRICE_COLUMNS)
    rows = _read_csv(target / "prices.csv")
    assert {r["term"] for r in rows} <= {"ondemand", "spot", "commit_1y", "commit_3y"}
    mine = {(r["cloud"], r["region"], r["instance_type"], r["term"]): r for r in rows}
    assert mine[("aws", "us-east-1", "p5.48xlarge", "commit_3y")]["usd_per_hour"] == "29.7216"
    assert mine[("aws", "us-east-1", "p5.48xlarge", "ondemand")]["as_of"] == "2026-11-20"
    assert (
        mine[("azure", "eastus", "Standard_NC24ads_A100_v4", "commit_1y")]["usd_per_hour"]
        == "2.2842465753"
    )
    gpu = mine[("gcp", "us-east4", "gpu:H100-80GB-SXM", "ondemand")]
    assert (gpu["usd_per_hour"], gpu["accelerator"], gpu["accelerator_count"]) == (
        "9.79655",
        "H100-80GB-SXM",
        "1",
    )
    # AWS and Azure rows take model and count from the catalog's instance types
    trn1 = mine[("aws", "us-east-1", "trn1.32xlarge", "ondemand")]
    assert (trn1["accelerator"], trn1["accelerator_count"]) == ("Trainium1", "16")
    a100 = mine[("azure", "eastus", "Standard_NC24ads_A100_v4", "spot")]
    assert (a100["accelerator"], a100["accelerator_count"]) == ("A100-80GB", "1")
    westus2 = mine.get(("azure", "westus2", "Standard_NC4as_T4_v3", "ondemand"), {})
    assert not westus2.get("source", "").startswith("azure-retail-prices")  # not asked for
    refreshed = [r for r in rows if r["source"].split(":")[0] in SOURCE_TAGS]
    assert len(refreshed) == result.rows_refreshed

    report = json.loads((target / "refresh.json").read_text())
    assert report["fetched_at"] == "2026-11-28T09:30:00Z"
    assert [s["source"] for s in report["sources"]] == ["aws", "azure", "gcp"]
    aws = report["sources"][0]
    assert aws["rows"] == {"ondemand": 8, "spot": 0, "commit_1y": 2, "commit_3y": 1}
    assert aws["urls"][0] == server.endpoints.aws_offer_index
    assert KEY not in (target / "refresh.json").read_text()
    assert result.rows_refreshed == 11 + 8 + 9  # aws, azure eastus, gcp us-central1 + us-east4
    assert result.rows_written == result.rows_refreshed + result.rows_kept


def test_refresh_replaces_refreshed_rows_and_keeps_the_others(
    server: PriceServer, tmp_path: Path
) -> None:
    target = tmp_path / "catalog"
    target.mkdir()
    previous = [
        [
            "aws",
            "us-east-1",
            "p5.48xlarge",
            "H100-80GB-SXM",
            "8",
            "ondemand",
            "98.32",
            "old",
            "2025-01-01",
        ],
        [
            "aws",
            "us-east-1",
            "p5.48xlarge",
            "H100-80GB-SXM",
            "8",
            "spot",
            "17.6",
            "snap",
            "2025-01-01",
        ],
        [
            "gcp",
            "us-central1",
            "a3-highgpu-8g",
            "H100-80GB-SXM",
            "8",
            "ondemand",
            "88.49",
            "c",
            "2025-01-01",
        ],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([list(PRICE_COLUMNS), *previous])
    (target / "prices.csv").write_text(buffer.getvalue())

    result = _refresh(server, target, sources=("aws",), regions=("us-east-1",))

    rows = {
        (r["cloud"], r["instance_type"], r["term"]): r for r in _read_csv(target / "prices.csv")
    }
    assert rows[("aws", "p5.48xlarge", "ondemand")]["usd_per_hour"] == "55.04"
    assert rows[("aws", "p5.48xlarge", "spot")]["usd_per_hour"] == "17.6"  # spot: not in bulk
    assert rows[("gcp", "a3-highgpu-8g", "ondemand")]["usd_per_hour"] == "88.49"
    assert result.rows_kept == 2 and result.rows_refreshed == 11


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


FAILURES: dict[str, tuple[str, Reply, str]] = {
    "azure page 2 answers 500": (
        "/api/retail/prices#2",
        Reply(500, b"upstream timeout"),
        "/api/retail/prices?",
    ),
    "gcp page 2 is cut-off JSON": (
        "/v1/services/6F81-5844-456A/skus#2",
        Reply(200, (DATA / "gcp" / "skus-page2.json").read_bytes()[:700]),
        "/v1/services/6F81-5844-456A/skus?",
    ),
    "aws csv shorter than its Content-Length": (
        f"{EC2}/20261120183037/us-east-1/index.csv",
        Reply(
            200,
            (DATA / "aws" / "us-east-1.csv").read_bytes()[:5000],
            "text/csv",
            declared_length=len((DATA / "aws" / "us-east-1.csv").read_bytes()),
        ),
        f"{EC2}/20261120183037/us-east-1/index.csv",
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failed_refresh_leaves_the_previous_catalog_byte_identical(
    server: PriceServer, tmp_path: Path, failure: str
) -> None:
    target = tmp_path / "catalog"
    _refresh(server, target, now=datetime(2026, 1, 2, tzinfo=UTC))
    before = _snapshot(target)
    path, reply, url_part = FAILURES[failure]
    server.overrides[path] = reply

    with pytest.raises(CatalogRefreshError) as caught:
        _refresh(server, target)

    assert _snapshot(target) == before
    message = str(caught.value)
    assert server.base + url_part in message
    assert KEY not in message
    assert "Expected:" in message and "To fix:" in message


def test_an_unreachable_or_stalled_source_is_an_error_naming_its_url(
    server: PriceServer, tmp_path: Path
) -> None:
    server.overrides["/offers/v1.0/aws/index.json"] = Reply(200, b"{}", delay=1.0)
    with httpx.Client(timeout=0.2) as impatient, pytest.raises(CatalogRefreshError) as stalled:
        _refresh(server, tmp_path / "a", sources=("aws",), client=impatient)
    assert "ReadTimeout" in str(stalled.value)
    assert server.endpoints.aws_offer_index in str(stalled.value)

    closed = Endpoints(aws_offer_index="http://127.0.0.1:9/offers/v1.0/aws/index.json")
    with pytest.raises(CatalogRefreshError, match=r"127\.0\.0\.1:9/offers.*ConnectError"):
        _refresh(server, tmp_path / "b", sources=("aws",), endpoints=closed)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_gcp_without_key_is_skipped_by_default_and_an_error_when_asked_for(
    server: PriceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIFINOPS_GCP_API_KEY", raising=False)
    result = _refresh(server, tmp_path / "c", gcp_api_key=None)
    assert [s.source for s in result.sources] == ["aws", "azure"]
    assert result.skipped_sources == (
        "gcp: no API key (set AIFINOPS_GCP_API_KEY to refresh GCP prices)",
    )

    with pytest.raises(CatalogRefreshError, match="AIFINOPS_GCP_API_KEY"):
        _refresh(server, tmp_path / "d", gcp_api_key=None, sources=("gcp",))

    server.requests.clear()
    with pytest.raises(CatalogRefreshError, match=r"HTTP 403.*check the API key"):
        _refresh(server, tmp_path / "e", gcp_api_key="wrong", sources=("gcp",))


def test_unknown_sources_and_regions_of_no_requested_cloud_are_bad_input(
    server: PriceServer, tmp_path: Path
) -> None:
    with pytest.raises(BadInputError, match="unknown price source"):
        _refresh(server, tmp_path, sources=("oracle",))
    with pytest.raises(BadInputError, match="nothing to refresh"):
        _refresh(server, tmp_path, sources=("azure",), regions=("us-east-1",))


def test_duplicate_keys_keep_the_first_price_and_warn() -> None:
    row = PriceRow(
        "azure", "eastus", "Standard_NC4as_T4_v3", "ondemand", Decimal("0.526"), "a", "d"
    )
    same = PriceRow(
        "azure", "eastus", "standard_nc4as_t4_v3", "ondemand", Decimal("0.526"), "b", "d"
    )
    other = PriceRow(
        "azure", "eastus", "Standard_NC4as_T4_v3", "ondemand", Decimal("0.61"), "c", "d"
    )

    rows, warnings = deduplicate([row, same, other])

    assert rows == [row]
    assert len(warnings) == 1 and "0.526 (a) kept, 0.61 (c) dropped" in warnings[0]


@given(st.decimals(min_value=0, max_value=10**6, places=12, allow_nan=False))
def test_written_decimals_read_back_equal(value: Decimal) -> None:
    text = format_decimal(value)
    assert "E" not in text and Decimal(text) == value


def test_refreshed_directory_overrides_package_prices(server: PriceServer, tmp_path: Path) -> None:
    target = tmp_path / "catalog"
    _refresh(server, target, now=datetime(2027, 1, 15, tzinfo=UTC))

    package, refreshed = load_catalog(), load_catalog(target)
    a100_spot = ("azure", "eastus", "Standard_NC24ads_A100_v4", "spot")
    assert package.price(*a100_spot) != Decimal("0.4407")
    assert refreshed.price(*a100_spot) == Decimal("0.4407")
    assert refreshed.price("aws", "us-east-1", "p5.48xlarge", "commit_3y") == Decimal("29.7216")
    assert refreshed.price("gcp", "us-east4", "gpu:H100-80GB-SXM", "ondemand") == Decimal("9.79655")
    assert refreshed.version == "2027.01.15"
    # what no source refreshed (AWS spot) is still the package's
    spot = ("aws", "us-east-1", "p5.48xlarge", "spot")
    assert refreshed.price(*spot) == package.price(*spot)


# --- CLI -------------------------------------------------------------------------------------


def _cli_env(server: PriceServer) -> dict[str, str]:
    return {
        "AIFINOPS_AWS_PRICING_URL": server.endpoints.aws_offer_index,
        "AIFINOPS_AZURE_PRICES_URL": server.endpoints.azure_prices,
        "AIFINOPS_GCP_BILLING_URL": server.endpoints.gcp_billing,
        "AIFINOPS_GCP_API_KEY": KEY,
    }


def _app() -> object:
    import typer

    from aifinops.cli_catalog_refresh import refresh

    app = typer.Typer()
    app.command("refresh")(refresh)
    app.command("noop", hidden=True)(lambda: None)  # keeps "refresh" a subcommand
    return app


def test_cli_refresh_prints_a_summary_per_source(server: PriceServer, tmp_path: Path) -> None:
    target = tmp_path / "cat"
    result = CliRunner().invoke(
        _app(),  # type: ignore[arg-type]
        [
            "refresh",
            "--output",
            str(target),
            "--region",
            "us-east-1",
            "--region",
            "eastus",
            "--region",
            "us-central1",
            "--format",
            "json",
        ],
        env=_cli_env(server),
    )

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rows = {row["source"]: row for row in payload["rows"]}
    assert rows["aws"]["ondemand"] == 8 and rows["aws"]["commit_1y"] == 2
    assert rows["azure"]["commit_3y"] == 1
    assert rows["gcp"]["spot"] == 2  # T4 and TPU v5e in us-central1
    assert rows["gcp"]["url"] == server.endpoints.gcp_billing + "/services?key=REDACTED"
    assert (target / "prices.csv").is_file()


def test_cli_refresh_reads_the_catalog_dir_from_the_environment(
    server: PriceServer, tmp_path: Path
) -> None:
    env = _cli_env(server) | {"AIFINOPS_CATALOG": str(tmp_path / "from-env")}
    result = CliRunner().invoke(
        _app(),  # type: ignore[arg-type]
        ["refresh", "--source", "azure", "--region", "eastus", "--format", "csv"],
        env=env,
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("source,")
    assert (tmp_path / "from-env" / "prices.csv").is_file()


def test_cli_refresh_failure_exits_2_and_names_the_url(server: PriceServer, tmp_path: Path) -> None:
    server.overrides["/api/retail/prices"] = Reply(500, b"boom")
    result = CliRunner().invoke(
        _app(),  # type: ignore[arg-type]
        ["refresh", "--source", "azure", "--output", str(tmp_path / "x"), "--format", "json"],
        env=_cli_env(server),
    )

    assert result.exit_code == 2
    assert "HTTP 500" in result.output and "/api/retail/prices" in result.output
    assert not (tmp_path / "x").exists()
