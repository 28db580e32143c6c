"""Read the catalog's CSV files into a :class:`~aifinops.catalog.model.Catalog`.

The package ships every file in ``catalog/data``. ``load_catalog(directory)`` reads a
refreshed catalog (written by ``aifinops catalog refresh``): each file found there replaces
the package's file of the same name. Every value is checked; a bad one raises
``BadInputError`` naming the file, row and column and what was expected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple, TypeVar

from aifinops.catalog.model import (
    CLOUDS,
    KINDS,
    TERMS,
    Accelerator,
    Catalog,
    GridFactor,
    InstanceType,
    Price,
    SkuPattern,
)
from aifinops.catalog.names import price_key
from aifinops.errors import BadInputError

#: The files of a catalog and their required columns (in this order when we write them).
COLUMNS: dict[str, tuple[str, ...]] = {
    "accelerators.csv": (
        "model",
        "vendor",
        "kind",
        "memory_gib",
        "tdp_watts",
        "idle_watts",
        "aliases",
        "source",
    ),
    "instance_types.csv": (
        "cloud",
        "instance_type",
        "family",
        "accelerator",
        "accelerator_count",
        "accelerator_memory_gib",
        "vcpus",
        "memory_gib",
        "source",
    ),
    "sku_patterns.csv": ("cloud", "pattern", "accelerator", "is_spot", "is_commitment", "source"),
    "prices.csv": (
        "cloud",
        "region",
        "instance_type",
        "accelerator",
        "accelerator_count",
        "term",
        "usd_per_hour",
        "source",
        "as_of",
    ),
    "grid.csv": ("cloud", "region", "g_co2e_per_kwh", "kind", "source", "year"),
    "pue.csv": ("cloud", "region", "pue", "source"),
}
#: Optional column of instance_types.csv: per-accelerator TDP of a power variant.
INSTANCE_TDP_COLUMN = "tdp_watts"
VERSION_FILE = "VERSION"
PACKAGE = "package"

T = TypeVar("T")


class _Cell(NamedTuple):
    """A value and where it came from, for error messages."""

    file: str
    row: int
    column: str
    value: str

    def fail(self, expected: str, fix: str | None = None) -> BadInputError:
        return BadInputError(
            f"bad value {self.value!r}",
            file=self.file,
            row=self.row,
            column=self.column,
            expected=expected,
            fix=fix or f"correct the value in {self.file}, or refresh the catalog.",
        )


def load_catalog(directory: Path | None = None) -> Catalog:
    """Return the catalog: the package's files, each replaced by ``directory``'s when present.

    Cached per directory and the state of its files: a file written since (``catalog
    refresh``) is read again.

    Raises:
        BadInputError: a file is unreadable or has a bad value (file, row and column named).
    """
    if directory is None:
        return _load(None, ())
    folder = Path(directory).expanduser().resolve()
    return _load(str(folder), _stamp(folder))


def _stamp(folder: Path) -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for name in (*COLUMNS, VERSION_FILE):
        try:
            stat = (folder / name).stat()
        except OSError:
            continue
        stamps.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


@lru_cache(maxsize=8)
def _load(directory: str | None, stamp: tuple[tuple[str, int, int], ...]) -> Catalog:
    del stamp  # part of the cache key only
    texts, origin = _texts(directory)
    rows = {name: list(_rows(name, texts[name], origin[name])) for name in COLUMNS}
    accelerators = {a.model: a for a in map(_accelerator, rows["accelerators.csv"])}
    instances = _instances(rows["instance_types.csv"], accelerators)
    patterns = tuple(_sku_pattern(cells, accelerators) for cells in rows["sku_patterns.csv"])
    prices = _prices(rows["prices.csv"])
    grid = {(g.cloud, g.region): g for g in map(_grid, rows["grid.csv"])}
    pue = dict(map(_pue, rows["pue.csv"]))
    version = texts[VERSION_FILE].strip() or "unknown"
    return Catalog(version, accelerators, instances, patterns, prices, grid, pue, origin)


def _texts(directory: str | None) -> tuple[dict[str, str], dict[str, str]]:
    texts: dict[str, str] = {}
    origin: dict[str, str] = {}
    package = files("aifinops.catalog").joinpath("data")
    for name in (*COLUMNS, VERSION_FILE):
        path = Path(directory) / name if directory else None
        try:
            if path is not None and path.is_file():
                texts[name], origin[name] = path.read_text(encoding="utf-8"), str(path)
            else:
                texts[name], origin[name] = package.joinpath(name).read_text("utf-8"), PACKAGE
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInputError(
                f"cannot read the catalog file: {exc}",
                file=str(path or name),
                fix="check the catalog directory, or run `aifinops catalog refresh` again.",
            ) from exc
    return texts, origin


def _rows(name: str, text: str, origin: str) -> Iterator[dict[str, _Cell]]:
    label = name if origin == PACKAGE else origin
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS[name] if c not in (reader.fieldnames or [])]
    if missing:
        raise BadInputError(
            f"missing column(s) {', '.join(missing)}",
            file=label,
            row=0,
            expected="header " + ",".join(COLUMNS[name]),
            fix="write the file with the catalog's columns (docs/catalog.md).",
        )
    for number, record in enumerate(reader, start=1):
        yield {k: _Cell(label, number, k, (v or "").strip()) for k, v in record.items() if k}


def _accelerator(cells: dict[str, _Cell]) -> Accelerator:
    aliases = tuple(a.strip() for a in cells["aliases"].value.split("|") if a.strip())
    return Accelerator(
        model=_text(cells["model"]),
        vendor=cells["vendor"].value,
        kind=_choice(cells["kind"], KINDS),
        memory_gib=_decimal(cells["memory_gib"]),
        tdp_watts=_decimal(cells["tdp_watts"]),
        idle_watts=_decimal(cells["idle_watts"]),
        aliases=aliases,
        source=cells["source"].value,
    )


def _instances(
    rows: list[dict[str, _Cell]], accelerators: dict[str, Accelerator]
) -> dict[tuple[str, str], InstanceType]:
    found: dict[tuple[str, str], InstanceType] = {}
    for cells in rows:
        item = _instance(cells, accelerators)
        if (item.cloud, item.key) in found:
            raise cells["instance_type"].fail("each (cloud, instance_type) once")
        found[(item.cloud, item.key)] = item
    return found


def _instance(cells: dict[str, _Cell], accelerators: dict[str, Accelerator]) -> InstanceType:
    model = cells["accelerator"].value or None
    acc = accelerators.get(model) if model else None
    if model and acc is None:
        raise cells["accelerator"].fail("a model of accelerators.csv, or empty")
    own_tdp = None
    if INSTANCE_TDP_COLUMN in cells:
        own_tdp = _optional(cells[INSTANCE_TDP_COLUMN], _decimal)
    return InstanceType(
        cloud=_choice(cells["cloud"], CLOUDS),
        instance_type=_text(cells["instance_type"]),
        family=cells["family"].value,
        accelerator=model,
        accelerator_count=_optional(cells["accelerator_count"], _decimal),
        accelerator_memory_gib=_optional(cells["accelerator_memory_gib"], _decimal),
        vcpus=_optional(cells["vcpus"], _integer),
        memory_gib=_optional(cells["memory_gib"], _decimal),
        source=cells["source"].value,
        tdp_watts=own_tdp or (acc.tdp_watts if acc else None),
        idle_watts=acc.idle_watts if acc else None,
    )


def _sku_pattern(cells: dict[str, _Cell], accelerators: dict[str, Accelerator]) -> SkuPattern:
    pattern = _text(cells["pattern"])
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise cells["pattern"].fail(f"a regular expression ({exc})") from exc
    if "(?=" in pattern or "(?!" in pattern or "(?<" in pattern:
        raise cells["pattern"].fail("an RE2-compatible pattern, without look-arounds")
    model = _text(cells["accelerator"])
    if model not in accelerators:
        raise cells["accelerator"].fail("a model of accelerators.csv")
    return SkuPattern(
        cloud=_choice(cells["cloud"], CLOUDS),
        pattern=pattern,
        accelerator=model,
        is_spot=_boolean(cells["is_spot"]),
        is_commitment=_boolean(cells["is_commitment"]),
        source=cells["source"].value,
    )


def _prices(rows: list[dict[str, _Cell]]) -> tuple[Price, ...]:
    seen: set[tuple[str, str, str, str]] = set()
    prices = []
    for cells in rows:
        price = Price(
            cloud=_choice(cells["cloud"], CLOUDS),
            region=cells["region"].value.lower(),
            instance_type=_text(cells["instance_type"]),
            accelerator=cells["accelerator"].value or None,
            accelerator_count=_optional(cells["accelerator_count"], _decimal),
            term=_choice(cells["term"], TERMS),
            usd_per_hour=_decimal(cells["usd_per_hour"]),
            source=cells["source"].value,
            as_of=_optional(cells["as_of"], _date),
        )
        key = (price.cloud, price.region, price_key(price.instance_type), price.term)
        if key in seen:
            raise cells["term"].fail("one price per (cloud, region, instance_type, term)")
        seen.add(key)
        prices.append(price)
    return tuple(prices)


def _grid(cells: dict[str, _Cell]) -> GridFactor:
    return GridFactor(
        cloud=_choice(cells["cloud"], CLOUDS),
        region=cells["region"].value.lower(),
        g_co2e_per_kwh=_decimal(cells["g_co2e_per_kwh"]),
        kind=cells["kind"].value,
        source=cells["source"].value,
        year=_optional(cells["year"], _integer),
    )


def _pue(cells: dict[str, _Cell]) -> tuple[tuple[str, str], Decimal]:
    key = (_choice(cells["cloud"], CLOUDS), cells["region"].value.lower())
    return key, _decimal(cells["pue"])


def _text(cell: _Cell) -> str:
    if not cell.value:
        raise cell.fail("a value (the column may not be empty)")
    return cell.value


def _choice(cell: _Cell, allowed: tuple[str, ...]) -> str:
    if cell.value not in allowed:
        raise cell.fail(" or ".join(allowed))
    return cell.value


def _decimal(cell: _Cell) -> Decimal:
    try:
        value = Decimal(cell.value)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise cell.fail("a non-negative decimal number, e.g. 3.673")
    return value


def _integer(cell: _Cell) -> int:
    if not cell.value.isdigit():
        raise cell.fail("a whole number, e.g. 96")
    return int(cell.value)


def _boolean(cell: _Cell) -> bool:
    return _choice(cell, ("true", "false")) == "true"


def _date(cell: _Cell) -> date:
    try:
        return date.fromisoformat(cell.value)
    except ValueError as exc:
        raise cell.fail("an ISO date, e.g. 2026-07-30") from exc


def _optional(cell: _Cell, parse: Callable[[_Cell], T]) -> T | None:
    return parse(cell) if cell.value else None
