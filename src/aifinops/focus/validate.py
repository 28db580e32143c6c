"""Validate a cost table against the pinned FOCUS 1.2 rules, inside the engine.

:func:`validate` takes an Ibis table (usually ``engine.costs()``) and the engine's ``execute``
function. It checks the schema in Python, counts every row rule in ONE aggregation query,
parses the JSON columns once per distinct value, and then fetches a few example rows only for
the rules that failed. Nothing here is backend-specific, so DuckDB and PySpark give the same
report. The rules themselves live in :mod:`aifinops.focus.rules`; see ``docs/validation.md``.

Example::

    engine = connect(lake)
    report = validate(engine.costs(), execute=engine.execute)
    if not report.ok:
        ...  # report.to_rows() for a table, JSON or CSV
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from aifinops.focus.rules import RULES, Kind, Predicate, Rule, Severity

log = logging.getLogger(__name__)

#: Runs an Ibis expression and returns an Arrow table, e.g. :meth:`Engine.execute`.
Execute = Callable[[ibis.Expr], pa.Table]

#: Columns shown in every example row (when the table has them), before the rule's column.
EXAMPLE_COLUMNS: tuple[str, ...] = (
    "x_SourceFile",
    "ProviderName",
    "BillingAccountId",
    "ChargePeriodStart",
    "ResourceId",
)

_ROWS = "rows_checked"
_RULE = "validation_rule"


@dataclass(frozen=True)
class Violation:
    """One broken rule: which, where, how bad, on how many rows, and a few examples.

    Attributes:
        rule: the rule id, e.g. ``BilledCost-not-null``.
        column: the FOCUS column the rule is about.
        severity: ``error`` or ``warning``.
        description: what a valid row looks like.
        count: rows that break the rule (for a missing column: every row checked).
        examples: up to ``sample`` rows, each with :data:`EXAMPLE_COLUMNS` and the column.
    """

    rule: str
    column: str
    severity: Severity
    description: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_row(self) -> dict[str, Any]:
        """Return the violation as one flat row; ``examples`` becomes a JSON string."""
        return {
            "rule": self.rule,
            "column": self.column,
            "severity": str(self.severity),
            "count": self.count,
            "description": self.description,
            "examples": json.dumps(self.examples, default=str, separators=(",", ":")),
        }


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate` found.

    Attributes:
        rows_checked: rows in the table.
        violations: one entry per broken rule, in :data:`RULES` order.
        skipped: ids of rules not checked because a column they read is missing.
    """

    rows_checked: int
    violations: list[Violation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when no error-severity rule is broken (warnings are allowed)."""
        return not any(v.severity is Severity.ERROR for v in self.violations)

    def errors(self) -> list[Violation]:
        """Return the error-severity violations."""
        return [v for v in self.violations if v.severity is Severity.ERROR]

    def to_rows(self) -> list[dict[str, Any]]:
        """Return one flat dict per violation, ready for a table, JSON or CSV."""
        return [v.to_row() for v in self.violations]


def validate(table: ibis.Table, *, execute: Execute, sample: int = 5) -> ValidationReport:
    """Check ``table`` against every FOCUS 1.2 rule in :data:`RULES`.

    Args:
        table: the cost rows, in the lake's schema (extra ``x_`` or FOCUS 1.3 columns are fine).
        execute: runs an Ibis expression and returns Arrow, e.g. ``engine.execute``.
        sample: how many example rows to fetch per broken rule (0 for none).

    Returns:
        The report; broken rules are data, nothing is printed or raised.
    """
    columns = frozenset(table.columns)
    checked = [r for r in RULES if r.kind is Kind.SCHEMA or r.needs <= columns]
    skipped = [r.id for r in RULES if r.kind is not Kind.SCHEMA and not r.needs <= columns]
    if skipped:
        log.debug("Skipping %d rules whose columns are missing: %s", len(skipped), skipped)
    rows, counts = _count_rows(table, [r for r in checked if r.kind is Kind.ROW], execute)
    predicates = {r.id: r.violates for r in checked if r.violates is not None}
    for rule in checked:
        if rule.kind is Kind.JSON:
            counts[rule.id], predicates[rule.id] = _check_json(table, rule.column, execute, sample)
    # A missing mandatory column is reported even on an empty table; its count is every row.
    failed = [
        rule
        for rule in checked
        if counts.get(rule.id, 0) > 0 or (rule.kind is Kind.SCHEMA and rule.column not in columns)
    ]
    with_rows = [(r, predicates[r.id]) for r in failed if r.id in predicates]
    examples = _examples(table, with_rows, execute, sample)
    violations = [_violation(r, counts.get(r.id, rows), examples.get(r.id, [])) for r in failed]
    return ValidationReport(rows, violations, skipped)


def _violation(rule: Rule, count: int, examples: list[dict[str, Any]]) -> Violation:
    return Violation(rule.id, rule.column, rule.severity, rule.description, count, examples)


def _count_rows(
    table: ibis.Table, rules: Iterable[Rule], execute: Execute
) -> tuple[int, dict[str, int]]:
    """Count the rows and the violating rows of every row rule, in one aggregation query."""
    keys = {f"r{i}": rule for i, rule in enumerate(rules)}
    metrics = {key: _violates(rule, table).ifelse(1, 0).sum() for key, rule in keys.items()}
    result = execute(table.aggregate(**{_ROWS: table.count()}, **metrics)).to_pylist()
    values = result[0] if result else {}
    counts = {rule.id: int(values.get(key) or 0) for key, rule in keys.items()}
    return int(values.get(_ROWS) or 0), counts


def _violates(rule: Rule, table: ibis.Table) -> ibis.expr.types.BooleanValue:
    """Return the rule's predicate with null (unknown) read as 'not violated'."""
    assert rule.violates is not None  # only row rules get here
    return rule.violates(table).fill_null(False)


def _check_json(
    table: ibis.Table, name: str, execute: Execute, sample: int
) -> tuple[int, Predicate]:
    """Count rows whose ``name`` is not a valid FOCUS key-value JSON object.

    JSON parsing is not portable across Ibis backends, so this reads each distinct value
    once (with its row count) and parses it in Python.

    Returns:
        The number of violating rows, and a predicate matching a few of the bad values.
    """
    values = table.filter(table[name].notnull()).group_by(name).aggregate(n=ibis._.count())
    bad = [
        (row[name], int(row["n"]))
        for row in execute(values).to_pylist()
        if not is_key_value_object(row[name])
    ]
    shown = sorted(value for value, _ in bad)[: max(sample, 1)]
    return sum(n for _, n in bad), lambda t: t[name].isin(shown)


def is_key_value_object(text: str) -> bool:
    """Return True when ``text`` is a JSON object with unique keys and only scalar values.

    This is the FOCUS KeyValueFormat used by ``Tags`` and ``SkuPriceDetails``.
    """
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except ValueError:
        return False
    if not isinstance(value, dict):
        return False
    return not any(isinstance(v, dict | list) for v in value.values())


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _examples(
    table: ibis.Table, failed: list[tuple[Rule, Predicate]], execute: Execute, sample: int
) -> dict[str, list[dict[str, Any]]]:
    """Fetch up to ``sample`` violating rows per failed rule, all in one UNION ALL query.

    Each branch keeps the first rows in (example columns, rule column) order, so every engine
    picks the same rows; the branches share one schema so they can be unioned.
    """
    if sample <= 0 or not failed:
        return {}
    present = [c for c in EXAMPLE_COLUMNS if c in table.columns]
    shown = list(dict.fromkeys([*present, *(rule.column for rule, _ in failed)]))
    branches = [
        _branch(table, predicate, _ordered_columns(present, rule), sample).select(
            ibis.literal(rule.id).name(_RULE), *shown
        )
        for rule, predicate in failed
    ]
    found: dict[str, list[dict[str, Any]]] = {}
    for row in execute(ibis.union(*branches, distinct=False)).to_pylist():
        found.setdefault(row[_RULE], []).append(row)
    rules = {rule.id: rule for rule, _ in failed}
    return {rid: _tidy(rows, _ordered_columns(present, rules[rid])) for rid, rows in found.items()}


def _ordered_columns(present: list[str], rule: Rule) -> list[str]:
    return list(dict.fromkeys([*present, rule.column]))


def _branch(table: ibis.Table, predicate: Predicate, order: list[str], sample: int) -> ibis.Table:
    keys = [ibis.asc(c, nulls_first=False) for c in order]
    return table.filter(predicate(table).fill_null(False)).order_by(keys).limit(sample)


def _tidy(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """Keep the rule's columns and restore the branch order (a union does not keep it)."""
    picked = [{c: row[c] for c in columns} for row in rows]
    # Nulls last, as in the query; values of one column share a type, so they compare.
    return sorted(
        picked, key=lambda r: [(r[c] is None, 0 if r[c] is None else r[c]) for c in columns]
    )


__all__ = [
    "EXAMPLE_COLUMNS",
    "RULES",
    "Rule",
    "Severity",
    "ValidationReport",
    "Violation",
    "is_key_value_object",
    "validate",
]
