"""Which metric a source name means, how its values add up, and which columns are dimensions.

Sources name the same thing many ways (``prompt_tokens``, ``input_tokens``,
``vllm:prompt_tokens_total``); the analyses understand the canonical names of
:data:`aifinops.signals.schema.CANONICAL_METRICS`. :class:`Naming` maps a source name onto
one, and picks the metric's kind (``delta``, ``cumulative`` or ``gauge``). The rules, in
order (docs/import.md has the table):

1. a name given with ``names`` (``--name SRC=CANONICAL``), else a built-in alias, else the
   source name itself;
2. the kind given with ``kinds`` (``--kind NAME=KIND``, by source or canonical name), else
   the file's ``kind`` column, else ``cumulative`` for a counter (a name ending ``_total``),
   else the canonical name's default (:data:`DEFAULT_KINDS`), else ``gauge``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from aifinops.errors import BadInputError
from aifinops.signals.schema import CANONICAL_METRICS, METRIC_KINDS

#: Columns of a metrics file (or labels of a series) that fill the table's dimension columns.
#: Each dimension takes the first of its names the source has; the others go to ``labels``.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "resource_id": ("resource_id",),
    "host": ("host", "hostname", "instance"),
    "run_id": ("run_id",),
    "model": ("model", "model_name"),
    "team": ("team",),
    "project": ("project",),
}
#: Source names (compared in lower case) of each canonical metric.
ALIASES: dict[str, tuple[str, ...]] = {
    "requests": ("request", "requests", "inferences", "inference_count", "predictions"),
    "tokens_in": ("input_tokens", "prompt_tokens", "vllm:prompt_tokens_total"),
    "tokens_out": (
        "output_tokens",
        "completion_tokens",
        "generation_tokens",
        "vllm:generation_tokens_total",
    ),
    "epochs": ("epoch",),
    "steps": ("step", "global_step"),
    "samples": ("sample", "examples"),
}
#: Name endings of counters of requests, whatever the prefix (``vllm:request_success_total``,
#: ``tgi_request_success_total``, ``http_requests_total``).
SUFFIX_ALIASES: tuple[tuple[str, str], ...] = (
    ("request_success_total", "requests"),
    ("requests_total", "requests"),
)
#: How each canonical metric adds up unless the source says otherwise.
DEFAULT_KINDS: dict[str, str] = {
    "requests": "delta",
    "tokens_in": "delta",
    "tokens_out": "delta",
    "steps": "delta",
    "samples": "delta",
    "epochs": "cumulative",
    "loss": "gauge",
}
#: A metric whose source name ends so is a Prometheus-style counter: a running total.
COUNTER_SUFFIX = "_total"
_BY_ALIAS = {alias: canonical for canonical, aliases in ALIASES.items() for alias in aliases} | {
    name: name for name in CANONICAL_METRICS
}


@dataclass(frozen=True)
class Naming:
    """The user's name and kind overrides, and the built-in rules behind them.

    Args:
        names: source name → metric name (takes precedence over the aliases).
        kinds: source or metric name → ``delta``, ``cumulative`` or ``gauge``.
    """

    names: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, kind in self.kinds.items():
            check_kind(kind, where=f"the kind given for {name!r}", column="--kind")

    def metric(self, source: str) -> str:
        """Return the metric name a source name maps to."""
        if source in self.names:
            return self.names[source]
        lowered = source.lower()
        if lowered in _BY_ALIAS:
            return _BY_ALIAS[lowered]
        for suffix, canonical in SUFFIX_ALIASES:
            if lowered.endswith(suffix):
                return canonical
        return source

    def kind(self, source: str, metric: str, declared: str | None = None) -> str:
        """Return the kind of a metric.

        Args:
            source: the name in the file.
            metric: the name it maps to (:meth:`metric`).
            declared: the file's own ``kind`` for the row, if it has one.
        """
        for name in (source, metric):
            if name in self.kinds:
                return self.kinds[name]
        if declared:
            return declared
        if source.lower().endswith(COUNTER_SUFFIX):
            return "cumulative"
        return DEFAULT_KINDS.get(metric, "gauge")


def check_kind(
    kind: str,
    *,
    where: str,
    file: str | None = None,
    row: int | None = None,
    column: str = "kind",
) -> str:
    """Return ``kind`` when it is a metric kind.

    Raises:
        BadInputError: naming ``where`` it came from and the kinds allowed.
    """
    if kind not in METRIC_KINDS:
        raise BadInputError(
            f"{where} is {kind!r}, not a metric kind",
            file=file,
            row=row,
            column=column,
            expected=" or ".join(METRIC_KINDS),
            fix="delta: each value counts since the previous sample; cumulative: a running "
            "total; gauge: a level such as loss (see docs/import.md).",
        )
    return kind


def parse_pairs(pairs: list[str], *, option: str) -> dict[str, str]:
    """Return ``NAME=VALUE`` command-line pairs as a dict.

    Raises:
        BadInputError: for a pair without ``=`` or with an empty side.
    """
    parsed: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise BadInputError(
                f"{pair!r} is not NAME=VALUE",
                column=option,
                expected=f"{option} NAME=VALUE, e.g. {option} {_EXAMPLES[option]}",
                fix=f"write each {option} as one NAME=VALUE pair (repeat the option for more).",
            )
        parsed[name.strip()] = value.strip()
    return parsed


_EXAMPLES = {"--kind": "requests=cumulative", "--name": "preds=requests"}


def kind_hints(table: pa.Table, *, min_samples: int = 5) -> list[str]:
    """Return a note for each ``delta`` metric that looks like a running total.

    A delta metric whose every series (same metric and dimensions) of at least
    ``min_samples`` samples only ever grows is probably a counter read with the wrong kind;
    summing it would count the same requests again and again.
    """
    delta = table.filter(pc.equal(table.column("kind"), "delta"))
    if not delta.num_rows:
        return []
    keys = ["metric", "resource_id", "host", "run_id", "model", "team", "project"]
    ordered = delta.sort_by([(k, "ascending") for k in keys] + [("timestamp", "ascending")])
    series: dict[tuple[object, ...], tuple[int, bool, float]] = {}
    columns = [ordered.column(k).to_pylist() for k in keys]
    for key, value in zip(
        zip(*columns, strict=True), ordered.column("value").to_pylist(), strict=True
    ):
        count, growing, last = series.get(key, (0, True, -math.inf))
        series[key] = (count + 1, growing and value > last, value)
    verdicts: dict[str, list[bool]] = {}
    for key, (count, growing, _last) in series.items():
        if count >= min_samples:
            verdicts.setdefault(str(key[0]), []).append(growing)
    return [
        f"{metric} is read as delta (each value counted once), but every series of it only "
        f"grows: if it is a running total, import again with --kind {metric}=cumulative."
        for metric, growing in sorted(verdicts.items())
        if all(growing)
    ]
