"""Ingest children for the kill test, started from one small fork server.

Run as ``python ingest_child.py``. It imports aifinops and loads the compiled enrichment
once (a few seconds), prints ``ready`` and then serves commands read from stdin, one per line:

``ingest LAKE FILE`` (tab-separated)
    Fork a child that ingests FILE into LAKE, and print ``pid PID``. The child prints
    ``<step> <done> <total> <seconds>`` for each progress event and ``done <seconds>`` at the
    end (seconds since it started), then exits; ``failed ERROR`` if the ingest raised.
``kill``
    SIGKILL the child (a no-op if it already finished), reap it, print ``exit STATUS``.
``wait``
    Reap the child when it finishes, print ``exit STATUS``.

The server reaps a child only after ``kill`` was sent, so the id it signals is always its
own child's. A forked child starts in milliseconds, so the kills can sample the whole ingest
without paying the interpreter's start-up each time.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback

from aifinops.ingest.pipeline import ingest
from aifinops.lake.store import Lake


def _child(lake_root: str, path: str, go: int) -> None:
    os.read(go, 1)  # wait until the server has announced our pid
    start = time.perf_counter()

    def progress(step: str, done: int, total: int) -> None:
        print(f"{step} {done} {total} {time.perf_counter() - start:.6f}", flush=True)

    try:
        ingest([path], Lake.open(lake_root), progress=progress)
        print(f"done {time.perf_counter() - start:.6f}", flush=True)
    except BaseException as exc:  # noqa: BLE001 - report anything, then leave at once
        traceback.print_exc()
        sys.stderr.flush()
        print(f"failed {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
        os._exit(1)
    os._exit(0)


def _warm() -> None:
    """Load once what every ingest loads (compiled enrichment, catalog, pandas), so that
    a forked child spends its time ingesting, not importing."""
    from aifinops.enrich.cache import enrichment

    enrichment()


def serve() -> int:
    _warm()
    print("ready", flush=True)
    pid = 0
    for line in sys.stdin:
        command, *args = line.rstrip("\n").split("\t")
        if command == "ingest":
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(write_end)
                _child(args[0], args[1], read_end)
            os.close(read_end)
            print(f"pid {pid}", flush=True)
            os.write(write_end, b"g")
            os.close(write_end)
        elif command in ("kill", "wait") and pid:
            if command == "kill":
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            pid = 0
            print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
        else:
            print(f"error unknown command {line!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve())
