"""Enrichment as DuckDB SQL: what the ingest wraps around each staging query.

No Ibis here: a cached compilation (:mod:`aifinops.enrich.cache`) is used without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from aifinops.lake.duck import DuckSession

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
