"""Data movement: what copying data out of a region or a cloud cost, by pipeline and route.

A *data-transfer* row is one whose meter, usage type or description reads like moving bytes
(:data:`TRANSFER`: "data transfer", "egress", "inter-region", "DataTransfer-Out-Bytes",
"download" …), whatever its ServiceCategory: AWS bills it under "AWS Data Transfer"
(Networking), Google Cloud often under the storage or compute service that sent the bytes.
Each row gets:

* **pipeline**: the row's ``pipeline`` tag, else its ``x_Project`` (allocation's project);
* **source_region**: ``RegionId`` (where the bytes left from);
* **destination**, where the bill says (:data:`DESTINATIONS`, first match): an AWS
  ``USE1-USW2-AWS-Out-Bytes`` usage type names the destination region code; a Google Cloud
  "… from Americas to EMEA" SKU names the destination area; "inter-region" is another region
  of the same cloud; "regional" / "inter-zone" stays in the region; "internet", "data
  transfer out" or "download" goes to the internet (another cloud included: the bill cannot
  tell a copy to another cloud from any other internet egress); else ``(unknown)``.

Sums are done in the engine; gigabytes are converted from the row's unit (GB, GiB, TB, bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.analyze.spend import Period, in_period
from aifinops.analyze.storage import bucket_of
from aifinops.analyze.unit_windows import cloud_of
from aifinops.enrich.arith import product
from aifinops.errors import BadInputError

#: What a data-transfer row's text matches (case-insensitive).
TRANSFER = (
    r"(?i)data ?transfer|egress|inter-?region|-out-bytes|-in-bytes|bandwidth|"
    r"download (worldwide|china|australia)|internet"
)
_USAGE_TYPE = r'"x_UsageType"\s*:\s*"([^"]*)"'
_AWS_ROUTE = r"(?i)\b[A-Z]{2,4}[0-9]?-([A-Z]{2,4}[0-9]?)-AWS-Out-Bytes"
_GCP_ROUTE = r"(?i)from [A-Za-z &]+? to ([A-Za-z &]+)"
#: Destination rules, first match wins: (pattern, label or None to use the pattern's group 1).
DESTINATIONS: tuple[tuple[str, str | None], ...] = (
    (_AWS_ROUTE, None),
    (_GCP_ROUTE, None),
    (r"(?i)inter-?region", "another region"),
    (r"(?i)regional-bytes|inter-?zone|intra-?region|inter-?az", "same region"),
    (r"(?i)cloudfront|\bcdn\b", "CDN"),
    (r"(?i)internet|datatransfer-out-bytes|data transfer out|download", "internet"),
)
UNKNOWN = "(unknown)"
#: Dimensions of :func:`egress_costs`.
EGRESS_DIMENSIONS = (
    "pipeline",
    "provider",
    "source_region",
    "destination",
    "resource",
    "bucket",
    "day",
    "month",
)
DEFAULT_EGRESS_BY = ("pipeline", "provider", "source_region", "destination")
EGRESS_MEASURES = ("effective_cost", "billed_cost", "gigabytes", "rows")
_PIPELINE_TAG = r'(?i)"pipeline"\s*:\s*"([^"]*)"'
#: Gigabytes per unit of ConsumedQuantity, by lower-case unit.
GB_PER_UNIT = {
    "gb": Decimal(1),
    "gigabytes": Decimal(1),
    "gib": Decimal("1.073741824"),
    "tb": Decimal(1000),
    "tib": Decimal("1099.511627776"),
    "bytes": Decimal("0.000000001"),
}


def transfer_text(t: ir.Table) -> ir.StringValue:
    """Return the text a row's transfer rules read: meter, usage type, description."""
    usage = t.x_SourceExtras.fill_null("").re_extract(_USAGE_TYPE, 1)
    parts = [t.SkuMeter.fill_null(""), usage, t.ChargeDescription.fill_null("")]
    return ibis.literal(" | ").join(parts)


def destination(text: ir.StringValue) -> ir.StringValue:
    """Return where a transfer row's bytes went (:data:`DESTINATIONS`)."""
    cases = []
    for pattern, label in DESTINATIONS:
        value = text.re_extract(pattern, 1).strip() if label is None else ibis.literal(label)
        cases.append((text.re_search(pattern), value))
    return ibis.cases(*cases, else_=ibis.literal(UNKNOWN))


def _gigabytes(t: ir.Table) -> ir.DecimalValue:
    unit = ibis.coalesce(t.ConsumedUnit, t.PricingUnit, ibis.literal("")).lower().strip()
    quantity = ibis.coalesce(t.ConsumedQuantity, t.PricingQuantity)
    cases = [(unit == name, product(quantity, factor)) for name, factor in GB_PER_UNIT.items()]
    return ibis.cases(*cases, else_=ibis.null("decimal(38, 18)"))


def transfer_rows(costs: ir.Table, period: Period | None = None) -> ir.Table:
    """Return the data-transfer rows of ``period`` with every :data:`EGRESS_DIMENSIONS`
    column, the costs and ``gigabytes``."""
    t = in_period(costs, period)
    t = t.mutate(_text=transfer_text(t))
    t = t.filter(t._text.re_search(TRANSFER))
    pipeline = ibis.coalesce(
        t.Tags.fill_null("").re_extract(_PIPELINE_TAG, 1).nullif(""), t.x_Project
    )
    return t.select(
        pipeline=pipeline,
        provider=cloud_of(t.ProviderName),
        source_region=ibis.coalesce(t.RegionId, t.RegionName),
        destination=destination(t._text),
        resource=t.ResourceId,
        bucket=bucket_of(t.ResourceId),
        day=t.ChargePeriodStart.strftime("%Y-%m-%d"),
        month=t.ChargePeriodStart.strftime("%Y-%m"),
        effective_cost=t.EffectiveCost,
        billed_cost=t.BilledCost,
        gigabytes=_gigabytes(t),
    )


def check_egress_by(by: Sequence[str]) -> list[str]:
    """Return ``by`` as a list, or raise :class:`BadInputError` for an unknown dimension."""
    for name in by:
        if name not in EGRESS_DIMENSIONS:
            raise BadInputError(
                f"dimension {name!r} is not offered by the egress report",
                column="--by",
                expected=f"one or more of {', '.join(EGRESS_DIMENSIONS)}",
                fix="pick dimensions from the list, comma-separated (docs/storage.md).",
            )
    return list(by)


def egress_costs(
    costs: ir.Table, *, by: Sequence[str] = DEFAULT_EGRESS_BY, period: Period | None = None
) -> ir.Table:
    """Return data-transfer cost by ``by`` (:data:`EGRESS_DIMENSIONS`), largest first.

    Columns: ``by`` then :data:`EGRESS_MEASURES`.

    Raises:
        BadInputError: for an unknown dimension.
    """
    keys = check_egress_by(by)
    t = transfer_rows(costs, period)
    sums = {
        "effective_cost": t.effective_cost.sum(),
        "billed_cost": t.billed_cost.sum(),
        "gigabytes": t.gigabytes.sum(),
        "rows": t.count(),
    }
    out = t.group_by(*keys).aggregate(**sums) if keys else t.aggregate(**sums)
    return out.select(*keys, *EGRESS_MEASURES).order_by([ibis.desc("effective_cost"), *keys])
