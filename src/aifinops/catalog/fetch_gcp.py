"""GCP accelerator prices from the Cloud Billing Catalog API (needs an API key).

``GET <gcp_billing>/services?key=K`` finds Compute Engine (``6F81-5844-456A``), then
``GET <gcp_billing>/services/<id>/skus?key=K&currencyCode=USD&pageToken=T`` is read page by
page until ``nextPageToken`` is empty.

GPUs are billed apart from their host VM, and TPU v5e / v5p / v6e chips are Compute Engine
SKUs too: each recognised SKU gives one row per region in ``serviceRegions`` with
``instance_type`` ``gpu:<model>`` (TPU chips too: ``gpu:TPU-v5e``), ``accelerator`` the model
and ``accelerator_count`` 1, priced per accelerator-hour. Recognition follows CATALOG.md 1.4:
the exact description and the usage type, never a substring:

- the description is cut into a *name* and a *geography*: ``<name> GPU running in <geo>``,
  ``<name> GPU attached to Spot Preemptible VMs running in <geo>``, ``Commitment v1: <name>
  [GPU] in <geo> for 1 Year`` / ``for 3 Years``, ``[Preemptible ]<TPU name> chip running in
  <geo>``; the name must be one of :data:`GPU_NAMES` exactly (case-insensitive);
- ``category.usageType`` gives the term: OnDemand -> ``ondemand`` (``spot`` when the
  description says Preemptible or Spot, as preemptible TPU SKUs do), Preemptible -> ``spot``,
  Commit1Yr / Commit3Yr -> ``commit_1y`` / ``commit_3y``; a description that contradicts its
  usage type is left out;
- Dynamic Workload Scheduler SKUs (DWS, Flex-start, Calendar mode, Defined Duration) are kept
  apart: they never become on-demand prices (they are counted in the report, not written).

Price: ``pricingInfo[0].pricingExpression.tieredRates[0].unitPrice`` = ``units`` +
``nanos`` / 10^9, exactly (Decimal); ``usageUnit`` must be ``h``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from aifinops.catalog.refresh_http import get_json
from aifinops.catalog.refresh_model import GCP_KEY_ENV, CatalogRefreshError, Fetched, PriceRow

COMPUTE_SERVICE_ID = "6F81-5844-456A"
COMPUTE_SERVICE_NAME = "Compute Engine"
#: SKU name (the description without term and geography) -> normalised accelerator model.
#: NOTE: the catalog's accelerators.csv aliases say the same; this table is the SKU words only.
GPU_NAMES = {
    "nvidia tesla t4": "T4",
    "nvidia tesla v100": "V100-16GB",
    "nvidia tesla p100": "P100",
    "nvidia tesla p4": "P4",
    "nvidia tesla k80": "K80",
    "nvidia tesla a100": "A100-40GB",
    "nvidia tesla a100 80gb": "A100-80GB",
    "nvidia a100 80gb": "A100-80GB",
    "nvidia l4": "L4",
    "nvidia h100 80gb": "H100-80GB-SXM",
    "nvidia h100 80gb mega": "H100-80GB-MEGA",
    "nvidia h100 mega 80gb": "H100-80GB-MEGA",
    "nvidia h100 80gb plus": "H100-80GB-MEGA",
    "nvidia h200 141gb": "H200-141GB",
    "nvidia b200": "B200",
    "tpuv5e": "TPU-v5e",
    "tpu v5e": "TPU-v5e",
    "tpuv5p": "TPU-v5p",
    "tpu v5p": "TPU-v5p",
    "tpuv6e": "TPU-v6e",
    "tpu v6e": "TPU-v6e",
}
_DWS = re.compile(
    r"\bDWS\b|flex[- ]?start|calendar[- ]mode|defined duration|dynamic workload", re.IGNORECASE
)
_COMMIT = re.compile(
    r"^Commitment v1: (?P<name>.+?)(?: running)? in (?P<geo>[^()]+) for (?P<years>[13]) Years?$",
    re.IGNORECASE,
)
_RUNNING = re.compile(
    r"^(?P<pre>Preemptible |Spot )?(?P<name>.+?)"
    r"(?P<spot> attached to Spot(?: Preemptible)? VMs)? running in (?P<geo>[^()]+)$",
    re.IGNORECASE,
)
_UNIT_WORD = re.compile(r" (GPU|chip)$", re.IGNORECASE)
_USAGE_TERMS = {
    "OnDemand": "ondemand",
    "Preemptible": "spot",
    "Commit1Yr": "commit_1y",
    "Commit3Yr": "commit_3y",
}
_EXPECTED_SERVICES = "a Cloud Billing services page: {'services': [...], 'nextPageToken': ...}"
_EXPECTED_SKUS = "a Cloud Billing SKUs page: {'skus': [...], 'nextPageToken': ...}"
_KEY_FIX = f"set {GCP_KEY_ENV} to an API key with the Cloud Billing API enabled."
MAX_PAGES = 5_000

Progress = Callable[[str, int, int], None]


def fetch_gcp(
    client: httpx.Client,
    billing_url: str,
    api_key: str,
    *,
    regions: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> Fetched:
    """Read GPU and TPU chip prices (on-demand, spot, 1- and 3-year commitments).

    Args:
        client: the HTTP client.
        billing_url: the API root (``Endpoints.gcp_billing``, ending in ``/v1``).
        api_key: a Google Cloud API key.
        regions: regions to keep (default: every region a SKU lists).
        progress: ``(step, done, total)`` callback, pages.
        today: the ``as_of`` date written (default: today).

    Raises:
        CatalogRefreshError: a page cannot be read, is malformed, or Compute Engine is absent.
    """
    as_of = (today or date.today()).isoformat()
    fetched = Fetched(source="gcp", as_of=as_of, regions=regions or ())
    service = _compute_service(client, billing_url, api_key, fetched)
    wanted = set(regions) if regions else None
    skus = _pages(
        client,
        f"{billing_url}/services/{service}/skus",
        api_key,
        "skus",
        fetched,
        progress,
        {"currencyCode": "USD", "pageSize": "5000"},
    )
    for sku, url in skus:
        fetched.rows.extend(_rows(sku, url, as_of, wanted, fetched))
    return fetched


def instance_type_of(model: str) -> str:
    """Return the ``prices.csv`` instance type of a GCP accelerator SKU (``gpu:<model>``)."""
    return f"gpu:{model}"


def parse_description(description: str, usage_type: str) -> tuple[str, str] | str:
    """Return (model, term) for an accelerator SKU, or why it is not one."""
    if _DWS.search(description):
        return "DWS / Flex-start / Calendar-mode SKU (kept apart)"
    term = _USAGE_TERMS.get(usage_type)
    if term is None:
        return f"usage type {usage_type or 'missing'}"
    commit = _COMMIT.match(description)
    running = None if commit else _RUNNING.match(description)
    match = commit or running
    if match is None:
        return "not an accelerator SKU"
    model = GPU_NAMES.get(_UNIT_WORD.sub("", match["name"]).strip().lower())
    if model is None:
        return "not an accelerator SKU"
    says_spot = bool(running and (running["pre"] or running["spot"]))
    if commit and term != f"commit_{commit['years']}y":
        return "description contradicts usage type"
    if running and term.startswith("commit"):
        return "description contradicts usage type"
    if term == "ondemand" and says_spot:
        term = "spot"
    elif term == "spot" and not says_spot:
        return "description contradicts usage type"
    return model, term


def _compute_service(client: httpx.Client, billing_url: str, api_key: str, fetched: Fetched) -> str:
    for service, _url in _pages(
        client, f"{billing_url}/services", api_key, "services", fetched, None, {}
    ):
        if service.get("displayName") == COMPUTE_SERVICE_NAME:
            return str(service.get("serviceId") or COMPUTE_SERVICE_ID)
    raise CatalogRefreshError(
        f"no service named {COMPUTE_SERVICE_NAME!r} in the services list",
        url=f"{billing_url}/services",
        expected=_EXPECTED_SERVICES,
        fix=_KEY_FIX,
    )


def _pages(
    client: httpx.Client,
    url: str,
    api_key: str,
    field: str,
    fetched: Fetched,
    progress: Progress | None,
    extra: dict[str, str],
) -> Iterator[tuple[dict[str, Any], str]]:
    expected = _EXPECTED_SKUS if field == "skus" else _EXPECTED_SERVICES
    token = ""
    for page_number in range(1, MAX_PAGES + 1):
        params = {"key": api_key, **extra} | ({"pageToken": token} if token else {})
        page = get_json(client, url, params=params, expected=expected, fix=_KEY_FIX)
        shown = str(httpx.URL(url, params=params))
        fetched.read(shown)
        entries = page.get(field, [])
        token = page.get("nextPageToken") or ""
        if not isinstance(entries, list) or not isinstance(token, str):
            raise CatalogRefreshError(
                f"'{field}' is not a list or 'nextPageToken' not a string",
                url=shown,
                expected=expected,
            )
        if progress is not None and field == "skus":
            progress("gcp", page_number, page_number + (1 if token else 0))
        for entry in entries:
            if not isinstance(entry, dict):
                raise CatalogRefreshError(
                    f"an entry of '{field}' is not an object", url=shown, expected=expected
                )
            yield entry, shown
        if not token:
            return
    raise CatalogRefreshError(
        f"more than {MAX_PAGES} pages: nextPageToken never ends", url=url, expected=expected
    )


def _rows(
    sku: dict[str, Any], url: str, as_of: str, wanted: set[str] | None, fetched: Fetched
) -> list[PriceRow]:
    category = sku.get("category")
    if not isinstance(category, dict) or category.get("resourceFamily") != "Compute":
        fetched.skipped["not compute"] += 1
        return []
    parsed = parse_description(str(sku.get("description", "")), str(category.get("usageType")))
    if isinstance(parsed, str):
        fetched.skipped[parsed] += 1
        return []
    model, term = parsed
    price = unit_price(sku, url)
    if price is None or price <= 0:
        fetched.skipped["no hourly price"] += 1
        return []
    regions = sku.get("serviceRegions") or []
    return [
        PriceRow(
            cloud="gcp",
            region=str(region),
            instance_type=instance_type_of(model),
            term=term,
            usd_per_hour=price,
            source=f"gcp-billing-catalog:{sku.get('skuId', '')}",
            as_of=as_of,
            accelerator=model,
            accelerator_count=Decimal(1),
        )
        for region in regions
        if wanted is None or region in wanted
    ]


def unit_price(sku: dict[str, Any], url: str) -> Decimal | None:
    """Return the first tier's price per hour (units + nanos / 10^9), or None when not hourly.

    Raises:
        CatalogRefreshError: the pricing block is malformed or not in USD.
    """
    expected = "pricingInfo[0].pricingExpression.tieredRates[0].unitPrice {units, nanos} in USD"
    try:
        expression = sku["pricingInfo"][0]["pricingExpression"]
        rate = expression["tieredRates"][0]["unitPrice"]
        units = Decimal(str(rate.get("units") or "0"))
        nanos = Decimal(int(rate.get("nanos") or 0)).scaleb(-9)
        currency = rate.get("currencyCode", "USD")
    except (KeyError, IndexError, TypeError, ValueError, ArithmeticError) as exc:
        raise CatalogRefreshError(
            f"SKU {sku.get('skuId', '?')} has a malformed price ({exc!r})",
            url=url,
            expected=expected,
        ) from exc
    if currency != "USD":
        raise CatalogRefreshError(
            f"SKU {sku.get('skuId', '?')} is priced in {currency}", url=url, expected=expected
        )
    if expression.get("usageUnit") != "h":
        return None
    return units + nanos
