"""The ``aifinops`` command line: parse, call the library, format.

Exit codes: 0 ok, 1 findings (validation violations), 2 bad input (the message says the fix).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from aifinops import __version__, cli_allocate, cli_enrich, cli_serve
from aifinops.cli_catalog import catalog_app
from aifinops.cli_catalog_refresh import refresh as refresh_catalog_command
from aifinops.cli_collect import collect_app
from aifinops.cli_import import import_app
from aifinops.cli_options import EngineOpt, FormatOpt, LakeOpt, PeriodOpt
from aifinops.cli_output import EXIT_FINDINGS, check_format, emit, err, errors, out, progress_bar
from aifinops.cli_report_output import REPORT_FORMATS, ReportFormatOpt, show
from aifinops.cli_reports import report_carbon, report_gpu, report_workloads
from aifinops.cli_runs import import_runs, report_runs
from aifinops.cli_units import report_storage, report_units
from aifinops.cli_waste import report_waste
from aifinops.settings import load_settings

app = typer.Typer(
    name="aifinops",
    help="What AI/ML work really costs across AWS, Azure and Google Cloud.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(help="Reports over the lake.", no_args_is_help=True)
app.add_typer(report_app, name="report")
catalog_app.command("refresh")(refresh_catalog_command)
app.command("allocate")(cli_allocate.allocate)
app.command("enrich")(cli_enrich.enrich)
app.command("serve")(cli_serve.serve)
report_app.command("tags")(cli_allocate.report_tags)
report_app.command("showback")(cli_allocate.report_showback)
report_app.command("gpu")(report_gpu)
report_app.command("workloads")(report_workloads)
report_app.command("carbon")(report_carbon)
report_app.command("waste")(report_waste)
report_app.command("runs")(report_runs)
report_app.command("units")(report_units)
report_app.command("storage")(report_storage)
import_app.command("runs")(import_runs)
app.add_typer(catalog_app, name="catalog")
app.add_typer(import_app, name="import")
app.add_typer(collect_app, name="collect")


def main() -> None:
    """Run the command line (the ``aifinops`` console script)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


@app.command()
def version() -> None:
    """Print the aifinops version."""
    out.print(__version__)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the demo exports go.")] = Path(
        ".demo"
    ),
    lake: LakeOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same company.")] = 7,
    scale: Annotated[float, typer.Option(help="Row volume multiplier (1 = ~50k rows).")] = 1.0,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="Load the lake from the 'native' exports (AWS CUR 2.0, "
            "Azure EA, GCP BigQuery) or the generator's FOCUS 'truth'.",
        ),
    ] = "native",
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="Serve the dashboard afterwards (Ctrl-C stops it); "
            "--no-serve only builds the lake.",
        ),
    ] = True,
) -> None:
    """Generate the demo AI company's multi-cloud exports, ingest them and show the spend."""
    from aifinops.analyze import spend
    from aifinops.lake import Lake, connect
    from aifinops.quickstart import build_demo

    with errors():
        settings = load_settings(lake=lake if lake is not None else out_dir / "lake")
        target = Lake.open(settings.lake)
        with progress_bar() as progress:
            built = build_demo(
                out_dir, target, seed=seed, scale=scale, source=source, progress=progress
            )
        engine = connect(target)
        expr = spend(engine.costs(), by=["provider", "month"]).order_by("provider", "month")
        rows = engine.execute(expr).to_pylist()
        work = engine.execute(spend(engine.costs(), by=["workload", "team"]).limit(8)).to_pylist()
    out.print(
        f"Demo company written to [bold]{out_dir}[/] ({built.demo.rows:,} FOCUS rows), "
        f"lake at [bold]{target.root}[/]."
    )
    emit(
        rows,
        ["provider", "month", "billed_cost", "effective_cost", "list_cost", "savings"],
        "table",
        title="Spend by provider and month (USD)",
    )
    emit(
        work,
        ["workload", "team", "billed_cost", "effective_cost", "rows"],
        "table",
        title="Largest spend by workload and team (classified and allocated at ingest)",
    )
    signals = ", ".join(f"{m.table} {m.rows:,}" for m in built.signals)
    if signals:
        out.print(f"Imported beside the bill (rows): {signals}.")
    out.print(
        f"Next: aifinops report gpu --lake {target.root}   "
        f"(also: report spend, workloads, tags, carbon, showback, waste, units, runs, storage)"
    )
    if serve:
        from aifinops.web.app import serve_lake

        serve_lake(
            target,
            ready=lambda url: out.print(f"Dashboard at {url}"),
            settings=settings,
            progress=lambda line: err.print(escape(line), highlight=False),
        )


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="FOCUS files or folders (CSV, CSV.gz, Parquet).", show_default=False),
    ],
    lake: LakeOpt = None,
    provider: Annotated[
        str | None, typer.Option(help="ProviderName for files without one.")
    ] = None,
    billing_account: Annotated[
        str | None, typer.Option(help="BillingAccountId for files without one.")
    ] = None,
    source_format: Annotated[
        str | None,
        typer.Option(
            "--source-format",
            help="Force a reader instead of detecting the format "
            "(see docs/ingest.md for the names).",
        ),
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Ingest cost exports into the lake, replacing each billing period they hold."""
    from aifinops.enrich.cache import enrichment_for
    from aifinops.ingest.pipeline import ingest as run_ingest
    from aifinops.lake import Lake

    fallbacks = {
        k: v for k, v in (("ProviderName", provider), ("BillingAccountId", billing_account)) if v
    }
    with errors():
        check_format(fmt)
        settings = load_settings(lake=lake)
        target = Lake.open(settings.lake)
        with progress_bar(fmt == "table") as progress:
            report = run_ingest(
                paths,
                target,
                fallbacks=fallbacks,
                forced_format=source_format,
                memory_limit=settings.ingest_memory,
                progress=progress,
                enrichment=enrichment_for(settings),
            )
    for f in report.files:
        for note in f.notes:
            err.print(escape(f"note: {f.path}: {note}"), highlight=False)
    rows = [
        {
            "provider": p.provider_name,
            "billing_account": p.billing_account_id,
            "billing_period": p.key.billing_period,
            "status": p.status,
            "rows": p.rows,
            "source_billed_cost": p.source_billed_cost,
            "billed_cost": p.billed_cost,
            "effective_cost": p.effective_cost,
            "currency": p.currency,
        }
        for p in report.partitions
    ]
    checks = [
        {
            "file": Path(r.file).name,
            "billing_account": r.billing_account,
            "billing_period": r.billing_period,
            "source_total": r.source_total,
            "billed_cost": r.billed_cost,
            "effective_cost": r.effective_cost,
            "difference": r.difference,
            "explained_by": r.explanation(),
        }
        for r in report.reconciliation
    ]
    if fmt == "json":
        emit(rows, [], fmt, lake=str(target.root), reconciliation=checks)
    else:
        emit(rows, list(rows[0]) if rows else [], fmt, title=f"Ingested into {target.root}")
    if fmt == "table":
        emit(
            checks,
            list(checks[0]) if checks else [],
            fmt,
            title="Reconciliation: source total vs lake, per billing account and period",
        )
    if report.refused:
        err.print(
            f"[red]{len(report.refused)} partition(s) not committed:[/] their source totals "
            "differ from the lake by amounts no rule explains (see the reconciliation table)."
        )
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def sources(lake: LakeOpt = None, fmt: FormatOpt = "table") -> None:
    """List the lake's partitions: rows, totals, source formats and freshness."""
    from aifinops.lake import Lake
    from aifinops.lake.sources import source_rows

    with errors():
        check_format(fmt)
        rows = source_rows(Lake.open(load_settings(lake=lake).lake, create=False))
    columns = [
        "provider",
        "billing_account",
        "billing_period",
        "currency",
        "rows",
        "billed_cost",
        "effective_cost",
        "formats",
        "files",
        "age_hours",
    ]
    emit(rows, columns, fmt, title="Lake partitions")


@app.command()
def validate(lake: LakeOpt = None, engine: EngineOpt = None, fmt: FormatOpt = "table") -> None:
    """Check the lake against the FOCUS 1.2 rules; exit 1 when an error-level rule is broken."""
    from aifinops.focus.validate import validate as run_validate
    from aifinops.lake import Lake, connect

    with errors():
        check_format(fmt)
        settings = load_settings(lake=lake, engine=engine)
        con = connect(Lake.open(settings.lake, create=False), engine=settings.engine)
        report = run_validate(con.costs(), execute=con.execute)
    rows = report.to_rows()
    title = f"FOCUS 1.2 validation of {report.rows_checked:,} rows"
    if fmt != "table":
        emit(rows, list(rows[0]) if rows else ["rule", "count"], fmt, title=title, ok=report.ok)
    elif rows:
        emit(rows, ["rule", "column", "severity", "count", "description"], fmt, title=title)
        out.print("[red]Violations found[/] (examples: --format json).")
    else:
        out.print(f"[green]No violations[/] in {report.rows_checked:,} rows.")
    if not report.ok:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    lake: LakeOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or parquet.")] = "csv",
    period: PeriodOpt = None,
    focus_13: Annotated[
        bool, typer.Option("--focus-1-3", help="Also write the eight FOCUS 1.3 columns.")
    ] = False,
    ours: Annotated[
        bool,
        typer.Option(
            "--x-columns/--no-x-columns", help="Write our x_ columns after the FOCUS ones."
        ),
    ] = True,
) -> None:
    """Export the lake as one FOCUS 1.2 file (FOCUS columns first, then ours)."""
    from aifinops.analyze import parse_period
    from aifinops.lake import Lake
    from aifinops.lake.export import export as run_export

    with errors():
        check_format(fmt, ("csv", "parquet"))
        chosen = parse_period(period)
        result = run_export(
            Lake.open(load_settings(lake=lake).lake, create=False),
            output,
            fmt=fmt,
            period=(chosen.first, chosen.last) if chosen else None,
            include_focus_13=focus_13,
            include_ours=ours,
        )
    err.print(
        escape(f"wrote {result.rows:,} rows × {len(result.columns)} columns to {result.path}")
    )


@report_app.command("spend")
def report_spend(
    by: Annotated[
        str,
        typer.Option(
            "--by", help="Dimensions, comma-separated, e.g. provider,service. See docs/reports.md."
        ),
    ] = "provider",
    period: PeriodOpt = None,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    fmt: ReportFormatOpt = "table",
    limit: Annotated[int, typer.Option(help="Rows to show (0 = all).")] = 0,
) -> None:
    """Spend by any dimensions and period: billed, effective, list cost and savings."""
    from aifinops.analyze import parse_dimensions, parse_period, spend
    from aifinops.analyze.spend import MEASURES
    from aifinops.lake import Lake, connect

    with errors():
        check_format(fmt, REPORT_FORMATS)
        dims, chosen = parse_dimensions(by), parse_period(period)
        settings = load_settings(lake=lake, engine=engine)
        con = connect(Lake.open(settings.lake, create=False), engine=settings.engine)
        expr = spend(con.costs(), by=dims, period=chosen)
        rows = con.execute(expr.limit(limit) if limit else expr).to_pylist()
    label = chosen.label() if chosen else "all periods"
    show(
        rows,
        [*dims, *MEASURES],
        fmt,
        title=f"Spend by {', '.join(dims) or 'total'} ({label})",
        period=label,
        by=dims,
    )
