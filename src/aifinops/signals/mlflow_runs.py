"""Experiment runs and their metric histories, read through MLflow's own client.

Any tracking URI MLflow's ``MlflowClient`` accepts works: a tracking server
(``http://host:5000``), a file store (``file:///…/mlruns`` or a plain directory path,
read with ``MLFLOW_ALLOW_FILE_STORE=true`` set for the read only) or Databricks. Database
URIs (``sqlite:``, ``postgresql:``, ``mysql:``, ``mssql:``) need the full ``mlflow``
package; the ``mlflow-skinny`` client installed by ``aifinops[mlflow]`` cannot open them.

Which resource a run used comes from its tags (the first tag present wins, see
:data:`LINK_TAGS` and ``docs/runs.md``); ``mlflow`` itself is imported only when a store is
read, as it takes seconds to import.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

import httpx
import pyarrow as pa
import pyarrow.compute as pc

from aifinops.errors import BadInputError
from aifinops.signals.schema import RUN_METRICS, RUNS

log = logging.getLogger(__name__)

#: Run columns filled from tags (then params, for ``gpu_count``), first name present wins.
LINK_TAGS: dict[str, tuple[str, ...]] = {
    "resource_id": (
        "aifinops.resource_id",
        "resource_id",
        "cloud.resource_id",
        "cloud.instance_id",
        "host.id",
        "instance_id",
    ),
    "host": ("aifinops.host", "host", "host.name", "hostname"),
    "gpu_count": ("aifinops.gpus", "aifinops.gpu_count", "gpu_count", "gpus", "num_gpus"),
    "team": ("aifinops.team", "team"),
    "project": ("aifinops.project", "project"),
    "model": ("aifinops.model", "model", "model_name"),
}
#: URI schemes only the full ``mlflow`` package (SQLAlchemy store) can open.
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
_PAGE = 1000
_FIX = "pass an mlruns directory, a file:// URI or a tracking server URL (http://host:5000)"
Progress = Callable[[int, int], None]


def read_runs(
    tracking_uri: str | Path,
    *,
    experiments: Sequence[str] | None = None,
    since: datetime | None = None,
    max_runs: int | None = None,
    progress: Progress | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Read runs and their full metric histories from an MLflow tracking store.

    Args:
        tracking_uri: a tracking server URL, a ``file://`` URI or an ``mlruns`` directory.
        experiments: experiment names or ids (default: every active experiment).
        since: only runs started at or after this time.
        max_runs: read at most this many runs (the oldest first).
        progress: called with (runs read so far, runs found) after each run's history.

    Returns:
        The ``runs`` and ``run_metrics`` tables (:data:`~aifinops.signals.schema.RUNS`,
        :data:`~aifinops.signals.schema.RUN_METRICS`).

    Raises:
        BadInputError: the store cannot be reached or read, or an experiment is unknown.
    """
    uri = tracking_store_uri(tracking_uri)
    source = public_uri(uri)
    runs: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    with _store_env(uri), _mlflow_errors(source):
        from mlflow.tracking import MlflowClient

        client = MlflowClient(uri)
        names = _experiments(client, experiments, source)
        found = list(_search(client, list(names), since, max_runs))
        for run in found:
            runs.append(run_row(run, names[run.info.experiment_id], source))
            metrics += _history(client, run, source)
            if progress is not None:
                progress(len(runs), len(found))
    log.info("read %d runs and %d metric values from %s", len(runs), len(metrics), source)
    return _table(runs, RUNS), _table(metrics, RUN_METRICS)


def tracking_store_uri(location: str | Path) -> str:
    """Return the tracking URI for ``location``, checking what can be checked up front.

    A directory path becomes a ``file://`` URI (an ``mlruns`` folder inside it is used when
    the directory itself is not a store); database URIs need the full ``mlflow`` package;
    a server URL must answer HTTP.

    Raises:
        BadInputError: the path is not an MLflow file store, the server is unreachable, or
            the database URI needs ``pip install mlflow``.
    """
    text = str(location)
    scheme = urlsplit(text).scheme.split("+")[0].lower()
    if scheme in ("", "file") or len(scheme) == 1:  # one letter: a Windows drive
        path = url2pathname(urlsplit(text).path) if scheme == "file" else text
        return _file_store(Path(path).expanduser())
    if scheme in DATABASE_SCHEMES:
        _need_full_mlflow(text)
    elif scheme in ("http", "https"):
        _reachable(text)
    return text


def public_uri(uri: str) -> str:
    """Return ``uri`` without a password (the ``source`` column and messages show it)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def run_row(run: Any, experiment: str, source: str) -> dict[str, Any]:
    """Return the ``runs`` row of one MLflow ``Run``."""
    info, tags, params = run.info, dict(run.data.tags), dict(run.data.params)
    links = {column: _first(tags, names) for column, names in LINK_TAGS.items()}
    return {
        "run_id": info.run_id,
        "run_name": info.run_name or tags.get("mlflow.runName"),
        "experiment_id": info.experiment_id,
        "experiment": experiment,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "user": info.user_id or tags.get("mlflow.user"),
        **links,
        "gpu_count": _count(links["gpu_count"] or _first(params, LINK_TAGS["gpu_count"])),
        "artifact_uri": info.artifact_uri,
        "params": json.dumps(params, sort_keys=True, ensure_ascii=False),
        "tags": json.dumps(tags, sort_keys=True, ensure_ascii=False),
        "source": source,
    }


def _file_store(path: Path) -> str:
    if not path.is_dir():
        raise BadInputError(f"{path} does not exist or is not a directory", fix=_FIX)
    if not _is_file_store(path) and _is_file_store(path / "mlruns"):
        path = path / "mlruns"
    if not _is_file_store(path):
        raise BadInputError(
            f"{path} is not an MLflow file store: no experiment folder with a meta.yaml",
            expected="the mlruns directory MLflow writes (mlruns/<experiment id>/meta.yaml)",
            fix=_FIX,
        )
    return path.resolve().as_uri()


def _is_file_store(path: Path) -> bool:
    return path.is_dir() and any(
        (child / "meta.yaml").is_file() for child in path.iterdir() if child.is_dir()
    )


def _need_full_mlflow(uri: str) -> None:
    try:
        distribution("mlflow")
    except PackageNotFoundError:
        raise BadInputError(
            f"{public_uri(uri)} is a database tracking store, which the mlflow-skinny client "
            "cannot open",
            fix="pip install mlflow (the full package brings the SQLAlchemy store), or read "
            "the runs through the tracking server in front of it (http://host:5000)",
        ) from None


def _reachable(uri: str) -> None:
    """Fail fast (MLflow retries a refused connection for minutes) when nothing answers."""
    try:
        httpx.get(uri.rstrip("/") + "/health", timeout=10)
    except httpx.HTTPError as exc:
        raise BadInputError(
            f"cannot reach the MLflow tracking server at {public_uri(uri)}: {exc}",
            fix="start the server (mlflow server --port 5000) or check the URL and network",
        ) from None


@contextmanager
def _store_env(uri: str) -> Iterator[None]:
    """Allow MLflow's (deprecated) file store for this read only, then restore the env."""
    if not uri.startswith("file:"):
        yield
        return
    before = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if before is None:
            del os.environ["MLFLOW_ALLOW_FILE_STORE"]
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = before


@contextmanager
def _mlflow_errors(source: str) -> Iterator[None]:
    try:
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise BadInputError(
            "reading MLflow runs needs the MLflow client",
            fix="pip install 'aifinops[mlflow]' (mlflow-skinny)",
        ) from None
    try:
        yield
    except MlflowException as exc:
        raise BadInputError(
            f"MLflow could not read {source}: {exc.message}",
            fix="check that it is an MLflow tracking server or store, and your credentials "
            "(MLFLOW_TRACKING_TOKEN / MLFLOW_TRACKING_USERNAME)",
        ) from None


def _experiments(client: Any, wanted: Sequence[str] | None, source: str) -> dict[str, str]:
    """Return {experiment id: name} of the active experiments ``wanted`` (all by default)."""
    found: dict[str, str] = {}
    token = None
    while True:
        page = client.search_experiments(max_results=_PAGE, page_token=token)
        found.update({e.experiment_id: e.name for e in page})
        token = page.token
        if not token:
            break
    if not wanted:
        return found
    by_name = {name: eid for eid, name in found.items()}
    missing = [w for w in wanted if w not in by_name and w not in found]
    if missing:
        raise BadInputError(
            f"no experiment {', '.join(map(repr, missing))} in {source}",
            expected=f"one of: {', '.join(sorted(by_name)) or '(no experiments)'}",
            fix="pass an experiment name or id from that list",
        )
    ids = [by_name.get(w, w) for w in wanted]
    return {eid: found[eid] for eid in ids}


def _search(
    client: Any, ids: list[str], since: datetime | None, limit: int | None
) -> Iterator[Any]:
    """Yield the runs of ``ids``, oldest first, page by page."""
    if not ids:
        return
    where = ""
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)  # naive means UTC
        where = f"attributes.start_time >= {int(since.timestamp() * 1000)}"
    token, count = None, 0
    while True:
        page = client.search_runs(
            ids,
            filter_string=where,
            max_results=_PAGE,
            page_token=token,
            order_by=["attributes.start_time ASC"],
        )
        for run in page:
            if limit is not None and count >= limit:
                return
            count += 1
            yield run
        token = page.token
        if not token:
            return


def _history(client: Any, run: Any, source: str) -> list[dict[str, Any]]:
    """Return every logged value of every metric of ``run``."""
    rows = []
    for key in sorted(run.data.metrics):
        for m in client.get_metric_history(run.info.run_id, key):
            rows.append(
                {
                    "run_id": run.info.run_id,
                    "key": key,
                    "step": m.step,
                    "timestamp": m.timestamp,
                    "value": m.value,
                    "source": source,
                }
            )
    return rows


def _first(values: Mapping[str, str], names: Sequence[str]) -> str | None:
    for name in names:
        value = values.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _count(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        count = float(text)
    except ValueError:
        log.warning("ignoring GPU count %r: not a number", text)
        return None
    return count if count > 0 else None


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build ``schema`` from rows whose timestamps are epoch milliseconds."""
    columns = {}
    for field in schema:
        values = [row[field.name] for row in rows]
        if pa.types.is_timestamp(field.type):
            millis = pa.array(values, type=pa.int64())
            columns[field.name] = pc.multiply(millis, 1000).cast(field.type)
        else:
            columns[field.name] = pa.array(values, type=field.type)
    return pa.table(columns, schema=schema)
