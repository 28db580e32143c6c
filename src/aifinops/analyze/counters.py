"""What usage samples add up to: counters, increases and time buckets, as Ibis expressions.

A metric's ``kind`` says how its samples add up (:data:`aifinops.signals.schema.METRIC_KINDS`):

- ``delta``: each value counts what happened since the previous sample; the values sum.
- ``cumulative``: a running counter. What counts is its *increase* between consecutive samples
  of one series; a drop is a restart (a process restarted, a new run), after which the new
  value itself counts, as Prometheus's ``increase()`` does. The first sample of a series is
  the baseline: it counts nothing, since what happened before it is unknown.
- ``gauge``: a level (loss, queue length): never summed.

A *series* is one metric of one source of samples: the rows sharing :data:`SERIES_KEYS`.
Samples with equal timestamps are ordered by value, so every engine takes the same increases.

Timestamps become whole milliseconds since 1970 (:func:`epoch_ms`) and fixed buckets of whole
seconds aligned on the Unix epoch (:func:`bucket_of`), the same on DuckDB and Spark.
"""

from __future__ import annotations

import re
from datetime import timedelta

import ibis
import ibis.expr.types as ir

from aifinops.errors import BadInputError

#: The columns that identify one series of samples.
SERIES_KEYS = ("metric", "resource_id", "host", "run_id", "model", "team", "project", "labels")
#: The kinds whose samples add up.
COUNTED_KINDS = ("delta", "cumulative")
#: Named bucket sizes, in seconds.
NAMED_BUCKETS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_DAY = 86400
_SIZE = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": _DAY}


def counted(metrics: ir.Table) -> ir.Table:
    """Return the samples that add up, each with ``amount``: what it adds to a sum.

    ``delta`` samples add their value; ``cumulative`` samples add the increase since the
    previous sample of their series (0 for the first; the value itself after a drop); ``gauge``
    samples, and samples of any other kind, are left out. Null values count nothing.

    Args:
        metrics: a table with the :data:`aifinops.signals.schema.METRICS` columns.
    """
    t = metrics.filter(metrics.kind.isin(COUNTED_KINDS), metrics.value.notnull())
    series = ibis.window(group_by=list(SERIES_KEYS), order_by=[t.timestamp, t.value])
    previous = t.value.lag().over(series)
    increase = (
        ibis.cases(
            (previous.isnull(), ibis.literal(0.0)),
            (t.value >= previous, t.value - previous),
            else_=t.value,
        )
    ).cast("float64")
    amount = ibis.ifelse(t.kind == "delta", t.value, increase).cast("float64")
    return t.mutate(amount=amount)


def epoch_ms(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Return whole milliseconds since 1970-01-01 UTC (sub-millisecond digits dropped).

    NOTE: DuckDB's epoch seconds carry the fraction and Spark's do not, so the whole seconds
    are floored and the milliseconds added apart; both engines then agree.
    """
    seconds = ts.epoch_seconds().cast("float64").floor().cast("int64")
    return seconds * 1000 + ts.millisecond().cast("int64")


def bucket_of(ts: ir.TimestampValue, seconds: int) -> ir.IntegerValue:
    """Return the start of the ``seconds``-long bucket holding ``ts``, in Unix seconds."""
    whole = ts.epoch_seconds().cast("float64").floor().cast("int64")
    return (whole // seconds) * seconds


def as_time(unix_seconds: ir.IntegerValue) -> ir.TimestampValue:
    """Return Unix seconds as a UTC timestamp."""
    return unix_seconds.as_timestamp("s")


def parse_bucket(size: str | int | timedelta) -> int:
    """Return a bucket size in whole seconds.

    Accepts ``hour``, ``day``, ``minute``, ``second``, ``10s``, ``5m``, ``2h``, ``1d``, a
    number of seconds or a :class:`~datetime.timedelta`. The size must divide a day, so that
    buckets never straddle midnight (days and months are made of whole buckets).

    Raises:
        BadInputError: for anything else.
    """
    if isinstance(size, timedelta):
        seconds = size.total_seconds()
    elif isinstance(size, int):
        seconds = size
    else:
        named = NAMED_BUCKETS.get(size.strip().lower())
        match = _SIZE.match(size)
        if named is not None:
            seconds = named
        elif match:
            seconds = int(match[1]) * _UNIT_SECONDS[match[2].lower()]
        else:
            seconds = -1
    if seconds != int(seconds) or not 0 < seconds <= _DAY or _DAY % int(seconds):
        raise BadInputError(
            f"bad bucket size {size!r}",
            column="--bucket",
            expected="hour, day, minute, or Ns / Nm / Nh that divides a day (10s, 15m, 6h)",
            fix="pick a bucket no finer than the metrics' sampling interval, e.g. --bucket hour.",
        )
    return int(seconds)
