"""The demo: generate the fictional company's exports and load them into a lake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aifinops.demo import DemoResult, generate
from aifinops.errors import LakeError
from aifinops.ingest.pipeline import IngestReport, ingest
from aifinops.lake.store import Lake

#: What the demo lake is loaded from: the providers' native exports (as a user's would be)
#: or the generator's FOCUS truth for the same charges.
SOURCES = ("native", "truth")
#: The GCP billing export carries no billing account name; the demo company's is this.
_FALLBACKS = {"BillingAccountName": "Nimbus Labs"}


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
    source: str = "native",
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoBuild:
    """Generate the demo company into ``out_dir`` and ingest it into ``lake``.

    Args:
        out_dir: where the exports go.
        lake: the lake to load.
        seed: same seed, same company.
        scale: row volume multiplier.
        source: ``native`` reads the AWS CUR 2.0, Azure EA and GCP BigQuery exports through
            the native readers; ``truth`` reads the generator's FOCUS 1.2 truth files.
        progress: called with (step, done, total).

    Raises:
        LakeError: when the lake's totals do not equal the generator's (a bug, never input).
    """
    if source not in SOURCES:
        raise LakeError(f"unknown demo source {source!r}; expected one of {', '.join(SOURCES)}")

    def gen_progress(done: int, total: int) -> None:
        if progress:
            progress("generate", done, total)

    demo = generate(out_dir, seed=seed, scale=scale, progress=gen_progress)
    files = (
        demo.truth_files
        if source == "truth"
        else [path for cloud in ("aws", "azure", "gcp") for path in demo.native_files[cloud]]
    )
    report = ingest(files, lake, fallbacks=_FALLBACKS, progress=progress)
    for part in report.partitions:
        expected = demo.totals.get(
            (part.provider_name, part.billing_account_id, part.key.billing_period)
        )
        if expected is None or expected != (part.billed_cost, part.effective_cost):
            raise LakeError(
                f"demo partition {part.key.label()} does not reconcile with the generator's "
                f"truth: {part.billed_cost}/{part.effective_cost} vs {expected}"
            )
    return DemoBuild(demo, report)
