"""The planted stories: what went wrong at Nimbus Labs, and what it cost.

Costs are not hard-coded: :class:`StoryBook` sums the truth rows labelled with each story while
the demo is generated, so ``stories.json`` always matches the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from aifinops.demo.charges import ZERO, Charge


@dataclass(frozen=True)
class Story:
    """A planted story: its name, the provider and a description of how to spot it."""

    name: str
    title: str
    provider: str
    summary: str
    evidence: str


STORIES: tuple[Story, ...] = (
    Story(
        "runaway-training",
        "Runaway p5 training job",
        "aws",
        "The atlas-7b pre-training run on a p5.48xlarge (8x H100) was planned to end on "
        "2026-09-10 but kept running until 2026-09-19.",
        "metrics/usage.csv: epochs keep rising while loss stays flat at ~1.9 after "
        "2026-09-10; telemetry shows the GPUs busy.",
    ),
    Story(
        "idle-gpu-cluster",
        "Idle ND H100 v5 cluster",
        "azure",
        "Four Standard_ND96isr_H100_v5 nodes stayed allocated between two fine-tuning runs "
        "from 2026-10-12 to 2026-10-19 with nothing running on them.",
        "telemetry/gpu.csv: 32 GPUs at 0-2 % utilisation and almost no memory used for a "
        "week; no training metrics in that week.",
    ),
    Story(
        "zombie-notebook",
        "Zombie GPU notebook",
        "aws",
        "A SageMaker ml.g5.xlarge notebook was last used on 2026-08-12 but still holds the "
        "model in GPU memory and runs until the end of October.",
        "telemetry/gpu.csv: ~78 % of GPU memory held, 0 % utilisation, for weeks.",
    ),
    Story(
        "cross-cloud-copy",
        "Expensive cross-cloud dataset copy",
        "aws",
        "180 TB of the training dataset was copied from s3://nimbus-datasets to "
        "gs://nimbus-datasets-gcs over 48 hours, billed as AWS internet egress.",
        "AWS Data Transfer rows on 2026-09-14/15; the GCS bucket grows by 180 TB.",
    ),
)


@dataclass
class _Tally:
    billed: Decimal = ZERO
    effective: Decimal = ZERO
    rows: int = 0
    resources: set[str] = field(default_factory=set)
    start: datetime | None = None
    end: datetime | None = None


class StoryBook:
    """Running totals of the truth rows of each story."""

    def __init__(self) -> None:
        self._tallies: dict[str, _Tally] = {s.name: _Tally() for s in STORIES}

    def add(self, story: str, charge: Charge) -> None:
        """Count the truth row of ``charge``, labelled with ``story``."""
        tally = self._tallies[story]
        tally.billed += charge.billed
        tally.effective += charge.effective
        tally.rows += 1
        if charge.resource is not None:
            tally.resources.add(charge.resource)
        start, end = charge.start, charge.end
        tally.start = start if tally.start is None else min(tally.start, start)
        tally.end = end if tally.end is None else max(tally.end, end)

    def merge(self, other: StoryBook) -> None:
        """Add the story rows counted by ``other`` (another process) to this book."""
        for name, theirs in other._tallies.items():
            mine = self._tallies[name]
            mine.billed += theirs.billed
            mine.effective += theirs.effective
            mine.rows += theirs.rows
            mine.resources |= theirs.resources
            for moment in (theirs.start, theirs.end):
                if moment is None:
                    continue
                mine.start = moment if mine.start is None else min(mine.start, moment)
                mine.end = moment if mine.end is None else max(mine.end, moment)

    def write(self, path: Path) -> Path:
        """Write ``stories.json`` and return its path."""
        out = []
        for story in STORIES:
            t = self._tallies[story.name]
            out.append(
                {
                    "name": story.name,
                    "title": story.title,
                    "provider": story.provider,
                    "summary": story.summary,
                    "evidence": story.evidence,
                    "resource_ids": sorted(t.resources),
                    "period_start": f"{t.start:%Y-%m-%dT%H:%M:%SZ}" if t.start else None,
                    "period_end": f"{t.end:%Y-%m-%dT%H:%M:%SZ}" if t.end else None,
                    "truth_rows": t.rows,
                    "expected_billed_cost": str(t.billed),
                    "expected_effective_cost": str(t.effective),
                    "how_to_find": f"labels x_Story == '{story.name}' (same row order as focus/)",
                }
            )
        path.write_text(
            json.dumps({"company": "Nimbus Labs", "stories": out}, indent=2) + "\n",
            encoding="utf-8",
        )
        return path
