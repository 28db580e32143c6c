"""Small lakes for the allocation tests: FOCUS CSV rows written here, then ingested for real."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aifinops.ingest.pipeline import ingest
from aifinops.lake import Lake

HEADER = (
    "ProviderName",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeFrequency",
    "PricingCategory",
    "ServiceName",
    "ServiceCategory",
    "RegionId",
    "SubAccountId",
    "ResourceId",
    "SkuId",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "Tags",
)
DEFAULTS: dict[str, str] = {
    "ProviderName": "AWS",
    "BillingAccountId": "111111111111",
    "BillingCurrency": "USD",
    "ChargeCategory": "Usage",
    "ChargeFrequency": "Usage-Based",
    "PricingCategory": "Standard",
    "ServiceName": "Amazon EC2",
    "ServiceCategory": "Compute",
    "RegionId": "us-east-1",
    "SubAccountId": "222222222222",
}


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return f"{year + mon // 12}-{mon % 12 + 1:02d}"


def focus_row(
    cost: str, *, month: str = "2026-08", tags: Mapping[str, Any] | str | None = None, **cols: str
) -> dict[str, str]:
    """Return one CSV row: ``cost`` in every cost column, ``tags`` as a JSON object."""
    start, end = f"{month}-01T00:00:00Z", f"{_next_month(month)}-01T00:00:00Z"
    if isinstance(tags, str) or tags is None:
        text = tags or ""
    else:
        text = json.dumps(dict(tags), ensure_ascii=False)
    row = {
        **DEFAULTS,
        "BillingAccountName": "acct",
        "BillingPeriodStart": start,
        "BillingPeriodEnd": end,
        "ChargePeriodStart": start,
        "ChargePeriodEnd": f"{month}-02T00:00:00Z",
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ListCost": cost,
        "ContractedCost": cost,
        "Tags": text,
    }
    row.update(cols)
    return row


def build_lake(root: Path, rows: Sequence[Mapping[str, str]]) -> Lake:
    """Write ``rows`` as a FOCUS CSV under ``root`` and ingest it into a new lake."""
    root.mkdir(parents=True, exist_ok=True)
    source = root / "costs.csv"
    with open(source, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    lake = Lake.open(root / "lake")
    ingest([source], lake)
    return lake
