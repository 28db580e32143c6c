"""Accelerator offers across clouds: the library behind ``aifinops catalog gpus`` and ``show``.

An *offer* is one accelerator model in one instance type (or GCP GPU SKU) in one region, with
its on-demand, spot and 1- and 3-year commitment prices, per instance-hour and per
accelerator-hour, like ``sky show-gpus`` plus commitments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from aifinops.catalog.model import TERMS, Catalog, Price
from aifinops.catalog.names import alias_key, cloud_key, price_key
from aifinops.errors import BadInputError

_PLACES = Decimal(1).scaleb(-10)
#: Columns of an offer row: prices per accelerator-hour named by term, then per instance-hour.
OFFER_COLUMNS = (
    "accelerator",
    "cloud",
    "instance_type",
    "region",
    "count",
    "memory_gib",
    *TERMS,
    *(f"{term}_instance" for term in TERMS),
)
#: The columns a terminal table shows (JSON and CSV carry all of OFFER_COLUMNS).
OFFER_TABLE_COLUMNS = (*OFFER_COLUMNS[:10], "ondemand_instance")
#: Columns of a summary row (one per accelerator model).
SUMMARY_COLUMNS = (
    "accelerator",
    "kind",
    "memory_gib",
    "offers",
    "cheapest_ondemand",
    "ondemand_where",
    "cheapest_spot",
    "spot_where",
)


def resolve_accelerators(catalog: Catalog, query: str) -> set[str]:
    """Return the models a ``--gpu`` query names: a model, an alias, or a family prefix.

    ``H100`` names every H100 (SXM, NVL, PCIe, MEGA); ``nvidia-tesla-t4`` names T4.

    Raises:
        BadInputError: when nothing matches (the message lists the models).
    """
    key = alias_key(query)
    models = {m for m in catalog.accelerators if alias_key(m) == key}
    models |= {m for m in catalog.accelerators if alias_key(m).startswith(key + "-")}
    found = catalog.accelerator(query)
    if found is not None:
        models.add(found.model)
    if not models:
        raise BadInputError(
            f"unknown accelerator {query!r}",
            column="--gpu",
            expected="one of " + ", ".join(sorted(catalog.accelerators)),
            fix="pass a model, an alias such as nvidia-tesla-t4, or a prefix such as H100.",
        )
    return models


def gpu_offers(
    catalog: Catalog,
    accelerator: str | None = None,
    cloud: str | None = None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """Return one row per (accelerator, cloud, instance type, region) with its four prices.

    Rows are sorted by accelerator, then on-demand $/accelerator-hour (unpriced last).

    Raises:
        BadInputError: an unknown accelerator or cloud.
    """
    models = resolve_accelerators(catalog, accelerator) if accelerator else None
    wanted_cloud = _cloud(cloud)
    regional: dict[tuple[str, str, str], dict[str, Price]] = defaultdict(dict)
    anywhere: dict[tuple[str, str], dict[str, Price]] = defaultdict(dict)
    for price in catalog.prices:
        if not price.accelerator or (models is not None and price.accelerator not in models):
            continue
        if (wanted_cloud and price.cloud != wanted_cloud) or (
            region and price.region not in (region.lower(), "")
        ):
            continue
        key = (price.cloud, price_key(price.instance_type))
        if price.region:
            regional[(*key, price.region)][price.term] = price
        else:
            anywhere[key][price.term] = price
    # A region-less price (a config override) answers for every region of its type.
    for (cloud_name, name, _place), terms in regional.items():
        for term, price in anywhere.get((cloud_name, name), {}).items():
            terms.setdefault(term, price)
    covered = {k[:2] for k in regional}
    groups = [(k[2], terms) for k, terms in regional.items()]
    groups += [("(any)", terms) for k, terms in anywhere.items() if k not in covered]
    rows = [_offer_row(catalog, place, terms) for place, terms in groups]
    return sorted(rows, key=_offer_order)


def gpu_summary(
    catalog: Catalog,
    accelerator: str | None = None,
    cloud: str | None = None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """Return one row per accelerator model: its cheapest on-demand and spot $/accelerator-hour.

    ``*_where`` says where: ``cloud region instance_type``. Unfiltered, models without a price
    are listed too (empty prices), so the summary shows the whole vocabulary; with a cloud or
    region filter, only models offered there.
    """
    offers = gpu_offers(catalog, accelerator, cloud, region)
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for offer in offers:
        by_model[offer["accelerator"]].append(offer)
    models = resolve_accelerators(catalog, accelerator) if accelerator else catalog.accelerators
    rows = []
    for model in sorted(models):
        acc = catalog.accelerators[model]
        found = by_model.get(model, [])
        if not found and (cloud or region):
            continue
        od, od_where = _cheapest(found, "ondemand")
        spot, spot_where = _cheapest(found, "spot")
        rows.append(
            {
                "accelerator": model,
                "kind": acc.kind,
                "memory_gib": acc.memory_gib,
                "offers": len(found),
                "cheapest_ondemand": od,
                "ondemand_where": od_where,
                "cheapest_spot": spot,
                "spot_where": spot_where,
            }
        )
    return rows


def catalog_overview(catalog: Catalog) -> list[dict[str, Any]]:
    """Return one row per table (prices per cloud): rows, as-of dates, where it was read from."""
    counts = {
        "accelerators.csv": len(catalog.accelerators),
        "instance_types.csv": len(catalog.instances),
        "sku_patterns.csv": len(catalog.sku_patterns),
        "prices.csv": len(catalog.prices),
        "grid.csv": len(catalog.grid),
        "pue.csv": len(catalog.pue),
    }
    rows: list[dict[str, Any]] = []
    for name, count in counts.items():
        rows.append(
            {"table": name, "rows": count, "as_of": "", "loaded_from": _origin(catalog, name)}
        )
        if name == "prices.csv":
            rows.extend(_price_rows(catalog))
    return rows


def _price_rows(catalog: Catalog) -> Iterable[dict[str, Any]]:
    by_cloud: dict[str, list[Price]] = defaultdict(list)
    for price in catalog.prices:
        by_cloud[price.cloud].append(price)
    for cloud in sorted(by_cloud):
        dates = sorted({p.as_of.isoformat() for p in by_cloud[cloud] if p.as_of})
        span = dates[0] if len(dates) == 1 else f"{dates[0]}..{dates[-1]}" if dates else ""
        yield {
            "table": f"  prices {cloud}",
            "rows": len(by_cloud[cloud]),
            "as_of": span,
            "loaded_from": "",
        }


def _origin(catalog: Catalog, name: str) -> str:
    return catalog.origin.get(name, "package")


def _cloud(cloud: str | None) -> str | None:
    if not cloud:
        return None
    key = cloud_key(cloud)
    if key is None:
        raise BadInputError(
            f"unknown cloud {cloud!r}",
            column="--cloud",
            expected="aws, azure or gcp",
            fix="pass --cloud aws, --cloud azure or --cloud gcp.",
        )
    return key


def _offer_row(catalog: Catalog, region: str, terms: dict[str, Price]) -> dict[str, Any]:
    first = next(iter(terms.values()))
    model = first.accelerator or ""
    found = catalog.instance(first.cloud, first.instance_type)
    memory = found.accelerator_memory_gib if found else None
    row: dict[str, Any] = {
        "accelerator": model,
        "cloud": first.cloud,
        "instance_type": first.instance_type,
        "region": region,
        "count": first.accelerator_count,
        "memory_gib": memory if memory is not None else _model_memory(catalog, model),
    }
    for term in TERMS:
        price = terms.get(term)
        row[term] = _places(price.usd_per_accelerator_hour if price else None)
    for term in TERMS:
        price = terms.get(term)
        row[f"{term}_instance"] = price.usd_per_hour if price else None
    return row


def _model_memory(catalog: Catalog, model: str) -> Decimal | None:
    acc = catalog.accelerators.get(model)
    return acc.memory_gib if acc else None


def _places(value: Decimal | None) -> Decimal | None:
    """Return a $/accelerator-hour exactly, or to 10 places when it never ends (1/6 GPU)."""
    if value is None or value.as_tuple().exponent >= -10:  # type: ignore[operator]
        return value
    return value.quantize(_PLACES)


def _offer_order(row: dict[str, Any]) -> tuple[str, bool, Decimal, str, str, str]:
    price = row["ondemand"]
    return (
        row["accelerator"],
        price is None,
        price if price is not None else Decimal(0),
        row["cloud"],
        row["region"],
        row["instance_type"],
    )


def _cheapest(offers: list[dict[str, Any]], column: str) -> tuple[Decimal | None, str]:
    priced = [o for o in offers if o[column] is not None]
    if not priced:
        return None, ""
    best = min(priced, key=lambda o: (o[column], o["cloud"], o["region"], o["instance_type"]))
    return best[column], f"{best['cloud']} {best['region']} {best['instance_type']}"
