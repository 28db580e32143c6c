"""Enrichment: what each charge bought, for which AI work, and at what energy and carbon.

:func:`enrich` (in :mod:`aifinops.enrich.rows`) is one Ibis expression over lake-schema rows.
The ingest compiles it into its staging query (:mod:`aifinops.enrich.compiled`), so every
row is enriched as it is written; ``aifinops enrich`` runs it again over a lake after the
catalog or the rules change (:mod:`aifinops.enrich.relake`). See ``docs/enrichment.md``.

The config model (:mod:`aifinops.enrich.config`) imports no engine, so settings load fast.
"""

from __future__ import annotations
