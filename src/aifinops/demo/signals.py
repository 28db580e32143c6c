"""Usage metrics (requests, tokens, training progress) and GPU telemetry of the demo resources.

Both follow the same schedules as the bill (:func:`~aifinops.demo.resources.instances_at`),
and the planted stories show in them: the idle cluster and the zombie notebook sit at ~0 %
utilisation (the notebook still holds GPU memory); the runaway job keeps counting epochs while
its loss no longer improves.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from aifinops.demo.resources import Resource, instances_at, story_at, window_at
from aifinops.demo.usage import SKUS
from aifinops.demo.writer import LineSink

METRICS_HEADER = ["timestamp", "metric", "value", "resource_id", "model", "team"]
TELEMETRY_HEADER = [
    "timestamp",
    "resource_id",
    "host",
    "gpu_index",
    "gpu_util_pct",
    "mem_used_mib",
    "mem_total_mib",
    "power_w",
    "energy_j",
]
#: (memory MiB, TDP W) per GPU model.
GPU_FACTS: dict[str, tuple[int, int]] = {
    "H100-80GB-SXM": (81559, 700),
    "A100-40GB": (40960, 400),
    "A100-80GB": (81920, 300),
    "A10G": (22888, 150),
    "L4": (22888, 72),
    "T4": (15360, 70),
}


@lru_cache(maxsize=4096)
def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _field(text: str) -> str:
    """Return ``text`` as a CSV field (quoted only when it must be, as ``csv`` does)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _gpu_model(res: Resource) -> str | None:
    for key, _units in res.parts:
        model = SKUS[res.provider][key].gpu_model
        if model:
            return model
    return None


class Signals:
    """Writers of ``metrics/usage.csv`` and ``telemetry/gpu.csv``, fed one day at a time."""

    def __init__(self, out_dir: Path, *, seed: int, scale: float, period_hours: int) -> None:
        self.seed = seed
        # NOTE: small scales are for tests: sample as coarsely as the bill is written.
        self.hours = period_hours
        self.step = timedelta(hours=period_hours)
        _ = scale
        self.metrics = LineSink(out_dir / "metrics" / "usage.csv", ",".join(METRICS_HEADER))
        self.telemetry = LineSink(out_dir / "telemetry" / "gpu.csv", ",".join(TELEMETRY_HEADER))
        self._energy: dict[tuple[str, int, int], int] = {}
        self._epochs: dict[str, float] = {}

    def write_day(self, resources: list[Resource], day: datetime) -> None:
        """Write the metrics and telemetry of every resource for ``day``."""
        for res in resources:
            rng = random.Random(f"{self.seed}|{res.id}|{res.name}|{day:%Y%m%d}")
            model = _gpu_model(res)
            for hour in range(0, 24, self.hours):
                moment = day + timedelta(hours=hour)
                if instances_at(res, moment) == 0:
                    continue
                self._metrics(res, moment, rng)
                if model is not None and res.util != "tpu":
                    self._telemetry(res, moment, model, rng)

    def _metrics(self, res: Resource, moment: datetime, rng: random.Random) -> None:
        labels = res.labels
        rows: list[tuple[str, float]] = []
        if res.util == "inference":
            wave = 0.6 + 0.4 * math.sin((moment.hour - 9) / 24 * 2 * math.pi)
            requests = int(res.count * 1800 * self.hours * wave * rng.uniform(0.85, 1.15))
            rows += [
                ("requests", requests),
                ("tokens_in", requests * rng.randint(180, 260)),
                ("tokens_out", requests * rng.randint(90, 140)),
            ]
        elif labels.workload == "training" and self._training(res, moment):
            window = window_at(res, moment)
            key = f"{res.id}|{window[0] if window else ''}"
            epoch = self._epochs.get(key, 0.0) + 0.05 * self.hours
            self._epochs[key] = epoch
            plateau = story_at(res, moment) == "runaway-training"
            loss = 1.9 + (0.02 * rng.random() if plateau else 2.5 * math.exp(-epoch / 3))
            steps = rng.randint(1150, 1250) * self.hours
            rows += [("epochs", round(epoch, 3)), ("steps", steps), ("loss", round(loss, 4))]
        if not rows:
            return
        ts = _iso(moment)
        tail = ",".join(_field(t) for t in (res.id, labels.model or "", labels.team or ""))
        for metric, value in rows:
            self.metrics.write(f"{ts},{metric},{value},{tail}")

    @staticmethod
    def _training(res: Resource, moment: datetime) -> bool:
        window = window_at(res, moment)
        return window is not None and (window[2] is not None or res.labels.experiment is not None)

    def _util(self, res: Resource, moment: datetime, rng: random.Random) -> tuple[float, float]:
        """Return (utilisation %, memory fraction) of one GPU sample."""
        story = story_at(res, moment)
        if story == "idle-gpu-cluster":
            return rng.uniform(0, 2), rng.uniform(0.01, 0.03)
        if story == "zombie-notebook":
            return 0.0, rng.uniform(0.78, 0.8)
        if res.util == "inference":
            wave = 0.45 + 0.25 * math.sin((moment.hour - 9) / 24 * 2 * math.pi)
            return 100 * wave * rng.uniform(0.8, 1.2), rng.uniform(0.55, 0.7)
        if res.util in ("notebook", "zombie"):
            busy = rng.random() < 0.3
            return (rng.uniform(30, 80) if busy else rng.uniform(0, 5)), rng.uniform(0.3, 0.8)
        return rng.uniform(88, 99), rng.uniform(0.85, 0.95)

    def _telemetry(self, res: Resource, moment: datetime, model: str, rng: random.Random) -> None:
        mem_total, tdp = GPU_FACTS[model]
        seconds = int(self.step.total_seconds())
        sample = moment
        rid = _field(res.id)
        write = self.telemetry.write
        while sample < moment + timedelta(hours=self.hours):
            ts = _iso(sample)
            for node in range(instances_at(res, moment)):
                host = _field(res.name if res.count == 1 else f"{res.name}-{node:02d}")
                head = f"{ts},{rid},{host}"
                for gpu in range(res.gpus):
                    util, mem = self._util(res, sample, rng)
                    power = round(tdp * (0.12 + 0.88 * util / 100), 1)
                    key = (res.id, node, gpu)
                    energy = self._energy.get(key, 0) + int(power * seconds)
                    self._energy[key] = energy
                    write(
                        f"{head},{gpu},{util:.1f},{int(mem_total * mem)},{mem_total},"
                        f"{power:.1f},{energy}"
                    )
            sample += self.step

    def close(self) -> list[Path]:
        """Close both files and return their paths."""
        self.metrics.close()
        self.telemetry.close()
        return [self.metrics.path, self.telemetry.path]
