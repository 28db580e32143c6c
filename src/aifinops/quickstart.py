"""The demo: generate the fictional company's exports and load them into a lake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aifinops.demo import DemoResult, generate
from aifinops.errors import LakeError
from aifinops.ingest.pipeline import IngestReport, ingest
from aifinops.lake.store import Lake
from aifinops.signals.store import SignalManifest

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
    signals: tuple[SignalManifest, ...] = ()


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
    return DemoBuild(demo, report, import_demo_signals(demo, lake, seed=seed, scale=scale))


def import_demo_signals(
    demo: DemoResult, lake: Lake, *, seed: int = 7, scale: float = 1.0
) -> tuple[SignalManifest, ...]:
    """Import the demo's usage metrics, GPU telemetry and MLflow runs into ``lake``.

    The same readers as ``aifinops import metrics|telemetry|runs``. Runs need MLflow
    (``aifinops[mlflow]``); without it the demo has none.
    """
    from aifinops.signals.metrics_files import read_metrics
    from aifinops.signals.store import write_signal
    from aifinops.signals.telemetry_files import read_telemetry

    written = []
    if demo.metrics_file is not None:
        data = read_metrics(demo.metrics_file)
        written.append(write_signal(lake, "metrics", demo.metrics_file.name, data,
                                    files=[demo.metrics_file]))  # fmt: skip
    if demo.telemetry_file is not None:
        data = read_telemetry(demo.telemetry_file)
        written.append(write_signal(lake, "telemetry", demo.telemetry_file.name, data,
                                    files=[demo.telemetry_file]))  # fmt: skip
    written += _import_demo_runs(demo.out_dir, lake, seed=seed, scale=scale)
    return tuple(written)


def _import_demo_runs(
    out_dir: Path, lake: Lake, *, seed: int, scale: float
) -> list[SignalManifest]:
    """Log the demo's runs into ``out_dir/mlruns`` and import them (nothing without MLflow)."""
    from aifinops.demo.runs import write_runs
    from aifinops.signals.store import write_signal

    store = out_dir / "mlruns"  # the generator cleared it with its other outputs
    if write_runs(store, seed=seed, scale=scale) is None:
        return []
    from aifinops.signals.mlflow_runs import read_runs, tracking_store_uri

    runs, metrics = read_runs(tracking_store_uri(store))
    return [
        write_signal(lake, "runs", "mlflow-demo", runs),
        write_signal(lake, "run_metrics", "mlflow-demo", metrics),
    ]
