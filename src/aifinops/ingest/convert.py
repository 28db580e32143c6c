"""SQL expressions that turn raw text values into FOCUS-typed values (DuckDB dialect).

Each builder takes the SQL of a raw value (text) and returns the SQL of the typed value, or
NULL where the raw value is empty. A raw value that is present but cannot be converted also
gives NULL; :func:`failed` builds the test that finds such rows so ingest can name them.
"""

from __future__ import annotations

from collections.abc import Mapping

from aifinops.focus import lake_schema
from aifinops.focus.columns import DECIMAL_PRECISION, DECIMAL_SCALE, VALUE_SPELLINGS
from aifinops.lake.duck import quote_ident, quote_literal

DECIMAL_SQL = f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})"
_NULL_WORDS = ("", "NULL", "null", "Null", "None", "N/A")
# Month/day/year layouts seen in spreadsheet round-trips and the FOCUS spec examples.
# Two-digit years first: '%Y' would read '5/1/25' as the year 25.
_US_DATE_FORMATS = (
    "%m/%d/%y",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
)
_HOUR_OVERFLOW = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T(2[4-9]|[3-9][0-9]):[0-5][0-9]:[0-5][0-9]Z?$"
_THOUSANDS = r"^-?\$?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$"


def clean_text(raw: str) -> str:
    """Return SQL giving ``raw`` as text, NULL when empty or a null word."""
    words = ", ".join(quote_literal(w) for w in _NULL_WORDS)
    text = f"CAST({raw} AS VARCHAR)"
    return f"(CASE WHEN trim({text}) IN ({words}) THEN NULL ELSE {text} END)"


def to_decimal(raw: str) -> str:
    """Return SQL converting ``raw`` to the lake's decimal.

    Accepts plain and scientific numbers, a leading ``$`` and thousands separators (as in the
    FOCUS spec's SaaS examples); anything else is a conversion failure.
    """
    # Fast path first: a plain number casts directly; only the rest pays for the regexes
    # (DuckDB evaluates COALESCE arguments only for rows still NULL).
    value = f"CAST({raw} AS VARCHAR)"
    # NOTE: DuckDB parses text into DECIMAL(38,18) (a 128-bit integer) ~25x slower than into
    # DECIMAL(18,9) (64-bit): 0.52 s vs 0.02 s per 300k CUR values. Values with at most 9
    # fraction digits and no exponent take the 64-bit parse and widen exactly; an overflow
    # there gives NULL and falls through to the full parse, so no value is ever rounded.
    short = (
        f"(CASE WHEN strpos({value}, 'e') = 0 AND strpos({value}, 'E') = 0 "
        f"AND length({value}) - strpos({value}, '.') <= 9 "
        f"THEN CAST(TRY_CAST({value} AS DECIMAL(18,9)) AS {DECIMAL_SQL}) END)"
    )
    plain = f"COALESCE({short}, {_exponent(value)}, TRY_CAST({value} AS {DECIMAL_SQL}))"
    text = f"trim({clean_text(raw)})"
    unformatted = (
        f"(CASE WHEN regexp_matches({text}, '{_THOUSANDS}') "
        f"THEN replace(replace({text}, ',', ''), '$', '') "
        f"ELSE regexp_replace({text}, '^(-?)\\$', '\\1') END)"
    )
    return f"COALESCE({plain}, TRY_CAST({unformatted} AS {DECIMAL_SQL}))"


_POWERS_OF_TEN = "[" + ", ".join(f"CAST('{10**i}' AS HUGEINT)" for i in range(19)) + "]"


def _exponent(value: str) -> str:
    """Return SQL reading ``1.81E-8``-style text exactly, or NULL to leave it to the full parse.

    NOTE: DuckDB parses exponent notation into DECIMAL(38,18) very slowly (1.7 µs a value;
    AWS writes most tiny prices so). Here the mantissa's digits are a BIGINT, shifted by a
    power of ten to 18 decimals: exact, and 10x faster. Mantissas over 18 digits or
    exponents that would need rounding give NULL, and the full parse decides.
    """
    at = f"strpos(upper({value}), 'E')"
    mantissa = f"substr({value}, 1, {at} - 1)"
    power = f"TRY_CAST(substr({value}, {at} + 1) AS INTEGER)"
    point = f"strpos({mantissa}, '.')"
    fraction = f"(CASE WHEN {point} > 0 THEN length({mantissa}) - {point} ELSE 0 END)"
    shift = f"(18 + {power} - {fraction})"
    digits = f"TRY_CAST(replace({mantissa}, '.', '') AS BIGINT)"
    return (
        f"(CASE WHEN {at} > 0 AND {shift} BETWEEN 0 AND 18 THEN "
        f"CAST(CAST({digits} * {_POWERS_OF_TEN}[{shift} + 1] AS DECIMAL(38,0)) "
        f"* CAST('1e-18' AS DECIMAL(19,18)) AS {DECIMAL_SQL}) END)"
    )


def to_timestamp(raw: str) -> str:
    """Return SQL converting ``raw`` to a UTC timestamp.

    ISO 8601 with or without ``T``, ``Z`` or an offset; naive values are taken as UTC (the
    session runs in UTC); month/day/year layouts from spreadsheet round-trips are accepted.
    """
    value = f"CAST({raw} AS VARCHAR)"
    text = f"trim({value})"
    formats = "[" + ", ".join(quote_literal(f) for f in _US_DATE_FORMATS) + "]"
    # NOTE: DuckDB's own cast reads '5/1/25' as the year 5, so slashed dates never reach it.
    # NOTE: the FOCUS 1.2 spec's own purchase_scenario_2/3 examples write hours past 24
    # ('2023-02-01T30:00:00Z'); such hours roll over into the next day.
    rollover = (
        f"(CAST(substr({text}, 1, 10) AS TIMESTAMPTZ) "
        f"+ to_hours(CAST(substr({text}, 12, 2) AS INTEGER)) "
        f"+ to_minutes(CAST(substr({text}, 15, 2) AS INTEGER)) "
        f"+ to_seconds(CAST(substr({text}, 18, 2) AS INTEGER)))"
    )
    overflow = f"(CASE WHEN regexp_matches({text}, '{_HOUR_OVERFLOW}') THEN {rollover} END)"
    # NOTE: fast path for the common MM/DD/YYYY (Azure EA): trying the format list in order
    # made EA dates the costliest conversion of an Azure read.
    slashed = (
        f"COALESCE(CASE WHEN length({text}) = 10 THEN TRY_STRPTIME({text}, '%m/%d/%Y') END, "
        f"TRY_STRPTIME({text}, {formats}))"
    )
    return (
        f"(CASE WHEN contains({value}, '/') "
        f"THEN CAST({slashed} AS TIMESTAMPTZ) "
        f"ELSE COALESCE(TRY_CAST({value} AS TIMESTAMPTZ), {overflow}) END)"
    )


def typed_timestamp(raw: str) -> str:
    """Return SQL for a column that is already a timestamp (Parquet): naive means UTC."""
    return f"CAST({raw} AS TIMESTAMPTZ)"


def to_enum(raw: str, column: str) -> str:
    """Return SQL mapping known spellings of ``column``'s values to the spec's spelling."""
    text = clean_text(raw)
    spellings = VALUE_SPELLINGS.get(column)
    if not spellings:
        return text
    cases = " ".join(
        f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in sorted(spellings.items())
    )
    return f"(CASE lower(trim({text})) {cases} ELSE {text} END)"


def failed(raw: str, converted: str) -> str:
    """Return SQL that is true where ``raw`` holds a value but ``converted`` is NULL."""
    return f"({clean_text(raw)} IS NOT NULL AND {converted} IS NULL)"


def sql_type(arrow_type: str) -> str:
    """Return the DuckDB type of a lake column's Arrow type name."""
    if arrow_type.startswith("decimal"):
        return DECIMAL_SQL
    if arrow_type.startswith("timestamp"):
        return "TIMESTAMPTZ"
    return {"bool": "BOOLEAN", "int64": "BIGINT"}.get(arrow_type, "VARCHAR")


def select_list(values: Mapping[str, str]) -> str:
    """Return the lake-schema SELECT list, NULL for every column not in ``values``."""
    return ",\n  ".join(
        f"CAST({values.get(f.name, 'NULL')} AS {sql_type(str(f.type))}) AS {quote_ident(f.name)}"
        for f in lake_schema()
    )
