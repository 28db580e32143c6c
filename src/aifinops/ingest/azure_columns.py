"""SQL for each FOCUS column of an Azure cost-details row (finops-toolkit convert.md rules).

Every expression reads the canonical columns of the reader's scan (see
:mod:`aifinops.ingest.azure_headers`); a column the file lacks reads as NULL. The lookup tables
(services, pricing units, regions, resource types, VM sizes) are package data under
``ingest/data/azure_*.csv``, written by us from public facts; each is inlined as a DuckDB MAP.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from aifinops.ingest import convert
from aifinops.ingest.scan import Check

if TYPE_CHECKING:
    from aifinops.ingest.readers import GroupCheck
from aifinops.lake.duck import quote_ident, quote_literal

_COMMIT_SERVICES = "('microsoft.capacity', 'microsoft.billingbenefits')"
_UNUSED = "('unusedreservation', 'unusedsavingsplan')"


@cache
def table(name: str) -> tuple[dict[str, str], ...]:
    """Return the rows of package data file ``azure_<name>.csv`` (``#`` lines are notes)."""
    text = (resources.files("aifinops.ingest") / "data" / f"azure_{name}.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(csv.DictReader(lines))


def sql_map(pairs: dict[str, str]) -> str:
    """Return a DuckDB MAP literal of text keys and text values."""
    items = ", ".join(f"{quote_literal(k)}: {quote_literal(v)}" for k, v in sorted(pairs.items()))
    return f"MAP {{{items}}}"


_MEMO_NAME = re.compile(r'"__az_v(\d+)"')


@dataclass(frozen=True)
class Row:
    """SQL for the raw values of one scan row; ``present`` are the canonical columns it has.

    NOTE: every typed value is computed once per row, in projections under the reader's scan
    (:meth:`memo_scan`), and referenced by name. Inlined, the same regex and JSON trees were
    evaluated up to 170 times per row (AdditionalInfo) and the read ran 7x slower than a plain
    projection of the file.
    """

    present: frozenset[str]
    memo: dict[str, tuple[str, int]] = field(default_factory=dict, compare=False, hash=False)

    def once(self, expr: str) -> str:
        """Return a reference to ``expr`` computed once per row (in :meth:`memo_scan`)."""
        found = self.memo.get(expr)
        if found is None:
            # A value built from memoised values is computed one projection above them.
            level = 1 + max((self.memo_levels[int(m)] for m in _MEMO_NAME.findall(expr)), default=0)
            found = (f"__az_v{len(self.memo)}", level)
            self.memo[expr] = found
        return quote_ident(found[0])

    @property
    def memo_levels(self) -> list[int]:
        """Return the projection level of each memoised value, by its number."""
        return [level for _name, level in self.memo.values()]

    def memo_scan(self, raw_scan: str) -> str:
        """Return ``raw_scan`` with every memoised value as a named column."""
        scan = raw_scan
        for level in range(1, max(self.memo_levels, default=0) + 1):
            values = ", ".join(
                f"{expr} AS {quote_ident(name)}"
                for expr, (name, at) in self.memo.items()
                if at == level
            )
            scan = f"(SELECT *, {values} FROM {scan})"
        return scan

    def text(self, name: str) -> str:
        """Return the column as trimmed text, NULL when absent or empty."""
        if name not in self.present:
            return "CAST(NULL AS VARCHAR)"
        return self.once(f"trim({convert.clean_text(quote_ident(name))})")

    def low(self, name: str) -> str:
        """Return the column lower-cased (for case-insensitive comparisons)."""
        return self.once(f"lower({self.text(name)})")

    def dec(self, name: str) -> str:
        """Return the column as the lake's decimal."""
        if name not in self.present:
            return f"CAST(NULL AS {convert.DECIMAL_SQL})"
        return self.once(convert.to_decimal(quote_ident(name)))

    def date(self, name: str) -> str:
        """Return the column as a UTC timestamp (EA writes MM/DD/YYYY, MCA ISO 8601)."""
        if name not in self.present:
            return "CAST(NULL AS TIMESTAMPTZ)"
        return self.once(convert.to_timestamp(quote_ident(name)))

    def info(self, key: str) -> str:
        """Return ``key`` of AdditionalInfo (JSON, braces optional) as text."""
        braced = self.once(_braced(self.text("AdditionalInfo")))
        doc = self.once(f"(CASE WHEN json_valid({braced}) THEN CAST({braced} AS JSON) END)")
        return self.once(f"json_extract_string({doc}, {quote_literal('$.' + key)})")

    # Row kinds (finops-toolkit convert.md).
    def charge_type(self) -> str:
        """Return ChargeType lower-cased; files without it hold usage only."""
        return self.once(f"coalesce({self.low('ChargeType')}, 'usage')")

    def committed(self) -> str:
        """Return SQL true when the row is priced by a reservation or savings plan."""
        model = f"coalesce(replace({self.low('PricingModel')}, ' ', ''), '')"
        return self.once(f"({model} IN ('reservation', 'savingsplan'))")

    def billed_zero(self) -> str:
        """Return SQL true for covered usage and unused commitment: billed with the purchase."""
        ct = self.charge_type()
        return f"(({ct} = 'usage' AND {self.committed()}) OR {ct} IN {_UNUSED})"

    def commit_purchase(self) -> str:
        """Return SQL true for a commitment purchase or refund (EffectiveCost 0, FOCUS §2.9)."""
        return f"({self.charge_type()} IN ('purchase', 'refund') AND {self.committed()})"


def _braced(text: str) -> str:
    # NOTE: cost details write Tags and (in some exports) AdditionalInfo as JSON members
    # without the outer braces: "a": "b","c": "d".
    return f"(CASE WHEN starts_with({text}, '{{') THEN {text} ELSE '{{' || {text} || '}}' END)"


def tags(r: Row) -> str:
    """Return Tags as one JSON object text; user keys kept exactly as exported."""
    doc = r.once(_braced(r.text("Tags")))
    return r.once(f"(CASE WHEN json_valid({doc}) THEN CAST(json({doc}) AS VARCHAR) END)")


def tags_invalid(r: Row) -> str:
    """Return SQL true where Tags holds text that is not a JSON object's members."""
    doc = r.once(_braced(r.text("Tags")))
    return f"({r.text('Tags')} IS NOT NULL AND NOT json_valid({doc}))"


def charge_category(r: Row) -> str:
    """Return ChargeCategory: Unused* and usage -> Usage, Refund -> Purchase, others Adjustment."""
    return r.once(
        f"(CASE {r.charge_type()} WHEN 'usage' THEN 'Usage' WHEN 'purchase' THEN 'Purchase' "
        "WHEN 'refund' THEN 'Purchase' WHEN 'credit' THEN 'Credit' WHEN 'tax' THEN 'Tax' "
        "WHEN 'unusedreservation' THEN 'Usage' WHEN 'unusedsavingsplan' THEN 'Usage' "
        "ELSE 'Adjustment' END)"
    )


def charge_frequency(r: Row) -> str:
    """Return ChargeFrequency from Frequency; a purchase is never Usage-Based (FOCUS)."""
    freq = f"replace({r.low('Frequency')}, '-', '')"
    return (
        f"(CASE WHEN {freq} = 'onetime' THEN 'One-Time' WHEN {freq} = 'recurring' THEN 'Recurring' "
        f"WHEN {charge_category(r)} = 'Purchase' THEN 'One-Time' ELSE 'Usage-Based' END)"
    )


def charge_description(r: Row) -> str:
    """Return ChargeDescription: what was bought, what went unused, or the product."""
    unused = (
        f"(CASE {r.charge_type()} WHEN 'unusedreservation' THEN 'Unused reservation: ' "
        "ELSE 'Unused savings plan: ' END)"
    )
    what = f"coalesce({r.info('ServiceType')}, {r.text('BenefitName')}, {r.text('ProductName')})"
    return (
        f"(CASE WHEN {r.commit_purchase()} AND {r.text('ProductOrderName')} IS NOT NULL "
        f"THEN {r.text('ProductOrderName')} "
        f"WHEN {r.charge_type()} IN {_UNUSED} THEN {unused} || {what} "
        f"ELSE coalesce({r.text('ProductName')}, {r.text('MeterName')}, "
        f"{r.text('MeterCategory')}) END)"
    )


def commitment(r: Row, *, quantity: str, unit: str, billed: str, effective: str) -> dict[str, str]:
    """Return the CommitmentDiscount* columns from benefitId (FOCUS.md §2.9).

    ``/microsoft.capacity/`` is a reservation (category Usage, quantity in pricing units);
    ``/microsoft.billingbenefits/`` a savings plan (category Spend, quantity in money).
    """
    cid = r.once(
        f"coalesce({r.text('BenefitId')}, "
        f"CASE WHEN {r.committed()} THEN {r.text('ReservationId')} END)"
    )
    low = f"lower({cid})"
    spend = r.once(
        f"(contains({low}, '/microsoft.billingbenefits/') OR (NOT contains({low}, "
        f"'/microsoft.capacity/') AND replace({r.low('PricingModel')}, ' ', '') = 'savingsplan'))"
    )
    usage = f"({charge_category(r)} = 'Usage')"
    status = (
        f"(CASE WHEN NOT {usage} THEN NULL WHEN {r.charge_type()} IN {_UNUSED} THEN 'Unused' "
        f"WHEN {r.committed()} THEN 'Used' END)"
    )
    amount = f"(CASE WHEN {usage} THEN {effective} ELSE {billed} END)"
    columns = {
        "CommitmentDiscountId": cid,
        "CommitmentDiscountCategory": f"(CASE WHEN {spend} THEN 'Spend' ELSE 'Usage' END)",
        "CommitmentDiscountName": f"coalesce({r.text('BenefitName')}, {r.text('ReservationName')})",
        "CommitmentDiscountQuantity": f"(CASE WHEN {spend} THEN {amount} ELSE {quantity} END)",
        "CommitmentDiscountStatus": status,
        "CommitmentDiscountType": f"(CASE WHEN {spend} THEN 'Savings Plan' ELSE 'Reservation' END)",
        "CommitmentDiscountUnit": f"(CASE WHEN {spend} THEN {r.text('BillingCurrency')} "
        f"ELSE {unit} END)",
    }
    # Every commitment column is NULL on rows without a commitment.
    return {k: f"(CASE WHEN {cid} IS NOT NULL THEN {v} END)" for k, v in columns.items()}


def pricing_category(r: Row) -> str:
    """Return PricingCategory: OnDemand Standard, Spot Dynamic, commitments Committed.

    Purchase rows stay Standard (FOCUS: Committed never on the purchase itself); Tax is NULL.
    """
    pm = f"replace({r.low('PricingModel')}, ' ', '')"
    return (
        f"(CASE WHEN {charge_category(r)} = 'Tax' THEN NULL "
        f"WHEN {charge_category(r)} = 'Purchase' THEN 'Standard' "
        f"WHEN {pm} IN ('reservation', 'savingsplan') THEN 'Committed' "
        f"WHEN {pm} = 'spot' THEN 'Dynamic' ELSE 'Standard' END)"
    )


def block_and_unit(r: Row) -> tuple[str, str]:
    """Return (block size, PricingUnit) SQL from UnitOfMeasure ("10 Hours", "100 GB", "10K").

    The block size is the leading number (times 1,000 or 1,000,000 for a K or M suffix); the
    unit words map through ``azure_pricing_units.csv`` (FOCUS unit spellings).
    """
    uom = r.text("UnitOfMeasure")
    num = f"nullif(regexp_extract({uom}, '^([0-9]+)', 1), '')"
    suffix = r.once(f"regexp_extract({uom}, '^[0-9]+([KM])([^A-Za-z]|$)', 1)")
    scale = f"(CASE {suffix} WHEN 'K' THEN 1000 WHEN 'M' THEN 1000000 ELSE 1 END)"
    block = r.once(f"(coalesce(CAST({num} AS DECIMAL(38,0)), 1) * {scale})")
    rest = r.once(f"trim(regexp_replace({uom}, '^[0-9]+' || {suffix}, ''))")
    units = sql_map({row["UnitText"]: row["PricingUnit"] for row in table("pricing_units")})
    unit = r.once(
        f"(CASE WHEN {uom} IS NULL THEN NULL WHEN {rest} = '' THEN 'Units' "
        f"WHEN starts_with({rest}, '/') THEN 'Units' || {rest} "
        f"ELSE coalesce({units}[{rest}], {rest}) END)"
    )
    return block, unit


def divide(value: str, block: str) -> str:
    """Return ``value`` / ``block`` exactly to 18 decimals (DuckDB decimal division is DOUBLE).

    NOTE: money and quantities are never float: the division runs on the unscaled integer.
    """
    digits = f"replace(CAST(CAST({value} AS {convert.DECIMAL_SQL}) AS VARCHAR), '.', '')"
    scaled = f"CAST({digits} AS HUGEINT)"
    size = f"CAST({block} AS HUGEINT)"
    rounded = f"(({scaled} * 2 + sign({scaled}) * {size}) // (2 * {size}))"
    exact = f"(CAST({rounded} AS DECIMAL(38,0)) * CAST('1e-18' AS DECIMAL(19,18)))"
    return f"(CASE WHEN {block} = 1 THEN {value} ELSE {exact} END)"


def times(price: str, quantity: str) -> str:
    """Return price x quantity as the lake decimal (12-decimal factors keep 14 integer digits)."""
    return (
        f"CAST(CAST({price} AS DECIMAL(38,12)) * CAST({quantity} AS DECIMAL(38,12)) "
        f"AS {convert.DECIMAL_SQL})"
    )


def region(r: Row) -> tuple[str, str]:
    """Return (RegionId, RegionName) from ResourceLocation via ``azure_regions.csv``."""
    ids: dict[str, str] = {}
    names: dict[str, str] = {}
    for row in table("regions"):
        names[row["RegionId"]] = row["RegionName"]
        keys = [row["RegionId"], row["RegionName"], *row["Aliases"].split(";")]
        ids.update({k.lower().replace(" ", ""): row["RegionId"] for k in keys if k})
    loc = f"replace({r.low('ResourceLocation')}, ' ', '')"
    region_id = r.once(f"coalesce({sql_map(ids)}[{loc}], {loc})")
    name = r.once(f"coalesce({sql_map(names)}[{region_id}], {r.text('ResourceLocation')})")
    return region_id, name


def resource_type(r: Row) -> str:
    """Return ResourceType: the ARM type of ResourceId, as its display name."""
    path = f"regexp_extract({r.text('ResourceId')}, '/providers/(.*)$', 1)"
    arm = (
        f"lower(array_to_string(list_filter(string_split({path}, '/'), "
        "lambda x, i: i = 1 OR i % 2 = 0), '/'))"
    )
    names = {row["ResourceType"]: row["DisplayName"] for row in table("resource_types")}
    return r.once(f"{sql_map(names)}[{arm}]")


def service(r: Row) -> tuple[str, str, str]:
    """Return (ServiceName, ServiceCategory, ServiceSubcategory) SQL.

    ConsumedService decides, except for commitment purchases (Microsoft.Capacity or
    Microsoft.BillingBenefits), which belong to the service of the meter they were bought for.
    """
    rows = table("services")
    consumed = {x["Key"]: x for x in rows if x["Kind"] == "consumed"}
    meter = {x["Key"]: x for x in rows if x["Kind"] == "meter"}
    cs, mc = r.low("ConsumedService"), r.low("MeterCategory")
    known = sql_map({k: "1" for k in consumed})
    use_meter = r.once(f"({cs} IS NULL OR {cs} IN {_COMMIT_SERVICES} OR {known}[{cs}] IS NULL)")

    def pick(col: str) -> str:
        by_cs = sql_map({k: v[col] for k, v in consumed.items()})
        by_mc = sql_map({k: v[col] for k, v in meter.items()})
        return f"(CASE WHEN {use_meter} THEN {by_mc}[{mc}] ELSE {by_cs}[{cs}] END)"

    raw_name = f"coalesce({r.text('MeterCategory')}, {r.text('ConsumedService')}, 'Unknown')"
    name = r.once(f"coalesce({pick('ServiceName')}, {raw_name})")
    category = r.once(f"coalesce({pick('ServiceCategory')}, 'Other')")
    sub = r.once(f"coalesce({pick('ServiceSubcategory')}, 'Other (' || {category} || ')')")
    return name, category, sub


def sku_price_details(r: Row) -> str:
    """Return SkuPriceDetails JSON (InstanceType, CoreCount, MemorySize, GpuCount) or NULL.

    The instance type is AdditionalInfo.ServiceType for VM sizes, else (reservation purchases,
    whose AdditionalInfo is empty) the VM meter name as a size known to ``azure_vm_sizes.csv``.
    """
    sizes = table("vm_sizes")
    known = sql_map({s["InstanceType"].lower(): s["InstanceType"] for s in sizes})
    service_type = r.info("ServiceType")
    from_meter = f"{known}[lower('Standard_' || replace({r.text('MeterName')}, ' ', '_'))]"
    instance = r.once(
        f"(CASE WHEN starts_with({service_type}, 'Standard_') THEN {service_type} "
        f"WHEN {r.low('MeterCategory')} = 'virtual machines' THEN {from_meter} END)"
    )
    size = r.once(f"lower({instance})")

    def fact(col: str) -> str:
        return f"{sql_map({s['InstanceType'].lower(): s[col] for s in sizes})}[{size}]"

    cores = (
        f"coalesce(TRY_CAST({r.info('VCPUs')} AS INTEGER), "
        f"TRY_CAST({fact('CoreCount')} AS INTEGER))"
    )
    gpus = f"nullif(TRY_CAST({fact('GpuCount')} AS INTEGER), 0)"
    parts = (
        f"""['"CoreCount":' || {cores}, '"GpuCount":' || {gpus}, """
        f"""'"InstanceType":' || to_json({instance}), '"MemorySize":' || {fact("MemorySize")}]"""
    )
    return (
        f"(CASE WHEN {instance} IS NOT NULL THEN "
        f"'{{' || array_to_string(list_filter({parts}, lambda x: x IS NOT NULL), ',') || '}}' END)"
    )


def _shown(raw: str) -> str:
    value = f"coalesce('\"' || CAST({raw} AS VARCHAR) || '\"', 'empty')"
    return f"({value} || ' (' || __path || ', data row ' || __row || ')')"


def checks(r: Row) -> list[Check]:
    """Return the row checks: numbers, dates and Tags JSON."""
    checks = []
    for name in ("Cost", "Quantity", "UnitPrice", "PayGPrice", "EffectivePrice"):
        if name in r.present:
            checks.append(
                Check(
                    column=name,
                    condition=convert.failed(quote_ident(name), r.dec(name)),
                    shown=_shown(quote_ident(name)),
                    message=f"{name} {{value}} is not a number",
                    expected="a plain decimal such as 12.5 or -0.0004",
                    fix="re-export the cost details; keep '.' as the decimal point and no "
                    "currency words.",
                )
            )
    for name in ("Date", "BillingPeriodStartDate", "BillingPeriodEndDate"):
        if name in r.present:
            checks.append(
                Check(
                    column=name,
                    condition=convert.failed(quote_ident(name), r.date(name)),
                    shown=_shown(quote_ident(name)),
                    message=f"{name} {{value}} is not a date",
                    expected="MM/DD/YYYY (EA) or ISO 8601 such as 2026-10-01",
                    fix="re-export the file without reformatting dates (e.g. in a spreadsheet).",
                )
            )
    checks.append(
        Check(
            column="Tags",
            condition=tags_invalid(r),
            shown=_shown(r.text("Tags")),
            message="Tags {value} is not JSON",
            expected='JSON members such as "team": "ml","env": "prod"',
            fix="re-export the file; the Tags column must not be cut or re-quoted.",
        )
    )
    return checks


def pair_coverage() -> GroupCheck:
    """Return the check that a pair's two files cover the same billing accounts and periods."""
    from aifinops.ingest.readers import GroupCheck

    return GroupCheck(
        column="BillingPeriodStartDate",
        bad="(count(*) FILTER (WHERE __view = 'actual') = 0 "
        "OR count(*) FILTER (WHERE __view = 'amortized') = 0)",
        shown="(__account || ' ' || __period || ' (' || __path || ', data row ' || __row || ')')",
        message="the actual and amortized files do not cover the same billing account and "
        "period: {value} has rows in one file only",
        expected="an actual and an amortized export of the same billing account and period",
        fix="export both views for the same scope and dates, or ingest the file on its own "
        "(rename it so it has no twin); see docs/ingest-azure.md.",
    )
