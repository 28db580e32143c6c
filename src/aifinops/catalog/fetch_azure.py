"""Azure prices from the Retail Prices API (public, no credentials).

``GET <azure_prices>?api-version=2023-01-01-preview&$filter=serviceName eq 'Virtual Machines'
and startswith(armSkuName, 'Standard_N')`` (plus ``and armRegionName eq '<region>'`` per
region asked for), following ``NextPageLink`` until it is null.

Kept items: N-series (``armSkuName`` starting ``Standard_N``, the GPU families), USD,
``unitOfMeasure`` 1 Hour, a price > 0, Linux (``productName`` without ``Windows``), not Cloud
Services, not ``Low Priority`` and primary meters only (``isPrimaryMeterRegion`` not false).

Terms: ``type`` Consumption -> ``ondemand``, or ``spot`` when ``skuName`` ends in `` Spot``;
Reservation with ``reservationTerm`` 1 Year / 3 Years -> ``commit_1y`` / ``commit_3y``. A
reservation's ``retailPrice`` is the price of the whole term although ``unitOfMeasure`` says
1 Hour, so the hourly rate is ``retailPrice / 8760`` (1 year) or ``retailPrice / 26280``
(3 years: 3 x 8760 hours), rounded half-even to 10 decimal places. DevTestConsumption items
and the ``savingsPlan`` rates are not used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import urljoin

import httpx

from aifinops.catalog.refresh_http import get_json
from aifinops.catalog.refresh_model import CatalogRefreshError, Fetched, PriceRow

API_VERSION = "2023-01-01-preview"
SKU_PREFIX = "Standard_N"
#: Hours in a reservation term: the divisor from the term's total price to an hourly rate.
TERM_HOURS = {"1 Year": (Decimal(8760), "commit_1y"), "3 Years": (Decimal(26280), "commit_3y")}
#: The hourly rate of a reservation is rounded half-even to this exponent (10 places).
HOURLY_PLACES = Decimal("1E-10")
#: Pages followed at most per query: a guard against a NextPageLink that never ends.
MAX_PAGES = 5_000
_EXPECTED = "a Retail Prices API page: an object with an 'Items' list and 'NextPageLink'"

Progress = Callable[[str, int, int], None]


def fetch_azure(
    client: httpx.Client,
    prices_url: str,
    *,
    regions: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> Fetched:
    """Read the on-demand, spot and reservation prices of N-series (GPU) VM sizes.

    Args:
        client: the HTTP client.
        prices_url: the API (``Endpoints.azure_prices``).
        regions: ``armRegionName`` values (default: every region).
        progress: ``(step, done, total)`` callback, pages per query.
        today: the ``as_of`` date written (default: today, UTC).

    Raises:
        CatalogRefreshError: a page cannot be read or is not a Retail Prices API page.
    """
    as_of = (today or date.today()).isoformat()
    fetched = Fetched(source="azure", as_of=as_of, regions=regions or ())
    for region in regions or (None,):
        step = f"azure {region}" if region else "azure"
        for item in _items(client, prices_url, region, fetched, step, progress):
            if region and item.get("armRegionName") != region:
                fetched.skipped["other region"] += 1
                continue
            row = _price_row(item, as_of, fetched)
            if row is not None:
                fetched.rows.append(row)
    return fetched


def query_filter(region: str | None) -> str:
    """Return the OData ``$filter`` of one query."""
    text = f"serviceName eq 'Virtual Machines' and startswith(armSkuName, '{SKU_PREFIX}')"
    return text + (f" and armRegionName eq '{region}'" if region else "")


def _items(
    client: httpx.Client,
    prices_url: str,
    region: str | None,
    fetched: Fetched,
    step: str,
    progress: Progress | None,
) -> Iterator[dict[str, Any]]:
    params: dict[str, str] | None = {"api-version": API_VERSION, "$filter": query_filter(region)}
    url: str | None = prices_url
    seen: set[str] = set()
    pages = 0
    while url is not None:
        shown = str(httpx.URL(url, params=params)) if params else url
        if shown in seen or pages >= MAX_PAGES:
            raise CatalogRefreshError(
                "NextPageLink leads back to a page already read", url=shown, expected=_EXPECTED
            )
        seen.add(shown)
        page = get_json(client, url, params=params, expected=_EXPECTED)
        fetched.read(shown)
        items = page.get("Items")
        if not isinstance(items, list):
            raise CatalogRefreshError("the page has no 'Items' list", url=shown, expected=_EXPECTED)
        link = page.get("NextPageLink")
        if link is not None and not isinstance(link, str):
            raise CatalogRefreshError(
                "'NextPageLink' is neither a URL nor null", url=shown, expected=_EXPECTED
            )
        pages += 1
        if progress is not None:
            progress(step, pages, pages + (1 if link else 0))
        for item in items:
            if not isinstance(item, dict):
                raise CatalogRefreshError(
                    "an item of 'Items' is not an object", url=shown, expected=_EXPECTED
                )
            yield item
        url, params = (urljoin(shown, link) if link else None), None


def _price_row(item: dict[str, Any], as_of: str, fetched: Fetched) -> PriceRow | None:
    reason, term = _classify(item)
    price = _decimal(item.get("retailPrice"))
    if term is not None and (price is None or price <= 0):
        reason, term = "no price", None
    if term is None or price is None:
        fetched.skipped[reason] += 1
        return None
    if item.get("type") == "Reservation":
        hours, _ = TERM_HOURS[str(item["reservationTerm"])]
        price = (price / hours).quantize(HOURLY_PLACES, rounding=ROUND_HALF_EVEN)
    return PriceRow(
        cloud="azure",
        region=str(item.get("armRegionName", "")),
        instance_type=str(item["armSkuName"]),
        term=term,
        usd_per_hour=price,
        source=f"azure-retail-prices:{item.get('skuId') or item.get('meterId') or ''}",
        as_of=as_of,
    )


def _classify(item: dict[str, Any]) -> tuple[str, str | None]:
    """Return (why skipped, None) or ("", term)."""
    sku = str(item.get("skuName") or "")
    product = str(item.get("productName") or "")
    checks = (
        ("not N-series", str(item.get("armSkuName") or "").startswith(SKU_PREFIX)),
        ("no region", bool(item.get("armRegionName"))),
        ("not USD", item.get("currencyCode", "USD") == "USD"),
        ("windows", "Windows" not in product),
        ("cloud services", "Cloud Services" not in product and "CloudServices" not in product),
        ("low priority", not sku.endswith(" Low Priority")),
        ("non-primary meter", item.get("isPrimaryMeterRegion", True) is not False),
        ("not hourly", item.get("unitOfMeasure") == "1 Hour"),
    )
    for reason, ok in checks:
        if not ok:
            return reason, None
    kind = item.get("type")
    if kind == "Consumption":
        return "", "spot" if sku.endswith(" Spot") else "ondemand"
    if kind == "Reservation":
        term = TERM_HOURS.get(str(item.get("reservationTerm")))
        return ("reservation: other term", None) if term is None else ("", term[1])
    return f"type {kind}", None


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        return Decimal(value)
    except ArithmeticError:
        return None
