"""A real dashboard server for tests: uvicorn in a thread on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from aifinops.lake import Lake
from support import demo_build

_DEMO_LAKES: dict[Path, Lake] = {}


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Live:
    """A running server: its app and base URL."""

    app: FastAPI
    url: str


@contextmanager
def live_server(app: FastAPI) -> Iterator[Live]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread until the block ends."""
    # NOTE: the socket is bound here and handed to uvicorn, so no other process (a parallel
    # test worker) can take the port between choosing it and listening on it.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Live(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def small_demo_lake(base: Path) -> Lake:
    """Return the small demo lake (seed 7, scale 0.05) under ``base / "web-demo"``.

    Built once per test session (see ``support.demo_build``) and shared: read it, never write.
    """
    root = base / demo_build.FOLDER
    if root not in _DEMO_LAKES:
        _DEMO_LAKES[root] = demo_build.small_demo_lake(base)
    return _DEMO_LAKES[root]
