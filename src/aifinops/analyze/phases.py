"""What each GPU was doing, from its telemetry: busy, under-used, zombie or idle, and when.

Every telemetry sample (:data:`aifinops.signals.schema.TELEMETRY`) gets a duration, an
activity and a state; consecutive samples of one GPU in one state form a *segment*
(gaps and islands). Both steps are Ibis window functions, so DuckDB and PySpark give the same
rows. ``docs/waste.md`` explains every rule and default; in short:

* **duration**: the time to the GPU's next sample; the last sample of a series (and the
  sample before a gap longer than ``max_gap_s``) counts as long as the interval before it.
  Both are capped at ``max_gap_s``; longer gaps are no data.
* **activity**: DCGM's graphics-engine activity where the source has it, else NVML / DCGM
  GPU utilisation, smoothed by a *closing* (the max over ±``smoothing`` samples, then the
  min over ±``smoothing`` samples of that): dips of up to 2 × ``smoothing`` samples between
  bursts of work are filled, and the edges of a phase do not move.
* **state**: ``busy`` (activity ≥ ``underused_util_pct``), ``underused`` (above
  ``idle_util_pct``), ``zombie`` (no activity but at least ``zombie_memory_pct`` of the
  framebuffer held), ``idle`` (no activity, little memory held).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from aifinops.analyze.spend import Period
from aifinops.thresholds import WasteThresholds as WasteThresholds  # re-exported

#: Every state a sample can be in, busiest first.
STATES = ("busy", "underused", "zombie", "idle")
#: The states whose GPU-hours are paid for but (mostly) not working.
WASTE_STATES = ("idle", "zombie", "underused")
#: What identifies one GPU's series of samples.
GPU_KEY = ("host", "resource_id", "gpu_index", "gpu_uuid")
#: Which signal gave a sample's activity.
ENGINE_ACTIVE, GPU_UTIL = "engine_active", "gpu_util"
#: Energy sources of a segment: the board's energy counter, or power × time.
COUNTER, POWER = "counter", "power"
#: The columns of :func:`gpu_segments`, in order.
SEGMENT_COLUMNS = (
    "segment_id",
    *GPU_KEY,
    "gpu_model",
    "segment",
    "state",
    "start",
    "end",
    "samples",
    "duration_us",
    "gpu_hours",
    "mean_util_pct",
    "mean_activity_pct",
    "mean_mem_used_mib",
    "peak_mem_used_mib",
    "mem_total_mib",
    "mean_power_w",
    "energy_kwh_measured",
    "energy_kwh_from_power",
    "energy_kwh",
    "energy_source",
)
_US_PER_S = 1_000_000
_J_PER_KWH = 3_600_000.0
_US_PER_HOUR = 3_600_000_000.0


def _series(*extra: str, around: int | None = None) -> Any:
    """Return the window over one GPU's samples in time order (± ``around`` rows)."""
    if around is None:
        return ibis.window(group_by=[*GPU_KEY, *extra], order_by="timestamp")
    return ibis.window(
        group_by=[*GPU_KEY, *extra], order_by="timestamp", preceding=around, following=around
    )


def _timed(telemetry: ir.Table, max_gap_us: int) -> ir.Table:
    """Return the samples with ``duration_us``, ``run`` (a number that changes after every
    gap) and the counter energy of each sample's interval.

    A gap is an interval longer than ``max_gap_us`` *and* longer than twice the GPU's cadence
    (its shortest interval between samples): a collector that samples every hour (an hourly
    export, the demo) is not a stream of gaps, while a 0.5 s collector that stops for ten
    minutes is.
    """
    t = telemetry.filter(
        telemetry.timestamp.notnull()
        & (telemetry.engine_active_pct.notnull() | telemetry.gpu_util_pct.notnull())
    )
    w = _series()
    t = t.mutate(
        _after=t.timestamp.lead().over(w).delta(t.timestamp, unit="microsecond"),
        _before=t.timestamp.delta(t.timestamp.lag().over(w), unit="microsecond"),
        _next_j=t.energy_j.lead().over(w),
        _day=t.timestamp.date(),
    )
    positive = ibis.ifelse(t._after > 0, t._after, ibis.null("int64"))
    cadence = positive.min().over(ibis.window(group_by=GPU_KEY))
    t = t.mutate(_limit=ibis.greatest(ibis.literal(max_gap_us, "int64"), cadence.fill_null(0) * 2))
    joined = t._after.notnull() & (t._after <= t._limit)
    before = ibis.ifelse(t._before <= t._limit, t._before, ibis.null("int64"))
    duration = ibis.ifelse(joined, t._after, before.fill_null(0))
    step = t._next_j - t.energy_j
    # A drop is a counter reset: the new value is what was used since (Prometheus's rule).
    counted = ibis.cases((step.isnull(), ibis.null("float64")), (step >= 0, step), else_=t._next_j)
    fresh = t._before.isnull() | (t._before > t._limit)
    t = t.mutate(
        duration_us=duration.cast("int64"),
        energy_j_counted=ibis.ifelse(joined, counted, ibis.null("float64")),
        _fresh=fresh.cast("int64"),
    )
    return t.mutate(run=t._fresh.sum().over(ibis.cumulative_window(GPU_KEY, "timestamp")))


def gpu_states(telemetry: ir.Table, thresholds: WasteThresholds | None = None) -> ir.Table:
    """Return every telemetry sample with its duration, activity and state.

    Samples without any utilisation value are left out. Columns: the telemetry's
    identifying columns (``host``, ``resource_id``, ``gpu_index``, ``gpu_uuid``,
    ``gpu_model``), ``timestamp``, ``end`` (timestamp + duration), ``duration_us``,
    ``run`` (numbers the stretches between gaps), ``day`` (UTC), ``util_pct`` (the raw
    activity signal), ``activity_source`` (:data:`ENGINE_ACTIVE` or :data:`GPU_UTIL`),
    ``activity_pct`` (smoothed),
    ``gpu_util_pct``, ``engine_active_pct``, ``mem_used_mib``, ``mem_total_mib``,
    ``mem_pct``, ``power_w``, ``energy_j_counted`` (counter increase to the next sample),
    ``energy_j_power`` (power × duration) and ``state`` (one of :data:`STATES`).

    Args:
        telemetry: rows of the TELEMETRY schema (``Engine.signals("telemetry")``).
        thresholds: the classification's thresholds (defaults when None).
    """
    th = thresholds or WasteThresholds()
    t = _timed(telemetry, round(th.max_gap_s * _US_PER_S))
    signal = ibis.coalesce(t.engine_active_pct, t.gpu_util_pct)
    source = ibis.ifelse(t.engine_active_pct.notnull(), ENGINE_ACTIVE, GPU_UTIL)
    t = t.mutate(util_pct=signal, activity_source=source)
    k = th.smoothing
    near = _series("run", around=k)
    t = t.mutate(_dilated=t.util_pct.max().over(near))
    t = t.mutate(activity_pct=t._dilated.min().over(near))
    mem_pct = ibis.ifelse(
        t.mem_total_mib > 0, t.mem_used_mib * 100.0 / t.mem_total_mib, ibis.null("float64")
    )
    t = t.mutate(mem_pct=mem_pct)
    state = ibis.cases(
        (t.activity_pct >= th.underused_util_pct, "busy"),
        (t.activity_pct > th.idle_util_pct, "underused"),
        ((t.mem_pct >= th.zombie_memory_pct).fill_null(False), "zombie"),
        else_="idle",
    )
    return t.select(
        *GPU_KEY,
        "gpu_model",
        "timestamp",
        end=t.timestamp + t.duration_us.as_interval("us"),
        duration_us=t.duration_us,
        run=t.run,
        day=t._day,
        util_pct=t.util_pct,
        activity_source=t.activity_source,
        activity_pct=t.activity_pct,
        gpu_util_pct=t.gpu_util_pct,
        engine_active_pct=t.engine_active_pct,
        mem_used_mib=t.mem_used_mib,
        mem_total_mib=t.mem_total_mib,
        mem_pct=t.mem_pct,
        power_w=t.power_w,
        energy_j_counted=t.energy_j_counted,
        energy_j_power=t.power_w * t.duration_us.cast("float64") / _US_PER_S,
        state=state,
    )


def _numbered(states: ir.Table) -> ir.Table:
    """Return the samples with ``segment``: a number per GPU that grows at every change of
    state, after every gap and at every midnight (UTC), so no segment spans a day."""
    w = _series()
    prev_state, prev_run, prev_day = (states[c].lag().over(w) for c in ("state", "run", "day"))
    change = (
        prev_state.isnull()
        | (prev_state != states.state)
        | (prev_run != states.run)
        | (prev_day != states.day)
    )
    t = states.mutate(_change=change.cast("int64"))
    return t.mutate(segment=t._change.sum().over(ibis.cumulative_window(GPU_KEY, "timestamp")))


def gpu_id(t: ir.Table) -> ir.StringValue:
    """Return a string naming one GPU: ``host/gpu_index/gpu_uuid``."""
    parts = [
        t.host.fill_null(""),
        t.gpu_index.cast("string").fill_null(""),
        t.gpu_uuid.fill_null(""),
    ]
    return ibis.literal("/").join(parts)


def samples_in(telemetry: ir.Table, period: Period | None) -> ir.Table:
    """Keep the samples whose month (UTC) falls in ``period`` (all when None)."""
    if period is None:
        return telemetry
    month = telemetry.timestamp.strftime("%Y-%m")
    return telemetry.filter(month.between(period.first, period.last))


def segment_id(t: ir.Table) -> ir.StringValue:
    """Return a string naming one segment: ``host/resource/gpu_index/gpu_uuid/segment``."""
    parts = [
        t.host.fill_null(""),
        t.resource_id.fill_null(""),
        t.gpu_index.cast("string").fill_null(""),
        t.gpu_uuid.fill_null(""),
        t.segment.cast("string"),
    ]
    return ibis.literal("/").join(parts)


def gpu_segments(states: ir.Table) -> ir.Table:
    """Return the runs of consecutive samples of one GPU in one state (gaps and islands).

    Columns: ``segment_id``, :data:`GPU_KEY`, ``gpu_model``, ``segment``, ``state``,
    ``start``, ``end``, ``samples``, ``duration_us``, ``gpu_hours``, ``mean_util_pct``,
    ``mean_activity_pct``, ``mean_mem_used_mib``, ``peak_mem_used_mib``, ``mem_total_mib``,
    ``mean_power_w``, ``energy_kwh_measured`` (counter increases; null without a counter),
    ``energy_kwh_from_power`` (Σ power × duration; null without power), ``energy_kwh``
    (measured, else from power) and ``energy_source`` (:data:`COUNTER`, :data:`POWER` or
    null). Means are sample means.

    Args:
        states: the output of :func:`gpu_states`.
    """
    t = _numbered(states)
    sums = t.group_by([*GPU_KEY, "segment", "state"]).aggregate(
        gpu_model=t.gpu_model.max(),
        start=t.timestamp.min(),
        end=t.end.max(),
        samples=t.count(),
        duration_us=t.duration_us.sum(),
        mean_util_pct=t.util_pct.mean(),
        mean_activity_pct=t.activity_pct.mean(),
        mean_mem_used_mib=t.mem_used_mib.mean(),
        peak_mem_used_mib=t.mem_used_mib.max(),
        mem_total_mib=t.mem_total_mib.max(),
        mean_power_w=t.power_w.mean(),
        _counted_j=t.energy_j_counted.sum(),
        _power_j=t.energy_j_power.sum(),
    )
    measured = sums._counted_j / _J_PER_KWH
    from_power = sums._power_j / _J_PER_KWH
    source = ibis.cases(
        (measured.notnull(), COUNTER), (from_power.notnull(), POWER), else_=ibis.null("string")
    )
    sums = sums.mutate(
        segment_id=segment_id(sums),
        gpu_hours=sums.duration_us.cast("float64") / _US_PER_HOUR,
        energy_kwh_measured=measured,
        energy_kwh_from_power=from_power,
        energy_kwh=ibis.coalesce(measured, from_power),
        energy_source=source,
    )
    return sums.select(*SEGMENT_COLUMNS)
