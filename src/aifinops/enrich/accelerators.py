"""Which accelerator a row bought, how many, and for how many accelerator-hours.

Two ways to know, tried in order:

* the **instance type** (``SkuPriceDetails.InstanceType``, an AWS usage type or charge
  description, an Azure meter name) joined with the catalog's instance table; SageMaker
  ``ml.`` names use the EC2 type's hardware;
* a **SKU pattern**: Google bills GPUs and TPUs as SKUs of their own ("Nvidia Tesla T4 GPU
  running in Americas"), priced per accelerator-hour.

Google's host SKUs (vCPU, RAM) carry the machine type too, but buy no accelerator: on Google
Cloud only a matching SKU pattern makes a row an accelerator row.
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.catalog import CLOUD_OF_PROVIDER, Catalog
from aifinops.enrich.arith import DEC, product
from aifinops.enrich.tables import FactTables

_INSTANCE_IN_DETAILS = r'"InstanceType"\s*:\s*"([^"]+)"'
_AWS_TYPE = (
    r"((ml\.)?[a-z][a-z0-9-]*\.([0-9]*xlarge|large|medium|small|micro|nano|metal[-a-z0-9]*))"
)
_AZURE_METER = r"^(N[CDVG][0-9][0-9A-Za-z ]*[Vv][0-9]+)( Spot| Low Priority)?$"
_HOUR_UNITS = ("hours", "hour", "hrs", "hr", "1 hour")
_GPUS_PER_UNIT = r"with ([0-9]+) [A-Za-z0-9 -]*(GPU|TPU)"


def cloud(t: ir.Table) -> ir.StringValue:
    """Return the catalog cloud key (aws, azure, gcp) of each row's ProviderName."""
    return t.ProviderName.substitute(dict(CLOUD_OF_PROVIDER), else_=ibis.null("string"))


def instance_type(t: ir.Table) -> ir.StringValue:
    """Return the instance type a row names, as the provider spells it (or NULL).

    Needs the ``_cloud`` column (:func:`cloud`), so the provider is mapped once per row.
    """
    details = t.SkuPriceDetails.re_extract(_INSTANCE_IN_DETAILS, 1).nullif("")
    aws_usage = t.SkuMeter.re_extract(":" + _AWS_TYPE, 1).nullif("")
    aws_text = t.ChargeDescription.re_extract(" " + _AWS_TYPE + " ", 1).nullif("")
    meter = t.SkuMeter.re_extract(_AZURE_METER, 1).nullif("")
    azure = ibis.literal("Standard_") + meter.re_replace(" ", "_")
    c = t._cloud
    return ibis.coalesce(
        details,
        ibis.ifelse(c == "aws", ibis.coalesce(aws_usage, aws_text), ibis.null("string")),
        ibis.ifelse(c == "azure", azure, ibis.null("string")),
    )


def instance_key(instance: ir.StringValue) -> ir.StringValue:
    """Return the join key of an instance type: lower case, SageMaker's ``ml.`` dropped."""
    return instance.lower().re_replace(r"^ml\.", "")


def usage_hours(t: ir.Table) -> ir.DecimalValue:
    """Return the row's usage in hours (NULL when its units are not time)."""
    pricing = t.PricingUnit.lower().strip()
    consumed = t.ConsumedUnit.lower().strip()
    return ibis.cases(
        (pricing.isin(_HOUR_UNITS), t.PricingQuantity),
        (consumed.isin(_HOUR_UNITS), t.ConsumedQuantity),
        (pricing.isin(("seconds", "second", "secs")), t.PricingQuantity / 3600),
        (pricing.isin(("minutes", "minute", "mins")), t.PricingQuantity / 60),
        else_=ibis.null(),
    ).cast(DEC)


def _pattern_accelerator(t: ir.Table, catalog: Catalog) -> ir.StringValue:
    """Return ``model|spot`` of rows whose SKU matches a catalog pattern (needs ``_cloud``,
    ``_sku_text``), else NULL."""
    cases = [
        (
            (t._cloud == p.cloud) & t._sku_text.re_search(p.pattern),
            ibis.literal(f"{p.accelerator}|{'1' if p.is_spot else ''}"),
        )
        for p in catalog.sku_patterns
        if not p.is_commitment
    ]
    return ibis.cases(*cases, else_=ibis.null("string")) if cases else ibis.null("string")


def is_spot(t: ir.Table) -> ir.BooleanValue:
    """Return whether the row buys spot, preemptible or low-priority capacity."""
    text = ibis.coalesce(t.SkuMeter, "") + " " + ibis.coalesce(t.ChargeDescription, "")
    return (t.PricingCategory == "Dynamic").fill_null(False) | text.re_search(
        r"(?i)(spot|preemptible|low priority)"
    )


def with_accelerators(t: ir.Table, facts: FactTables) -> ir.Table:
    """Return ``t`` with x_InstanceType, x_GpuModel, x_GpuCount, x_GpuMemoryGiB,
    x_AcceleratorKind, x_AcceleratorHours and x_IsSpot filled, plus helper columns
    (``_cloud``, ``_hours``, ``_used``, ``cat_*``, ``acc_*``) that the caller drops.

    NOTE: built in steps: an expression reused inside another is inlined by Ibis, so each
    value used more than once is first made a column.
    """
    step = t.mutate(_cloud=cloud(t))
    step = step.mutate(
        _instance=instance_type(step),
        _hours=usage_hours(t),
        _sku_text=ibis.coalesce(t.SkuMeter, t.ChargeDescription, "").lower(),
        _gpus_per_unit=t.SkuMeter.re_extract(_GPUS_PER_UNIT, 1).nullif(""),
        _used=(t.ChargeCategory == "Usage")
        & (t.CommitmentDiscountStatus.fill_null("") != "Unused"),
        _spot=is_spot(t),
    )
    step = step.mutate(
        _key=instance_key(step._instance), _pattern=_pattern_accelerator(step, facts.catalog)
    )
    inst = facts.instances
    joined = step.left_join(
        inst, [step._cloud == inst.cat_cloud, step._key == inst.cat_instance_key]
    )
    step = joined.select(*step.columns, *[c for c in inst.columns if c != "cat_cloud"])
    step = step.mutate(
        _by_pattern=step._used & step._pattern.notnull(),
        # NOTE: on Google Cloud the machine type labels host SKUs too; only a GPU/TPU SKU buys one.
        _by_instance=step._used & (step._cloud != "gcp") & step.cat_accelerator.notnull(),
    )
    step = step.mutate(
        x_GpuModel=ibis.cases(
            (step._by_pattern, step._pattern.re_extract(r"^([^|]*)\|", 1)),
            (step._by_instance, step.cat_accelerator),
            else_=ibis.null("string"),
        ),
    )
    acc = facts.accelerators
    joined = step.left_join(acc, step.x_GpuModel == acc.acc_model)
    step = joined.select(*step.columns, *[c for c in acc.columns if c != "acc_model"])
    return _fill(step)


def _fill(j: ir.Table) -> ir.Table:
    seconds = j.ChargePeriodEnd.epoch_seconds() - j.ChargePeriodStart.epoch_seconds()
    per_hour = ibis.ifelse(seconds > 0, j._hours.cast("float64") * 3600 / seconds, ibis.null())
    pattern_count = ibis.coalesce(
        j.cat_accelerator_count.cast("float64"),
        j._gpus_per_unit.cast("float64"),
        # NOTE: GPUs and TPU chips come whole; a row that ran part of its period (a daily row
        # of a VM up 9 hours) gives a fraction, so round up. Hourly rows (BigQuery's) are exact.
        per_hour.round(4).ceil(),
    )
    per_unit = ibis.coalesce(j._gpus_per_unit.cast(DEC), ibis.literal(Decimal(1)).cast(DEC))
    return j.mutate(
        SkuPriceDetails=_sku_price_details(j, per_unit),
        x_InstanceType=j._instance,
        x_GpuCount=ibis.cases(
            (j._by_pattern, pattern_count.cast(DEC)),
            (j._by_instance, j.cat_accelerator_count.cast(DEC)),
            else_=ibis.null(DEC),
        ),
        x_GpuMemoryGiB=j.acc_memory_gib.cast(DEC),
        x_AcceleratorKind=j.acc_kind,
        x_AcceleratorHours=ibis.cases(
            (j._by_pattern, product(j._hours, per_unit)),
            (j._by_instance, product(j._hours, j.cat_accelerator_count)),
            else_=ibis.null(DEC),
        ),
        x_IsSpot=j._spot | j._pattern.re_search(r"\|1$").fill_null(False),
    )


def _sku_price_details(j: ir.Table, per_unit: ir.DecimalValue) -> ir.StringValue:
    """Return SkuPriceDetails with FOCUS's ``InstanceType`` and ``GpuCount`` added where the
    provider left them out and we know them (never where SkuPriceId is null: FOCUS
    SkuPriceDetails-C-004-C). GpuCount is per pricing unit: an instance's count, or a GPU
    SKU's accelerators per unit."""
    details = j.SkuPriceDetails.strip()
    has = details.fill_null("")
    count = ibis.cases(
        (j._pattern.notnull(), per_unit),
        ((j._cloud != "gcp") & j.cat_accelerator_count.notnull(), j.cat_accelerator_count),
        else_=ibis.null(DEC),
    )
    whole = count == count.floor()
    count_text = ibis.ifelse(whole, count.cast("int64").cast("string"), count.cast("string"))
    instance = ibis.ifelse(
        j._instance.notnull() & ~has.contains('"InstanceType"'),
        ibis.literal('"InstanceType":"') + j._instance + '"',
        ibis.null("string"),
    )
    gpus = ibis.ifelse(
        count.notnull() & ~has.contains('"GpuCount"'),
        ibis.literal('"GpuCount":') + count_text,
        ibis.null("string"),
    )
    added = ibis.coalesce(instance + "," + gpus, instance, gpus)
    body = details.re_replace(r"^\{\s*|\s*\}$", "")
    merged = ibis.ifelse(
        body.fill_null("") == "", "{" + added + "}", "{" + body + "," + added + "}"
    )
    return ibis.ifelse(j.SkuPriceId.notnull() & added.notnull(), merged, j.SkuPriceDetails)
