"""Synthetic Google Cloud FOCUS view / FOCUS export files, written from the documented schema.

No real export is public, so these rows are hand-written in the shape Google's FOCUS view
template (``focus_view.sql``) produces from a detailed billing export, quirks included:
lower-case ChargeCategory, BillingPeriodEnd = last day 00:00 Pacific, ServiceCategory =
the pricing export's product_taxonomy ARRAY, Tags = ARRAY of {key, value, x_type,
x_inherited, x_namespace}, SubAccountId = billing_account_id, BilledCost = EffectiveCost =
cost + credits, PricingQuantity = the price tier's block size. Writers give JSONL (nesting
kept, timestamps as BigQuery writes them), Parquet (nested types) and CSV (nested columns as
TO_JSON_STRING text, since BigQuery cannot extract them to CSV).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
TODO_ACCOUNT = "TODO - replace with the billing account ID in your detailed usage export table name"
BP_START = datetime(2026, 8, 1, 7, tzinfo=UTC)  # 2026-08 invoice month, 00:00 PDT
BP_END_INCLUSIVE = datetime(2026, 8, 31, 7, tzinfo=UTC)  # the view's last day, 00:00 PDT
PROJECT = {
    "id": "ml-prod",
    "number": "123456789012",
    "name": "ML Prod",
    "ancestry_numbers": "/111/123456789012/",
    "ancestors": [{"resource_name": "organizations/111", "display_name": "acme.example"}],
}
CUD_ID = "projects/ml-prod/regions/us-central1/commitments/a2-1y"
FEE_ID = "9f1c2b7e-0000-4d1a-9a55-a2cud0001"


def _t(day: int, hour: int, month: int = 8) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _credit(
    name: str, amount: str, type_: str, id_: str, full: str | None = None
) -> dict[str, Any]:
    return {"Name": name, "Amount": Decimal(amount), "FullName": full, "Id": id_, "Type": type_}


def _tag(
    key: str, value: str, x_type: str, ns: str = "n/a", inherited: bool = False
) -> dict[str, Any]:
    return {
        "key": key,
        "value": value,
        "x_type": x_type,
        "x_inherited": inherited,
        "x_namespace": ns,
    }


def _row(**values: Any) -> dict[str, Any]:
    cost = values.pop("cost")
    credits = values.pop("x_Credits", [])
    billed = cost + sum((c["Amount"] for c in credits), Decimal(0))
    regular = values.get("x_CostType", "regular") == "regular"
    row: dict[str, Any] = {
        "AvailabilityZone": None,
        "BilledCost": billed,
        "BillingAccountId": ACCOUNT,
        "BillingCurrency": "USD",
        "BillingPeriodStart": BP_START,
        "BillingPeriodEnd": BP_END_INCLUSIVE,
        "ChargeCategory": {"regular": "usage", "tax": "tax"}.get(
            values.get("x_CostType", "regular"), "adjustment"
        ),
        "ChargeClass": None,
        "ChargeDescription": None,
        "ChargePeriodStart": _t(10, 10),
        "ChargePeriodEnd": _t(10, 11),
        "CommitmentDiscountCategory": None,
        "CommitmentDiscountId": None,
        "CommitmentDiscountName": None,
        "ConsumedQuantity": None,
        "ConsumedUnit": None,
        "ContractedCost": cost,
        "ContractedUnitPrice": None,
        "EffectiveCost": billed,
        "ListCost": cost,
        "ListUnitPrice": None,
        "PricingCategory": "standard" if regular else None,
        "PricingQuantity": Decimal(1) if regular else None,
        "PricingUnit": None,
        "ProviderName": "Google Cloud",
        "PublisherName": "Google Cloud",
        "RegionId": None,
        "RegionName": None,
        "ResourceId": None,
        "ResourceName": None,
        "ResourceType": None,
        "ServiceCategory": [],
        "ServiceName": None,
        "SkuId": None,
        "SkuPriceId": None,
        "SubAccountId": ACCOUNT,
        "Tags": [],
        "x_Credits": credits,
        "x_CostType": "regular",
        "x_CurrencyConversionRate": Decimal(1),
        "x_ExportTime": _t(11, 3),
        "x_Location": None,
        "x_Project": PROJECT,
        "x_ServiceId": None,
    }
    row.update(values)
    return row


def view_rows() -> list[dict[str, Any]]:
    """Return the view's rows: GPU VM, CUD-covered core, CUD fee, TPU, storage, BigQuery,
    an unknown service, tax, a correction of July and a rounding error."""
    vm = "//compute.googleapis.com/projects/ml-prod/zones/us-central1-a/instances/trainer-1"
    place = {"RegionId": "us-central1", "RegionName": "Iowa", "x_Location": "us-central1"}
    return [
        _row(  # 0: A100 GPU hour on an a2-highgpu-1g, sustained-use discount 20 %
            cost=Decimal("2.934"),
            x_Credits=[
                _credit(
                    "Sustained Usage Discount", "-0.5868", "SUSTAINED_USAGE_DISCOUNT", "SUD-A100"
                )
            ],
            AvailabilityZone="us-central1-a",
            **place,
            ChargeDescription="Nvidia Tesla A100 GPU running in Americas",
            ConsumedQuantity=Decimal(3600),
            ConsumedUnit="seconds",
            ContractedUnitPrice=Decimal("2.934"),
            ListUnitPrice=Decimal("2.934"),
            PricingUnit="hour",
            ResourceId=vm,
            ResourceName="trainer-1",
            ResourceType="compute.instances",
            ServiceName="Compute Engine",
            ServiceCategory=["GCP", "Compute", "GCE", "VMs On Demand", "GPUs"],
            SkuId="039F-D0DA-4055",
            SkuPriceId=f"Billing Account ID:{ACCOUNT}, SKU ID: "
            "039F-D0DA-4055, Price Tier Start Amount: 0",
            x_ServiceId="6F81-5844-456A",
            Tags=[
                _tag("team", "ml", "label"),
                _tag("compute.googleapis.com/machine_spec", "a2-highgpu-1g", "system_label"),
                _tag("env", "prod", "project_label", inherited=True),
                _tag("env", "prod", "tag", ns="acme-org", inherited=True),
                _tag("scratch", "", "label"),
            ],
        ),
        _row(  # 1: A2 cores fully covered by a resource-based CUD
            cost=Decimal("0.3792"),
            x_Credits=[
                _credit(
                    "Committed use discount: A2 CPU",
                    "-0.3792",
                    "COMMITTED_USAGE_DISCOUNT",
                    CUD_ID,
                    "Commitment A2 1y",
                )
            ],
            AvailabilityZone="us-central1-a",
            **place,
            ChargeDescription="A2 Instance Core running in Americas",
            ConsumedQuantity=Decimal(43200),
            ConsumedUnit="seconds",
            ContractedUnitPrice=Decimal("0.0316"),
            ListUnitPrice=Decimal("0.0316"),
            PricingUnit="hour",
            ResourceId=vm,
            ResourceName="trainer-1",
            ServiceName="Compute Engine",
            PricingCategory="committed",
            CommitmentDiscountCategory="Usage",
            CommitmentDiscountName="Commitment A2 1y",
            SkuId="F449-33EC-A5EF",
            x_ServiceId="6F81-5844-456A",
        ),
        _row(  # 2: the CUD's monthly fee SKU (subscription.instance_id set)
            cost=Decimal("0.2496"),
            ChargeDescription="Commitment v1: A2 Cpu in Americas for 1 Year",
            **place,
            ContractedUnitPrice=Decimal("0.0208"),
            ListUnitPrice=Decimal("0.0208"),
            PricingUnit="hour",
            ConsumedQuantity=Decimal(43200),
            ConsumedUnit="seconds",
            CommitmentDiscountId=FEE_ID,
            PricingCategory="committed",
            ServiceName="Compute Engine",
            SkuId="0C5C-2B66-1E4A",
            x_ServiceId="6F81-5844-456A",
        ),
        _row(  # 3: TPU v5e chip-hours, 8 chips for an hour
            cost=Decimal("9.6"),
            ChargeDescription="TPU v5e chip-hours in us-west4",
            RegionId="us-west4",
            x_Location="us-west4",
            ContractedUnitPrice=Decimal("1.2"),
            ListUnitPrice=Decimal("1.2"),
            PricingUnit="hour",
            ConsumedQuantity=Decimal(28800),
            ConsumedUnit="seconds",
            ServiceName="Cloud TPU",
            ServiceCategory=["GCP", "Compute", "TPU"],
            SkuId="E3C1-ABCD-0001",
            x_ServiceId="E000-3F24-B8AA",
        ),
        _row(  # 4: storage, a GiB-month price per block of 1
            cost=Decimal("0.52"),
            ChargeDescription="Standard Storage US Multi-region",
            x_Location="us",
            ContractedUnitPrice=Decimal("0.026"),
            ListUnitPrice=Decimal("0.026"),
            PricingUnit="gibibyte month",
            ConsumedQuantity=Decimal("53687091200000"),
            ConsumedUnit="byte-seconds",
            ServiceName="Cloud Storage",
            ServiceCategory=["GCP", "Storage", "GCS"],
            SkuId="E5F0-6A5D-7BAD",
            x_ServiceId="95FF-2EF5-5EA1",
            Tags=[_tag("team", "data", "label")],
        ),
        _row(  # 5: BigQuery analysis paid by a promotion credit; price per block of 1 TiB
            cost=Decimal("6.25"),
            x_Credits=[_credit("Trial credit", "-6.25", "PROMOTION", "promo-2026")],
            ChargeDescription="Analysis",
            x_Location="US",
            ContractedUnitPrice=Decimal("6.25"),
            ListUnitPrice=Decimal("6.25"),
            PricingUnit="tebibyte",
            ConsumedQuantity=Decimal("1099511627776"),
            ConsumedUnit="bytes",
            ServiceName="BigQuery",
            ServiceCategory=["GCP", "Analytics", "BigQuery"],
            SkuId="3362-E469-6BEF",
            x_ServiceId="24E6-581D-38E5",
        ),
        _row(  # 6: a service our table lacks: category from the taxonomy array
            cost=Decimal("3"),
            ChargeDescription="Partner interconnect attachment",
            ContractedUnitPrice=Decimal("0.1"),
            ListUnitPrice=Decimal("0.1"),
            PricingQuantity=Decimal(10),
            PricingUnit="hour",
            ServiceName="Example Partner Interconnect",
            ServiceCategory=["GCP", "Network", "Networking", "Interconnect"],
            SkuId="AAAA-BBBB-CCCC",
            x_ServiceId="ABCD-0000-0001",
        ),
        _row(  # 7: tax
            cost=Decimal("1.25"),
            x_CostType="tax",
            ChargeDescription="Sales tax",
            ServiceName="Invoice",
            x_ServiceId="0000-0000-0000",
        ),
        _row(  # 8: an adjustment correcting July's (already invoiced) usage
            cost=Decimal("-1.5"),
            x_CostType="adjustment",
            ChargeClass="correction",
            ChargeDescription="Nvidia Tesla A100 GPU running in Americas",
            ChargePeriodStart=_t(20, 0, month=7),
            ChargePeriodEnd=_t(21, 0, month=7),
            ServiceName="Compute Engine",
            x_ServiceId="6F81-5844-456A",
        ),
        _row(  # 9: rounding error of this month
            cost=Decimal("-0.000001"),
            x_CostType="rounding_error",
            ChargeDescription="Rounding error",
            ServiceName="Invoice",
            ChargePeriodStart=_t(31, 0),
            ChargePeriodEnd=_t(31, 23),
        ),
    ]


def export_rows() -> list[dict[str, Any]]:
    """Return two rows of the native FOCUS export (labels split into x_ arrays)."""
    row = {
        k: v
        for k, v in view_rows()[0].items()
        if k not in ("Tags", "ServiceCategory", "ResourceType")
    }
    row |= {
        "ChargeCategory": "Usage",
        "PricingCategory": "Standard",
        "SubAccountId": "ml-prod",
        "SubAccountName": "ML Prod",
        "BillingAccountType": "Billing Account",
        "x_Labels": [{"Key": "team", "Value": "ml"}],
        "x_SystemLabels": [
            {"Key": "compute.googleapis.com/machine_spec", "Value": "a2-highgpu-1g"}
        ],
        "x_ProjectLabels": [{"Key": "env", "Value": "prod"}],
        "x_Tags": [{"Key": "env", "Value": "prod", "x_Inherited": True, "x_Namespace": "acme-org"}],
        "x_SubscriptionInstanceId": None,
        "x_Project": {
            "Id": "ml-prod",
            "Number": "123456789012",
            "Name": "ML Prod",
            "AncestryNumbers": "/111/123456789012/",
            "Ancestors": [],
        },
    }
    tax = {
        **row,
        "ChargeCategory": "Tax",
        "x_CostType": "tax",
        "BilledCost": Decimal("0.25"),
        "EffectiveCost": Decimal("0.25"),
        "ContractedCost": Decimal("0.25"),
        "ListCost": Decimal("0.25"),
        "x_Credits": [],
        "ChargeDescription": "Sales tax",
        "ServiceName": "Invoice",
        "x_Labels": [],
        "x_SystemLabels": [],
        "x_Tags": [],
    }
    return [row, tax]


# -- writers ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Return ``value`` as BigQuery's JSON export writes it (timestamps as '... UTC')."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Exact(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)  # replaced below by the exact text
        return super().default(o)


def _dumps(record: dict[str, Any]) -> str:
    # NOTE: Decimals are written as JSON numbers with their exact digits, not via float.
    marks: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            key = f"@@{len(marks)}@@"
            marks[key] = str(value)
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(_plain(record)), cls=_Exact)
    for key, digits in marks.items():
        text = text.replace(f'"{key}"', digits)
    return text


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as BigQuery's NEWLINE_DELIMITED_JSON extract (NULL fields omitted)."""
    path.write_text("".join(_dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _arrow_type(column: str, sample: Any) -> pa.DataType:
    money = pa.decimal128(38, 9)
    kv = pa.list_(pa.struct([("Key", pa.string()), ("Value", pa.string())]))
    nested: dict[str, pa.DataType] = {
        "ServiceCategory": pa.list_(pa.string()),
        "Tags": pa.list_(
            pa.struct(
                [
                    ("key", pa.string()),
                    ("value", pa.string()),
                    ("x_type", pa.string()),
                    ("x_inherited", pa.bool_()),
                    ("x_namespace", pa.string()),
                ]
            )
        ),
        "x_Credits": pa.list_(
            pa.struct(
                [
                    ("Name", pa.string()),
                    ("Amount", money),
                    ("FullName", pa.string()),
                    ("Id", pa.string()),
                    ("Type", pa.string()),
                ]
            )
        ),
        "x_Labels": kv,
        "x_SystemLabels": kv,
        "x_ProjectLabels": kv,
        "x_Tags": pa.list_(
            pa.struct(
                [
                    ("Key", pa.string()),
                    ("Value", pa.string()),
                    ("x_Inherited", pa.bool_()),
                    ("x_Namespace", pa.string()),
                ]
            )
        ),
    }
    if column in nested:
        return nested[column]
    if column == "x_Project":
        return pa.infer_type([sample])
    if isinstance(sample, datetime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(sample, Decimal) or column.endswith(("Cost", "Price", "Quantity", "Rate")):
        return money
    return pa.string()


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as BigQuery's PARQUET extract (NUMERIC as decimal, nesting kept)."""
    columns = list(rows[0])
    fields = []
    for c in columns:
        sample = next((r[c] for r in rows if r.get(c) is not None), None)
        fields.append(pa.field(c, _arrow_type(c, sample)))
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema(fields)), path)
    return path


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, list | dict):
        return _dumps({"v": value})[6:-1]  # TO_JSON_STRING of the nested value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as a CSV of ``SELECT ..., TO_JSON_STRING(x_Credits) AS x_Credits ...``."""
    columns = list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row[c]) for c in columns])
    return path
