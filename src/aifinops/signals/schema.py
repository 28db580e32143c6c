"""The lake's signal tables: usage metrics, GPU telemetry and experiment runs.

Billing rows live in ``costs/``; what the ML work did lives beside them, one directory per
table (``metrics/``, ``telemetry/``, ``runs/``, ``run_metrics/``), one partition per imported
source. These schemas are the contract between the importers (:mod:`aifinops.signals`), the
NVML collector (:mod:`aifinops.collect`) and the analyses (:mod:`aifinops.analyze`): every
writer produces exactly these columns and types, every reader may rely on them.

Usage counts, utilisation and power are measurements, not money: they are ``float64``. Money
stays in ``costs/`` as DECIMAL.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

#: How a metric's values add up over time.
#: ``delta``: each value counts what happened since the previous sample (sum them);
#: ``cumulative``: a running counter (take increases, a drop is a restart, as Prometheus does);
#: ``gauge``: a level (loss, accuracy, queue length): never summed.
METRIC_KINDS = ("delta", "cumulative", "gauge")

#: Canonical metric names the analyses understand (importers map aliases onto them).
CANONICAL_METRICS = (
    "requests",
    "tokens_in",
    "tokens_out",
    "epochs",
    "steps",
    "samples",
    "loss",
)

METRICS = pa.schema(
    [
        ("timestamp", TS),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("kind", pa.string()),
        ("resource_id", pa.string()),
        ("host", pa.string()),
        ("run_id", pa.string()),
        ("model", pa.string()),
        ("team", pa.string()),
        ("project", pa.string()),
        ("labels", pa.string()),  # JSON object: every other dimension of the source row
        ("source", pa.string()),  # the imported file's name, or the collector's id
    ]
)

TELEMETRY = pa.schema(
    [
        ("timestamp", TS),
        ("host", pa.string()),
        ("resource_id", pa.string()),
        ("gpu_index", pa.int32()),
        ("gpu_uuid", pa.string()),
        ("gpu_model", pa.string()),
        ("gpu_util_pct", pa.float64()),  # NVML utilization.gpu / DCGM_FI_DEV_GPU_UTIL
        ("engine_active_pct", pa.float64()),  # DCGM_FI_PROF_GR_ENGINE_ACTIVE × 100 (nullable)
        ("mem_used_mib", pa.float64()),
        ("mem_total_mib", pa.float64()),
        ("power_w", pa.float64()),
        ("energy_j", pa.float64()),  # cumulative energy counter in joules (nullable)
        ("source", pa.string()),
    ]
)

RUNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("run_name", pa.string()),
        ("experiment_id", pa.string()),
        ("experiment", pa.string()),
        ("status", pa.string()),  # RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
        ("start_time", TS),
        ("end_time", TS),  # null while running
        ("user", pa.string()),
        ("resource_id", pa.string()),  # from tags (see docs/runs.md), else null
        ("host", pa.string()),
        ("gpu_count", pa.float64()),  # GPUs the run used (tag), null = the whole resource
        ("team", pa.string()),
        ("project", pa.string()),
        ("model", pa.string()),
        ("artifact_uri", pa.string()),
        ("params", pa.string()),  # JSON object
        ("tags", pa.string()),  # JSON object
        ("source", pa.string()),  # the tracking URI it came from
    ]
)

RUN_METRICS = pa.schema(
    [
        ("run_id", pa.string()),
        ("key", pa.string()),
        ("step", pa.int64()),
        ("timestamp", TS),
        ("value", pa.float64()),
        ("source", pa.string()),
    ]
)

#: Every signal table by its directory name.
SCHEMAS: dict[str, pa.Schema] = {
    "metrics": METRICS,
    "telemetry": TELEMETRY,
    "runs": RUNS,
    "run_metrics": RUN_METRICS,
}
