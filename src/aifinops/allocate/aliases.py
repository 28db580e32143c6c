"""Tag keys across clouds: one normalised spelling, and a tag's value read from the Tags JSON.

Tags is a JSON object held as text. Its keys differ by cloud for the same meaning: AWS
``user:Team`` (legacy CUR) or ``user_team`` (CUR 2.0), Azure ``Team`` or `` team`` (with a
leading space), GCP ``team``; :mod:`aifinops.allocate.keys` defines when two keys are the
same key.

The value is read with one regular expression per key over the JSON text. It only starts at
a quote that follows ``{`` or ``,`` (and whitespace), which in valid JSON always opens a key:
inside a string every quote is escaped, so quotes and backslashes in values never confuse
it. It runs the same on DuckDB (RE2) and Spark (Java): no look-arounds, no back-references,
no ``(?i)`` (whose Unicode folding differs between the two), and no ``\\s`` (whose meaning
differs too).

NOTE: Ibis's JSON operations do not compile on the PySpark backend, which is why this reads
the text instead of parsing it.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from aifinops.allocate.keys import SEPARATORS, normalise_key

_SEP = "[-_ ]*"
_WS = r"[ \t\n\r]*"
#: A JSON string holding a non-space character; group 1 is its text from that character on.
_FILLED = r'" *((?:[^" \\]|\\.)[^"\\]*(?:\\.[^"\\]*)*)"'
_USER_PREFIX = f"(?:[uU]{_SEP}[sS]{_SEP}[eE]{_SEP}[rR]{_SEP}(?::{_SEP})?)?"


def _char_pattern(ch: str) -> str:
    if ch in string.ascii_letters:
        return f"[{ch.lower()}{ch.upper()}]"
    if ch in string.digits:
        return ch
    if ch == "/":
        # NOTE: JSON may escape a slash as \/; both spellings are the same key.
        return r"(?:/|\\/)"
    # Every other character by code point: the one escape RE2 and Java read alike.
    return f"\\x{{{ord(ch):x}}}"


def key_pattern(key: str) -> str:
    """Return the regular expression of a JSON key (without quotes) that matches ``key``."""
    chars = normalise_key(key)
    return _SEP + _USER_PREFIX + "".join(_char_pattern(ch) + _SEP for ch in chars)


def value_pattern(key: str) -> str:
    """Return the pattern whose group 1 is the first non-blank string value of ``key``.

    Group 1 is the JSON text between the quotes, leading spaces skipped. Values that are
    numbers, true, false or null are not read: every cloud writes tag values as strings.
    """
    # NOTE: walking the pairs from the opening brace is exact too, but three times slower;
    # starting at a key's quote after "{" or "," is enough (see the module docstring).
    return f'[{{,]{_WS}"{key_pattern(key)}"{_WS}:{_WS}{_FILLED}'


def raw_value(
    tags: ir.StringValue, key: str, *, folded: ir.StringValue | None = None
) -> ir.StringValue:
    """Return the raw JSON token of tag ``key`` (null when absent or blank).

    Args:
        tags: the Tags column.
        key: the tag key.
        folded: :func:`folded_keys` of ``tags``, computed once per row; when given, the
            regular expression runs only on rows whose folded text can hold the key.
    """
    if folded is not None:
        # NOTE: nulling the text, rather than a CASE around the search, keeps DuckDB from
        # copying every found value through the CASE: half the time on common keys.
        tags = ibis.cases((folded.contains(key_hint(key)), tags), else_=ibis.null(str))
    return tags.re_extract(value_pattern(key), 1).nullif("")


def folded_keys(tags: ir.StringValue) -> ir.StringValue:
    """Return ``tags`` lower-cased without separators: a cheap pre-filter for key searches.

    A key that matches ``key`` is ASCII, so here it reads ``...<normalised key>"``; the
    values are mangled too, which only lets through rows the exact search then rejects.
    """
    folded = tags.lower()
    for sep in SEPARATORS:
        folded = folded.replace(sep, "")
    return folded


def key_hint(key: str) -> str:
    """Return text that :func:`folded_keys` holds wherever tag ``key`` is present."""
    # NOTE: JSON may write "/" as "\/", so only the part after the last slash is certain.
    return normalise_key(key).rsplit("/", 1)[-1] + '"'


def decode(raw: ir.StringValue) -> ir.StringValue:
    """Turn :func:`raw_value` text into the tag's value: trailing spaces gone, escapes read.

    ``\\"``, ``\\/`` and ``\\\\`` are decoded; the rarer ``\\n``, ``\\t`` and ``\\uXXXX`` stay
    as written (a portable SQL expression cannot decode them).
    """
    # NOTE: JSON string text holds no raw tab or newline, so rstrip() trims only spaces; the
    # cheap tests first spare most rows the string copies.
    text = ibis.cases((raw.endswith(" "), raw.rstrip()), else_=raw)
    # NOTE: the order matters. In valid JSON a quote or slash after a backslash that is the
    # second half of an escaped backslash cannot be an escape; decoding \" and \/ before \\
    # keeps those halves paired left to right, which the hypothesis tests prove out.
    unescaped = text.replace('\\"', '"').replace("\\/", "/").replace("\\\\", "\\")
    return ibis.cases((text.contains("\\"), unescaped), else_=text)


def tag_value(tags: ir.StringValue, keys: str | Sequence[str]) -> ir.StringValue:
    """Return the text of the first of ``keys`` present (and not blank) in ``tags``.

    Args:
        tags: the Tags column (JSON object text).
        keys: one key, or keys in order of preference.
    """
    names = [keys] if isinstance(keys, str) else list(keys)
    if not names:
        return ibis.null(str)
    raws = [raw_value(tags, name) for name in names]
    return decode(ibis.coalesce(*raws) if len(raws) > 1 else raws[0])
