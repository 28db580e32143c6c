"""Property tests of the SQL value conversions every reader uses (exact, never rounded)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.ingest.convert import to_decimal
from aifinops.lake.duck import DuckSession

#: Values DECIMAL(38,18) holds: up to 20 integer digits and 18 fraction digits.
AMOUNTS = st.decimals(
    min_value=Decimal("-99999999999999999999.999999999999999999"),
    max_value=Decimal("99999999999999999999.999999999999999999"),
    places=18,
    allow_nan=False,
    allow_infinity=False,
)
SPELLINGS = st.sampled_from(
    ["plain", "exponent", "small exponent", "lower exponent", "trailing zeros", "spaces"]
)


def spell(value: Decimal, how: str) -> str:
    """Return ``value`` as a billing export might write it."""
    if how.endswith("exponent"):
        # NOTE: built from the digits: Decimal.normalize() rounds to the context's 28 digits.
        sign, digits, exponent = value.as_tuple()
        mantissa = "".join(map(str, digits)).rstrip("0") or "0"
        power = int(exponent) + len(digits) - 1
        if how == "small exponent":  # AWS's style: 1.81E-8 (a short mantissa)
            mantissa = mantissa[: max(1, min(4, 19 + power))]
            return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"
        mark = "e" if how == "lower exponent" else "E"
        return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}{mark}{power:+d}"
    if how == "trailing zeros":
        return f"{value:f}" + ("0" if "." in f"{value:f}" else ".0")
    if how == "spaces":
        return f" {value:f} "
    return f"{value:f}"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(AMOUNTS, SPELLINGS), min_size=1, max_size=40))
def test_to_decimal_is_exact_for_every_spelling(values: list[tuple[Decimal, str]]) -> None:
    # The 64-bit fast path must never round: every value comes back exactly.
    texts = [spell(v, how) for v, how in values]
    with DuckSession() as db:
        got = db.rows(
            f"SELECT {to_decimal('x')} FROM unnest(?) WITH ORDINALITY AS t(x, i) ORDER BY i",
            [texts],
        )
    # Expected: the exact value of each text (a shortened mantissa is a different value).
    assert [row[0] for row in got] == [Decimal(t.strip()) for t in texts], texts
