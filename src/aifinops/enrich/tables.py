"""The catalog facts enrichment joins with, as Ibis tables.

Enrichment runs in two places: inside the ingest's DuckDB staging query (compiled to SQL, the
facts registered as named tables in that session) and through an analysis engine over the
lake (the facts as in-memory tables). :class:`FactTables` serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from aifinops.catalog import Catalog
from aifinops.focus.columns import DECIMAL_TYPE
from aifinops.lake.engine import Engine

#: Names of the fact tables when they are registered in a DuckDB session.
INSTANCES_TABLE = "aifinops_catalog_instances"
GRID_TABLE = "aifinops_catalog_grid"
ACCELERATORS_TABLE = "aifinops_catalog_accelerators"


@dataclass(frozen=True)
class FactTables:
    """The catalog's instance, accelerator and grid tables (and the catalog itself)."""

    catalog: Catalog
    instances: ir.Table
    accelerators: ir.Table
    grid: ir.Table

    @classmethod
    def on_engine(cls, engine: Engine, catalog: Catalog) -> FactTables:
        """Return fact tables registered on an analysis engine (DuckDB or PySpark)."""
        tables = arrow_tables(catalog)
        return cls(catalog, *(engine.table(n, tables[n]) for n in _NAMES))

    @classmethod
    def named(cls, catalog: Catalog) -> FactTables:
        """Return unbound tables named as :func:`arrow_tables` names them."""
        tables = arrow_tables(catalog)
        return cls(
            catalog,
            *(ibis.table(ibis.schema(tables[n].schema), name=n) for n in _NAMES),
        )


_NAMES = (INSTANCES_TABLE, ACCELERATORS_TABLE, GRID_TABLE)


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
