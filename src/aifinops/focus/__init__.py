"""The FOCUS contract: columns, our extensions, the lake schema and the validator."""

from __future__ import annotations

import pyarrow as pa

from aifinops.focus.columns import FOCUS_VERSION, focus_schema
from aifinops.focus.extensions import extensions_schema


def lake_schema() -> pa.Schema:
    """Return the schema of the lake's cost table: FOCUS 1.2, the 1.3 extras, then ``x_``."""
    return pa.schema([*focus_schema(with_extras=True), *extensions_schema()])


__all__ = ["FOCUS_VERSION", "lake_schema"]
