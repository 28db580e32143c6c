"""The real dashboard served on loopback by uvicorn in a thread, over a small demo lake.

Shared by the page and browser tests; the demo lake is built once per test process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI

from aifinops.lake.store import Lake
from aifinops.quickstart import build_demo

_LAKES: dict[str, Lake] = {}


def demo_lake(factory: pytest.TempPathFactory) -> Lake:
    """Return a demo lake (seed 7, scale 0.05), built on first use in this process."""
    if "demo" not in _LAKES:
        out = factory.mktemp("web-demo")
        lake = Lake.open(out / "lake")
        build_demo(out / "exports", lake, seed=7, scale=0.05)
        _LAKES["demo"] = lake
    return _LAKES["demo"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port; yield its base URL; stop it after."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
