"""``aifinops collect gpu``: NVML sampling, cadence, lake chunks, /metrics, the command.

There is no GPU here: NVML is ``support.fake_nvml`` (the suite's one sanctioned fake), which
replays the real H200 trace in ``shared/data/gpu-telemetry/telemetry.csv``. Everything else
is real: the lake on disk, HTTP on loopback, a killed child process.
"""

from __future__ import annotations

import ctypes
import dataclasses
import inspect
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import support.fake_nvml as fake
from aifinops.cli_collect import collect_app
from aifinops.collect import (
    CollectResult,
    Exposition,
    GpuSampler,
    LakeSink,
    NullSink,
    chunk_prefix,
    collect,
    discover_resource_id,
    load_nvml,
    serve,
)
from aifinops.errors import AifinopsError
from aifinops.lake import Lake, connect
from aifinops.signals.dcgm import dcgm_telemetry
from aifinops.signals.prometheus import from_unix, parse_exposition
from aifinops.signals.schema import TELEMETRY
from aifinops.signals.store import signal_files, signal_manifests
from support.fake_nvml import FakeClock, FakeGpu, State

TESTS = Path(__file__).resolve().parent
UUID = "GPU-f963a00c-7e8c-0f23-dfa4-9d8092da2bef"


@pytest.fixture(scope="module")
def trace(shared_data: Path) -> list[FakeGpu]:
    path = shared_data / "gpu-telemetry" / "telemetry.csv"
    if not path.is_file():
        pytest.skip(f"the H200 NVML trace is not at {path}")
    return fake.trace_gpus(path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _sampler(
    clock: FakeClock, *, host: str | None = None, resource_id: str | None = None
) -> GpuSampler:
    """A sampler on the fake NVML whose timestamps follow ``clock`` from the trace's start."""
    start, t0 = clock.now, 1795830955.254
    return GpuSampler(fake, host, resource_id, now=lambda: from_unix(t0 + clock.now - start))


def _read_lake(lake: Lake) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in signal_files(lake, "telemetry"))


# -- sampling ---------------------------------------------------------------------------------


def test_the_fake_nvml_has_pynvml_s_names_and_signatures() -> None:
    pynvml = pytest.importorskip("pynvml")
    for name in (
        "nvmlInit",
        "nvmlShutdown",
        "nvmlDeviceGetCount",
        "nvmlDeviceGetHandleByIndex",
        "nvmlDeviceGetName",
        "nvmlDeviceGetUUID",
        "nvmlDeviceGetUtilizationRates",
        "nvmlDeviceGetMemoryInfo",
        "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetTotalEnergyConsumption",
    ):
        real, ours = (
            inspect.signature(getattr(pynvml, name)),
            inspect.signature(getattr(fake, name)),
        )
        assert list(real.parameters) == list(ours.parameters), name
    for code in ("NOT_SUPPORTED", "LIBRARY_NOT_FOUND", "DRIVER_NOT_LOADED", "NO_PERMISSION"):
        assert getattr(fake, f"NVML_ERROR_{code}") == getattr(pynvml, f"NVML_ERROR_{code}")
    for error in (
        "NVMLError_NotSupported",
        "NVMLError_LibraryNotFound",
        "NVMLError_DriverNotLoaded",
    ):
        assert issubclass(getattr(pynvml, error), pynvml.NVMLError)
        assert isinstance(fake.NVMLError(getattr(fake, error)().value), getattr(fake, error))
    for struct in ("c_nvmlMemory_t", "c_nvmlUtilization_t"):
        real_fields = [f[0] for f in getattr(pynvml, struct)._fields_]
        assert real_fields == [f.name for f in dataclasses.fields(getattr(fake, struct))]


def test_a_collected_run_reproduces_the_h200_trace(
    trace: list[FakeGpu], clock: FakeClock, tmp_lake: Lake
) -> None:
    fake.install(trace, clock=clock.monotonic, period_s=0.5)
    states = trace[0].states
    sink = LakeSink(tmp_lake, "nvml-test", flush_s=60, clock=clock.monotonic)
    with _sampler(clock, host="h200-box", resource_id="i-0h200") as sampler:
        assert [(d.index, d.uuid, d.name, d.memory_total_mib) for d in sampler.devices] == [
            (0, UUID, "NVIDIA H200", 143771.0)
        ]
        result = collect(
            sampler,
            interval_s=0.5,
            samples=len(states),
            sink=sink,
            clock=clock.monotonic,
            sleep=clock.sleep,
        )
    assert fake.calls()["init"] == fake.calls()["shutdown"]
    assert (result.samples, result.rows, result.skipped, result.interrupted) == (374, 374, 0, False)
    assert [c.rows for c in sink.chunks] == [121, 120, 120, 13]  # flushed every 60 s
    engine = connect(tmp_lake)
    got = engine.execute(engine.signals("telemetry").order_by("timestamp"))
    assert got.schema == TELEMETRY
    rows = got.to_pylist()
    assert [r["power_w"] for r in rows] == [s.power_w for s in states]
    assert [r["mem_used_mib"] for r in rows] == [float(s.mem_used_mib) for s in states]  # type: ignore[arg-type]
    assert [r["energy_j"] for r in rows] == [s.energy_mj / 1000 for s in states]  # type: ignore[operator]
    assert [r["gpu_util_pct"] for r in rows] == [float(s.util_gpu) for s in states]  # type: ignore[arg-type]
    assert {r["mem_total_mib"] for r in rows} == {143771.0}
    assert {
        (r["host"], r["resource_id"], r["gpu_uuid"], r["gpu_model"], r["source"]) for r in rows
    } == {("h200-box", "i-0h200", UUID, "NVIDIA H200", "nvml:h200-box")}
    assert all(r["engine_active_pct"] is None for r in rows)
    # The trace's energy over its 186.6 s: 51,889 J (its README).
    assert round(rows[-1]["energy_j"] - rows[0]["energy_j"]) == 51889
    step = {b["timestamp"] - a["timestamp"] for a, b in zip(rows, rows[1:], strict=False)}
    assert step == {timedelta(milliseconds=500)}
    assert rows[0]["timestamp"] == datetime(2026, 11, 28, 1, 55, 55, 254000, tzinfo=UTC)


def test_an_unsupported_reading_is_null_and_the_others_still_come(clock: FakeClock) -> None:
    no_sensor = State(
        util_gpu=37, mem_used_mib=1024, mem_total_mib=15360, power_w=None, energy_mj=None
    )
    full = State(
        util_gpu=99, mem_used_mib=2048, mem_total_mib=81559, power_w=312.5, energy_mj=7_000
    )
    fake.install(
        [FakeGpu("Tesla T4", "GPU-t4", [no_sensor]), FakeGpu("NVIDIA H100", "GPU-h100", [full])],
        clock=clock.monotonic,
    )
    with _sampler(clock, host="mixed") as sampler:
        rows = sampler.sample().to_pylist()
    assert [
        (r["gpu_index"], r["gpu_util_pct"], r["mem_used_mib"], r["power_w"], r["energy_j"])
        for r in rows
    ] == [
        (0, 37.0, 1024.0, None, None),
        (1, 99.0, 2048.0, 312.5, 7.0),
    ]
    assert rows[0]["timestamp"] == rows[1]["timestamp"]


def test_no_memory_reading_leaves_the_total_unknown(clock: FakeClock) -> None:
    fake.install([FakeGpu("GPU", "GPU-x", [State(mem_used_mib=None)])], clock=clock.monotonic)
    with _sampler(clock) as sampler:
        assert sampler.devices[0].memory_total_mib is None
        row = sampler.sample().to_pylist()[0]
    assert (row["mem_used_mib"], row["mem_total_mib"], row["power_w"]) == (None, None, 60.0)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            fake.NVML_ERROR_LIBRARY_NOT_FOUND,
            "no NVIDIA driver found: libnvidia-ml.so.1 was not found",
        ),
        (
            fake.NVML_ERROR_DRIVER_NOT_LOADED,
            "no NVIDIA driver found: the NVIDIA driver is not loaded",
        ),
        (fake.NVML_ERROR_NO_PERMISSION, "NVML could not start: Insufficient Permissions"),
    ],
)
def test_nvml_that_cannot_start_is_a_clear_error(code: int, message: str) -> None:
    fake.install([], init_error=code)
    with pytest.raises(AifinopsError, match="to fix") as caught:
        GpuSampler(fake).open()
    assert message in str(caught.value)


def test_a_machine_without_gpus_is_a_clear_error() -> None:
    fake.install([])
    with pytest.raises(AifinopsError, match="NVML found no GPU on box; to fix"):
        GpuSampler(fake, host="box").open()
    assert fake.calls() == {"init": 1, "shutdown": 1}


def test_the_real_pynvml_without_a_driver_says_so() -> None:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        pass
    else:
        pytest.skip("this machine has an NVIDIA driver")
    with pytest.raises(AifinopsError, match=r"^no NVIDIA driver found: .*to fix: run on a machine"):
        GpuSampler(load_nvml()).open()


def test_missing_bindings_name_the_package_to_install() -> None:
    with pytest.raises(AifinopsError, match="pip install nvidia-ml-py"):
        load_nvml("no_such_nvml_module")


# -- cadence ----------------------------------------------------------------------------------


def _times(
    clock: FakeClock, work_s: list[float], **limits: float | int
) -> tuple[list[float], CollectResult]:
    """Collect with each sample taking ``work_s[n]`` seconds; return when each was taken."""
    fake.install([FakeGpu("GPU", "GPU-x", [State()])], clock=clock.monotonic)
    taken: list[float] = []
    start = clock.now

    def work(rows: pa.Table, n: int) -> None:
        taken.append(round(clock.now - start, 9))
        clock.advance(work_s[(n - 1) % len(work_s)])

    with GpuSampler(fake) as sampler:
        result = collect(
            sampler,
            interval_s=0.5,
            sink=NullSink(),
            clock=clock.monotonic,
            sleep=clock.sleep,
            on_sample=work,
            **limits,  # type: ignore[arg-type]
        )
    return taken, result


def test_samples_keep_the_cadence_whatever_each_one_takes(clock: FakeClock) -> None:
    taken, result = _times(clock, [0.013, 0.21, 0.0], samples=10)
    # Sleeping 0.5 s after each sample would have drifted 0.669 s by the tenth.
    assert taken == [n * 0.5 for n in range(10)]
    assert result.skipped == 0


def test_a_sample_that_overruns_skips_the_ticks_it_missed(clock: FakeClock) -> None:
    taken, result = _times(clock, [0.01, 1.2, 0.01, 0.01], samples=5)
    assert taken == [0.0, 0.5, 2.0, 2.5, 3.0]  # ticks 1.0 and 1.5 were gone
    assert result.skipped == 2


def test_duration_stops_before_the_tick_it_reaches(clock: FakeClock) -> None:
    taken, result = _times(clock, [0.0], duration_s=2.0)
    assert taken == [0.0, 0.5, 1.0, 1.5]
    assert result.samples == 4


@pytest.mark.parametrize(
    ("option", "value"), [("interval_s", 0.0), ("duration_s", -1.0), ("samples", 0)]
)
def test_nonsense_limits_are_refused(option: str, value: float) -> None:
    kwargs = {"interval_s": 1.0, option: value}
    with pytest.raises(AifinopsError, match="must be"):
        collect(GpuSampler(fake), sink=NullSink(), **kwargs)  # type: ignore[arg-type]


def test_ctrl_c_stops_and_writes_what_was_collected(clock: FakeClock, tmp_lake: Lake) -> None:
    fake.install(
        [FakeGpu("GPU", "GPU-x", [State(power_w=100.0 + n) for n in range(10)])],
        clock=clock.monotonic,
    )
    sink = LakeSink(tmp_lake, "nvml-ctrl-c", flush_s=3600, clock=clock.monotonic)

    def interrupt(rows: pa.Table, n: int) -> None:
        if n == 3:
            raise KeyboardInterrupt

    with GpuSampler(fake) as sampler:
        result = collect(
            sampler,
            interval_s=0.5,
            sink=sink,
            clock=clock.monotonic,
            sleep=clock.sleep,
            on_sample=interrupt,
        )
    assert (result.samples, result.interrupted) == (3, True)
    assert _read_lake(tmp_lake).column("power_w").to_pylist() == [100.0, 101.0, 102.0]


# -- the lake ---------------------------------------------------------------------------------


def test_each_flush_is_its_own_partition(clock: FakeClock, tmp_lake: Lake) -> None:
    fake.install(
        [FakeGpu("GPU", "GPU-x", [State(util_gpu=n) for n in range(7)])], clock=clock.monotonic
    )
    started = datetime(2026, 11, 29, 10, 15, 0, tzinfo=UTC)
    sink = LakeSink(
        tmp_lake, chunk_prefix("gpu node/1", started), flush_s=1.0, clock=clock.monotonic
    )
    with GpuSampler(fake) as sampler:
        collect(
            sampler, interval_s=0.5, samples=7, sink=sink, clock=clock.monotonic, sleep=clock.sleep
        )
    names = [
        "nvml-gpu-node-1-20261129T101500Z-0001",
        "nvml-gpu-node-1-20261129T101500Z-0002",
        "nvml-gpu-node-1-20261129T101500Z-0003",
    ]
    assert [(c.source, c.rows) for c in sink.chunks] == list(zip(names, [3, 2, 2], strict=True))
    assert [m.source for m in signal_manifests(tmp_lake, "telemetry")] == names
    assert sorted(_read_lake(tmp_lake).column("gpu_util_pct").to_pylist()) == [
        float(n) for n in range(7)
    ]


def test_a_killed_collector_keeps_the_chunks_it_flushed(
    trace: list[FakeGpu], shared_data: Path, tmp_path: Path
) -> None:
    """A real crash: the collector process gets SIGKILL between flushes."""
    lake_dir = tmp_path / "lake"
    trace_csv = shared_data / "gpu-telemetry" / "telemetry.csv"
    child = (
        "import sys, support.fake_nvml as fake\n"
        "from pathlib import Path\n"
        "from aifinops.cli_collect import collect_app\n"
        f"fake.install(fake.trace_gpus(Path({str(trace_csv)!r})), period_s=0.05)\n"
        "collect_app(['gpu', '--interval', '0.05', '--flush-every', '0.2', '--lake', sys.argv[1], "
        "'--host', 'crashy', '--no-progress'])\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path]),
        "AIFINOPS_NVML_MODULE": "support.fake_nvml",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", child, str(lake_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list((lake_dir / "telemetry").glob("source=*/manifest.json"))) < 2:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the collector wrote no chunks in 60 s"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    lake = Lake.open(lake_dir)  # recovers: anything half-staged is dropped
    manifests = signal_manifests(lake, "telemetry")
    assert len(manifests) >= 2
    table = _read_lake(lake)
    assert table.num_rows == sum(m.rows for m in manifests) >= 2
    # Each row is one of the trace's: what was written was written whole.
    powers = {s.power_w for s in trace[0].states}
    assert set(table.column("power_w").to_pylist()) <= powers
    assert set(table.column("host").to_pylist()) == {"crashy"}


# -- /metrics ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module: each new one loads the CA bundle (a third of a second)."""
    with httpx.Client(trust_env=False) as client:
        yield client


@pytest.fixture
def exposition() -> Iterator[tuple[Exposition, str]]:
    shown = Exposition()
    server = serve(shown, port=0)
    try:
        yield shown, server.url
    finally:
        server.close()


def test_metrics_are_dcgm_exposition_that_our_importer_reads_back(
    trace: list[FakeGpu], clock: FakeClock, exposition: tuple[Exposition, str], http: httpx.Client
) -> None:
    shown, url = exposition
    assert url.startswith("http://127.0.0.1:")
    fake.install(trace, clock=clock.monotonic)
    clock.advance(0.5 * 60)  # the training phase: busy GPU
    with _sampler(clock, host='node "a"') as sampler:
        rows = sampler.sample()
    assert http.get(url).text == ""  # nothing before the first sample
    shown.update(rows)
    response = http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    series = parse_exposition(response.text, default_time=datetime(2026, 1, 1, tzinfo=UTC))
    by_name = {s.name: s for s in series}
    state = trace[0].states[60]
    assert by_name["DCGM_FI_DEV_POWER_USAGE"].points[0][1] == state.power_w
    assert by_name["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"].points[0][1] == state.energy_mj
    assert by_name["DCGM_FI_DEV_FB_FREE"].points[0][1] == 143771 - state.mem_used_mib  # type: ignore[operator]
    assert by_name["DCGM_FI_DEV_GPU_UTIL"].labels == {
        "__name__": "DCGM_FI_DEV_GPU_UTIL",
        "gpu": "0",
        "UUID": UUID,
        "device": "nvidia0",
        "modelName": "NVIDIA H200",
        "Hostname": 'node "a"',
    }
    back = dcgm_telemetry(series, source="scrape").to_pylist()[0]
    sampled = rows.to_pylist()[0]
    for column in (
        "gpu_index",
        "gpu_uuid",
        "gpu_model",
        "host",
        "gpu_util_pct",
        "mem_used_mib",
        "mem_total_mib",
        "power_w",
        "energy_j",
    ):
        assert back[column] == sampled[column], column
    assert http.get(url.replace("/metrics", "/nope")).status_code == 404


def test_an_unsupported_reading_is_left_out_of_the_exposition(
    exposition: tuple[Exposition, str], clock: FakeClock, http: httpx.Client
) -> None:
    shown, url = exposition
    fake.install(
        [FakeGpu("Tesla T4", "GPU-t4", [State(power_w=None, energy_mj=None, util_gpu=5)])],
        clock=clock.monotonic,
    )
    with _sampler(clock, host="n") as sampler:
        shown.update(sampler.sample())
    names = {s.name for s in parse_exposition(http.get(url).text, default_time=datetime.now(UTC))}
    assert names == {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"}


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(
            AifinopsError, match=f"cannot serve /metrics on 127.0.0.1:{port}.*--prometheus PORT"
        ):
            serve(Exposition(), port=port)


# -- the command ------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def fake_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIFINOPS_NVML_MODULE", "support.fake_nvml")


def test_collect_gpu_writes_the_lake_and_says_where(
    fake_hook: None, trace: list[FakeGpu], tmp_path: Path
) -> None:
    fake.install(trace, period_s=3600)  # every sample reads the trace's first row
    lake_dir = tmp_path / "lake"
    result = runner.invoke(
        collect_app,
        [
            "gpu",
            "--samples",
            "3",
            "--interval",
            "0.01",
            "--lake",
            str(lake_dir),
            "--host",
            "node-1",
            "--resource-id",
            "i-0abc",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "GPU 0: NVIDIA H200 (GPU-f963a00c" in result.output
    assert "done: 3 samples, 3 rows" in result.output
    where = f"{lake_dir}/telemetry/source=nvml-node-1-"
    assert f"lake: 3 rows in 1 chunk(s) of the telemetry table: {where}" in result.output
    table = _read_lake(Lake.open(lake_dir))
    first = trace[0].states[0]
    assert table.column("power_w").to_pylist() == [first.power_w] * 3
    assert set(table.column("resource_id").to_pylist()) == {"i-0abc"}
    assert set(table.column("source").to_pylist()) == {"nvml:node-1"}


def test_collect_gpu_serves_metrics_without_a_lake(
    fake_hook: None, trace: list[FakeGpu], tmp_path: Path
) -> None:
    fake.install(trace, period_s=3600)
    result = runner.invoke(
        collect_app,
        [
            "gpu",
            "--samples",
            "2",
            "--interval",
            "0.01",
            "--no-lake",
            "--prometheus",
            "0",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "lake: not written (--no-lake)" in result.output
    assert "/metrics was served at http://127.0.0.1:" in result.output


def test_sigterm_stops_collect_gpu_and_writes_what_it_has(fake_hook: None, tmp_path: Path) -> None:
    class Unhandled(Exception):
        pass

    def unhandled(signum: int, frame: object) -> None:
        raise Unhandled  # the command did not take SIGTERM over

    readings = 0

    def clock() -> float:  # the fake NVML reads it once per reading: 4 per sample
        nonlocal readings
        readings += 1
        if readings == 4 * 5:
            os.kill(os.getpid(), signal.SIGTERM)  # systemctl stop, during the fifth sample
        return time.monotonic()

    fake.install([FakeGpu("GPU", "GPU-x", [State()])], clock=clock)
    previous = signal.signal(signal.SIGTERM, unhandled)
    try:
        result = runner.invoke(
            collect_app,
            ["gpu", "--interval", "0.001", "--lake", str(tmp_path / "lake"), "--no-progress"],
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert result.exit_code == 0, result.output
    assert signal.getsignal(signal.SIGTERM) is previous
    assert "interrupted: 4 samples, 4 rows" in result.output
    assert _read_lake(Lake.open(tmp_path / "lake")).num_rows == 4


@pytest.mark.parametrize(
    ("args", "install", "message"),
    [
        (["--no-lake"], {}, "--no-lake without --prometheus keeps nothing"),
        (["--interval", "0"], {}, "--interval must be above 0"),
        ([], {"init_error": fake.NVML_ERROR_DRIVER_NOT_LOADED}, "no NVIDIA driver found"),
    ],
)
def test_collect_gpu_errors_exit_2_with_the_fix(
    fake_hook: None, tmp_path: Path, args: list[str], install: dict[str, int], message: str
) -> None:
    fake.install([FakeGpu("GPU", "GPU-x", [State()])], **install)
    result = runner.invoke(
        collect_app, ["gpu", "--samples", "1", "--lake", str(tmp_path / "lake"), *args]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "lake" / "telemetry").exists()


# -- cloud metadata ---------------------------------------------------------------------------


def _metadata_server(
    answers: dict[tuple[str, str], tuple[str, dict[str, str]]],
) -> ThreadingHTTPServer:
    """A loopback instance-metadata service answering ``(method, path)`` with body and headers."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            found = answers.get((self.command, self.path.split("?")[0]))
            body, headers = found or ("not found", {})
            self.send_response(200 if found else 404)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_PUT = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            {
                ("PUT", "/latest/api/token"): ("tok", {}),
                ("GET", "/latest/meta-data/instance-id"): ("i-0123456789abcdef0\n", {}),
            },
            "i-0123456789abcdef0",
        ),
        (
            {
                ("GET", "/metadata/instance/compute/resourceId"): (
                    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/gpu1",
                    {},
                )
            },
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/gpu1",
        ),
        (
            {
                ("GET", "/computeMetadata/v1/instance/id"): ("4242", {"Metadata-Flavor": "Google"}),
                ("GET", "/computeMetadata/v1/instance/zone"): (
                    "projects/99/zones/us-central1-a",
                    {"Metadata-Flavor": "Google"},
                ),
                ("GET", "/computeMetadata/v1/project/project-id"): (
                    "ml-prod",
                    {"Metadata-Flavor": "Google"},
                ),
            },
            "//compute.googleapis.com/projects/ml-prod/zones/us-central1-a/instances/4242",
        ),
    ],
    ids=["aws", "azure", "google"],
)
def test_the_resource_id_comes_from_the_clouds_metadata(
    answers: dict[tuple[str, str], tuple[str, dict[str, str]]], expected: str
) -> None:
    server = _metadata_server(answers)
    try:
        assert discover_resource_id(f"http://127.0.0.1:{server.server_address[1]}") == expected
    finally:
        server.shutdown()
        server.server_close()


def test_no_metadata_service_is_a_clear_error() -> None:
    server = _metadata_server({})
    try:
        with pytest.raises(
            AifinopsError, match=r"tried: aws, azure, google\); to fix: pass --resource-id"
        ):
            discover_resource_id(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def test_exposition_text_is_stable(clock: FakeClock) -> None:
    fake.install(
        [
            FakeGpu(
                "NVIDIA A10G",
                "GPU-a",
                [
                    State(
                        util_gpu=42,
                        mem_used_mib=512,
                        mem_total_mib=22888,
                        power_w=61.25,
                        energy_mj=123456789,
                    )
                ],
            )
        ],
        clock=clock.monotonic,
    )
    with _sampler(clock, host="n1") as sampler:
        shown = Exposition()
        shown.update(sampler.sample())
    labels = 'gpu="0",UUID="GPU-a",device="nvidia0",modelName="NVIDIA A10G",Hostname="n1"'
    lines = [line for line in shown.text.splitlines() if not line.startswith("#")]
    assert lines == [
        f"DCGM_FI_DEV_GPU_UTIL{{{labels}}} 42",
        f"DCGM_FI_DEV_FB_USED{{{labels}}} 512",
        f"DCGM_FI_DEV_FB_FREE{{{labels}}} 22376",
        f"DCGM_FI_DEV_POWER_USAGE{{{labels}}} 61.25",
        f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{labels}}} 123456789",
    ]
    assert "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter" in shown.text
