"""Analyses over the lake: each function takes and returns an Ibis table."""

from __future__ import annotations

from aifinops.analyze.spend import DIMENSIONS, Period, parse_dimensions, parse_period, spend

__all__ = ["DIMENSIONS", "Period", "parse_dimensions", "parse_period", "spend"]
