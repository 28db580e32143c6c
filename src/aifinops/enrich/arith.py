"""Decimal products that DuckDB and Spark compute to the same digits.

DuckDB multiplies DECIMAL(38, 18) by DECIMAL(38, 18) at scale 36 (and overflows past 99);
Spark lowers the scale of a product that does not fit 38 digits. Casting both factors to
bounded types and rounding the product to a fixed scale gives one answer on both.
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.focus.columns import DECIMAL_TYPE

#: The lake's decimal type as an Ibis type.
DEC = ibis.dtype(f"decimal({DECIMAL_TYPE.precision}, {DECIMAL_TYPE.scale})")
_LEFT = ibis.dtype("decimal(28, 12)")
_RIGHT = ibis.dtype("decimal(20, 12)")
#: Fraction digits every product keeps.
SCALE = 12


def product(left: ir.Value, right: ir.Value | Decimal) -> ir.DecimalValue:
    """Return ``left × right`` rounded to :data:`SCALE` digits, as the lake's decimal type."""
    factor = ibis.literal(right, type=_RIGHT) if isinstance(right, Decimal) else right
    exact = left.cast(_LEFT) * factor.cast(_RIGHT)
    return exact.round(SCALE).cast(DEC)
