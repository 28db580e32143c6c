"""The dashboard's HTML pages over real HTTP on loopback: each page, its nav and chart
containers, the static files, nothing loaded from outside, and the token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from aifinops.analyze.spend import DIMENSIONS
from aifinops.lake.store import Lake
from aifinops.web.app import create_app
from aifinops.web.pages import NAV, PLOTLY_JS
from support.pages_server import demo_lake, serve

#: Each page and the containers its script fills.
PAGES: dict[str, tuple[str, ...]] = {
    "/": ("chart-trend", "chart-ai", "movers", "kpi-allocatable_share", "kpi-idle_gpu_share"),
    "/explore": ("chart-explore", "explore-table", "download-csv", "by-0", "filter-dim"),
    "/gpus": ("chart-gpu-hours", "chart-gpu-rate", "gpu-table", "gpu-cheapest"),
    "/teams": ("chart-teams", "teams-table", "teams-pools", "owner-by"),
    "/data": ("data-partitions", "data-reconciliation", "validation-status"),
    "/units": ("chart-units", "units-table", "units-by", "units-grain", "units-figure"),
    "/runs": ("chart-runs", "runs-table", "runs-early", "runs-outcome", "runs-experiment"),
    "/waste": ("chart-waste", "chart-timeline", "waste-table", "waste-thresholds", "waste-by"),
}
LIVE = (
    "Overview",
    "Explore",
    "GPUs",
    "Teams &amp; models",
    "Data",
    "Unit costs",
    "Runs",
    "GPU waste",
)
COMING = ("Anomalies", "Budgets", "Policies", "Recommendations", "Plans")
#: Any src/href (or CSS url()) that leaves the app: scheme-qualified or protocol-relative.
EXTERNAL = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|url\(\s*["']?(?:https?:)?//""",
    re.I,
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return demo_lake(tmp_path_factory)


@pytest.fixture(scope="module")
def client(lake: Lake) -> Iterator[httpx.Client]:
    with serve(create_app(lake)) as base, httpx.Client(base_url=base, timeout=60) as c:
        yield c


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_is_html_with_the_whole_nav(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    for label in LIVE:
        assert label in html
    for item in NAV:
        if item.path:
            assert f'href="{item.path}"' in html
    assert html.count('aria-current="page"') == 1


@pytest.mark.parametrize("path", list(PAGES))
def test_later_capabilities_are_in_the_nav_but_disabled(client: httpx.Client, path: str) -> None:
    html = client.get(path).text
    for label in COMING:
        match = re.search(rf"<span class=\"coming\" aria-disabled=\"true\"[^>]*>{label} ", html)
        assert match, f"{label} should be a disabled 'coming' entry on {path}"
        assert f">{label}</a>" not in html


@pytest.mark.parametrize(("path", "ids"), list(PAGES.items()))
def test_each_page_holds_its_chart_containers(
    client: httpx.Client, path: str, ids: tuple[str, ...]
) -> None:
    html = client.get(path).text
    for element in ids:
        assert f'id="{element}"' in html, f"{path} lacks #{element}"
    assert '<script src="/static/app.js"' in html
    assert '<script src="/static/ml.js"' in html
    assert '<link rel="stylesheet" href="/static/app.css">' in html


def test_chart_pages_load_plotly_from_the_app(client: httpx.Client) -> None:
    for path in ("/", "/explore", "/gpus", "/teams", "/units", "/runs", "/waste"):
        assert '<script src="/static/plotly.min.js"' in client.get(path).text


def test_explore_offers_every_dimension_and_the_three_measures(client: httpx.Client) -> None:
    html = client.get("/explore").text
    by = html[html.index('id="by-0"') : html.index("</select>", html.index('id="by-0"'))]
    for name in DIMENSIONS:
        assert f'<option value="{name}">' in by
    for measure in ("billed_cost", "effective_cost", "list_cost"):
        assert f'<option value="{measure}">' in html
    assert 'href="/api/v1/explore?format=csv"' in html


def test_static_files_are_served_by_the_app(client: httpx.Client) -> None:
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "/api/v1" in js.text
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and "javascript" in plotly.headers["content-type"]
    assert plotly.content == PLOTLY_JS.read_bytes()
    assert client.get("/static/missing.js").status_code == 404


def test_nothing_is_loaded_from_outside_the_app(client: httpx.Client) -> None:
    for path in PAGES:
        html = client.get(path).text
        assert not EXTERNAL.search(html), f"{path} loads {EXTERNAL.search(html)}"
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html):
            assert "http:" not in tag and "https:" not in tag, tag
    for asset in ("/static/app.js", "/static/ml.js", "/static/app.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text, asset
        assert "@import" not in text


def test_pages_only_call_the_same_origin_json_api(client: httpx.Client) -> None:
    js = client.get("/static/app.js").text
    assert re.findall(r"fetch\(\s*url", js), "app.js fetches through its one api() helper"
    assert 'credentials: "same-origin"' in js
    assert "XMLHttpRequest" not in js and "WebSocket" not in js
    ml = client.get("/static/ml.js").text
    assert "fetch(" not in ml and "XMLHttpRequest" not in ml, "ml.js uses app.js's api()"


def test_with_a_token_pages_and_static_files_need_it(lake: Lake) -> None:
    with serve(create_app(lake, token="s3cret-token")) as base:
        with httpx.Client(base_url=base, timeout=60) as anonymous:
            for path in ("/", "/explore", "/static/app.js", "/static/plotly.min.js"):
                assert anonymous.get(path).status_code == 401, path
        with httpx.Client(base_url=base, timeout=60) as browser:
            first = browser.get("/explore", params={"token": "s3cret-token"})
            assert first.status_code == 200
            assert "httponly" in first.headers["set-cookie"].lower()
            # the cookie now carries the token for the page's own requests
            assert browser.get("/static/app.js").status_code == 200
            assert browser.get("/api/v1/meta").status_code == 200


def test_api_docs_are_served_by_the_app_itself(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert sources and not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    for path in ("/static/apidocs/swagger-ui-bundle.js", "/static/apidocs/swagger-ui.css"):
        asset = client.get(path)
        assert asset.status_code == 200 and len(asset.content) > 10_000, path
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
