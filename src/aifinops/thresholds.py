"""GPU waste thresholds: how telemetry samples are classified (the ``waste:`` settings).

A light module (pydantic only) so that the settings can hold it without loading the engines;
:mod:`aifinops.analyze.phases` applies it. ``docs/waste.md`` gives the reasoning behind each
default.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class WasteThresholds(BaseModel):
    """How samples are classified (the ``waste:`` settings). ``docs/waste.md`` gives the
    reasoning behind each default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    idle_util_pct: float = Field(
        default=5.0,
        ge=0,
        le=100,
        description="Activity (%) at or below which a GPU does no work. NVML reports whole "
        "percents and shows 1-3 % for a context being created, a health probe or a display; "
        "5 leaves room for that noise.",
    )
    underused_util_pct: float = Field(
        default=50.0,
        ge=0,
        le=100,
        description="Activity (%) below which a working GPU is under-used. Activity is a "
        "local peak (see smoothing): a GPU whose peaks stay under half the time busy leaves "
        "more than half of what is paid for unused.",
    )
    zombie_memory_pct: float = Field(
        default=10.0,
        ge=0,
        le=100,
        description="Share of the framebuffer (%) that makes a GPU without activity a "
        "zombie: a process holds weights or data but does not compute. A driver and CUDA "
        "context with a framework's cache hold a few percent of a data-centre GPU.",
    )
    smoothing: int = Field(
        default=2,
        ge=0,
        le=100,
        description="Samples either side in the closing that smooths activity: dips of up "
        "to twice this many samples between bursts (request gaps, data-loader stalls) do "
        "not break a phase.",
    )
    max_gap_s: float = Field(
        default=300.0,
        gt=0,
        description="Longest time (s) one sample stands for; a longer gap between two "
        "samples is no data. 300 s is Prometheus's default staleness (lookback) window. A "
        "GPU sampled more coarsely (an hourly export) gets twice its own cadence instead.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> WasteThresholds:
        if self.idle_util_pct >= self.underused_util_pct:
            raise ValueError(
                f"idle_util_pct ({self.idle_util_pct}) must be below underused_util_pct "
                f"({self.underused_util_pct})"
            )
        return self
