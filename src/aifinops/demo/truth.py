"""The FOCUS 1.2 truth: each charge as one or two FOCUS rows, plus its truth labels.

A commitment fee with an unused part becomes two rows (the ``Purchase`` and the ``Unused``
usage row); every other charge becomes exactly one row.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from aifinops.demo.charges import ZERO, Charge, Service, month_bounds
from aifinops.demo.commitments import COMMITMENT_SERVICES
from aifinops.demo.company import (
    BILLING_ACCOUNT_TYPES,
    ISSUERS,
    PROVIDER_NAMES,
    PUBLISHERS,
    SUB_ACCOUNT_TYPES,
    SUB_ACCOUNTS,
    invoice_id,
)
from aifinops.focus.columns import DECIMAL_TYPE, focus_schema

Row = dict[str, Any]
#: Providers whose native export names the invoice of each line (CUR ``bill_invoice_id``).
INVOICED_EXPORTS = frozenset({"aws"})

#: The service of lines that belong to no resource service (tax, credits).
BILLING_SERVICES = {
    "aws": Service(
        "AWS Billing and Cost Management",
        "Management and Governance",
        "Cost Management",
        "AWSBilling",
    ),
    "gcp": Service(
        "Cloud Billing", "Management and Governance", "Cost Management", "2062-016F-44A2"
    ),
    "azure": Service(
        "Microsoft Cost Management",
        "Management and Governance",
        "Cost Management",
        "Microsoft.CostManagement",
    ),
}


def labels_schema() -> pa.Schema:
    """Return the Arrow schema of the truth label files."""
    s = pa.string()
    return pa.schema(
        [
            ("x_GpuModel", s),
            ("x_GpuCount", DECIMAL_TYPE),
            ("x_AcceleratorHours", DECIMAL_TYPE),
            ("x_Workload", s),
            ("x_LifecycleStage", s),
            ("x_Team", s),
            ("x_Project", s),
            ("x_Model", s),
            ("x_Experiment", s),
            ("x_Story", s),
        ]
    )


TRUTH_SCHEMA = focus_schema(with_extras=False)
LABELS_SCHEMA = labels_schema()


def service_of(charge: Charge) -> Service:
    """Return the FOCUS service of ``charge``."""
    # An unused commitment line (``<fee kind>-unused``) keeps its fee line's service.
    kind = charge.kind.removesuffix("-unused")
    if kind in COMMITMENT_SERVICES:
        return COMMITMENT_SERVICES[kind]
    if charge.sku is not None:
        return charge.sku.service
    return BILLING_SERVICES[charge.provider]


def sku_price_details(charge: Charge) -> str | None:
    """Return the SkuPriceDetails JSON of ``charge`` (instance facts, FOCUS keys)."""
    sku = charge.sku
    if sku is None:
        return None
    details: dict[str, object] = {}
    if sku.instance_type is not None:
        details["InstanceType"] = sku.instance_type
    if charge.provider == "gcp":
        # The BigQuery export carries the machine type (system label ``machine_spec``) only;
        # enrichment adds FOCUS's GpuCount for GPU and TPU SKUs (accelerators per unit).
        if sku.gpus_per_unit:
            details["GpuCount"] = int(sku.gpus_per_unit)
        return json.dumps(details, sort_keys=True) if details else None
    if sku.instance_type is None:
        return None
    if sku.vcpus:
        details["CoreCount"] = sku.vcpus
    if sku.memory_gib:
        details["MemorySize"] = sku.memory_gib
    if sku.gpus_per_unit:
        details["GpuCount"] = int(sku.gpus_per_unit)
    return json.dumps(details, sort_keys=True)


def sku_ids(charge: Charge) -> tuple[str | None, str | None, str | None]:
    """Return (SkuId, SkuPriceId, SkuMeter) of ``charge``."""
    sku = charge.sku
    if sku is None or charge.kind in ("tax", "credit"):
        return None, None, None
    if charge.provider == "aws":
        term = {"sp-covered": "SPRATE", "ri-usage": "RIRATE"}.get(charge.kind, "JRTCKXETXF")
        base = sku.native["sku"]
        return base, f"{base}.{term}.{base[:10]}", sku.native["usage_type"]
    if charge.provider == "azure":
        return sku.native["meter_id"], sku.native["part_number"], sku.native["meter_name"]
    return sku.native["sku_id"], sku.native["sku_id"], sku.description


def _is_resource_usage(charge: Charge) -> bool:
    return charge.category == "Usage" and charge.status != "Unused" and not charge.charge_class


def _base_row(charge: Charge) -> Row:
    sub = SUB_ACCOUNTS[charge.sub]
    start, end = _month(charge)
    service = service_of(charge)
    sku_id, price_id, meter = sku_ids(charge)
    tax = charge.category == "Tax"
    has_region = charge.kind not in ("tax", "credit")
    return {
        "AvailabilityZone": charge.zone,
        "BilledCost": charge.billed,
        "BillingAccountId": sub.billing_id,
        "BillingAccountName": sub.billing_name,
        "BillingAccountType": BILLING_ACCOUNT_TYPES[charge.provider],
        "BillingCurrency": "USD",
        "BillingPeriodEnd": end,
        "BillingPeriodStart": start,
        "ChargeCategory": charge.category,
        "ChargeClass": charge.charge_class,
        "ChargeDescription": charge.description,
        "ChargeFrequency": charge.frequency,
        "ChargePeriodEnd": charge.end,
        "ChargePeriodStart": charge.start,
        "ConsumedQuantity": charge.quantity if _is_resource_usage(charge) else None,
        "ConsumedUnit": _unit(charge) if _is_resource_usage(charge) else None,
        "ContractedCost": charge.contracted_cost,
        "ContractedUnitPrice": None if tax else charge.contracted_price,
        "EffectiveCost": charge.effective,
        "InvoiceId": _invoice(charge),
        "InvoiceIssuerName": ISSUERS[charge.provider],
        "ListCost": charge.list_cost,
        "ListUnitPrice": None if tax else charge.list_price,
        "PricingCategory": charge.pricing_category,
        "PricingQuantity": charge.quantity,
        "PricingUnit": _unit(charge) if charge.quantity is not None else None,
        "ProviderName": PROVIDER_NAMES[charge.provider],
        "PublisherName": PUBLISHERS[charge.provider],
        "RegionId": sub.region if has_region else None,
        "RegionName": sub.region_name if has_region else None,
        "ResourceId": charge.resource,
        "ResourceName": charge.resource_name,
        "ResourceType": charge.resource_type,
        "ServiceCategory": service.category,
        "ServiceName": service.name,
        "ServiceSubcategory": service.subcategory,
        "SkuId": sku_id,
        "SkuMeter": meter,
        "SkuPriceDetails": sku_price_details(charge),
        "SkuPriceId": price_id,
        "SubAccountId": sub.id,
        "SubAccountName": sub.name,
        "SubAccountType": SUB_ACCOUNT_TYPES[charge.provider],
        "Tags": _tags(charge),
        **_commitment_columns(charge),
    }


def system_labels(charge: Charge) -> dict[str, str]:
    """Return the Google system labels of a GCP ``charge``: the machine type of its SKU.

    NOTE: Google puts ``compute.googleapis.com/machine_spec`` on Compute Engine VM rows. The
    demo's only machine-typed GCP SKU is the Vertex AI endpoint's; it carries the same label, so
    its SkuPriceDetails reach the export (docs/demo.md).
    """
    sku = charge.sku
    if charge.provider != "gcp" or sku is None or sku.instance_type is None:
        return {}
    return {"compute.googleapis.com/machine_spec": sku.instance_type}


def _tags(charge: Charge) -> str | None:
    """Return Tags: the charge's tags, and on GCP its system labels as ``gcp-system/<key>``."""
    tags = dict(charge.tags or {})
    tags.update({f"gcp-system/{k}": v for k, v in system_labels(charge).items()})
    return json.dumps(tags, sort_keys=True) if tags else None


def _invoice(charge: Charge) -> str | None:
    """Return the InvoiceId of ``charge``: only the CUR names the invoice of its lines.

    Azure EA cost details and Google's BigQuery export have no invoice id column.
    """
    if charge.provider not in INVOICED_EXPORTS:
        return None
    return invoice_id(charge.provider, SUB_ACCOUNTS[charge.sub].billing_id, charge.month)


def _unit(charge: Charge) -> str:
    return charge.sku.pricing_unit if charge.sku is not None else "Hours"


def _month(charge: Charge) -> tuple[datetime, datetime]:
    return month_bounds(charge.start)


def _commitment_columns(charge: Charge) -> Row:
    c = charge.commitment
    if c is None:
        return dict.fromkeys(
            (
                "CommitmentDiscountCategory",
                "CommitmentDiscountId",
                "CommitmentDiscountName",
                "CommitmentDiscountQuantity",
                "CommitmentDiscountStatus",
                "CommitmentDiscountType",
                "CommitmentDiscountUnit",
            )
        )
    quantity: Decimal | None
    if c.category == "Spend":
        quantity = charge.effective if charge.category == "Usage" else charge.billed
    else:
        quantity = charge.quantity
    return {
        "CommitmentDiscountCategory": c.category,
        "CommitmentDiscountId": c.id,
        "CommitmentDiscountName": c.name,
        "CommitmentDiscountQuantity": quantity,
        "CommitmentDiscountStatus": charge.status,
        "CommitmentDiscountType": c.type,
        "CommitmentDiscountUnit": c.unit,
    }


def _label_row(charge: Charge) -> Row:
    lab = charge.labels
    gpu = charge.gpu_count is not None and charge.sku is not None
    hours = None
    if gpu and charge.sku is not None and charge.quantity is not None:
        hours = charge.sku.gpus_per_unit * charge.quantity
    return {
        "x_GpuModel": charge.sku.gpu_model if gpu and charge.sku else None,
        "x_GpuCount": charge.gpu_count,
        "x_AcceleratorHours": hours,
        "x_Workload": lab.workload,
        "x_LifecycleStage": lab.lifecycle,
        "x_Team": lab.team,
        "x_Project": lab.project,
        "x_Model": lab.model,
        "x_Experiment": lab.experiment,
        "x_Story": charge.story,
    }


#: Truth columns that differ between charges of one template (see :func:`template_key`).
TRUTH_VARYING = (
    "BilledCost",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingQuantity",
    "CommitmentDiscountQuantity",
)
LABELS_VARYING = ("x_AcceleratorHours",)


def truth_values(charge: Charge) -> tuple[Any, ...]:
    """Return the :data:`TRUTH_VARYING` values of ``charge`` (as :func:`_base_row` has them)."""
    tax = charge.category == "Tax"
    quantity = charge.quantity
    c = charge.commitment
    committed: Decimal | None = None
    if c is not None:
        if c.category == "Spend":
            committed = charge.effective if charge.category == "Usage" else charge.billed
        else:
            committed = quantity
    return (
        charge.billed,
        charge.end,
        charge.start,
        quantity if _is_resource_usage(charge) else None,
        charge.contracted_cost,
        None if tax else charge.contracted_price,
        charge.effective,
        charge.list_cost,
        None if tax else charge.list_price,
        quantity,
        committed,
    )


def label_values(charge: Charge) -> tuple[Any, ...]:
    """Return the :data:`LABELS_VARYING` values of ``charge``."""
    sku = charge.sku
    if charge.gpu_count is None or sku is None or charge.quantity is None:
        return (None,)
    return (sku.gpus_per_unit * charge.quantity,)


def template_key(charge: Charge) -> tuple[object, ...]:
    """Return what fixes every column but the varying ones, in every output."""
    sku = charge.sku
    start = charge.start
    return (
        charge.provider,
        charge.sub,
        charge.kind,
        charge.category,
        charge.description,
        None if sku is None else sku.key,
        charge.resource,
        charge.resource_name,
        charge.pricing_category,
        charge.status,
        charge.charge_class,
        charge.story,
        charge.labels,
        charge.gpu_count,
        start.year,
        start.month,
    )


def truth_template(charge: Charge) -> Row:
    """Return the full truth row of ``charge`` (the template of its key)."""
    return _base_row(charge)


def label_template(charge: Charge) -> Row:
    """Return the full label row of ``charge`` (the template of its key)."""
    return _label_row(charge)


def truth_charges(charge: Charge) -> list[Charge]:
    """Return the charges of the truth rows of ``charge`` (two for a fee with an unused part)."""
    if charge.category == "Purchase" and charge.unused > 0:
        return [charge, unused_charge(charge)]
    return [charge]


def unused_charge(fee: Charge) -> Charge:
    """Return the ``Unused`` usage line carried by commitment fee ``fee``."""
    return replace(
        fee,
        kind=fee.kind + "-unused",
        category="Usage",
        frequency="Usage-Based",
        description=f"Unused commitment: {fee.commitment.name if fee.commitment else ''}",
        billed=ZERO,
        effective=fee.unused,
        list_cost=ZERO,
        contracted_cost=ZERO,
        list_price=ZERO,
        contracted_price=ZERO,
        pricing_category="Committed",
        status="Unused",
        unused=ZERO,
    )


def truth_rows(charge: Charge) -> list[tuple[Row, Row]]:
    """Return the FOCUS rows and label rows of ``charge`` (one, or two for unused fees)."""
    rows = [(_base_row(charge), _label_row(charge))]
    if charge.category == "Purchase" and charge.unused > 0:
        unused = unused_charge(charge)
        rows.append((_base_row(unused), _label_row(unused)))
    return rows


def billed_effective(rows: list[tuple[Row, Row]]) -> tuple[Decimal, Decimal]:
    """Return ΣBilledCost and ΣEffectiveCost of ``rows``."""
    billed = sum((r["BilledCost"] for r, _ in rows), ZERO)
    effective = sum((r["EffectiveCost"] for r, _ in rows), ZERO)
    return billed, effective
