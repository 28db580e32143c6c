"""SQL of each FOCUS 1.2 column from one row of Google Cloud's FOCUS view or FOCUS export.

Google's BigQuery FOCUS view (template ``focus_view.sql``, 2024, FOCUS 1.0) and its newer
native FOCUS export (``gcp_billing_export_focus_<ACCOUNT>``) already name their columns in
FOCUS, but their values are not valid FOCUS 1.2: lower-case categories, an inclusive Pacific
billing-period end, ARRAY-typed Tags and ServiceCategory, the billing account as SubAccountId
and the price tier's block size as PricingQuantity. Every expression here reads the normalised
scan of :mod:`aifinops.ingest.gcp_focus` (money and times as text, nested fields as JSON) and
fixes one of those quirks; docs/ingest-gcp-focus.md lists each rule.
"""

from __future__ import annotations

from collections.abc import Mapping

from aifinops.focus.columns import SERVICE_CATEGORIES
from aifinops.ingest import convert
from aifinops.ingest.gcp_billing import PACIFIC, _lookup, _resource_type
from aifinops.lake.duck import quote_ident, quote_literal

_CUD_TYPES = "('COMMITTED_USAGE_DISCOUNT', 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE')"
#: Source columns holding nested values (read as JSON); every other column is read as text.
NESTED = frozenset(
    {
        "ServiceCategory",
        "Tags",
        "x_Credits",
        "x_Project",
        "x_Labels",
        "x_SystemLabels",
        "x_ProjectLabels",
        "x_Tags",
    }
)


def col(name: str) -> str:
    """Return the SQL reference to a normalised source column."""
    return quote_ident(name)


def text(name: str) -> str:
    """Return SQL of a text column, NULL when empty or a null word."""
    return convert.clean_text(col(name))


def money(raw: str) -> str:
    """Return SQL of an exact decimal from text (JSON, Parquet NUMERIC and CSV alike)."""
    return convert.to_decimal(raw)


def field(json: str, *names: str) -> str:
    """Return SQL of a JSON object's text field; the view and the export differ in case."""
    return "COALESCE(" + ", ".join(f"json_extract_string({json}, '$.{n}')" for n in names) + ")"


def json_list(name: str) -> str:
    """Return SQL of a JSON array column as a list of JSON values (empty when absent)."""
    ref = col(name)
    return f"(CASE WHEN json_type({ref}) = 'ARRAY' THEN CAST({ref} AS JSON[]) ELSE [] END)"


def _time(name: str) -> str:
    return convert.to_timestamp(col(name))


class Row:
    """SQL of the values one view/export row is built from."""

    billed = money(col("BilledCost"))
    credits = (
        f"COALESCE(list_sum(list_transform({json_list('x_Credits')}, "
        f"lambda c: {money(field('c', 'Amount', 'amount'))})), 0)"
    )
    cost = f"COALESCE({money(col('ContractedCost'))}, {billed} - {credits})"
    cud = (
        f"list_filter({json_list('x_Credits')}, "
        f"lambda c: {field('c', 'Type', 'type')} IN {_CUD_TYPES})[1]"
    )
    covered = f"({cud} IS NOT NULL)"
    fee = f"(lower({text('ChargeDescription')}) LIKE 'commitment%')"
    cost_type = f"lower({text('x_CostType')})"
    # NOTE: the view's BillingPeriodStart is the Pacific month start (07:00Z/08:00Z); a UTC
    # midnight start (possible in the newer export) is taken as a UTC month.
    start = _time("BillingPeriodStart")
    pacific = f"(extract('hour' FROM {start}) <> 0)"
    local_start = f"date_trunc('month', timezone('{PACIFIC}', {start}))"
    utc_start = f"date_trunc('month', timezone('UTC', {start}))"
    # NOTE: the view's cost_type mapping sends unknown values to 'error'; x_CostType decides.
    kind = (
        f"(CASE {cost_type} WHEN 'regular' THEN 'Usage' WHEN 'tax' THEN 'Tax' "
        "WHEN 'adjustment' THEN 'Adjustment' WHEN 'rounding_error' THEN 'Adjustment' "
        f"ELSE (CASE lower({text('ChargeCategory')}) WHEN 'usage' THEN 'Usage' "
        "WHEN 'tax' THEN 'Tax' WHEN 'adjustment' THEN 'Adjustment' WHEN 'purchase' "
        "THEN 'Purchase' WHEN 'credit' THEN 'Credit' END) END)"
    )
    tax = f"({kind} = 'Tax')"
    block = f"COALESCE(NULLIF({money(col('PricingQuantity'))}, 0), 1)"
    price = money(col("ContractedUnitPrice"))


def period_bounds() -> tuple[str, str, str]:
    """Return SQL of BillingPeriodStart, exclusive BillingPeriodEnd and the ``YYYYMM`` month.

    The view's end is the month's last day (inclusive) in Pacific time; FOCUS wants the next
    month's start, exclusive, in UTC. Both bounds are rebuilt from the start's month.
    """
    r = Row
    bounds = []
    for months in (0, 1):
        shift = f" + INTERVAL {months} MONTH" if months else ""
        bounds.append(
            f"(CASE WHEN {r.pacific} THEN timezone('{PACIFIC}', {r.local_start}{shift}) "
            f"ELSE timezone('UTC', {r.utc_start}{shift}) END)"
        )
    month = f"strftime(CASE WHEN {r.pacific} THEN {r.local_start} ELSE {r.utc_start} END, '%Y%m')"
    return bounds[0], bounds[1], month


def _corrects_earlier(month: str) -> str:
    # NOTE: the view marks every row with adjustment_info 'correction'; FOCUS reserves
    # Correction for charges correcting a previously invoiced period (as gcp-billing does).
    start = _time("ChargePeriodStart")
    return f"({Row.cost_type} = 'adjustment' AND strftime({start}, '%Y%m') < {month})"


def category(month: str) -> str:
    """Return SQL of ChargeCategory (FOCUS spelling; NULL for an unknown cost type)."""
    r = Row
    return (
        f"(CASE WHEN {r.kind} = 'Adjustment' AND {_corrects_earlier(month)} THEN 'Usage' "
        f"WHEN {r.kind} = 'Usage' AND {r.fee} THEN 'Purchase' ELSE {r.kind} END)"
    )


def _pairs() -> str:
    """Return SQL of every tag as a {k, v} struct, keys prefixed by the tag's origin."""

    def mapped(name: str, key: str) -> str:
        k = field("t", "key", "Key")
        v = field("t", "value", "Value")
        return f"list_transform({json_list(name)}, lambda t: {{'k': {key.format(k=k)}, 'v': {v}}})"

    tag_key = "'gcp-tag/' || COALESCE({ns} || '/', '') || {k}"
    ns = f"NULLIF({field('t', 'x_namespace', 'x_Namespace', 'namespace')}, 'n/a')"
    kind = field("t", "x_type", "x_Type")
    # NOTE: project labels are not copied (resources do not inherit them, as in gcp-billing);
    # the raw Tags/x_ProjectLabels stay in x_SourceExtras.
    view_key = (
        f"(CASE {kind} WHEN 'project_label' THEN NULL "
        f"WHEN 'system_label' THEN 'gcp-system/' || {{k}} "
        f"WHEN 'tag' THEN {tag_key.format(ns=ns, k='{k}')} ELSE {{k}} END)"
    )
    return (
        "list_filter(list_concat("
        f"{mapped('Tags', view_key)}, {mapped('x_Labels', '{k}')}, "
        f"{mapped('x_SystemLabels', chr(39) + 'gcp-system/' + chr(39) + ' || {k}')}, "
        f"{mapped('x_Tags', tag_key.format(ns=ns, k='{k}'))}), lambda p: p.k IS NOT NULL)"
    )


def tags() -> str:
    """Return SQL of Tags: one JSON object; valueless labels become true."""
    pairs = _pairs()
    item = (
        "lambda p: to_json(p.k) || ':' || "
        "(CASE WHEN COALESCE(p.v, '') = '' THEN 'true' ELSE to_json(p.v) END)"
    )
    joined = f"array_to_string(list_transform({pairs}, {item}), ',')"
    return f"(CASE WHEN len({pairs}) = 0 THEN NULL ELSE '{{' || {joined} || '}}' END)"


def _machine_spec() -> str:
    spec = "'gcp-system/compute.googleapis.com/machine_spec'"
    value = f"list_filter({_pairs()}, lambda p: p.k = {spec})[1].v"
    return f"(CASE WHEN {value} IS NOT NULL THEN json_object('InstanceType', {value}) END)"


def service_category() -> tuple[str, str]:
    """Return SQL of ServiceCategory and ServiceSubcategory.

    Our own table (``data/gcp_services.csv``, shared with gcp-billing) decides; a service it
    lacks takes the first entry of the view's ``product_taxonomy`` array that is a FOCUS
    category, else ``Other``.
    """
    sc = col("ServiceCategory")
    taxonomy = (
        f"(CASE json_type({sc}) WHEN 'ARRAY' THEN CAST({sc} AS VARCHAR[]) "
        f"WHEN 'VARCHAR' THEN string_split(json_extract_string({sc}, '$'), ',') ELSE [] END)"
    )
    cases = " ".join(
        f"WHEN {quote_literal(c.lower())} THEN {quote_literal(c)}"
        for c in sorted(SERVICE_CATEGORIES)
    )
    first = (
        f"list_filter(list_transform({taxonomy}, lambda x: "
        f"(CASE lower(trim(x)) {cases} END)), lambda x: x IS NOT NULL)[1]"
    )
    name = text("ServiceName")
    category = _lookup(name, "gcp_services.csv", 1, f"COALESCE({first}, 'Other')")
    sub = _lookup(name, "gcp_services.csv", 2, f"('Other (' || {category} || ')')")
    return category, sub


def not_tax(sql: str) -> str:
    """Return ``sql``, or NULL on tax rows (FOCUS: no pricing columns on Tax)."""
    return f"(CASE WHEN {Row.tax} THEN NULL ELSE {sql} END)"


def per_unit(price: str) -> str:
    """Return SQL of a price per single pricing unit (the view's prices are per block)."""
    # NOTE: DuckDB divides decimals as doubles: round to 12 places and read back as text.
    quotient = f"CAST(CAST(round({price} / {Row.block}, 12) AS VARCHAR) AS {convert.DECIMAL_SQL})"
    return f"(CASE WHEN {Row.block} = 1 THEN {price} ELSE {quotient} END)"


def _unit(raw: str) -> str:
    return _lookup(raw, "gcp_units.csv", 1, raw)


def pricing(month: str) -> dict[str, str]:
    """Return SQL of the quantity and price columns.

    NOTE: the view's PricingQuantity is ``price.pricing_unit_quantity`` (the price tier's
    block size, e.g. 1000000 bytes), not the amount used. The amount in pricing units is
    cost / effective price × block; unit prices are per single pricing unit.
    """
    r = Row
    cat = category(month)
    derived = (
        f"CAST(CAST(round({r.cost} / {r.price} * {r.block}, 12) AS VARCHAR) "
        f"AS {convert.DECIMAL_SQL})"
    )
    use_price = f"(COALESCE({r.price}, 0) <> 0 AND {r.cost} IS NOT NULL)"
    quantity = f"(CASE WHEN {use_price} THEN {derived} ELSE {money(col('ConsumedQuantity'))} END)"
    unit = _unit(
        f"(CASE WHEN {use_price} THEN {text('PricingUnit')} ELSE "
        f"COALESCE({text('ConsumedUnit')}, {text('PricingUnit')}) END)"
    )
    usage_row = f"({cat} = 'Usage' AND NOT {_corrects_earlier(month)})"
    return {
        "PricingQuantity": not_tax(quantity),
        "PricingUnit": not_tax(unit),
        "ContractedUnitPrice": not_tax(per_unit(r.price)),
        "ListUnitPrice": not_tax(per_unit(money(col("ListUnitPrice")))),
        "ConsumedQuantity": f"(CASE WHEN {usage_row} THEN {money(col('ConsumedQuantity'))} END)",
        "ConsumedUnit": f"(CASE WHEN {usage_row} THEN {_unit(text('ConsumedUnit'))} END)",
    }


def commitment(month: str, quantity: str, unit: str) -> dict[str, str]:
    """Return SQL of the CommitmentDiscount* columns (CUD credit on usage, fee rows)."""
    r = Row
    cat = category(month)
    cid = (
        f"(CASE WHEN {r.fee} THEN COALESCE({text('x_SubscriptionInstanceId')}, "
        f"{text('CommitmentDiscountId')}) WHEN {r.covered} THEN {field(r.cud, 'Id', 'id')} END)"
    )
    given = f"(CASE lower({text('CommitmentDiscountCategory')}) WHEN 'spend' THEN 'Spend' "
    given += "WHEN 'usage' THEN 'Usage' END)"
    kind = (
        f"(CASE WHEN {r.covered} THEN (CASE WHEN {field(r.cud, 'Type', 'type')} LIKE "
        f"'%DOLLAR_BASE' THEN 'Spend' ELSE 'Usage' END) WHEN {cid} IS NULL THEN NULL "
        f"ELSE COALESCE({given}, CASE WHEN lower({text('ChargeDescription')}) LIKE "
        "'%dollar based%' THEN 'Spend' ELSE 'Usage' END) END)"
    )
    return {
        "CommitmentDiscountId": cid,
        "CommitmentDiscountCategory": kind,
        "CommitmentDiscountName": f"regexp_extract({cid}, '[^/]+$')",
        "CommitmentDiscountType": f"(CASE WHEN {cid} IS NOT NULL "
        "THEN 'Committed Use Discount' END)",
        "CommitmentDiscountStatus": f"(CASE WHEN {r.covered} AND {cat} = 'Usage' THEN 'Used' END)",
        "CommitmentDiscountQuantity": f"(CASE WHEN {kind} = 'Usage' THEN {quantity} "
        f"WHEN {kind} = 'Spend' THEN {money(col('EffectiveCost'))} END)",
        "CommitmentDiscountUnit": f"(CASE WHEN {kind} = 'Usage' THEN {unit} "
        f"WHEN {kind} = 'Spend' THEN {text('BillingCurrency')} END)",
    }


def expressions(*, view: bool, fallbacks: Mapping[str, str]) -> dict[str, str]:
    """Return, per FOCUS column, the SQL computing it from one normalised row."""
    r = Row
    start, end, month = period_bounds()
    cat = category(month)
    prices = pricing(month)
    svc, sub = service_category()
    project = {n: field(col("x_Project"), n.lower(), n) for n in ("Id", "Name")}
    given_account = text("BillingAccountId")
    # NOTE: the view's BillingAccountId is a literal the deployer types in (the template
    # ships "TODO - replace ..."); its SubAccountId holds the real billing_account_id.
    account = (
        f"(CASE WHEN {given_account} IS NULL OR lower({given_account}) LIKE 'todo%' "
        f"THEN {text('SubAccountId')} ELSE {given_account} END)"
        if view
        else given_account
    )
    sub_id = project["Id"] if view else f"COALESCE({text('SubAccountId')}, {project['Id']})"
    sub_name = project["Name"] if view else f"COALESCE({text('SubAccountName')}, {project['Name']})"
    name = fallbacks.get("BillingAccountName")
    return {
        "AvailabilityZone": text("AvailabilityZone"),
        "BilledCost": r.billed,
        "BillingAccountId": account,
        "BillingAccountName": f"COALESCE({text('BillingAccountName')}, "
        f"{quote_literal(name) if name else 'NULL'})",
        "BillingAccountType": f"COALESCE({text('BillingAccountType')}, 'Billing Account')",
        "BillingCurrency": text("BillingCurrency"),
        "BillingPeriodEnd": end,
        "BillingPeriodStart": start,
        "ChargeCategory": cat,
        "ChargeClass": f"(CASE WHEN {r.kind} = 'Adjustment' AND {_corrects_earlier(month)} "
        "THEN 'Correction' END)",
        "ChargeDescription": text("ChargeDescription"),
        "ChargeFrequency": f"(CASE WHEN {r.tax} OR {r.fee} THEN 'Recurring' "
        f"WHEN {cat} IN ('Adjustment', 'Credit') THEN 'One-Time' "
        f"WHEN {cat} = 'Purchase' THEN 'One-Time' ELSE 'Usage-Based' END)",
        "ChargePeriodEnd": _time("ChargePeriodEnd"),
        "ChargePeriodStart": _time("ChargePeriodStart"),
        **prices,
        "ContractedCost": r.cost,
        # NOTE: FOCUS wants EffectiveCost 0 on a commitment purchase; the view cannot spread
        # the fee over the covered rows, so CUD fees leave ΣEffectiveCost (documented).
        "EffectiveCost": f"(CASE WHEN {cat} = 'Purchase' AND {r.fee} THEN 0 "
        f"ELSE COALESCE({money(col('EffectiveCost'))}, {r.billed}) END)",
        "InvoiceIssuerName": "'Google Cloud'",
        "ListCost": f"COALESCE({money(col('ListCost'))}, {r.cost})",
        "PricingCategory": f"(CASE WHEN {r.tax} THEN NULL WHEN {r.fee} THEN 'Standard' "
        f"WHEN {r.covered} THEN 'Committed' WHEN lower({text('ChargeDescription')}) "
        "SIMILAR TO '.*(spot|preemptible).*' THEN 'Dynamic' ELSE 'Standard' END)",
        "ProviderName": "'Google Cloud'",
        "PublisherName": f"COALESCE({text('PublisherName')}, 'Google Cloud')",
        "RegionId": text("RegionId"),
        "RegionName": f"COALESCE({text('RegionName')}, "
        f"{_lookup(text('RegionId'), 'gcp_regions.csv', 1, 'NULL')})",
        "ResourceId": text("ResourceId"),
        "ResourceName": text("ResourceName"),
        "ResourceType": _resource_type(text("ResourceId")),
        "ServiceCategory": svc,
        "ServiceName": text("ServiceName"),
        "ServiceSubcategory": sub,
        "SkuId": not_tax(text("SkuId")),
        "SkuMeter": not_tax(text("ChargeDescription")),
        "SkuPriceDetails": _machine_spec(),
        "SkuPriceId": not_tax(text("SkuPriceId")),
        "SubAccountId": sub_id,
        "SubAccountName": sub_name,
        "SubAccountType": f"(CASE WHEN {sub_id} IS NOT NULL THEN 'Project' END)",
        "Tags": tags(),
        **commitment(month, prices["PricingQuantity"], prices["PricingUnit"]),
    }
