"""``/docs``: Swagger UI served by the app itself, so the API's documentation works offline.

The Swagger UI files come from the ``fastapi-offline`` package (MIT; Swagger UI 5, which
reads FastAPI's OpenAPI 3.1), mounted under :data:`ASSETS`; nothing loads from a CDN.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the Swagger UI files are served.
ASSETS = "/static/apidocs"


def add_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` from local files (call before mounting ``/static``)."""
    folder = resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(folder)), name="apidocs")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )
