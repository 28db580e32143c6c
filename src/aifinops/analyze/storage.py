"""Checkpoints and datasets at rest: object-storage cost by bucket, prefix and run, and the
checkpoints of long-finished runs that are still paid for.

Object-storage rows are those with ServiceCategory ``Storage`` and ServiceSubcategory
``Object Storage`` (or no subcategory, as in FOCUS 1.0, with an S3 / Cloud Storage / Blob
service name). Where they are kept:

* **bucket**, from ``ResourceId``: ``arn:aws:s3:::b`` (AWS), ``//storage.googleapis.com/
  projects/_/buckets/b`` or ``projects/_/buckets/b`` (Google Cloud), ``/subscriptions/…/
  storageAccounts/a`` (Azure: the storage account), else the ResourceId itself (a plain name);
* **prefix**: the row's ``prefix`` or ``path`` tag (the path inside the bucket; for Azure
  ``container/path``), else the path of an S3 ARN (``arn:aws:s3:::b/p``) or the container of
  an Azure ResourceId (``…/containers/c``); most bills have none: the cost is the bucket's.

A run's artifacts live where its ``artifact_uri`` says: ``s3://b/p``, ``gs://b/p``,
``wasbs://container@account.blob.core.windows.net/p`` or ``https://account.blob.core.windows.net/
container/p``. A run *holds* a cost row when the cloud and bucket are equal, the row has no
prefix or the run's prefix is the row's or lies under it, and the run had started before the
charge period ended (its artifacts exist from its start; nothing here knows when they are
deleted, so they are taken to stay). A row held by several runs is split equally between them
(each share rounded to 12 places): an **estimate**, since the bill does not say how many bytes
each run's checkpoints take. docs/storage.md states every rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from aifinops.analyze.spend import Period, in_period
from aifinops.analyze.unit_windows import cloud_of
from aifinops.enrich.arith import product
from aifinops.errors import BadInputError

#: The groupings of :func:`storage_costs`.
STORAGE_BY = ("bucket", "prefix", "run")
#: Run statuses whose artifacts nobody will write again.
ENDED = ("FINISHED", "FAILED", "KILLED")
#: Columns of each grouping and of :func:`stale_checkpoints`, in order.
STORAGE_COLUMNS = {
    "bucket": ("cloud", "bucket", "effective_cost", "billed_cost", "list_cost", "gb_months",
               "first_day", "last_day", "rows"),
    "prefix": ("cloud", "bucket", "prefix", "effective_cost", "billed_cost", "list_cost",
               "gb_months", "first_day", "last_day", "rows"),
    "run": ("run_id", "run_name", "experiment", "status", "cloud", "bucket", "prefix",
            "effective_cost", "billed_cost", "max_sharing_runs", "rows"),
    "stale": ("run_id", "run_name", "experiment", "status", "end_time", "cloud", "bucket",
              "prefix", "cost_since_end", "monthly_cost", "billed_through", "sharing_runs"),
}  # fmt: skip
_SERVICES = r"(?i)s3|simple storage|cloud storage|blob|storage account"
_TAG_PREFIX = r'(?i)"(?:prefix|path)"\s*:\s*"([^"]*)"'
_S3_ARN = r"^arn:aws[a-z-]*:s3:::([^/]+)/?(.*)$"
_GCS_ID = r"/buckets/([^/]+)"
_AZURE_ID = r"(?i)/storageAccounts/([^/]+)"
_AZURE_CONTAINER = r"(?i)/containers/([^/]+)"
#: Artifact URI patterns: (pattern, cloud, bucket group, prefix groups).
_URIS = (
    (r"^(?:s3|s3a|s3n)://([^/]+)/?(.*)$", "aws", 1, (2,)),
    (r"^(?:gs|gcs)://([^/]+)/?(.*)$", "gcp", 1, (2,)),
    (r"^https://storage\.googleapis\.com/([^/]+)/?(.*)$", "gcp", 1, (2,)),
    (r"^(?:wasbs?|abfss?)://([^@/]+)@([^./]+)\.[^/]*/?(.*)$", "azure", 2, (1, 3)),
    (r"^https://([^./]+)\.(?:blob|dfs)\.core\.windows\.net/([^/]+)/?(.*)$", "azure", 1, (2, 3)),
)
_FRACTION = ibis.dtype("decimal(20, 12)")
_GIB = Decimal("1.073741824")


def _clean(path: ir.StringValue) -> ir.StringValue:
    """Return a path without leading or trailing slashes, null when empty."""
    return path.re_replace(r"^/+|/+$", "").nullif("")


def bucket_of(resource_id: ir.StringValue) -> ir.StringValue:
    """Return the bucket (Azure: storage account) a storage ResourceId names."""
    return ibis.cases(
        (resource_id.re_search(_S3_ARN), resource_id.re_extract(_S3_ARN, 1)),
        (resource_id.re_search(_GCS_ID), resource_id.re_extract(_GCS_ID, 1)),
        (resource_id.re_search(_AZURE_ID), resource_id.re_extract(_AZURE_ID, 1)),
        else_=resource_id,
    )


def prefix_of(resource_id: ir.StringValue, tags: ir.StringValue) -> ir.StringValue:
    """Return the path inside the bucket a cost row is for (tag, ARN path, container)."""
    tagged = _clean(tags.re_extract(_TAG_PREFIX, 1))
    from_id = ibis.cases(
        (resource_id.re_search(_S3_ARN), _clean(resource_id.re_extract(_S3_ARN, 2))),
        (
            resource_id.re_search(_AZURE_CONTAINER),
            _clean(resource_id.re_extract(_AZURE_CONTAINER, 1)),
        ),
        else_=ibis.null(str),
    )
    return ibis.coalesce(tagged, from_id)


def _gb_months(quantity: ir.DecimalValue, unit: ir.StringValue) -> ir.DecimalValue:
    """Return stored GB-months from a quantity in GB- or GiB-months (else null)."""
    month = unit.re_search(r"(?i)mo")
    return ibis.cases(
        (month & unit.re_search(r"(?i)^\s*gib"), product(quantity, _GIB)),
        (month & unit.re_search(r"(?i)^\s*gb"), product(quantity, Decimal(1))),
        (month & unit.re_search(r"(?i)^\s*tb"), product(quantity, Decimal(1000))),
        else_=ibis.null("decimal(38, 18)"),
    )


def object_storage(costs: ir.Table, period: Period | None = None) -> ir.Table:
    """Return the object-storage cost rows of ``period`` with ``cloud``, ``bucket``,
    ``prefix``, ``c_start``, ``c_end``, the three costs and ``gb_months``."""
    t = in_period(costs, period)
    sub = t.ServiceSubcategory
    plain = sub.isnull() & t.ServiceName.re_search(_SERVICES).fill_null(False)
    t = t.filter(t.ServiceCategory == "Storage", (sub == "Object Storage") | plain)
    t = t.filter(t.ResourceId.notnull())
    unit = ibis.coalesce(t.ConsumedUnit, t.PricingUnit, ibis.literal(""))
    return t.select(
        cloud=cloud_of(t.ProviderName),
        bucket=bucket_of(t.ResourceId),
        prefix=prefix_of(t.ResourceId, t.Tags.fill_null("")),
        c_start=t.ChargePeriodStart,
        c_end=t.ChargePeriodEnd,
        effective_cost=t.EffectiveCost,
        billed_cost=t.BilledCost,
        list_cost=t.ListCost,
        gb_months=_gb_months(t.ConsumedQuantity, unit),
    )


def artifact_locations(runs: ir.Table) -> ir.Table:
    """Return the runs whose ``artifact_uri`` is in object storage, with ``r_cloud``,
    ``r_bucket`` and ``r_prefix``."""
    uri = runs.artifact_uri.fill_null("")
    cloud = ibis.cases(*[(uri.re_search(p), c) for p, c, _, _ in _URIS], else_=ibis.null(str))
    bucket = ibis.cases(
        *[(uri.re_search(p), uri.re_extract(p, b)) for p, _, b, _ in _URIS], else_=ibis.null(str)
    )
    prefix = ibis.cases(
        *[(uri.re_search(p), _joined([uri.re_extract(p, g) for g in gs])) for p, _, _, gs in _URIS],
        else_=ibis.null(str),
    )
    located = runs.mutate(r_cloud=cloud, r_bucket=bucket, r_prefix=_clean(prefix))
    return located.filter(located.r_bucket.notnull())


def _joined(parts: list[ir.StringValue]) -> ir.StringValue:
    if len(parts) == 1:
        return parts[0]
    return ibis.literal("/").join(parts)


def _slices(rows: ir.Table) -> ir.Table:
    """Return the cost per location and charge period (what runs share)."""
    return rows.group_by("cloud", "bucket", "prefix", "c_start", "c_end").aggregate(
        effective_cost=rows.effective_cost.sum(),
        billed_cost=rows.billed_cost.sum(),
        rows=rows.count(),
    )


def held_slices(costs: ir.Table, runs: ir.Table, period: Period | None = None) -> ir.Table:
    """Return each (run, storage slice) the run holds, with ``sharing_runs`` (how many runs
    hold that slice) and the run's equal share of its cost (``run_cost``, ``run_billed``)."""
    s = _slices(object_storage(costs, period))
    r = artifact_locations(runs)
    under = s.prefix.isnull() | (r.r_prefix == s.prefix) | r.r_prefix.startswith(s.prefix + "/")
    j = s.join(
        r,
        [
            s.cloud == r.r_cloud,
            s.bucket == r.r_bucket,
            under.fill_null(False),
            r.start_time < s.c_end,
        ],
    )
    slice_key = ["cloud", "bucket", "prefix", "c_start", "c_end"]
    n = j.run_id.count().over(ibis.window(group_by=slice_key))
    share = (1.0 / n.cast("float64")).round(12).cast(_FRACTION)
    return j.mutate(
        sharing_runs=n,
        run_cost=product(j.effective_cost, share),
        run_billed=product(j.billed_cost, share),
    )


def storage_costs(
    costs: ir.Table,
    runs: ir.Table | None = None,
    *,
    by: str = "bucket",
    period: Period | None = None,
) -> ir.Table:
    """Return object-storage cost by ``bucket``, ``prefix`` or ``run`` (engine sums), largest
    first; columns :data:`STORAGE_COLUMNS` ``[by]``.

    Args:
        costs: the lake's cost rows.
        runs: the ``runs`` signal table (needed for ``by="run"``).
        by: ``bucket``, ``prefix`` or ``run``.
        period: billing months to include.
    """
    if by not in STORAGE_BY:
        raise BadInputError(
            f"unknown storage grouping {by!r}",
            column="--by",
            expected=", ".join(STORAGE_BY),
            fix="pick one of the groupings (docs/storage.md).",
        )
    if by == "run":
        if runs is None:
            raise BadInputError(
                "storage cost by run needs experiment runs",
                column="--by",
                fix="import runs first (aifinops import runs), or use --by bucket.",
            )
        h = held_slices(costs, runs, period)
        keys = ["run_id", "run_name", "experiment", "status", "cloud", "bucket", "r_prefix"]
        out = h.group_by(*keys).aggregate(
            effective_cost=h.run_cost.sum(),
            billed_cost=h.run_billed.sum(),
            max_sharing_runs=h.sharing_runs.max(),
            rows=h.rows.sum(),
        )
        out = out.rename(prefix="r_prefix")
        return out.select(*STORAGE_COLUMNS["run"]).order_by([ibis.desc("effective_cost"), "run_id"])
    rows = object_storage(costs, period)
    keys = ["cloud", "bucket"] + (["prefix"] if by == "prefix" else [])
    out = rows.group_by(*keys).aggregate(
        effective_cost=rows.effective_cost.sum(),
        billed_cost=rows.billed_cost.sum(),
        list_cost=rows.list_cost.sum(),
        gb_months=rows.gb_months.sum(),
        first_day=rows.c_start.min().date(),
        last_day=rows.c_start.max().date(),
        rows=rows.count(),
    )
    return out.select(*STORAGE_COLUMNS[by]).order_by([ibis.desc("effective_cost"), *keys])


def stale_checkpoints(
    costs: ir.Table, runs: ir.Table, now: datetime, *, older_than: timedelta = timedelta(days=30)
) -> ir.Table:
    """Return the storage cost still paid for the artifacts of runs that ended (FINISHED,
    FAILED or KILLED) more than ``older_than`` before ``now``.

    Per run: ``cost_since_end`` (its share of the charge periods that start at or after its
    end), ``monthly_cost`` (its share of the last 30 days of its location's bill, up to
    ``billed_through``: what keeping the checkpoints costs a month now) and
    ``sharing_runs`` (the most runs its location was split between). Largest monthly cost first.
    """
    h = held_slices(costs, runs)
    h = h.filter(h.status.isin(ENDED), h.end_time.notnull(), h.end_time < now - older_than)
    location = ibis.window(group_by=["cloud", "bucket", "prefix"])
    h = h.mutate(billed_through=h.c_end.max().over(location))
    recent = h.c_start >= h.billed_through - ibis.interval(days=30)
    after = h.c_start >= h.end_time
    keys = ["run_id", "run_name", "experiment", "status", "end_time", "cloud", "bucket"]
    out = h.group_by(*keys, prefix=h.r_prefix).aggregate(
        cost_since_end=h.run_cost.sum(where=after),
        monthly_cost=h.run_cost.sum(where=recent),
        billed_through=h.billed_through.max(),
        sharing_runs=h.sharing_runs.max(),
    )
    out = out.filter(out.cost_since_end.notnull())
    return out.select(*STORAGE_COLUMNS["stale"]).order_by(
        [ibis.desc("monthly_cost"), ibis.desc("cost_since_end"), "run_id"]
    )
