"""The demo's experiment runs, written through MLflow's own client into a local file store.

Every named run window of a training resource becomes one MLflow run (one per node of a
multi-node resource), tagged with the resource it ran on, its team, project and model, with a
``loss`` history evaluated every six hours. The planted stories show here too: the runaway
``pretrain-7b-run42`` stops improving at its planned end (2026-09-10) yet runs nine more days;
one sweep failed and one was killed; a notebook fine-tune was left ``RUNNING`` with no update
since 2026-08-12 (the zombie notebook), i.e. abandoned.

MLflow is an optional dependency (``aifinops[mlflow]``): without it the demo has no runs.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aifinops.demo.charges import utc
from aifinops.demo.fleet import roster
from aifinops.demo.resources import Resource

#: Statuses that differ from FINISHED, by run name.
_STATUS = {"vega-sweep-b": "FAILED", "vega-sweep-c": "KILLED"}
#: When a run's loss stops improving (its planned end), by run name.
_PLATEAU = {"pretrain-7b-run42": utc(2026, 9, 10)}
_EVAL_EVERY = timedelta(hours=6)


@dataclass(frozen=True)
class DemoRun:
    """One run to log: where and when it ran, and how it ended."""

    name: str
    experiment: str
    resource: Resource
    node: int
    start: datetime
    end: datetime
    status: str
    last_update: datetime


def demo_runs(scale: float) -> Iterator[DemoRun]:
    """Yield the demo's runs: named windows of training resources, plus the abandoned one.

    A run name shared by several nodes or resources gets ``-node<k>``; a name used again for a
    later window (a resumed run) gets ``-resume``.
    """
    planned = list(_planned(scale))
    counts: dict[str, int] = {}
    for name, *_ in planned:
        counts[name] = counts.get(name, 0) + 1
    seen: dict[str, int] = {}
    for name, experiment, res, node, start, end in planned:
        status = _STATUS.get(name, "FINISHED")
        label = name
        if counts[name] > 1:
            k = seen.get(name, 0)
            seen[name] = k + 1
            nodes = sum(1 for p in planned if p[0] == name and p[4] == start)
            label = f"{name}-node{k % nodes}" if nodes > 1 else name
            if k >= nodes:
                label += "-resume"
        yield DemoRun(label, experiment, res, node, start, end, status, end)
    for resources in roster(scale).values():
        for res in resources:
            if res.resource_type == "Notebook Instance" and res.gpus:
                start, end = utc(2026, 8, 10), res.windows[-1][1]
                experiment = res.labels.experiment or res.name
                yield DemoRun("lora-sweep-7", experiment, res, 0, start, end, "RUNNING",
                              utc(2026, 8, 12))  # fmt: skip


def _planned(scale: float) -> Iterator[tuple[str, str, Resource, int, datetime, datetime]]:
    for resources in roster(scale).values():
        for res in resources:
            if res.labels.workload != "training" or not res.gpus:
                continue
            experiment = res.labels.experiment or res.labels.model or res.name
            for start, end, name in res.windows:
                if name is not None:
                    for node in range(res.count):
                        yield name, experiment, res, node, start, end


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _loss(run: DemoRun, moment: datetime, rng: random.Random) -> float:
    plateau = _PLATEAU.get(run.name)
    planned_end = plateau or run.last_update
    if plateau is not None and moment >= plateau:
        return round(1.905 + rng.uniform(0.0, 0.02), 4)  # never below the last good eval
    span = max((planned_end - run.start).total_seconds(), 1.0)
    left = 1.0 - min((moment - run.start).total_seconds() / span, 1.0)
    return round(1.9 + 2.5 * left**2 + rng.uniform(0.0, 0.004) * left, 4)


#: Where the team's MLflow experiments keep artifacts (checkpoints): one S3 bucket.
ARTIFACT_ROOT = "s3://nimbus-checkpoints/mlflow"


def write_runs(store: Path, *, seed: int = 7, scale: float = 1.0) -> Path | None:
    """Log the demo's runs into an MLflow file store at ``store``; None without MLflow."""
    try:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient
    except ImportError:
        return None
    previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        client = MlflowClient(store.resolve().as_uri())
        experiments: dict[str, str] = {}
        for run in demo_runs(scale):
            if run.experiment not in experiments:
                experiments[run.experiment] = client.create_experiment(
                    run.experiment, artifact_location=f"{ARTIFACT_ROOT}/{run.experiment}"
                )
            _log(client, experiments[run.experiment], run, seed, Metric, Param)
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous
    return store


def _log(
    client: Any, experiment_id: str, run: DemoRun, seed: int, metric_cls: Any, param_cls: Any
) -> None:
    """Log one run: its tags, params, loss history and end."""
    res = run.resource
    gpus = res.gpus
    tags = {
        "mlflow.runName": run.name,
        "mlflow.user": res.labels.team or "unknown",
        "aifinops.resource_id": res.id,
        "aifinops.host": res.name if res.count == 1 else f"{res.name}-{run.node:02d}",
        "aifinops.gpu_count": str(gpus),
        "team": res.labels.team or "",
        "project": res.labels.project or "",
        "model": res.labels.model or "",
    }
    created = client.create_run(experiment_id, start_time=_ms(run.start), tags=tags)
    run_id = created.info.run_id
    rng = random.Random(f"{seed}|{run.name}")
    metrics: list[Any] = []
    step, moment = 0, run.start + _EVAL_EVERY
    while moment <= run.last_update:
        loss = _loss(run, moment, rng)
        metrics.append(metric_cls("loss", loss, _ms(moment), step))
        metrics.append(metric_cls("epoch", float(step + 1), _ms(moment), step))
        step, moment = step + 1, moment + _EVAL_EVERY
    params = [
        param_cls("learning_rate", "3e-4" if "pretrain" in run.name else "1e-4"),
        param_cls("gpus", str(gpus)),
        param_cls("instance", res.parts[0][0]),
    ]
    for first in range(0, max(len(metrics), 1), 900):
        client.log_batch(
            run_id,
            metrics=metrics[first : first + 900],
            params=params if first == 0 else [],
        )
    if run.status != "RUNNING":
        client.set_terminated(run_id, status=run.status, end_time=_ms(run.end))
