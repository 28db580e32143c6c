"""Azure EA cost details (actual and amortized) rows of the demo's Azure charges.

The header, date format (MM/DD/YYYY), UTF-8 BOM and Tags style (JSON without the outer braces)
copy the real EA exports in ``samples/azure/EA_*_Small.csv``. The actual file holds what was
billed (reservation purchases, reservation-covered usage at cost 0); the amortized file holds
the effective cost (no purchases, covered usage at the reservation rate, ``UnusedReservation``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

from aifinops.demo.charges import Charge, month_bounds
from aifinops.demo.commitments import AZURE_RESERVATION
from aifinops.demo.company import AZURE_RESOURCE_GROUPS, SUB_ACCOUNTS

EA_HEADER: list[str] = [
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "AccountOwnerId",
    "AccountName",
    "SubscriptionId",
    "SubscriptionName",
    "Date",
    "Product",
    "PartNumber",
    "MeterId",
    "ServiceFamily",
    "MeterCategory",
    "MeterSubCategory",
    "MeterRegion",
    "MeterName",
    "Quantity",
    "EffectivePrice",
    "Cost",
    "UnitPrice",
    "BillingCurrency",
    "ResourceLocation",
    "AvailabilityZone",
    "ConsumedService",
    "ResourceId",
    "ResourceName",
    "ServiceInfo1",
    "ServiceInfo2",
    "AdditionalInfo",
    "Tags",
    "InvoiceSectionId",
    "InvoiceSection",
    "CostCenter",
    "UnitOfMeasure",
    "ResourceGroup",
    "ReservationId",
    "ReservationName",
    "ProductOrderId",
    "ProductOrderName",
    "OfferId",
    "IsAzureCreditEligible",
    "Term",
    "PublisherName",
    "PlanName",
    "ChargeType",
    "Frequency",
    "PublisherType",
    "PayGPrice",
    "PricingModel",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
]
_RSV_ORDER = AZURE_RESERVATION.id.split("/")[4]
_RSV_ID = AZURE_RESERVATION.id.rsplit("/", 1)[1]


def plain(value: Decimal) -> str:
    """Return ``value`` as a plain decimal string (no exponent, no trailing zeros)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _date(moment: datetime) -> str:
    return f"{moment:%m/%d/%Y}"


def _tags(tags: dict[str, str] | None) -> str:
    if not tags:
        return ""
    return ",".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in tags.items())


def _additional_info(charge: Charge) -> str:
    sku = charge.sku
    if sku is None or sku.instance_type is None or charge.kind == "rsv-purchase":
        return ""
    info: dict[str, object] = {
        "UsageType": "ComputeHR",
        "ImageType": "Canonical",
        "ServiceType": sku.instance_type,
        "VCPUs": sku.vcpus,
    }
    if charge.kind == "rsv-usage":
        info.update(
            ReservationOrderId=_RSV_ORDER,
            ReservationId=_RSV_ID,
            ConsumedQuantity=float(charge.quantity or 0),
            RINormalizationRatio=1.0,
        )
    if charge.kind == "rsv-unused":
        info = {"ServiceType": sku.instance_type}
    return json.dumps(info, separators=(",", ":"))


def _fields(charge: Charge) -> dict[str, str]:
    sub = SUB_ACCOUNTS[charge.sub]
    start, end = month_bounds(charge.start)
    sku = charge.sku
    assert sku is not None and charge.quantity is not None
    is_rsv = charge.commitment is not None
    consumed = {"rsv-purchase": "Microsoft.Capacity", "rsv-unused": "Microsoft.Capacity"}.get(
        charge.kind, sku.service.code
    )
    return {
        "BillingAccountId": sub.billing_id,
        "BillingAccountName": sub.billing_name,
        "BillingPeriodStartDate": _date(start),
        "BillingPeriodEndDate": _date(end - timedelta(days=1)),
        "BillingProfileId": sub.billing_id,
        "BillingProfileName": sub.billing_name,
        "AccountOwnerId": "mlops@nimbuslabs.example",
        "AccountName": "Nimbus ML",
        "SubscriptionId": sub.id,
        "SubscriptionName": sub.name,
        "Date": _date(charge.start),
        "Product": sku.description,
        "PartNumber": sku.native["part_number"],
        "MeterId": sku.native["meter_id"],
        "ServiceFamily": "Storage" if sku.pricing_unit == "GB-Months" else "Compute",
        "MeterCategory": sku.native["meter_category"],
        "MeterSubCategory": sku.native["meter_subcategory"],
        "MeterRegion": "US East",
        "MeterName": sku.native["meter_name"],
        "Quantity": plain(charge.quantity),
        "BillingCurrency": "USD",
        "ResourceLocation": "EastUS",
        "AvailabilityZone": "",
        "ConsumedService": consumed,
        "ResourceId": charge.resource or "",
        "ResourceName": charge.resource_name or "",
        "ServiceInfo1": "",
        "ServiceInfo2": "",
        "Tags": _tags(charge.tags),
        "InvoiceSectionId": "",
        "InvoiceSection": "Nimbus ML",
        "CostCenter": "ML-100",
        "UnitOfMeasure": sku.native["unit_of_measure"],
        "ResourceGroup": AZURE_RESOURCE_GROUPS[charge.sub] if charge.resource_name else "",
        "ReservationId": _RSV_ID if is_rsv else "",
        "ReservationName": AZURE_RESERVATION.name if is_rsv else "",
        "ProductOrderId": _RSV_ORDER if is_rsv else "",
        "ProductOrderName": "Reserved VM Instance, Standard_NC24ads_A100_v4, US East, 1 Year"
        if is_rsv
        else "",
        "OfferId": "MS-AZR-0017P",
        "IsAzureCreditEligible": "True",
        "Term": "12" if is_rsv else "",
        "PublisherName": "Microsoft",
        "PlanName": "",
        "PublisherType": "Azure",
        "PricingModel": "Reservation" if is_rsv else "OnDemand",
        "CostAllocationRuleName": "",
        "benefitId": AZURE_RESERVATION.id if is_rsv else "",
        "benefitName": AZURE_RESERVATION.name if is_rsv else "",
    }


_CHARGE_TYPES = {
    "usage": ("Usage", "UsageBased"),
    "rsv-usage": ("Usage", "UsageBased"),
    "rsv-purchase": ("Purchase", "Recurring"),
    "rsv-unused": ("UnusedReservation", "UsageBased"),
}


def ea_rows(charge: Charge) -> tuple[list[str] | None, list[str] | None]:
    """Return the (actual, amortized) EA rows of one Azure charge; either may be absent."""
    fields = _fields(charge)
    charge_type, frequency = _CHARGE_TYPES[charge.kind]
    fields.update(ChargeType=charge_type, Frequency=frequency)
    qty = charge.quantity or Decimal(0)
    fields["UnitPrice"] = plain(charge.contracted_price or Decimal(0))
    fields["PayGPrice"] = plain(charge.list_price or Decimal(0))
    actual = amortized = None
    if charge.kind != "rsv-unused":
        billed_price = charge.billed / qty if qty else Decimal(0)
        actual_fields = dict(
            fields,
            Cost=plain(charge.billed),
            EffectivePrice=plain(billed_price),
            AdditionalInfo=_additional_info(charge),
        )
        actual = [actual_fields[h] for h in EA_HEADER]
    if charge.kind != "rsv-purchase":
        rate = charge.commitment_rate if charge.commitment_rate is not None else charge.list_price
        amortized_fields = dict(
            fields,
            Cost=plain(charge.effective),
            EffectivePrice=plain(rate or Decimal(0)),
            AdditionalInfo=_additional_info(charge),
        )
        amortized = [amortized_fields[h] for h in EA_HEADER]
    return actual, amortized
