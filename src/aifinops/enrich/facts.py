"""The catalog facts enrichment joins with, as Arrow tables (no engine needed).

The compiled ingest SQL joins them under the names below; :mod:`aifinops.enrich.tables`
exposes the same tables to an analysis engine.
"""

from __future__ import annotations

import pyarrow as pa

from aifinops.catalog import Catalog
from aifinops.focus.columns import DECIMAL_TYPE

#: Names of the fact tables when they are registered in a DuckDB session.
INSTANCES_TABLE = "aifinops_catalog_instances"
GRID_TABLE = "aifinops_catalog_grid"
ACCELERATORS_TABLE = "aifinops_catalog_accelerators"

NAMES = (INSTANCES_TABLE, ACCELERATORS_TABLE, GRID_TABLE)


def arrow_tables(catalog: Catalog) -> dict[str, pa.Table]:
    """Return the fact tables by the names the compiled SQL joins them under."""
    return {
        INSTANCES_TABLE: instances_arrow(catalog),
        ACCELERATORS_TABLE: accelerators_arrow(catalog),
        GRID_TABLE: grid_arrow(catalog),
    }


def accelerators_arrow(catalog: Catalog) -> pa.Table:
    """Return each accelerator model's kind, memory and power, ``acc_``-prefixed."""
    models = sorted(catalog.accelerators.values(), key=lambda a: a.model)
    dec = DECIMAL_TYPE
    return pa.table(
        {
            "acc_model": pa.array([a.model for a in models], pa.string()),
            "acc_kind": pa.array([a.kind for a in models], pa.string()),
            "acc_memory_gib": pa.array([a.memory_gib for a in models], dec),
            "acc_tdp_watts": pa.array([a.tdp_watts for a in models], dec),
            "acc_idle_watts": pa.array([a.idle_watts for a in models], dec),
        }
    )


def instances_arrow(catalog: Catalog) -> pa.Table:
    """Return the catalog's instance facts with ``cat_``-prefixed columns, one row per key."""
    table = catalog.instances_arrow()
    keep = [
        "cloud",
        "instance_key",
        "accelerator",
        "accelerator_count",
        "accelerator_memory_gib",
        "accelerator_kind",
        "vcpus",
        "memory_gib",
        "tdp_watts",
        "idle_watts",
    ]
    table = table.select(keep)
    return table.rename_columns([f"cat_{name}" for name in keep])


def grid_arrow(catalog: Catalog) -> pa.Table:
    """Return the catalog's grid intensity and PUE per (cloud, region), ``grid_``-prefixed."""
    table = catalog.grid_arrow().select(["cloud", "region", "g_co2e_per_kwh", "pue"])
    return table.rename_columns(["grid_cloud", "grid_region", "grid_g_per_kwh", "grid_pue"])
