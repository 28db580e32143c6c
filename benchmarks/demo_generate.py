"""Benchmark: how fast the demo company is generated, and how much memory it takes.

    .venv/bin/python benchmarks/demo_generate.py [--scale 20] [--seed 7] [--work DIR]

``generate`` runs in a fresh child process so that its peak RSS is its own. From scale 1 up
the generator uses a second (spawned) process; its peak is reported separately (the peak of
the two together is at most their sum). Prints truth rows, seconds, rows/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from aifinops.demo import generate
scale, seed, out = float(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter()
result = generate(out, seed=seed, scale=scale)
seconds = time.perf_counter() - t0
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
print(json.dumps({"rows": result.rows, "seconds": seconds, "peak_mib": own,
                  "worker_peak_mib": child, "bytes": size}))
"""


def measure(scale: float, seed: int, work: Path) -> dict[str, float]:
    """Generate the demo at ``scale`` in a fresh process and return its measurements."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(scale), str(seed), str(work / "demo")],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Parse the arguments, run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None, help="folder for the output")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        m = measure(args.scale, args.seed, Path(tmp))
    rate = m["rows"] / m["seconds"]
    print(
        f"scale {args.scale:g}: {int(m['rows']):,} truth rows in {m['seconds']:.1f} s "
        f"= {rate:,.0f} rows/s; peak RSS {m['peak_mib']:.0f} MiB "
        f"(worker {m['worker_peak_mib']:.0f} MiB); output {m['bytes'] / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
