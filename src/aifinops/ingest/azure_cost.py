"""Reader for Azure Cost Management cost-details exports (EA, MCA, pay-as-you-go; CSV or Parquet).

Cost Management exports two views of the same charges: **actual** (what was billed: commitment
purchases in full, covered usage at 0) and **amortized** (covered usage at its share of the
commitment, unused commitment as rows, purchases left out). FOCUS needs both (FOCUS.md §2.9,
finops-toolkit ``convert.md``): all amortized rows plus the actual commitment purchases and
refunds. When a run holds both files of one export (same name once ``actual``/``amortized`` is
removed), the actual file's plan reads its twin too (``ReadPlan.sources``) and the twin's own
plan reads nothing. One file alone still ingests; a note says which cost is approximated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aifinops.errors import BadInputError
from aifinops.focus import lake_schema
from aifinops.ingest import azure_columns as col
from aifinops.ingest import convert
from aifinops.ingest.azure_columns import Row
from aifinops.ingest.azure_headers import ALIASES, AzureLayout, azure_layout, find_twin, view_of
from aifinops.ingest.scan import scan_sql
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import ReadPlan, Reconciliation

#: Raw columns also kept in x_SourceExtras (the FOCUS row does not hold them verbatim).
_KEPT_RAW = (
    "AdditionalInfo",
    "MeterCategory",
    "MeterSubCategory",
    "ResourceGroup",
    "UnitOfMeasure",
)
_ACCOUNT_TYPES = {"BillingProfileId": "Billing Profile", "BillingAccountId": "Billing Account"}


def _account_columns(lay: AzureLayout) -> tuple[str, str]:
    """Return the (id, name) columns that identify the billing account of ``lay``.

    EA bills per enrollment (BillingAccountId), MCA per billing profile; a pay-as-you-go or
    partner file without either is billed per subscription.
    """
    order = (
        ("BillingProfileId", "BillingAccountId")
        if lay.agreement == "mca"
        else (
            "BillingAccountId",
            "BillingProfileId",
        )
    )
    for name in order:
        if name in lay.mapping:
            return name, name.replace("Id", "Name")
    return "SubscriptionId", "SubscriptionName"


def _scan_file(info: SourceInfo) -> str:
    """Return the raw scan of one export.

    NOTE: spreadsheet-saved exports drop trailing empty fields (OpenCost's values__Template
    fixture has 10 fields under an 11-column header); those read as NULL here.
    """
    scan = scan_sql(info)
    return scan.replace("null_padding=false", "null_padding=true") if info.kind == "csv" else scan


def _file_part(info: SourceInfo, lay: AzureLayout, view: str, index: int) -> str:
    """Return one file's rows under canonical names, with its view, file and row number."""
    items = [
        f"{quote_ident(lay.mapping[c])} AS {quote_ident(c)}"
        if c in lay.mapping
        else f"NULL AS {quote_ident(c)}"
        for c in ALIASES
    ]
    kept = [*lay.extras, *(lay.mapping[c] for c in _KEPT_RAW if c in lay.mapping)]
    pairs = ", ".join(
        f"{quote_literal(c.lstrip(chr(0xFEFF)).strip())}, CAST({quote_ident(c)} AS VARCHAR)"
        for c in kept
    )
    extras = f"CAST(json_object({pairs}) AS VARCHAR)" if kept else "NULL"
    return (
        f"SELECT {', '.join(items)}, {quote_literal(view)} AS __view, {index} AS __file, "
        f"{quote_literal(str(info.path))} AS __path, row_number() OVER () AS __row, "
        f"{extras} AS __extras FROM {_scan_file(info)}"
    )


class _Context:
    """What a plan knows: the files, their layout, and SQL for the row's account and period."""

    def __init__(self, parts: list[tuple[SourceInfo, AzureLayout, str]]) -> None:
        self.parts = parts
        self.lay = parts[0][1]
        self.row = Row(frozenset().union(*(set(p[1].mapping) for p in parts)))
        self.account_col, self.name_col = _account_columns(self.lay)
        self.paired = len(parts) == 2

    def account(self, fallback: str) -> str:
        return f"coalesce({self.row.text(self.account_col)}, {quote_literal(fallback)})"

    def period_start(self) -> str:
        start = self.row.date("BillingPeriodStartDate")
        return self.row.once(f"coalesce({start}, date_trunc('month', {self.row.date('Date')}))")

    def period(self) -> str:
        return f"strftime({self.period_start()}, '%Y-%m')"

    def scan(self, fallback: str) -> str:
        """Return the rows of every part, with their memoised values, account and period.

        Call it after all other SQL of the plan is built: it computes what they memoised.
        """
        account, period = self.account(fallback), self.period()
        union = " UNION ALL ".join(
            _file_part(info, lay, view, i) for i, (info, lay, view) in enumerate(self.parts)
        )
        return (
            f"(SELECT *, {account} AS __account, {period} AS __period "
            f"FROM {self.row.memo_scan(f'({union})')})"
        )


def _columns(ctx: _Context, fallbacks: Mapping[str, str]) -> dict[str, str]:
    r = ctx.row
    # NOTE: an empty cost bills nothing (OpenCost's BOM fixture has a row with a date only).
    cost = f"coalesce({r.dec('Cost')}, 0)"
    block, unit = col.block_and_unit(r)
    category = col.charge_category(r)
    tax = f"({category} = 'Tax')"
    # A file without quantities (OpenCost's minimal fixtures) counts each row as one unit.
    raw_quantity = f"coalesce({r.dec('Quantity')}, CAST(1 AS {convert.DECIMAL_SQL}))"
    quantity = r.once(f"(CASE WHEN NOT {tax} THEN {col.divide(raw_quantity, block)} END)")
    consumed = f"({r.charge_type()} = 'usage' AND {r.dec('Quantity')} IS NOT NULL)"
    billed = r.once(f"(CASE WHEN {r.billed_zero()} THEN 0 ELSE {cost} END)")
    effective = r.once(f"(CASE WHEN {r.commit_purchase()} THEN 0 ELSE {cost} END)")
    contracted = r.once(f"coalesce({col.times(r.dec('UnitPrice'), quantity)}, {cost})")
    list_cost = (
        f"coalesce({col.times(r.dec('PayGPrice'), quantity)}, {r.dec('PaygCost')}, {contracted})"
    )
    region_id, region_name = col.region(r)
    name, service_cat, service_sub = col.service(r)
    capacity = r.info("VMCapacityReservationId")
    account_type = _ACCOUNT_TYPES.get(ctx.account_col, "Subscription")
    currency = quote_literal(fallbacks.get("BillingCurrency", "USD"))
    return {
        "AvailabilityZone": r.text("AvailabilityZone"),
        "BilledCost": billed,
        "BillingAccountId": "__account",
        "BillingAccountName": r.text(ctx.name_col),
        "BillingAccountType": quote_literal(account_type),
        "BillingCurrency": f"coalesce({r.text('BillingCurrency')}, {currency})",
        # NOTE: Azure's BillingPeriodEndDate is the last day (inclusive); FOCUS ends exclusive.
        "BillingPeriodEnd": f"coalesce({r.date('BillingPeriodEndDate')} + INTERVAL 1 DAY, "
        f"{ctx.period_start()} + INTERVAL 1 MONTH)",
        "BillingPeriodStart": ctx.period_start(),
        "CapacityReservationId": capacity,
        "CapacityReservationStatus": f"(CASE WHEN {capacity} IS NOT NULL "
        f"AND {category} = 'Usage' THEN 'Used' END)",
        "ChargeCategory": category,
        "ChargeClass": f"(CASE WHEN {r.charge_type()} = 'refund' THEN 'Correction' END)",
        "ChargeDescription": col.charge_description(r),
        "ChargeFrequency": col.charge_frequency(r),
        "ChargePeriodEnd": f"({r.date('Date')} + INTERVAL 1 DAY)",
        "ChargePeriodStart": r.date("Date"),
        **col.commitment(r, quantity=quantity, unit=unit, billed=billed, effective=effective),
        "ConsumedQuantity": f"(CASE WHEN {consumed} THEN {r.dec('Quantity')} END)",
        "ConsumedUnit": f"(CASE WHEN {consumed} THEN {unit} END)",
        "ContractedCost": contracted,
        "ContractedUnitPrice": f"(CASE WHEN NOT {tax} THEN {r.dec('UnitPrice')} END)",
        "EffectiveCost": effective,
        "InvoiceId": r.text("InvoiceId"),
        "InvoiceIssuerName": f"coalesce({r.text('PartnerName')}, 'Microsoft')",
        "ListCost": list_cost,
        "ListUnitPrice": f"(CASE WHEN NOT {tax} THEN {r.dec('PayGPrice')} END)",
        "PricingCategory": col.pricing_category(r),
        "PricingCurrency": r.text("PricingCurrency") if ctx.lay.agreement == "mca" else "NULL",
        "PricingQuantity": quantity,
        "PricingUnit": f"(CASE WHEN NOT {tax} THEN coalesce({unit}, 'Units') END)",
        "ProviderName": "'Microsoft'",
        "PublisherName": f"coalesce({r.text('PublisherName')}, 'Microsoft')",
        "RegionId": region_id,
        "RegionName": region_name,
        "ResourceId": r.text("ResourceId"),
        "ResourceName": r.text("ResourceName")
        if "ResourceName" in r.present
        else (f"nullif(regexp_extract({r.text('ResourceId')}, '/([^/]*)$', 1), '')"),
        "ResourceType": col.resource_type(r),
        "ServiceCategory": service_cat,
        "ServiceName": name,
        "ServiceSubcategory": service_sub,
        "SkuId": f"coalesce({r.text('ProductId')}, {r.text('MeterId')})",
        "SkuMeter": r.text("MeterName"),
        "SkuPriceDetails": col.sku_price_details(r),
        "SkuPriceId": r.text("PartNumber"),
        "SubAccountId": r.text("SubscriptionId"),
        "SubAccountName": r.text("SubscriptionName"),
        "SubAccountType": f"(CASE WHEN {r.text('SubscriptionId')} IS NOT NULL "
        "THEN 'Subscription' END)",
        "Tags": col.tags(r),
        "x_SourceExtras": "__extras",
    }


def _select(ctx: _Context, fallbacks: Mapping[str, str], fmt: str, version: str) -> str:
    exprs = _columns(ctx, fallbacks)
    exprs["x_SourceFormat"] = quote_literal(fmt)
    exprs["x_SourceVersion"] = quote_literal(version)
    # NOTE: a twin's rows are filed under the file whose plan read them (the pipeline
    # reconciles and records sources per planned file; the manifest lists the twin).
    exprs["x_SourceFile"] = quote_literal(str(ctx.parts[0][0].path))
    items = []
    for field in lake_schema():
        kind = str(field.type)
        sql_type = (
            convert.DECIMAL_SQL
            if kind.startswith("decimal")
            else "TIMESTAMPTZ"
            if kind.startswith("timestamp")
            else "BOOLEAN"
            if kind == "bool"
            else "VARCHAR"
        )
        items.append(
            f"CAST({exprs.get(field.name, 'NULL')} AS {sql_type}) AS {quote_ident(field.name)}"
        )
    return ",\n  ".join(items)


def _reconciliation(ctx: _Context, fallback: str) -> Reconciliation:
    from aifinops.ingest.readers import Explanation, Reconciliation

    r = ctx.row
    cost = r.dec("Cost")
    zero = r.billed_zero()
    skip = "amortized" if ctx.paired else ""
    covered = Explanation(
        "commitment-covered usage and unused commitment: BilledCost 0, billed with the purchase "
        "(FOCUS discount handling)",
        # In a pair only the actual rows count towards the source total.
        f"coalesce(sum(CASE WHEN {zero} AND __view <> {quote_literal(skip)} THEN {cost} END), 0)",
    )
    if not ctx.paired:
        return Reconciliation(
            ctx.account(fallback), ctx.period(), f"coalesce(sum({cost}), 0)", (covered,)
        )
    differ = Explanation(
        "charges other than commitments differ between the actual and amortized exports "
        "(rows in one file only, e.g. an export cut short); BilledCost follows the amortized rows",
        f"coalesce(sum(CASE WHEN __view = 'actual' AND NOT {zero} "
        f"AND NOT {r.commit_purchase()} THEN {cost} END), 0)"
        f" - coalesce(sum(CASE WHEN __view = 'amortized' AND NOT {zero} THEN {cost} END), 0)",
    )
    total = f"coalesce(sum(CASE WHEN __view = 'actual' THEN {cost} END), 0)"
    return Reconciliation(
        ctx.account(fallback),
        ctx.period(),
        total,
        (covered, differ),
        group_checks=(col.pair_coverage(),),
    )


def _notes(ctx: _Context, view: str, fallbacks: Mapping[str, str]) -> list[str]:
    notes = []
    if ctx.paired:
        notes.append(
            f"read with its amortized twin {ctx.parts[1][0].path}: BilledCost from the "
            "actual view (commitment purchases), EffectiveCost from the amortized view"
        )
    elif view == "actual":
        notes.append(
            "actual-cost file without its amortized twin: EffectiveCost of "
            "commitment-covered usage is 0 (the amortized cost column is missing)"
        )
    elif view == "amortized":
        notes.append(
            "amortized file without its actual twin: commitment purchases are missing, "
            "so BilledCost lacks them (the actual cost column is missing)"
        )
    else:
        notes.append(
            "file name says neither actual nor amortized: BilledCost and EffectiveCost "
            "follow each row's ChargeType and PricingModel; pair it with its twin for both views"
        )
    if "BillingCurrency" not in ctx.row.present:
        notes.append(
            f"no currency column: rows billed in {fallbacks.get('BillingCurrency', 'USD')} "
            "(set --currency)"
        )
    if ctx.account_col == "SubscriptionId":
        notes.append("no billing account column: each subscription is its own billing account")
    if "Quantity" not in ctx.row.present:
        notes.append("no Quantity column: each row counts as 1 unit (PricingQuantity 1)")
    else:
        notes.append("rows with an empty Quantity count as 1 unit (PricingQuantity 1)")
    if "BillingPeriodStartDate" not in ctx.row.present:
        notes.append("no billing period columns: the calendar month of each charge date is used")
    return notes


class AzureCostReader:
    """Azure Cost Management cost details (actual/amortized; EA, MCA, pay-as-you-go)."""

    name = "azure-cost"
    description = "Azure cost-details CSV/Parquet (EA, MCA, PAYG; actual and amortized, paired)"
    provides = frozenset(f.name for f in lake_schema() if not f.name.startswith("x_")) - {
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
    }

    def detect(self, info: SourceInfo) -> bool:
        """Return True when the header is an Azure cost-details header."""
        return azure_layout(info.columns) is not None

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return the read of ``info``, together with its twin in the other view if present.

        Raises:
            BadInputError: when the header is not Azure cost details.
        """
        from aifinops.ingest.readers import ReadPlan

        lay = azure_layout(info.columns)
        if lay is None:
            raise BadInputError(
                "not an Azure cost-details file (needs a date, a cost and a meter column)",
                file=str(info.path),
                row=0,
                expected="a Cost Management cost-details header (Date, CostInBillingCurrency "
                "or Cost, MeterCategory)",
                fix="export 'Cost and usage details' from Cost Management; "
                "see docs/ingest-azure.md.",
            )
        view = view_of(info.path) or "unknown"
        twin = find_twin(info, run_files)
        twin_lay = azure_layout(twin.columns) if twin is not None else None
        parts = [(info, lay, view)]
        if twin is not None and twin_lay is not None:
            parts = [
                (info, lay, view),
                (twin, twin_lay, "amortized" if view == "actual" else "actual"),
            ]
            parts.sort(key=lambda p: p[2] != "actual")
        ctx = _Context(parts)
        fallback = fallbacks.get("BillingAccountId", "unknown")
        fmt = f"azure-{lay.agreement}-cost-details-{info.kind}"
        version = "actual+amortized" if ctx.paired else view
        plan = ReadPlan(
            format_name=fmt,
            version=version,
            scan="",
            select=_select(ctx, fallbacks, fmt, version),
            checks=col.checks(ctx.row),
            notes=_notes(ctx, view, fallbacks),
            reconciliation=_reconciliation(ctx, fallback),
        )
        if ctx.paired and view == "amortized":
            # The actual file's plan reads this one; read nothing here so no row counts twice.
            plan.where, plan.checks, plan.reconciliation = "false", [], None
            plan.notes = [f"read together with its actual twin {parts[0][0].path}"]
        elif ctx.paired:
            plan.sources = [parts[1][0]]
            plan.where = f"(__view = 'amortized' OR {ctx.row.commit_purchase()})"
        # NOTE: last: the scan computes every value the SQL above memoised (Row.memo_scan).
        plan.scan = ctx.scan(fallback)
        return plan
