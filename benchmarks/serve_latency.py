"""Benchmark: latency of the dashboard's overview and explore APIs over real HTTP.

    .venv/bin/python benchmarks/serve_latency.py --lake .demo/lake [--requests 50] [--restarts 3]
    .venv/bin/python benchmarks/serve_latency.py --rows 10000000 --work /tmp/bench-serve

The server (``aifinops.web.app.serve_lake``, uvicorn, DuckDB) runs in its own process on
127.0.0.1; this process times each request with httpx. Cases:

* ``startup``: from starting the server process to its accepting connections (it builds the
  lake's daily summary first, :func:`aifinops.web.app.prepare`), once per restart;
* ``cold``: the first request after the server starts (nothing cached), once per restart
  (``--restarts``);
* ``warm``: the same request repeated (answered from the per-lake-version cache);
* ``uncached``: requests with distinct parameters (periods for overview; groupings, filters
  and limits for explore), each one a cache miss that runs its queries on the summary;
* ``uncached, raw rows``: explore by ``resource`` (a dimension the summary leaves out), which
  reads the raw rows.

The reference, measured in the same run: the same views called in-process with the summary
off (``engine.summaries = False``: every query reads the raw rows, no HTTP, no cache); the
table ends with the ratio of the reference's p50 to the uncached p50. ``--rows N`` first builds
a lake of about N rows (the demo's FOCUS truth repeated per billing account, as
``benchmarks/ingest_focus.py`` does) under ``--work``. Each case prints its line as it ends.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

SERVER = r"""
import sys
from aifinops.lake import Lake
from aifinops.settings import Settings
from aifinops.web.app import serve_lake
root, port = sys.argv[1], int(sys.argv[2])
lake = Lake.open(root, create=False)
serve_lake(lake, port=port, settings=Settings(lake=lake.root),
           ready=lambda url: print(url, flush=True))
"""
EXPLORE = {"by": "provider,service"}
#: Uncached explore requests cycle through these (each with its own limit, so each misses).
EXPLORES: tuple[dict[str, str], ...] = (
    {"by": "provider,service"},
    {"by": "team"},
    {"by": "gpu_model,provider", "filter": "accelerator_kind:gpu"},
    {"by": "month,provider"},
    {"by": "region", "filter": "provider:AWS"},
    {"by": "model,team", "period": "2026-09"},
    {"by": "day", "period": "2026-10"},
    {"by": "service", "filter": "team:"},
)


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """The dashboard in a child process, started and stopped around a block."""

    def __init__(self, lake: Path) -> None:
        self.lake = lake
        self.url = ""
        self.startup = 0.0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        started = time.perf_counter()
        port = free_port()
        env = {**os.environ, "AIFINOPS_CONFIG": os.devnull}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.lake), str(port)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line:
            raise RuntimeError("the server did not start")
        self.url = f"http://127.0.0.1:{port}"
        self.startup = time.perf_counter() - started
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=30)


def timed(client: httpx.Client, path: str, params: dict[str, object]) -> float:
    """Return the seconds one GET takes (status 200 required)."""
    start = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def percentiles(samples: list[float]) -> tuple[float, float, int]:
    """Return p50 and p95 in milliseconds, and the sample count."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return statistics.median(ordered) * 1000, p95 * 1000, len(ordered)


def periods(months: list[str]) -> list[str]:
    """Return every distinct period over ``months``: all, each range, each year."""
    ranges = [
        f"{a}..{b}" if a != b else a for a, b in itertools.combinations_with_replacement(months, 2)
    ]
    return ["all", *sorted({m[:4] for m in months}), *ranges]


Results = dict[tuple[str, str], list[float]]


def measure(lake: Path, *, requests: int, restarts: int) -> Results:
    """Time startup, cold, warm and uncached requests of both APIs over HTTP."""
    results: Results = {}
    cases = (("overview", "/api/v1/overview", {}), ("explore", "/api/v1/explore", EXPLORE))
    for _ in range(restarts):
        for name, path, params in cases:
            with Server(lake) as server, httpx.Client(base_url=server.url, timeout=900) as client:
                results.setdefault(("server", "startup"), []).append(server.startup)
                results.setdefault((name, "cold"), []).append(timed(client, path, params))
    show(results, ("server", "startup"), ("overview", "cold"), ("explore", "cold"))
    with Server(lake) as server, httpx.Client(base_url=server.url, timeout=900) as client:
        months = client.get("/api/v1/meta").json()["months"]
        for name, path, params in cases:
            timed(client, path, params)
            results[(name, "warm")] = [timed(client, path, params) for _ in range(requests)]
            show(results, (name, "warm"))
        distinct = periods(months)
        results[("overview", "uncached")] = [
            timed(client, "/api/v1/overview", {"period": p}) for p in distinct[:requests]
        ]
        show(results, ("overview", "uncached"))
        results[("explore", "uncached")] = [
            timed(client, "/api/v1/explore", {**EXPLORES[i % len(EXPLORES)], "limit": 1000 + i})
            for i in range(requests)
        ]
        show(results, ("explore", "uncached"))
        results[("explore", "uncached, raw rows")] = [
            timed(client, "/api/v1/explore", {"by": "resource", "limit": 1000 + i})
            for i in range(max(1, requests // 5))
        ]
        show(results, ("explore", "uncached, raw rows"))
    return results


def reference(lake: Path, *, requests: int) -> Results:
    """Time the same views in-process reading the raw rows: no summary, no HTTP, no cache."""
    from aifinops.analyze import parse_period
    from aifinops.lake import Lake, connect
    from aifinops.web import views
    from aifinops.web.views_overview import overview

    engine = connect(Lake.open(lake, create=False))
    engine.summaries = False
    months = sorted({m.billing_period for m in engine.lake.manifests()})
    distinct = periods(months)

    def repeat(call: Callable[[int], object], count: int) -> list[float]:
        samples = []
        for i in range(count):
            start = time.perf_counter()
            call(i)
            samples.append(time.perf_counter() - start)
        return samples

    def explore(i: int) -> object:
        params = EXPLORES[i % len(EXPLORES)]
        filters = views.parse_filters([params["filter"]] if "filter" in params else [])
        return views.explore(
            engine,
            by=params["by"].split(","),
            filters=filters,
            period=parse_period(params.get("period")),
            limit=1000 + i,
        )

    count = min(requests, 10)
    results: Results = {
        ("overview", "raw rows (reference)"): repeat(
            lambda i: overview(engine, period=parse_period(distinct[i % len(distinct)])), count
        )
    }
    show(results, ("overview", "raw rows (reference)"))
    results[("explore", "raw rows (reference)")] = repeat(explore, count)
    show(results, ("explore", "raw rows (reference)"))
    return results


def show(results: Results, *keys: tuple[str, str]) -> None:
    """Print the table lines of ``keys`` now (long runs show progress)."""
    for key in keys:
        print(line(key, results[key]), flush=True)


def build_lake(work: Path, rows: int, per_file: int = 20) -> Path:
    """Build a lake of about ``rows`` rows under ``work`` (reused when already there).

    The demo's FOCUS truth is repeated per billing account, ``per_file`` accounts to a file
    (about 180 partitions, like one organisation's monthly exports), each file ingested in
    its own ``aifinops ingest`` run. NOTE: one file spanning ~2,000 partitions (205 accounts x
    9 provider-months) ran DuckDB's partitioned write out of the ingest's 700 MB memory cap;
    see docs/PERFORMANCE.md.
    """
    import duckdb

    target = work / "lake"
    if (target / "costs").exists():
        return target
    spec = importlib.util.spec_from_file_location(
        "ingest_focus", Path(__file__).with_name("ingest_focus.py")
    )
    assert spec is not None and spec.loader is not None
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    seed = work / "seed.csv"
    if not seed.exists():
        helpers.make_input(work, 1)  # writes seed.csv (the scale-1 truth) beside its copy
    con = duckdb.connect()
    base = con.execute(f"SELECT count(*) FROM read_csv('{seed}', all_varchar=true)").fetchone()
    assert base is not None
    files = max(1, round(rows / (int(base[0]) * per_file)))
    for k in range(files):
        part = work / f"focus-part-{k:03d}.csv"
        if not part.exists():
            con.execute(
                f"COPY (SELECT * REPLACE (BillingAccountId || '-' || CAST({k * per_file} + i AS "
                f"VARCHAR) AS BillingAccountId) FROM read_csv('{seed}', all_varchar=true), "
                f"range({per_file}) t(i)) TO '{part}' (FORMAT csv, HEADER true)"
            )
        result = helpers.run("aifinops", part, target)
        print(f"ingested {part.name}: {result['rows']:,.0f} rows in {result['seconds']:.0f} s",
              flush=True)  # fmt: skip
        part.unlink()
    return target


HEADER = "| API | case | p50 ms | p95 ms | requests |\n|---|---|---:|---:|---:|"


def line(key: tuple[str, str], samples: list[float]) -> str:
    """Return one Markdown table line: API, case, p50, p95, count."""
    p50, p95, n = percentiles(samples)
    return f"| {key[0]} | {key[1]} | {p50:,.1f} | {p95:,.1f} | {n} |"


def ratios(results: Results) -> list[str]:
    """Return, per API, the reference's p50 over the uncached p50."""
    lines = []
    for api in ("overview", "explore"):
        reference_p50 = percentiles(results[(api, "raw rows (reference)")])[0]
        uncached_p50 = percentiles(results[(api, "uncached")])[0]
        lines.append(
            f"{api}: uncached p50 {uncached_p50:,.0f} ms vs raw rows {reference_p50:,.0f} ms "
            f"= {reference_p50 / uncached_p50:,.1f}x faster"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lake", type=Path, default=None, help="An existing lake.")
    parser.add_argument("--rows", type=int, default=0, help="Build a lake of about N rows.")
    parser.add_argument("--work", type=Path, default=None, help="Where --rows builds it.")
    parser.add_argument("--requests", type=int, default=50, help="Warm/uncached requests.")
    parser.add_argument("--restarts", type=int, default=3, help="Cold starts per API.")
    args = parser.parse_args()
    if args.rows:
        lake = build_lake(args.work or Path(tempfile.mkdtemp(prefix="aifinops-serve-")), args.rows)
    elif args.lake:
        lake = args.lake
    else:
        parser.error("pass --lake PATH or --rows N")
    from aifinops.lake import Lake

    rows = sum(m.row_count for m in Lake.open(lake, create=False).manifests())
    print(f"lake: {lake} ({rows:,} rows)\n\n{HEADER}", flush=True)
    results = measure(lake, requests=args.requests, restarts=args.restarts)
    results.update(reference(lake, requests=args.requests))
    print("\n" + "\n".join(ratios(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
