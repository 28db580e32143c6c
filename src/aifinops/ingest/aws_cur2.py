"""Reader for AWS CUR 2.0 (Data Exports ``COST_AND_USAGE_REPORT``), Parquet or CSV(.gz).

CUR 2.0 has a fixed snake_case schema with the sparse groups folded into map columns:
``product`` (attributes such as ``product_name``, ``vcpu``), ``resource_tags`` (``user_team``),
``cost_category`` and ``discount``. An export may select only some columns; missing ones
read as NULL. In CSV exports the map columns hold JSON objects. The line-item semantics are
shared with the legacy CUR (:mod:`aifinops.ingest.aws_common`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aifinops.ingest import aws_common, convert
from aifinops.ingest.aws_common import CHARGE_CATEGORY, USAGE_TYPES, AwsColumns, AwsLayout
from aifinops.ingest.scan import Check
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import ReadPlan

#: The map columns of CUR 2.0; any of them (or the account-name columns) marks the format.
MAP_COLUMNS = ("product", "resource_tags", "cost_category", "discount")
_CUR2_ONLY = frozenset({*MAP_COLUMNS, "bill_payer_account_name", "line_item_usage_account_name"})
_REQUIRED = ("line_item_line_item_type", "line_item_unblended_cost", "bill_payer_account_id")
VERSION = "2.0"


def _names(info: SourceInfo) -> dict[str, str]:
    return {c.lstrip("\ufeff").strip(): c for c in info.columns}


def is_cur2(info: SourceInfo) -> bool:
    """Return True when ``info`` has the CUR 2.0 required columns and a CUR 2.0-only one."""
    names = _names(info)
    return all(k in names for k in _REQUIRED) and bool(_CUR2_ONLY & names.keys())


def _map_value(column: str, key: str, *, typed: bool) -> str:
    if typed:
        return f"{column}[{quote_literal(key)}]"
    return f"json_extract_string({column}, {quote_literal('$.' + chr(34) + key + chr(34))})"


def _as_map(column: str, *, typed: bool) -> str:
    return column if typed else f"TRY_CAST(TRY_CAST({column} AS JSON) AS MAP(VARCHAR, VARCHAR))"


def layout(info: SourceInfo) -> AwsLayout:
    """Return where each CUR value sits in ``info`` (a CUR 2.0 file)."""
    names = _names(info)
    types = dict(zip(info.columns, info.column_types, strict=True))
    scanned = aws_common.scan_names(info.columns)
    columns = {k: quote_ident(scanned[raw]) for k, raw in names.items() if k not in MAP_COLUMNS}
    col_types = {k: types[raw] for k, raw in names.items()}
    product: dict[str, str] = {}
    tags = "NULL"
    if "product" in names:
        typed = col_types["product"].startswith("map")
        for attr in ("product_name", "vcpu", "memory", "gpu"):
            product[attr] = _map_value(quote_ident(scanned[names["product"]]), attr, typed=typed)
    if "resource_tags" in names:
        typed = col_types["resource_tags"].startswith("map")
        as_map = _as_map(quote_ident(scanned[names["resource_tags"]]), typed=typed)
        tags = aws_common.tags_map(f"map_entries({as_map})")
    # Static product_* columns win over the map (a few attributes exist as both).
    for attr in ("vcpu", "memory", "gpu"):
        if f"product_{attr}" in columns:
            product[attr] = columns[f"product_{attr}"]
    return AwsLayout(columns, col_types, product, tags)


def build_plan(
    info: SourceInfo,
    lay: AwsLayout,
    *,
    format_name: str,
    version: str,
    headers: Mapping[str, str],
) -> ReadPlan:
    """Return the read of an AWS CUR file laid out as ``lay`` (shared by both CUR readers)."""
    from aifinops.ingest.readers import ReadPlan
    from aifinops.ingest.scan import scan_sql

    cols = AwsColumns(lay)
    source = {
        "x_SourceFormat": quote_literal(format_name),
        "x_SourceVersion": quote_literal(version),
        "x_SourceFile": quote_literal(str(info.path)),
        "x_IngestedAt": "NULL",
    }
    negations = f"COALESCE({cols.type} = 'SavingsPlanNegation', FALSE)"
    # Build everything first: each piece registers the typed values it uses in lay.memo,
    # and the scan then computes each of them once (see AwsLayout.memo_scan).
    aws_common.with_parts("", cols)
    select = convert.select_list(focus_values(cols, source=source))
    row_checks = checks(cols, headers)
    reconciliation = aws_common.reconciliation(lay, scan_sql(info))
    return ReadPlan(
        format_name=format_name,
        version=version,
        scan=aws_common.with_parts(lay.memo_scan(scan_sql(info)), cols),
        select=select,
        checks=row_checks,
        where=f"NOT {negations}",
        notes=["Savings Plan negation lines dropped: covered usage is billed at 0 instead"],
        reconciliation=reconciliation,
        line=f"{aws_common.PART} = 0",
    )


def resource_type(cols: AwsColumns) -> str:
    """ResourceType from the resource ID: the ARN's resource kind, an EC2 id, or a bucket."""
    rid = cols.lay.text("line_item_resource_id")
    kind = "regexp_extract(split_part(" + rid + ", ':', 6), '^([a-zA-Z-]+)[/:]', 1)"
    titled = (
        f"list_aggr(list_transform(string_split({kind}, '-'), "
        "lambda w: upper(w[1]) || w[2:]), 'string_agg', ' ')"
    )
    return (
        f"(CASE WHEN {rid} IS NULL THEN NULL "
        f"WHEN starts_with({rid}, 'arn:') THEN nullif({titled}, '') "
        f"WHEN regexp_matches({rid}, '^i-[0-9a-f]+$') THEN 'Instance' "
        f"WHEN regexp_matches({rid}, '^vol-[0-9a-f]+$') THEN 'Volume' "
        # NOTE: a bare name (no ':' or '/') on a CUR line is an S3 bucket.
        f"WHEN NOT regexp_matches({rid}, '[:/]') THEN 'Bucket' END)"
    )


def resource_name(cols: AwsColumns) -> str:
    """ResourceName: the ``Name`` tag, else an ARN's last path segment or a bucket's name.

    EC2 ids carry no name of their own; an instance's name is its ``Name`` tag, key in any case
    (``user_Name``, or ``user_name`` where the export lower-cases tag keys).
    """
    rid = cols.lay.text("line_item_resource_id")
    tags = cols.lay.tags
    # NOTE: the tag map already drops empty values (aws_common.tags_map).
    tagged = (
        "NULL"
        if tags == "NULL"
        else f"list_filter(map_entries({tags}), lambda e: lower(e.key) = 'name')[1].value"
    )
    return (
        f"COALESCE({tagged}, CASE WHEN starts_with({rid}, 'arn:') "
        f"THEN nullif(regexp_extract({rid}, '[/:]([^/:]+)$', 1), '') "
        f"WHEN NOT regexp_matches({rid}, '[:/]') "
        f"AND NOT regexp_matches({rid}, '^[a-z]+-[0-9a-f]{{8,}}$') "
        f"THEN {rid} END)"
    )


def sku_price_details(cols: AwsColumns) -> str:
    """SkuPriceDetails: instance facts under FOCUS keys, for lines with an instance type."""
    lay = cols.lay
    instance = lay.text("product_instance_type")
    number = "TRY_CAST(regexp_extract({}, '^\\s*([0-9]+(\\.[0-9]+)?)', 1) AS DOUBLE)"
    pairs = [
        ("CoreCount", f"TRY_CAST({lay.attr('vcpu')} AS BIGINT)"),
        ("GpuCount", f"TRY_CAST({lay.attr('gpu')} AS BIGINT)"),
        ("InstanceType", instance),
        ("MemorySize", number.format(lay.attr("memory"))),
    ]
    items = ", ".join(
        f"CASE WHEN {v} IS NOT NULL THEN {quote_literal(f'{chr(34)}{k}{chr(34)}:')} "
        f"|| to_json({v}) END"
        for k, v in pairs
    )
    return (
        f"(CASE WHEN {instance} IS NOT NULL THEN "
        f"'{{' || array_to_string(list_filter([{items}], lambda x: x IS NOT NULL), ',') "
        "|| '}' END)"
    )


def focus_values(cols: AwsColumns, *, source: Mapping[str, str]) -> dict[str, str]:
    """Return FOCUS column -> SQL for an AWS file; ``source`` sets the x_Source* columns."""
    lay = cols.lay
    usage = cols.is_type(*USAGE_TYPES)
    resource_row = f"({usage} AND NOT {cols.unused})"
    region = lay.text("product_region_code")
    description = lay.text("line_item_line_item_description")
    tags = f"(CASE WHEN cardinality({lay.tags}) > 0 THEN to_json({lay.tags}) END)"
    return {
        "AvailabilityZone": lay.text("line_item_availability_zone"),
        "BilledCost": cols.billed(),
        "BillingAccountId": lay.text("bill_payer_account_id"),
        "BillingAccountName": lay.text("bill_payer_account_name"),
        "BillingAccountType": "'Management Account'",
        "BillingCurrency": lay.text("line_item_currency_code"),
        "BillingPeriodEnd": lay.time("bill_billing_period_end_date"),
        "BillingPeriodStart": lay.time("bill_billing_period_start_date"),
        "ChargeCategory": cols.category(),
        # NOTE: AWS refunds give back charges of earlier invoices: a correction (FOCUS §2.10.3).
        "ChargeClass": (
            f"(CASE WHEN {cols.is_type('Refund')} AND NOT {cols.unused} THEN 'Correction' END)"
        ),
        "ChargeDescription": (
            f"(CASE WHEN {cols.unused} THEN 'Unused commitment: ' || "
            f"COALESCE({cols.commitment_name()}, {cols.commitment_id()}) ELSE {description} END)"
        ),
        "ChargeFrequency": cols.frequency(),
        "ChargePeriodEnd": lay.time("line_item_usage_end_date"),
        "ChargePeriodStart": lay.time("line_item_usage_start_date"),
        **{
            f"CommitmentDiscount{k}": cols.commitment(k)
            for k in ("Category", "Name", "Quantity", "Status", "Type", "Unit")
        },
        "CommitmentDiscountId": cols.commitment_id(),
        "ConsumedQuantity": cols.consumed(lay.money("line_item_usage_amount")),
        "ConsumedUnit": cols.consumed(cols.unit()),
        "ContractedCost": cols.list_cost(unit=False),
        "ContractedUnitPrice": cols.list_cost(unit=True),
        "EffectiveCost": cols.effective(),
        "InvoiceId": lay.text("bill_invoice_id"),
        # NOTE: the legal entity is the seller (PublisherName); AWS issues the invoice.
        "InvoiceIssuerName": "'AWS'",
        "ListCost": cols.list_cost(unit=False),
        "ListUnitPrice": cols.list_cost(unit=True),
        "PricingCategory": cols.pricing_category(),
        "PricingQuantity": cols.quantity(),
        "PricingUnit": cols.unit(),
        "ProviderName": "'AWS'",
        "PublisherName": (
            f"COALESCE({lay.text('line_item_legal_entity')}, 'Amazon Web Services, Inc.')"
        ),
        "RegionId": region,
        "RegionName": f"(CASE WHEN {region} IS NOT NULL THEN {lay.text('product_location')} END)",
        "ResourceId": (
            f"COALESCE({lay.text('line_item_resource_id')}, "
            f"CASE WHEN {cols.unused} THEN {cols.commitment_id()} END)"
        ),
        "ResourceName": f"(CASE WHEN {resource_row} THEN {resource_name(cols)} END)",
        "ResourceType": f"(CASE WHEN {resource_row} THEN {resource_type(cols)} END)",
        "ServiceCategory": cols.service(1),
        "ServiceName": cols.service(0),
        "ServiceSubcategory": cols.service(2),
        "SkuId": lay.text("product_sku"),
        "SkuMeter": (
            f"COALESCE({lay.text('line_item_usage_type')}, {lay.text('product_usagetype')})"
        ),
        "SkuPriceDetails": sku_price_details(cols),
        "SkuPriceId": f"COALESCE({lay.text('pricing_rate_code')}, {lay.text('pricing_rate_id')})",
        "SubAccountId": lay.text("line_item_usage_account_id"),
        "SubAccountName": lay.text("line_item_usage_account_name"),
        "SubAccountType": "'Linked Account'",
        "Tags": tags,
        "x_SourceExtras": _extras(lay),
        **source,
    }


def _extras(lay: AwsLayout) -> str:
    keys = {
        "x_LineItemType": "line_item_line_item_type",
        "x_ServiceCode": "line_item_product_code",
        "x_UsageType": "line_item_usage_type",
        "x_Operation": "line_item_operation",
    }
    pairs = ", ".join(f"{quote_literal(k)}, {lay.text(v)}" for k, v in keys.items())
    return f"CAST(json_object({pairs}) AS VARCHAR)"


#: Source columns whose values must be numbers, and those that must be times.
MONEY_KEYS = (
    "line_item_unblended_cost",
    "line_item_usage_amount",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost",
    "reservation_effective_cost",
)
TIME_KEYS = (
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
)


def checks(cols: AwsColumns, headers: Mapping[str, str]) -> list[Check]:
    """Return the bad-input checks: numbers, times, known line types, a payer account.

    Args:
        cols: the file's expressions.
        headers: CUR 2.0 key -> the column's name in the file (shown in errors).
    """
    lay = cols.lay
    found: list[Check] = []
    for key in MONEY_KEYS:
        if key in lay.columns:
            found.append(
                Check(
                    headers[key],
                    convert.failed(lay.raw(key), lay.money(key)),
                    lay.raw(key),
                    "{value!r} is not a number",
                    "a plain decimal such as 12.5 or -0.0004",
                    "re-export the CUR; cost and amount columns hold plain numbers.",
                )
            )
    for key in TIME_KEYS:
        if key in lay.columns:
            found.append(
                Check(
                    headers[key],
                    convert.failed(lay.raw(key), lay.time(key)),
                    lay.raw(key),
                    "{value!r} is not a date/time",
                    "ISO 8601 UTC such as 2026-10-01T00:00:00Z",
                    "re-export the CUR; dates are ISO 8601 in UTC.",
                )
            )
    known = ", ".join(quote_literal(t) for t in sorted(CHARGE_CATEGORY))
    found.append(
        Check(
            headers["line_item_line_item_type"],
            f"({cols.type} IS NULL OR {cols.type} NOT IN ({known}))",
            lay.raw("line_item_line_item_type"),
            "unknown line item type {value!r}",
            f"one of {', '.join(sorted(CHARGE_CATEGORY))}",
            "check the file is an AWS CUR; report new line item types as an aifinops issue.",
        )
    )
    found.append(
        Check(
            headers["bill_payer_account_id"],
            f"{lay.text('bill_payer_account_id')} IS NULL",
            "NULL",
            "the line has no payer account",
            "a 12-digit payer account id on every line",
            "re-export the CUR; every line belongs to a payer account.",
        )
    )
    return found


def provided() -> frozenset[str]:
    """Return the FOCUS columns the AWS readers fill."""
    empty = AwsColumns(AwsLayout({}, {}, {}, "NULL"))
    return frozenset(k for k in focus_values(empty, source={}) if not k.startswith("x_"))


class AwsCur2Reader:
    """AWS CUR 2.0 / Data Exports (Parquet, CSV, CSV.gz), any subset of its columns."""

    name = "aws-cur2"
    description = "AWS CUR 2.0 (Data Exports) Parquet/CSV with line_item_* and map columns"
    provides = provided()

    def detect(self, info: SourceInfo) -> bool:
        """Return True for a CUR 2.0 header or schema."""
        return is_cur2(info)

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return the read of a CUR 2.0 file.

        Raises:
            BadInputError: when a column every CUR 2.0 export has is missing.
        """
        del fallbacks, run_files
        names = _names(info)
        aws_common.require(info, names, _REQUIRED, "CUR 2.0")
        return build_plan(
            info,
            layout(info),
            format_name=f"aws-cur2-{info.kind}",
            version=VERSION,
            headers=dict(names),
        )
