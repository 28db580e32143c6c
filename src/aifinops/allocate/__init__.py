"""Allocation: whose each cost is (tag aliases, rules), shared-cost splits and tag coverage.

Everything is an Ibis expression over the cost table, so DuckDB and PySpark give the same
answer; only :func:`split_shared` finishes in Python, with exact Decimal arithmetic.
``docs/allocation.md`` documents the config and the guarantees.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aifinops.allocate.aliases import tag_value
    from aifinops.allocate.config import (
        OWNER_COLUMNS,
        AllocationConfig,
        Condition,
        Rule,
        SharedPool,
        load_allocation_config,
    )
    from aifinops.allocate.coverage import tag_coverage, untagged_spenders
    from aifinops.allocate.dryrun import dry_run, rule_summary, summary_rows
    from aifinops.allocate.keys import keys_match, normalise_key
    from aifinops.allocate.ownership import RULE_COLUMN, owners
    from aifinops.allocate.shared import (
        OwnerCost,
        PoolCost,
        SharedCosts,
        split_exact,
        split_shared,
    )

# NOTE: loaded on first use: the settings import the config models, and the expressions
# (Ibis) would cost every command a second of start-up.
_HOMES = {
    "tag_value": "aliases",
    "OWNER_COLUMNS": "config",
    "AllocationConfig": "config",
    "Condition": "config",
    "Rule": "config",
    "SharedPool": "config",
    "load_allocation_config": "config",
    "tag_coverage": "coverage",
    "untagged_spenders": "coverage",
    "dry_run": "dryrun",
    "rule_summary": "dryrun",
    "summary_rows": "dryrun",
    "keys_match": "keys",
    "normalise_key": "keys",
    "RULE_COLUMN": "ownership",
    "owners": "ownership",
    "OwnerCost": "shared",
    "PoolCost": "shared",
    "SharedCosts": "shared",
    "split_exact": "shared",
    "split_shared": "shared",
}
__all__ = [
    "OWNER_COLUMNS",
    "RULE_COLUMN",
    "AllocationConfig",
    "Condition",
    "OwnerCost",
    "PoolCost",
    "Rule",
    "SharedCosts",
    "SharedPool",
    "dry_run",
    "keys_match",
    "load_allocation_config",
    "normalise_key",
    "owners",
    "rule_summary",
    "split_exact",
    "split_shared",
    "summary_rows",
    "tag_coverage",
    "tag_value",
    "untagged_spenders",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"aifinops.allocate.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
