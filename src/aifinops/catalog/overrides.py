"""Negotiated prices from the config file replace the catalog's public ones.

Example (``aifinops.yaml``)::

    price_overrides:
      - cloud: aws
        instance_type: p5.48xlarge
        term: ondemand
        usd_per_hour: "39.80"          # EDP rate, every region
      - cloud: gcp
        region: us-central1
        instance_type: gpu:H100-80GB-SXM
        term: commit_1y
        usd_per_hour: "5.10"
        note: 2026 private offer

An override without ``region`` replaces the catalog's price of that type and term in every
region, and answers for regions the catalog has no price for. One with a region replaces only
that region's, and wins over a region-less one.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aifinops.catalog.names import cloud_key, price_key

if TYPE_CHECKING:
    from aifinops.catalog.model import Catalog, Price

OVERRIDE_SOURCE = "config: price_overrides"


class PriceOverride(BaseModel):
    """One negotiated price: cloud, optional region, instance type, term, USD per hour."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cloud: Literal["aws", "azure", "gcp"] = Field(
        description="aws, azure or gcp (a FOCUS ProviderName such as 'Microsoft' is accepted)."
    )
    region: str | None = Field(
        default=None, description="Region id, e.g. us-east-1; omitted = every region."
    )
    instance_type: str = Field(
        min_length=1,
        description="Instance type as the provider spells it (p5.48xlarge, "
        "Standard_ND96isr_H100_v5, a3-highgpu-8g) or gpu:<model> for a GCP GPU SKU.",
    )
    term: Literal["ondemand", "spot", "commit_1y", "commit_3y"] = Field(
        default="ondemand", description="ondemand, spot, commit_1y or commit_3y."
    )
    usd_per_hour: Decimal = Field(ge=0, description="USD per instance-hour (exact decimal).")
    note: str | None = Field(default=None, description="Free text, e.g. the contract.")

    @field_validator("cloud", mode="before")
    @classmethod
    def _cloud(cls, value: object) -> object:
        return (cloud_key(value) or value) if isinstance(value, str) else value


def apply_overrides(catalog: Catalog, overrides: Iterable[PriceOverride]) -> tuple[Price, ...]:
    """Return the catalog's prices with the overrides applied (region-less ones first)."""
    prices = list(catalog.prices)
    ordered = sorted(overrides, key=lambda o: o.region is not None)
    for override in ordered:
        row = _price_row(catalog, override)
        prices = [p for p in prices if not _replaced_by(p, row, override.region is None)]
        prices.append(row)
    return tuple(prices)


def _price_row(catalog: Catalog, override: PriceOverride) -> Price:
    from aifinops.catalog.model import Price

    name = override.instance_type.strip()
    accelerator: str | None = None
    count: Decimal | None = None
    if name.lower().startswith("gpu:"):
        acc = catalog.accelerator(name[4:])
        if acc is not None:
            name, accelerator, count = f"gpu:{acc.model}", acc.model, Decimal(1)
    else:
        found = catalog.instance(override.cloud, name)
        if found is not None:
            name, accelerator, count = (
                found.instance_type,
                found.accelerator,
                found.accelerator_count,
            )
    return Price(
        cloud=override.cloud,
        region=(override.region or "").lower(),
        instance_type=name,
        accelerator=accelerator,
        accelerator_count=count,
        term=override.term,
        usd_per_hour=override.usd_per_hour,
        source=OVERRIDE_SOURCE + (f" ({override.note})" if override.note else ""),
        as_of=None,
    )


def _replaced_by(price: Price, row: Price, every_region: bool) -> bool:
    same = (
        price.cloud == row.cloud
        and price.term == row.term
        and price_key(price.instance_type) == price_key(row.instance_type)
    )
    return same and (every_region or price.region == row.region)
