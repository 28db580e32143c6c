"""The dashboard's HTML pages: server-rendered layouts whose charts the browser draws.

Each page is a Jinja2 template holding the navigation, the controls and empty chart
containers; ``static/app.js`` fills them from the JSON API (``/api/v1/...``) with the
``plotly.min.js`` shipped inside the plotly package. Nothing is loaded from outside the app,
so the dashboard works with no internet. The pages hold no analysis: the server renders only
what every page shares (dimension names, measures) and the JSON API answers the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import plotly
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from aifinops.analyze.phases import WASTE_STATES
from aifinops.analyze.runs import OUTCOMES
from aifinops.analyze.spend import DIMENSIONS, MEASURES
from aifinops.analyze.unit_figures import FIGURES
from aifinops.analyze.units import DEFAULT_UNIT_BY, UNIT_DIMENSIONS
from aifinops.analyze.waste import WASTE_DIMENSIONS

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE / "static"
#: The Plotly bundle inside the installed plotly package (served as /static/plotly.min.js).
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation bar: a page, or one a later capability will add."""

    label: str
    path: str | None  # None: not built yet, shown disabled as "coming"
    page: str = ""


NAV: tuple[NavItem, ...] = (
    NavItem("Overview", "/", "overview"),
    NavItem("Explore", "/explore", "explore"),
    NavItem("GPUs", "/gpus", "gpus"),
    NavItem("Teams & models", "/teams", "teams"),
    NavItem("Data", "/data", "data"),
    NavItem("Unit costs", "/units", "units"),
    NavItem("Runs", "/runs", "runs"),
    NavItem("GPU waste", "/waste", "waste"),
    NavItem("Anomalies", None),
    NavItem("Budgets", None),
    NavItem("Policies", None),
    NavItem("Recommendations", None),
    NavItem("Plans", None),
)

#: Friendly names for the dimensions the issue names; the others read as their key.
DIMENSION_LABELS: dict[str, str] = {
    "provider": "cloud",
    "account": "account",
    "service": "service",
    "region": "region",
    "team": "team",
    "project": "project",
    "model": "model",
    "experiment": "experiment",
    "workload": "workload",
    "lifecycle_stage": "lifecycle stage",
    "gpu_model": "accelerator model",
    "pricing_category": "pricing category",
}

#: The cost measures Explore offers (billed / effective / list; the others stay in the table).
CHART_MEASURES = ("effective_cost", "billed_cost", "list_cost")
#: Who the Teams & models page can show back to.
OWNERS = ("team", "project", "model")
#: The Unit costs page's groupings (one dimension, or the report's default three).
UNIT_GROUPS = (*UNIT_DIMENSIONS, ",".join(DEFAULT_UNIT_BY))
#: The Unit costs page's figures: column and what one buys.
UNIT_FIGURES = (
    *((f.column, f.per) for f in FIGURES),
    ("usd_per_gpu_hour", "GPU-hour"),
    ("usd_per_1k_requests_all_hours", "1,000 requests, every hour"),
)


def dimension_choices() -> list[tuple[str, str]]:
    """Return ``(name, label)`` for every dimension, the issue's named ones first."""
    named = [(d, DIMENSION_LABELS[d]) for d in DIMENSION_LABELS if d in DIMENSIONS]
    rest = [(d, d.replace("_", " ")) for d in DIMENSIONS if d not in DIMENSION_LABELS]
    return named + rest


router = APIRouter(include_in_schema=False)


def _render(request: Request, template: str, page: str, title: str) -> HTMLResponse:
    context = {
        "nav": NAV,
        "page": page,
        "title": title,
        "dimensions": dimension_choices(),
        "measures": [m for m in MEASURES if m in CHART_MEASURES],
        "all_measures": list(MEASURES),
        "owners": OWNERS,
        "unit_groups": UNIT_GROUPS,
        "unit_figures": UNIT_FIGURES,
        "outcomes": OUTCOMES,
        "waste_dimensions": tuple(WASTE_DIMENSIONS),
        "waste_states": WASTE_STATES,
    }
    return TEMPLATES.TemplateResponse(request, template, context)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request) -> HTMLResponse:
    """Spend trend by cloud, AI/GPU share, top movers and the KPI tiles."""
    return _render(request, "overview.html", "overview", "Overview")


@router.get("/explore", response_class=HTMLResponse)
def explore_page(request: Request) -> HTMLResponse:
    """Group by and filter any dimension; the URL holds the whole state."""
    return _render(request, "explore.html", "explore", "Explore")


@router.get("/gpus", response_class=HTMLResponse)
def gpus_page(request: Request) -> HTMLResponse:
    """Accelerator-hours and $/GPU-hour by model and cloud against catalog prices."""
    return _render(request, "gpus.html", "gpus", "GPUs")


@router.get("/teams", response_class=HTMLResponse)
def teams_page(request: Request) -> HTMLResponse:
    """Showback per team, project or model."""
    return _render(request, "teams.html", "teams", "Teams & models")


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request) -> HTMLResponse:
    """Partitions, freshness, reconciliation and validation status."""
    return _render(request, "data.html", "data", "Data")


@router.get("/units", response_class=HTMLResponse)
def units_page(request: Request) -> HTMLResponse:
    """$ per 1k requests, 1M tokens, epoch, step and GPU-hour by model, team or cloud."""
    return _render(request, "units.html", "units", "Unit costs")


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    """The run ledger, cost per experiment by outcome, and the early-stop opportunities."""
    return _render(request, "runs.html", "runs", "Runs")


@router.get("/waste", response_class=HTMLResponse)
def waste_page(request: Request) -> HTMLResponse:
    """Idle, zombie and under-used GPU-hours, cost and energy, and one resource's timeline."""
    return _render(request, "waste.html", "waste", "GPU waste")


def mount_static(app: FastAPI) -> None:
    """Serve ``static/`` at ``/static`` and plotly's own bundle at ``/static/plotly.min.js``.

    The plotly route is added before the mount so that it wins over the static folder.
    """

    def plotly_js() -> FileResponse:
        return FileResponse(
            PLOTLY_JS,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.add_api_route(
        "/static/plotly.min.js", plotly_js, methods=["GET", "HEAD"], include_in_schema=False
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
