"""Google Cloud BigQuery detailed (resource-level) billing export rows, as JSON Lines.

One JSON object per row with the export's nested fields: ``service``, ``sku``, ``project``
(with ``labels``), ``labels``, ``system_labels``, ``location``, ``resource``, ``usage``,
``credits``, ``invoice``, ``price``, ``cost_type``; timestamps as BigQuery prints them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from aifinops.demo.charges import Charge, Sku, month_bounds
from aifinops.demo.commitments import GCP_CUD
from aifinops.demo.company import GCP_PROJECT_NUMBERS, SUB_ACCOUNTS
from aifinops.demo.truth import service_of, system_labels

_GIB = 2**30
_ORG = "837462915504"


@lru_cache(maxsize=4096)
def _ts(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _num(value: Decimal) -> float | int:
    """Return ``value`` as a JSON number whose text is exactly the decimal."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _kv(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted((tags or {}).items())]


def _amount(charge: Charge, sku: Sku, qty: Decimal) -> Decimal:
    if sku.pricing_unit == "Hours":
        return qty * 3600
    if sku.pricing_unit == "GiB-Hours":
        return qty * 3600 * _GIB
    start, end = month_bounds(charge.start)
    return qty * _GIB * int((end - start).total_seconds())


def _usage(charge: Charge) -> dict[str, Any] | None:
    sku, qty = charge.sku, charge.quantity
    if sku is None or qty is None:
        return None
    amount = _amount(charge, sku, qty)
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
    return [{"key": k, "value": v} for k, v in sorted(system_labels(charge).items())]


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


def _text(value: Decimal) -> str:
    """Return the JSON text of :func:`_num` of ``value``."""
    if value == value.to_integral_value():
        return str(int(value))
    return repr(float(value))


def bq_template(charge: Charge) -> str:
    """Return the JSON line of ``charge`` as a format string of :func:`bq_values`."""
    row = bq_row(charge)
    row.update(usage_start_time="@@0@@", usage_end_time="@@1@@", export_time="@@2@@")
    row.update(cost="@@3@@", cost_at_list="@@7@@")
    if row["usage"] is not None:
        row["usage"].update(amount="@@4@@", amount_in_pricing_units="@@5@@")
    if row["credits"]:
        row["credits"][0]["amount"] = "@@6@@"
    if row["price"] is not None:
        row["price"]["effective_price"] = "@@8@@"
    text = json.dumps(row, separators=(",", ":")).replace("{", "{{").replace("}", "}}")
    return re.sub(r'"@@(\d)@@"', r"{\1}", text)


def bq_values(charge: Charge) -> tuple[str, ...]:
    """Return the JSON texts of the fields of a GCP line that vary within one template."""
    sku, qty = charge.sku, charge.quantity
    cud = charge.kind == "cud-usage"
    amount = units = ""
    if sku is not None and qty is not None:
        amount = _text(_amount(charge, sku, qty).to_integral_value())
        units = _text(qty)
    price = charge.commitment_rate if cud else charge.list_price
    return (
        f'"{_ts(charge.start)}"',
        f'"{_ts(charge.end)}"',
        f'"{_ts(charge.end + timedelta(hours=3))}"',
        _text(charge.list_cost if cud else charge.billed),
        amount,
        units,
        _text(-charge.list_cost) if cud else "",
        _text(charge.list_cost),
        "" if price is None else _text(price),
    )
