"""What the lake holds, partition by partition: rows, totals, sources and freshness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aifinops.lake.store import Lake


def source_rows(lake: Lake, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Return one row per partition with its totals, source files and age.

    ``age_hours`` is the time since the partition was written, so stale exports stand out.
    """
    now = now or datetime.now(UTC)
    rows = []
    for m in lake.manifests():
        ingested = datetime.fromisoformat(m.ingested_at)
        rows.append(
            {
                "provider": m.provider_name,
                "billing_account": m.billing_account_id,
                "billing_period": m.billing_period,
                "currency": m.billing_currency,
                "rows": m.row_count,
                "billed_cost": m.billed_cost,
                "effective_cost": m.effective_cost,
                "formats": ", ".join(sorted({s.format for s in m.sources})),
                "files": len(m.sources),
                "ingested_at": ingested,
                "age_hours": round((now - ingested).total_seconds() / 3600, 1),
            }
        )
    return rows
