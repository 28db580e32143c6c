"""The unit-economics figures: which unit each divides by, and how each is worked out, in words.

The texts are what ``aifinops report units`` prints under its rows and returns as
``formulas`` in JSON, so a reader never has to guess what a figure means.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aifinops.analyze.report_rows import trimmed


@dataclass(frozen=True)
class Figure:
    """One per-unit figure: the metric it divides by, its column and its scale."""

    metric: str
    column: str
    scale: int
    per: str

    def columns(self) -> tuple[str, ...]:
        """Return the row's columns of this figure: units, priced units, their cost, figure."""
        m = self.metric
        return (m, f"{m}_priced", f"{m}_cost", self.column)


#: Every counted unit and its figure, in report order.
FIGURES = (
    Figure("requests", "usd_per_1k_requests", 1000, "1,000 requests"),
    Figure("tokens_in", "usd_per_1m_tokens_in", 1_000_000, "1M input tokens"),
    Figure("tokens_out", "usd_per_1m_tokens_out", 1_000_000, "1M output tokens"),
    Figure("epochs", "usd_per_epoch", 1, "epoch"),
    Figure("steps", "usd_per_step", 1, "step"),
    Figure("samples", "usd_per_1k_samples", 1000, "1,000 samples"),
)
_NAMED = {1: "1-second", 60: "1-minute", 3600: "hour", 86400: "day"}


def bucket_name(seconds: int) -> str:
    """Return ``hour``, ``day`` or ``10-second`` for a bucket size."""
    if seconds in _NAMED:
        return _NAMED[seconds]
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-hour"
    if seconds % 60 == 0:
        return f"{seconds // 60}-minute"
    return f"{seconds}-second"


def _cost_words(price: Decimal | None) -> str:
    if price is None:
        return "effective cost (the bill, spread evenly over each charge period)"
    return f"measured GPU-time (telemetry samples) × {trimmed(price)} USD per GPU-hour, as the cost"


def formulas(seconds: int, price: Decimal | None) -> dict[str, str]:
    """Return, per figure column, how it is worked out."""
    bucket, cost = bucket_name(seconds), _cost_words(price)
    out = {}
    for f in FIGURES:
        scale = f" × {f.scale:,}" if f.scale != 1 else ""
        out[f.column] = (
            f"{cost} of the resources in the {bucket}s in which {f.metric} were counted "
            f"÷ {f.metric} counted in those {bucket}s{scale} (USD per {f.per})"
        )
    out["usd_per_1k_requests_all_hours"] = (
        f"{cost} of the group's resources over the whole period, hours without requests "
        "included ÷ requests × 1,000 (the fully loaded figure)"
    )
    out["usd_per_gpu_hour"] = (
        "Σ EffectiveCost ÷ Σ x_AcceleratorHours of the group's resources' rows that carry "
        "accelerator-hours"
        if price is None
        else f"the given price: {trimmed(price)} USD per measured GPU-hour"
    )
    return out


def notes(seconds: int, price: Decimal | None) -> tuple[str, ...]:
    """Return what the reader must know about the attribution."""
    bucket = bucket_name(seconds)
    missing = (
        "bill rows (not billed yet, or a host the bill does not name)"
        if price is None
        else "telemetry samples"
    )
    return (
        f"Units and cost meet per resource and {bucket}: the {bucket}s in which a unit was "
        "not counted are not charged to it (usd_per_1k_requests_all_hours charges them all).",
        "Input and output tokens each carry the full cost of their buckets: the two "
        "per-token figures are not additive.",
        "Cumulative counters count their increases; the first sample of each series is the "
        "baseline and counts nothing.",
        "A bucket's cost counts once per row: a resource serving several models counts in "
        "full for each.",
        f"<unit>_priced below <unit>: some units fell in buckets without {missing}; the "
        "figures divide by the priced units only.",
    )
