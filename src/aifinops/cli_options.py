"""Options every command shares: lake, engine, output format and period; and parsers of
values more than one command reads."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from aifinops.errors import BadInputError

LakeOpt = Annotated[
    Path | None,
    typer.Option(
        "--lake",
        help="Lake directory (default: $AIFINOPS_LAKE, else the config "
        "file's lake, else ~/.local/share/aifinops/lake).",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Analysis engine: duckdb or pyspark (default: $AIFINOPS_ENGINE, "
        "the config file's engine, else duckdb).",
        show_default=False,
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Output: table, json or csv.")]
PeriodOpt = Annotated[
    str | None,
    typer.Option("--period", help="Billing months: YYYY-MM, YYYY-MM..YYYY-MM, YYYY or all."),
]


def parse_gpu_hour_price(text: str | None) -> Decimal | None:
    """Parse ``--gpu-hour-price`` (a non-negative decimal number of USD; None when not given).

    Raises:
        BadInputError: naming the option, for anything else.
    """
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0:
        raise BadInputError(
            f"bad GPU-hour price {text!r}",
            column="--gpu-hour-price",
            expected="a non-negative number of USD, e.g. 3.50",
            fix="pass --gpu-hour-price 3.50",
        )
    return value
