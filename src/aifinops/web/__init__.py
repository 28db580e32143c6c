"""The dashboard: a read-only JSON API (``/api/v1``) and pages over one lake (``aifinops serve``).

``docs/dashboard-api.md`` documents every route, the token and the cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aifinops.web.app import create_app, serve_lake

__all__ = ["create_app", "serve_lake"]


def __getattr__(name: str) -> Any:
    # NOTE: FastAPI and the engines load on first use, not when a page module is imported.
    if name in __all__:
        from aifinops.web import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
