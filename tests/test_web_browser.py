"""The dashboard in a real browser: Debian's Chromium driven by Playwright, over the real app
served by uvicorn on loopback, over a small demo lake (`make install` installs Chromium)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from aifinops.lake.store import Lake
from aifinops.web.app import create_app
from support.pages_server import demo_lake, serve

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: run `make install` (it apt-get installs chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402 - only once Chromium is known to be there
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)

pytestmark = pytest.mark.slow
#: The pages' analyses take seconds on a busy machine: assertions wait up to this long.
expect.set_options(timeout=60_000)
TOKEN = "browser-test-token"
#: Each page and an element its script marks (data-query) once drawn from the API.
DRAWN = {
    "/": "#chart-trend",
    "/explore": "#chart-explore",
    "/gpus": "#chart-gpu-rate",
    "/teams": "#chart-teams",
    "/data": "#data-partitions",
}
# NOTE: /units, /runs and /waste are loaded, checked for console errors and driven by their
# own tests below (each page's analyses take seconds; loading them twice would double that).


class Problems:
    """Console errors, uncaught exceptions, failed requests and HTTP errors seen by a page."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.seen.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"console error: {message.text} at {message.location}")

    def _failed(self, request: Request) -> None:
        self.seen.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.seen.append(f"HTTP {response.status}: {response.url}")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return demo_lake(tmp_path_factory)


@pytest.fixture(scope="module")
def base(lake: Lake) -> Iterator[str]:
    with serve(create_app(lake)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def api(base: str, path: str, params: list[tuple[str, str]]) -> httpx.Response:
    response = httpx.get(base + path, params=params, timeout=60)
    response.raise_for_status()
    return response


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def plotted_x(page: Page, selector: str) -> list[list[str]]:
    """Return the x values of every trace Plotly drew in ``selector``."""
    return page.evaluate(
        "(sel) => document.querySelector(sel).data.map((t) => t.x.map(String))", selector
    )


@pytest.mark.parametrize("path", list(DRAWN))
def test_every_page_loads_without_console_errors_or_failed_requests(
    page: Page, base: str, path: str
) -> None:
    problems = Problems(page)
    page.goto(base + path)
    expect(page.locator(DRAWN[path])).to_have_attribute("data-query", re.compile(".*"))
    page.wait_for_load_state("networkidle")
    expect(page.locator("#error")).to_be_hidden()
    assert problems.seen == []


def test_api_docs_render_offline(page: Page, base: str) -> None:
    problems = Problems(page)
    page.goto(base + "/docs")
    # Swagger UI drew the API's operations from the local bundle and /openapi.json.
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert page.locator(".opblock").count() >= 6
    page.wait_for_load_state("networkidle")
    assert problems.seen == []


def test_overview_draws_the_trend_chart_and_the_kpis(page: Page, base: str) -> None:
    page.goto(base + "/")
    expect(page.locator("#chart-trend .main-svg").first).to_be_visible()
    expect(page.locator("#chart-ai .main-svg").first).to_be_visible()
    months = api(base, "/api/v1/meta", []).json()["months"]
    x = {v for trace in plotted_x(page, "#chart-trend") for v in trace}
    assert x == set(months)
    assert page.locator("#chart-trend .bars .point").count() > 0
    idle = api(base, "/api/v1/overview", []).json()["kpis"]["idle_gpu_share"]
    expect(page.locator("#kpi-idle_gpu_share .kpi-value")).to_have_text(f"{idle * 100:.1f}%")
    expect(page.locator("#kpi-allocatable_share .kpi-value")).to_have_text(re.compile(r"%$"))
    expect(page.locator("#movers table tbody tr").first).to_be_visible()
    # Plotly's modebar offers no way out of the app (no "Share chart", no logo link)
    page.hover("#chart-trend")
    expect(page.locator("#chart-trend .modebar-btn").first).to_be_attached()
    assert page.locator('#chart-trend [data-title="Share chart..."]').count() == 0
    assert page.locator("#chart-trend a[href^='http']").count() == 0


def test_explore_controls_update_chart_table_and_url_and_a_reload_restores_them(
    page: Page, base: str
) -> None:
    problems = Problems(page)
    page.goto(base + "/explore")
    chart, table = page.locator("#chart-explore"), page.locator("#explore-table")
    expect(chart).to_have_attribute("data-query", re.compile("by=provider"))

    page.select_option("#by-0", "team")
    expect(chart).to_have_attribute("data-query", re.compile("by=team"))
    assert query_of(page)["by"] == ["team"]
    teams = api(base, "/api/v1/explore", [("by", "team")]).json()["rows"]
    assert plotted_x(page, "#chart-explore")[0] == [t["team"] or "(none)" for t in teams]
    expect(table.locator("thead th").first).to_have_text("team")
    expect(table.locator("tbody tr")).to_have_count(len(teams))

    page.select_option("#filter-dim", "provider")
    page.fill("#filter-value", "AWS")
    page.click("#filter-add")
    expect(chart).to_have_attribute("data-query", re.compile("filter=provider%3AAWS"))
    assert query_of(page)["filter"] == ["provider:AWS"]
    aws = api(base, "/api/v1/explore", [("by", "team"), ("filter", "provider:AWS")]).json()
    expect(table.locator("tbody tr")).to_have_count(len(aws["rows"]))
    first = aws["rows"][0]["team"] or "(none)"
    expect(table.locator("tbody tr").first.locator("td").first).to_have_text(first)
    expect(page.locator("#filter-chips .chip")).to_have_text(["provider = AWS×"])

    page.select_option("#chart-type", "line")
    page.select_option("#measure", "billed_cost")
    expect(chart).to_have_attribute("data-query", re.compile("measure=billed_cost.*chart=line"))
    page.wait_for_load_state("networkidle")
    state = query_of(page)
    assert state["measure"] == ["billed_cost"] and state["chart"] == ["line"]
    assert page.evaluate("document.querySelector('#chart-explore').data[0].type") == "scatter"

    shared = page.url
    page.goto("about:blank")
    page.goto(shared)
    expect(chart).to_have_attribute("data-query", re.compile("filter=provider%3AAWS"))
    expect(page.locator("#by-0")).to_have_value("team")
    expect(page.locator("#measure")).to_have_value("billed_cost")
    expect(page.locator("#chart-type")).to_have_value("line")
    expect(page.locator("#filter-chips .chip")).to_have_count(1)
    expect(table.locator("tbody tr")).to_have_count(len(aws["rows"]))
    assert page.evaluate("document.querySelector('#chart-explore').data[0].type") == "scatter"
    assert problems.seen == []


def test_removing_a_filter_chip_updates_the_url(page: Page, base: str) -> None:
    page.goto(base + "/explore?by=workload&filter=provider:AWS&filter=provider:Microsoft")
    chart = page.locator("#chart-explore")
    expect(chart).to_have_attribute("data-query", re.compile("by=workload"))
    expect(page.locator("#filter-chips .chip")).to_have_count(2)
    page.click("#filter-chips .chip-remove >> nth=0")
    expect(page.locator("#filter-chips .chip")).to_have_count(1)
    expect(chart).not_to_have_attribute("data-query", re.compile("provider%3AAWS"))
    assert query_of(page)["filter"] == ["provider:Microsoft"]


def test_csv_download_matches_the_json_api(page: Page, base: str) -> None:
    page.goto(base + "/explore?by=provider,workload&period=all&filter=workload:training")
    expect(page.locator("#chart-explore")).to_have_attribute(
        "data-query", re.compile("by=provider%2Cworkload")
    )
    link = page.locator("#download-csv")
    href = link.get_attribute("href") or ""
    assert href.startswith("/api/v1/explore?") and "format=csv" in href
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "explore.csv"
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the CSV has rows"
    header = list(rows[0])
    assert header[:2] == ["provider", "workload"]
    assert {"billed_cost", "effective_cost", "list_cost"} <= set(header)
    assert {r["workload"] for r in rows} == {"training"}
    answer = api(
        base,
        "/api/v1/explore",
        [("by", "provider,workload"), ("filter", "workload:training"), ("limit", "10000")],
    ).json()
    assert len(rows) == len(answer["rows"])
    for measure in ("billed_cost", "effective_cost", "list_cost"):
        got = sum((Decimal(r[measure]) for r in rows if r[measure]), Decimal(0))
        assert got == Decimal(answer["total"][measure]), measure


def test_teams_owner_choice_is_drawn_and_kept_in_the_url(page: Page, base: str) -> None:
    page.goto(base + "/teams")
    chart = page.locator("#chart-teams")
    expect(chart).to_have_attribute("data-query", re.compile("by=team"))
    page.select_option("#owner-by", "project")
    expect(chart).to_have_attribute("data-query", re.compile("by=project"))
    assert query_of(page)["by"] == ["project"]
    projects = api(base, "/api/v1/teams", [("by", "project")]).json()["rows"]
    expect(page.locator("#teams-table tbody tr")).to_have_count(len(projects))


def test_with_a_token_the_pages_work_through_the_cookie(browser: Browser, lake: Lake) -> None:
    with serve(create_app(lake, token=TOKEN)) as url:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{url}/?token={TOKEN}")
        expect(page.locator("#chart-trend .main-svg").first).to_be_visible()
        problems = Problems(page)
        page.goto(url + "/explore?by=team")
        expect(page.locator("#chart-explore")).to_have_attribute(
            "data-query", re.compile("by=team")
        )
        page.wait_for_load_state("networkidle")
        assert problems.seen == []
        context.close()


def test_unit_costs_grouping_and_figure_update_chart_table_and_url(page: Page, base: str) -> None:
    problems = Problems(page)
    page.goto(base + "/units")
    chart, table = page.locator("#chart-units"), page.locator("#units-table")
    expect(chart).to_have_attribute("data-query", "")
    page.select_option("#units-by", "team")
    expect(chart).to_have_attribute("data-query", re.compile("by=team"))
    assert query_of(page)["by"] == ["team"]
    body = api(base, "/api/v1/units", [("by", "team")]).json()
    expect(table.locator("tbody tr")).to_have_count(len(body["rows"]))
    names = page.evaluate("document.querySelector('#chart-units').data.map((t) => t.name)")
    counted = [r for r in body["rows"] if r["usd_per_1k_requests"] is not None]
    assert counted and set(names) == {r["team"] or "(none)" for r in counted}
    page.select_option("#units-figure", "usd_per_1m_tokens_out")
    expect(chart).to_have_attribute("data-query", re.compile("figure=usd_per_1m_tokens_out"))
    assert query_of(page)["figure"] == ["usd_per_1m_tokens_out"]
    formula = next(f for f in body["figures"] if f["column"] == "usd_per_1m_tokens_out")
    expect(page.locator("#units-formula")).to_have_text(formula["formula"])
    header = table.locator("th", has_text="usd per 1m tokens out")
    assert header.get_attribute("title") == formula["formula"]
    page.wait_for_load_state("networkidle")
    assert problems.seen == []


def test_runs_outcome_filter_updates_chart_ledger_and_url(page: Page, base: str) -> None:
    problems = Problems(page)
    if not api(base, "/api/v1/runs", []).json()["runs_imported"]:
        pytest.skip("the demo has no MLflow runs without MLflow (pip install 'aifinops[mlflow]')")
    page.goto(base + "/runs")
    chart, ledger = page.locator("#chart-runs"), page.locator("#runs-table")
    expect(chart).to_have_attribute("data-query", "period=all")
    expect(page.locator("#runs-early tbody tr", has_text="pretrain-7b-run42")).to_have_count(1)
    page.select_option("#runs-outcome", "failed")
    expect(chart).to_have_attribute("data-query", re.compile("outcome=failed"))
    assert query_of(page)["outcome"] == ["failed"]
    body = api(base, "/api/v1/runs", [("outcome", "failed")]).json()
    expect(ledger.locator("tbody tr")).to_have_count(len(body["rows"]))
    traces = page.evaluate("document.querySelector('#chart-runs').data.map((t) => t.name)")
    assert traces == ["failed"]
    options = page.locator("#runs-experiment option").all_text_contents()
    assert options == ["All experiments", *body["experiment_names"]]
    page.wait_for_load_state("networkidle")
    assert problems.seen == []


def test_gpu_waste_grouping_and_timeline_update_with_the_url(page: Page, base: str) -> None:
    problems = Problems(page)
    page.goto(base + "/waste")
    chart, timeline = page.locator("#chart-waste"), page.locator("#chart-timeline")
    expect(timeline).to_have_attribute("data-query", re.compile("resource="))
    thresholds = api(base, "/api/v1/waste", [("by", "host")]).json()["thresholds"]
    expect(page.locator("#waste-thresholds tbody tr")).to_have_count(len(thresholds))
    page.select_option("#waste-by", "model")
    expect(chart).to_have_attribute("data-query", re.compile("by=model"))
    assert query_of(page)["by"] == ["model"]
    body = api(base, "/api/v1/waste", [("by", "model")]).json()
    expect(page.locator("#waste-table tbody tr")).to_have_count(len(body["rows"]))
    x = {v for trace in plotted_x(page, "#chart-waste") for v in trace}
    assert x == {r["model"] for r in body["rows"]}
    last = body["resources"][-1]["resource"]
    page.select_option("#waste-resource", last)
    wanted = re.compile(re.escape(urlencode({"resource": last})))
    expect(timeline).to_have_attribute("data-query", wanted)
    assert query_of(page)["resource"] == [last]
    segments = api(base, "/api/v1/waste/segments", [("resource", last)]).json()["segments"]
    drawn = page.evaluate(
        "document.querySelector('#chart-timeline').data.reduce((n, t) => n + t.y.length, 0)"
    )
    assert drawn == len(segments)
    page.wait_for_load_state("networkidle")
    assert problems.seen == []
