"""What a resource cost in each time bucket: from the bill, or from measured GPU-time.

Units (requests, tokens, epochs …) are counted per *window*: one resource in one time bucket.
A window's key is the metrics' ``resource_id`` when they name one, else their ``host``
(:func:`window_key`). Its cost comes from one of two bases:

- **billing** (:func:`billing_costs`): the resource's cost rows spread evenly over their
  charge periods and cut at the bucket's edges (:func:`aifinops.analyze.windows.
  cost_in_windows`; matched on ``ResourceId`` = ``resource_id``). Host-only windows have none.
- **telemetry** (:func:`telemetry_gpu_time`): the GPU-time of the resource's telemetry
  samples whose timestamp falls in the bucket, priced later at a given USD per GPU-hour. A
  sample stands for the time to the same GPU's next sample (the waste analysis's rule:
  :func:`aifinops.analyze.phases.gpu_states`, capped at ``max_gap_s``). Windows keyed by a
  resource match telemetry of that ``resource_id`` (all its hosts); host-only windows match
  telemetry of that ``host``.

The *all-hours* figures (:func:`billing_totals`, :func:`telemetry_totals`) are the same sums
over every hour of each resource in each reporting period, with or without units.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from aifinops.analyze.counters import as_time, bucket_of
from aifinops.analyze.phases import WasteThresholds, gpu_states
from aifinops.analyze.windows import cost_in_windows
from aifinops.catalog import CLOUD_OF_PROVIDER

#: Prefixes of a window key: the metrics named a resource, or only a host.
RESOURCE_KEY, HOST_KEY = "r:", "h:"


def window_key(t: ir.Table) -> ir.StringValue:
    """Return ``r:<resource_id>`` where the row names a resource, else ``h:<host>``."""
    return ibis.ifelse(
        t.resource_id.notnull(),
        ibis.literal(RESOURCE_KEY) + t.resource_id,
        ibis.literal(HOST_KEY) + t.host,
    )


def window_id(key: ir.StringValue, bucket: ir.IntegerValue) -> ir.StringValue:
    """Return ``<window key>|<bucket start, Unix seconds>``."""
    return key + "|" + bucket.cast("string")


def cloud_of(provider: ir.StringValue) -> ir.StringValue:
    """Return ``aws``, ``azure`` or ``gcp`` for a FOCUS ProviderName, else the name itself."""
    cases = [(provider.isin(names), key) for key, names in _names_by_cloud().items()]
    return ibis.cases(*cases, else_=provider)


def _names_by_cloud() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for name, key in CLOUD_OF_PROVIDER.items():
        names.setdefault(key, []).append(name)
    return names


def resource_facts(costs: ir.Table) -> ir.Table:
    """Return, per ``ResourceId``, its cloud and the model, team and project its cost rows
    carry (``f_resource``, ``f_cloud``, ``f_model``, ``f_team``, ``f_project``)."""
    t = costs.filter(costs.ResourceId.notnull())
    return t.group_by(f_resource=t.ResourceId).aggregate(
        f_cloud=cloud_of(t.ProviderName).max(),
        f_model=t.x_Model.max(),
        f_team=t.x_Team.max(),
        f_project=t.x_Project.max(),
    )


def billing_costs(costs: ir.Table, windows: ir.Table, seconds: int) -> ir.Table:
    """Return ``window_id`` and ``cost`` (Σ effective cost in the bucket) of the windows
    (``window_id``, ``resource_id``, ``bucket``) that name a resource and have cost rows."""
    named = windows.filter(windows.resource_id.notnull())
    spans = named.select(
        "window_id",
        "resource_id",
        start=as_time(named.bucket),
        end=as_time(named.bucket + seconds),
        share=ibis.null("float64"),
    )
    spent = cost_in_windows(costs, spans)
    return spent.select("window_id", cost=spent.effective_cost)


def sample_time(telemetry: ir.Table, max_gap_s: float) -> ir.Table:
    """Return each telemetry sample's ``resource_id``, ``host``, ``timestamp`` and
    ``gpu_us`` (the GPU-time it stands for, in microseconds)."""
    states = gpu_states(telemetry, WasteThresholds(max_gap_s=max_gap_s))
    return states.select("resource_id", "host", "timestamp", gpu_us=states.duration_us)


def telemetry_gpu_time(samples: ir.Table, windows: ir.Table, seconds: int) -> ir.Table:
    """Return ``window_id`` and ``gpu_us`` (Σ GPU-time of the matching samples in the
    bucket) of the windows (``window_id``, ``resource_id``, ``host``, ``bucket``)."""
    per = samples.group_by(
        t_resource=samples.resource_id,
        t_host=samples.host,
        t_bucket=bucket_of(samples.timestamp, seconds),
    ).aggregate(t_us=samples.gpu_us.sum())
    joined = windows.join(per, [_matches(windows, per), windows.bucket == per.t_bucket])
    return joined.group_by("window_id").aggregate(gpu_us=joined.t_us.sum())


def _matches(w: ir.Table, t: ir.Table) -> ir.BooleanValue:
    """A window keyed by resource matches that resource's samples; else the host's."""
    by_resource = w.resource_id.notnull() & (w.resource_id == t.t_resource)
    by_host = w.resource_id.isnull() & (w.host == t.t_host)
    return by_resource | by_host


def billing_totals(costs: ir.Table, label: ir.StringValue | None) -> ir.Table:
    """Return, per resource key (``a_key``) and period label (``a_period``), the effective
    cost (``a_cost``), accelerator-hours (``a_gpu_hours``) and the effective cost of the rows
    that carry accelerator-hours (``a_gpu_cost``).

    Args:
        costs: cost rows (already cut to the report's period).
        label: the period label of each cost row (None: one period).
    """
    t = costs.filter(costs.ResourceId.notnull())
    period = label if label is not None else ibis.literal("")
    acc = t.x_AcceleratorHours.notnull()
    return t.group_by(a_key=ibis.literal(RESOURCE_KEY) + t.ResourceId, a_period=period).aggregate(
        a_cost=t.EffectiveCost.sum(),
        a_gpu_hours=t.x_AcceleratorHours.sum(),
        a_gpu_cost=t.EffectiveCost.sum(where=acc),
    )


def telemetry_totals(samples: ir.Table, label: ir.StringValue | None) -> ir.Table:
    """Return, per ``t_resource``, ``t_host`` and period label (``a_period``), the GPU-time
    of every sample (``a_gpu_us``)."""
    period = label if label is not None else ibis.literal("")
    return samples.group_by(
        t_resource=samples.resource_id, t_host=samples.host, a_period=period
    ).aggregate(a_gpu_us=samples.gpu_us.sum())


def match_totals(members: ir.Table, totals: ir.Table) -> ir.Table:
    """Join group members (``m_resource``, ``m_host``, ``period``) to telemetry totals with
    the window matching rule (resource when named, else host) and the same period; members
    without telemetry stay, with null totals."""
    by_resource = members.m_resource.notnull() & (members.m_resource == totals.t_resource)
    by_host = members.m_resource.isnull() & (members.m_host == totals.t_host)
    return members.left_join(totals, [by_resource | by_host, members.period == totals.a_period])
