"""Child process for the kill test: ``ingest_child.py LAKE FILE``.

Imports everything, prints ``ready``, waits for ``go`` on stdin (so the parent can time its
kill from the start of the ingest, not from interpreter start-up), then ingests FILE into
LAKE, printing ``<step> <done> <total> <seconds>`` for each progress event and
``done <seconds>`` at the end. Seconds count from ``go``.
"""

from __future__ import annotations

import sys
import time

from aifinops.ingest.pipeline import ingest
from aifinops.lake.store import Lake


def main(argv: list[str]) -> int:
    lake_root, path = argv[1], argv[2]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 2
    start = time.perf_counter()

    def progress(step: str, done: int, total: int) -> None:
        print(f"{step} {done} {total} {time.perf_counter() - start:.6f}", flush=True)

    ingest([path], Lake.open(lake_root), progress=progress)
    print(f"done {time.perf_counter() - start:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
