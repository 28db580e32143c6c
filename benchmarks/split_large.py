"""Benchmark: splitting one large staged file by partition under the ingest's memory cap.

    .venv/bin/python benchmarks/split_large.py --lake /tmp/bench-serve/lake --work /tmp/split

Every data file of ``--lake`` is copied into one staged file (the lake schema, many
partitions), which ``aifinops.lake.write.split`` then divides under DuckDB's 700 MB cap, as
an ingest of that file would. The reference, in the same run: one partitioned write of the
same file (what ``split`` did before, and still does for files up to 2M rows); it prints the
time or the error.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from aifinops.ingest.pipeline import MEMORY_LIMIT
from aifinops.lake.duck import DuckSession
from aifinops.lake.write import split


def run(staged: Path, work: Path, bucket_above: int | None) -> str:
    """Split a copy of ``staged`` in ``work``; return what happened."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    copy = work / "staged.parquet"
    shutil.copy(staged, copy)
    started = time.perf_counter()
    try:
        with DuckSession(memory_limit=MEMORY_LIMIT, temp_directory=str(work / "spill")) as db:
            found = split(db, copy, work / "split", bucket_above=bucket_above)
    except Exception as exc:  # noqa: BLE001 - the reference is expected to fail on big files
        return f"failed after {time.perf_counter() - started:.0f} s: {str(exc).splitlines()[0]}"
    seconds = time.perf_counter() - started
    rows = sum(pq.ParquetFile(f).metadata.num_rows for files in found.values() for f in files)
    shutil.rmtree(work)
    return f"{rows:,} rows into {len(found):,} partitions in {seconds:.0f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True, help="A lake to take rows from.")
    parser.add_argument("--work", type=Path, required=True, help="Scratch directory.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    staged = args.work / "all.parquet"
    if not staged.exists():
        files = sorted(str(p) for p in (args.lake / "costs").rglob("part-*.parquet"))
        duckdb.execute(
            f"COPY (SELECT * FROM read_parquet({files!r})) TO '{staged}' "
            "(FORMAT parquet, COMPRESSION snappy)"
        )
    rows = pq.ParquetFile(staged).metadata.num_rows
    print(f"staged file: {rows:,} rows, {staged.stat().st_size / 1e6:,.0f} MB", flush=True)
    print(f"split (bucketed above 2M rows): {run(staged, args.work / 'new', None)}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"peak RSS so far: {peak:,.0f} MB", flush=True)
    print(f"reference, one partitioned write: {run(staged, args.work / 'old', 10**12)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
