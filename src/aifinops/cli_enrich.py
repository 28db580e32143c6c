"""``aifinops enrich``: enrich a lake again with the current catalog and rules."""

from __future__ import annotations

from aifinops.cli_options import FormatOpt, LakeOpt
from aifinops.cli_output import check_format, emit, errors, progress_bar
from aifinops.settings import load_settings


def enrich(lake: LakeOpt = None, fmt: FormatOpt = "table") -> None:
    """Rewrite every partition with the current catalog, workload rules and allocation
    (costs never change; each partition is replaced atomically)."""
    from aifinops.enrich.cache import enrichment_for
    from aifinops.enrich.relake import enrich_lake
    from aifinops.lake import Lake

    with errors():
        check_format(fmt)
        settings = load_settings(lake=lake)
        target = Lake.open(settings.lake, create=False)
        compiled = enrichment_for(settings)
        with progress_bar(fmt == "table") as progress:
            manifests = enrich_lake(
                target, compiled, memory_limit=settings.ingest_memory, progress=progress
            )
    rows = [
        {
            "provider": m.provider_name,
            "billing_account": m.billing_account_id,
            "billing_period": m.billing_period,
            "rows": m.row_count,
            "effective_cost": m.effective_cost,
        }
        for m in manifests
    ]
    emit(
        rows,
        ["provider", "billing_account", "billing_period", "rows", "effective_cost"],
        fmt,
        title=f"Enriched {len(rows)} partition(s) of {target.root}",
    )
