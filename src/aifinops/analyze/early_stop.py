"""Where training stopped improving: the early-stop scan over a metric history.

One rule serves both sources of training progress: an MLflow run's metric history
(``run_metrics``, keyed by ``run_id``) and resource-level usage metrics (``metrics`` with
``metric = 'loss'``, keyed by ``run_id`` or else ``resource_id``: a job that reports its
loss but has no MLflow run, as the demo's runaway p5 job when only its usage metrics are
imported).

**The rule** (``mode='min'``; ``max`` mirrors it). Evaluations are ordered by time (then
step). An evaluation *improves* when it is the first, or when its value is below the best of
all earlier evaluations by more than ``min_delta``. The early stop is the first improving
evaluation followed by ``patience`` evaluations none of which improves: what an
``EarlyStopping(patience=…, min_delta=…)`` callback would have stopped on, restoring that
evaluation's weights. ``early_stop_at`` is its timestamp; ``stop_confirmed_at`` the time of
the ``patience``-th evaluation after it, when a callback would have known.

NOTE: the scan runs in the engine (Ibis window functions: a running best of the *earlier*
evaluations, the row number, and the gap to the next improving evaluation), not in Python,
so it scales to long per-step histories and gives the same answer on DuckDB and PySpark.
The price: Keras compares with the value of the last *significant* improvement, a recursive
rule SQL windows cannot express; here the reference is the best value seen so far. With
``min_delta = 0`` (the default) the two are identical; with ``min_delta > 0`` a slow drift
of many small improvements counts as a plateau here, which is what "improvements smaller than
``min_delta`` do not count" says.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import ibis
import ibis.expr.types as ir

from aifinops.analyze.windows import cost_in_windows

#: Optimisation directions a target metric may have.
MODES = ("min", "max")
#: Columns of :func:`plateau_windows` after the keys.
PLATEAU_COLUMNS = (
    "evaluations",
    "first_at",
    "last_at",
    "early_stop_at",
    "stop_confirmed_at",
    "best_value",
)


def check_rule(mode: str, patience: int, min_delta: float) -> None:
    """Raise ``ValueError`` unless ``mode``, ``patience`` and ``min_delta`` make a rule."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
    if patience < 1:
        raise ValueError(f"patience must be at least 1 evaluation, not {patience}")
    if min_delta < 0:
        raise ValueError(f"min_delta must be 0 or more, not {min_delta}")


def plateau_windows(
    series: ir.Table,
    *,
    keys: Sequence[str] = ("key",),
    mode: str = "min",
    patience: int = 5,
    min_delta: float = 0.0,
) -> ir.Table:
    """Return one row per key of ``series``: its evaluations and where it stopped improving.

    Args:
        series: ``keys``, ``ts`` (timestamp), ``value`` (float) and optionally ``step``
            (orders evaluations logged at the same time). Null and NaN values are skipped.
        keys: the columns naming one history (a run, a resource's training session).
        mode: ``min`` (loss) or ``max`` (accuracy).
        patience: evaluations without improvement that make a plateau.
        min_delta: how much better than the best so far an improvement must be.

    Returns:
        ``keys`` + :data:`PLATEAU_COLUMNS`; ``early_stop_at``, ``stop_confirmed_at`` and
        ``best_value`` are null where the history never plateaued.
    """
    check_rule(mode, patience, min_delta)
    group = list(keys)
    clean = series.filter(
        *[series[k].notnull() for k in group], series.value.notnull(), ~series.value.isnan()
    )
    order = [clean.ts, clean.step] if "step" in clean.columns else [clean.ts]
    earlier = ibis.window(group_by=group, order_by=order, rows=(None, -1))
    whole = ibis.window(group_by=group, order_by=order)
    best = (clean.value.min() if mode == "min" else clean.value.max()).over(earlier)
    better = clean.value < best - min_delta if mode == "min" else clean.value > best + min_delta
    scored = clean.mutate(
        improved=best.isnull() | better,
        rn=ibis.row_number().over(whole),
        n=clean.value.count().over(group_by=group),
        confirmed=clean.ts.lead(patience).over(whole),
    )
    later = ibis.window(group_by=group, order_by=[scored.rn], rows=(1, None))
    marked = ibis.ifelse(scored.improved, scored.rn, ibis.null("int64"))
    scored = scored.mutate(next_rn=marked.min().over(later))
    quiet = scored.next_rn.fill_null(scored.n) - scored.rn - 1
    stop = scored.improved & (quiet >= patience)
    # NOTE: ts and confirmed never decrease along rn, so their minimum over the stops is the
    # first stop's; its value is taken by rn.
    return scored.group_by(group).aggregate(
        evaluations=scored.count(),
        first_at=scored.ts.min(),
        last_at=scored.ts.max(),
        early_stop_at=scored.ts.min(where=stop),
        stop_confirmed_at=scored.confirmed.min(where=stop),
        best_value=scored.value.argmin(scored.rn, where=stop),
    )


def metric_plateaus(
    costs: ir.Table,
    metrics: ir.Table,
    *,
    metric: str = "loss",
    mode: str = "min",
    patience: int = 5,
    min_delta: float = 0.0,
    session_gap: timedelta = timedelta(days=2),
    covered: ir.Table | None = None,
) -> ir.Table:
    """Return the plateaus of a usage metric (no MLflow run needed) and what they cost.

    The history is keyed by ``run_id`` where the metrics carry one, else by ``resource_id``;
    samples more than ``session_gap`` apart start a new training session (a resource's next
    job starts from a high loss again). A session lasts from its first sample to its last
    sample plus the interval before it (each sample stands for the interval it ends).
    Sessions that overlap a window of ``covered`` (``resource_id``, ``start``, ``end``: e.g.
    :func:`~aifinops.analyze.runs.run_windows`) on the same resource are left out: the run
    ledger already accounts for them.

    Returns:
        One row per session that plateaued: ``resource_id``, ``run_id``, ``team``,
        ``model``, ``session_start``, ``session_end``, :data:`PLATEAU_COLUMNS`,
        ``effective_cost`` (the whole session) and ``wasted_after_stop`` (from
        ``early_stop_at`` to ``session_end``), both of the whole resource
        (:func:`~aifinops.analyze.windows.cost_in_windows`).
    """
    rows = metrics.filter(metrics.metric == metric, metrics.resource_id.notnull())
    sessions = _sessions(rows, session_gap)
    found = plateau_windows(
        sessions,
        keys=("resource_id", "run_key", "session"),
        mode=mode,
        patience=patience,
        min_delta=min_delta,
    )
    ends = sessions.group_by("resource_id", "run_key", "session").aggregate(
        team=sessions.team.max(),
        model=sessions.model.max(),
        run_id=sessions.run_id.max(),
        end_s=sessions.ts.epoch_seconds().max() * 2 - sessions.prev_s.max(),
    )
    keys = ["resource_id", "run_key", "session"]
    plateaus = found.filter(found.early_stop_at.notnull()).join(ends, keys)
    plateaus = plateaus.mutate(
        window_id=plateaus.resource_id.concat(
            "|", plateaus.run_key, "|", plateaus.session.cast(str)
        ),
        session_start=plateaus.first_at,
        session_end=plateaus.end_s.as_timestamp("s").cast(plateaus.first_at.type()),
    )
    if covered is not None:
        plateaus = plateaus.anti_join(
            covered,
            [
                plateaus.resource_id == covered.resource_id,
                covered.start < plateaus.session_end,
                covered.end > plateaus.session_start,
            ],
        )
    return _priced(costs, plateaus)


def _sessions(rows: ir.Table, gap: timedelta) -> ir.Table:
    """Return ``rows`` as a series (``ts``, ``value``) with ``run_key`` and ``session``."""
    series = rows.mutate(run_key=rows.run_id.fill_null(""), ts=rows.timestamp)
    by = ["resource_id", "run_key"]
    seconds = series.ts.epoch_seconds()
    prev = seconds.lag().over(group_by=by, order_by=series.ts)
    series = series.mutate(prev_s=prev.fill_null(seconds))
    starts = (series.ts.epoch_seconds() - series.prev_s > gap.total_seconds()).cast("int64")
    cumulative = ibis.window(group_by=by, order_by=series.ts, rows=(None, 0))
    return series.mutate(session=starts.sum().over(cumulative))


def _priced(costs: ir.Table, plateaus: ir.Table) -> ir.Table:
    """Add the session's cost and the cost after its early stop."""
    whole, after = (
        plateaus.select(
            plateaus.window_id,
            plateaus.resource_id,
            start=start,
            end=plateaus.session_end,
            share=ibis.null("float64"),
        )
        for start in (plateaus.session_start, plateaus.early_stop_at)
    )
    spent = cost_in_windows(costs, whole).select("window_id", "effective_cost")
    wasted = cost_in_windows(costs, after).select(
        "window_id", wasted_after_stop=ibis._.effective_cost
    )
    out = plateaus.left_join(spent, "window_id").left_join(wasted, "window_id")
    return out.select(
        plateaus.resource_id,
        run_id=plateaus.run_id,
        team=plateaus.team,
        model=plateaus.model,
        session_start=plateaus.session_start,
        session_end=plateaus.session_end,
        evaluations=plateaus.evaluations,
        first_at=plateaus.first_at,
        last_at=plateaus.last_at,
        early_stop_at=plateaus.early_stop_at,
        stop_confirmed_at=plateaus.stop_confirmed_at,
        best_value=plateaus.best_value,
        effective_cost=spent.effective_cost,
        wasted_after_stop=wasted.wasted_after_stop,
    ).order_by(ibis.desc("wasted_after_stop"), "resource_id", "session_start")
