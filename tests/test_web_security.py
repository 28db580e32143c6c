"""Who may read the dashboard, over real HTTP: loopback by default, a token otherwise, read-only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from aifinops.cli_serve import serve
from aifinops.errors import BadInputError
from aifinops.lake import Lake
from aifinops.settings import Settings
from aifinops.web.app import create_app, url_of
from aifinops.web.security import COOKIE, check_bind, is_loopback, same_token
from support.web_server import Live, free_port, live_server

TOKEN = "s3cret-Token_with.symbols~"
#: Every kind of route: API, health, OpenAPI, docs, a page, a static file, a missing path.
ROUTES = (
    "/api/v1/meta",
    "/api/v1/explore?by=provider",
    "/healthz",
    "/openapi.json",
    "/docs",
    "/",
    "/static/app.css",
    "/no/such/path",
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return Lake.open(tmp_path_factory.mktemp("web-security") / "lake")


def _settings(lake: Lake) -> Settings:
    return Settings(lake=lake.root, catalog=lake.root / "no-catalog")


@pytest.fixture(scope="module")
def open_live(lake: Lake) -> Iterator[Live]:
    with live_server(create_app(lake, settings=_settings(lake))) as live:
        yield live


@pytest.fixture(scope="module")
def locked_live(lake: Lake) -> Iterator[Live]:
    with live_server(create_app(lake, token=TOKEN, settings=_settings(lake))) as live:
        yield live


def test_without_a_token_loopback_serves_everything(open_live: Live) -> None:
    response = httpx.get(open_live.url + "/api/v1/meta")
    assert response.status_code == 200
    assert response.json()["months"] == []
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert httpx.get(open_live.url + "/healthz").json() == {"ok": True}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/v1/meta", "/healthz", "/", "/no/such/path"])
def test_only_get_and_head_are_allowed(open_live: Live, method: str, path: str) -> None:
    response = httpx.request(method, open_live.url + path)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert "read-only" in response.json()["detail"]


def test_head_answers_like_get_without_a_body(open_live: Live) -> None:
    got = httpx.get(open_live.url + "/api/v1/meta")
    head = httpx.head(open_live.url + "/api/v1/meta")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


@pytest.mark.parametrize("path", ROUTES)
def test_with_a_token_every_route_refuses_strangers(locked_live: Live, path: str) -> None:
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN}):
        response = httpx.get(locked_live.url + path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in response.json()["detail"]
    wrong_cookie = httpx.get(locked_live.url + path, cookies={COOKIE: "guess"})
    assert wrong_cookie.status_code == 401
    wrong_query = httpx.get(locked_live.url + path, params={"token": TOKEN[:-1]})
    assert wrong_query.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/meta", "/healthz", "/openapi.json", "/docs"])
def test_the_bearer_header_opens_every_route(locked_live: Live, path: str) -> None:
    response = httpx.get(locked_live.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers


def test_token_in_the_url_sets_a_strict_httponly_cookie(locked_live: Live) -> None:
    with httpx.Client(base_url=locked_live.url) as browser:
        first = browser.get("/api/v1/meta", params={"token": TOKEN})
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        # The browser now sends the cookie: the pages' own requests need no token.
        assert browser.get("/api/v1/overview").status_code == 200
        assert browser.get("/healthz").json() == {"ok": True}
    assert httpx.get(locked_live.url + "/api/v1/overview").status_code == 401


def test_tokens_are_compared_whole() -> None:
    assert same_token(TOKEN, TOKEN)
    assert not same_token(TOKEN + "x", TOKEN)
    assert not same_token("", TOKEN)
    assert not same_token(None, TOKEN)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_any_other_address_needs_a_token(host: str) -> None:
    with pytest.raises(BadInputError, match="--token") as caught:
        check_bind(host, None)
    assert "AIFINOPS_TOKEN" in str(caught.value)
    check_bind(host, TOKEN)
    with pytest.raises(BadInputError, match="empty"):
        check_bind(host, " ")


def test_serve_refuses_a_public_address_without_a_token(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIFINOPS_TOKEN", raising=False)
    cli = typer.Typer()
    cli.command()(serve)
    result = CliRunner().invoke(cli, ["--host", "0.0.0.0", "--lake", str(lake.root)])
    assert result.exit_code == 2
    assert "--token" in result.output and "AIFINOPS_TOKEN" in result.output


def test_url_names_the_token_when_there_is_one() -> None:
    assert url_of("127.0.0.1", 8765) == "http://127.0.0.1:8765/"
    assert url_of("0.0.0.0", 80, "a b/c") == "http://127.0.0.1:80/?token=a%20b%2Fc"
    assert url_of("::1", 1) == "http://[::1]:1/"


def test_serve_prints_the_url_and_serves_with_the_env_token(lake: Lake, tmp_path: Path) -> None:
    port = free_port()
    script = "import typer; from aifinops.cli_serve import serve; typer.run(serve)"
    env = {**os.environ, "AIFINOPS_TOKEN": TOKEN, "AIFINOPS_CONFIG": str(tmp_path / "none.yaml")}
    (tmp_path / "none.yaml").write_text("{}\n")
    args = [sys.executable, "-c", script, "--lake", str(lake.root), "--port", str(port)]
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 60
        while "Dashboard at" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        found = re.search(r"(http://\S+)", line)
        assert found, line
        url = found.group(1)
        assert url == f"http://127.0.0.1:{port}/?token={TOKEN}"
        assert httpx.get(url.replace("/?", "/healthz?")).json() == {"ok": True}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)
