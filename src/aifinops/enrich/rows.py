"""The enrichment expression: accelerator facts, then workload, then energy."""

from __future__ import annotations

import ibis.expr.types as ir

from aifinops.enrich.accelerators import with_accelerators
from aifinops.enrich.config import EnrichConfig
from aifinops.enrich.energy import with_energy
from aifinops.enrich.tables import FactTables
from aifinops.enrich.workload import with_workload


def enrich(t: ir.Table, facts: FactTables, config: EnrichConfig | None = None) -> ir.Table:
    """Return ``t`` (lake schema) with the accelerator, workload and energy columns filled.

    Every other column, and the column order, stay as they are.
    """
    chosen = config or EnrichConfig()
    enriched = with_energy(with_workload(with_accelerators(t, facts), chosen), facts, chosen)
    return enriched.select(*t.columns)
