"""AWS CUR 2.0 (Data Exports ``COST_AND_USAGE_REPORT``) rows of the demo's AWS charges.

Columns follow the CUR 2.0 table dictionary: static ``bill_*``, ``identity_*``, ``line_item_*``,
``pricing_*``, ``product_*``, ``reservation_*`` and ``savings_plan_*`` columns, and the map
columns ``product``, ``resource_tags`` (keys ``user_<tag key>``), ``cost_category`` and
``discount``. Costs and amounts are doubles, rates strings, as AWS writes them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pyarrow as pa

from aifinops.demo.charges import Charge, month_bounds, stable_hex
from aifinops.demo.commitments import RESERVED_INSTANCE, SAVINGS_PLAN
from aifinops.demo.company import AWS_LEGAL_ENTITY, SUB_ACCOUNTS, invoice_id
from aifinops.demo.truth import service_of, sku_ids

Row = dict[str, Any]
_S, _F, _T = pa.string(), pa.float64(), pa.timestamp("ms")
_MAP_S, _MAP_F = pa.map_(pa.string(), pa.string()), pa.map_(pa.string(), pa.float64())

_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("bill_bill_type", _S),
    ("bill_billing_entity", _S),
    ("bill_billing_period_end_date", _T),
    ("bill_billing_period_start_date", _T),
    ("bill_invoice_id", _S),
    ("bill_invoicing_entity", _S),
    ("bill_payer_account_id", _S),
    ("bill_payer_account_name", _S),
    ("cost_category", _MAP_S),
    ("discount", _MAP_F),
    ("discount_bundled_discount", _F),
    ("discount_total_discount", _F),
    ("identity_line_item_id", _S),
    ("identity_time_interval", _S),
    ("line_item_availability_zone", _S),
    ("line_item_blended_cost", _F),
    ("line_item_blended_rate", _S),
    ("line_item_currency_code", _S),
    ("line_item_legal_entity", _S),
    ("line_item_line_item_description", _S),
    ("line_item_line_item_type", _S),
    ("line_item_net_unblended_cost", _F),
    ("line_item_net_unblended_rate", _S),
    ("line_item_normalization_factor", _F),
    ("line_item_normalized_usage_amount", _F),
    ("line_item_operation", _S),
    ("line_item_product_code", _S),
    ("line_item_resource_id", _S),
    ("line_item_tax_type", _S),
    ("line_item_unblended_cost", _F),
    ("line_item_unblended_rate", _S),
    ("line_item_usage_account_id", _S),
    ("line_item_usage_account_name", _S),
    ("line_item_usage_amount", _F),
    ("line_item_usage_end_date", _T),
    ("line_item_usage_start_date", _T),
    ("line_item_usage_type", _S),
    ("pricing_currency", _S),
    ("pricing_lease_contract_length", _S),
    ("pricing_offering_class", _S),
    ("pricing_public_on_demand_cost", _F),
    ("pricing_public_on_demand_rate", _S),
    ("pricing_purchase_option", _S),
    ("pricing_rate_code", _S),
    ("pricing_rate_id", _S),
    ("pricing_term", _S),
    ("pricing_unit", _S),
    ("product", _MAP_S),
    ("product_fee_code", _S),
    ("product_fee_description", _S),
    ("product_from_location", _S),
    ("product_instance_family", _S),
    ("product_instance_type", _S),
    ("product_location", _S),
    ("product_operation", _S),
    ("product_pricing_unit", _S),
    ("product_product_family", _S),
    ("product_region_code", _S),
    ("product_servicecode", _S),
    ("product_sku", _S),
    ("product_to_location", _S),
    ("product_usagetype", _S),
    ("reservation_amortized_upfront_fee_for_billing_period", _F),
    ("reservation_effective_cost", _F),
    ("reservation_end_time", _S),
    ("reservation_number_of_reservations", _S),
    ("reservation_recurring_fee_for_usage", _F),
    ("reservation_reservation_a_r_n", _S),
    ("reservation_start_time", _S),
    ("reservation_total_reserved_units", _S),
    ("reservation_unused_quantity", _F),
    ("reservation_unused_recurring_fee", _F),
    ("resource_tags", _MAP_S),
    ("savings_plan_amortized_upfront_commitment_for_billing_period", _F),
    ("savings_plan_end_time", _S),
    ("savings_plan_offering_type", _S),
    ("savings_plan_payment_option", _S),
    ("savings_plan_purchase_term", _S),
    ("savings_plan_recurring_commitment_for_billing_period", _F),
    ("savings_plan_savings_plan_a_r_n", _S),
    ("savings_plan_savings_plan_effective_cost", _F),
    ("savings_plan_savings_plan_rate", _F),
    ("savings_plan_start_time", _S),
    ("savings_plan_total_commitment_to_date", _F),
    ("savings_plan_used_commitment", _F),
)
CUR2_SCHEMA = pa.schema([pa.field(n, t) for n, t in _COLUMNS])

#: Charge kind -> CUR line_item_line_item_type.
LINE_ITEM_TYPES = {
    "usage": "Usage",
    "sp-covered": "SavingsPlanCoveredUsage",
    "sp-fee": "SavingsPlanRecurringFee",
    "ri-usage": "DiscountedUsage",
    "ri-fee": "RIFee",
    "tax": "Tax",
    "credit": "Credit",
    "refund": "Refund",
}


#: What the Savings Plan's fee and covered lines say about it (its CommitmentDiscountName).
_SP_TERMS = {
    "savings_plan_offering_type": "ComputeSavingsPlans",
    "savings_plan_payment_option": "No Upfront",
    "savings_plan_purchase_term": "1yr",
}


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@lru_cache(maxsize=4096)
def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def _times(charge: Charge) -> Row:
    return {
        "identity_time_interval": f"{_iso(charge.start)}/{_iso(charge.end)}",
        "line_item_usage_amount": _f(charge.quantity),
        "line_item_usage_start_date": _naive(charge.start),
        "line_item_usage_end_date": _naive(charge.end),
    }


def _base(charge: Charge) -> Row:
    sub = SUB_ACCOUNTS[charge.sub]
    start, end = month_bounds(charge.start)
    sku = charge.sku
    service = service_of(charge)
    tags = {f"user_{k}": v for k, v in (charge.tags or {}).items()}
    rate_code = sku_ids(charge)[1]
    product: dict[str, str] = {"product_name": service.name}
    if sku is not None and sku.gpu_model:
        product["gpu"] = str(int(sku.gpus_per_unit))
    if sku is not None and sku.vcpus:
        product.update(vcpu=str(sku.vcpus), memory=f"{sku.memory_gib} GiB")
    return {
        **_times(charge),
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_billing_period_end_date": _naive(end),
        "bill_billing_period_start_date": _naive(start),
        "bill_invoice_id": invoice_id("aws", sub.billing_id, charge.month),
        "bill_invoicing_entity": AWS_LEGAL_ENTITY,
        "bill_payer_account_id": sub.billing_id,
        "bill_payer_account_name": sub.billing_name,
        "cost_category": [],
        "discount": [],
        "line_item_availability_zone": charge.zone,
        "line_item_currency_code": "USD",
        "line_item_legal_entity": AWS_LEGAL_ENTITY,
        "line_item_line_item_description": charge.description,
        "line_item_line_item_type": LINE_ITEM_TYPES[charge.kind],
        "line_item_product_code": service.code,
        "line_item_resource_id": charge.resource,
        "line_item_usage_account_id": sub.id,
        "line_item_usage_account_name": sub.name,
        "line_item_usage_type": sku.native["usage_type"] if sku else None,
        "line_item_operation": sku.native["operation"] if sku else None,
        "pricing_currency": "USD",
        "pricing_rate_code": rate_code,
        "pricing_rate_id": _rate_id(rate_code),
        "pricing_unit": _pricing_unit(charge),
        "product": sorted(product.items()),
        "product_instance_type": sku.instance_type if sku else None,
        "product_product_family": sku.native["family"] if sku else None,
        "product_region_code": sub.region if charge.kind not in ("tax", "credit") else None,
        "product_location": sub.region_name,
        "product_servicecode": service.code,
        "product_sku": sku.native["sku"] if sku else None,
        "product_usagetype": sku.native["usage_type"] if sku else None,
        "resource_tags": sorted(tags.items()),
        "line_item_tax_type": "Sales tax" if charge.kind == "tax" else None,
    }


def _rate_id(rate_code: str | None) -> str | None:
    """Return the numeric ``pricing_rate_id`` AWS pairs with a rate code."""
    if rate_code is None:
        return None
    return str(int(stable_hex("rate-id", rate_code, length=10), 16))


def _pricing_unit(charge: Charge) -> str | None:
    if charge.sku is None:
        return None
    return {"Hours": "Hrs", "GB-Months": "GB-Mo", "GB": "GB"}[charge.sku.pricing_unit]


def _costs(row: Row, cost: Decimal, rate: Decimal | None) -> None:
    row["line_item_unblended_cost"] = row["line_item_blended_cost"] = float(cost)
    row["line_item_net_unblended_cost"] = float(cost)
    text = None if rate is None else str(rate)
    row["line_item_unblended_rate"] = row["line_item_blended_rate"] = text
    row["line_item_net_unblended_rate"] = text


def _usage(charge: Charge, row: Row) -> list[Row]:
    spot = charge.pricing_category == "Dynamic"
    _costs(row, charge.billed, charge.list_price)
    row.update(
        pricing_term="Spot" if spot else "OnDemand",
        pricing_purchase_option="Spot" if spot else "On Demand",
        pricing_public_on_demand_cost=_f(charge.list_cost),
        pricing_public_on_demand_rate=str(charge.list_price),
    )
    if charge.kind == "ri-usage":
        _costs(row, charge.billed, Decimal(0))
        row.update(
            pricing_term="Reserved",
            pricing_purchase_option="No Upfront",
            pricing_lease_contract_length="1yr",
            pricing_offering_class="standard",
            reservation_reservation_a_r_n=RESERVED_INSTANCE.id,
            reservation_effective_cost=_f(charge.effective),
            reservation_recurring_fee_for_usage=_f(charge.effective),
        )
    if charge.kind != "sp-covered":
        return [row]
    _costs(row, charge.list_cost, charge.list_price)
    row.update(
        savings_plan_savings_plan_a_r_n=SAVINGS_PLAN.id,
        savings_plan_savings_plan_rate=_f(charge.commitment_rate),
        savings_plan_savings_plan_effective_cost=_f(charge.effective),
        **_SP_TERMS,
    )
    negation = dict(row)
    _costs(negation, -charge.list_cost, charge.list_price)
    negation.update(
        line_item_line_item_type="SavingsPlanNegation",
        savings_plan_savings_plan_effective_cost=None,
        pricing_public_on_demand_cost=None,
        line_item_line_item_description=(
            f"SavingsPlanNegation used by AccountId : {SUB_ACCOUNTS[charge.sub].id}"
            f" and UsageSku : {charge.sku.native['sku'] if charge.sku else None}"
        ),
    )
    return [row, negation]


def _fee(charge: Charge, row: Row) -> list[Row]:
    _costs(row, charge.billed, charge.list_price)
    used = charge.billed - charge.unused
    if charge.kind == "sp-fee":
        row.update(
            savings_plan_savings_plan_a_r_n=SAVINGS_PLAN.id,
            savings_plan_total_commitment_to_date=_f(charge.billed),
            savings_plan_used_commitment=_f(used),
            savings_plan_recurring_commitment_for_billing_period=_f(charge.billed),
            savings_plan_amortized_upfront_commitment_for_billing_period=0.0,
            **_SP_TERMS,
            savings_plan_start_time="2026-06-01T00:00:00.000Z",
            savings_plan_end_time="2027-06-01T00:00:00.000Z",
            pricing_unit="Hrs",
        )
    else:
        row.update(
            reservation_reservation_a_r_n=RESERVED_INSTANCE.id,
            reservation_unused_recurring_fee=_f(charge.unused),
            reservation_unused_quantity=0.0,
            reservation_number_of_reservations="2",
            reservation_total_reserved_units=str(charge.quantity),
            reservation_start_time="2026-05-01T00:00:00.000Z",
            reservation_end_time="2027-05-01T00:00:00.000Z",
            pricing_term="Reserved",
            pricing_purchase_option="No Upfront",
            pricing_lease_contract_length="1yr",
            pricing_offering_class="standard",
        )
    return [row]


#: CUR columns that differ between charges of one template (``truth.template_key``).
CUR2_VARYING = (
    "identity_line_item_id",
    "identity_time_interval",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_blended_cost",
    "line_item_net_unblended_cost",
    "line_item_unblended_rate",
    "line_item_blended_rate",
    "line_item_net_unblended_rate",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "reservation_effective_cost",
    "reservation_recurring_fee_for_usage",
    "savings_plan_savings_plan_rate",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "savings_plan_recurring_commitment_for_billing_period",
    "reservation_unused_recurring_fee",
    "reservation_total_reserved_units",
)


def cur2_values(charge: Charge) -> list[tuple[Any, ...]]:
    """Return the :data:`CUR2_VARYING` values of each CUR row of ``charge``."""
    return [tuple(r.get(k) for k in CUR2_VARYING) for r in cur2_rows(charge, full=False)]


def cur2_rows(charge: Charge, *, full: bool = True) -> list[Row]:
    """Return the CUR 2.0 rows of one AWS charge (two for savings-plan-covered usage).

    With ``full=False`` only the columns that vary within a template are filled.
    """
    row = _base(charge) if full else _times(charge)
    if charge.category == "Purchase":
        rows = _fee(charge, row)
    elif charge.kind in ("tax", "credit", "refund"):
        _costs(row, charge.billed, None)
        rows = [row]
    else:
        rows = _usage(charge, row)
    for i, r in enumerate(rows):
        r["identity_line_item_id"] = stable_hex(
            "cur",
            charge.sub,
            charge.start,
            charge.resource,
            charge.kind,
            charge.sku.key if charge.sku else "",
            i,
            length=52,
        )
    return rows
