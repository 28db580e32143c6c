"""``aifinops collect gpu``: sample this machine's GPUs through NVML into the lake.

Thin over :mod:`aifinops.collect`. ``cli.py`` registers the group::

    app.add_typer(collect_app, name="collect")

Testing hook: ``AIFINOPS_NVML_MODULE`` names a module to use instead of ``pynvml`` (the test
suite's ``support.fake_nvml`` on machines without a GPU).
"""

from __future__ import annotations

import math
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from aifinops.cli_options import LakeOpt
from aifinops.cli_output import err, errors, out
from aifinops.errors import AifinopsError

if TYPE_CHECKING:
    import pyarrow as pa

    from aifinops.collect import CollectResult, GpuSampler, MetricsServer, Sink

collect_app = typer.Typer(no_args_is_help=True)


@collect_app.callback()
def collect_group() -> None:
    """Collect signals on this machine (GPU telemetry through NVML)."""


@collect_app.command("gpu")
def gpu(
    interval: Annotated[float, typer.Option(help="Seconds between samples.")] = 1.0,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: run until Ctrl-C)."),
    ] = None,
    samples: Annotated[
        int | None, typer.Option(help="Stop after this many samples.", min=1)
    ] = None,
    lake: LakeOpt = None,
    no_lake: Annotated[
        bool, typer.Option("--no-lake", help="Write nothing to the lake (serve /metrics only).")
    ] = False,
    prometheus: Annotated[
        int | None,
        typer.Option(
            "--prometheus",
            help="Serve the latest sample on http://BIND:PORT/metrics with dcgm-exporter's "
            "metric names (dcgm-exporter uses 9400).",
            min=0,
            max=65535,
            show_default=False,
        ),
    ] = None,
    bind: Annotated[
        str, typer.Option(help="Address of the /metrics endpoint (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    host: Annotated[
        str | None,
        typer.Option(help="Host name in the rows (default: this machine's).", show_default=False),
    ] = None,
    resource_id: Annotated[
        str | None,
        typer.Option(
            help="This machine's ResourceId as the bill shows it (joins telemetry to costs).",
            show_default=False,
        ),
    ] = None,
    cloud_metadata: Annotated[
        bool,
        typer.Option(
            "--cloud-metadata",
            help="Ask the cloud's instance metadata service for the ResourceId "
            "(AWS, Azure, Google Cloud); off by default: no network call.",
        ),
    ] = False,
    flush_every: Annotated[
        float, typer.Option(help="Write to the lake at least every this many seconds.", min=0)
    ] = 60.0,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show progress on stderr.")
    ] = True,
) -> None:
    """Sample every GPU through NVML into the lake's telemetry table.

    Utilisation, memory, power and energy, one row per GPU and sample; with --prometheus,
    also served on /metrics with dcgm-exporter's names. See docs/collect.md.
    """
    from aifinops.collect import GpuSampler, load_nvml
    from aifinops.collect.loop import check_options
    from aifinops.collect.nvml import NVML_MODULE_ENV

    with errors():
        check_options(interval, duration, samples)
        if no_lake and prometheus is None:
            raise AifinopsError(
                "--no-lake without --prometheus keeps nothing; to fix: drop --no-lake, or add "
                "--prometheus PORT to serve the samples"
            )
        nvml = load_nvml(os.environ.get(NVML_MODULE_ENV) or "pynvml")
        if resource_id is None and cloud_metadata:
            from aifinops.collect import discover_resource_id

            resource_id = discover_resource_id()
        with GpuSampler(nvml, host, resource_id) as sampler:
            _show_devices(sampler)
            result, sink, server = _run(
                sampler,
                interval=interval,
                duration=duration,
                samples=samples,
                lake=None if no_lake else lake,
                flush_every=flush_every,
                prometheus=prometheus,
                bind=bind,
                progress=progress,
            )
        _summary(result, sink, server)


def _show_devices(sampler: GpuSampler) -> None:
    for device in sampler.devices:
        memory = "" if device.memory_total_mib is None else f", {device.memory_total_mib:,.0f} MiB"
        err.print(
            escape(f"GPU {device.index}: {device.name} ({device.uuid}{memory})"), highlight=False
        )


def _run(
    sampler: GpuSampler,
    *,
    interval: float,
    duration: float | None,
    samples: int | None,
    lake: Path | None,
    flush_every: float,
    prometheus: int | None,
    bind: str,
    progress: bool,
) -> tuple[CollectResult, Sink, MetricsServer | None]:
    """Open the sink and the endpoint, collect, and close them whatever happens."""
    from aifinops.collect import Exposition, collect, serve

    sink = _sink(sampler.host, lake, flush_every)
    exposition = Exposition()
    server = None
    with ExitStack() as stack:
        if prometheus is not None:
            server = serve(exposition, port=prometheus, bind=bind)
            stack.callback(server.close)
            err.print(escape(f"serving {server.url}"), highlight=False)
        total = samples if samples is not None else _ticks(duration, interval)
        show = stack.enter_context(_progress(total, enabled=progress))

        def on_sample(rows: pa.Table, n: int) -> None:
            exposition.update(rows)
            show(rows, n)

        stack.enter_context(_sigterm_stops())
        result = collect(
            sampler,
            interval_s=interval,
            duration_s=duration,
            samples=samples,
            sink=sink,
            on_sample=on_sample,
        )
    return result, sink, server


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    """Make SIGTERM (``systemctl stop``, a pod's termination) stop collection as Ctrl-C does,
    so the samples still buffered are written."""
    if threading.current_thread() is not threading.main_thread():
        yield  # NOTE: only the main thread may set signal handlers
        return

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sink(host: str, lake: Path | None, flush_every: float) -> Sink:
    from aifinops.collect import LakeSink, NullSink, chunk_prefix
    from aifinops.lake import Lake
    from aifinops.settings import load_settings

    if lake is None:
        return NullSink()
    settings = load_settings(lake=lake)
    prefix = chunk_prefix(host, datetime.now(UTC))
    return LakeSink(Lake.open(settings.lake), prefix, flush_s=flush_every)


def _ticks(duration: float | None, interval: float) -> int | None:
    return None if duration is None else max(1, math.ceil(duration / interval - 1e-9))


@contextmanager
def _progress(total: int | None, *, enabled: bool) -> Iterator[Callable[[pa.Table, int], None]]:
    """Yield a per-sample callback that shows the count and the latest readings on stderr."""
    if not enabled:
        yield lambda rows, n: None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed}" + ("" if total is None else f"/{total}") + " samples"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[latest]}"),
        console=err,
        transient=True,
    )
    task = bar.add_task("collecting", total=total, latest="")

    def update(rows: pa.Table, n: int) -> None:
        bar.update(task, completed=n, latest=_latest(rows))

    with bar:
        yield update


def _latest(rows: pa.Table) -> str:
    parts = []
    for row in rows.to_pylist():
        util, power = row["gpu_util_pct"], row["power_w"]
        shown = [f"GPU{row['gpu_index']}"]
        shown.append("-" if util is None else f"{util:.0f}%")
        shown.append("-" if power is None else f"{power:.0f} W")
        parts.append(" ".join(shown))
    return escape("  ".join(parts))


def _summary(result: CollectResult, sink: Sink, server: MetricsServer | None) -> None:
    from aifinops.collect import LakeSink

    how = "interrupted" if result.interrupted else "done"
    out.print(
        escape(
            f"{how}: {result.samples} samples, {result.rows} rows in {result.elapsed_s:.1f} s"
            + (f" ({result.skipped} ticks skipped: sampling was slower)" if result.skipped else "")
        ),
        highlight=False,
    )
    if isinstance(sink, LakeSink) and sink.chunks:
        first, last = sink.chunks[0], sink.chunks[-1]
        out.print(
            escape(
                f"lake: {sink.rows_written} rows in {len(sink.chunks)} chunk(s) of the "
                f"telemetry table: {first.path}"
                + (f" … {last.path.name}" if last is not first else "")
            ),
            highlight=False,
            soft_wrap=True,
        )
    elif isinstance(sink, LakeSink):
        out.print("lake: nothing written (no sample taken)")
    else:
        out.print("lake: not written (--no-lake)")
    if server is not None:
        out.print(escape(f"/metrics was served at {server.url}"), highlight=False)
