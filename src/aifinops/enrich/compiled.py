"""Enrichment compiled (through Ibis) to DuckDB SQL, for the ingest and for ``enrich``.

The ingest runs on embedded DuckDB and streams each file once; the enrichment expression is
compiled once per run and wrapped around the reader's query, so rows are enriched as they
are written (no second pass). The catalog's fact tables are registered in the session.
"""

from __future__ import annotations

import ibis

from aifinops.allocate.config import AllocationConfig
from aifinops.allocate.ownership import owners
from aifinops.catalog import Catalog, load_catalog
from aifinops.enrich.config import EnrichConfig
from aifinops.enrich.facts import arrow_tables
from aifinops.enrich.rows import enrich
from aifinops.enrich.sql import ROWS, CompiledEnrichment
from aifinops.enrich.tables import FactTables
from aifinops.focus import lake_schema


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
