"""What the ML work did, beside what it cost: usage metrics, GPU telemetry, experiment runs.

The tables' schemas are in :mod:`aifinops.signals.schema`; :mod:`aifinops.signals.store`
keeps them in the lake (one partition per imported source); the importers turn files into
those tables (:func:`aifinops.signals.metrics_files.read_metrics` for usage metrics).
"""

from __future__ import annotations

from aifinops.signals.schema import CANONICAL_METRICS, METRIC_KINDS, SCHEMAS
from aifinops.signals.store import (
    SignalFile,
    SignalManifest,
    signal_files,
    signal_manifests,
    write_signal,
)

__all__ = [
    "CANONICAL_METRICS",
    "METRIC_KINDS",
    "SCHEMAS",
    "SignalFile",
    "SignalManifest",
    "signal_files",
    "signal_manifests",
    "write_signal",
]
