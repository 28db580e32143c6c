"""The dashboard application: the JSON API, the pages, static files, and how to serve them.

:func:`create_app` builds the FastAPI app over one lake (one engine, one response cache,
the :class:`~aifinops.web.security.Guard` in front of everything); :func:`serve_lake` runs
it with uvicorn. Pages (``aifinops.web.pages``: ``router`` and ``mount_static(app)``) are
included when that module exists, so the API also works alone.

``app.state.web`` holds the :class:`~aifinops.web.api.WebState` (lake, engine, cache,
settings) for the pages.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from aifinops import __version__
from aifinops.analyze.summary import row_count, summary_table
from aifinops.errors import AifinopsError, BadInputError
from aifinops.lake import Lake, connect
from aifinops.settings import Settings, load_settings
from aifinops.web import models
from aifinops.web.api import WebState, router
from aifinops.web.api_ml import router as ml_router
from aifinops.web.apidocs import add_docs
from aifinops.web.cache import ResponseCache, SharedEngine
from aifinops.web.security import Guard, check_bind

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
PAGES_MODULE = "aifinops.web.pages"
DESCRIPTION = (
    "Read-only JSON API over an aifinops lake. Money is an exact decimal string; "
    "see docs/dashboard-api.md. With a token, send `Authorization: Bearer <token>`."
)


def create_app(
    lake: Lake,
    *,
    engine: str = "duckdb",
    token: str | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    """Return the dashboard app over ``lake``.

    Args:
        lake: the lake to serve (read-only).
        engine: ``duckdb`` or ``pyspark``; one engine serves every request, one at a time.
        token: when set, every route requires it (see :mod:`aifinops.web.security`).
        settings: allocation pools, catalog and price overrides (default: those in force).

    Raises:
        EngineError: when the engine cannot start.
    """
    settings = settings or load_settings(lake=lake.root, engine=engine)
    app = FastAPI(
        title="aifinops dashboard API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = WebState(
        lake, SharedEngine(connect(lake, engine=engine)), settings, ResponseCache()
    )
    app.add_exception_handler(BadInputError, _bad_input)
    app.add_exception_handler(AifinopsError, _failed)
    app.include_router(router)
    app.include_router(ml_router)

    @app.get("/healthz", response_model=models.Health, tags=["health"])
    def healthz() -> dict[str, bool]:
        """Liveness: always ``{"ok": true}`` (behind the token when one is set)."""
        return {"ok": True}

    add_docs(app)  # NOTE: before the pages' /static mount, which would shadow its files
    if importlib.util.find_spec(PAGES_MODULE) is not None:
        pages = importlib.import_module(PAGES_MODULE)
        app.include_router(pages.router)
        pages.mount_static(app)
    app.add_middleware(Guard, token=token)
    return app


async def _bad_input(request: Request, exc: Exception) -> JSONResponse:
    detail = str(exc)
    column = getattr(exc, "column", None)
    if column and not getattr(exc, "file", None):
        # The API's parameters are query parameters, not columns of a file.
        detail = detail.replace(f"column {column}:", f"parameter {column}:", 1)
    return JSONResponse({"detail": detail}, status_code=400)


async def _failed(request: Request, exc: Exception) -> JSONResponse:
    log.error("request %s failed: %s", request.url.path, exc)
    return JSONResponse({"detail": str(exc)}, status_code=500)


def prepare(app: FastAPI) -> str:
    """Build the lake's daily summary (:mod:`aifinops.analyze.summary`) now, so that the first
    requests do not wait for it; return a line saying what it holds and how long it took."""
    state = app.state.web
    started = time.perf_counter()
    with state.engine.lock:
        table = summary_table(state.engine)
        counts = table.aggregate(groups=table.count(), rows=row_count(table))
        found = state.engine.execute(counts).to_pylist()[0]
    seconds = time.perf_counter() - started
    return (
        f"daily summary: {found['rows']:,} cost rows in {found['groups']:,} groups "
        f"({seconds:.1f} s)"
    )


def url_of(host: str, port: int, token: str | None = None) -> str:
    """Return the URL to open (with ``?token=`` when a token is set)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    query = f"?token={quote(token, safe='')}" if token else ""
    return f"http://{shown}:{port}/{query}"


def serve_lake(
    lake: Lake,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    engine: str = "duckdb",
    ready: Callable[[str], None] | None = None,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Serve the dashboard over ``lake`` until interrupted (Ctrl-C).

    Args:
        lake: the lake to serve.
        host: address to bind; anything but loopback needs ``token``.
        port: TCP port.
        token: required by every route when set.
        engine: analysis engine.
        ready: called with the URL (:func:`url_of`) once the server accepts connections.
        settings: as for :func:`create_app`.
        progress: called with a line before and after :func:`prepare` (which runs before
            the server starts listening).

    Raises:
        BadInputError: for a non-loopback ``host`` without a token.
    """
    import uvicorn

    check_bind(host, token)
    app = create_app(lake, engine=engine, token=token, settings=settings)
    say = progress or log.info
    say("summarising the lake's cost rows by day for the dashboard…")
    say(prepare(app))
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if ready is not None:
        url = url_of(host, port, token)

        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                ready(url)

        threading.Thread(target=announce, name="aifinops-serve-ready", daemon=True).start()
    server.run()
