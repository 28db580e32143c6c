"""Energy and emissions of a row: x_EnergyKwh and x_CarbonKgCo2e, estimated from power facts.

Cloud Carbon Footprint's operational model (CATALOG.md §3.1, §3.5)::

    Wh  = accelerator-hours × (idle + u × (TDP − idle))
        + vCPU-hours × (min + u × (max − min))            (per cloud, W per vCPU)
        + memory GiB-hours × 0.392
    kWh = Wh / 1000 × PUE                                 (per cloud, or per region)
    kg CO2e = kWh × grid g CO2e/kWh / 1000                (location-based, per region)

``u`` is the utilisation assumed without telemetry (``enrich.gpu_utilisation``,
``enrich.cpu_utilisation``; CCF uses 50 %). Telemetry-measured energy replaces the estimate
where it exists (the observability capability).
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.catalog import Catalog
from aifinops.enrich.arith import DEC, product
from aifinops.enrich.config import EnrichConfig
from aifinops.enrich.tables import FactTables

#: CCF's minimum and maximum watts per vCPU, per cloud (CATALOG.md §3.1).
VCPU_WATTS: dict[str, tuple[Decimal, Decimal]] = {
    "aws": (Decimal("0.74"), Decimal("3.5")),
    "azure": (Decimal("0.74"), Decimal("3.54")),
    "gcp": (Decimal("0.68"), Decimal("4.11")),
}
#: CCF's memory coefficient: 0.000392 kWh per GB-hour, in Wh.
MEMORY_WH_PER_GIB_HOUR = Decimal("0.392")
_MILLI = Decimal("0.001")


def _accelerator_watts(t: ir.Table, u: Decimal) -> ir.Value:
    """Return W per accelerator at utilisation ``u``: the instance's own power facts when it
    has them (e.g. the PCIe A100 of Azure NC A100 v4), else the model's."""
    own = (t.cat_accelerator == t.x_GpuModel).fill_null(False) & t.cat_tdp_watts.notnull()
    tdp = ibis.ifelse(own, t.cat_tdp_watts, t.acc_tdp_watts)
    idle = ibis.ifelse(own, t.cat_idle_watts, t.acc_idle_watts)
    return product(tdp - idle, u) + idle


def _per_vcpu_watts(cloud: ir.StringValue, u: Decimal) -> ir.Value:
    cases = [(cloud == c, ibis.literal(lo + u * (hi - lo))) for c, (lo, hi) in VCPU_WATTS.items()]
    return ibis.cases(*cases, else_=ibis.null())


def _host_hours(t: ir.Table) -> tuple[ir.Value, ir.Value]:
    """Return (vCPU-hours, memory GiB-hours) of the row's host, where they are known."""
    instance = t._used & (t._cloud != "gcp") & t.cat_vcpus.notnull()
    meter = t.SkuMeter.fill_null("")
    gcp = t._used & (t._cloud == "gcp")
    vcpu = ibis.cases(
        (instance, product(t._hours, t.cat_vcpus)),
        (gcp & meter.re_search(r"Instance Core running"), t._hours),
        else_=ibis.null(DEC),
    )
    memory = ibis.cases(
        (instance, product(t._hours, t.cat_memory_gib)),
        (gcp & meter.re_search(r"Instance Ram running"), t.PricingQuantity),
        else_=ibis.null(DEC),
    )
    return vcpu, memory


def _pue(catalog: Catalog, t: ir.Table) -> ir.Value:
    fleet = [
        (t._cloud == cloud, ibis.literal(value))
        for (cloud, region), value in sorted(catalog.pue.items())
        if not region
    ]
    fallback = ibis.cases(*fleet, else_=ibis.null()) if fleet else ibis.null()
    return ibis.coalesce(t.grid_pue, fallback)


def with_energy(t: ir.Table, facts: FactTables, config: EnrichConfig) -> ir.Table:
    """Return ``t`` with x_EnergyKwh and x_CarbonKgCo2e (needs the accelerator columns)."""
    grid = facts.grid
    joined = t.left_join(
        grid, [t._cloud == grid.grid_cloud, t.RegionId.lower() == grid.grid_region]
    )
    j = joined.select(*t.columns, grid.grid_g_per_kwh, grid.grid_pue)
    vcpu_hours, memory_hours = _host_hours(j)
    j = j.mutate(
        _wh_acc=product(j.x_AcceleratorHours, _accelerator_watts(j, config.gpu_utilisation)),
        _wh_cpu=product(vcpu_hours, _per_vcpu_watts(j._cloud, config.cpu_utilisation)),
        _wh_mem=product(memory_hours, MEMORY_WH_PER_GIB_HOUR),
        _pue=_pue(facts.catalog, j),
    )
    known = j._wh_acc.notnull() | j._wh_cpu.notnull() | j._wh_mem.notnull()
    watt_hours = (
        j._wh_acc.fill_null(Decimal(0))
        + j._wh_cpu.fill_null(Decimal(0))
        + j._wh_mem.fill_null(Decimal(0))
    ).cast(DEC)
    kwh = ibis.ifelse(known, product(product(watt_hours, _MILLI), j._pue), ibis.null(DEC))
    j = j.mutate(x_EnergyKwh=kwh)
    carbon = product(product(j.x_EnergyKwh, j.grid_g_per_kwh), _MILLI)
    return j.mutate(x_CarbonKgCo2e=carbon).drop(
        "grid_g_per_kwh", "grid_pue", "_wh_acc", "_wh_cpu", "_wh_mem", "_pue"
    )
