"""Usage metrics files (requests, tokens, epochs, steps, samples, loss) as the METRICS table.

Three shapes are read (docs/import.md):

* **long** CSV or Parquet: one sample per row, ``timestamp, metric, value`` and optionally
  ``kind`` and dimension columns (``resource_id``, ``host``, ``run_id``, ``model``, ``team``,
  ``project``); every other column goes into ``labels`` (JSON);
* **wide** CSV or Parquet: ``timestamp`` and one numeric column per metric; text columns
  are dimensions or labels, an empty cell is no sample for that metric;
* a saved **Prometheus** HTTP API response (``/api/v1/query_range`` matrix or
  ``/api/v1/query`` vector): one metric per series, named by ``__name__``.

Names map onto the canonical metrics and kinds follow :class:`~.metrics_names.Naming`.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aifinops.errors import BadInputError
from aifinops.signals.metrics_names import DIMENSIONS, Naming, check_kind
from aifinops.signals.metrics_values import is_numeric, parse_timestamps, parse_values
from aifinops.signals.schema import METRICS

#: File endings of each format.
CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
JSON_SUFFIXES = (".json",)
_LONG = ("timestamp", "metric", "value")
_PORT = re.compile(r"^(?P<host>[^:]+|\[.*\]):\d+$")


def read_metrics(
    path: Path | str,
    *,
    resource_id: str | None = None,
    host: str | None = None,
    run_id: str | None = None,
    kinds: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
) -> pa.Table:
    """Read a usage metrics file into the METRICS schema.

    Args:
        path: a CSV (long or wide), Parquet (long or wide) or Prometheus query JSON file.
        resource_id: the resource (cloud resource id) of rows that name none.
        host: the host of rows that name none.
        run_id: the run of rows that name none.
        kinds: metric kind by source or canonical name; overrides the file and the defaults.
        names: metric name by source name; overrides the built-in aliases.

    Returns:
        One row per sample; ``source`` is the file's name.

    Raises:
        BadInputError: the file cannot be read, or a cell is not what it should be (the
            message names the file, row, column, what was expected and the fix).
    """
    file = Path(path)
    if not file.is_file():
        raise BadInputError("no such file", file=str(file), fix="check the path.")
    naming = Naming(names=names or {}, kinds=kinds or {})
    suffix = file.suffix.lower()
    if suffix in JSON_SUFFIXES:
        table = _from_prometheus(file, naming)
    elif suffix in CSV_SUFFIXES or suffix in PARQUET_SUFFIXES:
        raw = _read_csv(file) if suffix in CSV_SUFFIXES else _read_parquet(file)
        long = all(name in raw.column_names for name in _LONG)
        table = _from_long(raw, file, naming) if long else _from_wide(raw, file, naming)
    else:
        raise BadInputError(
            f"unknown metrics file type {file.suffix or '(none)'!r}",
            file=str(file),
            expected="a .csv, .parquet or .json (Prometheus query API response) file",
            fix="rename the file to its format's ending, or convert it to CSV.",
        )
    return _with_defaults(table, resource_id=resource_id, host=host, run_id=run_id)


# --- loading ----------------------------------------------------------------------------------


def _read_csv(file: Path) -> pa.Table:
    """Return the CSV with every column as text (empty cells null)."""
    try:
        with open(file, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
        if not header:
            raise _unreadable(file, "it has no header line")
        options = pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=True
        )
        return pacsv.read_csv(file, convert_options=options)
    except pa.ArrowInvalid as exc:
        raise _ragged_row(file) or _unreadable(file, str(exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(file, str(exc)) from exc


def _ragged_row(file: Path) -> BadInputError | None:
    """Return the error for the first data row whose cell count differs from the header's."""
    with open(file, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        width = len(next(reader, []))
        # NOTE: blank lines are skipped, as Arrow skips them, so row numbers agree.
        for row, cells in enumerate((c for c in reader if c), 1):
            if len(cells) != width:
                return BadInputError(
                    f"the row has {len(cells)} cells, the header {width}",
                    file=str(file),
                    row=row,
                    expected=f"{width} comma-separated cells, as many as the header names",
                    fix="quote cells that contain commas, or remove the extra cells.",
                )
    return None


def _read_parquet(file: Path) -> pa.Table:
    try:
        return pq.read_table(file)
    except (OSError, pa.ArrowInvalid) as exc:
        raise _unreadable(file, str(exc)) from exc


def _unreadable(file: Path, why: str) -> BadInputError:
    return BadInputError(
        f"cannot read it: {why}",
        file=str(file),
        expected="a header line, then one sample per row (long: timestamp,metric,value; "
        "wide: timestamp and one column per metric)",
        fix="check the file is complete and comma-separated (see docs/import.md).",
    )


# --- shapes -----------------------------------------------------------------------------------


def _from_long(raw: pa.Table, file: Path, naming: Naming) -> pa.Table:
    """Return a long table's rows: one sample each."""
    where = str(file)
    times = parse_timestamps(raw.column("timestamp"), file=where, name="timestamp")
    values = parse_values(raw.column("value"), file=where, name="value", required=True)
    sources = _text(raw.column("metric"))
    if sources.null_count:
        row = pc.index(sources.is_null(), True).as_py() + 1
        raise BadInputError(
            "the metric name is empty",
            file=where,
            row=row,
            column="metric",
            expected="a metric name such as requests or tokens_in",
            fix="name the metric of that row, or remove it.",
        )
    declared = _declared_kinds(raw, where)
    dims, labels = _dimensions(raw, skip={*_LONG, "kind"})
    metrics, kinds = _names_and_kinds(sources, declared, naming)
    table = _assemble(times, metrics, values, kinds, dims, labels, file.name)
    return table.filter(pc.invert(pc.is_nan(table.column("value"))))


def _from_wide(raw: pa.Table, file: Path, naming: Naming) -> pa.Table:
    """Return a wide table's samples: one per non-empty numeric cell."""
    where = str(file)
    if "timestamp" not in raw.column_names:
        raise BadInputError(
            "no timestamp column",
            file=where,
            row=0,
            column="timestamp",
            expected="a long file (timestamp,metric,value,…) or a wide one (timestamp,"
            "<one column per metric>,…)",
            fix="name the time column `timestamp` (see docs/import.md).",
        )
    times = parse_timestamps(raw.column("timestamp"), file=where, name="timestamp")
    dimension_names = {n for names in DIMENSIONS.values() for n in names}
    measured = [
        name
        for name in raw.column_names
        if name != "timestamp" and name not in dimension_names and is_numeric(raw.column(name))
    ]
    if not measured:
        raise BadInputError(
            "no numeric column to read as a metric",
            file=where,
            row=0,
            expected="a long file (timestamp,metric,value,…) or numeric metric columns",
            fix="add `metric` and `value` columns, or one numeric column per metric.",
        )
    dims, labels = _dimensions(raw, skip={"timestamp", *measured})
    parts = []
    for name in measured:
        values = parse_values(raw.column(name), file=where, name=name, required=False)
        keep = pc.and_(pc.is_valid(values), pc.invert(pc.is_nan(values)))
        count = int(pc.sum(keep).as_py() or 0)
        metric, kind = naming.metric(name), naming.kind(name, naming.metric(name))
        parts.append(
            _assemble(
                times.filter(keep),
                pa.array([metric] * count, pa.string()),
                values.filter(keep),
                pa.array([kind] * count, pa.string()),
                {d: col.filter(keep) for d, col in dims.items()},
                labels.filter(keep),
                file.name,
            )
        )
    return pa.concat_tables(parts)


def _from_prometheus(file: Path, naming: Naming) -> pa.Table:
    """Return the points of a saved query response; a series without ``__name__`` (a
    function or aggregation dropped it) is named after the file (``requests.json``)."""
    from aifinops.signals.prometheus import read_query_json

    rows: dict[str, list[object]] = {name: [] for name in METRICS.names}
    for series in read_query_json(file):
        source = series.labels.get("__name__") or file.stem
        metric = naming.metric(source)
        kind = naming.kind(source, metric)
        others = {k: v for k, v in series.labels.items() if k != "__name__"}
        dims, rest = _split_labels(others)
        for moment, value in series.points:
            if not math.isfinite(value):
                continue  # NOTE: NaN marks a stale series; ±Inf comes from division by 0
            for name, cell in (("timestamp", moment), ("metric", metric), ("value", value)):
                rows[name].append(cell)
            rows["kind"].append(kind)
            for name in DIMENSIONS:
                rows[name].append(dims.get(name))
            rows["labels"].append(json.dumps(rest, sort_keys=True))
            rows["source"].append(file.name)
    return pa.table(rows, schema=METRICS)


# --- columns ----------------------------------------------------------------------------------


def _text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.utf8_trim_whitespace(column.cast(pa.string()))


def _declared_kinds(raw: pa.Table, file: str) -> pa.Array | None:
    """Return the file's ``kind`` column, each non-empty value checked."""
    if "kind" not in raw.column_names:
        return None
    kinds = _text(raw.column("kind"))
    allowed = pa.array(["delta", "cumulative", "gauge"])
    bad = pc.and_(pc.is_valid(kinds), pc.invert(pc.is_in(kinds, allowed)))
    if pc.any(bad).as_py():
        row = int(pc.index(bad, True).as_py())
        check_kind(kinds[row].as_py(), where="the kind", file=file, row=row + 1)
    return kinds


def _dimensions(raw: pa.Table, *, skip: set[str]) -> tuple[dict[str, pa.Array], pa.Array]:
    """Return the dimension columns found (by the first of their names the file has) and
    every other column, not in ``skip``, as one JSON object per row."""
    dims: dict[str, pa.Array] = {}
    used: set[str] = set()
    for dim, candidates in DIMENSIONS.items():
        found = next((c for c in candidates if c in raw.column_names and c not in skip), None)
        if found is not None:
            column = _text(raw.column(found))
            dims[dim] = _without_port(column) if found == "instance" else column
            used.add(found)
    rest = [n for n in raw.column_names if n not in skip and n not in used]
    return dims, _labels(raw.select(rest))


def _labels(rest: pa.Table) -> pa.Array:
    """Return one JSON object per row of the non-empty cells of ``rest``."""
    names = rest.column_names
    if not names:
        return pa.array(["{}"] * rest.num_rows, pa.string())
    columns = [_text(rest.column(n)).to_pylist() for n in names]
    # NOTE: rows repeat the same few label sets; each distinct set is encoded once.
    encoded: dict[tuple[str | None, ...], str] = {}
    out = []
    for cells in zip(*columns, strict=True):
        text = encoded.get(cells)
        if text is None:
            labels = {n: c for n, c in zip(names, cells, strict=True) if c}
            text = encoded[cells] = json.dumps(labels, sort_keys=True)
        out.append(text)
    return pa.array(out, pa.string())


def _split_labels(labels: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Return a series' labels split into dimensions and the rest."""
    dims: dict[str, str] = {}
    used: set[str] = set()
    for dim, candidates in DIMENSIONS.items():
        found = next((c for c in candidates if labels.get(c)), None)
        if found is not None:
            value = labels[found]
            match = _PORT.match(value) if found == "instance" else None
            dims[dim] = match["host"] if match else value
            used.add(found)
    return dims, {k: v for k, v in labels.items() if k not in used}


def _without_port(column: pa.Array) -> pa.Array:
    """Return Prometheus ``instance`` values (``host:port``) without the port."""
    return pc.replace_substring_regex(column, r"^([^:]+|\[.*\]):\d+$", r"\1")


def _names_and_kinds(
    sources: pa.Array, declared: pa.Array | None, naming: Naming
) -> tuple[pa.Array, pa.Array]:
    """Return each row's metric name and kind (worked out once per distinct name)."""
    distinct = pc.unique(sources)
    where = pc.index_in(sources, distinct)
    names = [naming.metric(s) for s in distinct.to_pylist()]
    metrics = pa.array(names, pa.string()).take(where)
    if declared is None:
        kinds = [naming.kind(s, m) for s, m in zip(distinct.to_pylist(), names, strict=True)]
        return metrics, pa.array(kinds, pa.string()).take(where)
    per_row = [
        naming.kind(source, metric, kind)
        for source, metric, kind in zip(
            sources.to_pylist(), metrics.to_pylist(), declared.to_pylist(), strict=True
        )
    ]
    return metrics, pa.array(per_row, pa.string())


def _assemble(
    times: pa.Array,
    metrics: pa.Array,
    values: pa.Array,
    kinds: pa.Array,
    dims: Mapping[str, pa.Array],
    labels: pa.Array,
    source: str,
) -> pa.Table:
    """Return the METRICS table of these columns; missing dimensions are null."""
    count = len(times)
    columns = {
        "timestamp": times,
        "metric": metrics,
        "value": values,
        "kind": kinds,
        **{d: dims.get(d, pa.nulls(count, pa.string())) for d in DIMENSIONS},
        "labels": labels,
        "source": pa.array([source] * count, pa.string()),
    }
    return pa.table(columns, schema=METRICS)


def _with_defaults(table: pa.Table, **defaults: str | None) -> pa.Table:
    """Return ``table`` with each given default filled into the rows that have none."""
    for name, value in defaults.items():
        if value is None:
            continue
        index = table.schema.get_field_index(name)
        filled = pc.fill_null(table.column(name), pa.scalar(value, pa.string()))
        table = table.set_column(index, name, filled)
    return table
