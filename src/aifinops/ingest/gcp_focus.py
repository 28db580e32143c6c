"""Reader for Google Cloud's FOCUS data: the BigQuery FOCUS view and the native FOCUS export.

Both are BigQuery tables whose columns carry FOCUS names plus Google's ``x_`` columns
(``x_Credits``, ``x_CostType``, ``x_ServiceId``, ``x_Project``, ...). They reach us exported
as JSONL (nesting kept), Parquet (nesting kept) or CSV (nested columns as JSON text, since
BigQuery cannot extract them to CSV). Every kind is scanned into the same shape (text and
JSON columns) and one projection turns each row into one valid FOCUS 1.2 row; the rules
live in :mod:`aifinops.ingest.gcp_focus_columns` and docs/ingest-gcp-focus.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aifinops.errors import BadInputError
from aifinops.focus.columns import COLUMNS_BY_NAME
from aifinops.ingest import convert
from aifinops.ingest.convert import select_list
from aifinops.ingest.gcp_focus_columns import (
    NESTED,
    Row,
    col,
    expressions,
    field,
    json_list,
    money,
    period_bounds,
    text,
)
from aifinops.ingest.scan import Check, scan_sql
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import ReadPlan, Reconciliation

#: FOCUS columns the view and the export both have; a file needs them all.
REQUIRED = ("BilledCost", "ChargeCategory", "BillingPeriodStart", "ChargePeriodStart")
#: Google's own custom columns; a FOCUS file with two of them is Google's.
MARKERS = frozenset(
    {
        "x_Credits",
        "x_CostType",
        "x_ServiceId",
        "x_Project",
        "x_CurrencyConversionRate",
        "x_ExportTime",
        "x_Location",
    }
)
#: Columns only the native export has (the view has none of them).
EXPORT_MARKERS = frozenset(
    {
        "x_Labels",
        "x_SystemLabels",
        "x_ProjectLabels",
        "x_Tags",
        "x_SubscriptionInstanceId",
        "x_PriceEffectivePriceDefault",
        "x_CostAtEffectivePriceDefault",
        "x_ConsumptionModelId",
    }
)
#: Source columns kept verbatim in x_SourceExtras (what FOCUS has no column for, and the
#: raw values of the columns whose quirks we fix).
_EXTRAS = (
    "ChargeCategory",
    "ChargeClass",
    "PricingCategory",
    "PricingQuantity",
    "ServiceCategory",
    "SubAccountId",
    "Tags",
    "x_Credits",
    "x_CostType",
    "x_CurrencyConversionRate",
    "x_ExportTime",
    "x_Location",
    "x_Project",
    "x_ServiceId",
    "x_Labels",
    "x_SystemLabels",
    "x_ProjectLabels",
    "x_Tags",
    "x_SubscriptionInstanceId",
    "x_PriceEffectivePriceDefault",
    "x_PriceListPriceConsumptionModel",
    "x_CostAtEffectivePriceDefault",
    "x_CostAtListConsumptionModel",
    "x_ConsumptionModelId",
    "x_ConsumptionModelDescription",
)
#: Every source column the scan yields (absent ones read as NULL).
SOURCE_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *(c for c in COLUMNS_BY_NAME if not c.startswith("x_")),
            *_EXTRAS,
        )
    )
)


def is_export(info: SourceInfo) -> bool:
    """Return True for the native FOCUS export, False for the FOCUS view."""
    return bool(EXPORT_MARKERS & set(info.columns))


def format_name(info: SourceInfo) -> str:
    """Return the ``x_SourceFormat`` label, e.g. ``gcp-focus-view-jsonl``."""
    kind = "jsonl" if info.kind == "json" else info.kind
    return f"gcp-focus-{'export' if is_export(info) else 'view'}-{kind}"


def version(info: SourceInfo) -> str:
    """Return ``x_SourceVersion``: the view template (FOCUS 1.0) or the native export."""
    return "export" if is_export(info) else "view-1.0"


def normalised_scan(info: SourceInfo) -> str:
    """Return a FROM-clause source with every :data:`SOURCE_COLUMNS` column, text or JSON."""
    if info.kind == "json":
        schema = {c: "JSON" if c in NESTED else "VARCHAR" for c in SOURCE_COLUMNS}
        return scan_sql(info, json_columns=schema)
    present = set(info.columns)
    items = []
    for column in SOURCE_COLUMNS:
        ref = quote_ident(column)
        if column not in present:
            value = f"CAST(NULL AS {'JSON' if column in NESTED else 'VARCHAR'})"
        elif column not in NESTED:
            value = f"CAST({ref} AS VARCHAR)"
        elif info.kind == "csv":
            # NOTE: a CSV copy holds nested columns as JSON text (TO_JSON_STRING); a plain
            # string (a joined taxonomy) is kept as a JSON string.
            value = (
                f"(CASE WHEN json_valid({ref}) THEN CAST({ref} AS JSON) ELSE to_json({ref}) END)"
            )
        else:
            value = f"CAST(to_json({ref}) AS JSON)"
        items.append(f"{value} AS {ref}")
    return f"(SELECT {', '.join(items)} FROM {scan_sql(info)})"


def _extras(info: SourceInfo) -> str:
    present = [c for c in _EXTRAS if c in info.columns]
    if not present:
        return "NULL"
    pairs = ", ".join(f"{quote_literal(c)}, {col(c)}" for c in present)
    return f"CAST(json_object({pairs}) AS VARCHAR)"


def projection(info: SourceInfo, fallbacks: Mapping[str, str]) -> str:
    """Return the SELECT list yielding exactly the lake schema from the normalised scan."""
    exprs = expressions(view=not is_export(info), fallbacks=fallbacks)
    exprs |= {
        "x_SourceFormat": quote_literal(format_name(info)),
        "x_SourceVersion": quote_literal(version(info)),
        "x_SourceFile": quote_literal(str(info.path)),
        "x_SourceExtras": _extras(info),
    }
    return select_list(exprs)


def _money_check(column: str, *, required: bool) -> Check:
    raw = col(column)
    bad = f"{money(raw)} IS NULL"
    condition = bad if required else f"({text(column)} IS NOT NULL AND {bad})"
    return Check(
        column,
        condition,
        f"CAST({raw} AS VARCHAR)",
        f"{column} {{value!r}} is not a number",
        "a plain decimal such as 12.5 or -0.0004",
        f"re-export the table; {column} must be a NUMERIC column exported unchanged.",
    )


def _time_check(column: str) -> Check:
    raw = col(column)
    return Check(
        column,
        f"{Row.start if column == 'BillingPeriodStart' else convert.to_timestamp(raw)} IS NULL",
        f"CAST({raw} AS VARCHAR)",
        f"{column} {{value!r}} is not a timestamp",
        "a timestamp such as 2026-08-01 07:00:00 UTC",
        "export the TIMESTAMP columns unchanged.",
    )


def checks(*, view: bool) -> list[Check]:
    """Return the row checks that make a view/export file bad input."""
    amount = money(field("c", "Amount", "amount"))
    bad_credit = (
        f"list_bool_or(list_transform({json_list('x_Credits')}, lambda c: {amount} IS NULL))"
    )
    account = expressions(view=view, fallbacks={})["BillingAccountId"]
    return [
        _money_check("BilledCost", required=True),
        _money_check("EffectiveCost", required=False),
        _money_check("ContractedCost", required=False),
        _money_check("ListCost", required=False),
        Check(
            "x_Credits",
            f"COALESCE({bad_credit}, false)",
            f"CAST({col('x_Credits')} AS VARCHAR)",
            "a credit Amount is not a number in {value}",
            "x_Credits as an array of {Name, Amount, FullName, Id, Type} with numeric Amount",
            "re-export the table; keep x_Credits nested (JSONL/Parquet) or as TO_JSON_STRING.",
        ),
        Check(
            "BillingAccountId",
            f"{account} IS NULL",
            f"CAST({col('BillingAccountId')} AS VARCHAR)",
            "no billing account id (BillingAccountId {value!r})",
            "a billing account id such as 01A2B3-C4D5E6-F7A8B9",
            "set the billing account id in the view (it ships as a TODO literal) and re-export.",
        ),
        Check(
            "ChargeCategory",
            f"{Row.kind} IS NULL",
            f"CAST({col('ChargeCategory')} AS VARCHAR) || ' / x_CostType ' || "
            f"COALESCE(CAST({col('x_CostType')} AS VARCHAR), 'null')",
            "unknown charge category {value!r} (the view writes 'error' for an unknown cost_type)",
            "x_CostType regular, tax, adjustment or rounding_error",
            "export the view's rows unchanged; a row with ChargeCategory 'error' has a cost_type "
            "the view does not know.",
        ),
        _time_check("BillingPeriodStart"),
        _time_check("ChargePeriodStart"),
        _time_check("ChargePeriodEnd"),
        Check(
            "BillingCurrency",
            f"{text('BillingCurrency')} IS NULL",
            "NULL",
            "BillingCurrency is empty",
            "an ISO 4217 code",
            "export the BillingCurrency column unchanged.",
        ),
    ]


def reconciliation(*, view: bool) -> Reconciliation:
    """Return the source total: Σ the view's own BilledCost per account and invoice month."""
    from aifinops.ingest.readers import Reconciliation

    _start, _end, month = period_bounds()
    return Reconciliation(
        account=expressions(view=view, fallbacks={})["BillingAccountId"],
        period=f"(substr({month}, 1, 4) || '-' || substr({month}, 5, 2))",
        total=f"sum({Row.billed})",
    )


class GcpFocusReader:
    """Google Cloud's BigQuery FOCUS view and native FOCUS export (JSONL, Parquet, CSV)."""

    name = "gcp-focus"
    description = (
        "Google Cloud BigQuery FOCUS view / FOCUS export as JSONL, Parquet or CSV (FOCUS "
        "columns plus two of x_Credits, x_CostType, x_ServiceId, x_Project, ...)"
    )
    provides = frozenset(
        c
        for c in expressions(view=True, fallbacks={})
        if c not in ("BillingAccountName", "InvoiceId")
    )

    def detect(self, info: SourceInfo) -> bool:
        """Return True for FOCUS columns together with at least two of Google's x_ columns."""
        columns = set(info.columns)
        return all(c in columns for c in REQUIRED) and len(MARKERS & columns) >= 2

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return the read of one FOCUS view/export file (JSONL, Parquet or CSV)."""
        from aifinops.ingest.readers import ReadPlan

        del run_files
        if not self.detect(info):
            missing = [c for c in REQUIRED if c not in info.columns]
            raise BadInputError(
                "not Google Cloud FOCUS data (missing "
                + ", ".join(missing or ["two of " + ", ".join(sorted(MARKERS))])
                + ")",
                file=str(info.path),
                row=0,
                expected="the FOCUS view's or export's columns, with x_Credits, x_CostType, ...",
                fix="export the whole view/table (SELECT *); see docs/ingest-gcp-focus.md.",
            )
        view = not is_export(info)
        notes = []
        if "BillingAccountName" not in fallbacks and "BillingAccountName" not in info.columns:
            notes.append("the export has no billing account name: BillingAccountName is empty")
        return ReadPlan(
            format_name=format_name(info),
            version=version(info),
            scan=normalised_scan(info),
            select=projection(info, fallbacks),
            checks=checks(view=view),
            notes=notes,
            reconciliation=reconciliation(view=view),
        )
