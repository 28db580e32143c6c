"""What Nimbus Labs runs: GPU clusters, endpoints, notebooks, buckets and their schedules.

A :class:`Resource` is a pure description; :func:`instances_at` says how many of its instances
run in a given hour, so usage, metrics and telemetry all agree on the same schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from aifinops.demo.charges import Labels
from aifinops.demo.company import (
    DEMO_END,
    DEMO_START,
)

Window = tuple[datetime, datetime, str | None]
StoryWindow = tuple[datetime, datetime, str]
_ALL: tuple[Window, ...] = ((DEMO_START, DEMO_END, None),)


@dataclass(frozen=True)
class Resource:
    """One billed resource and how it behaves over the demo."""

    id: str
    name: str
    provider: str
    sub: str
    zone: str | None
    resource_type: str
    parts: tuple[tuple[str, Decimal], ...]
    labels: Labels
    tags: dict[str, str]
    count: int = 1
    pricing: str = "od"
    hours: str = "all"
    windows: tuple[Window, ...] = _ALL
    stories: tuple[StoryWindow, ...] = ()
    util: str = "busy"
    size_gb: tuple[int, int] = (0, 0)
    growth: tuple[datetime, datetime] | None = None
    gpus: int = 0
    extra: dict[str, str] = field(default_factory=dict)


def _hour_ok(kind: str, moment: datetime) -> bool:
    if kind == "daytime":
        return 8 <= moment.hour < 22
    if kind == "weekdays":
        return moment.weekday() < 5
    if kind == "business":
        return moment.weekday() < 5 and 9 <= moment.hour < 18
    return True


def window_at(res: Resource, moment: datetime) -> Window | None:
    """Return the run window of ``res`` holding ``moment``, if any."""
    for window in res.windows:
        if window[0] <= moment < window[1]:
            return window
    return None


def instances_at(res: Resource, moment: datetime) -> int:
    """Return how many instances of ``res`` run in the hour starting at ``moment``."""
    if window_at(res, moment) is None or not _hour_ok(res.hours, moment):
        return 0
    return res.count


def story_at(res: Resource, moment: datetime) -> str | None:
    """Return the planted story ``res`` is part of at ``moment``, if any."""
    for start, end, name in res.stories:
        if start <= moment < end:
            return name
    return None
