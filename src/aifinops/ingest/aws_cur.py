"""Reader for the legacy AWS Cost and Usage Report (CUR 1): CSV, CSV.gz or Athena Parquet.

Legacy CUR headers are ``category/Name`` (``lineItem/UnblendedCost``, ``product/instanceType``,
``resourceTags/user:Team``); the Athena Parquet flavour spells the same columns in
snake_case (``line_item_unblended_cost``, ``resource_tags_user_team``). Both are mapped onto
CUR 2.0 keys so the line-item semantics in :mod:`aifinops.ingest.aws_common` apply unchanged.
The schema is dynamic (columns come and go with usage); a missing column reads as NULL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aifinops.ingest import aws_common
from aifinops.ingest.aws_common import AwsLayout
from aifinops.ingest.aws_cur2 import build_plan, is_cur2, provided
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import ReadPlan

VERSION = "1"
_REQUIRED = ("line_item_line_item_type", "line_item_unblended_cost", "bill_payer_account_id")
_UPPER = re.compile(r"([A-Z])")
_TAG_PREFIXES = (("resourceTags/", ""), ("resource_tags_", ""))
_PRODUCT_ATTRS = ("product_name", "vcpu", "memory", "gpu")


def snake(header: str) -> str:
    """Return the CUR 2.0 key of a legacy header (``lineItem/UnblendedCost`` -> snake_case).

    Every capital letter starts a new word, as Athena spells the columns
    (``savingsPlan/SavingsPlanARN`` -> ``savings_plan_savings_plan_a_r_n``).
    """
    category, _, name = header.partition("/")
    words = [_UPPER.sub(r"_\1", part).lower().strip("_") for part in (category, name) if part]
    return "_".join(words)


def _tag_key(header: str) -> str | None:
    """Return the tag key a tag column holds (CUR 2.0 map spelling), or None."""
    if header.startswith("resourceTags/"):
        key = header.removeprefix("resourceTags/")
        # NOTE: CUR 1 writes 'user:Team' / 'aws:createdBy'; the map form uses '_'.
        return key.replace(":", "_", 1)
    if header.startswith("resource_tags_"):
        return header.removeprefix("resource_tags_")
    return None


def _tags(tag_columns: Mapping[str, str]) -> str:
    if not tag_columns:
        return "NULL"
    entries = ", ".join(
        f"struct_pack(key := {quote_literal(k)}, value := CAST({col} AS VARCHAR))"
        for k, col in sorted(tag_columns.items())
    )
    return aws_common.tags_map(f"[{entries}]")


def headers(info: SourceInfo) -> dict[str, str]:
    """Return CUR 2.0 key -> the file's column name, for every non-tag column."""
    found: dict[str, str] = {}
    for raw in info.columns:
        name = raw.lstrip("\ufeff").strip()
        if _tag_key(name) is None:
            found.setdefault(snake(name), raw)
    return found


def layout(info: SourceInfo) -> AwsLayout:
    """Return where each CUR value sits in ``info`` (a legacy CUR file)."""
    types = dict(zip(info.columns, info.column_types, strict=True))
    scanned = aws_common.scan_names(info.columns)
    keys = headers(info)
    columns = {k: quote_ident(scanned[raw]) for k, raw in keys.items()}
    tag_columns = {
        key: quote_ident(scanned[raw])
        for raw in info.columns
        if (key := _tag_key(raw.lstrip("\ufeff").strip())) is not None
    }
    product = {a: columns[f"product_{a}"] for a in _PRODUCT_ATTRS if f"product_{a}" in columns}
    return AwsLayout(
        columns, {k: types[raw] for k, raw in keys.items()}, product, _tags(tag_columns)
    )


def is_legacy_cur(info: SourceInfo) -> bool:
    """Return True for a legacy CUR header (slash or Athena snake_case, not CUR 2.0)."""
    return all(k in headers(info) for k in _REQUIRED) and not is_cur2(info)


class AwsCurReader:
    """Legacy AWS CUR (CUR 1): CSV/CSV.gz with ``lineItem/…`` headers, or Athena Parquet."""

    name = "aws-cur"
    description = "AWS legacy CUR CSV/CSV.gz (lineItem/… headers) or Athena Parquet (line_item_…)"
    provides = provided()

    def detect(self, info: SourceInfo) -> bool:
        """Return True for a legacy CUR header or schema."""
        return is_legacy_cur(info)

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return the read of a legacy CUR file.

        Raises:
            BadInputError: when a column every CUR has is missing.
        """
        del fallbacks, run_files
        keys = headers(info)
        aws_common.require(info, keys, _REQUIRED, "CUR")
        flavour = "csv" if info.kind == "csv" else "athena-parquet"
        return build_plan(
            info,
            layout(info),
            format_name=f"aws-cur-{flavour}",
            version=VERSION,
            headers=keys,
        )
