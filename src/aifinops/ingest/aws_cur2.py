"""Reader for AWS CUR 2.0 (Data Exports ``COST_AND_USAGE_REPORT``), Parquet or CSV(.gz).

CUR 2.0 has a fixed snake_case schema with the sparse groups folded into map columns:
``product`` (attributes such as ``product_name``, ``vcpu``), ``resource_tags`` (``user_team``),
``cost_category`` and ``discount``. An export may select only some columns; missing ones
read as NULL. In CSV exports the map columns hold JSON objects. The line-item semantics are
shared with the legacy CUR (:mod:`aifinops.ingest.aws_common`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aifinops.ingest import aws_common
from aifinops.ingest.aws_common import AwsColumns, AwsLayout
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import quote_ident, quote_literal

if TYPE_CHECKING:
    from aifinops.ingest.readers import ReadPlan

#: The map columns of CUR 2.0; any of them (or the account-name columns) marks the format.
MAP_COLUMNS = ("product", "resource_tags", "cost_category", "discount")
_CUR2_ONLY = frozenset({*MAP_COLUMNS, "bill_payer_account_name", "line_item_usage_account_name"})
_REQUIRED = ("line_item_line_item_type", "line_item_unblended_cost", "bill_payer_account_id")
VERSION = "2.0"


def _names(info: SourceInfo) -> dict[str, str]:
    return {c.lstrip("\ufeff").strip(): c for c in info.columns}


def is_cur2(info: SourceInfo) -> bool:
    """Return True when ``info`` has the CUR 2.0 required columns and a CUR 2.0-only one."""
    names = _names(info)
    return all(k in names for k in _REQUIRED) and bool(_CUR2_ONLY & names.keys())


def _map_value(column: str, key: str, *, typed: bool) -> str:
    if typed:
        return f"{column}[{quote_literal(key)}]"
    return f"json_extract_string({column}, {quote_literal('$.' + chr(34) + key + chr(34))})"


def _as_map(column: str, *, typed: bool) -> str:
    return column if typed else f"TRY_CAST(TRY_CAST({column} AS JSON) AS MAP(VARCHAR, VARCHAR))"


def layout(info: SourceInfo) -> AwsLayout:
    """Return where each CUR value sits in ``info`` (a CUR 2.0 file)."""
    names = _names(info)
    types = dict(zip(info.columns, info.column_types, strict=True))
    columns = {k: quote_ident(raw) for k, raw in names.items() if k not in MAP_COLUMNS}
    col_types = {k: types[raw] for k, raw in names.items()}
    product: dict[str, str] = {}
    tags = "NULL"
    if "product" in names:
        typed = col_types["product"].startswith("map")
        for attr in ("product_name", "vcpu", "memory", "gpu"):
            product[attr] = _map_value(quote_ident(names["product"]), attr, typed=typed)
    if "resource_tags" in names:
        typed = col_types["resource_tags"].startswith("map")
        as_map = _as_map(quote_ident(names["resource_tags"]), typed=typed)
        tags = aws_common.tags_map(f"map_entries({as_map})")
    # Static product_* columns win over the map (a few attributes exist as both).
    for attr in ("vcpu", "memory", "gpu"):
        if f"product_{attr}" in columns:
            product[attr] = columns[f"product_{attr}"]
    return AwsLayout(columns, col_types, product, tags)


def build_plan(
    info: SourceInfo,
    lay: AwsLayout,
    *,
    format_name: str,
    version: str,
    headers: Mapping[str, str],
) -> ReadPlan:
    """Return the read of an AWS CUR file laid out as ``lay`` (shared by both CUR readers)."""
    from aifinops.ingest.readers import ReadPlan
    from aifinops.ingest.scan import scan_sql

    cols = AwsColumns(lay)
    source = {
        "x_SourceFormat": quote_literal(format_name),
        "x_SourceVersion": quote_literal(version),
        "x_SourceFile": quote_literal(str(info.path)),
        "x_IngestedAt": "NULL",
    }
    negations = f"COALESCE({cols.type} = 'SavingsPlanNegation', FALSE)"
    return ReadPlan(
        format_name=format_name,
        version=version,
        scan=aws_common.with_parts(scan_sql(info), cols),
        select=aws_common.select_list(aws_common.focus_values(cols, source=source)),
        checks=aws_common.checks(cols, headers),
        where=f"NOT {negations}",
        notes=["Savings Plan negation lines dropped: covered usage is billed at 0 instead"],
        reconciliation=aws_common.reconciliation(cols),
    )


class AwsCur2Reader:
    """AWS CUR 2.0 / Data Exports (Parquet, CSV, CSV.gz), any subset of its columns."""

    name = "aws-cur2"
    description = "AWS CUR 2.0 (Data Exports) Parquet/CSV with line_item_* and map columns"
    provides = aws_common.provided()

    def detect(self, info: SourceInfo) -> bool:
        """Return True for a CUR 2.0 header or schema."""
        return is_cur2(info)

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return the read of a CUR 2.0 file.

        Raises:
            BadInputError: when a column every CUR 2.0 export has is missing.
        """
        del fallbacks, run_files
        names = _names(info)
        aws_common.require(info, names, _REQUIRED, "CUR 2.0")
        return build_plan(
            info,
            layout(info),
            format_name=f"aws-cur2-{info.kind}",
            version=VERSION,
            headers=dict(names),
        )
