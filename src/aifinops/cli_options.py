"""Options every command shares: lake, engine, output format and period."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
