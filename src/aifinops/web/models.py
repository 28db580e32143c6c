"""Response shapes of the JSON API, for the OpenAPI document (``/openapi.json``, ``/docs``).

Money is an exact decimal string (``"1234.5"``), never a float; shares and rates are floats.
Rows whose columns depend on the request (``explore``) or on a report are open objects.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

Money = str | None
Row = dict[str, Any]


class Meta(BaseModel):
    lake: str = Field(description="The lake directory.")
    version: str = Field(description="Changes whenever any partition changes (cache key).")
    months: list[str] = Field(description="Billing months in the lake, YYYY-MM, ascending.")
    dimensions: list[str] = Field(description="Names `by` and `filter` accept.")
    measures: list[str] = Field(description="Names `measure` accepts.")
    providers: list[str] = Field(description="ProviderName values in the lake.")


class Totals(BaseModel):
    billed_cost: Money
    effective_cost: Money
    list_cost: Money
    savings: Money = Field(description="list_cost - effective_cost.")


class TrendPoint(BaseModel):
    month: str | None
    provider: str | None
    effective_cost: Money


class AcceleratorKindCost(BaseModel):
    accelerator_kind: str
    effective_cost: Money


class AiShare(BaseModel):
    accelerator_cost: Money = Field(description="Effective cost of rows with an accelerator.")
    total_cost: Money
    share: float | None = Field(description="accelerator_cost / total_cost (null when 0).")
    by_kind: list[AcceleratorKindCost]


class Mover(BaseModel):
    service: str | None
    provider: str | None
    previous_month: str
    current_month: str
    previous: Money
    current: Money
    change: Money = Field(description="current - previous.")


class Kpis(BaseModel):
    allocatable_share: float | None = Field(description="Share of effective cost with a team.")
    effective_savings_rate: float | None = Field(description="savings / list cost.")
    idle_gpu_share: float | None = Field(
        description="Share (0-1) of the GPU-hours observed in telemetry spent idle or zombie; "
        "null without telemetry (or with no GPU-hours in the period)."
    )
    telemetry: bool = Field(description="True when GPU telemetry has been imported.")
    usd_per_gpu_hour: Money = Field(description="Accelerator effective cost / accelerator-hours.")


class Overview(BaseModel):
    period: str
    totals: Totals
    trend: list[TrendPoint]
    ai: AiShare
    movers: list[Mover]
    kpis: Kpis


class Explore(BaseModel):
    by: list[str]
    period: str
    measure: str
    filters: list[str] = Field(description="The filters applied, as dimension:value.")
    columns: list[str] = Field(description="Row keys in order: the dimensions, then measures.")
    rows: list[Row] = Field(description="One object per group; money as decimal strings.")
    total: Row = Field(description="Every measure over all matching rows.")
    groups: int = Field(description="Groups before `limit`.")
    truncated: bool = Field(description="True when `limit` left groups out.")


class Gpus(BaseModel):
    period: str
    rows: list[Row] = Field(description="`aifinops report gpu` rows (GPU_COLUMNS).")
    cheapest: list[Row] = Field(description="Cheapest catalog offer per model and term.")
    notes: list[str]


class TeamRow(BaseModel):
    owner: str | None
    direct_cost: Money
    shared_cost: Money
    total_cost: Money
    accelerator_hours: Money
    usd_per_gpu_hour: Money


class Teams(BaseModel):
    by: str
    period: str
    rows: list[TeamRow]
    pools: list[Row] = Field(description="Per period and pool: method, rows, amount.")


class Validation(BaseModel):
    ok: bool
    rows_checked: int
    violations: list[Row]
    skipped: list[str]


class DataStatus(BaseModel):
    partitions: list[Row] = Field(description="`aifinops sources` rows.")
    reconciliation: list[Row] = Field(description="Manifest totals vs the engine's sums.")
    validation: Validation


class UnitFigure(BaseModel):
    column: str = Field(description="The row key of the figure, e.g. usd_per_1k_requests.")
    unit: str = Field(description="The counted unit (metric) it divides by.")
    per: str = Field(description="What one figure buys, in words.")
    formula: str = Field(description="How the figure is worked out.")


class Units(BaseModel):
    by: list[str]
    grain: str = Field(description="month, day or none.")
    period: str
    basis: str = Field(description="Where the cost comes from (billing).")
    metrics: bool = Field(description="True when usage metrics have been imported.")
    columns: list[str] = Field(description="Row keys in order: dimensions, period, measures.")
    rows: list[Row] = Field(description="`aifinops report units` rows; money as strings.")
    figures: list[UnitFigure]
    notes: list[str]


class RunRule(BaseModel):
    metric: str
    mode: str
    patience: int
    min_delta: float
    abandoned_after_hours: float


class Runs(BaseModel):
    as_of: str = Field(description="When the ledger was drawn up: unfinished runs end here.")
    period: str = Field(description="Months the runs started in.")
    outcomes: list[str] = Field(description="The outcomes kept (empty: all).")
    experiment: str | None
    runs_imported: bool = Field(description="True when MLflow runs have been imported.")
    experiment_names: list[str] = Field(description="Every experiment in the lake.")
    columns: list[str]
    rows: list[Row] = Field(description="The run ledger (`aifinops report runs`).")
    experiments: list[Row] = Field(description="Per experiment: runs, outcomes, costs.")
    by_outcome: list[Row] = Field(description="Per experiment and outcome: runs, cost.")
    early_stops: list[Row] = Field(description="Runs and sessions past their early stop.")
    rule: RunRule


class Threshold(BaseModel):
    name: str
    value: float
    meaning: str


class Waste(BaseModel):
    by: list[str]
    period: str
    telemetry: bool = Field(description="True when GPU telemetry has been imported.")
    columns: list[str]
    rows: list[Row] = Field(description="`aifinops report waste` rows (waste states only).")
    totals: list[Row] = Field(description="Every state's GPU-hours, share, cost, energy.")
    notes: list[str]
    thresholds: list[Threshold]
    resources: list[Row] = Field(description="Resources (else hosts) in the telemetry.")


class WasteSegments(BaseModel):
    resource: str
    period: str
    segments: list[Row] = Field(description="Priced segments, by GPU and start time.")
    count: int = Field(description="Segments before `limit`.")
    truncated: bool


class GpuUtilisation(BaseModel):
    period: str
    telemetry: bool
    rows: list[Row] = Field(description="Per GPU model: GPU-hours by state, waste, energy.")


class Health(BaseModel):
    ok: bool


class Problem(BaseModel):
    detail: str = Field(description="What is wrong and how to fix it.")
