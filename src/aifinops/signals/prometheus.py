"""Prometheus data in files: HTTP API query responses and the text exposition format.

Two shapes of Prometheus data reach aifinops as files:

* a saved HTTP API response (``curl .../api/v1/query_range?query=... > file.json``):
  ``{"status": "success", "data": {"resultType": "matrix" | "vector", "result": [...]}}``;
* a scrape of an exporter's ``/metrics`` endpoint in the text exposition format
  (``curl localhost:9400/metrics >> scrapes.prom``), one scrape or several one after another.

Both become :class:`PromSeries`: one labelled time series with its points, the metric name in
the ``__name__`` label as Prometheus itself stores it. Nothing here knows what the metrics
mean; :mod:`aifinops.signals.dcgm` and the metrics importer map series onto the lake's tables.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aifinops.errors import BadInputError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>.*)\})?"
    r"\s+(?P<value>\S+)"
    r"(?:\s+(?P<ts>\S+))?\s*$"
)
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass
class PromSeries:
    """One labelled time series.

    Attributes:
        labels: every label, including the metric name as ``__name__``.
        points: ``(timestamp, value)`` pairs in file order; timestamps are UTC.
    """

    labels: dict[str, str]
    points: list[tuple[datetime, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Return the metric name (the ``__name__`` label)."""
        return self.labels.get("__name__", "")


def from_unix(seconds: float) -> datetime:
    """Return the UTC datetime of a unix timestamp, rounded to the microsecond."""
    return EPOCH + timedelta(microseconds=round(seconds * 1_000_000))


# --- HTTP API query responses ------------------------------------------------------------------


def read_query_json(path: str | Path) -> list[PromSeries]:
    """Read a saved Prometheus HTTP API query response (instant or range query).

    The file holds one response object, or a JSON list of them (several queries saved together).

    Args:
        path: the ``.json`` file.

    Returns:
        One series per result, in file order; ``NaN`` and ``±Inf`` values are kept as floats.

    Raises:
        BadInputError: the file is not JSON, Prometheus answered with an error, or the result is
            not a ``matrix`` or ``vector``.
    """
    file = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(
            f"cannot read it as JSON ({exc})",
            file=file,
            expected="a Prometheus HTTP API response (/api/v1/query or /api/v1/query_range)",
            fix="save the response body as it is, e.g. "
            "curl -s '<prometheus>/api/v1/query_range?...' > file.json",
        ) from exc
    responses = doc if isinstance(doc, list) else [doc]
    series: list[PromSeries] = []
    for response in responses:
        series.extend(_response_series(response, file))
    return series


def _response_series(response: Any, file: str) -> list[PromSeries]:
    """Return the series of one API response object."""
    if not isinstance(response, dict) or "status" not in response:
        raise BadInputError(
            "this is JSON but not a Prometheus API response (no 'status' key)",
            file=file,
            expected='{"status": "success", "data": {"resultType": ..., "result": [...]}}',
            fix="save the body of /api/v1/query or /api/v1/query_range unchanged",
        )
    if response["status"] != "success":
        kind = response.get("errorType", "error")
        raise BadInputError(
            f"Prometheus answered with an error ({kind}): {response.get('error', '')}",
            file=file,
            expected='status "success"',
            fix="fix the query and save the response again",
        )
    data = response.get("data") or {}
    kind = data.get("resultType")
    if kind not in ("matrix", "vector"):
        raise BadInputError(
            f"resultType {kind!r} has no labelled series",
            file=file,
            column="data.resultType",
            expected='"matrix" (a range query) or "vector" (an instant query)',
            fix="query a metric selector (e.g. DCGM_FI_DEV_GPU_UTIL), not a scalar or string",
        )
    return [_result_series(item, kind, file, n) for n, item in enumerate(data["result"], 1)]


def _result_series(item: dict[str, Any], kind: str, file: str, n: int) -> PromSeries:
    """Return one ``result`` entry as a series (``n`` is its 1-based position, for errors)."""
    pairs: list[Any] = item.get("values", []) if kind == "matrix" else [item.get("value")]
    labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
    points: list[tuple[datetime, float]] = []
    for pair in pairs:
        try:
            points.append((from_unix(float(pair[0])), float(pair[1])))
        except (TypeError, ValueError, IndexError) as exc:
            raise BadInputError(
                f'result {n} holds a sample that is not [unix_seconds, "value"]: {pair!r}',
                file=file,
                row=n,
                column="values" if kind == "matrix" else "value",
                expected='[1764330000.123, "87"]',
                fix="save the Prometheus response unchanged",
            ) from exc
    return PromSeries(labels, points)


# --- text exposition format --------------------------------------------------------------------


def read_exposition(path: str | Path, *, default_time: datetime | None = None) -> list[PromSeries]:
    """Read a file of one or more scrapes in the Prometheus text exposition format.

    Args:
        path: the file (``.prom``, ``.txt``, ``.metrics``).
        default_time: the time of samples written without a timestamp; the file's
            modification time when not given.

    Returns:
        The file's series (see :func:`parse_exposition`).

    Raises:
        BadInputError: the file cannot be read or a line is not a valid sample.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        when = default_time or datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read it ({exc})", file=str(file)) from exc
    return parse_exposition(text, default_time=when, source=str(file))


def parse_exposition(
    text: str, *, default_time: datetime, source: str | None = None
) -> list[PromSeries]:
    """Parse Prometheus text exposition: ``# HELP``/``# TYPE`` lines and samples.

    Several scrapes may follow one another; the samples of one series are gathered in order.
    A sample's optional timestamp is in milliseconds (the Prometheus text format); one with a
    decimal point is read as seconds (OpenMetrics). Samples without one get ``default_time``.

    Args:
        text: the exposition text.
        default_time: the time of samples without a timestamp (naive means UTC).
        source: the file name, for error messages.

    Returns:
        One series per distinct metric name and label set, in order of first appearance.

    Raises:
        BadInputError: a line is neither a comment nor a valid sample (the line is named).
    """
    default = default_time if default_time.tzinfo else default_time.replace(tzinfo=UTC)
    default = default.astimezone(UTC)
    series: dict[tuple[str, tuple[tuple[str, str], ...]], PromSeries] = {}
    label_cache: dict[str, tuple[tuple[str, str], ...]] = {}
    time_cache: dict[str, datetime] = {}  # every sample of one scrape shares its timestamp
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise _line_error(source, number, "this line is not a sample", line)
        name, label_text = match["name"], match["labels"] or ""
        labels = label_cache.get(label_text)
        if labels is None:
            parsed = _parse_labels(label_text, source, number)
            labels = label_cache[label_text] = tuple(sorted(parsed.items()))
        value = _number(match["value"], source, number, "value")
        stamp = match["ts"]
        when = default if stamp is None else time_cache.get(stamp)
        if when is None:
            when = time_cache[stamp] = _timestamp(stamp, source, number)
        key = (name, labels)
        if key not in series:
            series[key] = PromSeries({"__name__": name, **dict(labels)})
        series[key].points.append((when, value))
    return list(series.values())


def _parse_labels(text: str, source: str | None, number: int) -> dict[str, str]:
    """Return the labels of ``{a="1",b="x\\"y"}`` (without the braces), escapes undone."""
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(text.rstrip()):
        match = _LABEL.match(text, pos)
        if match is None:
            raise _line_error(source, number, 'a label is not name="value"', text[pos:])
        labels[match[1]] = re.sub(r"\\[\\\"n]", lambda m: _ESCAPES[m[0]], match[2])
        pos = match.end()
    return labels


def _number(text: str, source: str | None, number: int, what: str) -> float:
    """Return a sample value (``NaN``, ``+Inf`` and ``-Inf`` included)."""
    try:
        return float(text)
    except ValueError as exc:
        raise _line_error(source, number, f"the {what} is not a number", text) from exc


def _timestamp(text: str, source: str | None, number: int) -> datetime:
    """Return a sample timestamp: integer milliseconds, or seconds when it has a decimal point."""
    if "." in text or "e" in text.lower():
        seconds = _number(text, source, number, "timestamp")
        if math.isfinite(seconds):
            return from_unix(seconds)
    elif text.lstrip("-").isdigit():
        return EPOCH + timedelta(milliseconds=int(text))
    raise _line_error(source, number, "the timestamp is not unix milliseconds", text)


def _line_error(source: str | None, number: int, problem: str, text: str) -> BadInputError:
    """Return the error for an unreadable exposition line."""
    return BadInputError(
        f"line {number}: {problem}: {text[:120]!r}",
        file=source,
        expected='metric_name{label="value",...} 12.5 [timestamp_ms], or a # comment',
        fix="save the exporter's /metrics output unchanged (curl -s host:9400/metrics >> file)",
    )
