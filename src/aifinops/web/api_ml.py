"""The ML routes of the JSON API: unit costs, the run ledger, GPU waste and utilisation.

Same rules as :mod:`aifinops.web.api`: parameters are checked here (422 for a broken
pattern, range or choice; 400 naming the parameter for what a pattern cannot say), answers
come from :mod:`aifinops.web.views_ml` and are cached per (lake version, route, normalised
parameters). Every list route also answers ``format=csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aifinops.analyze.phases import SEGMENT_COLUMNS
from aifinops.analyze.runs import LEDGER_COLUMNS
from aifinops.analyze.units import DEFAULT_UNIT_BY, UNIT_DIMENSIONS
from aifinops.analyze.waste import WASTE_DIMENSIONS
from aifinops.errors import BadInputError
from aifinops.render import to_csv
from aifinops.web import models, views_ml
from aifinops.web.api import PeriodQ, WebState, cached, period_of

_ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": models.Problem}}
_CSV: dict[int | str, dict[str, Any]] = {**_ERRORS, 200: {"content": {"text/csv": {}}}}
#: Columns of a segment in the CSV download (the JSON carries the same keys).
SEGMENT_CSV_COLUMNS = (*SEGMENT_COLUMNS, "team", "cost", "cost_basis")


def _names_pattern(names: Sequence[str]) -> str:
    one = "(" + "|".join(names) + ")"
    return rf"^{one}(,{one})*$"


UNIT_BY_PATTERN = _names_pattern(UNIT_DIMENSIONS)
WASTE_BY_PATTERN = _names_pattern(tuple(WASTE_DIMENSIONS))
Format = Annotated[
    Literal["json", "csv"], Query(alias="format", description="json, or csv to download.")
]
Outcome = Literal["finished", "failed", "killed", "abandoned", "running"]

router = APIRouter(prefix="/api/v1", tags=["ml"])


def names_of(text: str, allowed: Sequence[str], parameter: str) -> list[str]:
    """Parse a comma-separated list of ``allowed`` names, none twice.

    Raises:
        BadInputError: naming ``parameter``, the unknown or repeated name and the choices.
    """
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or len(set(names)) != len(names) or not names:
        raise BadInputError(
            f"{parameter}={text!r} names an unknown dimension or one twice",
            column=parameter,
            expected=f"distinct names among {', '.join(allowed)}",
            fix=f"for example {parameter}={allowed[0]}.",
        )
    return names


def answer(
    request: Request,
    key: Hashable,
    compute: Callable[[WebState], Any],
    fmt: str,
    csv: tuple[str, Callable[[Any], tuple[list[Any], Sequence[str]]]],
) -> Response:
    """Answer ``compute`` as JSON, or as CSV (``csv``: file name, and rows and columns of
    the answer) with ``format=csv``. Both are made from one computed answer, cached too, so
    the download equals the JSON (the run ledger's ``as_of`` included) and costs nothing."""

    def data(state: WebState) -> Any:
        version = state.lake.version()
        return state.cache.get_or_compute((version, key, "data"), lambda: compute(state))

    if fmt != "csv":
        return cached(request, key, data)
    name, pick = csv

    def body(state: WebState) -> str:
        rows, columns = pick(data(state))
        return to_csv(rows, columns)

    return cached(
        request,
        (key, "csv"),
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


def _rows(data: Any) -> tuple[list[Any], Sequence[str]]:
    return data["rows"], data["columns"]


@router.get("/units", response_model=models.Units, responses=_CSV)
def get_units(
    request: Request,
    by: Annotated[
        str,
        Query(
            pattern=UNIT_BY_PATTERN,
            max_length=200,
            description="Dimensions, comma-separated: " + ", ".join(UNIT_DIMENSIONS) + ".",
        ),
    ] = ",".join(DEFAULT_UNIT_BY),
    grain: Annotated[
        Literal["month", "day", "none"],
        Query(description="One row per month, per day, or one for the whole period."),
    ] = "month",
    period: PeriodQ = "all",
    fmt: Format = "json",
) -> Response:
    """Cost per 1,000 requests, 1M tokens in / out, epoch, step, 1,000 samples and
    GPU-hour by model, team, cloud …, each figure with its formula."""
    dims, chosen = names_of(by, UNIT_DIMENSIONS, "by"), period_of(period)
    cut = None if grain == "none" else grain

    def compute(s: WebState) -> Any:
        return views_ml.units(s.engine, by=dims, grain=cut, period=chosen)

    return answer(
        request, ("units", tuple(dims), grain, chosen), compute, fmt, ("units.csv", _rows)
    )


@router.get("/runs", response_model=models.Runs, responses=_CSV)
def get_runs(
    request: Request,
    outcome: Annotated[
        list[Outcome],
        Query(max_length=5, description="Repeatable: keep only these outcomes (none: all)."),
    ] = [],  # noqa: B006 - FastAPI copies defaults per request
    experiment: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Keep only this experiment."),
    ] = None,
    period: PeriodQ = "all",
    fmt: Format = "json",
) -> Response:
    """The run ledger: each run's outcome, hours, GPU share, cost and cost after it stopped
    improving; cost per experiment and outcome; the early-stop opportunities."""
    outcomes, chosen = sorted(set(outcome)), period_of(period)

    def compute(s: WebState) -> Any:
        return views_ml.runs(s.engine, outcomes=outcomes, experiment=experiment, period=chosen)

    key = ("runs", tuple(outcomes), experiment, chosen)
    return answer(request, key, compute, fmt, ("runs.csv", lambda d: (d["rows"], LEDGER_COLUMNS)))


@router.get("/waste", response_model=models.Waste, responses=_CSV)
def get_waste(
    request: Request,
    by: Annotated[
        str,
        Query(
            pattern=WASTE_BY_PATTERN,
            max_length=200,
            description="Dimensions, comma-separated: " + ", ".join(WASTE_DIMENSIONS) + ".",
        ),
    ] = "host",
    period: PeriodQ = "all",
    fmt: Format = "json",
) -> Response:
    """Idle, zombie and under-used GPU-hours with their cost and energy, every state's
    total, the thresholds in force and the resources in the telemetry."""
    dims, chosen = names_of(by, tuple(WASTE_DIMENSIONS), "by"), period_of(period)

    def compute(s: WebState) -> Any:
        return views_ml.waste(s.engine, s.catalog(), s.settings.waste, by=dims, period=chosen)

    return answer(request, ("waste", tuple(dims), chosen), compute, fmt, ("waste.csv", _rows))


@router.get("/waste/segments", response_model=models.WasteSegments, responses=_CSV)
def get_waste_segments(
    request: Request,
    resource: Annotated[
        str,
        Query(
            min_length=1,
            max_length=1000,
            description="A resource id (or, for telemetry without one, a host) from "
            "`resources` of /api/v1/waste.",
        ),
    ],
    period: PeriodQ = "all",
    limit: Annotated[int, Query(ge=1, le=50000, description="Most segments returned.")] = 5000,
    fmt: Format = "json",
) -> Response:
    """One resource's GPUs, state by time: every priced segment (busy, under-used, zombie,
    idle) with its GPU-hours, utilisation, memory, power, energy and cost."""
    chosen = period_of(period)

    def every(s: WebState) -> Any:
        version = s.lake.version()
        return s.cache.get_or_compute(
            (version, "segments", resource, chosen),
            lambda: views_ml.segments(s.engine, s.catalog(), s.settings.waste, resource, chosen),
        )

    def compute(s: WebState) -> Any:
        return views_ml.first_segments(every(s), limit)

    def pick(data: Any) -> tuple[list[Any], Sequence[str]]:
        return data["segments"], SEGMENT_CSV_COLUMNS

    key = ("segments", resource, chosen, limit)
    return answer(request, key, compute, fmt, ("segments.csv", pick))


@router.get("/gpus/utilisation", response_model=models.GpuUtilisation, responses=_ERRORS)
def get_gpu_utilisation(request: Request, period: PeriodQ = "all") -> Response:
    """Per GPU model, from telemetry: GPU-hours by state, waste share and cost, energy and
    mean utilisation (empty rows without telemetry)."""
    chosen = period_of(period)

    def compute(s: WebState) -> Any:
        return views_ml.utilisation(s.engine, s.catalog(), s.settings.waste, period=chosen)

    return cached(request, ("utilisation", chosen), compute)
