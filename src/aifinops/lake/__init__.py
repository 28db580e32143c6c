"""Storage and compute: the Parquet lake, its manifests and the query engines."""

from __future__ import annotations

from aifinops.lake.engine import ENGINES, Engine, connect
from aifinops.lake.manifest import Manifest, SourceFile
from aifinops.lake.store import Lake, PartitionKey, provider_slug

__all__ = [
    "ENGINES",
    "Engine",
    "Lake",
    "Manifest",
    "PartitionKey",
    "SourceFile",
    "connect",
    "provider_slug",
]
