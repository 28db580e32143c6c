"""The real dashboard for the page and browser tests: ``support.web_server`` by URL.

The demo lake is built once per test process and shared with the API tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI

from aifinops.lake.store import Lake
from support.web_server import live_server, small_demo_lake


def demo_lake(factory: pytest.TempPathFactory) -> Lake:
    """Return the shared small demo lake (seed 7, scale 0.05)."""
    return small_demo_lake(factory.getbasetemp())


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port; yield its base URL; stop it after."""
    with live_server(app) as live:
        yield live.url
