"""HTTP for catalog refreshes: JSON pages and streamed CSV lines, every failure named.

Each failure (connection, timeout, HTTP status, truncated body, malformed JSON) becomes a
:class:`~aifinops.catalog.refresh_model.CatalogRefreshError` naming the URL (API keys
redacted), what was expected and what to do about it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx

from aifinops import __version__
from aifinops.catalog.refresh_model import CatalogRefreshError

#: Seconds to wait for a connection, and between two bytes of an answer.
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 120.0
_NETWORK_FIX = "check the network (and any proxy) and run `aifinops catalog refresh` again."


def make_client() -> httpx.Client:
    """Return the client a refresh uses when the caller passes none."""
    return httpx.Client(
        timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        follow_redirects=True,
        headers={"User-Agent": f"aifinops/{__version__} (catalog refresh)"},
        transport=httpx.HTTPTransport(retries=2),
    )


def get_json(
    client: httpx.Client,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    expected: str,
    fix: str = _NETWORK_FIX,
) -> dict[str, Any]:
    """GET a JSON object; numbers with a fraction become Decimal, exactly as written.

    Raises:
        CatalogRefreshError: on any transport error, an HTTP status >= 400, a body that is
            not JSON, or JSON that is not an object.
    """
    shown = str(httpx.URL(url, params=params)) if params else url
    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise CatalogRefreshError(
            f"request failed ({type(exc).__name__}: {exc})", url=shown, expected=expected, fix=fix
        ) from exc
    _check_status(response, shown, expected, fix)
    try:
        payload = json.loads(response.content, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CatalogRefreshError(
            f"the answer is not valid JSON ({exc}); it may have been cut off",
            url=shown,
            expected=expected,
            fix=fix,
        ) from exc
    if not isinstance(payload, dict):
        raise CatalogRefreshError(
            f"the answer is JSON but a {type(payload).__name__}, not an object",
            url=shown,
            expected=expected,
            fix=fix,
        )
    return payload


@contextmanager
def stream_lines(
    client: httpx.Client, url: str, *, expected: str, fix: str = _NETWORK_FIX
) -> Iterator[tuple[Iterator[str], int | None]]:
    """Stream a text body line by line without holding it in memory.

    Yields the line iterator and the body size in bytes when the server states it. Errors
    while streaming (a connection dropped, a body shorter than announced) raise
    :class:`CatalogRefreshError` from the iterator.
    """
    try:
        with client.stream("GET", url) as response:
            _check_status(response, url, expected, fix)
            size = response.headers.get("Content-Length")
            yield (
                _guarded(response.iter_lines(), url, expected, fix),
                (int(size) if size and size.isdigit() else None),
            )
    except httpx.HTTPError as exc:
        raise CatalogRefreshError(
            f"request failed ({type(exc).__name__}: {exc})", url=url, expected=expected, fix=fix
        ) from exc


def _guarded(lines: Iterator[str], url: str, expected: str, fix: str) -> Iterator[str]:
    try:
        yield from lines
    except httpx.HTTPError as exc:
        raise CatalogRefreshError(
            f"the download broke off ({type(exc).__name__}: {exc})",
            url=url,
            expected=expected,
            fix=fix,
        ) from exc


def _check_status(response: httpx.Response, url: str, expected: str, fix: str) -> None:
    if response.status_code < 400:
        return
    excerpt = response.read()[:300].decode("utf-8", "replace").strip().replace("\n", " ")
    hint = fix
    if response.status_code in (401, 403):
        hint = "check the API key and that the API is enabled for it; " + fix
    raise CatalogRefreshError(
        f"HTTP {response.status_code} {response.reason_phrase}"
        + (f": {excerpt}" if excerpt else ""),
        url=url,
        expected=expected,
        fix=hint,
    )
