"""Finishing report rows after the engine has summed: ratios, shares, order, dimension choice.

The engine computes every sum exactly (``decimal128(38, 18)``); DuckDB and Spark then agree
to the last digit. Division is where they would not (each engine picks its own result scale),
so the reports divide here, in Python, from those exact sums, and every engine gives the same
rows. A quotient is exact when it terminates and is rounded half-even to
:data:`RATIO_PLACES` decimal places when it does not (1/3); only the table and Markdown output
round further, for display.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, Inexact, localcontext
from typing import Any

import pyarrow as pa

from aifinops.analyze.spend import DIMENSIONS
from aifinops.errors import BadInputError

#: Decimal places a non-terminating quotient is rounded to (the lake's decimal scale).
RATIO_PLACES = 18
_QUANTUM = Decimal(1).scaleb(-RATIO_PLACES)
_HUNDRED = Decimal(100)

Row = dict[str, Any]
#: Runs an Ibis expression on an engine (``aifinops.lake.Engine.execute``).
Execute = Callable[[Any], pa.Table]


def ratio(
    numerator: Decimal | None, denominator: Decimal | None, *, scale: Decimal | int = 1
) -> Decimal | None:
    """Return ``numerator × scale ÷ denominator``, or None when either is missing or the
    denominator is zero.

    Exact when the quotient terminates (5.376, 1.13323046575342); otherwise (1/3) rounded
    half-even to :data:`RATIO_PLACES` places.
    """
    if numerator is None or denominator is None or denominator == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 80
        ctx.clear_flags()
        quotient = numerator * Decimal(scale) / denominator
        if ctx.flags[Inexact]:
            quotient = quotient.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
        return trimmed(quotient)


def trimmed(value: Decimal) -> Decimal:
    """Return ``value`` without trailing zeros and without an exponent (100, not 1E+2)."""
    if not value:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 80
        short = value.normalize()
        exponent = short.as_tuple().exponent
        return short.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else short


def share_pct(part: Decimal | None, total: Decimal | None) -> Decimal | None:
    """Return ``part`` as a percentage of ``total`` (see :func:`ratio`)."""
    return ratio(part, total, scale=_HUNDRED)


def choose_dimensions(text: str | Sequence[str], allowed: Sequence[str]) -> list[str]:
    """Parse ``team,model`` into dimension names, each one of ``allowed``.

    Raises:
        BadInputError: naming the refused dimension and listing the allowed ones.
    """
    names = [d.strip() for d in (text.split(",") if isinstance(text, str) else text)]
    names = [d for d in names if d]
    for name in names:
        if name not in allowed or name not in DIMENSIONS:
            raise BadInputError(
                f"dimension {name!r} is not offered by this report",
                column="--by",
                expected=f"one or more of {', '.join(allowed)}",
                fix="pick dimensions from the list, comma-separated (docs/reports.md).",
            )
    if len(set(names)) != len(names):
        raise BadInputError(
            f"a dimension is named twice in {', '.join(names)}",
            column="--by",
            expected="each dimension once",
            fix="drop the repeated name.",
        )
    return names


def order_rows(rows: Iterable[Row], measure: str, keys: Sequence[str]) -> list[Row]:
    """Return rows by ``measure``, largest first, then by ``keys`` (empty values last).

    Done here rather than in the engine so that every engine gives the same order: DuckDB
    and Spark sort NULLs at opposite ends.
    """

    def key(row: Row) -> tuple[Any, ...]:
        value = row.get(measure)
        parts: list[Any] = [value is None, -value if value is not None else 0]
        for name in keys:
            item = row.get(name)
            parts.extend((item is None, "" if item is None else str(item)))
        return tuple(parts)

    return sorted(rows, key=key)


def total(rows: Iterable[Row], column: str) -> Decimal | None:
    """Return the exact sum of a column over rows (None when every value is empty)."""
    values = [row[column] for row in rows if row.get(column) is not None]
    if not values:
        return None
    with localcontext() as ctx:
        ctx.prec = 80  # exact: Decimal's default 28 digits would round 38-digit sums
        return sum(values, Decimal(0))
