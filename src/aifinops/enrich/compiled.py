"""Enrichment compiled to DuckDB SQL, for the ingest's staging write and for ``enrich``.

The ingest runs on embedded DuckDB and streams each file once; the enrichment expression is
compiled once per run and wrapped around the reader's query, so rows are enriched as they
are written (no second pass). The catalog's fact tables are registered in the session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from aifinops.catalog import Catalog, load_catalog
from aifinops.enrich.config import EnrichConfig
from aifinops.enrich.rows import enrich
from aifinops.enrich.tables import FactTables, arrow_tables
from aifinops.focus import lake_schema
from aifinops.lake.duck import DuckSession

#: Name the wrapped query's rows go by inside the compiled SQL.
ROWS = "aifinops_focus_rows"

#: Further steps after enrichment (allocation), as Ibis table transforms.
Step = Callable[[ir.Table], ir.Table]


@dataclass(frozen=True)
class CompiledEnrichment:
    """Enrichment as SQL over :data:`ROWS`, and the fact tables that SQL joins with."""

    sql: str
    tables: dict[str, pa.Table]

    def register(self, session: DuckSession) -> None:
        """Expose the fact tables to ``session``."""
        for name, table in self.tables.items():
            session.register(name, table)

    def wrap(self, query: str) -> str:
        """Return SQL of ``query``'s rows (lake schema), enriched."""
        return f"WITH {ROWS} AS ({query}) SELECT * FROM ({self.sql})"


def compile_enrichment(
    catalog: Catalog | None = None,
    config: EnrichConfig | None = None,
    *,
    steps: tuple[Step, ...] = (),
) -> CompiledEnrichment:
    """Compile :func:`aifinops.enrich.enrich` (then ``steps``) to DuckDB SQL over :data:`ROWS`."""
    chosen = catalog or load_catalog()
    rows = ibis.table(ibis.schema(lake_schema()), name=ROWS)
    expr = enrich(rows, FactTables.named(chosen), config)
    for step in steps:
        expr = step(expr)
    sql = ibis.to_sql(expr.select(*rows.columns), dialect="duckdb")
    return CompiledEnrichment(str(sql), arrow_tables(chosen))
