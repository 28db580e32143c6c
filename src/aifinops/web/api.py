"""The JSON API under ``/api/v1``: parameters checked here, answers from :mod:`aifinops.web.views`.

Every answer is cached per (lake version, route, normalised parameters) in the app's
:class:`~aifinops.web.cache.ResponseCache`; a miss runs the view with the shared engine
locked. Bad input is a 422 (FastAPI's own checks: patterns, ranges, choices) or a 400 whose
``detail`` names the parameter, the value, what is allowed and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import StringConstraints

from aifinops.analyze import DIMENSIONS, Period, parse_period
from aifinops.analyze.spend import MEASURES
from aifinops.catalog import Catalog
from aifinops.errors import BadInputError
from aifinops.lake import Lake
from aifinops.render import to_csv
from aifinops.settings import Settings
from aifinops.web import models, views
from aifinops.web.cache import ResponseCache, SharedEngine
from aifinops.web.views_overview import overview

#: Most dimensions one explore request may group by, and most filters it may carry.
MAX_BY = 6
MAX_FILTERS = 20
MAX_FILTER_LENGTH = 200
_MONTH = r"\d{4}-(0[1-9]|1[0-2])"
PERIOD_PATTERN = rf"^(all|\d{{4}}|{_MONTH}|{_MONTH}\.\.{_MONTH})$"
_DIMENSION = "(" + "|".join(DIMENSIONS) + ")"
#: ``by``: known dimension names, comma-separated (or empty); repeats are refused with a 400.
BY_PATTERN = rf"^({_DIMENSION}(,{_DIMENSION})*)?$"
#: ``filter``: a known dimension, a colon, any text.
FILTER_PATTERN = rf"^{_DIMENSION}:"
_PERIOD_HELP = "Billing months: YYYY-MM, YYYY-MM..YYYY-MM, YYYY or all."
_ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": models.Problem}}

PeriodQ = Annotated[str, Query(pattern=PERIOD_PATTERN, max_length=16, description=_PERIOD_HELP)]
FilterText = Annotated[str, StringConstraints(pattern=FILTER_PATTERN, max_length=MAX_FILTER_LENGTH)]
Measure = Literal[
    "billed_cost", "effective_cost", "list_cost", "contracted_cost", "savings", "rows"
]


@dataclass
class WebState:
    """What the routes share: the lake, one engine, the cache, the settings in force."""

    lake: Lake
    engine: SharedEngine
    settings: Settings
    cache: ResponseCache = field(default_factory=ResponseCache)
    _catalog: Catalog | None = None

    def catalog(self) -> Catalog:
        """Return the catalog (refreshed directory or packaged) with the price overrides."""
        if self._catalog is None:
            from aifinops.catalog import load_catalog

            catalog = load_catalog(self.settings.catalog)
            overrides = self.settings.price_overrides
            self._catalog = catalog.with_overrides(overrides) if overrides else catalog
        return self._catalog


router = APIRouter(prefix="/api/v1", tags=["api"])


def state_of(request: Request) -> WebState:
    """Return the app's :class:`WebState`."""
    state: WebState = request.app.state.web
    return state


def cached(
    request: Request,
    key: Hashable,
    compute: Callable[[WebState], Any],
    *,
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Response:
    """Answer from the cache, or run ``compute`` with the engine locked and cache its body.

    ``compute`` returns data (serialised to JSON with exact decimal strings) or, for other
    media types, the body text.
    """
    state = state_of(request)
    version = state.lake.version()
    state.cache.use_version(version)

    def run() -> bytes:
        with state.engine.lock:
            answer = compute(state)
        if media_type == "application/json":
            return json.dumps(views.jsonable(answer), separators=(",", ":")).encode("utf-8")
        return str(answer).encode("utf-8")

    body = state.cache.get_or_compute((version, key), run)
    return Response(
        body, media_type=media_type, headers={"X-Lake-Version": version, **(headers or {})}
    )


def period_of(text: str) -> Period | None:
    """Parse the ``period`` parameter (as the CLI's ``--period``).

    Raises:
        BadInputError: naming ``period`` and the allowed forms.
    """
    try:
        return parse_period(text)
    except BadInputError:
        raise BadInputError(
            f"bad period {text!r}",
            column="period",
            expected="YYYY-MM, YYYY-MM..YYYY-MM (first <= last), YYYY or all",
            fix="for example period=2026-09 or period=2026-08..2026-10.",
        ) from None


def dimensions_of(text: str) -> list[str]:
    """Parse ``by`` (comma-separated dimension names, each known, none twice).

    Raises:
        BadInputError: naming the unknown or repeated dimension and the known ones.
    """
    names = [d.strip() for d in text.split(",") if d.strip()]
    for name in names:
        if name not in DIMENSIONS:
            raise BadInputError(
                f"unknown dimension {name!r} in by={text!r}",
                column="by",
                expected=f"dimensions among {', '.join(DIMENSIONS)}",
                fix="pick dimensions from that list, comma-separated (GET /api/v1/meta).",
            )
    if len(set(names)) != len(names) or len(names) > MAX_BY:
        raise BadInputError(
            f"by={text!r} repeats a dimension or names more than {MAX_BY}",
            column="by",
            expected=f"up to {MAX_BY} distinct dimensions",
            fix="drop the repeated or extra names.",
        )
    return names


@router.get("/meta", response_model=models.Meta)
def get_meta(request: Request) -> Response:
    """The lake (directory, version, months, providers) and the names the API accepts."""
    return cached(request, ("meta",), lambda s: views.meta(s.lake))


@router.get("/overview", response_model=models.Overview, responses=_ERRORS)
def get_overview(request: Request, period: PeriodQ = "all") -> Response:
    """Totals, monthly trend per provider, AI/accelerator share, top movers and KPIs."""
    chosen = period_of(period)

    def compute(s: WebState) -> Any:
        return overview(s.engine, period=chosen, thresholds=s.settings.waste)

    return cached(request, ("overview", chosen), compute)


@router.get(
    "/explore",
    response_model=models.Explore,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
)
def get_explore(
    request: Request,
    by: Annotated[
        str,
        Query(
            pattern=BY_PATTERN,
            max_length=200,
            description="Dimensions to group by, comma-separated (empty: one total row).",
        ),
    ] = "provider",
    period: PeriodQ = "all",
    measure: Annotated[Measure, Query(description="Measure rows are ordered by.")] = (
        "effective_cost"
    ),
    filters: Annotated[
        list[FilterText],
        Query(
            alias="filter",
            max_length=MAX_FILTERS,
            description="Repeatable dimension:value; dimension: (no value) keeps empty values. "
            "Filters on one dimension are alternatives; on different dimensions, all apply.",
        ),
    ] = [],  # noqa: B006 - FastAPI copies defaults per request
    limit: Annotated[int, Query(ge=1, le=10000, description="Most rows returned.")] = 100,
    fmt: Annotated[
        Literal["json", "csv"], Query(alias="format", description="json, or csv to download.")
    ] = "json",
) -> Response:
    """Spend grouped by any dimensions, filtered, over any period; JSON or CSV."""
    dims, chosen = dimensions_of(by), period_of(period)
    parsed = views.parse_filters(filters)
    key = ("explore", tuple(dims), chosen, measure, tuple(sorted(set(parsed), key=str)), limit)

    def compute(s: WebState) -> Any:
        return views.explore(
            s.engine, by=dims, filters=parsed, period=chosen, measure=measure, limit=limit
        )

    if fmt == "csv":
        disposition = {"Content-Disposition": "attachment; filename=explore.csv"}
        return cached(
            request,
            (*key, "csv"),
            lambda s: to_csv(compute(s)["rows"], [*dims, *MEASURES]),
            media_type="text/csv; charset=utf-8",
            headers=disposition,
        )
    return cached(request, key, compute)


@router.get("/gpus", response_model=models.Gpus, responses=_ERRORS)
def get_gpus(request: Request, period: PeriodQ = "all") -> Response:
    """Accelerator-hours and effective $/accelerator-hour beside the catalog's prices."""
    chosen = period_of(period)
    return cached(
        request, ("gpus", chosen), lambda s: views.gpus(s.engine, s.catalog(), period=chosen)
    )


@router.get("/teams", response_model=models.Teams, responses=_ERRORS)
def get_teams(
    request: Request,
    period: PeriodQ = "all",
    by: Annotated[Literal["team", "project", "model"], Query(description="Owner field.")] = "team",
) -> Response:
    """Showback per owner: direct cost, share of the shared-cost pools, GPU unit cost."""
    chosen = period_of(period)
    return cached(
        request,
        ("teams", chosen, by),
        lambda s: views.teams(s.engine, s.settings.allocation, by=by, period=chosen),
    )


@router.get("/data", response_model=models.DataStatus)
def get_data(request: Request) -> Response:
    """Partitions with freshness, their reconciliation with the engine, FOCUS validation."""
    return cached(request, ("data",), lambda s: views.data_status(s.lake, s.engine))
