"""Azure FocusCost export fixtures, written from Microsoft's documented export schemas.

The column lists are those of the FocusCost 1.0 and 1.2 export schemas (finops-toolkit
``Microsoft.CostManagement/Exports/schemas``); the rows are synthetic but shaped like Azure's:
a GPU VM on demand, reservation-covered and unused H100 hours, the reservation's monthly
purchase, a savings plan purchase and its covered usage, a refund, tax, a Marketplace charge
and blob storage, with the known Azure bugs in place (Usage-Based purchases, EffectiveCost on
purchases, a bad ContractedCost, "-2" placeholders, empty ServiceName/PublisherName).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_FOCUS_10 = (
    "BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency "
    "BillingPeriodEnd BillingPeriodStart ChargeCategory ChargeClass ChargeDescription "
    "ChargeFrequency ChargePeriodEnd ChargePeriodStart CommitmentDiscountCategory "
    "CommitmentDiscountId CommitmentDiscountName CommitmentDiscountStatus CommitmentDiscountType "
    "ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice EffectiveCost "
    "InvoiceIssuerName ListCost ListUnitPrice PricingCategory PricingQuantity PricingUnit "
    "ProviderName PublisherName RegionId RegionName ResourceId ResourceName ResourceType "
    "ServiceCategory ServiceName SkuId SkuPriceId SubAccountId SubAccountName SubAccountType Tags"
).split()
_FOCUS_12_ADDED = (
    "CapacityReservationId CapacityReservationStatus CommitmentDiscountQuantity "
    "CommitmentDiscountUnit InvoiceId PricingCurrency ServiceSubcategory SkuMeter SkuPriceDetails"
).split()
_X_COMMON = (
    "x_AccountId x_AccountName x_AccountOwnerId x_BilledCostInUsd x_BilledUnitPrice "
    "x_BillingAccountId x_BillingAccountName x_BillingExchangeRate x_BillingExchangeRateDate "
    "x_BillingProfileId x_BillingProfileName x_ContractedCostInUsd x_CostAllocationRuleName "
    "x_CostCenter x_CustomerId x_CustomerName x_EffectiveCostInUsd x_EffectiveUnitPrice "
    "x_InvoiceIssuerId x_InvoiceSectionId x_InvoiceSectionName x_ListCostInUsd "
    "x_PartnerCreditApplied x_PartnerCreditRate x_PricingBlockSize x_PricingSubcategory "
    "x_PricingUnitDescription x_PublisherCategory x_PublisherId x_ResellerId x_ResellerName "
    "x_ResourceGroupName x_ResourceType x_ServicePeriodEnd x_ServicePeriodStart x_SkuDescription "
    "x_SkuIsCreditEligible x_SkuMeterCategory x_SkuMeterId x_SkuMeterSubcategory x_SkuOfferId "
    "x_SkuOrderId x_SkuOrderName x_SkuPartNumber x_SkuRegion x_SkuServiceFamily x_SkuTerm "
    "x_SkuTier"
).split()
#: FocusCost 1.0 (and 1.0r2): 96 columns.
COLUMNS_10 = tuple(
    sorted(
        _FOCUS_10
        + _X_COMMON
        + ["x_InvoiceId", "x_PricingCurrency", "x_SkuDetails", "x_SkuMeterName"]
    )
)
#: FocusCost 1.2: 104 columns.
COLUMNS_12 = tuple(
    sorted(
        _FOCUS_10
        + _FOCUS_12_ADDED
        + _X_COMMON
        + ["x_AmortizationClass", "x_ServiceModel", "x_SkuPlanName"]
    )
)

ACCOUNT = "/providers/Microsoft.Billing/billingAccounts/8611537"
SUB = "00000000-1111-2222-3333-444444444444"
RESERVATION = "/providers/Microsoft.Capacity/reservationOrders/ro-1/reservations/r-1"
SAVINGS_PLAN = "/providers/Microsoft.BillingBenefits/savingsPlanOrders/spo-1/savingsPlans/sp-1"
VM_GROUP = f"/subscriptions/{SUB}/resourceGroups/ml-train-rg/providers/Microsoft.Compute"


def _base() -> dict[str, str]:
    return {
        "BillingAccountId": ACCOUNT,
        "BillingAccountName": "Contoso",
        "BillingAccountType": "Billing Account",
        "BillingCurrency": "EUR",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": "2025-01-05",
        "ChargePeriodEnd": "2025-01-06",
        "InvoiceIssuerName": "Microsoft",
        "ProviderName": "Microsoft",
        "PublisherName": "Microsoft",
        "RegionId": "eastus",
        "RegionName": "East US",
        "ServiceCategory": "Compute",
        "ServiceName": "Virtual Machines",
        "SubAccountId": SUB,
        "SubAccountName": "ml-prod",
        "SubAccountType": "Subscription",
        "x_BillingAccountId": "8611537",
        "x_BillingProfileId": "8611537",
        "x_InvoiceSectionName": "Unassigned",
        "x_SkuMeterCategory": "Virtual Machines",
        "x_PricingCurrency": "USD",
        "PricingCurrency": "USD",
        "InvoiceId": "G012345678",
        "x_InvoiceId": "G012345678",
    }


def _row(desc: str, **values: str) -> dict[str, str]:
    return {**_base(), "ChargeDescription": desc, **values}


def charges() -> list[dict[str, str]]:
    """Return the fixture rows as FocusCost 1.2 writes them (dates as yyyy-mm-dd)."""
    hours = {"PricingUnit": "Hours", "ConsumedUnit": "Hours", "x_PricingBlockSize": "1"}
    used = {
        "CommitmentDiscountId": RESERVATION,
        "CommitmentDiscountName": "h100-ri",
        "CommitmentDiscountCategory": "Usage",
        "CommitmentDiscountType": "Reservation",
    }
    sp = {
        "CommitmentDiscountId": SAVINGS_PLAN,
        "CommitmentDiscountName": "sp-compute",
        "CommitmentDiscountCategory": "Spend",
        "CommitmentDiscountType": "Savings Plan",
    }
    purchase = {"ChargeCategory": "Purchase", "PricingUnit": "Units", "PricingQuantity": "1"}
    return [
        _row(
            "NC24ads A100 v4 on demand",
            ChargeCategory="Usage",
            BilledCost="36.72",
            EffectiveCost="36.72",
            ListCost="36.72",
            ListUnitPrice="3.672",
            ContractedCost="36.72",
            ContractedUnitPrice="3.672",
            PricingQuantity="10",
            ConsumedQuantity="10",
            PricingCategory="Standard",
            **hours,
            ResourceId=f"{VM_GROUP}/virtualMachines/a100-vm",
            ResourceName="a100-vm",
            ResourceType="Virtual machine",
            SkuMeter="NC24ads A100 v4",
            SkuPriceId="-2",
            x_SkuMeterSubcategory="NCads A100 v4 Series",
            x_ResourceGroupName="ml-train-rg",
            SkuPriceDetails='{"VCPUs":24,"ServiceType":"Standard_NC24ads_A100_v4",'
            '"ImageType":"Canonical"}',
            Tags='{"team":"ml","project":"llm"}',
        ),
        _row(
            "ND96isr H100 v5 reserved",
            ChargeCategory="Usage",
            BilledCost="0",
            EffectiveCost="70.00",
            ListCost="98.32",
            ListUnitPrice="98.32",
            ContractedCost="98.32",
            ContractedUnitPrice="98.32",
            PricingQuantity="1",
            ConsumedQuantity="1",
            PricingCategory="Committed",
            CommitmentDiscountStatus="Used",
            **used,
            **hours,
            ResourceId=f"{VM_GROUP}/virtualMachines/h100-vm",
            ResourceName="h100-vm",
            SkuPriceDetails='{"VCPUs":96,"ServiceType":'
            '"Standard_ND96isr_H100_v5","Nested":{"a":1}}',
            Tags='"team": "ml"',
        ),
        _row(
            "ND96isr H100 v5 reservation unused",
            ChargeCategory="Usage",
            BilledCost="0",
            EffectiveCost="30.00",
            ListCost="0",
            ListUnitPrice="0",
            ContractedCost="0",
            ContractedUnitPrice="0",
            PricingQuantity="0.3",
            ConsumedQuantity="0.3",
            PricingCategory="Committed",
            CommitmentDiscountStatus="Unused",
            **used,
            **hours,
            PublisherName="",
            ResourceId=RESERVATION,
            ResourceName="r-1",
        ),
        _row(
            "Reservation ND96isr H100 v5 monthly",
            BilledCost="2400.00",
            EffectiveCost="2400.00",
            ListCost="2400.00",
            ListUnitPrice="2400",
            ContractedCost="2400.00",
            ContractedUnitPrice="2400",
            PricingCategory="Standard",
            **used,
            **purchase,
            PublisherName="",
            ServiceName="",
            x_SkuMeterSubcategory="ND H100 v5 Series",
            ResourceId=RESERVATION,
        ),
        _row(
            "Savings plan monthly fee",
            BilledCost="100.00",
            EffectiveCost="0",
            ListCost="100.00",
            ListUnitPrice="100",
            ContractedCost="100.00",
            ContractedUnitPrice="100",
            PricingCategory="Standard",
            **sp,
            **purchase,
            ResourceId=SAVINGS_PLAN,
        ),
        _row(
            "D4s v5 savings plan",
            ChargeCategory="Usage",
            BilledCost="0",
            EffectiveCost="1.50",
            ListCost="2.00",
            ListUnitPrice="0.2",
            ContractedCost="1.50",
            ContractedUnitPrice="0.2",
            PricingQuantity="10",
            ConsumedQuantity="10",
            PricingCategory="Committed",
            CommitmentDiscountStatus="Used",
            **sp,
            **hours,
            ResourceId=f"{VM_GROUP}/virtualMachines/cpu-vm",
        ),
        _row(
            "Reservation refund",
            ChargeCategory="Purchase",
            ChargeClass="Correction",
            ChargeFrequency="One-Time",
            BilledCost="-200.00",
            EffectiveCost="-200.00",
            ListCost="-200.00",
            ListUnitPrice="200",
            ContractedCost="-200.00",
            ContractedUnitPrice="200",
            PricingQuantity="-1",
            PricingUnit="Units",
            PricingCategory="Standard",
            **used,
            ResourceId=RESERVATION,
        ),
        _row(
            "Sales tax",
            ChargeCategory="Tax",
            ChargeFrequency="One-Time",
            BilledCost="12.34",
            EffectiveCost="12.34",
            ListCost="12.34",
            ContractedCost="12.34",
            ServiceName="",
            ServiceCategory="",
            x_SkuMeterCategory="",
        ),
        _row(
            "NVIDIA AI Enterprise",
            ChargeCategory="Usage",
            BilledCost="50.00",
            EffectiveCost="50.00",
            ListCost="0",
            ListUnitPrice="0",
            ContractedCost="0",
            ContractedUnitPrice="0",
            PricingQuantity="10",
            ConsumedQuantity="10",
            **hours,
            PricingCategory="Standard",
            PublisherName="NVIDIA",
            x_PublisherCategory="Marketplace",
            ServiceName="",
            ServiceCategory="",
            SkuPriceId="-2",
        ),
        _row(
            "Hot LRS data stored",
            ChargeCategory="Usage",
            BilledCost="0.92",
            EffectiveCost="0.92",
            ListCost="0.92",
            ListUnitPrice="1.84",
            ContractedCost="0.92",
            ContractedUnitPrice="1.84",
            PricingQuantity="0.5",
            PricingUnit="GB/Month",
            ConsumedQuantity="50",
            ConsumedUnit="GB/Month",
            PricingCategory="Standard",
            ServiceCategory="Storage",
            ServiceName="Storage",
            x_SkuMeterCategory="Storage",
            x_PricingBlockSize="100",
            x_PricingUnitDescription="100 GB/Month",
            ResourceId=f"/subscriptions/{SUB}/resourceGroups/data-rg/providers/"
            "Microsoft.Storage/storageAccounts/mldata",
        ),
    ]


def _dates(row: dict[str, str], style: str) -> dict[str, str]:
    def fmt(day: str) -> str:
        return {"z": f"{day}T00:00:00Z", "o": f"{day}T00:00:00.0000000Z"}[style]

    out = dict(row)
    out["BillingPeriodStart"], out["BillingPeriodEnd"] = fmt("2025-01-01"), fmt("2025-02-01")
    out["ChargePeriodStart"] = fmt(row["ChargePeriodStart"])
    out["ChargePeriodEnd"] = fmt(row["ChargePeriodEnd"])
    return out


def rows_for(version: str) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """Return (header, rows) as FocusCost ``version`` ("1.0", "1.0r2", "1.2") writes them."""
    rows = charges()
    if version == "1.2":
        return COLUMNS_12, [_dates(r, "z") for r in rows]
    out = []
    for row in rows:
        old = dict(row)
        # Before 1.2 these FOCUS columns were x_ columns (SkuPriceDetails was x_SkuDetails).
        old["x_SkuDetails"] = old.pop("SkuPriceDetails", "")
        old["x_SkuMeterName"] = old.pop("SkuMeter", "")
        out.append(_dates(old, "o" if version == "1.0r2" else "z"))
    return COLUMNS_10, out


def write(path: Path, header: tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    """Write ``rows`` under ``header`` as CSV, CSV.gz or Parquet (by the file's suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".parquet"):
        table = pa.table({c: [r.get(c) or None for r in rows] for c in header})
        pq.write_table(table, path)
        return path
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[r.get(c, "") for c in header] for r in rows])
    data = buffer.getvalue().encode("utf-8-sig")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_manifest(directory: Path, version: str) -> Path:
    """Write a Cost Management exports v2 ``manifest.json`` naming the dataset version."""
    manifest = {
        "manifestVersion": "2024-04-01",
        "exportConfig": {"exportName": "focus-daily", "type": "FocusCost", "dataVersion": version},
    }
    path = directory / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path
