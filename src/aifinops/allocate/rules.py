"""Match conditions as Ibis predicates, and the order rules are tried in.

A condition reads a lake column or a tag (``tag:<key>``, matched like the tag aliases: case,
``-``/``_``/space and the AWS ``user:`` prefix do not matter). Every operator of a condition,
and every condition of a match, must hold. A row where the value is null matches only
``missing: true``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Protocol

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from aifinops.allocate.aliases import tag_value
from aifinops.allocate.config import TAG_PREFIX, Condition, Rule, Scalar, lake_columns


class Matcher(Protocol):
    """Anything with a name and match conditions: a rule or a shared pool."""

    @property
    def name(self) -> str: ...

    @property
    def match(self) -> Mapping[str, Condition]: ...


#: Values of tag conditions, computed once per row and shared by every rule that reads them.
TagValues = Mapping[str, ir.StringValue]


def ordered(rules: Iterable[Rule]) -> list[Rule]:
    """Return rules in the order they are tried: smaller ``priority`` first, then file order."""
    return [r for _, r in sorted(enumerate(rules), key=lambda pair: (pair[1].priority, pair[0]))]


def tag_keys(matches: Iterable[Mapping[str, Condition]]) -> list[str]:
    """Return the distinct ``tag:<key>`` keys the matches read, in first-seen order."""
    keys: dict[str, None] = {}
    for match in matches:
        for name in match:
            if name.startswith(TAG_PREFIX):
                keys.setdefault(name.removeprefix(TAG_PREFIX), None)
    return list(keys)


def tag_values(t: ir.Table, keys: Iterable[str]) -> dict[str, ir.StringValue]:
    """Return each key's tag value over ``t.Tags`` (null when the table has no Tags)."""
    tags = t.Tags if "Tags" in t.columns else ibis.null(str)
    return {key: tag_value(tags, key) for key in keys}


def matched_rules(t: ir.Table, rules: Iterable[Matcher]) -> dict[str, ir.BooleanValue]:
    """Return each rule's (or pool's) predicate over ``t``, by name."""
    chosen = list(rules)
    keys = tag_values(t, tag_keys(r.match for r in chosen))
    return {r.name: predicate(t, r.match, keys) for r in chosen}


def predicate(
    t: ir.Table,
    match: Mapping[str, Condition],
    tags: TagValues,
    *,
    columns: Mapping[str, ir.Value] | None = None,
) -> ir.BooleanValue:
    """Return the row predicate of ``match`` (true for an empty match); never null.

    Args:
        t: the rows.
        match: column or ``tag:<key>`` → condition.
        tags: each tag key's value (see :func:`tag_values`).
        columns: values to read instead of some of ``t``'s columns.
    """
    swapped = columns or {}
    parts = [
        _condition(swapped[name] if name in swapped else _operand(t, name, tags), cond)
        for name, cond in match.items()
    ]
    combined: ir.BooleanValue = ibis.literal(True)
    for part in parts:
        combined = combined & part
    return combined.fill_null(False)


def _operand(t: ir.Table, name: str, tags: TagValues) -> ir.Value:
    if name.startswith(TAG_PREFIX):
        return tags[name.removeprefix(TAG_PREFIX)]
    if name in t.columns:
        return t[name]
    # NOTE: older lakes lack newer x_ columns; a missing column reads as null.
    return ibis.null(dt.from_pyarrow(lake_columns()[name]))


def _condition(value: ir.Value, cond: Condition) -> ir.BooleanValue:
    parts: list[ir.BooleanValue] = []
    if cond.missing is not None:
        parts.append(value.isnull() if cond.missing else value.notnull())
    if cond.equals is not None:
        parts.append(value == _literal(value, cond.equals))
    if cond.in_ is not None:
        parts.append(value.isin([_literal(value, v) for v in cond.in_]))
    if cond.regex is not None:
        parts.append(value.cast(str).re_search(cond.regex))
    if cond.prefix is not None:
        parts.append(value.cast(str).startswith(cond.prefix))
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined


def _literal(column: ir.Value, value: Scalar) -> ir.Value:
    kind = column.type()
    if kind.is_boolean():
        return ibis.literal(bool(value))
    if kind.is_decimal():
        return ibis.literal(Decimal(str(value)), type=kind)
    if isinstance(value, bool):
        return ibis.literal("true" if value else "false")
    return ibis.literal(str(value))
