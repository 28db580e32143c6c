"""Promotional credits of the Google Cloud billing export as their own FOCUS ``Credit`` rows.

An export row carries its credits in the repeated ``credits`` field (negative amounts).
FOCUS discount handling (FOCUS.md §1.4) applies discounts on the row but gives
after-the-fact credits ``ChargeCategory = Credit``. So price discounts (committed-use,
sustained-use, free tier, reseller margin, …) stay netted into the usage row, while
``PROMOTION`` credits (trial and promotional money, not a price) leave it: each export row
with any gives one extra lake row holding their sum (FOCUS.md §2.10 item 2).

The scan adds ``_gcp_part``: 0 for every export row, and a second copy (1) of each row with a
promotion credit, which becomes the ``Credit`` row (the AWS readers' pattern, ``aws_common``).
"""

from __future__ import annotations

from collections.abc import Mapping

from aifinops.ingest import convert

PART = "_gcp_part"
#: True on the copy of an export row that becomes its ``Credit`` row.
IS_CREDIT_ROW = f"({PART} = 1)"
#: Credit types that become ``Credit`` rows; every other type is netted into the row.
PROMOTION = "'PROMOTION'"


def promotions(credits: str = "credits") -> str:
    """Return SQL of the promotion credits of a row's ``credits`` list."""
    return f"list_filter({credits}, lambda c: c.type = {PROMOTION})"


def netted(credits: str = "credits") -> str:
    """Return SQL of the credits netted into the row: every type but promotions."""
    return f"list_filter({credits}, lambda c: c.type IS DISTINCT FROM {PROMOTION})"


def total(credit_list: str) -> str:
    """Return SQL of Σ amount over ``credit_list`` (0 for none), as an exact decimal."""
    # NOTE: through text, so JSON/Parquet doubles become their shortest exact decimal.
    amount = f"TRY_CAST(CAST(c.amount AS VARCHAR) AS {convert.DECIMAL_SQL})"
    return f"COALESCE(list_sum(list_transform({credit_list}, lambda c: {amount})), 0)"


#: SQL true on the scan rows that are lines of the export (not a copy): ReadPlan.line, so a
#: bad-input error still names the export's own line.
LINE = f"({PART} = 0)"


#: The credits netted into the usage row (a list), computed once per row by :func:`with_parts`.
NETTED_LIST = "__gcp_netted_list"
#: Σ of the credits netted into the usage row, computed once per row by :func:`with_parts`.
NETTED = "__gcp_netted"
#: Σ of the row's promotion credits (its Credit row's amount), computed once per row.
PROMOTED = "__gcp_promoted"


def with_parts(scan: str) -> str:
    """Return ``scan`` with :data:`PART`, :data:`NETTED` and :data:`PROMOTED` (module doc)."""
    copied = f"(len({promotions()}) > 0)"
    # NOTE: the two sums are columns, not inlined: every cost column of both rows uses them,
    # and inlined list_transform trees made the read 50% slower.
    lists = f"(SELECT *, {netted()} AS {NETTED_LIST} FROM {scan})"
    sums = (
        f"(SELECT *, {total(NETTED_LIST)} AS {NETTED}, {total(promotions())} AS {PROMOTED} "
        f"FROM {lists})"
    )
    # NOTE: unnest in the SELECT list keeps row order (a lateral unnest in FROM does not).
    return f"(SELECT *, unnest(CASE WHEN {copied} THEN [0, 1] ELSE [0] END) AS {PART} FROM {sums})"


def credit_row(extras: str) -> dict[str, str]:
    """Return the columns of a ``Credit`` row that differ from its export row's usage row.

    The row keeps its export row's account, periods, ChargeClass (a credit on a correction
    corrects too), provider, service, project, place, resource and tags. It carries the
    credits' sum in every cost column (FOCUS: EffectiveCost equals BilledCost on credits);
    it has no price, quantity, SKU or commitment.

    Args:
        extras: SQL of x_SourceExtras over a credits list written ``{credits}``.
    """
    amount = PROMOTED
    names = f"list_transform({promotions()}, lambda c: COALESCE(c.full_name, c.name, c.id))"
    nulls = (
        "ConsumedQuantity ConsumedUnit ContractedUnitPrice ListUnitPrice PricingCategory "
        "PricingQuantity PricingUnit SkuId SkuMeter SkuPriceDetails SkuPriceId "
        "CommitmentDiscountId CommitmentDiscountCategory CommitmentDiscountName "
        "CommitmentDiscountType CommitmentDiscountStatus CommitmentDiscountQuantity "
        "CommitmentDiscountUnit"
    ).split()
    return {
        **dict.fromkeys(("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"), amount),
        "ChargeCategory": "'Credit'",
        "ChargeDescription": f"array_to_string({names}, '; ')",
        "ChargeFrequency": "'One-Time'",
        **dict.fromkeys(nulls, "NULL"),
        "x_SourceExtras": extras.format(credits=promotions()),
    }


def split(usage: Mapping[str, str], credit: Mapping[str, str]) -> dict[str, str]:
    """Return per column the usage row's SQL, or the credit row's on :data:`PART` 1."""
    return {
        column: (
            f"(CASE WHEN {IS_CREDIT_ROW} THEN {credit[column]} ELSE {sql} END)"
            if column in credit
            else sql
        )
        for column, sql in usage.items()
    }
