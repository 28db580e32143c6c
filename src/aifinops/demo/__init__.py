"""Nimbus Labs, the demo AI company: three months of AWS, Azure and Google Cloud spend.

``generate(out_dir)`` writes the FOCUS 1.2 truth with its labels, the same charges as native
AWS CUR 2.0, Azure EA and GCP BigQuery exports, usage metrics, GPU telemetry and the planted
stories. See ``docs/demo.md``.
"""

from __future__ import annotations

from aifinops.demo.build import DemoResult, generate

__all__ = ["DemoResult", "generate"]
