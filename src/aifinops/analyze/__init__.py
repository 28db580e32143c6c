"""Analyses over the lake: Ibis expressions over the cost table, and reports built on them."""

from __future__ import annotations

from aifinops.analyze.carbon import (
    CARBON_DIMENSIONS,
    DEFAULT_CARBON_BY,
    CarbonReport,
    carbon_report,
    carbon_sums,
    missing_grid,
)
from aifinops.analyze.gpu import GpuReport, finish_gpu_rows, gpu_report, gpu_usage
from aifinops.analyze.report_rows import choose_dimensions
from aifinops.analyze.spend import DIMENSIONS, Period, parse_dimensions, parse_period, spend
from aifinops.analyze.workloads import (
    DEFAULT_WORKLOAD_BY,
    WORKLOAD_DIMENSIONS,
    WorkloadReport,
    workload_costs,
    workload_report,
)

__all__ = [
    "CARBON_DIMENSIONS",
    "DEFAULT_CARBON_BY",
    "DEFAULT_WORKLOAD_BY",
    "DIMENSIONS",
    "WORKLOAD_DIMENSIONS",
    "CarbonReport",
    "GpuReport",
    "Period",
    "WorkloadReport",
    "carbon_report",
    "carbon_sums",
    "choose_dimensions",
    "finish_gpu_rows",
    "gpu_report",
    "gpu_usage",
    "missing_grid",
    "parse_dimensions",
    "parse_period",
    "spend",
    "workload_costs",
    "workload_report",
]
