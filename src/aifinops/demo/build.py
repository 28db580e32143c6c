"""Generate the Nimbus Labs demo: FOCUS truth, labels, native exports, metrics and stories.

Generation walks the demo day by day and provider by provider, streaming every charge to
append-only sinks, so memory stays flat whatever the ``scale``.
"""

from __future__ import annotations

import logging
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from aifinops.demo.aws_cur2 import CUR2_SCHEMA, cur2_rows
from aifinops.demo.azure_ea import EA_HEADER, ea_rows
from aifinops.demo.charges import ZERO, Charge
from aifinops.demo.commitments import Ledger
from aifinops.demo.company import (
    GCP_BILLING,
    MONTHS,
    PROVIDER_NAMES,
    PROVIDERS,
    days,
    hours_per_period,
)
from aifinops.demo.fleet import roster
from aifinops.demo.gcp_bq import bq_line
from aifinops.demo.signals import Signals
from aifinops.demo.stories import StoryBook
from aifinops.demo.truth import LABELS_SCHEMA, TRUTH_SCHEMA, truth_rows
from aifinops.demo.usage import UsageState, provider_day, provider_period_hours
from aifinops.demo.writer import CsvSink, LineSink, ParquetSink

log = logging.getLogger(__name__)

Totals = dict[tuple[str, str, str], tuple[Decimal, Decimal]]
_OUTPUTS = ("focus", "labels", "aws", "azure", "gcp", "metrics", "telemetry", "stories.json")


@dataclass
class DemoResult:
    """What :func:`generate` wrote, and the truth's totals per provider, account and month."""

    out_dir: Path
    truth_files: list[Path] = field(default_factory=list)
    label_files: list[Path] = field(default_factory=list)
    native_files: dict[str, list[Path]] = field(default_factory=dict)
    metrics_file: Path | None = None
    telemetry_file: Path | None = None
    stories_file: Path | None = None
    rows: int = 0
    totals: Totals = field(default_factory=dict)


class _MonthSinks:
    """Every file of one billing month, one set per provider."""

    def __init__(self, out_dir: Path, month: str) -> None:
        digits = month.replace("-", "")
        self.truth = {
            p: ParquetSink(out_dir / "focus" / f"{p}-{month}.parquet", TRUTH_SCHEMA)
            for p in PROVIDERS
        }
        self.labels = {
            p: ParquetSink(out_dir / "labels" / f"{p}-{month}.parquet", LABELS_SCHEMA)
            for p in PROVIDERS
        }
        cur_dir = out_dir / "aws" / "nimbus-cur2" / "data" / f"BILLING_PERIOD={month}"
        self.cur = ParquetSink(
            cur_dir / "nimbus-cur2-00001.snappy.parquet", CUR2_SCHEMA, compression="snappy"
        )
        azure = out_dir / "azure"
        self.actual = CsvSink(
            azure / "actual" / f"nimbus-ea-actual_{digits}.csv", EA_HEADER, bom=True, crlf=True
        )
        self.amortized = CsvSink(
            azure / "amortized" / f"nimbus-ea-amortized_{digits}.csv",
            EA_HEADER,
            bom=True,
            crlf=True,
        )
        table = f"gcp_billing_export_resource_v1_{GCP_BILLING.replace('-', '_')}"
        self.gcp = LineSink(out_dir / "gcp" / table / f"{digits}.jsonl")

    def write_native(self, charge: Charge) -> None:
        if charge.provider == "aws":
            for row in cur2_rows(charge):
                self.cur.write(row)
        elif charge.provider == "azure":
            actual, amortized = ea_rows(charge)
            if actual is not None:
                self.actual.write(actual)
            if amortized is not None:
                self.amortized.write(amortized)
        else:
            self.gcp.write(bq_line(charge))

    def close(self, result: DemoResult) -> None:
        for p in PROVIDERS:
            self.truth[p].close()
            self.labels[p].close()
            result.truth_files.append(self.truth[p].path)
            result.label_files.append(self.labels[p].path)
        for sink, provider in (
            (self.cur, "aws"),
            (self.actual, "azure"),
            (self.amortized, "azure"),
            (self.gcp, "gcp"),
        ):
            sink.close()
            result.native_files[provider].append(sink.path)


def _clean(out_dir: Path) -> None:
    """Remove earlier demo outputs (only the paths this module writes)."""
    for name in _OUTPUTS:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    scale: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Generate the Nimbus Labs demo company under ``out_dir``.

    Args:
        out_dir: folder to write to (created; earlier demo outputs in it are replaced).
        seed: random seed; the same seed and scale give byte-identical files.
        scale: row volume multiplier (1.0 is about 50k truth rows; 0.05 a few thousand).
        progress: called with (days done, days in total) after each generated day.

    Returns:
        The files written, the truth row count and ΣBilledCost/ΣEffectiveCost per
        (ProviderName, BillingAccountId, billing month).

    Raises:
        ValueError: when ``scale`` is not positive.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    result = DemoResult(out_dir=out_dir, native_files={p: [] for p in PROVIDERS})
    period = hours_per_period(scale)
    resources = roster(scale)
    ledgers = {
        p: Ledger(p, period_hours=provider_period_hours(p, period), roster=resources[p])
        for p in PROVIDERS
    }
    states = {p: UsageState(seed=seed) for p in PROVIDERS}
    sums: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    book = StoryBook()
    signals = Signals(out_dir, seed=seed, scale=scale, period_hours=period)
    all_days = days()
    done = 0
    for month in MONTHS:
        sinks = _MonthSinks(out_dir, month)
        for day in (d for d in all_days if f"{d:%Y-%m}" == month):
            for p in PROVIDERS:
                for charge in provider_day(
                    p,
                    day,
                    roster=resources[p],
                    ledger=ledgers[p],
                    period_hours=period,
                    state=states[p],
                ):
                    result.rows += _write(charge, sinks, sums, book)
            signals.write_day([r for p in PROVIDERS for r in resources[p]], day)
            done += 1
            if progress is not None:
                progress(done, len(all_days))
        sinks.close(result)
        log.info("demo month %s written (%d truth rows so far)", month, result.rows)
    result.metrics_file, result.telemetry_file = signals.close()
    result.stories_file = book.write(out_dir / "stories.json")
    result.totals = {k: (v[0], v[1]) for k, v in sorted(sums.items())}
    return result


def _write(
    charge: Charge,
    sinks: _MonthSinks,
    sums: dict[tuple[str, str, str], list[Decimal]],
    book: StoryBook,
) -> int:
    rows = truth_rows(charge)
    for focus, labels in rows:
        sinks.truth[charge.provider].write(focus)
        sinks.labels[charge.provider].write(labels)
        key = (PROVIDER_NAMES[charge.provider], focus["BillingAccountId"], charge.month)
        sums[key][0] += focus["BilledCost"]
        sums[key][1] += focus["EffectiveCost"]
        if labels["x_Story"]:
            book.add(labels["x_Story"], focus)
    sinks.write_native(charge)
    return len(rows)
