"""The catalog facts enrichment joins with, as Ibis tables.

Enrichment runs in two places: inside the ingest's DuckDB staging query (compiled to SQL, the
facts registered as named tables in that session) and through an analysis engine over the
lake (the facts registered on that engine). :class:`FactTables` serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from aifinops.catalog import Catalog
from aifinops.enrich.facts import NAMES, arrow_tables
from aifinops.lake.engine import Engine


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
        return cls(catalog, *(engine.table(n, tables[n]) for n in NAMES))

    @classmethod
    def named(cls, catalog: Catalog) -> FactTables:
        """Return unbound tables named as :func:`arrow_tables` names them."""
        tables = arrow_tables(catalog)
        return cls(
            catalog,
            *(ibis.table(ibis.schema(tables[n].schema), name=n) for n in NAMES),
        )
