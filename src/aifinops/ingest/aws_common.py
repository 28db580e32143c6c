"""What AWS cost lines mean in FOCUS 1.2, shared by the legacy CUR and CUR 2.0 readers.

Both formats carry the same facts under different names (``lineItem/UnblendedCost``,
``line_item_unblended_cost``). Each reader resolves its file's columns into an
:class:`AwsLayout` keyed by the CUR 2.0 snake_case names; this module turns a layout into
the lake-schema SELECT list, following the line-item-type rules of FOCUS.md §2.1, §2.7 and
§2.10 (see docs/ingest-aws.md for the table).

The scan adds one column, ``_aws_part``: 0 for every source line, and a second copy (1) of
each commitment fee line with an unused part, which becomes the FOCUS ``Unused`` usage row.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from aifinops.errors import BadInputError
from aifinops.focus import lake_schema
from aifinops.ingest import convert
from aifinops.ingest.readers import Explanation, Reconciliation
from aifinops.ingest.scan import Check
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

PART = "_aws_part"
#: Line item types and the FOCUS ChargeCategory each gives (FOCUS.md §2.1, §2.7).
CHARGE_CATEGORY = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "Refund": "Usage",  # NOTE: keeps the refunded charge's category; ChargeClass marks it
    "SavingsPlanRecurringFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "RIFee": "Purchase",
    "Fee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
    # Discounts arrive as their own negative lines; FOCUS has no discount category.
    "EdpDiscount": "Credit",
    "PrivateRateDiscount": "Credit",
    "BundledDiscount": "Credit",
    "Discount": "Credit",
    "DistributorDiscount": "Credit",
    "SavingsPlanNegation": "Usage",  # dropped by the plan's filter
}
_FREQUENCY = {
    "SavingsPlanRecurringFee": "Recurring",
    "RIFee": "Recurring",
    "Tax": "Recurring",
    "Fee": "One-Time",
    "SavingsPlanUpfrontFee": "One-Time",
    "Credit": "One-Time",
    "Refund": "One-Time",
}
_UNITS = {"Hrs": "Hours", "GB-Mo": "GB-Months", "Hours": "Hours"}
_SP_OFFERINGS = {
    "ComputeSavingsPlans": "Compute Savings Plan",
    "EC2InstanceSavingsPlans": "EC2 Instance Savings Plan",
    "SageMakerSavingsPlans": "SageMaker Savings Plan",
    "DatabaseSavingsPlans": "Database Savings Plan",
}
_USAGE_TYPES = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
_NO_QUANTITY = (
    "Tax",
    "Credit",
    "Refund",
    *[k for k, v in CHARGE_CATEGORY.items() if k.endswith("Discount")],
)
NEGATION_RULE = "Savings Plan negation lines dropped (FOCUS forbids negation rows)"
COVERED_RULE = "Savings Plan covered usage billed at 0 (the negation lines cancel its cost)"


@dataclass(frozen=True)
class AwsLayout:
    """Where each CUR value sits in one file.

    Attributes:
        columns: CUR 2.0 snake_case key -> SQL of the raw value (a quoted column).
        types: CUR 2.0 key -> the column's Arrow type name ("string" for CSV).
        product: product attribute (``product_name``, ``vcpu``) -> SQL of its raw value.
        tags: SQL of the row's tags as a MAP(VARCHAR, VARCHAR) with FOCUS keys, or NULL.
    """

    columns: Mapping[str, str]
    types: Mapping[str, str]
    product: Mapping[str, str]
    tags: str

    def raw(self, key: str) -> str:
        """Return SQL of the raw value of ``key`` (NULL when the file lacks it)."""
        return self.columns.get(key, "NULL")

    def text(self, key: str) -> str:
        """Return SQL of ``key`` as text, NULL when empty."""
        return convert.clean_text(self.raw(key)) if key in self.columns else "NULL"

    def money(self, key: str) -> str:
        """Return SQL of ``key`` as the lake decimal (doubles go through their shortest text)."""
        return convert.to_decimal(self.raw(key)) if key in self.columns else "NULL"

    def time(self, key: str) -> str:
        """Return SQL of ``key`` as a UTC timestamp."""
        if key not in self.columns:
            return "NULL"
        if self.types.get(key, "string").startswith(("timestamp", "date")):
            return convert.typed_timestamp(self.raw(key))
        return convert.to_timestamp(self.raw(key))

    def attr(self, name: str) -> str:
        """Return SQL of product attribute ``name`` as text."""
        raw = self.product.get(name)
        return convert.clean_text(raw) if raw else "NULL"


def _cases(subject: str, mapping: Mapping[str, str], default: str) -> str:
    arms = " ".join(
        f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in sorted(mapping.items())
    )
    return f"(CASE {subject} {arms} ELSE {default} END)"


@lru_cache(maxsize=1)
def services() -> dict[str, tuple[str, str, str]]:
    """Return product code -> (ServiceName, ServiceCategory, ServiceSubcategory)."""
    text = resources.files("aifinops.ingest").joinpath("data/aws_services.csv").read_text()
    return {
        r["product_code"]: (r["service_name"], r["service_category"], r["service_subcategory"])
        for r in csv.DictReader(text.splitlines())
    }


def tags_map(entries: str) -> str:
    """Return SQL turning a list of {key, value} structs into FOCUS tag keys.

    User tags lose their ``user_`` / ``user:`` prefix; AWS tags keep ``aws:``; empty values
    mean the tag is absent (FOCUS.md §2.10 item 4).
    """
    key = (
        "CASE WHEN starts_with(e.key, 'user_') OR starts_with(e.key, 'user:') "
        "THEN substr(e.key, 6) WHEN starts_with(e.key, 'aws_') "
        "THEN 'aws:' || substr(e.key, 5) ELSE e.key END"
    )
    kept = f"list_filter({entries}, lambda e: nullif(trim(e.value), '') IS NOT NULL)"
    return (
        f"map_from_entries(list_transform({kept}, "
        f"lambda e: struct_pack(key := {key}, value := e.value)))"
    )


class AwsColumns:
    """The FOCUS expressions of one AWS file, keyed by FOCUS column name."""

    def __init__(self, lay: AwsLayout) -> None:
        self.lay = lay
        self.type = lay.text("line_item_line_item_type")
        self.unused = f"({PART} = 1)"
        self.sp_arn = lay.text("savings_plan_savings_plan_a_r_n")
        self.ri_arn = lay.text("reservation_reservation_a_r_n")
        self.unblended = lay.money("line_item_unblended_cost")

    def _is(self, *types: str) -> str:
        return f"({self.type} IN ({', '.join(quote_literal(t) for t in types)}))"

    def unused_amount(self) -> str:
        """Return SQL of the unused commitment carried by a fee line (FOCUS.md §1.4)."""
        lay = self.lay
        sp = (
            f"({lay.money('savings_plan_total_commitment_to_date')} - "
            f"{lay.money('savings_plan_used_commitment')})"
        )
        ri = (
            f"(COALESCE({lay.money('reservation_unused_amortized_upfront_fee_for_billing_period')}"
            f", 0) + COALESCE({lay.money('reservation_unused_recurring_fee')}, 0))"
        )
        return (
            f"(CASE WHEN {self._is('SavingsPlanRecurringFee')} THEN {sp} "
            f"WHEN {self._is('RIFee')} THEN {ri} END)"
        )

    def billed(self) -> str:
        """BilledCost: what the invoice bills (covered usage is cancelled by its negation)."""
        return (
            f"(CASE WHEN {self.unused} OR {self._is('SavingsPlanCoveredUsage')} THEN 0 "
            f"ELSE {self.unblended} END)"
        )

    def effective(self) -> str:
        """EffectiveCost: the amortized CASE of FOCUS.md §2.7."""
        lay = self.lay
        return (
            f"(CASE WHEN {self.unused} THEN {self.unused_amount()} "
            f"WHEN {self._is('SavingsPlanCoveredUsage')} "
            f"THEN {lay.money('savings_plan_savings_plan_effective_cost')} "
            f"WHEN {self._is('DiscountedUsage')} THEN {lay.money('reservation_effective_cost')} "
            f"WHEN {self._is('SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee', 'RIFee')} THEN 0 "
            f"WHEN {self._is('Fee')} AND {self.ri_arn} IS NOT NULL THEN 0 "
            f"ELSE {self.unblended} END)"
        )

    def category(self) -> str:
        """ChargeCategory from the line item type."""
        return f"(CASE WHEN {self.unused} THEN 'Usage' ELSE {_cases(self.type, CHARGE_CATEGORY, 'NULL')} END)"

    def frequency(self) -> str:
        """ChargeFrequency: fees recur, one-offs are one-time, usage is usage-based."""
        return (
            f"(CASE WHEN {self.unused} THEN 'Usage-Based' "
            f"ELSE {_cases(self.type, _FREQUENCY, quote_literal('Usage-Based'))} END)"
        )

    def spot(self) -> str:
        """Return SQL true on spot usage (pricing term or usage type says so)."""
        lay = self.lay
        return (
            f"(COALESCE({lay.text('pricing_term')} = 'Spot', FALSE) "
            f"OR COALESCE(contains({lay.text('line_item_usage_type')}, 'SpotUsage'), FALSE))"
        )

    def pricing_category(self) -> str:
        """PricingCategory: Committed on covered/unused rows, Dynamic on spot (FOCUS.md §1.3)."""
        return (
            f"(CASE WHEN {self.unused} "
            f"OR {self._is('DiscountedUsage', 'SavingsPlanCoveredUsage')} THEN 'Committed' "
            f"WHEN {self._is(*_NO_QUANTITY)} THEN NULL "
            f"WHEN {self._is('Usage')} AND {self.spot()} THEN 'Dynamic' ELSE 'Standard' END)"
        )

    def commitment_id(self) -> str:
        """CommitmentDiscountId: the Savings Plan or RI ARN on commitment rows only."""
        committed = self._is(
            "DiscountedUsage",
            "SavingsPlanCoveredUsage",
            "SavingsPlanRecurringFee",
            "SavingsPlanUpfrontFee",
            "RIFee",
        )
        return f"(CASE WHEN {committed} OR {self.unused} THEN COALESCE({self.sp_arn}, {self.ri_arn}) END)"

    def commitment(self, kind: str) -> str:
        """Return SQL of one CommitmentDiscount* column (Category, Type, Name, Status...)."""
        is_sp = f"({self.sp_arn} IS NOT NULL)"
        lay = self.lay
        values = {
            "Category": f"(CASE WHEN {is_sp} THEN 'Spend' ELSE 'Usage' END)",
            "Type": f"(CASE WHEN {is_sp} THEN 'Savings Plan' ELSE 'Reserved Instances' END)",
            "Status": (
                f"(CASE WHEN {self.unused} THEN 'Unused' WHEN {self._is(*_USAGE_TYPES)} "
                "THEN 'Used' END)"
            ),
            "Unit": f"(CASE WHEN {is_sp} THEN {lay.text('line_item_currency_code')} ELSE {self.unit()} END)",
            "Quantity": (
                f"(CASE WHEN NOT {is_sp} THEN {self.quantity()} "
                f"WHEN {self.category()} = 'Usage' THEN {self.effective()} ELSE {self.billed()} END)"
            ),
            "Name": self.commitment_name(),
        }
        return f"(CASE WHEN {self.commitment_id()} IS NOT NULL THEN {values[kind]} END)"

    def commitment_name(self) -> str:
        """Name a commitment from the facts on its line ('Compute Savings Plan 1yr No Upfront')."""
        lay = self.lay
        offering = lay.text("savings_plan_offering_type")
        sp = (
            f"(CASE WHEN {offering} IS NOT NULL THEN concat_ws(' ', "
            f"{_cases(offering, _SP_OFFERINGS, offering)}, "
            f"{lay.text('savings_plan_purchase_term')}, "
            f"{lay.text('savings_plan_payment_option')}) END)"
        )
        instance = lay.text("product_instance_type")
        ri = (
            f"(CASE WHEN {instance} IS NOT NULL THEN concat_ws(' ', {instance}, "
            f"{lay.text('pricing_lease_contract_length')}, "
            f"{lay.text('pricing_purchase_option')}) END)"
        )
        return f"(CASE WHEN {self.sp_arn} IS NOT NULL THEN {sp} ELSE {ri} END)"

    def quantity(self) -> str:
        """PricingQuantity: the usage amount; none on tax, credits and refunds."""
        return (
            f"(CASE WHEN {self._is(*_NO_QUANTITY)} THEN NULL "
            f"ELSE {self.lay.money('line_item_usage_amount')} END)"
        )

    def unit(self) -> str:
        """PricingUnit: AWS unit spellings in FOCUS style ('Hrs' -> 'Hours')."""
        raw = self.lay.text("pricing_unit")
        return f"(CASE WHEN {self.quantity()} IS NOT NULL THEN {_cases(raw, _UNITS, raw)} END)"

    def consumed(self, value: str) -> str:
        """Return ``value`` on resource usage rows only (not unused, not corrections)."""
        return f"(CASE WHEN {self._is(*_USAGE_TYPES)} AND NOT {self.unused} THEN {value} END)"

    def list_cost(self, *, unit: bool) -> str:
        """ListCost (or ListUnitPrice): public on-demand for usage, the line's own otherwise."""
        lay = self.lay
        if unit:
            usage = lay.money("pricing_public_on_demand_rate")
            own = lay.money("line_item_unblended_rate")
        else:
            usage = f"COALESCE({lay.money('pricing_public_on_demand_cost')}, {self.unblended})"
            own = self.unblended
        return (
            f"(CASE WHEN {self.unused} THEN 0 "
            f"WHEN {self._is(*_USAGE_TYPES)} THEN {usage} "
            f"WHEN {self._is(*_NO_QUANTITY)} THEN {'NULL' if unit else self._no_list()} "
            f"ELSE {own} END)"
        )

    def _no_list(self) -> str:
        # NOTE: a credit has no list price (0); tax and refunds list at what they bill.
        credit = self._is(*[k for k, v in CHARGE_CATEGORY.items() if v == "Credit"])
        return f"(CASE WHEN {credit} THEN 0 ELSE {self.unblended} END)"

    def service(self, index: int) -> str:
        """ServiceName (0), ServiceCategory (1) or ServiceSubcategory (2) by product code."""
        code = self.lay.text("line_item_product_code")
        table = {k: v[index] for k, v in services().items()}
        default = {0: code, 1: "'Other'", 2: "'Other (Other)'"}[index]
        looked_up = _cases(code, table, default)
        if index == 0:
            return f"COALESCE({self.lay.attr('product_name')}, {looked_up})"
        return looked_up


def reconciliation(cols: AwsColumns) -> Reconciliation:
    """Return how to total a CUR by its own UnblendedCost per payer account and month."""
    lay = cols.lay
    source = f"({PART} = 0)"
    period = f"strftime({lay.time('bill_billing_period_start_date')}, '%Y-%m')"
    return Reconciliation(
        account=lay.text("bill_payer_account_id"),
        period=period,
        total=f"sum(CASE WHEN {source} THEN {cols.unblended} END)",
        explanations=(
            Explanation(
                NEGATION_RULE,
                f"sum(CASE WHEN {source} AND {cols._is('SavingsPlanNegation')} "
                f"THEN {cols.unblended} END)",
            ),
            Explanation(
                COVERED_RULE,
                f"sum(CASE WHEN {source} AND {cols._is('SavingsPlanCoveredUsage')} "
                f"THEN {cols.unblended} END)",
            ),
        ),
    )


def sql_type(arrow_type: str) -> str:
    """Return the DuckDB type of a lake column's Arrow type name."""
    if arrow_type.startswith("decimal"):
        return convert.DECIMAL_SQL
    if arrow_type.startswith("timestamp"):
        return "TIMESTAMPTZ"
    return {"bool": "BOOLEAN", "int64": "BIGINT"}.get(arrow_type, "VARCHAR")


def select_list(values: Mapping[str, str]) -> str:
    """Return the lake-schema SELECT list, NULL for every column not in ``values``."""
    return ",\n  ".join(
        f"CAST({values.get(f.name, 'NULL')} AS {sql_type(str(f.type))}) AS {quote_ident(f.name)}"
        for f in lake_schema()
    )


def with_parts(raw_scan: str, cols: AwsColumns) -> str:
    """Return the scan with ``_aws_part``: fee lines with an unused part come out twice."""
    fee = (
        f"({cols._is('SavingsPlanRecurringFee', 'RIFee')} "
        f"AND COALESCE({cols.unused_amount()}, 0) > 0)"
    )
    # NOTE: unnest in the SELECT list keeps row order (a lateral unnest in FROM does not),
    # so the row numbers of bad-input errors still count source lines in order.
    return f"(SELECT *, unnest(CASE WHEN {fee} THEN [0, 1] ELSE [0] END) AS {PART} FROM {raw_scan})"


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
    """ResourceName: an ARN's last path segment or a bucket's name (EC2 ids have none)."""
    rid = cols.lay.text("line_item_resource_id")
    return (
        f"(CASE WHEN starts_with({rid}, 'arn:') THEN nullif(regexp_extract({rid}, '[/:]([^/:]+)$', 1), '') "
        f"WHEN NOT regexp_matches({rid}, '[:/]') AND NOT regexp_matches({rid}, '^[a-z]+-[0-9a-f]{{8,}}$') "
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
        f"CASE WHEN {v} IS NOT NULL THEN {quote_literal(chr(34) + k + chr(34) + ':')} || to_json({v}) END"
        for k, v in pairs
    )
    return (
        f"(CASE WHEN {instance} IS NOT NULL THEN "
        f"'{{' || array_to_string(list_filter([{items}], lambda x: x IS NOT NULL), ',') || '}}' END)"
    )


def focus_values(cols: AwsColumns, *, source: Mapping[str, str]) -> dict[str, str]:
    """Return FOCUS column -> SQL for an AWS file; ``source`` sets the x_Source* columns."""
    lay = cols.lay
    usage = cols._is(*_USAGE_TYPES)
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
        "ChargeClass": f"(CASE WHEN {cols._is('Refund')} AND NOT {cols.unused} THEN 'Correction' END)",
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
        "PublisherName": f"COALESCE({lay.text('line_item_legal_entity')}, 'Amazon Web Services, Inc.')",
        "RegionId": region,
        "RegionName": f"(CASE WHEN {region} IS NOT NULL THEN {lay.text('product_location')} END)",
        "ResourceId": f"COALESCE({lay.text('line_item_resource_id')}, CASE WHEN {cols.unused} THEN {cols.commitment_id()} END)",
        "ResourceName": f"(CASE WHEN {resource_row} THEN {resource_name(cols)} END)",
        "ResourceType": f"(CASE WHEN {resource_row} THEN {resource_type(cols)} END)",
        "ServiceCategory": cols.service(1),
        "ServiceName": cols.service(0),
        "ServiceSubcategory": cols.service(2),
        "SkuId": lay.text("product_sku"),
        "SkuMeter": f"COALESCE({lay.text('line_item_usage_type')}, {lay.text('product_usagetype')})",
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


def require(info: SourceInfo, names: Mapping[str, str], keys: Sequence[str], label: str) -> None:
    """Raise when ``names`` (key -> header) lacks one of ``keys``.

    Raises:
        BadInputError: naming the missing columns.
    """
    missing = [k for k in keys if k not in names]
    if missing:
        raise BadInputError(
            f"not an AWS {label} file (missing {', '.join(missing)})",
            file=str(info.path),
            row=0,
            expected=f"an AWS {label} export with {', '.join(keys)}",
            fix="export the full CUR, or pass --source-format to pick another reader.",
        )


def provided() -> frozenset[str]:
    """Return the FOCUS columns the AWS readers fill."""
    empty = AwsColumns(AwsLayout({}, {}, {}, "NULL"))
    return frozenset(k for k in focus_values(empty, source={}) if not k.startswith("x_"))
