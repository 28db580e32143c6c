"""Google Cloud BigQuery detailed (resource-level) billing export rows, as JSON Lines.

One JSON object per row with the export's nested fields: ``service``, ``sku``, ``project``
(with ``labels``), ``labels``, ``system_labels``, ``location``, ``resource``, ``usage``,
``credits``, ``invoice``, ``price``, ``cost_type``; timestamps as BigQuery prints them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.demo.charges import Charge, month_bounds
from aifinops.demo.commitments import GCP_CUD
from aifinops.demo.company import GCP_PROJECT_NUMBERS, SUB_ACCOUNTS
from aifinops.demo.truth import service_of

_GIB = 2**30
_ORG = "837462915504"


def _ts(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _num(value: Decimal) -> float | int:
    """Return ``value`` as a JSON number whose text is exactly the decimal."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _kv(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted((tags or {}).items())]


def _usage(charge: Charge) -> dict[str, Any] | None:
    sku, qty = charge.sku, charge.quantity
    if sku is None or qty is None:
        return None
    if sku.pricing_unit == "Hours":
        amount = qty * 3600
    elif sku.pricing_unit == "GiB-Hours":
        amount = qty * 3600 * _GIB
    else:
        start, end = month_bounds(charge.start)
        amount = qty * _GIB * int((end - start).total_seconds())
    return {
        "amount": _num(amount.to_integral_value()),
        "unit": sku.native["usage_unit"],
        "amount_in_pricing_units": _num(qty),
        "pricing_unit": sku.native["pricing_unit"],
    }


def _project(charge: Charge) -> dict[str, Any]:
    sub = SUB_ACCOUNTS[charge.sub]
    number = GCP_PROJECT_NUMBERS[charge.sub]
    team = {"gcp-research": "llm-research", "gcp-serving": "applied-ml", "gcp-data": "data-eng"}[
        charge.sub
    ]
    return {
        "id": sub.id,
        "number": number,
        "name": sub.name,
        "labels": [{"key": "team", "value": team}],
        "ancestry_numbers": f"/{_ORG}/{number}/",
        "ancestors": [
            {"resource_name": f"projects/{number}", "display_name": sub.id},
            {"resource_name": f"organizations/{_ORG}", "display_name": "nimbuslabs.example"},
        ],
    }


def _credits(charge: Charge) -> list[dict[str, Any]]:
    if charge.kind != "cud-usage":
        return []
    return [
        {
            "name": "Committed use discount: Nvidia L4 GPU",
            "amount": _num(-charge.list_cost),
            "full_name": None,
            "id": GCP_CUD.id,
            "type": "COMMITTED_USAGE_DISCOUNT",
        }
    ]


def _system_labels(charge: Charge) -> list[dict[str, str]]:
    sku = charge.sku
    if sku is None or charge.resource is None or "compute.googleapis.com" not in charge.resource:
        return []
    labels = {
        "compute.googleapis.com/machine_spec": sku.instance_type or "",
        "compute.googleapis.com/cores": "",
        "compute.googleapis.com/memory": "",
    }
    return [{"key": k, "value": v} for k, v in labels.items() if v]


def bq_row(charge: Charge) -> dict[str, Any]:
    """Return the BigQuery detailed-export row of one GCP charge."""
    sub = SUB_ACCOUNTS[charge.sub]
    service = service_of(charge)
    sku = charge.sku
    zone = charge.zone
    price = charge.commitment_rate if charge.kind == "cud-usage" else charge.list_price
    row: dict[str, Any] = {
        "billing_account_id": sub.billing_id,
        "service": {"id": service.code, "description": service.name},
        "sku": {"id": sku.native["sku_id"], "description": charge.description}
        if sku
        else {"id": "6F35-1D20-8F23", "description": charge.description},
        "usage_start_time": _ts(charge.start),
        "usage_end_time": _ts(charge.end),
        "project": _project(charge),
        "labels": _kv(charge.tags),
        "system_labels": _system_labels(charge),
        "tags": [],
        "location": {
            "location": zone or sub.region,
            "country": "US",
            "region": sub.region,
            "zone": zone,
        },
        "resource": {"name": charge.resource_name, "global_name": charge.resource}
        if charge.resource_name
        else {"name": None, "global_name": None},
        "export_time": _ts(charge.end + timedelta(hours=3)),
        "cost": _num(charge.list_cost if charge.kind == "cud-usage" else charge.billed),
        "currency": "USD",
        "currency_conversion_rate": 1,
        "usage": _usage(charge),
        "credits": _credits(charge),
        "invoice": {"month": charge.month.replace("-", ""), "publisher_type": "GOOGLE"},
        "cost_type": "tax" if charge.kind == "tax" else "regular",
        "adjustment_info": None,
        "cost_at_list": _num(charge.list_cost),
        "transaction_type": "GOOGLE",
        "seller_name": "Google",
        "price": {
            "effective_price": _num(price),
            "tier_start_amount": 0,
            "unit": sku.native["pricing_unit"],
            "pricing_unit_quantity": 1,
        }
        if sku and price is not None
        else None,
        "subscription": {"instance_id": GCP_CUD.id} if charge.kind == "cud-fee" else None,
    }
    return row


def bq_line(charge: Charge) -> str:
    """Return the JSON Lines text of one GCP charge."""
    return json.dumps(bq_row(charge), separators=(",", ":"))
