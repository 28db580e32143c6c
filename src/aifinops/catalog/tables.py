"""The catalog as Arrow tables, for joins in the analysis engines (DuckDB or Spark via Ibis).

Decimals are ``decimal128(38, 18)`` like the lake's (``aifinops.focus.columns.DECIMAL_TYPE``);
keys are lower case, so a join only needs the lake's value lower-cased the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from aifinops.catalog.names import INSTANCE_KEY_ALIASES, price_key
from aifinops.focus.columns import DECIMAL_TYPE

if TYPE_CHECKING:
    from aifinops.catalog.model import Catalog

_SCALE = Decimal(1).scaleb(-18)

INSTANCES_SCHEMA = pa.schema(
    [
        ("cloud", pa.string()),
        ("instance_key", pa.string()),
        ("instance_type", pa.string()),
        ("accelerator", pa.string()),
        ("accelerator_count", DECIMAL_TYPE),
        ("accelerator_memory_gib", DECIMAL_TYPE),
        ("accelerator_kind", pa.string()),
        ("vcpus", pa.int64()),
        ("memory_gib", DECIMAL_TYPE),
        ("tdp_watts", DECIMAL_TYPE),
        ("idle_watts", DECIMAL_TYPE),
    ]
)
SKU_PATTERNS_SCHEMA = pa.schema(
    [
        ("cloud", pa.string()),
        ("pattern", pa.string()),
        ("accelerator", pa.string()),
        ("is_spot", pa.bool_()),
        ("is_commitment", pa.bool_()),
        ("accelerator_kind", pa.string()),
        ("accelerator_memory_gib", DECIMAL_TYPE),
        ("tdp_watts", DECIMAL_TYPE),
        ("idle_watts", DECIMAL_TYPE),
    ]
)
PRICES_SCHEMA = pa.schema(
    [
        ("cloud", pa.string()),
        ("region", pa.string()),
        ("instance_key", pa.string()),
        ("instance_type", pa.string()),
        ("accelerator", pa.string()),
        ("accelerator_count", DECIMAL_TYPE),
        ("term", pa.string()),
        ("usd_per_hour", DECIMAL_TYPE),
        ("usd_per_accelerator_hour", DECIMAL_TYPE),
        ("source", pa.string()),
        ("as_of", pa.date32()),
    ]
)
GRID_SCHEMA = pa.schema(
    [
        ("cloud", pa.string()),
        ("region", pa.string()),
        ("g_co2e_per_kwh", DECIMAL_TYPE),
        ("pue", DECIMAL_TYPE),
        ("kind", pa.string()),
        ("source", pa.string()),
        ("year", pa.int64()),
    ]
)


def instances_table(catalog: Catalog) -> pa.Table:
    """Return one row per instance key, with its accelerator's kind and watts.

    Besides each type's own key, an alias key (an Azure meter name that is not its size name
    with underscores, e.g. ``standard_nd96asr_a100_v4``) gets a row of the type it names.
    """
    keyed = [(item.key, item) for item in catalog.instances.values()]
    for cloud, aliases in INSTANCE_KEY_ALIASES.items():
        for alias, key in sorted(aliases.items()):
            if (cloud, key) in catalog.instances and (cloud, alias) not in catalog.instances:
                keyed.append((alias, catalog.instances[(cloud, key)]))
    rows = []
    for key, item in keyed:
        acc = catalog.accelerators.get(item.accelerator) if item.accelerator else None
        rows.append(
            {
                "cloud": item.cloud,
                "instance_key": key,
                "instance_type": item.instance_type,
                "accelerator": item.accelerator,
                "accelerator_count": _dec(item.accelerator_count),
                "accelerator_memory_gib": _dec(item.accelerator_memory_gib),
                "accelerator_kind": acc.kind if acc else None,
                "vcpus": item.vcpus,
                "memory_gib": _dec(item.memory_gib),
                "tdp_watts": _dec(item.tdp_watts),
                "idle_watts": _dec(item.idle_watts),
            }
        )
    return _table(rows, INSTANCES_SCHEMA)


def sku_patterns_table(catalog: Catalog) -> pa.Table:
    """Return one row per SKU pattern, with its accelerator's kind, memory and watts."""
    rows = []
    for item in catalog.sku_patterns:
        acc = catalog.accelerators[item.accelerator]
        rows.append(
            {
                "cloud": item.cloud,
                "pattern": item.pattern,
                "accelerator": item.accelerator,
                "is_spot": item.is_spot,
                "is_commitment": item.is_commitment,
                "accelerator_kind": acc.kind,
                "accelerator_memory_gib": _dec(acc.memory_gib),
                "tdp_watts": _dec(acc.tdp_watts),
                "idle_watts": _dec(acc.idle_watts),
            }
        )
    return _table(rows, SKU_PATTERNS_SCHEMA)


def prices_table(catalog: Catalog) -> pa.Table:
    """Return one row per price, with USD per accelerator-hour beside USD per instance-hour."""
    rows = [
        {
            "cloud": p.cloud,
            "region": p.region,
            "instance_key": price_key(p.instance_type),
            "instance_type": p.instance_type,
            "accelerator": p.accelerator,
            "accelerator_count": _dec(p.accelerator_count),
            "term": p.term,
            "usd_per_hour": _dec(p.usd_per_hour),
            "usd_per_accelerator_hour": _dec(p.usd_per_accelerator_hour),
            "source": p.source,
            "as_of": p.as_of,
        }
        for p in catalog.prices
    ]
    return _table(rows, PRICES_SCHEMA)


def grid_table(catalog: Catalog) -> pa.Table:
    """Return grid intensity per (cloud, region) with the PUE that applies there."""
    rows = [
        {
            "cloud": g.cloud,
            "region": g.region,
            "g_co2e_per_kwh": _dec(g.g_co2e_per_kwh),
            "pue": _dec(catalog.pue_for(g.cloud, g.region)),
            "kind": g.kind,
            "source": g.source,
            "year": g.year,
        }
        for g in catalog.grid.values()
    ]
    return _table(rows, GRID_SCHEMA)


def _dec(value: Decimal | None) -> Decimal | None:
    # NOTE: 1/6 GPU or a $/GPU-hour may have more than 18 places; Arrow refuses to round.
    if value is None or value.as_tuple().exponent >= -18:  # type: ignore[operator]
        return value
    return value.quantize(_SCALE)


def _table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    columns = {f.name: pa.array([r[f.name] for r in rows], type=f.type) for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)
