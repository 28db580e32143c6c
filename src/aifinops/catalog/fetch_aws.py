"""AWS prices from the Price List bulk API (public, no credentials).

Offer index (``.../offers/v1.0/aws/index.json``) -> ``offers.AmazonEC2.currentRegionIndexUrl``
-> region index -> each region's ``currentVersionUrl`` with ``.json`` replaced by ``.csv``.
A region CSV starts with five metadata lines (FormatVersion, Disclaimer, Publication Date,
Version, OfferCode), then a header row, then one row per SKU x term x rate. Real files are
gigabytes: they are read line by line and only accelerated Linux rows are kept.

Kept rows: ``Product Family`` = Compute Instance, an accelerated instance (``GPU`` > 0 or a
family in :data:`ACCELERATED_FAMILIES`), ``Operating System`` = Linux, ``Tenancy`` = Shared,
``Pre Installed S/W`` = NA, ``CapacityStatus`` = Used, ``MarketOption`` (when present) =
OnDemand, ``Unit`` = Hrs, USD, price > 0. ``TermType`` OnDemand -> ``ondemand``; Reserved
``standard`` ``No Upfront`` 1yr / 3yr -> ``commit_1y`` / ``commit_3y`` (the hourly rate).
Spot prices are not in the bulk files.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin

import httpx

from aifinops.catalog.refresh_http import get_json, stream_lines
from aifinops.catalog.refresh_model import CatalogRefreshError, Fetched, PriceRow

#: Regions read when none is asked for: each region file is large, so only the busiest.
DEFAULT_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "eu-north-1",
    "ap-northeast-1",
    "ap-south-1",
)
#: Instance families that are accelerated even where the file's GPU column is 0 or empty
#: (Trainium, Inferentia, Gaudi): p*, g*, gr*, trn*, inf*, dl*.
ACCELERATED_FAMILIES = re.compile(r"^(p|g|gr|trn|inf|dl)\d", re.IGNORECASE)
METADATA_LINES = 5
REQUIRED_COLUMNS = (
    "TermType",
    "PricePerUnit",
    "Unit",
    "Currency",
    "Instance Type",
    "Operating System",
    "Tenancy",
    "Pre Installed S/W",
    "CapacityStatus",
    "LeaseContractLength",
    "PurchaseOption",
    "OfferingClass",
    "Product Family",
    "GPU",
    "RateCode",
)
_COMMIT_TERMS = {"1yr": "commit_1y", "3yr": "commit_3y"}
_PREFILTER = ("Product Family", "Instance Type", "GPU")
_MIB = 1 << 20
_EXPECTED_INDEX = "an AWS Price List offer index with offers.AmazonEC2.currentRegionIndexUrl"
_EXPECTED_REGIONS = "an AWS Price List region index with regions.<code>.currentVersionUrl"
_EXPECTED_CSV = (
    "an AWS Price List CSV: 5 metadata lines (FormatVersion ... OfferCode), then a header "
    "with " + ", ".join(REQUIRED_COLUMNS)
)

Progress = Callable[[str, int, int], None]


def fetch_aws(
    client: httpx.Client,
    offer_index_url: str,
    *,
    regions: tuple[str, ...] | None = None,
    families: re.Pattern[str] = ACCELERATED_FAMILIES,
    progress: Progress | None = None,
) -> Fetched:
    """Read EC2 on-demand and reserved prices of accelerated instances from the bulk files.

    Args:
        client: the HTTP client.
        offer_index_url: the offer index (``Endpoints.aws_offer_index``).
        regions: region codes to read (default :data:`DEFAULT_REGIONS`).
        families: instance families kept even without a GPU count.
        progress: ``(step, done, total)`` callback, MiB per region.

    Raises:
        CatalogRefreshError: a document cannot be read, or a region is not in the index.
    """
    index = get_json(client, offer_index_url, expected=_EXPECTED_INDEX)
    region_index_url = urljoin(offer_index_url, _path(index, offer_index_url))
    listing = get_json(client, region_index_url, expected=_EXPECTED_REGIONS)
    available = listing.get("regions")
    if not isinstance(available, dict):
        raise CatalogRefreshError(
            "no 'regions' object in the region index",
            url=region_index_url,
            expected=_EXPECTED_REGIONS,
        )
    wanted = regions if regions else DEFAULT_REGIONS
    unknown = [r for r in wanted if r not in available]
    if unknown and regions:
        raise CatalogRefreshError(
            f"region(s) {', '.join(unknown)} are not in the AWS price list",
            url=region_index_url,
            expected="one of " + ", ".join(sorted(available)),
            fix="pass AWS region codes such as us-east-1 with --region.",
        )
    fetched = Fetched(source="aws", as_of="", regions=tuple(r for r in wanted if r in available))
    fetched.read(offer_index_url)
    fetched.read(region_index_url)
    for region in fetched.regions:
        url = urljoin(region_index_url, _csv_path(available[region], region, region_index_url))
        fetched.read(url)
        as_of = _read_region(client, url, region, families, fetched, progress)
        fetched.as_of = max(fetched.as_of, as_of)
    return fetched


def _path(index: dict[str, object], url: str) -> str:
    offers = index.get("offers")
    ec2 = offers.get("AmazonEC2") if isinstance(offers, dict) else None
    path = ec2.get("currentRegionIndexUrl") if isinstance(ec2, dict) else None
    if not isinstance(path, str) or not path:
        raise CatalogRefreshError(
            "the offer index has no AmazonEC2 currentRegionIndexUrl",
            url=url,
            expected=_EXPECTED_INDEX,
        )
    return path


def _csv_path(entry: object, region: str, url: str) -> str:
    path = entry.get("currentVersionUrl") if isinstance(entry, dict) else None
    if not isinstance(path, str) or not path.endswith(".json"):
        raise CatalogRefreshError(
            f"region {region} has no currentVersionUrl ending in .json",
            url=url,
            expected=_EXPECTED_REGIONS,
        )
    return path[: -len(".json")] + ".csv"


def _read_region(
    client: httpx.Client,
    url: str,
    region: str,
    families: re.Pattern[str],
    fetched: Fetched,
    progress: Progress | None,
) -> str:
    step = f"aws {region}"
    with stream_lines(client, url, expected=_EXPECTED_CSV) as (lines, size):
        total = -(-size // _MIB) if size else 0
        counted = _counting(lines, step, total, progress)
        reader = csv.reader(counted)
        try:
            as_of = _rows(reader, url, region, families, fetched)
        except csv.Error as exc:
            raise CatalogRefreshError(
                f"line {reader.line_num}: not CSV ({exc})", url=url, expected=_EXPECTED_CSV
            ) from exc
        if progress is not None:
            progress(step, total, total)
    return as_of


def _rows(
    reader: Iterator[list[str]], url: str, region: str, families: re.Pattern[str], fetched: Fetched
) -> str:
    as_of = _metadata(reader, url)
    columns = _header(reader, url)
    product_at, type_at, gpu_at = (columns.index(c) for c in _PREFILTER)
    for line, row in enumerate(reader, start=METADATA_LINES + 2):
        if len(row) != len(columns):
            if not any(row):
                continue
            raise CatalogRefreshError(
                f"line {line} has {len(row)} fields, the header {len(columns)}; "
                "the file may have been cut off",
                url=url,
                expected=_EXPECTED_CSV,
            )
        # Most rows of a real file stop at these two checks, before a dict is built.
        if row[product_at] != "Compute Instance":
            fetched.skipped["not an instance"] += 1
            continue
        if not _accelerated(row[gpu_at], row[type_at], families):
            fetched.skipped["not accelerated"] += 1
            continue
        price = _price_row(dict(zip(columns, row, strict=True)), region, as_of, families, fetched)
        if price is not None:
            fetched.rows.append(price)
    return as_of


def _counting(
    lines: Iterator[str], step: str, total: int, progress: Progress | None
) -> Iterator[str]:
    done = 0
    for number, line in enumerate(lines):
        done += len(line) + 1
        if progress is not None and number % 20_000 == 0:
            mib = done // _MIB
            progress(step, mib, max(total, mib + 1))
        yield line


def _metadata(reader: Iterator[list[str]], url: str) -> str:
    meta: dict[str, str] = {}
    for _ in range(METADATA_LINES):
        row = next(reader, None)
        if not row:
            raise CatalogRefreshError(
                "the file ends inside its metadata lines", url=url, expected=_EXPECTED_CSV
            )
        meta[row[0]] = row[1] if len(row) > 1 else ""
    if "FormatVersion" not in meta or meta.get("OfferCode") != "AmazonEC2":
        raise CatalogRefreshError(
            f"the metadata lines are not an AmazonEC2 price list (got {sorted(meta)})",
            url=url,
            expected=_EXPECTED_CSV,
        )
    return meta.get("Publication Date", "")[:10]


def _header(reader: Iterator[list[str]], url: str) -> list[str]:
    header = next(reader, None)
    if header is None:
        raise CatalogRefreshError("the file has no header row", url=url, expected=_EXPECTED_CSV)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CatalogRefreshError(
            f"the header lacks {', '.join(missing)}", url=url, expected=_EXPECTED_CSV
        )
    return header


def _price_row(
    record: dict[str, str],
    region: str,
    as_of: str,
    families: re.Pattern[str],
    fetched: Fetched,
) -> PriceRow | None:
    reason, term = _classify(record, families)
    if term is None:
        fetched.skipped[reason] += 1
        return None
    price = _decimal(record["PricePerUnit"])
    if price is None or price <= 0:
        fetched.skipped["no price"] += 1
        return None
    gpus = _decimal(record["GPU"])
    return PriceRow(
        cloud="aws",
        region=record.get("Region Code") or region,
        instance_type=record["Instance Type"],
        term=term,
        usd_per_hour=price,
        source=f"aws-price-list:{record['RateCode']}",
        as_of=as_of,
        accelerator_count=gpus if gpus is not None and gpus > 0 else None,
    )


def _classify(record: dict[str, str], families: re.Pattern[str]) -> tuple[str, str | None]:
    """Return (why skipped, None) or ("", term)."""
    if record["Product Family"] != "Compute Instance":
        return "not an instance", None
    if not _accelerated(record["GPU"], record["Instance Type"], families):
        return "not accelerated", None
    checks = (
        ("not Linux", record["Operating System"] == "Linux"),
        ("not shared tenancy", record["Tenancy"] == "Shared"),
        ("pre-installed software", record["Pre Installed S/W"] in ("NA", "")),
        ("capacity not used", record["CapacityStatus"] == "Used"),
        ("not on-demand market", record.get("MarketOption", "OnDemand") in ("OnDemand", "")),
        ("not USD", record["Currency"] == "USD"),
        ("not hourly", record["Unit"] == "Hrs"),
    )
    for reason, ok in checks:
        if not ok:
            return reason, None
    if record["TermType"] == "OnDemand":
        return "", "ondemand"
    if record["TermType"] != "Reserved":
        return "other term type", None
    if record["OfferingClass"] != "standard" or record["PurchaseOption"] != "No Upfront":
        return "reserved: not standard no-upfront", None
    term = _COMMIT_TERMS.get(record["LeaseContractLength"])
    return ("reserved: other length", None) if term is None else ("", term)


def _accelerated(gpu: str, instance_type: str, families: re.Pattern[str]) -> bool:
    count = _decimal(gpu)
    return (count is not None and count > 0) or families.match(instance_type) is not None


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text.strip() else None
    except InvalidOperation:
        return None
