"""The FOCUS 1.2 rules that :func:`aifinops.focus.validate.validate` checks, as data.

Each :class:`Rule` names the column it is about, says in one line what it checks, and carries
an Ibis predicate that is TRUE on a violating row. Predicates are plain Ibis, so the same list
runs on DuckDB and PySpark. ``docs/validation.md`` lists every rule; a test checks they agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import ibis
import ibis.expr.types as ir
from ibis.expr import operations as ops

from aifinops.focus.columns import FOCUS_COLUMNS, SERVICE_SUBCATEGORIES, Level, column

#: A function of the cost table that is TRUE on rows breaking the rule.
Predicate = Callable[[ibis.Table], ir.BooleanValue]

#: ``|price × quantity − cost|`` may be at most this share of ``max(1, |cost|)``.
RELATIVE_TOLERANCE = 1e-9

#: Columns whose allowed values are checked (the rest of the categorical ones are free text).
ALLOWED_VALUE_COLUMNS: tuple[str, ...] = (
    "ChargeCategory", "ChargeClass", "ChargeFrequency", "PricingCategory",
    "CommitmentDiscountCategory", "CommitmentDiscountStatus", "CapacityReservationStatus",
    "ServiceCategory", "ServiceSubcategory",
)  # fmt: skip


#: Requirements Model ``CostAndUsage-D-<n>-M`` ("<column> MUST be present"), by column.
_PRESENT_MODEL: dict[str, str] = {
    "BilledCost": "006", "BillingAccountId": "024", "BillingAccountName": "005",
    "BillingCurrency": "035", "BillingPeriodEnd": "010", "BillingPeriodStart": "009",
    "ChargeCategory": "008", "ChargeClass": "026", "ChargeDescription": "025",
    "ChargePeriodEnd": "028", "ChargePeriodStart": "037", "ContractedCost": "030",
    "EffectiveCost": "031", "InvoiceIssuerName": "023", "ListCost": "032",
    "PricingQuantity": "036", "PricingUnit": "068", "ProviderName": "038",
    "PublisherName": "021", "ServiceCategory": "040", "ServiceName": "041",
}  # fmt: skip

#: Requirements Model ids of the "MUST NOT be null" rules, by column.
_NOT_NULL_MODEL: dict[str, str] = {
    "BilledCost": "C-003-M", "BillingAccountId": "C-001-M", "BillingAccountType": "C-005-C",
    "BillingCurrency": "C-004-M", "BillingPeriodEnd": "C-003-M", "BillingPeriodStart": "C-003-M",
    "ChargeCategory": "C-002-M", "ChargeFrequency": "C-002-M", "ChargePeriodEnd": "C-003-M",
    "ChargePeriodStart": "C-003-M", "ContractedCost": "C-003-M", "EffectiveCost": "C-003-M",
    "InvoiceIssuerName": "C-003-M", "ListCost": "C-003-M", "ProviderName": "C-003-M",
    "PublisherName": "C-003-M", "ServiceCategory": "C-002-M", "ServiceName": "C-003-M",
    "ServiceSubcategory": "C-002-M",
}  # fmt: skip

#: Requirements Model ids of the "MUST be one of the allowed values" rules, by column.
_ALLOWED_MODEL: dict[str, str] = {
    "ChargeCategory": "C-003-M", "ChargeClass": "C-005-C", "ChargeFrequency": "C-003-M",
    "PricingCategory": "C-007-M", "CommitmentDiscountCategory": "C-005-M",
    "CommitmentDiscountStatus": "C-005-M", "CapacityReservationStatus": "C-006-M",
    "ServiceCategory": "C-003-M", "ServiceSubcategory": "C-003-M",
}  # fmt: skip


class Severity(StrEnum):
    """How bad a broken rule is: errors make a report not ``ok``, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


class Kind(StrEnum):
    """Where a rule is checked."""

    SCHEMA = "schema"  # on the table's column names, not per row
    ROW = "row"  # an Ibis predicate, counted in the one aggregation query
    JSON = "json"  # parsed in Python, once per distinct value of the column


@dataclass(frozen=True)
class Rule:
    """One FOCUS rule: id, column, one-line description, severity and how it is checked.

    Attributes:
        id: stable id, ``<Column>-<check>``, e.g. ``BilledCost-not-null``.
        column: the FOCUS column the rule is about.
        description: what a valid row looks like, in one line.
        severity: ``error`` or ``warning``.
        kind: schema, row or JSON check.
        violates: for row rules, the predicate that is TRUE on a violating row.
        model: ids of the FOCUS 1.2 Requirements Model rules this one implements.
    """

    id: str
    column: str
    description: str
    severity: Severity
    kind: Kind = Kind.ROW
    violates: Predicate | None = None
    model: tuple[str, ...] = ()

    @cached_property
    def needs(self) -> frozenset[str]:
        """Return the columns the rule reads (a rule is skipped when one is missing)."""
        if self.violates is None:
            return frozenset({self.column})
        probe = ibis.table({c.name: c.arrow_type for c in FOCUS_COLUMNS}, name="probe")
        return frozenset(f.name for f in self.violates(probe).op().find(ops.Field))


def _not_correction(t: ibis.Table) -> ir.BooleanValue:
    return t.ChargeClass.isnull() | (t.ChargeClass != "Correction")


def _mismatch(
    price: ir.NumericValue, quantity: ir.NumericValue, cost: ir.NumericValue
) -> ir.BooleanValue:
    # NOTE: decimal(38,18) × decimal(38,18) needs 36 fractional digits: DuckDB overflows and
    # Spark rounds to 6, so the product is compared in float64 within a tiny tolerance.
    product = price.cast("float64") * quantity.cast("float64")
    expected = cost.cast("float64")
    limit = ibis.greatest(1.0, expected.abs()) * RELATIVE_TOLERANCE
    return (product - expected).abs() > limit


def _unit_price_rule(cost: str, price: str, model: str) -> Rule:
    def violates(t: ibis.Table) -> ir.BooleanValue:
        return (
            t[price].notnull()
            & t.PricingQuantity.notnull()
            & _not_correction(t)
            & _mismatch(t[price], t.PricingQuantity, t[cost])
        )

    return Rule(
        f"{cost}-unit-price",
        cost,
        f"{price} × PricingQuantity equals {cost} within 1e-9 × max(1, abs({cost})) when "
        f"{price} and PricingQuantity are set, except on corrections.",
        Severity.ERROR,
        violates=violates,
        model=(model,),
    )


def _presence_rules() -> Iterable[Rule]:
    for col in FOCUS_COLUMNS:
        if col.level is Level.MANDATORY:
            yield Rule(
                f"{col.name}-present",
                col.name,
                f"The mandatory column {col.name} exists.",
                Severity.ERROR,
                kind=Kind.SCHEMA,
                model=(f"CostAndUsage-D-{_PRESENT_MODEL[col.name]}-M",),
            )


def _is_null(name: str) -> Predicate:
    return lambda t: t[name].isnull()


def _not_in(name: str, allowed: list[str]) -> Predicate:
    return lambda t: t[name].notnull() & ~t[name].isin(allowed)


def _not_null_rules() -> Iterable[Rule]:
    for col in FOCUS_COLUMNS:
        if col.nullable:
            continue
        # Non-mandatory columns are null-filled in the lake when a source lacks them: warn.
        mandatory = col.level is Level.MANDATORY
        yield Rule(
            f"{col.name}-not-null",
            col.name,
            f"{col.name} is never null.",
            Severity.ERROR if mandatory else Severity.WARNING,
            violates=_is_null(col.name),
            model=(f"{col.name}-{_NOT_NULL_MODEL[col.name]}",),
        )


def _allowed_rules() -> Iterable[Rule]:
    for name in ALLOWED_VALUE_COLUMNS:
        allowed = sorted(column(name).allowed)
        shown = ", ".join(allowed) if len(allowed) <= 6 else "the FOCUS 1.2 list"
        yield Rule(
            f"{name}-allowed",
            name,
            f"{name} is null or one of: {shown}.",
            Severity.ERROR,
            violates=_not_in(name, allowed),
            model=(f"{name}-{_ALLOWED_MODEL[name]}",),
        )


def _in_category(t: ibis.Table) -> ir.BooleanValue:
    sub, cat = t.ServiceSubcategory, t.ServiceCategory
    known = sub.isin(sorted(SERVICE_SUBCATEGORIES))
    return known & cat.notnull() & (sub.substitute(SERVICE_SUBCATEGORIES) != cat)


def _row(
    rule_id: str,
    description: str,
    violates: Predicate,
    *,
    model: str | tuple[str, ...] = (),
    severity: Severity = Severity.ERROR,
) -> Rule:
    return Rule(
        rule_id,
        rule_id.split("-", 1)[0],
        description,
        severity,
        violates=violates,
        model=(model,) if isinstance(model, str) else model,
    )


def _usage_only(name: str, model: str) -> Rule:
    def violates(t: ibis.Table) -> ir.BooleanValue:
        unused = t.CommitmentDiscountStatus.fill_null("") == "Unused"
        return t[name].notnull() & ((t.ChargeCategory != "Usage") | unused)

    return _row(
        f"{name}-usage-only",
        f"{name} is null unless ChargeCategory is Usage (and null on Unused commitment rows).",
        violates,
        model=model,
    )


def _null_iff(name: str, other: str, model: str) -> Rule:
    short = "id" if other.endswith("Id") else "quantity"
    return _row(
        f"{name}-null-iff-{short}",
        f"{name} is null exactly when {other} is null.",
        lambda t: t[name].isnull() != t[other].isnull(),
        model=model,
    )


def _is(value: str) -> Predicate:
    return lambda t: t.ChargeCategory == value


def _usage_or_purchase(t: ibis.Table) -> ir.BooleanValue:
    return t.ChargeCategory.isin(["Usage", "Purchase"])


def _relation_rules() -> Iterable[Rule]:
    tax, usage, credit = _is("Tax"), _is("Usage"), _is("Credit")
    yield _row(
        "ServiceSubcategory-in-category",
        "ServiceSubcategory belongs to the row's ServiceCategory.",
        _in_category,
        model="ServiceSubcategory-C-004-M",
    )
    yield _unit_price_rule("ListCost", "ListUnitPrice", "ListCost-C-009-C")
    yield _unit_price_rule("ContractedCost", "ContractedUnitPrice", "ContractedCost-C-009-C")
    yield _row(
        "ChargePeriodEnd-after-start",
        "ChargePeriodEnd (exclusive) is after ChargePeriodStart.",
        lambda t: t.ChargePeriodEnd <= t.ChargePeriodStart,
        model="ChargePeriodEnd-C-004-M",
    )
    yield _row(
        "BillingPeriodEnd-after-start",
        "BillingPeriodEnd (exclusive) is after BillingPeriodStart.",
        lambda t: t.BillingPeriodEnd <= t.BillingPeriodStart,
        model="BillingPeriodEnd-C-004-M",
    )
    yield _row(
        "ChargePeriodStart-in-billing-period",
        "ChargePeriodStart lies in [BillingPeriodStart, BillingPeriodEnd), except on corrections.",
        lambda t: (
            _not_correction(t)
            & (
                (t.ChargePeriodStart < t.BillingPeriodStart)
                | (t.ChargePeriodStart >= t.BillingPeriodEnd)
            )
        ),
        severity=Severity.WARNING,
    )
    yield _row(
        "ChargeFrequency-not-usage-based-purchase",
        "ChargeFrequency is not Usage-Based when ChargeCategory is Purchase.",
        lambda t: _is("Purchase")(t) & (t.ChargeFrequency == "Usage-Based"),
        model="ChargeFrequency-C-004-C",
    )
    yield _row(
        "PricingQuantity-null-on-tax",
        "PricingQuantity is null when ChargeCategory is Tax.",
        lambda t: tax(t) & t.PricingQuantity.notnull(),
        model="PricingQuantity-C-004-C",
    )
    yield _row(
        "PricingUnit-null-on-tax",
        "PricingUnit is null when ChargeCategory is Tax.",
        lambda t: tax(t) & t.PricingUnit.notnull(),
        model=("PricingQuantity-C-004-C", "PricingUnit-C-005-C"),
    )
    yield _row(
        "PricingQuantity-required",
        "PricingQuantity is set on Usage and Purchase rows that are not corrections.",
        lambda t: _usage_or_purchase(t) & _not_correction(t) & t.PricingQuantity.isnull(),
        model="PricingQuantity-C-005-C",
    )
    yield _null_iff("PricingUnit", "PricingQuantity", "PricingUnit-C-005-C")
    yield _row(
        "PricingCategory-required",
        "PricingCategory is set on Usage and Purchase rows that are not corrections.",
        lambda t: _usage_or_purchase(t) & _not_correction(t) & t.PricingCategory.isnull(),
        model="PricingCategory-C-004-C",
    )
    yield _row(
        "PricingCategory-null-on-tax",
        "PricingCategory is null when ChargeCategory is Tax.",
        lambda t: tax(t) & t.PricingCategory.notnull(),
        model="PricingCategory-C-003-C",
    )
    yield _usage_only("ConsumedQuantity", "ConsumedQuantity-C-004-C")
    yield _usage_only("ConsumedUnit", "ConsumedQuantity-C-004-C")
    yield _null_iff("ConsumedUnit", "ConsumedQuantity", "ConsumedUnit-C-005-C")
    yield _row(
        "CommitmentDiscountStatus-required",
        "CommitmentDiscountStatus is set on Usage rows with a CommitmentDiscountId.",
        lambda t: usage(t) & t.CommitmentDiscountId.notnull() & t.CommitmentDiscountStatus.isnull(),
        model="CommitmentDiscountStatus-C-004-C",
    )
    yield _row(
        "CommitmentDiscountStatus-null-without-id",
        "CommitmentDiscountStatus is null when CommitmentDiscountId is null.",
        lambda t: t.CommitmentDiscountId.isnull() & t.CommitmentDiscountStatus.notnull(),
        model="CommitmentDiscountStatus-C-003-C",
    )
    yield _null_iff(
        "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountCategory-C-003-C"
    )
    yield _row(
        "CapacityReservationStatus-required",
        "CapacityReservationStatus is set on Usage rows with a CapacityReservationId.",
        lambda t: (
            usage(t) & t.CapacityReservationId.notnull() & t.CapacityReservationStatus.isnull()
        ),
        model="CapacityReservationStatus-C-004-C",
    )
    yield _row(
        "CapacityReservationStatus-null-without-id",
        "CapacityReservationStatus is null when CapacityReservationId is null.",
        lambda t: t.CapacityReservationId.isnull() & t.CapacityReservationStatus.notnull(),
        model="CapacityReservationStatus-C-003-C",
    )
    yield _row(
        "EffectiveCost-equals-billed-on-credit",
        "EffectiveCost equals BilledCost when ChargeCategory is Credit.",
        lambda t: credit(t) & (t.EffectiveCost != t.BilledCost),
        model="EffectiveCost-C-010-C",
        severity=Severity.WARNING,
    )


def _json_rules() -> Iterable[Rule]:
    for name in ("Tags", "SkuPriceDetails"):
        yield Rule(
            f"{name}-json-object",
            name,
            f"{name} is null or a JSON object with unique keys and scalar values.",
            Severity.ERROR,
            kind=Kind.JSON,
            model=(f"{name}-C-001-M",),
        )


#: Every rule, in report order.
RULES: tuple[Rule, ...] = (
    *_presence_rules(),
    *_not_null_rules(),
    *_allowed_rules(),
    *_relation_rules(),
    *_json_rules(),
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
