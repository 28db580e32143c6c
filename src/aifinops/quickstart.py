"""The demo: generate the fictional company's exports and load them into a lake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aifinops.demo import DemoResult, generate
from aifinops.errors import LakeError
from aifinops.ingest.pipeline import IngestReport, ingest
from aifinops.lake.store import Lake


@dataclass(frozen=True)
class DemoBuild:
    """The generated files and what ingesting them did."""

    demo: DemoResult
    ingest: IngestReport


def build_demo(
    out_dir: Path,
    lake: Lake,
    *,
    seed: int = 7,
    scale: float = 1.0,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoBuild:
    """Generate the demo company into ``out_dir`` and ingest its FOCUS truth into ``lake``.

    Until the native readers exist the lake is loaded from the FOCUS truth files; the
    native exports are written beside them.

    Raises:
        LakeError: when the lake's totals do not equal the generator's (a bug, never input).
    """

    def gen_progress(done: int, total: int) -> None:
        if progress:
            progress("generate", done, total)

    demo = generate(out_dir, seed=seed, scale=scale, progress=gen_progress)
    report = ingest(demo.truth_files, lake, progress=progress)
    for part in report.partitions:
        expected = demo.totals.get(
            (part.provider_name, part.billing_account_id, part.key.billing_period)
        )
        if expected is not None and expected != (part.billed_cost, part.effective_cost):
            raise LakeError(
                f"demo partition {part.key.label()} does not reconcile: "
                f"{part.billed_cost}/{part.effective_cost} vs {expected}"
            )
    return DemoBuild(demo, report)
