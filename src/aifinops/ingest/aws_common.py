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
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from aifinops.errors import BadInputError
from aifinops.ingest import convert
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import Reconciliation

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
#: AWS unit spellings that FOCUS's unit format (<unit>-<plural time unit>) does not accept.
_UNITS = {"Hrs": "Hours", "Obj-Month": "Objects-Months"}
_SP_OFFERINGS = {
    "ComputeSavingsPlans": "Compute Savings Plan",
    "EC2InstanceSavingsPlans": "EC2 Instance Savings Plan",
    "SageMakerSavingsPlans": "SageMaker Savings Plan",
    "DatabaseSavingsPlans": "Database Savings Plan",
}
USAGE_TYPES = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
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
    memo: dict[str, str] = field(default_factory=dict, compare=False)
    #: True: values are written inline (for SQL over the raw scan, without memo_scan).
    inline: bool = False

    def _once(self, expr: str) -> str:
        # NOTE: every typed value is computed once, in an inner projection (memo_scan), and
        # referenced by name; inlined, the same CASE/regex trees were evaluated many times.
        if expr == "NULL" or self.inline:
            return expr
        name = self.memo.setdefault(expr, f"__aws_v{len(self.memo)}")
        return quote_ident(name)

    def memo_scan(self, raw_scan: str) -> str:
        """Return ``raw_scan`` with every memoised typed value as a named column."""
        if not self.memo:
            return raw_scan
        values = ", ".join(f"{expr} AS {quote_ident(name)}" for expr, name in self.memo.items())
        return f"(SELECT *, {values} FROM {raw_scan})"

    def raw(self, key: str) -> str:
        """Return SQL of the raw value of ``key`` (NULL when the file lacks it)."""
        return self.columns.get(key, "NULL")

    def text(self, key: str) -> str:
        """Return SQL of ``key`` as text, NULL when empty."""
        return self._once(convert.clean_text(self.raw(key))) if key in self.columns else "NULL"

    def money(self, key: str) -> str:
        """Return SQL of ``key`` as the lake decimal (doubles go through their shortest text)."""
        return self._once(convert.to_decimal(self.raw(key))) if key in self.columns else "NULL"

    def time(self, key: str) -> str:
        """Return SQL of ``key`` as a UTC timestamp."""
        if key not in self.columns:
            return "NULL"
        if self.types.get(key, "string").startswith(("timestamp", "date")):
            return self._once(convert.typed_timestamp(self.raw(key)))
        return self._once(convert.to_timestamp(self.raw(key)))

    def attr(self, name: str) -> str:
        """Return SQL of product attribute ``name`` as text."""
        raw = self.product.get(name)
        return self._once(convert.clean_text(raw)) if raw else "NULL"


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

    def is_type(self, *types: str) -> str:
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
            f"(CASE WHEN {self.is_type('SavingsPlanRecurringFee')} THEN {sp} "
            f"WHEN {self.is_type('RIFee')} THEN {ri} END)"
        )

    def billed(self) -> str:
        """BilledCost: what the invoice bills (covered usage is cancelled by its negation)."""
        return (
            f"(CASE WHEN {self.unused} OR {self.is_type('SavingsPlanCoveredUsage')} THEN 0 "
            f"ELSE {self.unblended} END)"
        )

    def effective(self) -> str:
        """EffectiveCost: the amortized CASE of FOCUS.md §2.7."""
        lay = self.lay
        return (
            f"(CASE WHEN {self.unused} THEN {self.unused_amount()} "
            f"WHEN {self.is_type('SavingsPlanCoveredUsage')} "
            f"THEN {lay.money('savings_plan_savings_plan_effective_cost')} "
            f"WHEN {self.is_type('DiscountedUsage')} "
            f"THEN {lay.money('reservation_effective_cost')} "
            f"WHEN {self.is_type('SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee', 'RIFee')} "
            "THEN 0 "
            f"WHEN {self.is_type('Fee')} AND {self.ri_arn} IS NOT NULL THEN 0 "
            f"ELSE {self.unblended} END)"
        )

    def category(self) -> str:
        """ChargeCategory from the line item type."""
        by_type = _cases(self.type, CHARGE_CATEGORY, "NULL")
        return f"(CASE WHEN {self.unused} THEN 'Usage' ELSE {by_type} END)"

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
            f"OR {self.is_type('DiscountedUsage', 'SavingsPlanCoveredUsage')} THEN 'Committed' "
            f"WHEN {self.is_type(*_NO_QUANTITY)} THEN NULL "
            f"WHEN {self.is_type('Usage')} AND {self.spot()} THEN 'Dynamic' ELSE 'Standard' END)"
        )

    def commitment_id(self) -> str:
        """CommitmentDiscountId: the Savings Plan or RI ARN on commitment rows only."""
        committed = self.is_type(
            "DiscountedUsage",
            "SavingsPlanCoveredUsage",
            "SavingsPlanRecurringFee",
            "SavingsPlanUpfrontFee",
            "RIFee",
        )
        arn = f"COALESCE({self.sp_arn}, {self.ri_arn})"
        return f"(CASE WHEN {committed} OR {self.unused} THEN {arn} END)"

    def commitment(self, kind: str) -> str:
        """Return SQL of one CommitmentDiscount* column (Category, Type, Name, Status...)."""
        is_sp = f"({self.sp_arn} IS NOT NULL)"
        lay = self.lay
        values = {
            "Category": f"(CASE WHEN {is_sp} THEN 'Spend' ELSE 'Usage' END)",
            "Type": f"(CASE WHEN {is_sp} THEN 'Savings Plan' ELSE 'Reserved Instances' END)",
            "Status": (
                f"(CASE WHEN {self.unused} THEN 'Unused' WHEN {self.is_type(*USAGE_TYPES)} "
                "THEN 'Used' END)"
            ),
            "Unit": (
                f"(CASE WHEN {is_sp} THEN {lay.text('line_item_currency_code')} "
                f"ELSE {self.unit()} END)"
            ),
            "Quantity": (
                f"(CASE WHEN NOT {is_sp} THEN {self.quantity()} "
                f"WHEN {self.category()} = 'Usage' THEN {self.effective()} "
                f"ELSE {self.billed()} END)"
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
            f"(CASE WHEN {self.is_type(*_NO_QUANTITY)} THEN NULL "
            f"ELSE {self.lay.money('line_item_usage_amount')} END)"
        )

    def unit(self) -> str:
        """PricingUnit: AWS unit spellings in FOCUS style ('Hrs' -> 'Hours')."""
        raw = self.lay.text("pricing_unit")
        # 'GB-Mo' -> 'GB-Months', 'vCPU-Hrs' -> 'vCPU-Hours'
        spelled = (
            f"regexp_replace(regexp_replace({raw}, '-(Mo|Month)$', '-Months'), "
            "'-(Hrs|Hour)$', '-Hours')"
        )
        return f"(CASE WHEN {self.quantity()} IS NOT NULL THEN {_cases(raw, _UNITS, spelled)} END)"

    def consumed(self, value: str) -> str:
        """Return ``value`` on resource usage rows only (not unused, not corrections)."""
        return f"(CASE WHEN {self.is_type(*USAGE_TYPES)} AND NOT {self.unused} THEN {value} END)"

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
            f"WHEN {self.is_type(*USAGE_TYPES)} THEN {usage} "
            f"WHEN {self.is_type(*_NO_QUANTITY)} THEN {'NULL' if unit else self._no_list()} "
            f"ELSE {own} END)"
        )

    def _no_list(self) -> str:
        # NOTE: a credit has no list price (0); tax and refunds list at what they bill.
        credit = self.is_type(*[k for k, v in CHARGE_CATEGORY.items() if v == "Credit"])
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


def reconciliation(lay: AwsLayout, raw_scan: str) -> Reconciliation:
    """Return how to total a CUR by its own UnblendedCost per payer account and month.

    NOTE: over the raw scan, with the few values it needs written inline: through the
    plan's scan (every typed value, the fee-line split) it took 5.4 s per 1M CUR lines
    instead of 2.1 s, on the core the staging write leaves idle.
    """
    # Imported here: readers imports the AWS readers while it builds its registry.
    from aifinops.ingest.readers import Explanation, Reconciliation

    raw = replace(lay, memo={}, inline=True)
    cols = AwsColumns(raw)
    return Reconciliation(
        account=raw.text("bill_payer_account_id"),
        period=f"strftime({raw.time('bill_billing_period_start_date')}, '%Y-%m')",
        total=f"sum({cols.unblended})",
        explanations=(
            Explanation(
                NEGATION_RULE,
                f"sum(CASE WHEN {cols.is_type('SavingsPlanNegation')} THEN {cols.unblended} END)",
            ),
            Explanation(
                COVERED_RULE,
                f"sum(CASE WHEN {cols.is_type('SavingsPlanCoveredUsage')} "
                f"THEN {cols.unblended} END)",
            ),
        ),
        scan=raw_scan,
    )


def with_parts(raw_scan: str, cols: AwsColumns) -> str:
    """Return the scan with ``_aws_part``: fee lines with an unused part come out twice."""
    fee = (
        f"({cols.is_type('SavingsPlanRecurringFee', 'RIFee')} "
        f"AND COALESCE({cols.unused_amount()}, 0) > 0)"
    )
    # NOTE: unnest in the SELECT list keeps row order (a lateral unnest in FROM does not),
    # so the row numbers of bad-input errors still count source lines in order.
    return f"(SELECT *, unnest(CASE WHEN {fee} THEN [0, 1] ELSE [0] END) AS {PART} FROM {raw_scan})"


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


def scan_names(columns: Sequence[str]) -> dict[str, str]:
    """Return each column's name in the scan: DuckDB suffixes case-insensitive repeats.

    NOTE: DuckDB names are case-insensitive, so a CUR with tag columns ``user:Team`` and
    ``user:team`` scans as ``…Team`` and ``…team_1``; quoting the header would read the
    first column twice.
    """
    seen: set[str] = set()
    names: dict[str, str] = {}
    for column in columns:
        name = column
        suffix = 0
        while name.lower() in seen:
            suffix += 1
            name = f"{column}_{suffix}"
        seen.add(name.lower())
        names[column] = name
    return names
