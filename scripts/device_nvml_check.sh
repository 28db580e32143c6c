#!/usr/bin/env bash
# Check `aifinops collect gpu` on a real NVIDIA GPU, in under 3 minutes.
#
# What it does, from the repository root:
#   1. makes `aifinops` importable (PYTHONPATH=src; `pip install -e .` only when a dependency is
#      missing; nothing else is installed);
#   2. runs the collector for ~20 s at 0.5 s, lake in a temporary directory, /metrics on
#      127.0.0.1:$PORT, while a tiny GPU load runs from 5 s to 15 s: a PTX busy loop launched
#      through the driver API (libcuda via ctypes: no torch, no cupy) holding 4 GiB; where
#      that cannot start, the GPU stays idle and the check says so;
#   3. scrapes /metrics three times during the run and reads the scrapes back with our own
#      DCGM importer;
#   4. prints a summary (JSON) and copies the evidence to $OUT (default ./device-out):
#      summary.json, telemetry.csv, metrics.prom, collect.log, load.log.
#
# Exit status: 0 when every check passed, 1 when one failed (the summary says which), 2 when
# the collector could not run at all, 3 when the Python environment is incomplete.
#
# Dry run without a GPU (the test suite's fake NVML replaying the H200 trace):
#   AIFINOPS_NVML_MODULE=support.fake_nvml FAKE_NVML_TRACE=../shared/data/gpu-telemetry/telemetry.csv \
#     PYTHONPATH=tests scripts/device_nvml_check.sh
set -uo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-./device-out}
PY=${PYTHON:-$(command -v python3)}
PORT=${PORT:-19400}
DURATION=${DURATION:-20}
WORK=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

echo "== environment"
nvidia-smi --query-gpu=index,name,driver_version,memory.total,power.limit --format=csv 2>&1 | head -9
NEEDED="pyarrow typer rich httpx pydantic yaml pynvml aifinops.collect"
missing() { "$PY" -c "import importlib,sys; [importlib.import_module(m) for m in sys.argv[1:]]" $NEEDED 2>&1; }
if ! missing >/dev/null; then
  echo "installing the package (pip install -e .): $(missing | tail -1)"
  timeout 120 "$PY" -m pip install --quiet -e . 2>&1 | tail -5
  if ! missing >/dev/null; then
    echo "the Python environment is incomplete: $(missing | tail -1)"
    exit 3
  fi
fi
"$PY" -c "import pynvml, pyarrow, sys; print('python', sys.version.split()[0], '| pyarrow', pyarrow.__version__, '| pynvml', getattr(pynvml, '__file__', '?'))"

if "$PY" -m aifinops collect gpu --help >/dev/null 2>&1; then
  COLLECT=("$PY" -m aifinops collect gpu)
else  # not registered in cli.py yet: call the command group directly
  COLLECT=("$PY" -c "from aifinops.cli_collect import collect_app; collect_app(prog_name='aifinops collect')" gpu)
fi

echo "== load: PTX busy loop through libcuda (5 s idle, 10 s busy)"
"$PY" - >"$OUT/load.log" 2>&1 <<'EOF' &
import ctypes, time
PTX = rb"""
.version 7.0
.target sm_70
.address_size 64
.visible .entry busy(.param .u64 out, .param .u32 iters)
{
  .reg .f32 %f<3>; .reg .u32 %r<4>; .reg .u64 %rd<3>; .reg .pred %p;
  ld.param.u64 %rd1, [out];
  ld.param.u32 %r1, [iters];
  mov.u32 %r2, %tid.x;
  cvt.rn.f32.u32 %f1, %r2;
  mov.f32 %f2, 0f3F7FFFFE;
  mov.u32 %r3, 0;
LOOP:
  fma.rn.f32 %f1, %f1, %f2, %f2;
  add.u32 %r3, %r3, 1;
  setp.lt.u32 %p, %r3, %r1;
  @%p bra LOOP;
  cvta.to.global.u64 %rd2, %rd1;
  st.global.f32 [%rd2], %f1;
  ret;
}
"""
def check(code, what):
    if code != 0:
        raise RuntimeError(f"{what} failed: CUDA error {code}")
time.sleep(5)
try:
    cuda = ctypes.CDLL("libcuda.so.1")
    check(cuda.cuInit(0), "cuInit")
    dev, ctx, mod, fn = ctypes.c_int(), ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    check(cuda.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
    check(cuda.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev), "cuDevicePrimaryCtxRetain")
    check(cuda.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
    check(cuda.cuModuleLoadData(ctypes.byref(mod), PTX + b"\0"), "cuModuleLoadData")
    check(cuda.cuModuleGetFunction(ctypes.byref(fn), mod, b"busy"), "cuModuleGetFunction")
    held, out = ctypes.c_uint64(), ctypes.c_uint64()
    check(cuda.cuMemAlloc_v2(ctypes.byref(held), ctypes.c_size_t(4 << 30)), "cuMemAlloc 4 GiB")
    check(cuda.cuMemAlloc_v2(ctypes.byref(out), ctypes.c_size_t(4)), "cuMemAlloc")
    iters = ctypes.c_uint32(1 << 18)
    params = (ctypes.c_void_p * 2)(ctypes.addressof(out), ctypes.addressof(iters))
    start, launches = time.monotonic(), 0
    print(f"load started at {time.time():.3f}", flush=True)
    while time.monotonic() - start < 10:
        check(cuda.cuLaunchKernel(fn, 1056, 1, 1, 256, 1, 1, 0, None, params, None), "launch")
        check(cuda.cuCtxSynchronize(), "cuCtxSynchronize")
        launches += 1
    print(f"load ended at {time.time():.3f} after {launches} launches", flush=True)
    cuda.cuMemFree_v2(held)
except Exception as exc:  # the check goes on idle, and says why
    print(f"no load: {exc}", flush=True)
EOF

echo "== collect: ${DURATION} s at 0.5 s, /metrics on 127.0.0.1:${PORT}"
timeout 150 "${COLLECT[@]}" --interval 0.5 --duration "$DURATION" --lake "$WORK/lake" \
  --prometheus "$PORT" --flush-every 5 --host device-check --no-progress >"$OUT/collect.log" 2>&1 &
COLLECTOR=$!
: >"$OUT/metrics.prom"
for pause in 4 6 6; do  # scrapes at ~4, 10 and 16 s: before, during and after the load
  sleep "$pause"
  "$PY" -c "import httpx,sys,time; r=httpx.get(sys.argv[1], timeout=2); sys.stdout.write(f'# scrape at {time.time():.3f} status {r.status_code} {r.headers.get(\"content-type\")}\n' + r.text)" \
    "http://127.0.0.1:${PORT}/metrics" >>"$OUT/metrics.prom" 2>>"$OUT/load.log" || echo "scrape failed" >>"$OUT/load.log"
done
wait "$COLLECTOR"
STATUS=$?
wait
cat "$OUT/collect.log"
cat "$OUT/load.log"
if [ "$STATUS" -ne 0 ]; then
  echo "the collector failed (exit $STATUS)"
  exit 2
fi

echo "== summary"
"$PY" - "$WORK/lake" "$OUT" "$DURATION" <<'EOF'
import json, statistics, sys
from datetime import UTC, datetime
from pathlib import Path
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
from aifinops.lake import Lake
from aifinops.signals.dcgm import dcgm_telemetry
from aifinops.signals.prometheus import parse_exposition
from aifinops.signals.store import signal_files, signal_manifests

lake, out, duration = Lake.open(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
table = pa.concat_tables(pq.read_table(p) for p in signal_files(lake, "telemetry")).sort_by("timestamp")
pacsv.write_csv(table, out / "telemetry.csv")
rows = table.to_pylist()
load = (out / "load.log").read_text()
loaded = "load started" in load
checks, gpus = {}, sorted({r["gpu_index"] for r in rows})
per_gpu = {g: [r for r in rows if r["gpu_index"] == g] for g in gpus}
expected = round(duration / 0.5)
checks["samples per GPU == duration / interval"] = all(len(v) == expected for v in per_gpu.values())
first = per_gpu[gpus[0]]
times = [r["timestamp"].timestamp() for r in first]
gaps = [b - a for a, b in zip(times, times[1:])]
grid = [t - times[0] - 0.5 * i for i, t in enumerate(times)]
checks["cadence: no drift (|offset from the 0.5 s grid| < 50 ms)"] = max(map(abs, grid)) < 0.05
for column in ("gpu_util_pct", "mem_used_mib", "mem_total_mib", "power_w", "energy_j"):
    checks[f"{column} present"] = all(r[column] is not None for r in rows)
energy = [r["energy_j"] for r in first if r["energy_j"] is not None]
checks["energy counter never decreases"] = all(b >= a for a, b in zip(energy, energy[1:]))
power = [r["power_w"] for r in first if r["power_w"] is not None]
span = (times[-1] - times[0]) or 1
if energy and power:
    # The counter's increase over the run against the mean power × time (within 25 %).
    checks["energy increase ≈ mean power × time"] = abs((energy[-1] - energy[0]) / span / statistics.mean(power) - 1) < 0.25
if loaded:
    checks["load shows: max util >= 50 %"] = max(r["gpu_util_pct"] or 0 for r in first) >= 50
    checks["load shows: memory rose >= 3 GiB"] = max(r["mem_used_mib"] for r in first) - min(r["mem_used_mib"] for r in first) >= 3072
scrapes = (out / "metrics.prom").read_text()
series = parse_exposition(scrapes, default_time=datetime.now(UTC))
back = dcgm_telemetry(series, source="scrape")
checks["/metrics: content-type text/plain; version=0.0.4"] = scrapes.count("version=0.0.4") == 3
checks["/metrics: our DCGM importer reads every GPU back"] = sorted(set(back.column("gpu_index").to_pylist())) == gpus
summary = {
    "gpus": {g: per_gpu[g][0]["gpu_model"] for g in gpus},
    "rows": len(rows),
    "chunks": [m.source for m in signal_manifests(lake, "telemetry")],
    "load": load.strip().splitlines(),
    "gap_s": {"min": min(gaps), "max": max(gaps), "mean": statistics.mean(gaps)},
    "max_grid_offset_s": max(map(abs, grid)),
    "util_pct": {"max": max((r["gpu_util_pct"] or 0) for r in first)},
    "power_w": {"min": min(power), "max": max(power)} if power else None,
    "energy_j_increase": energy[-1] - energy[0] if energy else None,
    "checks": checks,
    "passed": all(checks.values()),
}
text = json.dumps(summary, indent=2, default=str)
(out / "summary.json").write_text(text)
print(text)
sys.exit(0 if summary["passed"] else 1)
EOF
