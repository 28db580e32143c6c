"""Generate the Nimbus Labs demo: FOCUS truth, labels, native exports, metrics and stories.

Generation walks the demo day by day and provider by provider, streaming every charge to
append-only sinks, so memory stays flat whatever the ``scale``. From scale 1 up it runs in two
processes: AWS and Azure in this one; Google Cloud, the metrics and the telemetry in a child.
Each file is written by one process in a fixed order, so the output does not depend on timing.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aifinops.demo.commitments import Ledger
from aifinops.demo.company import PROVIDERS, days, hours_per_period
from aifinops.demo.fleet import roster
from aifinops.demo.signals import Signals
from aifinops.demo.sinks import MonthSinks, Templates, Totals, Written, month_days, write_charge
from aifinops.demo.stories import StoryBook
from aifinops.demo.usage import UsageState, provider_day, provider_period_hours

log = logging.getLogger(__name__)

_OUTPUTS = (
    "focus", "labels", "aws", "azure", "gcp", "metrics", "telemetry", "mlruns", "stories.json",
)  # fmt: skip
#: From this scale up, generation runs in two processes (below, start-up costs more).
PARALLEL_FROM_SCALE = 1.0
Progress = Callable[[int, int], None]


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


@dataclass(frozen=True)
class _Part:
    """What one process generates."""

    out_dir: Path
    seed: int
    scale: float
    days: list[datetime]
    providers: tuple[str, ...]
    signals: bool


def _clean(out_dir: Path) -> None:
    """Remove earlier demo outputs (only the paths this module writes)."""
    for name in _OUTPUTS:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _run(part: _Part, progress: Progress | None = None) -> tuple[Written, StoryBook]:
    """Generate ``part`` and return what it wrote and its story rows."""
    period = hours_per_period(part.scale)
    resources = roster(part.scale)
    ledgers = {
        p: Ledger(p, period_hours=provider_period_hours(p, period), roster=resources[p])
        for p in part.providers
    }
    states = {p: UsageState(seed=part.seed) for p in part.providers}
    templates, book, written = Templates(), StoryBook(), Written()
    signals = None
    if part.signals:
        signals = Signals(part.out_dir, seed=part.seed, scale=part.scale, period_hours=period)
    fleet = [r for p in PROVIDERS for r in resources[p]]
    done = 0
    for month, month_of_days in month_days(part.days):
        sinks = MonthSinks(part.out_dir, month, part.providers)
        for day in month_of_days:
            for p in part.providers:
                for charge in provider_day(
                    p, day, roster=resources[p], ledger=ledgers[p], period_hours=period,
                    state=states[p],
                ):  # fmt: skip
                    written.rows += write_charge(charge, sinks, templates, book)
            if signals is not None:
                signals.write_day(fleet, day)
            done += 1
            if progress is not None:
                progress(done, len(part.days))
        sinks.close(written)
        log.info("demo month %s written (%d truth rows so far)", month, written.rows)
    if signals is not None:
        written.signal_files = signals.close()
    written.totals = templates.totals()
    return written, book


def _parts(out_dir: Path, seed: int, scale: float, workers: int) -> list[_Part]:
    all_days = days()
    if workers <= 1:
        return [_Part(out_dir, seed, scale, all_days, PROVIDERS, True)]
    return [
        _Part(out_dir, seed, scale, all_days, ("aws", "azure"), False),
        _Part(out_dir, seed, scale, all_days, ("gcp",), True),
    ]


def _run_parts(parts: list[_Part], progress: Progress | None) -> list[tuple[Written, StoryBook]]:
    if len(parts) == 1:
        return [_run(parts[0], progress)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(parts) - 1, mp_context=context) as pool:
        others = [pool.submit(_run, p) for p in parts[1:]]
        mine = _run(parts[0], progress)
        return [mine, *(f.result() for f in others)]


def _merge(result: DemoResult, written: list[tuple[Written, StoryBook]]) -> StoryBook:
    book = StoryBook()
    for part, part_book in written:
        result.truth_files += part.truth_files
        result.label_files += part.label_files
        for provider, files in part.native_files.items():
            result.native_files[provider] += files
        result.rows += part.rows
        result.totals.update(part.totals)
        if part.signal_files:
            result.metrics_file, result.telemetry_file = part.signal_files
        book.merge(part_book)

    def order(path: Path) -> tuple[str, int]:
        provider, month = path.stem.split("-", 1)
        return month, PROVIDERS.index(provider)

    result.truth_files.sort(key=order)
    result.label_files.sort(key=order)
    result.totals = dict(sorted(result.totals.items()))
    return book


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    scale: float = 1.0,
    progress: Progress | None = None,
    workers: int | None = None,
) -> DemoResult:
    """Generate the Nimbus Labs demo company under ``out_dir``.

    Args:
        out_dir: folder to write to (created; earlier demo outputs in it are replaced).
        seed: random seed; the same seed and scale give byte-identical files.
        scale: row volume multiplier: about 52,000 truth rows per unit from scale 1 up
            (see ``docs/demo.md``); 0.05 gives a few thousand.
        progress: called with (days done, days in total) after each generated day.
        workers: processes to use, 1 or 2 (default: 2 from scale 1 up). The output is the
            same either way.

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
    if workers is None:
        workers = 2 if scale >= PARALLEL_FROM_SCALE else 1
    result = DemoResult(out_dir=out_dir, native_files={p: [] for p in PROVIDERS})
    book = _merge(result, _run_parts(_parts(out_dir, seed, scale, workers), progress))
    result.stories_file = book.write(out_dir / "stories.json")
    return result
