"""Allocation commands: ``aifinops allocate --dry-run``, ``report tags``, ``report showback``.

Thin over :mod:`aifinops.allocate`. ``cli.py`` registers them::

    app.command("allocate")(cli_allocate.allocate)
    report_app.command("tags")(cli_allocate.report_tags)
    report_app.command("showback")(cli_allocate.report_showback)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aifinops.cli_options import EngineOpt, FormatOpt, LakeOpt, PeriodOpt
from aifinops.cli_output import check_format, emit, errors
from aifinops.errors import BadInputError

if TYPE_CHECKING:
    from aifinops.allocate import AllocationConfig
    from aifinops.analyze import Period
    from aifinops.lake import Engine

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="YAML file whose allocation: section is used (default: the config file in "
        "force; see docs/allocation.md).",
        show_default=False,
    ),
]
_ROW_COLUMNS = ("month", "provider", "subaccount", "resource", "service", "charge_category")


def allocate(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show which rule or tag decides each row.")
    ] = False,
    config: ConfigOpt = None,
    period: PeriodOpt = None,
    limit: Annotated[int, typer.Option(help="Rows to show, largest cost first (0 = all).")] = 50,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule",
            help="Only rows this label decided: rule:<name>, tag:<alias>, "
            "source:<field> or '(unallocated)'.",
        ),
    ] = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Preview allocation: the owners each row gets and which rule or tag alias decided."""
    from aifinops.allocate import OWNER_COLUMNS, rule_summary, summary_rows
    from aifinops.allocate import dry_run as dry_run_rows
    from aifinops.allocate.dryrun import DRY_RUN_COLUMNS, SUMMARY_COLUMNS

    with errors():
        check_format(fmt)
        if not dry_run:
            raise BadInputError(
                "allocation is applied when rows are ingested or enriched, not by this command",
                column="--dry-run",
                fix="run aifinops allocate --dry-run to preview the config's effect.",
            )
        cfg, chosen, con = _setup(config, period, lake, engine)
        expr = dry_run_rows(con.costs(), cfg, period=chosen, rule=rule)
        rows = con.execute(expr.limit(limit) if limit else expr).to_pylist()
        summary = summary_rows(
            con.execute(rule_summary(con.costs(), cfg, period=chosen)).to_pylist(), cfg
        )
    label = chosen.label() if chosen else "all periods"
    if fmt != "table":
        emit(rows, DRY_RUN_COLUMNS, fmt, period=label, summary=summary)
        return
    shown = [*_ROW_COLUMNS, "cost", "rule", *_filled(rows, tuple(OWNER_COLUMNS))]
    emit(rows, shown, fmt, title=f"Allocation dry run ({label}), largest cost first")
    emit(summary, SUMMARY_COLUMNS, fmt, title="Rows and EffectiveCost each label decided")


def report_tags(
    by: Annotated[
        str, typer.Option("--by", help="Dimensions, e.g. provider,account or team.")
    ] = "provider",
    required: Annotated[
        str, typer.Option("--required", help="Owner fields a row needs, e.g. team,project.")
    ] = "team",
    limit: Annotated[int, typer.Option(help="Untagged spenders to list (0 = none).")] = 20,
    stored: Annotated[
        bool,
        typer.Option(
            "--stored", help="Read owners as stored in the lake instead of deriving them."
        ),
    ] = False,
    config: ConfigOpt = None,
    period: PeriodOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Tag coverage: the share of spend whose owners are known, and the biggest untagged."""
    from aifinops.allocate.coverage import (
        COVERAGE_MEASURES,
        UNTAGGED_BY,
        UNTAGGED_MEASURES,
        parse_required,
        tag_coverage,
        untagged_spenders,
    )
    from aifinops.analyze import parse_dimensions

    with errors():
        check_format(fmt)
        dims, fields = parse_dimensions(by), parse_required(required)
        cfg, chosen, con = _setup(config, period, lake, engine)
        derive = None if stored else cfg
        cover = tag_coverage(con.costs(), by=dims, required=fields, period=chosen, config=derive)
        rows = con.execute(cover).to_pylist()
        untagged = []
        if limit:
            worst = untagged_spenders(
                con.costs(), limit=limit, required=fields, period=chosen, config=derive
            )
            untagged = con.execute(worst).to_pylist()
    label = chosen.label() if chosen else "all periods"
    title = f"Tag coverage of {', '.join(fields)} by {', '.join(dims) or 'total'} ({label})"
    if fmt != "table":
        emit(rows, [*dims, *COVERAGE_MEASURES], fmt, period=label, untagged=untagged)
        return
    emit([_percent(r) for r in rows], [*dims, *COVERAGE_MEASURES], fmt, title=title)
    if untagged:
        emit(untagged, [*UNTAGGED_BY, *UNTAGGED_MEASURES], fmt, title="Biggest untagged spenders")


def report_showback(
    by: Annotated[str, typer.Option("--by", help="Owner field: team, project, ...")] = "team",
    config: ConfigOpt = None,
    period: PeriodOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Showback: each owner's direct cost plus its exact share of every shared-cost pool."""
    from aifinops.allocate import split_shared

    with errors():
        check_format(fmt)
        cfg, chosen, con = _setup(config, period, lake, engine)
        result = split_shared(con.costs(), cfg, by=by, period=chosen, execute=con.execute)
    owners_rows, pool_rows = result.owner_rows(), result.pool_rows()
    columns = list(owners_rows[0]) if owners_rows else ["period", by, "total_cost"]
    label = chosen.label() if chosen else "all periods"
    if fmt != "table":
        emit(owners_rows, columns, fmt, period=label, pools=pool_rows)
        return
    emit(owners_rows, columns, fmt, title=f"Showback by {by} ({label})")
    if pool_rows:
        emit(pool_rows, list(pool_rows[0]), fmt, title="Shared-cost pools")


def _setup(
    config: Path | None, period: str | None, lake: Path | None, engine: str | None
) -> tuple[AllocationConfig, Period | None, Engine]:
    from aifinops.allocate import load_allocation_config
    from aifinops.analyze import parse_period
    from aifinops.lake import Lake, connect
    from aifinops.settings import config_path, load_settings

    cfg = load_allocation_config(config if config is not None else config_path())
    chosen = parse_period(period)
    settings = load_settings(lake=lake, engine=engine)
    con = connect(Lake.open(settings.lake, create=False), engine=settings.engine)
    return cfg, chosen, con


def _filled(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[str]:
    return [c for c in columns if any(r.get(c) is not None for r in rows)]


def _percent(row: dict[str, Any]) -> dict[str, Any]:
    shares = {k: f"{row[k] * 100:.1f} %" for k in ("cost_share", "row_share") if row[k] is not None}
    return {**row, **shares}
