"""The accelerator catalog: instance types, SKU patterns, prices, power and grid carbon.

Package data in ``catalog/data`` (CSV, written by ``scripts/build_catalog.py`` from public
facts; see ``docs/catalog.md``). Typical use::

    from aifinops.catalog import load_catalog

    catalog = load_catalog()
    catalog.instance("aws", "USE1-BoxUsage:p5.48xlarge").accelerator   # 'H100-80GB-SXM'
    catalog.price("gcp", "us-central1", "a3-highgpu-8g", "commit_1y")  # Decimal per hour
"""

from __future__ import annotations

from aifinops.catalog.load import load_catalog
from aifinops.catalog.model import (
    CLOUDS,
    KINDS,
    TERMS,
    Accelerator,
    Catalog,
    GridFactor,
    InstanceType,
    Price,
    SkuPattern,
)
from aifinops.catalog.names import CLOUD_OF_PROVIDER, INSTANCE_TYPE_RE2, cloud_key
from aifinops.catalog.offers import gpu_offers, gpu_summary
from aifinops.catalog.overrides import PriceOverride

__all__ = [
    "CLOUDS",
    "CLOUD_OF_PROVIDER",
    "INSTANCE_TYPE_RE2",
    "KINDS",
    "TERMS",
    "Accelerator",
    "Catalog",
    "GridFactor",
    "InstanceType",
    "Price",
    "PriceOverride",
    "SkuPattern",
    "cloud_key",
    "gpu_offers",
    "gpu_summary",
    "load_catalog",
]
