"""The demo's price book: real instance names and plausible on-demand prices (docs/CATALOG.md).

Prices are USD per pricing unit with at most six decimals, so that price times a quantity with
at most four decimals is exact in Decimal and survives a float round trip in native files.
"""

from __future__ import annotations

from decimal import Decimal

from aifinops.demo.charges import Service, Sku, dec, stable_hex, stable_upper, stable_uuid

# --- services -------------------------------------------------------------------------------
EC2 = Service("Amazon Elastic Compute Cloud", "Compute", "Virtual Machines", "AmazonEC2")
SAGEMAKER = Service(
    "Amazon SageMaker", "AI and Machine Learning", "Machine Learning", "AmazonSageMaker"
)
S3 = Service("Amazon Simple Storage Service", "Storage", "Object Storage", "AmazonS3")
DATA_TRANSFER = Service(
    "AWS Data Transfer", "Networking", "Network Connectivity", "AWSDataTransfer"
)
SAVINGS_PLANS = Service(
    "Savings Plans for AWS Compute usage", "Compute", "Virtual Machines", "ComputeSavingsPlans"
)
AZ_VM = Service("Virtual Machines", "Compute", "Virtual Machines", "Microsoft.Compute")
AZ_ML = Service(
    "Azure Machine Learning",
    "AI and Machine Learning",
    "Machine Learning",
    "Microsoft.MachineLearningServices",
)
AZ_STORAGE = Service("Storage Accounts", "Storage", "Object Storage", "Microsoft.Storage")
GCE = Service("Compute Engine", "Compute", "Virtual Machines", "6F81-5844-456A")
VERTEX = Service("Vertex AI", "AI and Machine Learning", "AI Platforms", "C7E2-9256-1C43")
GCS = Service("Cloud Storage", "Storage", "Object Storage", "95FF-2EF5-5EA1")
SUPPORT_TAX = {
    "aws": Service("Tax", "Other", "Other (Other)", "Tax"),
}


def _aws(
    key: str,
    service: Service,
    desc: str,
    unit: str,
    price: str,
    *,
    usage_type: str,
    operation: str = "RunInstances",
    family: str = "Compute Instance",
    gpu: str | None = None,
    gpus: int = 0,
    vcpus: int | None = None,
    mem: int | None = None,
    spot: bool = False,
) -> Sku:
    return Sku(
        key=key,
        service=service,
        description=desc,
        pricing_unit=unit,
        price=dec(price),
        gpu_model=gpu,
        gpus_per_unit=Decimal(gpus),
        instance_type=key.split("/")[-1] if family in ("Compute Instance", "ML Instance") else None,
        vcpus=vcpus,
        memory_gib=mem,
        spot=spot,
        native={
            "usage_type": usage_type,
            "operation": operation,
            "family": family,
            "sku": stable_upper("aws", key),
        },
    )


def _ec2(
    itype: str, price: str, gpu: str | None, gpus: int, vcpus: int, mem: int, *, spot: bool = False
) -> Sku:
    kind = "Spot" if spot else "On Demand"
    usage = f"{'SpotUsage' if spot else 'BoxUsage'}:{itype}"
    return _aws(
        f"{'spot/' if spot else ''}{itype}",
        EC2,
        f"${price} per {kind} Linux {itype} Instance Hour",
        "Hours",
        price,
        usage_type=usage,
        gpu=gpu,
        gpus=gpus,
        vcpus=vcpus,
        mem=mem,
        spot=spot,
    )


def _sm(itype: str, price: str, what: str, gpu: str, gpus: int, vcpus: int, mem: int) -> Sku:
    return _aws(
        f"sm/{itype}",
        SAGEMAKER,
        f"${price} per {what} {itype} hour",
        "Hours",
        price,
        usage_type=f"USE1-{what.replace(' ', '')}:{itype}",
        operation=what.replace(" ", ""),
        family="ML Instance",
        gpu=gpu,
        gpus=gpus,
        vcpus=vcpus,
        mem=mem,
    )


AWS_SKUS: dict[str, Sku] = {
    s.key: s
    for s in (
        _ec2("p5.48xlarge", "55.04", "H100-80GB-SXM", 8, 192, 2048),
        _ec2("p4d.24xlarge", "21.96", "A100-40GB", 8, 96, 1152),
        _ec2("p4d.24xlarge", "7.84", "A100-40GB", 8, 96, 1152, spot=True),
        _ec2("g5.2xlarge", "1.212", "A10G", 1, 8, 32),
        _ec2("g6.2xlarge", "0.9776", "L4", 1, 8, 32),
        _ec2("m6i.2xlarge", "0.384", None, 0, 8, 32),
        _sm("ml.g5.2xlarge", "1.515", "Hosting", "A10G", 1, 8, 32),
        _sm("ml.g5.xlarge", "1.41", "Notebook", "A10G", 1, 4, 16),
        _aws(
            "s3/standard",
            S3,
            "$0.023 per GB - first 50 TB / month of storage used",
            "GB-Months",
            "0.023",
            usage_type="TimedStorage-ByteHrs",
            operation="StandardStorage",
            family="Storage",
        ),
        _aws(
            "dt/out",
            DATA_TRANSFER,
            "$0.09 per GB - first 10 TB / month data transfer out beyond the global free tier",
            "GB",
            "0.09",
            usage_type="DataTransfer-Out-Bytes",
            operation="GetObjectForRepl",
            family="Data Transfer",
        ),
    )
}

#: AWS internet egress tiers: (cumulative GB in the month up to, $/GB).
EGRESS_TIERS: tuple[tuple[int, str], ...] = (
    (10_240, "0.09"),
    (51_200, "0.085"),
    (153_600, "0.07"),
    (10**12, "0.05"),
)


def _az(
    key: str,
    service: Service,
    product: str,
    meter_cat: str,
    meter_sub: str,
    meter: str,
    unit: str,
    uom: str,
    price: str,
    *,
    gpu: str | None = None,
    gpus: int = 0,
    vcpus: int | None = None,
    mem: int | None = None,
) -> Sku:
    return Sku(
        key=key,
        service=service,
        description=product,
        pricing_unit=unit,
        price=dec(price),
        gpu_model=gpu,
        gpus_per_unit=Decimal(gpus),
        instance_type=key if key.startswith("Standard_") else None,
        vcpus=vcpus,
        memory_gib=mem,
        native={
            "meter_category": meter_cat,
            "meter_subcategory": meter_sub,
            "meter_name": meter,
            "unit_of_measure": uom,
            "meter_id": stable_uuid("az-meter", key),
            "part_number": f"AA{stable_upper('az-part', key, length=1)}-"
            f"{int(stable_hex('az-part-n', key, length=8), 16) % 90000 + 10000}",
        },
    )


AZURE_SKUS: dict[str, Sku] = {
    s.key: s
    for s in (
        _az(
            "Standard_ND96isr_H100_v5",
            AZ_VM,
            "Virtual Machines NDsr H100 v5 Series - ND96isr H100 v5 - US East",
            "Virtual Machines",
            "NDsr H100 v5 Series",
            "ND96isr H100 v5",
            "Hours",
            "1 Hour",
            "98.32",
            gpu="H100-80GB-SXM",
            gpus=8,
            vcpus=96,
            mem=1900,
        ),
        _az(
            "Standard_NC24ads_A100_v4",
            AZ_VM,
            "Virtual Machines NCadsA100v4 Series - NC24ads A100 v4 - US East",
            "Virtual Machines",
            "NCadsA100v4 Series",
            "NC24ads A100 v4",
            "Hours",
            "1 Hour",
            "3.673",
            gpu="A100-80GB",
            gpus=1,
            vcpus=24,
            mem=220,
        ),
        _az(
            "Standard_NC4as_T4_v3",
            AZ_ML,
            "Azure Machine Learning NCasT4 v3 Series - NC4as T4 v3 - US East",
            "Virtual Machines",
            "NCasT4 v3 Series",
            "NC4as T4 v3",
            "Hours",
            "1 Hour",
            "0.526",
            gpu="T4",
            gpus=1,
            vcpus=4,
            mem=28,
        ),
        _az(
            "blob/hot-lrs",
            AZ_STORAGE,
            "Blob Storage - Hot LRS - US East",
            "Storage",
            "Blob Storage",
            "Hot LRS Data Stored",
            "GB-Months",
            "1 GB/Month",
            "0.0184",
        ),
    )
}


def _gcp(
    key: str,
    service: Service,
    desc: str,
    unit: str,
    price: str,
    *,
    gpu: str | None = None,
    gpus: int = 0,
    spot: bool = False,
    machine: str | None = None,
) -> Sku:
    native_unit = {"Hours": "hour", "GiB-Hours": "gibibyte hour", "GiB-Months": "gibibyte month"}[
        unit
    ]
    usage_unit = {"Hours": "seconds", "GiB-Hours": "byte-seconds", "GiB-Months": "byte-seconds"}[
        unit
    ]
    sku_id = "-".join(stable_upper("gcp", key, length=12)[i : i + 4] for i in (0, 4, 8))
    return Sku(
        key=key,
        service=service,
        description=desc,
        pricing_unit=unit,
        price=dec(price),
        gpu_model=gpu,
        gpus_per_unit=Decimal(gpus),
        instance_type=machine,
        spot=spot,
        native={"sku_id": sku_id, "pricing_unit": native_unit, "usage_unit": usage_unit},
    )


GCP_SKUS: dict[str, Sku] = {
    s.key: s
    for s in (
        _gcp("a3/core", GCE, "A3 Instance Core running in Americas", "Hours", "0.02785"),
        _gcp("a3/ram", GCE, "A3 Instance Ram running in Americas", "GiB-Hours", "0.003733"),
        _gcp(
            "h100",
            GCE,
            "Nvidia H100 80GB GPU running in Americas",
            "Hours",
            "9.4",
            gpu="H100-80GB-SXM",
            gpus=1,
        ),
        _gcp(
            "a2/core/spot",
            GCE,
            "Spot Preemptible A2 Instance Core running in Americas",
            "Hours",
            "0.0095",
            spot=True,
        ),
        _gcp(
            "a2/ram/spot",
            GCE,
            "Spot Preemptible A2 Instance Ram running in Americas",
            "GiB-Hours",
            "0.00128",
            spot=True,
        ),
        _gcp(
            "a100/spot",
            GCE,
            "Nvidia Tesla A100 GPU attached to Spot Preemptible VMs running in Americas",
            "Hours",
            "1.434",
            gpu="A100-40GB",
            gpus=1,
            spot=True,
        ),
        _gcp("g2/core", GCE, "G2 Instance Core running in Americas", "Hours", "0.0249"),
        _gcp("g2/ram", GCE, "G2 Instance Ram running in Americas", "GiB-Hours", "0.0029"),
        _gcp("l4", GCE, "Nvidia L4 GPU running in Americas", "Hours", "0.56", gpu="L4", gpus=1),
        _gcp(
            "n1/core", GCE, "N1 Predefined Instance Core running in Americas", "Hours", "0.031611"
        ),
        _gcp(
            "n1/ram", GCE, "N1 Predefined Instance Ram running in Americas", "GiB-Hours", "0.004237"
        ),
        _gcp(
            "t4", GCE, "Nvidia Tesla T4 GPU running in Americas", "Hours", "0.35", gpu="T4", gpus=1
        ),
        _gcp(
            "tpu-v5e", GCE, "TpuV5e Chip running in Americas", "Hours", "1.2", gpu="TPU-v5e", gpus=1
        ),
        _gcp(
            "vertex/g2-l4",
            VERTEX,
            "Vertex AI: Online/Batch Prediction G2 Instance with 1 L4 GPU running in Americas",
            "Hours",
            "1.0416",
            gpu="L4",
            gpus=1,
            machine="g2-standard-8",
        ),
        _gcp("gcs/standard", GCS, "Standard Storage US Multi-region", "GiB-Months", "0.026"),
    )
}

#: Committed-use rate of the L4 GPU SKU (1-year resource CUD, 37 % off on-demand).
GCP_L4_CUD_RATE = dec("0.3528")
#: The SKU of the L4 CUD's fee lines: a commitment SKU of its own, as in real exports.
GCP_L4_CUD_SKU = _gcp(
    "cud/l4",
    GCE,
    "Commitment v1: Nvidia L4 GPU in Americas for 1 Year",
    "Hours",
    str(GCP_L4_CUD_RATE),
)
#: Compute Savings Plan rates, $/hour, for the instance types it covers (1 year, no upfront).
AWS_SP_RATES: dict[str, Decimal] = {"g5.2xlarge": dec("0.8727"), "g6.2xlarge": dec("0.7039")}
#: Effective hourly rate of the 1-year no-upfront m6i.2xlarge reserved instance.
AWS_RI_RATE = dec("0.242")
#: Effective hourly rate of the 1-year, monthly-billed Azure reservation for NC24ads A100 v4.
AZURE_RSV_RATE = dec("2.314")
