"""``aifinops import runs`` and ``aifinops report runs``: MLflow runs and the run ledger.

Thin over :mod:`aifinops.signals.mlflow_runs` and :mod:`aifinops.analyze.runs`. ``cli.py``
registers them on its groups::

    import_app.command("runs")(import_runs)
    report_app.command("runs")(report_runs)
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aifinops.cli_import import IMPORT_FORMATS, RESULT_COLUMNS, ImportFormatOpt, import_result
from aifinops.cli_options import EngineOpt, LakeOpt
from aifinops.cli_output import check_format, errors, progress_bar
from aifinops.cli_report_output import REPORT_FORMATS, ReportFormatOpt, View, show, show_views
from aifinops.errors import BadInputError

if TYPE_CHECKING:
    from aifinops.lake import Engine

#: The ledger's columns in the terminal and Markdown (JSON and CSV carry every column).
LEDGER_VIEW = View.of(
    (
        "run_name",
        "experiment",
        "team",
        "outcome",
        "start",
        "hours",
        "gpu_share",
        "effective_cost",
        "evaluations",
        "early_stop_at",
        "wasted_after_stop",
    ),
    gpu_share="share",
    effective_cost="cost",
    evaluations="evals",
    early_stop_at="stopped_improving",
    wasted_after_stop="after_stop",
)
PLATEAU_VIEW = View.of(
    (
        "resource_id",
        "model",
        "session_start",
        "session_end",
        "early_stop_at",
        "effective_cost",
        "wasted_after_stop",
    ),
    early_stop_at="stopped_improving",
    effective_cost="cost",
    wasted_after_stop="after_stop",
)
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def import_runs(
    uri: Annotated[
        str,
        typer.Argument(
            help="Tracking URI: a server (http://host:5000), file:///…/mlruns or an mlruns "
            "directory."
        ),
    ],
    experiment: Annotated[
        list[str] | None,
        typer.Option("--experiment", help="Experiment name or id; repeatable (default: all)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only runs started at or after this ISO date/time (UTC)."),
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", min=1, help="Read at most this many runs.")
    ] = None,
    lake: LakeOpt = None,
    fmt: ImportFormatOpt = "table",
) -> None:
    """Import MLflow runs (status, times, tags, params) and their full metric histories."""
    from aifinops.lake import Lake
    from aifinops.settings import load_settings
    from aifinops.signals.mlflow_runs import public_uri, read_runs, tracking_store_uri
    from aifinops.signals.store import write_signal

    with errors():
        check_format(fmt, IMPORT_FORMATS)
        start = _since(since)
        target = Lake.open(load_settings(lake=lake).lake)
        resolved = tracking_store_uri(uri)
        with progress_bar(fmt == "table") as bar:
            runs, metrics = read_runs(
                resolved,
                experiments=experiment,
                since=start,
                max_runs=max_runs,
                progress=lambda done, total: bar("runs", done, total),
            )
        source = source_slug(public_uri(resolved))
        written = [write_signal(target, "runs", source, runs)]
        written.append(write_signal(target, "run_metrics", source, metrics))
    experiments = len(set(runs.column("experiment").to_pylist()))
    note = f"{runs.num_rows:,} runs in {experiments} experiment(s) from {public_uri(resolved)}"
    show([import_result(m) for m in written], RESULT_COLUMNS, fmt, notes=[note])


def source_slug(uri: str) -> str:
    """Return the source partition name of a tracking URI (``mlflow-`` + a readable slug)."""
    slug = _SLUG.sub("-", uri.split("://", 1)[-1]).strip("-.") or "default"
    if len(slug) > 60:
        slug = slug[:40].rstrip("-.") + "-" + hashlib.sha256(uri.encode()).hexdigest()[:12]
    return f"mlflow-{slug}"


def report_runs(
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: ReportFormatOpt = "table",
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            help="Only these outcomes, comma-separated: finished, failed, killed, abandoned, "
            "running.",
        ),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="Only this experiment.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Runs to show, costliest first (0 = all).")] = 0,
    metric: Annotated[str, typer.Option("--metric", help="Metric the early stop watches.")] = (
        "loss"
    ),
    mode: Annotated[
        str, typer.Option("--mode", help="min (lower is better, e.g. loss) or max (accuracy).")
    ] = "min",
    patience: Annotated[
        int, typer.Option("--patience", min=1, help="Evaluations without improvement to stop.")
    ] = 5,
    min_delta: Annotated[
        float, typer.Option("--min-delta", min=0.0, help="Smallest change that improves.")
    ] = 0.0,
    abandoned_after: Annotated[
        float,
        typer.Option(
            "--abandoned-after",
            min=0.0,
            help="Hours without a metric before a RUNNING run counts as abandoned.",
        ),
    ] = 6.0,
) -> None:
    """The run ledger: each run's outcome, cost and cost after it stopped improving; cost
    by experiment; plateaus of training jobs that only report usage metrics."""
    from aifinops.analyze.early_stop import MODES

    with errors():
        check_format(fmt, REPORT_FORMATS)
        chosen = _outcomes(outcome)
        if mode not in MODES:
            raise BadInputError(f"unknown --mode {mode!r}", expected="min or max")
        rule = {"mode": mode, "patience": patience, "min_delta": min_delta}
        options = {"target_metric": metric, "abandoned_after": timedelta(hours=abandoned_after)}
        con = _engine(lake, engine)
        rows, summary, plateaus = _report(con, chosen, experiment, rule, options)
    rows = rows[:limit] if limit > 0 else rows
    notes = [
        "Cost = instance cost × time overlap × GPU share (docs/runs.md); unfinished runs end "
        "at the end of the bill (or now).",
        f"Early stop: the first best {metric} ({mode}) followed by {patience} evaluations that "
        f"do not improve on it by more than {min_delta}; after_stop is the cost from then on.",
    ]
    if fmt in ("json", "csv"):
        from aifinops.analyze.runs import LEDGER_COLUMNS

        show(rows, LEDGER_COLUMNS, fmt, notes=notes, experiments=summary, plateaus=plateaus)
        return
    from aifinops.analyze.runs import SUMMARY_COLUMNS

    tables = [
        (LEDGER_VIEW, "Runs", rows),
        (View.of(SUMMARY_COLUMNS), "By experiment", summary),
    ]
    if plateaus:
        tables.append((PLATEAU_VIEW, "Plateaus in usage metrics (no MLflow run)", plateaus))
    show_views(tables, fmt, notes=notes)


def _report(
    con: Engine,
    outcomes: list[str],
    experiment: str | None,
    rule: dict[str, Any],
    options: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the ledger rows, the per-experiment summary and the usage-metric plateaus."""
    from aifinops.analyze.early_stop import metric_plateaus
    from aifinops.analyze.runs import experiment_summary, run_ledger, run_windows

    costs, runs, telemetry = con.costs(), con.signals("runs"), con.signals("telemetry")
    now = _horizon(con, costs)
    ledger = run_ledger(
        costs, runs, con.signals("run_metrics"), telemetry, now=now, **rule, **options
    )
    if experiment:
        ledger = ledger.filter(ledger.experiment == experiment)
    if outcomes:
        ledger = ledger.filter(ledger.outcome.isin(outcomes))
    covered = run_windows(runs, telemetry, costs=costs, now=now)
    plateaus = metric_plateaus(
        costs, con.signals("metrics"), metric=options["target_metric"], covered=covered, **rule
    )
    rows = con.execute(ledger).to_pylist()
    summary = con.execute(experiment_summary(ledger)).to_pylist()
    return rows, summary, con.execute(plateaus).to_pylist()


def _horizon(con: Engine, costs: Any) -> datetime:
    """Return when the ledger is drawn up: now, or the end of the bill if that is earlier
    (the bill lags; a lake of last quarter's data is read as of its last day)."""
    now = datetime.now(UTC)
    found = con.execute(costs.aggregate(end=costs.ChargePeriodEnd.max())).column("end")
    end = found[0].as_py() if len(found) else None
    return min(now, end) if end is not None else now


def _outcomes(text: str | None) -> list[str]:
    from aifinops.analyze.runs import OUTCOMES

    chosen = [o.strip().lower() for o in (text or "").split(",") if o.strip()]
    unknown = [o for o in chosen if o not in OUTCOMES]
    if unknown:
        raise BadInputError(
            f"unknown outcome {', '.join(map(repr, unknown))}",
            column="--outcome",
            expected=", ".join(OUTCOMES),
        )
    return chosen


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInputError(
            f"cannot read --since {text!r}", expected="an ISO date or time, e.g. 2026-09-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _engine(lake: Path | None, engine: str | None) -> Engine:
    from aifinops.lake import Lake, connect
    from aifinops.settings import load_settings

    settings = load_settings(lake=lake, engine=engine)
    return connect(Lake.open(settings.lake, create=False), engine=settings.engine)
