"""Storage and compute: the Parquet lake, its manifests and the query engines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aifinops.lake.manifest import Manifest, SourceFile
from aifinops.lake.store import Lake, PartitionKey, provider_slug

if TYPE_CHECKING:
    from aifinops.lake.engine import ENGINES, Engine, connect

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


def __getattr__(name: str) -> Any:
    # NOTE: the engines (Ibis, and through it pandas) load on first use: ingest never needs
    # them, and importing them cost every ingest about a second of start-up.
    if name in {"ENGINES", "Engine", "connect"}:
        from aifinops.lake import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
