"""Ingest every real sample, export the lake as FOCUS and run the Foundation's validator on it.

    .venv/bin/python scripts/validate_samples.py [--format parquet|csv] [--only SUBSTRING]

For each real export under ``../shared/data/samples`` (the legacy CUR, the Azure EA actual +
amortized pair, every Azure header variant, the FOCUS 1.0 sample and every FOCUS spec
scenario) it ingests the file(s) into a fresh lake, prints the reconciliation verdict, exports
the lake (``aifinops.lake.export``) and runs ``../shared/tools/focus-validate`` on the export.
Prints one line per sample and the failed rules; exits 1 when a sample fails to ingest or
reconcile. Results are quoted in docs/validation.md.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from aifinops.ingest.pipeline import ingest
from aifinops.lake import Lake
from aifinops.lake.export import export

ROOT = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = ROOT / "data" / "samples"
VALIDATOR = ROOT / "tools" / "focus-validate"


def samples() -> dict[str, list[Path]]:
    """Return every real sample to check, by a short name."""
    found: dict[str, list[Path]] = {
        "aws legacy CUR": [SAMPLES / "aws" / "legacy_cur_sample-anonymous-aws-export-dataset.csv"],
        "azure EA actual + amortized": [
            SAMPLES / "azure" / "EA_ActualCost_Small.csv",
            SAMPLES / "azure" / "EA_AmortizedCost_Small.csv",
        ],
        "FOCUS 1.0 sample": [SAMPLES / "focus" / "FOCUS-1.0_focus_sample.csv"],
    }
    for path in sorted((SAMPLES / "azure" / "opencost_header_variants").glob("*.csv")):
        found[f"azure {path.stem}"] = [path]
    for path in sorted((SAMPLES / "focus" / "spec_examples").glob("*.csv")):
        found[f"spec {path.stem}"] = [path]
    return found


def check(name: str, files: list[Path], fmt: str, work: Path) -> tuple[bool, str, list[str]]:
    """Ingest ``files``, export and validate; return (ingested ok, summary, failed rules)."""
    lake = Lake.open(work / "lake")
    report = ingest(files, lake)
    reconciled = all(r.ok for r in report.reconciliation) and not report.refused
    out = work / f"export.{fmt}"
    export(lake, out, fmt=fmt)
    done = subprocess.run([str(VALIDATOR), str(out)], capture_output=True, text=True)
    lines = done.stdout.splitlines()
    summary = next((line for line in lines if line.startswith("Total:")), "no summary")
    failed = [line.split()[1].rstrip(":") for line in lines if line.startswith("❌")]
    rows = sum(p.rows for p in report.partitions)
    verdict = "reconciled" if reconciled else "NOT RECONCILED"
    return reconciled, f"{rows:>5} rows, {verdict}; {summary}", failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    if not VALIDATOR.is_file():
        raise SystemExit(f"needs the Foundation's validator at {VALIDATOR}")
    bad = 0
    for name, files in samples().items():
        if args.only not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            ok, summary, failed = check(name, files, args.format, Path(tmp))
        bad += not ok
        print(f"{name:<100} {summary}")
        if failed:
            print(f"    failed: {', '.join(failed)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
