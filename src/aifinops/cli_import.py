"""``aifinops import metrics`` and ``aifinops import telemetry``: signal files into the lake.

Thin over :mod:`aifinops.signals`: each file is read whole (a bad cell stops the command
before anything is written), then stored as its own source partition, replacing what an
earlier import of a file of the same name wrote; the same rows again are left alone
(``unchanged``). ``cli.py`` registers the group::

    app.add_typer(import_app, name="import")

(``aifinops import runs`` is registered on the same group separately, from its own module.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aifinops.cli_options import LakeOpt
from aifinops.cli_output import check_format, errors
from aifinops.cli_report_output import show
from aifinops.errors import BadInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from aifinops.signals.store import SignalManifest

import_app = typer.Typer(
    help="Import what the ML work did: usage metrics, GPU telemetry, runs.",
    no_args_is_help=True,
)

IMPORT_FORMATS = ("table", "json")
RESULT_COLUMNS = ("source", "table", "rows", "first", "last", "status")
PathsArg = Annotated[
    list[Path], typer.Argument(help="Files to import (each is its own source).", exists=True)
]
ImportFormatOpt = Annotated[str, typer.Option("--format", "-f", help="Output: table or json.")]
HostOpt = Annotated[
    str | None, typer.Option("--host", help="Host of the rows that name none.", show_default=False)
]
ResourceOpt = Annotated[
    str | None,
    typer.Option(
        "--resource-id",
        help="Cloud resource id (as in the bill's ResourceId) of the rows that name none.",
        show_default=False,
    ),
]


def import_metrics(
    paths: PathsArg,
    resource_id: ResourceOpt = None,
    host: HostOpt = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Run id of the rows that name none.", show_default=False),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            help="NAME=KIND: how metric NAME adds up (delta, cumulative or gauge); repeatable.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name",
            help="SRC=CANONICAL: read metric SRC as CANONICAL (e.g. preds=requests); repeatable.",
            show_default=False,
        ),
    ] = None,
    lake: LakeOpt = None,
    fmt: ImportFormatOpt = "table",
) -> None:
    """Import usage metrics (requests, tokens, epochs, steps, samples, loss) from long or
    wide CSV/Parquet or saved Prometheus query JSON."""
    from aifinops.signals.metrics_files import read_metrics
    from aifinops.signals.metrics_names import kind_hints, parse_pairs

    with errors():
        check_format(fmt, IMPORT_FORMATS)
        kinds = parse_pairs(kind or [], option="--kind")
        names = parse_pairs(name or [], option="--name")

        def read(path: Path) -> pa.Table:
            return read_metrics(
                path, resource_id=resource_id, host=host, run_id=run_id, kinds=kinds, names=names
            )

        tables = _read_all(paths, read)
        notes = [hint for table in tables.values() for hint in kind_hints(table)]
        rows = _store(lake, "metrics", paths, tables)
    show(rows, RESULT_COLUMNS, fmt, notes=[*_metric_notes(tables), *notes])


def import_telemetry(
    paths: PathsArg,
    host: HostOpt = None,
    resource_id: ResourceOpt = None,
    gpu_model: Annotated[
        str | None,
        typer.Option("--gpu-model", help="GPU model of the rows that name none (e.g. H200)."),
    ] = None,
    tz: Annotated[
        str,
        typer.Option("--tz", help="IANA zone of timestamps written without one."),
    ] = "UTC",
    lake: LakeOpt = None,
    fmt: ImportFormatOpt = "table",
) -> None:
    """Import GPU telemetry: DCGM exporter scrapes or Prometheus query JSON, nvidia-smi
    --query-gpu CSV, or NVML sampler CSV."""
    from aifinops.signals.telemetry_files import read_telemetry

    with errors():
        check_format(fmt, IMPORT_FORMATS)

        def read(path: Path) -> pa.Table:
            return read_telemetry(
                path, host=host, resource_id=resource_id, gpu_model=gpu_model, local_tz=tz
            )

        rows = _store(lake, "telemetry", paths, _read_all(paths, read))
    show(rows, RESULT_COLUMNS, fmt)


import_app.command("metrics")(import_metrics)
import_app.command("telemetry")(import_telemetry)


def _read_all(paths: Sequence[Path], read: Callable[[Path], pa.Table]) -> dict[str, pa.Table]:
    """Read every file before writing any, so a bad file stops the command early.

    Raises:
        BadInputError: when two files share a name (each name is one source partition).
    """
    seen: dict[str, Path] = {}
    for path in paths:
        if path.name in seen and seen[path.name].resolve() != path.resolve():
            raise BadInputError(
                f"two files are named {path.name!r} ({seen[path.name]} and {path})",
                file=str(path),
                expected="one file per name: a file's name is the source it replaces",
                fix="rename one of them, or import them in separate commands if the second "
                "should replace the first.",
            )
        seen[path.name] = path
    return {name: read(path) for name, path in seen.items()}


def _store(
    lake: Path | None, table: str, paths: Sequence[Path], tables: dict[str, pa.Table]
) -> list[dict[str, Any]]:
    """Write each file's rows as its source partition; return one result row per source."""
    from aifinops.lake import Lake
    from aifinops.settings import load_settings
    from aifinops.signals.store import write_signal

    target = Lake.open(load_settings(lake=lake).lake)
    files = {path.name: path for path in paths}
    return [
        import_result(write_signal(target, table, source, data, files=[files[source]]))
        for source, data in tables.items()
    ]


def import_result(manifest: SignalManifest) -> dict[str, Any]:
    """Return the result row (:data:`RESULT_COLUMNS`) of one imported source."""
    return {
        "source": manifest.source,
        "table": manifest.table,
        "rows": manifest.rows,
        "first": manifest.min_timestamp,
        "last": manifest.max_timestamp,
        "status": "unchanged" if manifest.unchanged else "written",
    }


def _metric_notes(tables: dict[str, pa.Table]) -> list[str]:
    """Return, per source, each metric with its kind and sample count."""
    notes = []
    for source, table in tables.items():
        counts = table.group_by(["metric", "kind"]).aggregate([("value", "count")]).to_pylist()
        listed = ", ".join(
            f"{c['metric']} ({c['kind']}) {c['value_count']:,}"
            for c in sorted(counts, key=lambda c: c["metric"])
        )
        notes.append(f"{source}: {listed or 'no samples'}")
    return notes
