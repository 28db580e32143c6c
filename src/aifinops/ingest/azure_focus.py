"""Reader for Azure Cost Management's own FOCUS export (the "FocusCost" dataset).

FocusCost files are FOCUS files, so the generic FOCUS machinery (:mod:`focus_file`) maps and
types their columns; this reader adds what only Azure needs: the export version
(``1.0-preview(v1)``, ``1.0``, ``1.0r2``, ``1.2-preview``, ``1.2``), the columns Azure moved from
``x_`` names into FOCUS in 1.2, and the known data bugs that Microsoft's own FOCUS conformance
summary lists and the FinOps hubs ingestion (``IngestionSetup_v1_2.kql``, ``// BUG:`` blocks)
patches. Every fix touches only rows that break a FOCUS 1.2 rule; the rest pass through as
Azure wrote them (FOCUS.md §2.5, §2.8).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from aifinops.errors import BadInputError
from aifinops.focus.columns import COLUMNS_BY_NAME
from aifinops.ingest import convert
from aifinops.ingest.azure_columns import times
from aifinops.ingest.focus_file import FocusLayout, layout, projection, typed_expressions
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import ReadPlan, Reconciliation

#: Azure-only ``x_`` columns present in every FocusCost version; one marks a FocusCost file.
MARKERS = frozenset(
    {"x_billingaccountid", "x_billingprofileid", "x_skumetercategory", "x_resourcegroupname"}
)
VERSIONS = ("1.0-preview(v1)", "1.0", "1.0r2", "1.2-preview", "1.2")
#: Columns Azure sent under ``x_`` names before FOCUS 1.2 (or 1.0) defined them.
PROMOTED = {
    "x_InvoiceId": "InvoiceId",
    "x_PricingCurrency": "PricingCurrency",
    "x_SkuMeterName": "SkuMeter",
    "x_SkuDetails": "SkuPriceDetails",
    "x_OnDemandCost": "ContractedCost",
    "x_OnDemandUnitPrice": "ContractedUnitPrice",
}
_V12_COLUMNS = frozenset({"InvoiceId", "SkuMeter", "PricingCurrency"})
#: SkuPriceDetails keys FOCUS 1.2 defines; any other key must start with ``x_``.
_SKU_KEYS = (
    "CoreCount",
    "DiskMaxIops",
    "DiskSpace",
    "DiskType",
    "GpuCount",
    "InstanceSeries",
    "InstanceType",
    "MemorySize",
    "NetworkMaxIops",
    "NetworkMaxThroughput",
    "OperatingSystem",
    "Redundancy",
    "StorageClass",
)
#: Azure AdditionalInfo keys that carry a FOCUS key's meaning (as the hub KQL maps them).
_SKU_RENAMES = {"VCPUs": "CoreCount", "VCores": "CoreCount", "vCores": "CoreCount"} | {
    "ServiceType": "InstanceType",
    "ServerSku": "InstanceType",
}


def _name(raw: str) -> str:
    return raw.lstrip("\ufeff").strip()


def is_focus_cost(info: SourceInfo) -> bool:
    """Return True when ``info`` is a FOCUS file carrying Azure's own ``x_`` columns."""
    names = {_name(c).lower() for c in info.columns}
    return bool(names & MARKERS) and layout(info) is not None


def manifest_version(path: Path) -> str | None:
    """Return ``exportConfig.dataVersion`` from the export's ``manifest.json`` beside ``path``.

    Cost Management (exports v2) writes one manifest per export run next to its data files;
    it is the only place that tells 1.0 from 1.0r2, whose columns are the same.
    """
    manifest = path.parent / "manifest.json"
    try:
        config = json.loads(manifest.read_text(encoding="utf-8-sig")).get("exportConfig", {})
    except (OSError, ValueError, AttributeError):
        return None
    found = config.get("dataVersion") if isinstance(config, dict) else None
    return found if found in VERSIONS else None


def detect_version(info: SourceInfo, lay: FocusLayout) -> str:
    """Return the FocusCost version: the export manifest's, else the hub KQL's header rules."""
    stated = manifest_version(info.path)
    if stated is not None:
        return stated
    names = {_name(c) for c in info.columns}
    if lay.version == "1.0-preview" or "ChargeSubcategory" in names:
        return "1.0-preview(v1)"
    if _V12_COLUMNS & set(lay.mapping):
        # 1.2-preview still sends x_SkuDetails (AdditionalInfo) next to SkuPriceDetails.
        return "1.2-preview" if "x_SkuDetails" in names else "1.2"
    return "1.0"


class _Sql:
    """SQL for one file's values: typed FOCUS columns and Azure ``x_`` columns by name."""

    def __init__(self, info: SourceInfo, lay: FocusLayout) -> None:
        self.typed = {k: v[1] for k, v in typed_expressions(info, lay).items()}
        self.raw = {_name(c): c for c in info.columns}
        self.lay = lay

    def t(self, column: str) -> str:
        """Return the typed value of a FOCUS column, NULL when the file lacks it."""
        return self.typed.get(column, "NULL")

    def x(self, column: str) -> str:
        """Return an Azure column as text (Azure writes "-2"/"Unassigned" for none)."""
        if column not in self.raw:
            return "NULL"
        return unassigned(convert.clean_text(quote_ident(self.raw[column])))

    def xd(self, column: str) -> str:
        """Return an Azure column as the lake decimal."""
        return convert.to_decimal(quote_ident(self.raw[column])) if column in self.raw else "NULL"


def unassigned(text: str) -> str:
    """Return SQL nulling Azure's placeholders for "no value" (conformance summary)."""
    return f"(CASE WHEN trim({text}) IN ('-2', 'Unassigned') THEN NULL ELSE {text} END)"


def sku_price_details(text: str) -> str:
    """Return SQL turning Azure's AdditionalInfo-style JSON into FOCUS SkuPriceDetails.

    FOCUS keys stay, Azure's VCPUs/ServiceType-style keys become CoreCount/InstanceType, every
    other key gets the ``x_`` prefix (FOCUS: custom keys must), and nested values become JSON
    strings (FOCUS: values are scalars). An empty object is no details (null).
    """
    keep = ", ".join(quote_literal(k) for k in _SKU_KEYS)
    renames = " ".join(
        f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in _SKU_RENAMES.items()
    )
    new_key = (
        f"CASE WHEN k IN ({keep}) OR starts_with(k, 'x_') THEN k "
        f"ELSE (CASE k {renames} ELSE 'x_' || k END) END"
    )
    value = "json_extract(j, '/' || replace(replace(k, '~', '~0'), '/', '~1'))"
    scalar = (
        f"CASE WHEN json_type({value}) IN ('OBJECT', 'ARRAY') "
        f"THEN to_json(CAST({value} AS VARCHAR)) ELSE {value} END"
    )
    rebuilt = (
        "CAST(to_json(map_from_entries(list_transform(json_keys(j), "
        f"lambda k: struct_pack(k := {new_key}, v := {scalar})))) AS VARCHAR)"
    )
    # NOTE: a lambda cannot see outer columns by name, so the JSON is bound once as ``j``.
    return (
        f"(SELECT nullif({rebuilt}, '{{}}') FROM (SELECT CAST(TRY_CAST({text} AS JSON) "
        "AS JSON) AS j) WHERE json_type(j) = 'OBJECT')"
    )


def _charges(s: _Sql) -> dict[str, str]:
    """Return the charge columns: 1.0-preview's ChargeSubcategory and the hub's BUG fixes."""
    sub = f"lower({s.x('ChargeSubcategory')})"
    category = (
        f"(CASE {sub} WHEN 'refund' THEN 'Purchase' WHEN 'credit' THEN 'Credit' "
        f"ELSE {s.t('ChargeCategory')} END)"
    )
    commitment = s.t("CommitmentDiscountId")
    status = (
        f"coalesce({s.t('CommitmentDiscountStatus')}, CASE {sub} WHEN 'used commitment' "
        "THEN 'Used' WHEN 'unused commitment' THEN 'Unused' END)"
    )
    frequency = s.t("ChargeFrequency")
    consumed = f"({category} = 'Usage' AND coalesce({status}, '') <> 'Unused')"
    pricing = s.t("PricingCategory")
    return {
        "ChargeCategory": category,
        "ChargeClass": f"(CASE WHEN {sub} = 'refund' THEN 'Correction' "
        f"ELSE {s.t('ChargeClass')} END)",
        # BUG (hub KQL): recurring savings plan purchases say "Usage-Based"; FOCUS forbids
        # Usage-Based on any Purchase row.
        "ChargeFrequency": f"(CASE WHEN {category} = 'Purchase' AND {frequency} = 'Usage-Based' "
        f"THEN (CASE WHEN {commitment} IS NOT NULL THEN 'Recurring' ELSE 'One-Time' END) "
        f"ELSE {frequency} END)",
        "CommitmentDiscountStatus": status,
        "ConsumedQuantity": f"(CASE WHEN {consumed} THEN {s.t('ConsumedQuantity')} END)",
        "ConsumedUnit": f"(CASE WHEN {consumed} THEN {s.t('ConsumedUnit')} END)",
        "PricingCategory": f"(CASE WHEN lower(trim({pricing})) = 'commitment-based' "
        f"THEN 'Committed' ELSE {pricing} END)",
    }


def _costs(s: _Sql, category: str, charge_class: str) -> dict[str, str]:
    """Return the cost columns with the hub's EffectiveCost and ContractedCost fixes."""
    commitment = s.t("CommitmentDiscountId")
    quantity = s.t("PricingQuantity")
    # BUG (hub KQL): commitment purchases carry their cost as EffectiveCost too; FOCUS
    # amortizes it into the covered usage, so the purchase row's EffectiveCost is 0.
    effective = (
        f"(CASE WHEN {category} = 'Purchase' AND {commitment} IS NOT NULL THEN 0 "
        f"ELSE {s.t('EffectiveCost')} END)"
    )
    unit = f"coalesce({s.t('ContractedUnitPrice')}, {s.xd('x_OnDemandUnitPrice')})"
    contracted = f"coalesce({s.t('ContractedCost')}, {s.xd('x_OnDemandCost')})"
    product = times(unit, quantity)
    # BUG (hub KQL): some ContractedCost values disagree with ContractedUnitPrice x quantity.
    bad = (
        f"({unit} IS NOT NULL AND {quantity} IS NOT NULL "
        f"AND coalesce({charge_class}, '') <> 'Correction' "
        f"AND ({contracted} IS NULL OR abs({contracted} - {product}) >= 0.0001))"
    )
    fixed = f"(CASE WHEN {bad} THEN {product} ELSE coalesce({contracted}, {effective}) END)"
    list_price = s.t("ListUnitPrice")
    return {
        "EffectiveCost": effective,
        "ContractedUnitPrice": unit,
        "ContractedCost": fixed,
        # NOTE: zero List/Contracted prices (Marketplace, reservation usage) stay as sent:
        # FOCUS allows them and only a price-sheet join could fill them.
        "ListCost": f"coalesce({s.t('ListCost')}, {times(list_price, quantity)}, {fixed})",
    }


def _accounts(s: _Sql) -> dict[str, str]:
    """Return account, publisher and service columns with the conformance-summary fixes."""
    sub_id = s.t("SubAccountId")
    profile, account = s.x("x_BillingProfileId"), s.x("x_BillingAccountId")
    publisher = f"coalesce({s.t('PublisherName')}, 'Microsoft')"
    marketplace = f"(lower({s.x('x_PublisherCategory')}) = 'marketplace')"
    service = (
        f"coalesce({s.t('ServiceName')}, CASE WHEN {marketplace} THEN {s.t('PublisherName')} "
        f"END, {s.x('x_SkuMeterSubcategory')}, {s.x('x_SkuMeterCategory')}, "
        f"{s.t('ChargeDescription')}, {publisher})"
    )
    category = f"coalesce({s.t('ServiceCategory')}, 'Other')"
    return {
        "BillingAccountType": f"coalesce({s.t('BillingAccountType')}, CASE WHEN {profile} IS "
        f"NULL OR {profile} = {account} THEN 'Billing Account' ELSE 'Billing Profile' END)",
        "SubAccountName": f"(CASE WHEN {sub_id} IS NOT NULL "
        f"THEN {unassigned(s.t('SubAccountName'))} END)",
        "SubAccountType": f"(CASE WHEN {sub_id} IS NOT NULL "
        f"THEN coalesce({s.t('SubAccountType')}, 'Subscription') END)",
        "PublisherName": publisher,
        "ServiceName": service,
        "ServiceCategory": category,
        "ServiceSubcategory": f"coalesce({s.t('ServiceSubcategory')}, "
        f"'Other (' || {category} || ')')",
        "SkuPriceId": unassigned(s.t("SkuPriceId")),
    }


def _details(s: _Sql) -> dict[str, str]:
    """Return dates, tags, SKU details and the columns Azure moved out of ``x_`` in 1.2."""
    tags = s.t("Tags")
    period_start, period_end = s.t("BillingPeriodStart"), s.t("BillingPeriodEnd")
    charge_start, charge_end = s.t("ChargePeriodStart"), s.t("ChargePeriodEnd")
    month_end = f"date_trunc('month', {period_end})"
    details = s.t("SkuPriceDetails") if "SkuPriceDetails" in s.typed else "NULL"
    out = {
        "BillingPeriodStart": f"date_trunc('month', {period_start})",
        # Billing periods are calendar months; an inclusive end becomes the next month's start.
        "BillingPeriodEnd": f"(CASE WHEN {period_end} = {month_end} THEN {period_end} "
        f"ELSE {month_end} + INTERVAL 1 MONTH END)",
        # Daily rows whose end equals their start (inclusive end) end a day later.
        "ChargePeriodEnd": f"(CASE WHEN {charge_end} <= {charge_start} "
        f"THEN {charge_start} + INTERVAL 1 DAY ELSE {charge_end} END)",
        "Tags": f"(CASE WHEN trim({tags}) = '{{}}' THEN NULL WHEN starts_with(trim({tags}), '{{') "
        f"THEN {tags} ELSE '{{' || {tags} || '}}' END)",
        "SkuPriceDetails": sku_price_details(f"coalesce({details}, {s.x('x_SkuDetails')})"),
        "InvoiceId": f"coalesce({s.t('InvoiceId')}, {s.x('x_InvoiceId')})",
        "PricingCurrency": f"coalesce({s.t('PricingCurrency')}, {s.x('x_PricingCurrency')})",
        "SkuMeter": f"coalesce({s.t('SkuMeter')}, {s.x('x_SkuMeterName')})",
    }
    if ("Region", "RegionId") in s.lay.renamed:
        # 1.0-preview's Region is a display name ("East US"); FOCUS RegionId is "eastus".
        out["RegionId"] = f"lower(replace({s.t('RegionId')}, ' ', ''))"
        out["RegionName"] = s.t("RegionId")
    return out


def overrides(info: SourceInfo, lay: FocusLayout, version: str) -> dict[str, str]:
    """Return lake column -> SQL for every column this reader sets differently from FOCUS."""
    s = _Sql(info, lay)
    charges = _charges(s)
    out = {
        **charges,
        **_costs(s, charges["ChargeCategory"], charges["ChargeClass"]),
        **_accounts(s),
        **_details(s),
        "x_SourceFormat": quote_literal(f"azure-focuscost-{version.split('(')[0]}-{info.kind}"),
        "x_SourceVersion": quote_literal(version),
    }
    return out


def reconciliation(info: SourceInfo, lay: FocusLayout) -> Reconciliation:
    """Return the source's own total: ΣBilledCost per BillingAccountId and billing month."""
    from aifinops.ingest.readers import Reconciliation

    s = _Sql(info, lay)
    return Reconciliation(
        account=s.t("BillingAccountId"),
        period=f"strftime(date_trunc('month', {s.t('BillingPeriodStart')}), '%Y-%m')",
        total=f"coalesce(sum({s.t('BilledCost')}), 0)",
    )


class AzureFocusReader:
    """Azure Cost Management FOCUS exports (FocusCost 1.0-preview to 1.2), fixed to FOCUS 1.2."""

    name = "azure-focus"
    description = (
        "Azure Cost Management FOCUS export (FocusCost 1.0-preview(v1), 1.0, 1.0r2, "
        "1.2-preview, 1.2; CSV/CSV.gz/Parquet)"
    )
    provides = frozenset(COLUMNS_BY_NAME) - {
        "AvailabilityZone",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
    }

    def detect(self, info: SourceInfo) -> bool:
        """Return True for a FOCUS header with Azure's ``x_`` billing/meter columns."""
        return is_focus_cost(info)

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return the read of a FocusCost file: FOCUS projection plus Azure's fixes.

        Raises:
            BadInputError: when the file is not a FocusCost export.
        """
        from aifinops.ingest.checks import focus_checks
        from aifinops.ingest.readers import ReadPlan
        from aifinops.ingest.scan import scan_sql

        del run_files
        lay = layout(info)
        if lay is None or not is_focus_cost(info):
            raise BadInputError(
                "not an Azure FocusCost export (needs FOCUS columns and Azure's x_ columns "
                "such as x_BillingAccountId or x_SkuMeterCategory)",
                file=str(info.path),
                row=0,
                expected="a Cost Management 'Cost and usage details (FOCUS)' export header",
                fix="export the FOCUS dataset from Cost Management, or read the file as plain "
                "FOCUS with --source-format focus; see docs/ingest-azure-focus.md.",
            )
        version = detect_version(info, lay)
        promoted = {raw for raw in lay.extras if _name(raw) in PROMOTED}
        kept = replace(lay, extras=tuple(c for c in lay.extras if c not in promoted))
        select = projection(
            info, kept, fallbacks=dict(fallbacks), overrides=overrides(info, lay, version)
        )
        return ReadPlan(
            format_name=f"azure-focuscost-{version.split('(')[0]}-{info.kind}",
            version=version,
            scan=scan_sql(info),
            select=select,
            checks=focus_checks(info, lay),
            notes=[f"Azure FocusCost {version}: known Azure data bugs fixed to FOCUS 1.2 rules"],
            reconciliation=reconciliation(info, lay),
        )
