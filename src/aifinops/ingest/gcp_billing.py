"""Reader for the Google Cloud BigQuery billing export (standard and detailed/resource).

The export is one BigQuery table with nested and repeated fields; it reaches us as JSONL
(newline-delimited JSON, optionally gzipped), Parquet (nesting kept) or CSV. BigQuery cannot
export nested fields to CSV, so a CSV copy comes from a query: we read CSV whose RECORD and
REPEATED columns hold JSON text (``TO_JSON_STRING(service) AS service``, as the console's
"save results" does). Every kind is scanned into the same struct-typed columns, and one SQL
projection turns a row into one FOCUS 1.2 row, plus a ``Credit`` row for its promotion credits
(gcp_credits; see docs/ingest-gcp.md for every rule).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from aifinops.errors import BadInputError
from aifinops.ingest import convert, gcp_credits
from aifinops.ingest.convert import select_list
from aifinops.ingest.scan import Check, scan_sql
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import ReadPlan, Reconciliation

_KV = "STRUCT(key VARCHAR, value VARCHAR)[]"
#: The export's documented schema, read with money and quantities as text (exact decimals).
SCHEMA: dict[str, str] = {
    "billing_account_id": "VARCHAR",
    "service": "STRUCT(id VARCHAR, description VARCHAR)",
    "sku": "STRUCT(id VARCHAR, description VARCHAR)",
    "usage_start_time": "VARCHAR",
    "usage_end_time": "VARCHAR",
    "project": f"STRUCT(id VARCHAR, number VARCHAR, name VARCHAR, labels {_KV}, "
    "ancestry_numbers VARCHAR)",
    "labels": _KV,
    "system_labels": _KV,
    "tags": "STRUCT(key VARCHAR, value VARCHAR, inherited BOOLEAN, namespace VARCHAR)[]",
    "location": "STRUCT(location VARCHAR, country VARCHAR, region VARCHAR, zone VARCHAR)",
    "resource": "STRUCT(name VARCHAR, global_name VARCHAR)",
    "export_time": "VARCHAR",
    "cost": "VARCHAR",
    "currency": "VARCHAR",
    "currency_conversion_rate": "VARCHAR",
    "usage": "STRUCT(amount VARCHAR, unit VARCHAR, amount_in_pricing_units VARCHAR, "
    "pricing_unit VARCHAR)",
    "credits": "STRUCT(name VARCHAR, amount VARCHAR, full_name VARCHAR, id VARCHAR, "
    "type VARCHAR)[]",
    "invoice": "STRUCT(month VARCHAR)",
    "cost_type": "VARCHAR",
    "adjustment_info": "STRUCT(id VARCHAR, description VARCHAR, mode VARCHAR, type VARCHAR)",
    "cost_at_list": "VARCHAR",
    "transaction_type": "VARCHAR",
    "seller_name": "VARCHAR",
    "price": "STRUCT(effective_price VARCHAR, tier_start_amount VARCHAR, unit VARCHAR, "
    "pricing_unit_quantity VARCHAR)",
    "subscription": "STRUCT(instance_id VARCHAR)",
}
#: Fields every export has; a file with all of them is a billing export.
REQUIRED = ("billing_account_id", "service", "sku", "cost", "cost_type", "invoice", "credits")
_CUD_TYPES = "('COMMITTED_USAGE_DISCOUNT', 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE')"
_COST_TYPES = ("regular", "tax", "adjustment", "rounding_error")
PACIFIC = "America/Los_Angeles"


def _money(raw: str) -> str:
    # NOTE: through text, so JSON/Parquet doubles become their shortest exact decimal.
    return f"TRY_CAST(CAST({raw} AS VARCHAR) AS {convert.DECIMAL_SQL})"


def _time(raw: str) -> str:
    return f"TRY_CAST({raw} AS TIMESTAMPTZ)"


@cache
def _table(name: str) -> tuple[tuple[str, ...], ...]:
    text = files("aifinops.ingest").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return tuple(tuple(row) for row in list(csv.reader(text.splitlines()))[1:])


def _lookup(raw: str, name: str, column: int, default: str) -> str:
    cases = " ".join(
        f"WHEN {quote_literal(row[0])} THEN {quote_literal(row[column])}" for row in _table(name)
    )
    return f"(CASE {raw} {cases} ELSE {default} END)"


class _Row:
    """SQL of the values one export row is built from (over the normalised scan)."""

    cost = _money("cost")
    # NOTE: promotion credits are not netted into the row: they get their own Credit row
    # (gcp_credits), so Σ BilledCost over both rows is still cost + Σ every credit.
    netted = gcp_credits.NETTED
    cud = f"list_filter(credits, lambda c: c.type IN {_CUD_TYPES})[1]"
    other_credits = gcp_credits.total(
        f"list_filter({gcp_credits.NETTED_LIST}, lambda c: c.type IS NULL "
        f"OR c.type NOT IN {_CUD_TYPES})"
    )
    billed = f"({cost} + {netted})"
    #: What Google bills for the export row: cost + Σ every credit (the source total).
    invoiced = f"({cost} + {gcp_credits.total('credits')})"
    quantity = _money("usage.amount_in_pricing_units")
    price = _money("price.effective_price")
    tax = "(cost_type = 'tax')"
    fee = "(lower(sku.description) LIKE 'commitment%')"
    covered = f"({cud} IS NOT NULL)"
    start = _time("usage_start_time")
    month = "strptime(invoice.month, '%Y%m')"
    # NOTE: an adjustment corrects a previous invoice when its usage lies in an earlier
    # month; compared as YYYYMM text (usage month in UTC, a day's slack either way is moot).
    corrects_earlier = f"(cost_type = 'adjustment' AND strftime({start}, '%Y%m') < invoice.month)"


_MACHINE_SPEC = (
    "list_filter(system_labels, lambda l: l.key = 'compute.googleapis.com/machine_spec')[1].value"
)


def _period() -> tuple[str, str]:
    """Return SQL of BillingPeriodStart/End: the invoice month, in Pacific or UTC time.

    Google's invoice months are Pacific-time months. A file whose usage in the first hours
    of a UTC month (before the Pacific month starts) is all billed to that UTC month uses
    UTC months (the demo does); otherwise Pacific is assumed. Which one is decided once per
    file by :func:`month_mode_scan` (column ``__utc_months``).
    """
    bounds = []
    for month in (_Row.month, f"({_Row.month} + INTERVAL 1 MONTH)"):
        bounds.append(
            f"(CASE WHEN __utc_months THEN CAST({month} AS TIMESTAMPTZ) "
            f"ELSE timezone('{PACIFIC}', {month}) END)"
        )
    return bounds[0], bounds[1]


def month_mode_scan(scan: str) -> str:
    """Return ``scan`` with ``__utc_months``: whether the file bills UTC months (see _period).

    NOTE: one aggregate over the file, joined once; inlined in each expression it ran as a
    full scan of the file per use.
    """
    start = _Row.start
    pacific_start = f"timezone('{PACIFIC}', CAST(date_trunc('month', {start}) AS TIMESTAMP))"
    mode = (
        f"SELECT COALESCE(bool_and(invoice.month = strftime({start}, '%Y%m')), false) "
        f"AS __utc_months FROM {scan} WHERE cost_type = 'regular' AND {start} < {pacific_start}"
    )
    return f"(SELECT * FROM {scan} CROSS JOIN ({mode}))"


def _category() -> str:
    r = _Row
    return (
        f"(CASE WHEN {r.tax} THEN 'Tax' "
        f"WHEN cost_type = 'rounding_error' THEN 'Adjustment' "
        f"WHEN cost_type = 'adjustment' AND NOT {r.corrects_earlier} THEN 'Adjustment' "
        f"WHEN {r.fee} THEN 'Purchase' ELSE 'Usage' END)"
    )


def _tags() -> str:
    """Return SQL of Tags: labels as-is; system labels and resource-manager tags prefixed."""
    pairs = (
        "list_concat("
        "list_transform(COALESCE(labels, []), lambda t: {'k': t.key, 'v': t.value}), "
        "list_transform(COALESCE(system_labels, []), "
        "lambda t: {'k': 'gcp-system/' || t.key, 'v': t.value}), "
        "list_transform(COALESCE(tags, []), lambda t: {'k': 'gcp-tag/' || "
        "COALESCE(t.namespace || '/', '') || t.key, 'v': t.value}))"
    )
    # NOTE: FOCUS wants valueless tags as true; GCP allows labels with an empty value.
    item = (
        "lambda p: to_json(p.k) || ':' || "
        "(CASE WHEN COALESCE(p.v, '') = '' THEN 'true' ELSE to_json(p.v) END)"
    )
    joined = f"array_to_string(list_transform({pairs}, {item}), ',')"
    return f"(CASE WHEN len({pairs}) = 0 THEN NULL ELSE '{{' || {joined} || '}}' END)"


def _resource_type(global_name: str = "resource.global_name") -> str:
    kind = f"regexp_extract({global_name}, '/([A-Za-z]+)/[^/]+$', 1)"
    single = (
        f"(CASE WHEN {kind} LIKE '%ies' THEN left({kind}, -3) || 'y' "
        f"WHEN {kind} LIKE '%sses' THEN left({kind}, -2) "
        f"WHEN {kind} LIKE '%s' THEN left({kind}, -1) ELSE {kind} END)"
    )
    return f"(CASE WHEN {kind} = '' THEN NULL ELSE upper(left({single}, 1)) || {single}[2:] END)"


def _unit_price() -> str:
    r = _Row
    # NOTE: demo convention (docs/demo.md): on CUD-covered rows price.effective_price is the
    # committed rate, so the unit price is cost / quantity; DuckDB divides decimals as
    # doubles, so the quotient is rounded to 12 places and read back through text.
    quotient = (
        f"CAST(CAST(round({r.cost} / NULLIF({r.quantity}, 0), 12) AS VARCHAR) AS DECIMAL(38,18))"
    )
    return f"(CASE WHEN {r.tax} THEN NULL WHEN {r.covered} THEN {quotient} ELSE {r.price} END)"


def _commitment(category: str) -> dict[str, str]:
    r = _Row
    cid = f"(CASE WHEN {r.fee} THEN subscription.instance_id ELSE {r.cud}.id END)"
    kind = (
        f"(CASE WHEN {r.covered} THEN (CASE WHEN {r.cud}.type LIKE '%DOLLAR_BASE' "
        f"THEN 'Spend' ELSE 'Usage' END) WHEN {cid} IS NULL THEN NULL "
        f"WHEN lower(sku.description) LIKE '%dollar based%' THEN 'Spend' ELSE 'Usage' END)"
    )
    quantity = (
        f"(CASE WHEN {kind} = 'Usage' THEN {r.quantity} WHEN {kind} = 'Spend' THEN "
        f"(CASE WHEN {category} = 'Usage' THEN {_effective()} ELSE {r.billed} END) END)"
    )
    unit = (
        f"(CASE WHEN {kind} = 'Usage' THEN {_pricing_unit()} "
        f"WHEN {kind} = 'Spend' THEN currency END)"
    )
    return {
        "CommitmentDiscountId": cid,
        "CommitmentDiscountCategory": kind,
        "CommitmentDiscountName": f"regexp_extract({cid}, '[^/]+$')",
        "CommitmentDiscountType": f"(CASE WHEN {cid} IS NOT NULL "
        "THEN 'Committed Use Discount' END)",
        "CommitmentDiscountStatus": f"(CASE WHEN {r.covered} THEN 'Used' END)",
        "CommitmentDiscountQuantity": quantity,
        "CommitmentDiscountUnit": unit,
    }


def _effective() -> str:
    r = _Row
    amortized = f"CAST({r.price} * CAST({r.quantity} AS DECIMAL(38,9)) AS {convert.DECIMAL_SQL})"
    return (
        f"(CASE WHEN {r.fee} AND NOT {r.tax} THEN 0 "
        f"WHEN {r.covered} AND {r.price} IS NOT NULL THEN {amortized} + {r.other_credits} "
        f"ELSE {r.billed} END)"
    )


def _pricing_unit() -> str:
    return _lookup("usage.pricing_unit", "gcp_units.csv", 1, "usage.pricing_unit")


def expressions(info: SourceInfo, scan: str, fallbacks: Mapping[str, str]) -> dict[str, str]:
    """Return, per lake column, the SQL computing it from one normalised export row."""
    r = _Row
    category = _category()
    usage_row = f"({category} = 'Usage' AND NOT {r.corrects_earlier})"
    period_start, period_end = _period()
    not_tax = f"(CASE WHEN {r.tax} THEN NULL ELSE {{}} END)"
    name = fallbacks.get("BillingAccountName")
    return {
        "AvailabilityZone": "location.zone",
        "BilledCost": r.billed,
        "BillingAccountId": "CAST(billing_account_id AS VARCHAR)",
        "BillingAccountName": quote_literal(name) if name else "NULL",
        "BillingAccountType": "'Billing Account'",
        "BillingCurrency": "currency",
        "BillingPeriodEnd": period_end,
        "BillingPeriodStart": period_start,
        "ChargeCategory": category,
        "ChargeClass": f"(CASE WHEN {r.corrects_earlier} THEN 'Correction' END)",
        "ChargeDescription": "sku.description",
        "ChargeFrequency": f"(CASE WHEN {r.tax} OR {r.fee} THEN 'Recurring' "
        f"WHEN {category} = 'Adjustment' THEN 'One-Time' ELSE 'Usage-Based' END)",
        "ChargePeriodEnd": _time("usage_end_time"),
        "ChargePeriodStart": r.start,
        "ConsumedQuantity": f"(CASE WHEN {usage_row} THEN {r.quantity} END)",
        "ConsumedUnit": f"(CASE WHEN {usage_row} THEN {_pricing_unit()} END)",
        "ContractedCost": r.cost,
        "ContractedUnitPrice": _unit_price(),
        "EffectiveCost": _effective(),
        "InvoiceIssuerName": "'Google Cloud'",
        "ListCost": f"COALESCE({_money('cost_at_list')}, {r.cost})",
        "ListUnitPrice": _unit_price(),
        "PricingCategory": f"(CASE WHEN {r.tax} THEN NULL WHEN {r.fee} THEN 'Standard' "
        f"WHEN {r.covered} THEN 'Committed' WHEN lower(sku.description) SIMILAR TO "
        f"'.*(spot|preemptible).*' THEN 'Dynamic' ELSE 'Standard' END)",
        "PricingQuantity": not_tax.format(r.quantity),
        "PricingUnit": not_tax.format(_pricing_unit()),
        "ProviderName": "'Google Cloud'",
        "PublisherName": "(CASE WHEN transaction_type IS NULL OR transaction_type = 'GOOGLE' "
        "THEN 'Google Cloud' ELSE COALESCE(seller_name, 'Google Cloud') END)",
        "RegionId": not_tax.format("location.region"),
        "RegionName": not_tax.format(_lookup("location.region", "gcp_regions.csv", 1, "NULL")),
        "ResourceId": f"COALESCE(resource.global_name, CASE WHEN {r.fee} "
        "THEN subscription.instance_id END)",
        "ResourceName": "resource.name",
        "ResourceType": _resource_type(),
        "ServiceCategory": _lookup("service.description", "gcp_services.csv", 1, "'Other'"),
        "ServiceName": "service.description",
        "ServiceSubcategory": _lookup(
            "service.description", "gcp_services.csv", 2, "'Other (Other)'"
        ),
        "SkuId": not_tax.format("sku.id"),
        "SkuMeter": not_tax.format("sku.description"),
        # NOTE: a list function, not a subquery over unnest(): DuckDB ran that correlated
        # subquery by materialising the whole file.
        "SkuPriceDetails": f"(CASE WHEN {_MACHINE_SPEC} IS NOT NULL THEN "
        f"CAST(json_object('InstanceType', {_MACHINE_SPEC}) AS VARCHAR) END)",
        "SkuPriceId": not_tax.format("sku.id"),
        "SubAccountId": "project.id",
        "SubAccountName": "project.name",
        "SubAccountType": "(CASE WHEN project.id IS NOT NULL THEN 'Project' END)",
        "Tags": _tags(),
        **_commitment(category),
        "x_SourceFormat": quote_literal(f"gcp-billing-{info.kind}"),
        "x_SourceVersion": quote_literal(version(info)),
        "x_SourceFile": quote_literal(str(info.path)),
        "x_SourceExtras": _EXTRAS.format(credits=gcp_credits.NETTED_LIST),
    }


#: x_SourceExtras over a row's credits list ``{credits}``: the credits counted on the row.
_EXTRAS = (
    "CAST(json_object('cost_type', cost_type, 'credits', {credits}, "
    "'project', project, 'service_id', service.id, 'invoice_month', invoice.month, "
    "'currency_conversion_rate', currency_conversion_rate, 'adjustment_info', "
    "adjustment_info, 'export_time', export_time) AS VARCHAR)"
)


def version(info: SourceInfo) -> str:
    """Return ``detailed`` for the resource-level export, else ``standard``."""
    return "detailed" if {"resource", "price"} & set(info.columns) else "standard"


def normalised_scan(info: SourceInfo) -> str:
    """Return a FROM-clause source with every :data:`SCHEMA` column, struct-typed."""
    if info.kind == "json":
        return scan_sql(info, json_columns=SCHEMA)
    present = set(info.columns)
    items = []
    for column, sql_type in SCHEMA.items():
        if column not in present:
            items.append(f"CAST(NULL AS {sql_type}) AS {column}")
        elif info.kind == "csv" and sql_type != "VARCHAR":
            # NOTE: RECORD/REPEATED columns of a CSV copy hold JSON text.
            items.append(f"TRY_CAST(CAST({quote_ident(column)} AS JSON) AS {sql_type}) AS {column}")
        else:
            items.append(f"{quote_ident(column)} AS {column}")
    return f"(SELECT {', '.join(items)} FROM {scan_sql(info)})"


def projection(info: SourceInfo, scan: str, fallbacks: Mapping[str, str]) -> str:
    """Return the SELECT list yielding the lake schema from the scan with parts.

    Part 0 of an export row is its usage (or tax, purchase, …) row; part 1 its Credit row.
    """
    credit = gcp_credits.credit_row(_EXTRAS)
    exprs = gcp_credits.split(expressions(info, scan, fallbacks), credit)
    return select_list(exprs)


def checks() -> list[Check]:
    """Return the row checks that make an export bad input."""
    r = _Row
    money = "a plain decimal such as 12.5 or -0.0004"
    amount = _money("c.amount")
    bad_credit = f"list_bool_or(list_transform(credits, lambda c: {amount} IS NULL))"
    types = ", ".join(quote_literal(t) for t in _COST_TYPES)
    return [
        Check(
            "cost",
            f"{r.cost} IS NULL",
            "CAST(cost AS VARCHAR)",
            "cost {value!r} is not a number",
            money,
            "re-export the table; cost must be a JSON number (FLOAT64).",
        ),
        Check(
            "credits.amount",
            f"COALESCE({bad_credit}, false)",
            "CAST(credits AS VARCHAR)",
            "a credit amount is not a number in {value}",
            money,
            "re-export the table; credits[].amount must be numbers.",
        ),
        Check(
            "billing_account_id",
            "billing_account_id IS NULL",
            "NULL",
            "billing_account_id is empty",
            "a billing account id such as 01A2B3-C4D5E6-F7A8B9",
            "export the whole table; every row carries its billing account.",
        ),
        Check(
            "invoice.month",
            "NOT regexp_full_match(COALESCE(invoice.month, ''), '[0-9]{6}')",
            "invoice.month",
            "invoice.month {value!r} is not YYYYMM",
            "YYYYMM, e.g. 202608",
            "export the invoice.month field unchanged.",
        ),
        Check(
            "cost_type",
            f"cost_type IS NULL OR cost_type NOT IN ({types})",
            "cost_type",
            "unknown cost_type {value!r}",
            ", ".join(_COST_TYPES),
            "export the cost_type field unchanged.",
        ),
        Check(
            "usage_start_time",
            f"{r.start} IS NULL",
            "CAST(usage_start_time AS VARCHAR)",
            "usage_start_time {value!r} is not a timestamp",
            "a timestamp such as 2026-08-01 00:00:00 UTC",
            "export the times unchanged.",
        ),
        Check(
            "currency",
            "currency IS NULL",
            "NULL",
            "currency is empty",
            "an ISO 4217 code",
            "export the currency field unchanged.",
        ),
    ]


def reconciliation(scan: str) -> Reconciliation:
    """Return the source total: Σ(cost + Σcredits) per billing account and invoice month."""
    from aifinops.ingest.readers import Reconciliation

    return Reconciliation(
        account="CAST(billing_account_id AS VARCHAR)",
        period="substr(invoice.month, 1, 4) || '-' || substr(invoice.month, 5, 2)",
        total=f"sum({_Row.invoiced})",
        scan=scan,
    )


class GcpBillingReader:
    """Google Cloud BigQuery billing export (standard or detailed) as JSONL, Parquet or CSV."""

    name = "gcp-billing"
    description = (
        "Google Cloud BigQuery billing export (standard/detailed) as JSONL, Parquet or CSV "
        "with " + ", ".join(REQUIRED)
    )
    provides = frozenset(
        c
        for c in expressions(SourceInfo(Path("x.jsonl"), "json", None, (), ()), "t", {})
        if not c.startswith("x_") and c != "BillingAccountName"
    )

    def detect(self, info: SourceInfo) -> bool:
        """Return True when the file has every field all billing exports share."""
        return all(column in info.columns for column in REQUIRED)

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return the read of one export file (JSONL, Parquet or CSV)."""
        from aifinops.ingest.readers import ReadPlan

        del run_files
        if not self.detect(info):
            missing = ", ".join(c for c in REQUIRED if c not in info.columns)
            raise BadInputError(
                f"not a Google Cloud billing export (missing fields {missing})",
                file=str(info.path),
                row=0,
                expected=f"the BigQuery billing export fields {', '.join(REQUIRED)}",
                fix="export the gcp_billing_export_v1_* or _resource_v1_* table; see "
                "docs/ingest-gcp.md.",
            )
        scan = normalised_scan(info)
        found = checks()
        notes = (
            []
            if "BillingAccountName" in fallbacks
            else ["the export has no billing account name: BillingAccountName is empty"]
        )
        return ReadPlan(
            format_name=f"gcp-billing-{info.kind}",
            version=version(info),
            scan=gcp_credits.with_parts(month_mode_scan(scan)),
            select=projection(info, scan, fallbacks),
            checks=found,
            notes=notes,
            reconciliation=reconciliation(scan),
            line=gcp_credits.LINE,
        )
