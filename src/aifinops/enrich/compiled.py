"""Enrichment compiled to DuckDB SQL, for the ingest's staging write and for ``enrich``.

The ingest runs on embedded DuckDB and streams each file once; the enrichment expression is
compiled once per run and wrapped around the reader's query, so rows are enriched as they
are written (no second pass). The catalog's fact tables are registered in the session.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pyarrow as pa

from aifinops.allocate.config import AllocationConfig
from aifinops.allocate.ownership import owners
from aifinops.catalog import Catalog, load_catalog
from aifinops.enrich.config import EnrichConfig
from aifinops.enrich.rows import enrich
from aifinops.enrich.tables import FactTables, arrow_tables
from aifinops.focus import lake_schema
from aifinops.lake.duck import DuckSession
from aifinops.settings import Settings

#: Name the wrapped query's rows go by inside the compiled SQL.
ROWS = "aifinops_focus_rows"


@dataclass(frozen=True)
class CompiledEnrichment:
    """Enrichment as SQL over :data:`ROWS`, and the fact tables that SQL joins with."""

    sql: str
    tables: dict[str, pa.Table]

    def register(self, session: DuckSession) -> None:
        """Expose the fact tables to ``session`` and keep them on the build side of joins.

        NOTE: a CSV scan behind the ingest's checks is estimated at a handful of rows, so
        DuckDB's build-side optimizer hashed the whole file instead of the 227-row catalog
        (out of memory at 1M rows). With it off, each LEFT JOIN builds on the catalog.
        """
        session.execute("SET disabled_optimizers = 'build_side_probe_side'")
        for name, table in self.tables.items():
            session.register(name, table)

    def wrap(self, query: str) -> str:
        """Return SQL of ``query``'s rows (lake schema), enriched."""
        return f"WITH {ROWS} AS NOT MATERIALIZED ({query}) SELECT * FROM ({self.sql})"


def compile_enrichment(
    catalog: Catalog | None = None,
    config: EnrichConfig | None = None,
    allocation: AllocationConfig | None = None,
) -> CompiledEnrichment:
    """Compile enrichment, then allocation (tag aliases and rules, which may match on the
    enriched columns), to DuckDB SQL over :data:`ROWS`."""
    chosen = catalog or load_catalog()
    rows = ibis.table(ibis.schema(lake_schema()), name=ROWS)
    expr = owners(enrich(rows, FactTables.named(chosen), config), allocation or AllocationConfig())
    sql = ibis.to_sql(expr.select(*rows.columns), dialect="duckdb")
    return CompiledEnrichment(str(sql), arrow_tables(chosen))


def enrichment_for(settings: Settings) -> CompiledEnrichment:
    """Compile the enrichment the settings ask for: their catalog directory (when it
    exists), price overrides, ``enrich:`` rules and ``allocation:`` rules."""
    directory = settings.catalog if settings.catalog.is_dir() else None
    catalog = load_catalog(directory).with_overrides(settings.price_overrides)
    return compile_enrichment(catalog, settings.enrich, settings.allocation)
