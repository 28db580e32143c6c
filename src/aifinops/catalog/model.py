"""The catalog's records and the ``Catalog`` that answers lookups over them.

Every record is a frozen dataclass read from one row of a CSV in ``catalog/data``; quantities
and money are exact ``Decimal``. ``Catalog`` holds them all and answers: which accelerator an
instance type or billing SKU buys, what it costs per hour in a region and term, and the grid
intensity and PUE of a region. ``docs/catalog.md`` describes every table and column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from aifinops.catalog.names import alias_key, cloud_key, instance_candidates, price_key

if TYPE_CHECKING:
    import pyarrow as pa

    from aifinops.catalog.overrides import PriceOverride

#: The clouds the catalog knows, by our key.
CLOUDS = ("aws", "azure", "gcp")
#: Accelerator kinds.
KINDS = ("gpu", "tpu", "trainium", "inferentia")
#: Price terms: on-demand, spot, 1-year and 3-year commitment.
TERMS = ("ondemand", "spot", "commit_1y", "commit_3y")


@dataclass(frozen=True)
class Accelerator:
    """One accelerator model: memory, power and the other names it goes by."""

    model: str
    vendor: str
    kind: str
    memory_gib: Decimal
    tdp_watts: Decimal
    idle_watts: Decimal
    aliases: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class InstanceType:
    """One instance / machine type / VM size and the accelerators it carries.

    ``accelerator_count`` may be fractional (a partial GPU); ``accelerator_memory_gib`` is the
    memory of one accelerator, or of the slice a partial-GPU instance gets. ``tdp_watts`` and
    ``idle_watts`` are per accelerator: the model's, unless this instance runs a variant with
    its own power (e.g. the A100 80GB PCIe of Azure NC A100 v4 at 300 W, not the SXM4's 400 W).
    """

    cloud: str
    instance_type: str
    family: str
    accelerator: str | None
    accelerator_count: Decimal | None
    accelerator_memory_gib: Decimal | None
    vcpus: int | None
    memory_gib: Decimal | None
    source: str
    tdp_watts: Decimal | None = None
    idle_watts: Decimal | None = None

    @property
    def key(self) -> str:
        """Return the lookup key: the type in lower case."""
        return self.instance_type.lower()


@dataclass(frozen=True)
class SkuPattern:
    """A case-insensitive RE2-compatible regular expression over a billing SKU description."""

    cloud: str
    pattern: str
    accelerator: str
    is_spot: bool
    is_commitment: bool
    source: str

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Return the compiled pattern (case-insensitive)."""
        return re.compile(self.pattern, re.IGNORECASE)

    def matches(self, description: str) -> bool:
        """Return True when the description bills this pattern's accelerator."""
        return self.regex.search(description) is not None


@dataclass(frozen=True)
class Price:
    """The USD price of one instance-hour (or one accelerator-hour for ``gpu:<model>`` rows)."""

    cloud: str
    region: str
    instance_type: str
    accelerator: str | None
    accelerator_count: Decimal | None
    term: str
    usd_per_hour: Decimal
    source: str
    as_of: date | None

    @property
    def usd_per_accelerator_hour(self) -> Decimal | None:
        """Return the price of one accelerator-hour, or None when the row has none."""
        if not self.accelerator_count:
            return None
        return self.usd_per_hour / self.accelerator_count


@dataclass(frozen=True)
class GridFactor:
    """Location-based grid carbon intensity of one cloud region (``region`` '' = fallback)."""

    cloud: str
    region: str
    g_co2e_per_kwh: Decimal
    kind: str
    source: str
    year: int | None


@dataclass(frozen=True, eq=False)
class Catalog:
    """Every table of the catalog, with lookups that normalise provider spellings."""

    version: str
    accelerators: Mapping[str, Accelerator]
    instances: Mapping[tuple[str, str], InstanceType]
    sku_patterns: tuple[SkuPattern, ...]
    prices: tuple[Price, ...]
    grid: Mapping[tuple[str, str], GridFactor]
    pue: Mapping[tuple[str, str], Decimal]
    origin: Mapping[str, str] = field(default_factory=dict)

    def instance(self, cloud: str, name: str) -> InstanceType | None:
        """Return the instance type a provider's name denotes, or None.

        Case-insensitive. Accepts AWS usage types and descriptions (``USE1-BoxUsage:g5.xlarge``,
        ``SpotUsage:p4d.24xlarge``, ``USE1-Hosting:ml.g5.2xlarge``, ``$1.14 per On Demand Linux
        g3.4xlarge Instance Hour``), Azure sizes and meter names (``Standard_nc24ads_a100_v4``,
        ``NC24ads A100 v4 Spot``) and GCP machine / TPU types (``a3-highgpu-8g``,
        ``tpu-v5litepod-8``). ``cloud`` is ``aws``/``azure``/``gcp`` or a FOCUS ProviderName.
        """
        key = cloud_key(cloud)
        if key is None or not name:
            return None
        for candidate in instance_candidates(key, name):
            found = self.instances.get((key, candidate))
            if found is not None:
                return found
        return None

    def accelerator(self, name_or_alias: str) -> Accelerator | None:
        """Return the accelerator a model name or alias denotes (case, spaces, _ and - ignored)."""
        return self._alias_index.get(alias_key(name_or_alias))

    def sku_accelerator(self, cloud: str, description: str) -> SkuPattern | None:
        """Return the first SKU pattern of ``cloud`` that matches a SKU description, or None."""
        key = cloud_key(cloud)
        for pattern in self.sku_patterns:
            if pattern.cloud == key and pattern.matches(description):
                return pattern
        return None

    def price(self, cloud: str, region: str, instance_type: str, term: str) -> Decimal | None:
        """Return USD per instance-hour of a type in a region and term, or None when unknown.

        ``instance_type`` is normalised like :meth:`instance`; ``gpu:<model>`` names a GCP
        GPU-only SKU price (per accelerator-hour). A price override without a region (region
        '') answers for every region.
        """
        row = self.price_row(cloud, region, instance_type, term)
        return None if row is None else row.usd_per_hour

    def price_row(self, cloud: str, region: str, instance_type: str, term: str) -> Price | None:
        """Return the :class:`Price` behind :meth:`price`, or None."""
        key = cloud_key(cloud)
        if key is None:
            return None
        name = self._price_name(key, instance_type)
        index = self._price_index
        return index.get((key, region.lower(), name, term)) or index.get((key, "", name, term))

    def _price_name(self, cloud: str, instance_type: str) -> str:
        name = price_key(instance_type)
        if name.startswith("gpu:"):
            acc = self.accelerator(name[4:])
            return f"gpu:{acc.model.lower()}" if acc is not None else name
        found = self.instance(cloud, instance_type)
        return found.key if found is not None else name

    def pue_for(self, cloud: str, region: str) -> Decimal | None:
        """Return the region's PUE, else the cloud's fleet PUE, else None."""
        key = cloud_key(cloud) or ""
        return self.pue.get((key, region.lower())) or self.pue.get((key, ""))

    def grid_for(self, cloud: str, region: str) -> GridFactor | None:
        """Return the region's grid factor, else the cloud's fallback (region ''), else None."""
        key = cloud_key(cloud) or ""
        return self.grid.get((key, region.lower())) or self.grid.get((key, ""))

    def with_overrides(self, overrides: Iterable[PriceOverride]) -> Catalog:
        """Return a copy whose prices are replaced by negotiated ones (see ``overrides``)."""
        from aifinops.catalog.overrides import apply_overrides

        return replace(self, prices=apply_overrides(self, overrides))

    def instances_arrow(self) -> pa.Table:
        """Return the instance types as an Arrow table for engine joins (key: lower-case)."""
        from aifinops.catalog.tables import instances_table

        return instances_table(self)

    def sku_patterns_arrow(self) -> pa.Table:
        """Return the SKU patterns as an Arrow table, with each accelerator's facts."""
        from aifinops.catalog.tables import sku_patterns_table

        return sku_patterns_table(self)

    def prices_arrow(self) -> pa.Table:
        """Return the prices as an Arrow table, with $/accelerator-hour."""
        from aifinops.catalog.tables import prices_table

        return prices_table(self)

    def grid_arrow(self) -> pa.Table:
        """Return grid intensity and PUE per (cloud, region) as an Arrow table."""
        from aifinops.catalog.tables import grid_table

        return grid_table(self)

    @cached_property
    def _alias_index(self) -> dict[str, Accelerator]:
        index: dict[str, Accelerator] = {}
        for acc in self.accelerators.values():
            for name in acc.aliases:
                index.setdefault(alias_key(name), acc)
        # NOTE: model names win over another model's alias of the same spelling.
        index.update({alias_key(acc.model): acc for acc in self.accelerators.values()})
        return index

    @cached_property
    def _price_index(self) -> dict[tuple[str, str, str, str], Price]:
        return {
            (p.cloud, p.region.lower(), price_key(p.instance_type), p.term): p for p in self.prices
        }
