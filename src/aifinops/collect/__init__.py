"""Collect GPU telemetry on the machine itself: NVML samples into the lake and onto /metrics.

``aifinops collect gpu`` (:mod:`aifinops.cli_collect`) puts the pieces together:

* :class:`~aifinops.collect.nvml.GpuSampler` reads every GPU through NVML into rows of the
  lake's ``telemetry`` table;
* :func:`~aifinops.collect.loop.collect` samples at a fixed cadence until a duration, a
  sample count or Ctrl-C;
* :class:`~aifinops.collect.sink.LakeSink` writes the rows to the lake in chunks, one
  partition each, so a crash loses at most one chunk;
* :mod:`~aifinops.collect.exporter` serves the latest sample on ``/metrics`` with
  dcgm-exporter's names, for Prometheus and Grafana;
* :func:`~aifinops.collect.metadata.discover_resource_id` asks the cloud which billed
  resource this machine is (only when asked).
"""

from __future__ import annotations

from aifinops.collect.exporter import Exposition, MetricsServer, render, serve
from aifinops.collect.loop import CollectResult, Sampler, collect
from aifinops.collect.metadata import discover_resource_id
from aifinops.collect.nvml import NVML_MODULE_ENV, GpuDevice, GpuSampler, load_nvml
from aifinops.collect.sink import Chunk, LakeSink, NullSink, Sink, chunk_prefix

__all__ = [
    "NVML_MODULE_ENV",
    "Chunk",
    "CollectResult",
    "Exposition",
    "GpuDevice",
    "GpuSampler",
    "LakeSink",
    "MetricsServer",
    "NullSink",
    "Sampler",
    "Sink",
    "chunk_prefix",
    "collect",
    "discover_resource_id",
    "load_nvml",
    "render",
    "serve",
]
