"""Benchmark: native-export ingest against focus-converter and a plain DuckDB projection.

    .venv/bin/python benchmarks/ingest.py [--rows 1000000] [--formats cur,cur2,azure,gcp]
                                          [--work DIR] [--no-converter]

Inputs, all made here:

* ``cur``: legacy AWS CUR CSV (the real anonymised sample's 94 columns, rows repeated with
  fresh line-item ids up to ``--rows``) — the format the FinOps Foundation's
  ``focus-converter`` 1.0.0 reads;
* ``cur2`` / ``azure`` / ``gcp``: the demo company's native CUR 2.0 Parquet, Azure EA
  actual + amortized CSV and GCP BigQuery JSONL, each provider's files repeated to about
  ``--rows`` rows (see :func:`make_demo`).

Contenders, each in its own process so peak RSS is its own, on the same files in one run:

* ``aifinops ingest`` (detect, convert, check every row, reconcile, partition, commit);
* ``duckdb projection``: ``COPY (SELECT * FROM read_csv(all_varchar)/read_parquet/read_json)
  TO Parquet`` — every column of the file as it is, no checks, no mapping: the floor for
  moving these bytes;
* ``focus-converter`` 1.0.0 (legacy CUR only), installed into its own virtual environment
  (``pip install focus-converter 'multimethod<1.11' 'click<8.2'``) under ``--work``.

Prints rows/s, peak RSS and the ratios; results go in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE_CUR = SHARED / "samples" / "aws" / "legacy_cur_sample-anonymous-aws-export-dataset.csv"

MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak, "rc": done.returncode,
                  "err": done.stderr[-2000:]}))
"""

INGEST = r"""
import sys
from aifinops.ingest.pipeline import ingest
from aifinops.lake import Lake
report = ingest(sys.argv[2:], Lake.open(sys.argv[1]))
print(sum(p.rows for p in report.partitions))
"""

PROJECT = r"""
import sys, duckdb
kind, out, *files = sys.argv[1:]
readers = {"csv": "read_csv({f}, all_varchar=true)", "parquet": "read_parquet({f})",
           "json": "read_json({f}, format='newline_delimited')"}
src = readers[kind].format(f="[" + ", ".join(repr(f) for f in files) + "]")
con = duckdb.connect()
con.execute("SET memory_limit='1GB'")
con.execute(f"COPY (SELECT * FROM {src}) TO '{out}' (FORMAT parquet)")
"""


def measure(argv: list[str]) -> dict[str, float]:
    """Run ``argv`` in a child process and return its wall time and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{result['err']}")
    return result


def make_legacy_cur(work: Path, rows: int) -> list[Path]:
    """Write the real legacy CUR sample repeated to about ``rows`` rows."""
    import duckdb

    if not SAMPLE_CUR.is_file():
        raise SystemExit(f"needs the shared sample {SAMPLE_CUR}")
    con = duckdb.connect()
    # NOTE: without these the 20M-row cross product asked for 32 GiB at once.
    con.execute("SET preserve_insertion_order=false")
    con.execute("SET memory_limit='2GB'")
    base = con.execute(f"SELECT count(*) FROM read_csv('{SAMPLE_CUR}', all_varchar=true)")
    copies = max(1, rows // int(base.fetchone()[0]))  # type: ignore[index]
    target = work / f"cur-legacy-{copies}x.csv"
    if target.is_file():  # made by an earlier run with the same --work
        return [target]
    con.execute(
        f"COPY (SELECT * REPLACE (\"identity/LineItemId\" || '-' || CAST(i AS VARCHAR) AS "
        f"\"identity/LineItemId\") FROM read_csv('{SAMPLE_CUR}', all_varchar=true), "
        f"range({copies}) t(i)) TO '{target}' (FORMAT csv, HEADER true)"
    )
    return [target]


def make_demo(work: Path, rows: int) -> dict[str, tuple[str, list[Path]]]:
    """Return the demo's native exports, each provider's files repeated to about ``rows`` rows.

    The demo company bills most of its lines on GCP and AWS and few on Azure (daily rows), so
    one scale cannot give every format the same size: the generator writes the exports once
    at scale 2, and each provider's files are then repeated whole (same columns, same
    pairing of the Azure actual and amortized files, one file per billing period as the
    clouds deliver them) until the provider has about ``rows`` rows.
    """
    from aifinops.demo import generate

    made = work / "demo-base" / "inputs.json"
    if not made.is_file():  # an earlier run with the same --work made it already
        demo = generate(made.parent, seed=7, scale=2)
        native = {k: [str(p) for p in v] for k, v in demo.native_files.items()}
        made.write_text(json.dumps(native))
    base = {k: [Path(p) for p in v] for k, v in json.loads(made.read_text()).items()}
    kinds = {"aws": ("cur2", "parquet"), "azure": ("azure", "csv"), "gcp": ("gcp", "json")}
    inputs = {}
    for provider, (name, kind) in kinds.items():
        copies = max(1, -(-rows // _count(base[provider], kind)))
        target = work / f"{name}-{rows}"
        files = [target / p.relative_to(made.parent) for p in base[provider]]
        if not (target / "done").is_file():
            for source, copy in zip(base[provider], files, strict=True):
                copy.parent.mkdir(parents=True, exist_ok=True)
                _repeat(source, copy, kind, copies)
            (target / "done").touch()
        inputs[name] = (kind, files)
    return inputs


def _repeat(source: Path, target: Path, kind: str, copies: int) -> None:
    """Write ``source``'s rows ``copies`` times into ``target`` (same format, one header)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(source)
        with pq.ParquetWriter(target, table.schema, compression="snappy") as writer:
            for _ in range(copies):
                writer.write_table(table)
        return
    with open(source, "rb") as fh:
        header = fh.readline() if kind == "csv" else b""
        body = fh.read()
    with open(target, "wb") as out:
        out.write(header)
        for _ in range(copies):
            out.write(body)


def converter(work: Path) -> Path:
    """Return focus-converter's executable, installing it into its own venv once."""
    venv = work / "focus-converter-venv"
    exe = venv / "bin" / "focus-converter"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                "focus-converter",
                "multimethod<1.11",
                "click<8.2",
            ],
            check=True,
        )
    return exe


def report(name: str, rows: int, results: dict[str, dict[str, float]]) -> None:
    """Print one format's results and the ratios against our ingest."""
    print(f"\n{name}: {rows:,} rows")
    ours = results["aifinops ingest"]
    for label, r in results.items():
        ratio = r["seconds"] / ours["seconds"]
        print(
            f"  {label:<22} {r['seconds']:8.2f} s {rows / r['seconds']:>11,.0f} rows/s "
            f"peak {r['peak_mib']:6.0f} MiB  ({ratio:.2f}x our time)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="cur,cur2,azure,gcp")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--no-converter", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="aifinops-ingest-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    formats = args.formats.split(",")
    inputs: dict[str, tuple[str, list[Path]]] = {}
    if "cur" in formats:
        inputs["cur"] = ("csv", make_legacy_cur(work, args.rows))
    if set(formats) & {"cur2", "azure", "gcp"}:
        demo = make_demo(work, args.rows)
        inputs.update({k: v for k, v in demo.items() if k in formats})
    for name, (kind, files) in inputs.items():
        results = {}
        lake = work / f"lake-{name}"
        shutil.rmtree(lake, ignore_errors=True)
        results["aifinops ingest"] = measure(
            [sys.executable, "-c", INGEST, str(lake), *map(str, files)]
        )
        results["duckdb projection"] = measure(
            [sys.executable, "-c", PROJECT, kind, str(work / f"{name}.parquet"), *map(str, files)]
        )
        if name == "cur" and not args.no_converter:
            out = work / "converter-out"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            results["focus-converter 1.0.0"] = measure(
                [
                    str(converter(work)),
                    "convert",
                    "--provider",
                    "aws-cur",
                    "--data-path",
                    str(files[0]),
                    "--data-format",
                    "csv",
                    "--export-path",
                    f"{out}/",
                    "--export-format",
                    "parquet",
                ]
            )
        rows = _count(files, kind)
        report(name, rows, results)
        shutil.rmtree(lake, ignore_errors=True)
        (work / f"{name}.parquet").unlink(missing_ok=True)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _count(files: list[Path], kind: str) -> int:
    import duckdb

    if kind == "json":  # one record per line; counting lines beats parsing gigabytes
        total = 0
        for path in files:
            with open(path, "rb") as fh:
                total += sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))
        return total
    readers = {
        "csv": "read_csv({f}, all_varchar=true)",
        "parquet": "read_parquet({f})",
        "json": "read_json({f}, format='newline_delimited')",
    }
    src = readers[kind].format(f="[" + ", ".join(repr(str(f)) for f in files) + "]")
    found = duckdb.connect().execute(f"SELECT count(*) FROM {src}").fetchone()
    return int(found[0]) if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
