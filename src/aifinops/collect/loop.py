"""The sampling loop: a fixed cadence on monotonic deadlines, stopped by time, count or Ctrl-C.

Sample ``n`` is due at ``start + n × interval``: the time a sample takes, or a late wake-up,
does not push the later ones back (sleeping ``interval`` after each sample would drift by
that much every time). A sample that overruns whole periods skips the ticks it missed rather
than catching up in a burst; :attr:`CollectResult.skipped` counts them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from aifinops.collect.sink import Sink
from aifinops.errors import AifinopsError

log = logging.getLogger(__name__)


class Sampler(Protocol):
    """Anything that returns one sample's rows (:class:`~aifinops.collect.nvml.GpuSampler`)."""

    def sample(self) -> pa.Table:
        """Return the rows of one sample."""
        ...


@dataclass(frozen=True)
class CollectResult:
    """How a collection went."""

    samples: int
    rows: int
    skipped: int
    elapsed_s: float
    interrupted: bool


def check_options(interval_s: float, duration_s: float | None, samples: int | None) -> None:
    """Reject an interval, duration or sample count that would sample nothing sensible.

    Raises:
        AifinopsError: naming the option and the value.
    """
    if not interval_s > 0:
        raise AifinopsError(f"--interval must be above 0 seconds, not {interval_s}")
    if duration_s is not None and not duration_s > 0:
        raise AifinopsError(f"--duration must be above 0 seconds, not {duration_s}")
    if samples is not None and samples < 1:
        raise AifinopsError(f"--samples must be 1 or more, not {samples}")


def collect(
    sampler: Sampler,
    *,
    interval_s: float,
    duration_s: float | None = None,
    samples: int | None = None,
    sink: Sink,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_sample: Callable[[pa.Table, int], None] | None = None,
) -> CollectResult:
    """Sample every ``interval_s`` seconds into ``sink`` until told to stop.

    Stops after ``samples`` samples, or once the next one would be due ``duration_s`` or more
    after the first, or on Ctrl-C; with neither limit it runs until Ctrl-C. Whatever way it
    stops, the sink is closed, so what was sampled is written.

    Args:
        sampler: what takes the samples.
        interval_s: seconds between samples.
        duration_s: how long to collect (samples at 0, interval, … while below it).
        samples: how many samples to take.
        sink: where the rows go (closed at the end).
        clock: monotonic seconds (tests pass a fake clock).
        sleep: sleeps that many seconds (tests pass the fake clock's).
        on_sample: called with each sample's rows and its 1-based number (progress,
            the Prometheus endpoint).

    Returns:
        The counts, and whether Ctrl-C ended it.

    Raises:
        AifinopsError: for a non-positive interval or sample count.
    """
    check_options(interval_s, duration_s, samples)
    start = clock()
    taken = rows = skipped = tick = 0
    interrupted = False
    try:
        while _more(tick, taken, interval_s=interval_s, duration_s=duration_s, samples=samples):
            _wait_until(start + tick * interval_s, clock=clock, sleep=sleep)
            table = sampler.sample()
            taken += 1
            rows += table.num_rows
            sink.add(table)
            if on_sample is not None:
                on_sample(table, taken)
            tick, missed = _next_tick(tick, clock() - start, interval_s)
            skipped += missed
    except KeyboardInterrupt:
        interrupted = True
        log.info("interrupted after %d samples; writing what was collected", taken)
    finally:
        sink.close()
    if skipped:
        log.warning(
            "%d sampling ticks were skipped: sampling took longer than the interval", skipped
        )
    return CollectResult(taken, rows, skipped, clock() - start, interrupted)


def _more(
    tick: int, taken: int, *, interval_s: float, duration_s: float | None, samples: int | None
) -> bool:
    """Return whether sample number ``taken + 1``, due at ``tick``, is still wanted."""
    if samples is not None and taken >= samples:
        return False
    # NOTE: a small tolerance, so 20 s at 0.1 s gives 200 samples despite float rounding.
    return duration_s is None or tick * interval_s < duration_s - 1e-9


def _wait_until(
    deadline: float, *, clock: Callable[[], float], sleep: Callable[[float], None]
) -> None:
    """Sleep until the monotonic ``deadline`` (at once when it has passed)."""
    remaining = deadline - clock()
    while remaining > 0:
        sleep(remaining)
        remaining = deadline - clock()


def _next_tick(tick: int, elapsed: float, interval_s: float) -> tuple[int, int]:
    """Return the next tick whose time has not yet gone, and how many were missed on the way.

    ``elapsed`` is the time since the start, read after sample ``tick`` was taken.
    """
    # NOTE: the tolerance keeps a tick that is due exactly now (float rounding aside).
    due = max(tick + 1, math.ceil(elapsed / interval_s - 1e-9))
    return due, due - tick - 1
