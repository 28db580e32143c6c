"""The row checks that make a FOCUS file bad input (each names the row, column and fix)."""

from __future__ import annotations

from aifinops.focus.columns import CHARGE_CATEGORIES, COLUMNS_BY_NAME, DataType
from aifinops.ingest import convert
from aifinops.ingest.focus_file import FocusLayout, typed_expressions
from aifinops.ingest.scan import Check
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_literal

_NON_NULL_KEYS = ("ProviderName", "BillingAccountId", "BillingCurrency")


def focus_checks(info: SourceInfo, lay: FocusLayout) -> list[Check]:
    """Return the checks for a FOCUS file: types, ChargeCategory, billing period, keys."""
    exprs = typed_expressions(info, lay)
    checks = [
        _type_check(name, raw, typed) for name, (raw, typed) in exprs.items() if _is_typed(name)
    ]
    category = exprs["ChargeCategory"][1]
    allowed = ", ".join(quote_literal(v) for v in sorted(CHARGE_CATEGORIES))
    checks.append(
        Check(
            column="ChargeCategory",
            condition=f"({category} IS NULL OR {category} NOT IN ({allowed}))",
            shown=convert.clean_text(exprs["ChargeCategory"][0]),
            message="unknown ChargeCategory value {value!r}",
            expected=f"one of {', '.join(sorted(CHARGE_CATEGORIES))}",
            fix="correct the value; FOCUS 1.2 allows only these (refunds keep their category "
            "and set ChargeClass=Correction).",
        )
    )
    checks.append(
        Check(
            column="BillingPeriodStart",
            condition=f"{exprs['BillingPeriodStart'][1]} IS NULL",
            shown="NULL",
            message="the row has no billing period",
            expected="BillingPeriodStart as a UTC date/time, e.g. 2026-10-01T00:00:00Z",
            fix="fill BillingPeriodStart; every row must belong to a billing period.",
        )
    )
    for key in _NON_NULL_KEYS:
        if key in exprs:
            checks.append(
                Check(
                    column=key,
                    condition=f"{exprs[key][1]} IS NULL",
                    shown="NULL",
                    message=f"{key} is empty",
                    expected=f"a {key} on every row (FOCUS: not null)",
                    fix=f"fill {key}, or drop the column and pass --{_flag(key)} "
                    "for the whole file.",
                )
            )
    return checks


def _is_typed(name: str) -> bool:
    col = COLUMNS_BY_NAME.get(name)
    return col is not None and col.data_type in (DataType.DECIMAL, DataType.DATETIME)


def _type_check(name: str, raw: str, typed: str) -> Check:
    if COLUMNS_BY_NAME[name].data_type is DataType.DECIMAL:
        return Check(
            column=name,
            condition=convert.failed(raw, typed),
            shown=raw,
            message="{value!r} is not a number",
            expected="a plain decimal such as 12.5 or -0.0004 (or 1.2E-7)",
            fix="remove text, units and currency words from the cost columns; "
            "keep '.' as the decimal point.",
        )
    return Check(
        column=name,
        condition=convert.failed(raw, typed),
        shown=raw,
        message="{value!r} is not a date/time",
        expected="ISO 8601 UTC such as 2026-10-01T00:00:00Z",
        fix="write dates as ISO 8601 (YYYY-MM-DDTHH:MM:SSZ).",
    )


def _flag(key: str) -> str:
    return {
        "ProviderName": "provider",
        "BillingAccountId": "billing-account",
        "BillingCurrency": "currency",
    }[key]
