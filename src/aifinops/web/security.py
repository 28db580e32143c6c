"""Who may read the dashboard: loopback only by default, a token everywhere else, read-only.

:class:`Guard` is an ASGI middleware in front of every route (API, pages, static files and
``/docs``). It answers 405 to anything but GET and HEAD. With a token it answers 401 unless
the request carries the token as ``Authorization: Bearer <token>``, as the
:data:`COOKIE` cookie, or as ``?token=<token>``; a valid ``?token=`` also sets that cookie
(HttpOnly, SameSite=Strict) so the pages' own requests carry it. Tokens are compared in
constant time. :func:`check_bind` refuses a non-loopback address without a token.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from aifinops.errors import BadInputError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The cookie a valid ``?token=`` sets.
COOKIE = "aifinops_token"
#: The environment variable `aifinops serve` reads the token from.
TOKEN_ENV = "AIFINOPS_TOKEN"
ALLOWED_METHODS = ("GET", "HEAD")
#: Sent with every response: no MIME sniffing, no framing, and no Referer that could leak
#: a ``?token=`` URL to another site.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_UNAUTHORISED = (
    "This dashboard needs its token: send the header 'Authorization: Bearer <token>', or open "
    "the URL `aifinops serve` printed (it ends in ?token=...) once in the browser."
)


def is_loopback(host: str) -> bool:
    """Return True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback ``host`` without a token.

    Raises:
        BadInputError: naming ``--token`` and ``AIFINOPS_TOKEN``.
    """
    if token is not None and not token.strip():
        raise BadInputError(
            "the token is empty",
            column="--token",
            expected="a long random string",
            fix='for example --token "$(openssl rand -hex 24)".',
        )
    if not token and not is_loopback(host):
        raise BadInputError(
            f"refusing to serve on {host} without a token: anyone who can reach it could read "
            "your cost data",
            column="--host",
            expected="127.0.0.1 (the default), or a token",
            fix=f"pass --token <secret> or set {TOKEN_ENV}=<secret>, or bind --host 127.0.0.1.",
        )


def same_token(presented: str | None, token: str) -> bool:
    """Compare ``presented`` with ``token`` in constant time."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8"))


class Guard:
    """ASGI middleware: read-only methods, the token (when set), security headers."""

    def __init__(self, app: ASGIApp, *, token: str | None = None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here: the connection is refused
        if scope["method"] not in ALLOWED_METHODS:
            detail = f"{scope['method']} is not allowed: this dashboard is read-only (GET, HEAD)."
            await _reply(send, 405, detail, [(b"allow", b"GET, HEAD")])
            return
        set_cookie = False
        if self.token is not None:
            header, cookie, query = _presented(scope)
            if not (same_token(header, self.token) or same_token(cookie, self.token)):
                if not same_token(query, self.token):
                    await _reply(send, 401, _UNAUTHORISED, [(b"www-authenticate", b"Bearer")])
                    return
                set_cookie = True
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, _wrapped(send, self.token if set_cookie else None, head))


def _presented(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """Return the token as sent in the Authorization header, the cookie and the query."""
    header = cookie = query = None
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                header = credentials.strip()
        elif name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                continue
            if COOKIE in jar:
                cookie = jar[COOKIE].value
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if values:
        query = values[0]
    return header, cookie, query


def _wrapped(send: Send, cookie_token: str | None, head: bool) -> Send:
    """Return ``send`` adding the security headers (and the cookie); HEAD drops the body."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), *SECURITY_HEADERS]
            if cookie_token is not None:
                jar: SimpleCookie = SimpleCookie()
                jar[COOKIE] = cookie_token
                jar[COOKIE]["httponly"] = True
                jar[COOKIE]["samesite"] = "Strict"
                jar[COOKIE]["path"] = "/"
                headers.append((b"set-cookie", jar[COOKIE].OutputString().encode("latin-1")))
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and head:
            message = {**message, "body": b""}
        await send(message)

    return wrapped


async def _reply(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        *SECURITY_HEADERS,
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
