"""Benchmark: FOCUS CSV ingest against a plain DuckDB CSV -> Parquet copy, in the same run.

    .venv/bin/python benchmarks/ingest_focus.py [--rows 1000000] [--work DIR]

The input is the demo company's FOCUS truth (scale 1), exported as FOCUS CSV and repeated with
different billing accounts until it has ``--rows`` rows, so it holds many partitions. Each
contender runs in its own process so that its peak RSS is its own:

* ``aifinops ingest``: sniff, check every row, convert types, partition, write, manifest;
* ``duckdb copy``: ``COPY (SELECT * FROM read_csv(file)) TO file.parquet`` with DuckDB's own
  type inference — no checks, no partitions: the floor for reading and writing these bytes.

Prints rows/s, peak RSS and the ratio. Results are recorded in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
kind, src, dst = sys.argv[1:4]
t0 = time.perf_counter()
if kind == "aifinops":
    from aifinops.ingest.pipeline import ingest
    from aifinops.lake import Lake
    report = ingest([src], Lake.open(dst))
    rows = sum(p.rows for p in report.partitions)
else:
    import duckdb
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{src}')) TO '{dst}' (FORMAT parquet)")
    rows = con.execute(f"SELECT count(*) FROM '{dst}'").fetchone()[0]
seconds = time.perf_counter() - t0
# VmHWM is this process's own peak; ru_maxrss can carry the parent's peak across fork+exec.
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM")) / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak}))
"""


def make_input(work: Path, rows: int) -> Path:
    """Write a FOCUS CSV of about ``rows`` rows from the demo truth, repeated per account."""
    import duckdb

    from aifinops.lake import Lake
    from aifinops.lake.export import export
    from aifinops.quickstart import build_demo

    lake = Lake.open(work / "seed-lake")
    build_demo(work / "demo", lake, seed=7, scale=1.0)
    seed_csv = work / "seed.csv"
    export(lake, seed_csv, fmt="csv", include_ours=False)
    con = duckdb.connect()
    base = con.execute(f"SELECT count(*) FROM read_csv('{seed_csv}', all_varchar=true)").fetchone()
    assert base is not None
    copies = max(1, rows // int(base[0]))
    target = work / f"focus-{copies}x.csv"
    con.execute(
        f"COPY (SELECT * REPLACE (BillingAccountId || '-' || CAST(i AS VARCHAR) AS "
        f"BillingAccountId) FROM read_csv('{seed_csv}', all_varchar=true), range({copies}) t(i)) "
        f"TO '{target}' (FORMAT csv, HEADER true)"
    )
    return target


def run(kind: str, source: Path, target: Path) -> dict[str, float]:
    """Run one contender in a fresh process and return its measurements."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(source), str(target)],
        stdout=subprocess.PIPE,  # stderr passes through: a failure shows its traceback
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="aifinops-bench-"))
    source = make_input(work, args.rows)
    size_mib = source.stat().st_size / 2**20
    ours = run("aifinops", source, work / "lake")
    reference = run("duckdb", source, work / "plain.parquet")
    print(f"input: {source.name}, {ours['rows']:,.0f} rows, {size_mib:,.0f} MiB of FOCUS CSV")
    for name, r in (("aifinops ingest", ours), ("duckdb copy (reference)", reference)):
        print(
            f"{name:<24} {r['seconds']:7.2f} s  {r['rows'] / r['seconds']:>10,.0f} rows/s  "
            f"peak {r['peak_mib']:6.0f} MiB"
        )
    print(
        f"ratio aifinops / reference: {ours['seconds'] / reference['seconds']:.2f}x time, "
        f"{ours['peak_mib'] / reference['peak_mib']:.2f}x peak memory"
    )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
