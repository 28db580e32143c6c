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
    missing = {r.id for r in checked if r.kind is Kind.SCHEMA and r.column not in columns}
    violations = [
        _violation(rule, counts.get(rule.id, rows), table, predicates.get(rule.id), execute, sample)
        for rule in checked
        if rule.id in missing or counts.get(rule.id, 0) > 0
    ]
    return ValidationReport(rows, violations, skipped)


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


def _violation(
    rule: Rule,
    count: int,
    table: ibis.Table,
    predicate: Predicate | None,
    execute: Execute,
    sample: int,
) -> Violation:
    examples = [] if predicate is None else _examples(table, rule, predicate, execute, sample)
    return Violation(rule.id, rule.column, rule.severity, rule.description, count, examples)


def _examples(
    table: ibis.Table, rule: Rule, predicate: Predicate, execute: Execute, sample: int
) -> list[dict[str, Any]]:
    """Fetch up to ``sample`` violating rows, ordered so every engine returns the same ones."""
    if sample <= 0:
        return []
    wanted = dict.fromkeys((*EXAMPLE_COLUMNS, rule.column))
    columns = [c for c in wanted if c in table.columns]
    expr = (
        table.filter(predicate(table).fill_null(False))
        .select(columns)
        .order_by([ibis.asc(c, nulls_first=False) for c in columns])
        .limit(sample)
    )
    rows: list[dict[str, Any]] = execute(expr).to_pylist()
    return rows


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
