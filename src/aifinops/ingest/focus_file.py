"""Reader for files already in FOCUS (1.0, 1.1 or 1.2; CSV, CSV.gz or Parquet).

The reader maps the file's headers to FOCUS 1.2 names (renames from older versions, case and
BOM differences), detects the version, and builds one SQL projection that yields rows in the
lake schema: typed, with value spellings fixed and FOCUS 1.2 columns missing from older
versions filled where the spec allows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aifinops.errors import BadInputError
from aifinops.focus import lake_schema
from aifinops.focus.columns import COLUMNS_BY_NAME, RENAMES, VALUE_SPELLINGS, DataType
from aifinops.focus.extensions import EXTENSIONS_BY_NAME
from aifinops.ingest import convert
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import ReadPlan

#: A FOCUS file must have at least these columns (after renames).
REQUIRED = ("BilledCost", "ChargeCategory", "ChargePeriodStart", "BillingPeriodStart")
_V12_MARKERS = frozenset(
    {
        "BillingAccountType",
        "SubAccountType",
        "InvoiceId",
        "PricingCurrency",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
    }
)
_V11_MARKERS = frozenset(
    {
        "ServiceSubcategory",
        "SkuMeter",
        "SkuPriceDetails",
        "CapacityReservationId",
        "CapacityReservationStatus",
        "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit",
    }
)
#: Columns our ingest fills itself; a source's own values for them are ignored.
_SET_BY_INGEST = frozenset(
    {
        "x_SourceFormat",
        "x_SourceVersion",
        "x_SourceFile",
        "x_SourceExtras",
        "x_IngestedAt",
    }
)
_KNOWN = {name.lower(): name for name in (*COLUMNS_BY_NAME, *EXTENSIONS_BY_NAME)}


@dataclass(frozen=True)
class FocusLayout:
    """How a file's columns map onto the lake: canonical name -> source column."""

    mapping: dict[str, str]
    extras: tuple[str, ...]
    version: str
    renamed: tuple[tuple[str, str], ...]

    @property
    def format_name(self) -> str:
        """Return the format label recorded in ``x_SourceFormat``."""
        return f"focus-{self.version}"


def layout(info: SourceInfo) -> FocusLayout | None:
    """Return how ``info``'s columns map to FOCUS, or None when it is not a FOCUS file."""
    mapping: dict[str, str] = {}
    extras: list[str] = []
    renamed: list[tuple[str, str]] = []
    for raw in info.columns:
        name = raw.lstrip("\ufeff").strip()
        canonical = _KNOWN.get(name.lower()) or RENAMES.get(name)
        if canonical is None or canonical in mapping or canonical in _SET_BY_INGEST:
            extras.append(raw)
            continue
        if canonical != name:
            renamed.append((name, canonical))
        mapping[canonical] = raw
    if not all(col in mapping for col in REQUIRED):
        return None
    return FocusLayout(mapping, tuple(extras), _version(mapping, renamed), tuple(renamed))


def missing_required(info: SourceInfo) -> list[str]:
    """Return the required FOCUS columns that ``info`` lacks (for error messages)."""
    names = {c.lstrip("\ufeff").strip().lower() for c in info.columns}
    names |= {RENAMES[c].lower() for c in info.columns if c in RENAMES}
    return [c for c in REQUIRED if c.lower() not in names]


def _version(mapping: dict[str, str], renamed: list[tuple[str, str]]) -> str:
    if any(old in RENAMES for old, _new in renamed):
        return "1.0-preview"
    present = frozenset(mapping)
    if present & _V12_MARKERS:
        return "1.2"
    if present & _V11_MARKERS:
        return "1.1"
    return "1.0"


def typed_expressions(info: SourceInfo, lay: FocusLayout) -> dict[str, tuple[str, str]]:
    """Return, per converted column, (raw SQL, typed SQL) for the columns the file has."""
    types = dict(zip(info.columns, info.column_types, strict=True))
    exprs: dict[str, tuple[str, str]] = {}
    for canonical, source in lay.mapping.items():
        raw = quote_ident(source)
        exprs[canonical] = (raw, _typed(canonical, raw, types[source]))
    return exprs


def _typed(canonical: str, raw: str, source_type: str) -> str:
    target = lake_schema().field(canonical).type
    col = COLUMNS_BY_NAME.get(canonical)
    if col is not None and col.data_type is DataType.DATETIME:
        if source_type.startswith(("timestamp", "date")):
            return convert.typed_timestamp(raw)
        return convert.to_timestamp(raw)
    if col is not None and col.data_type is DataType.DECIMAL:
        return convert.to_decimal(raw)
    if (
        col is not None
        and col.data_type is DataType.JSON
        and source_type.startswith(("map", "struct"))
    ):
        # NOTE: AWS's FOCUS exports (Data Exports, Parquet) store Tags as a MAP; FOCUS wants
        # one JSON object. An empty map is no tags (null), not "{}".
        return (
            f"(CASE WHEN cardinality({raw}) > 0 THEN CAST(to_json({raw}) AS VARCHAR) END)"
            if source_type.startswith("map")
            else f"CAST(to_json({raw}) AS VARCHAR)"
        )
    if canonical in VALUE_SPELLINGS:
        return convert.to_enum(raw, canonical)
    if str(target) == "bool":
        return f"TRY_CAST({convert.clean_text(raw)} AS BOOLEAN)"
    if str(target).startswith("decimal"):
        return convert.to_decimal(raw)
    if str(target).startswith("timestamp"):
        return convert.to_timestamp(raw)
    return convert.clean_text(raw)


def projection(
    info: SourceInfo,
    lay: FocusLayout,
    *,
    fallbacks: dict[str, str],
    overrides: Mapping[str, str] | None = None,
) -> str:
    """Return the SELECT list (no FROM) that yields lake-schema rows from the raw scan.

    Args:
        info: the sniffed file.
        lay: its column layout.
        fallbacks: values for mandatory columns the file lacks (ProviderName, ...).
        overrides: lake column -> SQL replacing the generic value (used by readers of
            providers' own FOCUS exports that patch known provider bugs).
    """
    exprs = typed_expressions(info, lay)
    fixed = overrides or {}
    items = []
    for field in lake_schema():
        value = fixed.get(field.name) or _value_for(field.name, exprs, lay, info, fallbacks)
        typed = convert.sql_type(str(field.type))
        items.append(f"CAST({value} AS {typed}) AS {quote_ident(field.name)}")
    return ",\n  ".join(items)


def _value_for(
    name: str,
    exprs: dict[str, tuple[str, str]],
    lay: FocusLayout,
    info: SourceInfo,
    fallbacks: dict[str, str],
) -> str:
    if name in exprs:
        typed = exprs[name][1]
        if name == "ServiceSubcategory":
            return f"COALESCE({typed}, {_subcategory_default(exprs)})"
        return typed
    fixed = {
        "x_SourceFormat": quote_literal(f"{lay.format_name}-{info.kind}"),
        "x_SourceVersion": quote_literal(lay.version),
        "x_SourceFile": quote_literal(str(info.path)),
        "x_SourceExtras": _extras_json(lay.extras),
        "x_IngestedAt": "NULL",
    }
    if name in fixed:
        return fixed[name]
    if name in fallbacks:
        return quote_literal(fallbacks[name])
    if name == "ServiceSubcategory":
        return _subcategory_default(exprs)
    return "NULL"


def _subcategory_default(exprs: dict[str, tuple[str, str]]) -> str:
    # NOTE: FOCUS 1.0 has no ServiceSubcategory; 1.2 recommends it and allows
    # "Other (<ServiceCategory>)" for any service, so upgraded rows get that.
    if "ServiceCategory" not in exprs:
        return "NULL"
    return f"('Other (' || {exprs['ServiceCategory'][1]} || ')')"


def _extras_json(extras: tuple[str, ...]) -> str:
    if not extras:
        return "NULL"
    pairs = ", ".join(
        f"{quote_literal(c.lstrip(chr(0xFEFF)).strip())}, CAST({quote_ident(c)} AS VARCHAR)"
        for c in extras
    )
    return f"CAST(json_object({pairs}) AS VARCHAR)"


class FocusReader:
    """Files already in FOCUS 1.0, 1.1 or 1.2 (CSV, CSV.gz, Parquet), upgraded to 1.2."""

    name = "focus"
    description = (
        "FOCUS 1.0-1.2 CSV/CSV.gz/Parquet with at least " + ", ".join(REQUIRED) + " columns"
    )
    provides = frozenset(c.name for c in COLUMNS_BY_NAME.values())

    def detect(self, info: SourceInfo) -> bool:
        """Return True when the header maps onto FOCUS with every required column."""
        return layout(info) is not None

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return the read of a FOCUS file: header mapping, conversions and checks.

        Raises:
            BadInputError: when the file lacks a required FOCUS column.
        """
        from aifinops.ingest.checks import focus_checks
        from aifinops.ingest.readers import ReadPlan
        from aifinops.ingest.scan import scan_sql

        del run_files
        lay = layout(info)
        if lay is None:
            missing = ", ".join(missing_required(info))
            raise BadInputError(
                f"not a FOCUS file (missing columns {missing})",
                file=str(info.path),
                row=0,
                expected=f"a header with at least {', '.join(REQUIRED)}",
                fix="export the data as FOCUS, or let aifinops detect the format "
                "(leave out --format); see docs/ingest.md.",
            )
        notes = [
            f"no {column} column: rows filed under {value!r}"
            for column, value in fallbacks.items()
            if column not in lay.mapping
        ]
        return ReadPlan(
            format_name=f"{lay.format_name}-{info.kind}",
            version=lay.version,
            scan=scan_sql(info),
            select=projection(info, lay, fallbacks=dict(fallbacks)),
            checks=focus_checks(info, lay),
            notes=notes,
        )
