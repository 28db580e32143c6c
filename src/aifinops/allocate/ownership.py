"""Owner fields (x_Team, x_Project, ...) from tag aliases, the source and allocation rules.

For each owner field the first of these that gives a value wins:

1. a rule with ``override: true`` that sets the field and matches the row (rules in
   :func:`~aifinops.allocate.rules.ordered` order);
2. the value the row already had from its source file (kept, labelled ``source:<field>``);
3. the field's tag aliases, in order (labelled ``tag:<alias>``);
4. a rule with ``override: false`` that sets the field and matches the row.

``x_AllocationRule`` lists the distinct labels that decided the row's fields, in field order,
joined by ``;`` (e.g. ``tag:team;tag:project;rule:gpu-sandbox``), or is null when nothing did.
Running :func:`owners` again on its own output gives the same output: values it derived are
derived again; only those labelled ``source:<field>`` are kept as the source's.

Rule conditions on owner columns read the source's values (as in step 2), never values a
previous run derived. The expression is built in stages (fold the Tags text, read the tag
keys, match the rules, decide, join the labels) so each regular expression runs once a row.
"""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import ibis.expr.types as ir

from aifinops.allocate.aliases import decode, folded_keys, raw_value
from aifinops.allocate.config import OWNER_COLUMNS, AllocationConfig
from aifinops.allocate.rules import ordered, predicate, tag_keys

RULE_COLUMN = "x_AllocationRule"
_TMP = "__alloc_"
_FOLDED = f"{_TMP}folded"


def owners(t: ir.Table, config: AllocationConfig) -> ir.Table:
    """Return ``t`` with the owner fields and ``x_AllocationRule`` filled.

    Every other column is unchanged; owner columns missing from ``t`` are added. The
    expression compiles to DuckDB SQL (``ibis.to_sql(expr, dialect="duckdb")``) and runs
    on PySpark alike.

    Args:
        t: cost rows with at least ``Tags`` (missing columns read as null).
        config: tag aliases and rules.
    """
    plan = _Plan(config)
    tags = t.Tags if "Tags" in t.columns else ibis.null(str)
    staged = t.mutate(**{_FOLDED: folded_keys(tags)})
    staged = staged.mutate(**plan.raws(staged))
    staged = staged.mutate(**plan.facts(staged))
    decided = staged.mutate(**plan.decide(staged))
    labels = [decided[f"{_TMP}label_{f}"] for f in OWNER_COLUMNS]
    finished = decided.mutate(
        **{col: decided[f"{_TMP}value_{f}"] for f, col in OWNER_COLUMNS.items()},
        **{RULE_COLUMN: joined_labels(labels, plan.may_repeat())},
    )
    return finished.drop(*[c for c in finished.columns if c.startswith(_TMP)])


class _Plan:
    """The temporary columns of one :func:`owners` expression, and what each field reads."""

    def __init__(self, config: AllocationConfig) -> None:
        self.config = config
        self.rules = ordered(config.rules)
        self.tag_keys = tag_keys(r.match for r in self.rules)
        self.aliases = {f: config.aliases(f) for f in OWNER_COLUMNS}

    def raws(self, t: ir.Table) -> dict[str, ir.Value]:
        """Return the raw text of every tag key read: each alias, each rule's tag keys."""
        tags = t.Tags if "Tags" in t.columns else ibis.null(str)
        temps: dict[str, ir.Value] = {}
        for field in OWNER_COLUMNS:
            for i, alias in enumerate(self.aliases[field]):
                temps[f"{_TMP}raw_{field}_{i}"] = raw_value(tags, alias, folded=t[_FOLDED])
        for i, key in enumerate(self.tag_keys):
            temps[f"{_TMP}key_{i}"] = raw_value(tags, key, folded=t[_FOLDED])
        return temps

    def facts(self, s: ir.Table) -> dict[str, ir.Value]:
        """Return the per-row facts: the values the source gave, and which rules match."""
        prior = s[RULE_COLUMN] if RULE_COLUMN in s.columns else ibis.null(str)
        sources: dict[str, ir.Value] = {}
        for field, column in OWNER_COLUMNS.items():
            existing = s[column] if column in s.columns else ibis.null(str)
            was_source = prior.isnull() | (";" + prior + ";").contains(f";source:{field};")
            sources[column] = ibis.cases((was_source, existing), else_=ibis.null(str))
        keys = {key: decode(s[f"{_TMP}key_{i}"]) for i, key in enumerate(self.tag_keys)}
        temps: dict[str, ir.Value] = {
            f"{_TMP}rule_{i}": predicate(s, r.match, keys, columns=sources)
            for i, r in enumerate(self.rules)
        }
        for field, column in OWNER_COLUMNS.items():
            temps[f"{_TMP}source_{field}"] = sources[column]
        return temps

    def decide(self, s: ir.Table) -> dict[str, ir.Value]:
        """Return each field's value and label, from the staged facts in precedence order."""
        out: dict[str, ir.Value] = {}
        for field in OWNER_COLUMNS:
            raws = [s[f"{_TMP}raw_{field}_{i}"] for i in range(len(self.aliases[field]))]
            source = s[f"{_TMP}source_{field}"]
            branches = [
                *self._rules(s, field, override=True),
                (source.notnull(), source, ibis.literal(f"source:{field}")),
                *[
                    (raw.notnull(), decode(raw), ibis.literal(f"tag:{alias}"))
                    for raw, alias in zip(raws, self.aliases[field], strict=True)
                ],
                *self._rules(s, field, override=False),
            ]
            out[f"{_TMP}value_{field}"] = ibis.cases(*[(c, v) for c, v, _ in branches])
            out[f"{_TMP}label_{field}"] = ibis.cases(*[(c, lab) for c, _, lab in branches])
        return out

    def _rules(
        self, s: ir.Table, field: str, *, override: bool
    ) -> Iterator[tuple[ir.BooleanValue, ir.Value, ir.Value]]:
        for i, rule in enumerate(self.rules):
            value = rule.value(field)
            if rule.override is override and value is not None:
                yield s[f"{_TMP}rule_{i}"], ibis.literal(value), ibis.literal(f"rule:{rule.name}")

    def labels(self, field: str) -> set[str]:
        """Return every label ``field`` can get."""
        rules = {f"rule:{r.name}" for r in self.rules if r.value(field) is not None}
        return {f"source:{field}", *rules, *(f"tag:{a}" for a in self.aliases[field])}

    def may_repeat(self) -> list[list[int]]:
        """Return, per field, the earlier fields whose label it can repeat."""
        fields = list(OWNER_COLUMNS)
        possible = [self.labels(f) for f in fields]
        return [[j for j in range(i) if possible[i] & possible[j]] for i in range(len(fields))]


def joined_labels(labels: list[ir.StringValue], may_repeat: list[list[int]]) -> ir.StringValue:
    """Return the distinct non-null labels, in order, joined by ``;`` (null when none).

    Args:
        labels: each field's label column.
        may_repeat: per label, the earlier labels it can equal (only those are compared).
    """
    distinct: list[ir.StringValue] = []
    for label, earlier in zip(labels, may_repeat, strict=True):
        if earlier:
            seen = ibis.or_(*[labels[j] == label for j in earlier])
            label = ibis.cases((seen.fill_null(False), ibis.null(str)), else_=label)
        distinct.append(label)
    # concat_ws skips nulls on DuckDB and Spark alike.
    return ibis.literal(";").join(distinct).nullif("")
