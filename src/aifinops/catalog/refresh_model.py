"""What a catalog refresh passes around: price rows, endpoints, per-source reports, errors.

The fetchers (``fetch_aws``, ``fetch_azure``, ``fetch_gcp``) turn public price sources into
:class:`PriceRow` values; :mod:`aifinops.catalog.refresh` merges and writes them. Rows use the
columns of the catalog's ``prices.csv`` (:data:`PRICE_COLUMNS`).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from aifinops.catalog.load import COLUMNS
from aifinops.catalog.model import TERMS as MODEL_TERMS
from aifinops.errors import BadInputError

#: The columns of ``prices.csv``, in order (the loader's own list).
PRICE_COLUMNS = COLUMNS["prices.csv"]
#: The price terms a catalog knows.
TERMS = MODEL_TERMS
#: The sources a refresh can pull, in the order it pulls them.
SOURCES = ("aws", "azure", "gcp")

#: Environment variables that point a refresh elsewhere (tests, proxies, mirrors).
AWS_URL_ENV = "AIFINOPS_AWS_PRICING_URL"
AZURE_URL_ENV = "AIFINOPS_AZURE_PRICES_URL"
GCP_URL_ENV = "AIFINOPS_GCP_BILLING_URL"
GCP_KEY_ENV = "AIFINOPS_GCP_API_KEY"

_SECRET = re.compile(r"([?&]key=)[^&#]*", re.IGNORECASE)
_REGION_KIND = (
    ("aws", re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$")),
    ("gcp", re.compile(r"^[a-z]+-[a-z]+\d+$")),
    ("azure", re.compile(r"^[a-z]+\d*$")),
)


class CatalogRefreshError(BadInputError):
    """A price source could not be read: the message names the URL, what was expected and the fix.

    The ``file`` slot of :class:`~aifinops.errors.BadInputError` holds the URL (API keys
    redacted).
    """

    def __init__(
        self, message: str, *, url: str, expected: str | None = None, fix: str | None = None
    ) -> None:
        self.url = redact(url)
        super().__init__(redact(message), file=self.url, expected=expected, fix=fix)


@dataclass(frozen=True)
class Endpoints:
    """Where each source lives; point them at a mirror or a test server.

    Attributes:
        aws_offer_index: the AWS Price List bulk API offer index (``.../aws/index.json``).
        azure_prices: the Azure Retail Prices API (``.../api/retail/prices``).
        gcp_billing: the Cloud Billing Catalog API root (``.../v1``).
    """

    aws_offer_index: str = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/index.json"
    azure_prices: str = "https://prices.azure.com/api/retail/prices"
    gcp_billing: str = "https://cloudbilling.googleapis.com/v1"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Endpoints:
        """Return the public endpoints, each replaced by its environment variable when set."""
        env = os.environ if env is None else env
        base = cls()
        return cls(
            aws_offer_index=env.get(AWS_URL_ENV) or base.aws_offer_index,
            azure_prices=env.get(AZURE_URL_ENV) or base.azure_prices,
            gcp_billing=(env.get(GCP_URL_ENV) or base.gcp_billing).rstrip("/"),
        )


@dataclass(frozen=True)
class PriceRow:
    """One row of ``prices.csv``: what one instance (or one GCP accelerator) costs an hour."""

    cloud: str
    region: str
    instance_type: str
    term: str
    usd_per_hour: Decimal
    source: str
    as_of: str
    accelerator: str = ""
    accelerator_count: Decimal | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The identity a refreshed row replaces: (cloud, region, lower-case type, term)."""
        return (self.cloud, self.region, self.instance_type.lower(), self.term)

    def as_csv(self) -> dict[str, str]:
        """Return the row as ``prices.csv`` text fields."""
        count = "" if self.accelerator_count is None else format_decimal(self.accelerator_count)
        return {
            "cloud": self.cloud,
            "region": self.region,
            "instance_type": self.instance_type,
            "accelerator": self.accelerator,
            "accelerator_count": count,
            "term": self.term,
            "usd_per_hour": format_decimal(self.usd_per_hour),
            "source": self.source,
            "as_of": self.as_of,
        }


@dataclass
class Fetched:
    """What one fetcher brought back.

    Attributes:
        source: ``aws``, ``azure`` or ``gcp``.
        rows: the price rows, before merging.
        urls: the URLs read, API keys redacted.
        regions: the regions asked for (empty: every region the source lists).
        as_of: ISO date of the source's snapshot.
        skipped: why items were left out, with counts (e.g. ``{"windows": 12}``).
        warnings: conflicts and oddities the user should know about.
    """

    source: str
    as_of: str
    rows: list[PriceRow] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    regions: tuple[str, ...] = ()
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def read(self, url: str) -> None:
        """Record a URL read (redacted)."""
        self.urls.append(redact(url))


@dataclass(frozen=True)
class SourceReport:
    """The summary of one source in a refresh: what was read, when, how many rows per term."""

    source: str
    fetched_at: str
    as_of: str
    urls: tuple[str, ...]
    regions: tuple[str, ...]
    rows_by_term: Mapping[str, int]
    skipped: Mapping[str, int]
    warnings: tuple[str, ...]

    @property
    def rows(self) -> int:
        """Rows this source contributed."""
        return sum(self.rows_by_term.values())


def redact(url: str) -> str:
    """Hide an API key in a URL (``key=...`` becomes ``key=REDACTED``)."""
    return _SECRET.sub(r"\1REDACTED", url)


def format_decimal(value: Decimal) -> str:
    """Write a Decimal in plain notation without trailing zeros (``98.3200`` -> ``98.32``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def region_kind(region: str) -> str | None:
    """Return which cloud's naming a region id follows (``us-east-1`` aws, ``eastus`` azure,
    ``us-central1`` gcp), or None."""
    for cloud, pattern in _REGION_KIND:
        if pattern.match(region):
            return cloud
    return None


def regions_for(cloud: str, regions: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Return the regions of ``regions`` that are named the way ``cloud`` names them.

    None means no filter (every region); an empty tuple means none of them is this cloud's.
    """
    if regions is None:
        return None
    return tuple(r for r in regions if region_kind(r) == cloud)
