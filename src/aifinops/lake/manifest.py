"""The manifest of one lake partition: where its rows came from and what they add up to."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aifinops.lake.store import PartitionKey

MANIFEST_NAME = "_manifest.json"
#: Bump when the layout of the partition files changes; a partition written by another
#: schema version is rewritten even when its sources are unchanged.
LAKE_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SourceFile:
    """One source file that contributed rows to a partition."""

    path: str
    sha256: str
    format: str
    version: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    """What a partition holds; written beside its data file as ``_manifest.json``."""

    provider: str
    billing_account: str
    billing_period: str
    provider_name: str
    billing_account_id: str
    billing_currency: str
    row_count: int
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal
    sources: tuple[SourceFile, ...]
    content_sha256: str
    ingested_at: str
    focus_version: str = "1.2"
    tool_version: str = ""
    schema_version: int = LAKE_SCHEMA_VERSION
    data_files: tuple[str, ...] = field(default=("part-0.parquet",))

    def key(self) -> PartitionKey:
        """Return the partition key this manifest describes."""
        from aifinops.lake.store import PartitionKey

        return PartitionKey(self.provider, self.billing_account, self.billing_period)

    def source_digests(self) -> frozenset[str]:
        """Return the sha256 of every source file."""
        return frozenset(s.sha256 for s in self.sources)

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as JSON-ready data (Decimals as strings)."""
        data = asdict(self)
        for name in ("billed_cost", "effective_cost", "list_cost"):
            data[name] = str(getattr(self, name))
        return data

    def write(self, path: Path) -> None:
        """Write the manifest to ``path`` (durably)."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read a manifest written by :meth:`write`.

        Raises:
            ValueError: when the file is not a manifest.
        """
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        try:
            data["sources"] = tuple(SourceFile(**s) for s in data["sources"])
            data["data_files"] = tuple(data.get("data_files", ("part-0.parquet",)))
            for name in ("billed_cost", "effective_cost", "list_cost"):
                data[name] = Decimal(data[name])
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not an aifinops manifest: {exc}") from exc
