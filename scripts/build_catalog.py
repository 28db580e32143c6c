"""Write src/aifinops/catalog/data/*.csv from public facts (run: python scripts/build_catalog.py).

Reads the public sources collected in ``../shared/data`` (``--shared DIR``; CATALOG.md lists
them) and the facts written below from the providers' public documentation, applies the fixes
of ``aifinops.catalog.fixes`` and writes our own tables. Nothing is copied: every output row
is ours, with our columns and a ``source`` naming where its facts come from. SpareCores
(CC BY-SA) is not read. Offline, never imported at runtime.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

from aifinops.catalog import fixes
from aifinops.catalog.load import COLUMNS, INSTANCE_TDP_COLUMN

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "aifinops" / "catalog" / "data"
SHARED = ROOT.parent / "shared" / "data"

KARPENTER = "karpenter@1d927085 us-east-1 price table"
KARPENTER_AS_OF = "2026-07-20"
SKY_AWS = "skypilot v8/aws@00148f2a"
SKY_GCP = "skypilot v8/gcp@006059e0"
SKY_AZURE = "skypilot v6/azure@098741e7"
# NOTE: the SkyPilot snapshots carry no date; this is the newest date of the same collection.
SKY_AS_OF = "2026-08-22"
CYCLENERD = "cyclenerd pricing.yml@fd66b26f"
CYCLENERD_AS_OF = "2026-07-30"
CCF = "CCF@b7a049c7"
MLCO2 = "mlco2/impact@d0d3ee5a gpus.csv"
TDP_REF = "CATALOG.md §3.5 gpu_tdp_reference.csv"
HOURS_PER_MONTH = Decimal(730)

# model, vendor, kind, memory GiB, aliases (| separated)
ACCELERATORS = """
H200-141GB NVIDIA gpu 141 H200|H200-SXM|H200 141GB|nvidia-h200-141gb|NVIDIA H200
H100-80GB-SXM NVIDIA gpu 80 H100|H100-SXM|H100 SXM|H100 80GB|nvidia-h100-80gb|NVIDIA H100 80GB HBM3
H100-94GB-NVL NVIDIA gpu 94 H100-NVL|H100 NVL|H100 94GB|NVIDIA H100 NVL
H100-80GB-PCIe NVIDIA gpu 80 H100-PCIe|H100 PCIe|NVIDIA H100 PCIe
H100-80GB-MEGA NVIDIA gpu 80 H100-MEGA|H100 Mega|H100 80GB Mega|H100 Mega 80GB|nvidia-h100-mega-80gb
B200 NVIDIA gpu 180 nvidia-b200|NVIDIA B200
A100-80GB NVIDIA gpu 80 A100 80GB|A100-80GB-SXM|nvidia-a100-80gb|Tesla A100 80GB|NVIDIA A100 80GB
A100-40GB NVIDIA gpu 40 A100|A100 40GB|nvidia-tesla-a100|Tesla A100|NVIDIA A100
L40S NVIDIA gpu 48 nvidia-l40s|NVIDIA L40S
L4 NVIDIA gpu 24 nvidia-l4|NVIDIA L4
A10G NVIDIA gpu 24 NVIDIA A10G
A10 NVIDIA gpu 24 nvidia-a10|NVIDIA A10
T4 NVIDIA gpu 16 nvidia-tesla-t4|Tesla T4|NVIDIA T4
V100-16GB NVIDIA gpu 16 V100|V100 16GB|nvidia-tesla-v100|Tesla V100|Tesla V100-SXM2-16GB
V100-32GB NVIDIA gpu 32 V100 32GB|Tesla V100-SXM2-32GB
P100 NVIDIA gpu 16 nvidia-tesla-p100|Tesla P100
P4 NVIDIA gpu 8 nvidia-tesla-p4|Tesla P4
K80 NVIDIA gpu 12 nvidia-tesla-k80|Tesla K80
M60 NVIDIA gpu 8 Tesla M60|NVIDIA M60
MI300X AMD gpu 192 AMD MI300X|Instinct MI300X|AMD Instinct MI300X
MI25 AMD gpu 16 Radeon MI25|Radeon Instinct MI25
V620 AMD gpu 32 Radeon Pro V620|AMD Radeon PRO V620
TPU-v4 Google tpu 32 TPU v4|tpu-v4-podslice|ct4p
TPU-v5e Google tpu 16 TPU v5e|TpuV5e|TPU v5 lite|tpu-v5-lite-podslice|v5litepod|ct5lp|ct5l
TPU-v5p Google tpu 95 TPU v5p|TpuV5p|tpu-v5p-slice|ct5p
TPU-v6e Google tpu 32 TPU v6e|TpuV6e|Trillium|tpu-v6e-slice|ct6e
Trainium1 AWS trainium 32 Trainium|AWS Trainium|trn1
Trainium2 AWS trainium 96 AWS Trainium2|trn2
Inferentia1 AWS inferentia 8 Inferentia|AWS Inferentia|inf1
Inferentia2 AWS inferentia 32 AWS Inferentia2|inf2
"""
# model -> (mlco2 gpus.csv name) or (gpu_tdp_reference accelerator, variant prefix)
TDP_FROM_MLCO2 = {
    "H100-80GB-SXM": "H100 SXM",
    "H100-80GB-MEGA": "H100 SXM",
    "H100-94GB-NVL": "H100 NVL",
    "A100-80GB": "A100 SXM4 80 GB",
    "A100-40GB": "A100 SXM4 80 GB",
    "A10G": "A10G",
    "A10": "A10G",
    "L4": "L4",
    "L40S": "L40S",
    "T4": "T4",
    "V100-16GB": "Tesla V100-SXM2-16GB",
    "V100-32GB": "Tesla V100-SXM2-32GB",
    "P100": "Tesla P100",
    "K80": "Tesla K80",
}
TDP_FROM_REFERENCE = {
    "H100-80GB-PCIe": ("H100", "PCIe"),
    "H200-141GB": ("H200", "SXM"),
    "B200": ("B200", "HGX"),
    "P4": ("P4", "PCIe"),
    "M60": ("M60", "dual"),
    "MI300X": ("MI300X", "OAM"),
}
# Not in the sources: (watts, source). Estimates are flagged as such.
_EST = (
    "estimate: no public per-chip TDP (CATALOG.md §3.5); aifinops assumption, "
    "replace with measured power"
)
TDP_WRITTEN = {
    "TPU-v4": ("192", "Google Cloud TPU v4 docs: 192 W maximum per chip (via glennklockwood.com)"),
    "TPU-v5e": ("200", _EST),
    "TPU-v5p": ("450", _EST),
    "TPU-v6e": ("300", _EST),
    "Trainium1": ("200", _EST),
    "Trainium2": ("500", _EST),
    "Inferentia1": ("75", _EST),
    "Inferentia2": ("150", _EST),
    "MI25": ("300", "AMD Radeon Instinct MI25 spec sheet: 300 W board power"),
    "V620": ("300", "AMD Radeon PRO V620 spec sheet: 300 W board power"),
}
# CCF processor key -> our models (CCF MIN_WATTS = idle)
CCF_IDLE = {
    "NVIDIA_T4": ("T4",),
    "NVIDIA_A10G": ("A10G", "A10"),
    "NVIDIA_TESLA_A100": ("A100-80GB", "A100-40GB"),
    "NVIDIA_TESLA_V100": ("V100-16GB", "V100-32GB"),
    "NVIDIA_TESLA_K80": ("K80",),
    "NVIDIA_TESLA_M60": ("M60",),
    "NVIDIA_TESLA_P100": ("P100",),
    "NVIDIA_TESLA_P4": ("P4",),
}
IDLE_SHARE = Decimal("0.12")
# Power variants of one model in some instances: (mlco2 name, fix) per instance-type regex.
TDP_VARIANTS = {
    r"^Standard_NC\d+ads_A100_v4$": "A100 PCIe 40/80GB",
    r"^Standard_NC\d+r?s_v3$": "Tesla V100-PCIE-16GB",
}

AWS_DOCS = "AWS EC2 instance type specs (docs.aws.amazon.com/ec2/latest/instancetypes)"
# instance type, vCPUs, memory GiB, accelerator, count
AWS_TYPES = """
g3s.xlarge 4 30.5 M60 1
g3.4xlarge 16 122 M60 1
g3.8xlarge 32 244 M60 2
g3.16xlarge 64 488 M60 4
p3.2xlarge 8 61 V100-16GB 1
p3.8xlarge 32 244 V100-16GB 4
p3.16xlarge 64 488 V100-16GB 8
p3dn.24xlarge 96 768 V100-32GB 8
p4d.24xlarge 96 1152 A100-40GB 8
p4de.24xlarge 96 1152 A100-80GB 8
p5.4xlarge 16 256 H100-80GB-SXM 1
p5.48xlarge 192 2048 H100-80GB-SXM 8
p5e.48xlarge 192 2048 H200-141GB 8
p5en.48xlarge 192 2048 H200-141GB 8
p6-b200.48xlarge 192 2048 B200 8
g4dn.xlarge 4 16 T4 1
g4dn.2xlarge 8 32 T4 1
g4dn.4xlarge 16 64 T4 1
g4dn.8xlarge 32 128 T4 1
g4dn.16xlarge 64 256 T4 1
g4dn.12xlarge 48 192 T4 4
g4dn.metal 96 384 T4 8
g5.xlarge 4 16 A10G 1
g5.2xlarge 8 32 A10G 1
g5.4xlarge 16 64 A10G 1
g5.8xlarge 32 128 A10G 1
g5.16xlarge 64 256 A10G 1
g5.12xlarge 48 192 A10G 4
g5.24xlarge 96 384 A10G 4
g5.48xlarge 192 768 A10G 8
g6.xlarge 4 16 L4 1
g6.2xlarge 8 32 L4 1
g6.4xlarge 16 64 L4 1
g6.8xlarge 32 128 L4 1
g6.16xlarge 64 256 L4 1
g6.12xlarge 48 192 L4 4
g6.24xlarge 96 384 L4 4
g6.48xlarge 192 768 L4 8
gr6.4xlarge 16 128 L4 1
gr6.8xlarge 32 256 L4 1
g6e.xlarge 4 32 L40S 1
g6e.2xlarge 8 64 L40S 1
g6e.4xlarge 16 128 L40S 1
g6e.8xlarge 32 256 L40S 1
g6e.16xlarge 64 512 L40S 1
g6e.12xlarge 48 384 L40S 4
g6e.24xlarge 96 768 L40S 4
g6e.48xlarge 192 1536 L40S 8
trn1.2xlarge 8 32 Trainium1 1
trn1.32xlarge 128 512 Trainium1 16
trn1n.32xlarge 128 512 Trainium1 16
trn2.48xlarge 192 2048 Trainium2 16
inf1.xlarge 4 8 Inferentia1 1
inf1.2xlarge 8 16 Inferentia1 1
inf1.6xlarge 24 48 Inferentia1 4
inf1.24xlarge 96 192 Inferentia1 16
inf2.xlarge 4 16 Inferentia2 1
inf2.8xlarge 32 128 Inferentia2 1
inf2.24xlarge 96 384 Inferentia2 6
inf2.48xlarge 192 768 Inferentia2 12
"""
SAGEMAKER_FAMILIES = "g4dn p3 p3dn p4d p4de p5 p5e p5en g5 g6 g6e trn1 trn1n trn2 inf1 inf2".split()
SAGEMAKER = "Amazon SageMaker AI ml.* instance types: the EC2 type's hardware (AWS docs)"

AZURE_DOCS = "Azure VM size pages (learn.microsoft.com/azure/virtual-machines/sizes)"
AZURE_TYPES = """
Standard_ND96is_H100_v5 96 1900 H100-80GB-SXM 8
Standard_ND96isr_H200_v5 96 1850 H200-141GB 8
Standard_ND96isr_MI300X_v5 96 1850 MI300X 8
Standard_ND96is_MI300X_v5 96 1850 MI300X 8
Standard_NV6ads_A10_v5 6 55 A10 1/6
Standard_NV12ads_A10_v5 12 110 A10 1/3
Standard_NV18ads_A10_v5 18 220 A10 1/2
"""
# SkyPilot's Azure accelerator names -> ours (H100 depends on the size: NC = NVL, ND = SXM)
AZURE_MODELS = {
    "A100-80GB": "A100-80GB",
    "A100": "A100-40GB",
    "V100": "V100-16GB",
    "V100-32GB": "V100-32GB",
    "K80": "K80",
    "M60": "M60",
    "T4": "T4",
    "A10": "A10",
    "Radeon MI25": "MI25",
    "V620": "V620",
}

GCP_DOCS = "GCP machine types (cloud.google.com/compute/docs/accelerator-optimized-machines)"
GCP_TYPES = """
a2-highgpu-1g 12 85 A100-40GB 1
a2-highgpu-2g 24 170 A100-40GB 2
a2-highgpu-4g 48 340 A100-40GB 4
a2-highgpu-8g 96 680 A100-40GB 8
a2-megagpu-16g 96 1360 A100-40GB 16
a2-ultragpu-1g 12 170 A100-80GB 1
a2-ultragpu-2g 24 340 A100-80GB 2
a2-ultragpu-4g 48 680 A100-80GB 4
a2-ultragpu-8g 96 1360 A100-80GB 8
a3-highgpu-1g 26 234 H100-80GB-SXM 1
a3-highgpu-2g 52 468 H100-80GB-SXM 2
a3-highgpu-4g 104 936 H100-80GB-SXM 4
a3-highgpu-8g 208 1872 H100-80GB-SXM 8
a3-edgegpu-8g 208 1872 H100-80GB-SXM 8
a3-megagpu-8g 208 1872 H100-80GB-MEGA 8
a3-ultragpu-8g 224 2952 H200-141GB 8
a4-highgpu-8g 224 3968 B200 8
g2-standard-4 4 16 L4 1
g2-standard-8 8 32 L4 1
g2-standard-12 12 48 L4 1
g2-standard-16 16 64 L4 1
g2-standard-24 24 96 L4 2
g2-standard-32 32 128 L4 1
g2-standard-48 48 192 L4 4
g2-standard-96 96 384 L4 8
ct4p-hightpu-4t 240 407 TPU-v4 4
ct5lp-hightpu-1t 24 48 TPU-v5e 1
ct5lp-hightpu-4t 112 192 TPU-v5e 4
ct5lp-hightpu-8t 224 384 TPU-v5e 8
ct5l-hightpu-1t 24 48 TPU-v5e 1
ct5l-hightpu-4t 112 192 TPU-v5e 4
ct5l-hightpu-8t 224 384 TPU-v5e 8
ct5p-hightpu-1t 52 112 TPU-v5p 1
ct5p-hightpu-2t 104 224 TPU-v5p 2
ct5p-hightpu-4t 208 448 TPU-v5p 4
ct6e-standard-1t 44 176 TPU-v6e 1
ct6e-standard-4t 180 720 TPU-v6e 4
ct6e-standard-8t 360 1440 TPU-v6e 8
"""
GCP_TPU_DOCS = "GCP Cloud TPU accelerator types (cloud.google.com/tpu/docs): chips in the slice"
# TPU slice name -> (model, chips per slice): v4/v5p count TensorCores (2 per chip)
GCP_TPU_SLICES = {
    "v4": ("TPU-v4", (8, 16, 32, 64, 128), 2),
    "v5litepod": ("TPU-v5e", (1, 4, 8, 16, 32, 64, 128, 256), 1),
    "v5p": ("TPU-v5p", (8, 16, 32, 64, 128), 2),
    "v6e": ("TPU-v6e", (1, 4, 8, 16, 32, 64, 128, 256), 1),
}
# SkyPilot GCP accelerator names -> (ours, chips per priced unit)
GCP_SKY_MODELS = {
    "A100": ("A100-40GB", None),
    "A100-80GB": ("A100-80GB", None),
    "B200": ("B200", None),
    "H100": ("H100-80GB-SXM", None),
    "H100-MEGA": ("H100-80GB-MEGA", None),
    "H200": ("H200-141GB", None),
    "L4": ("L4", None),
    "P4": ("P4", None),
    "T4": ("T4", None),
    "V100": ("V100-16GB", None),
    "tpu-v4-8": ("TPU-v4", 4),
    "tpu-v5litepod-1": ("TPU-v5e", 1),
    "tpu-v5p-12288": ("TPU-v5p", 6144),
    "tpu-v6e-1": ("TPU-v6e", 1),
}
# GCP SKU words per accelerator: (Compute Engine fragment, Vertex AI fragment)
_TPU_ON = r"\b(?: pod| chip| device)* running in"
GCP_SKU_WORDS = {
    "T4": (r"nvidia tesla t4 gpu", r"\b(?:nvidia )?(?:tesla )?t4 gpu"),
    "V100-16GB": (r"nvidia tesla v100 gpu", r"\b(?:nvidia )?(?:tesla )?v100 gpu"),
    "P100": (r"nvidia tesla p100 gpu", r"\b(?:nvidia )?(?:tesla )?p100 gpu"),
    "P4": (r"nvidia tesla p4 gpu", r"\b(?:nvidia )?(?:tesla )?p4 gpu"),
    "K80": (r"nvidia tesla k80 gpu", r"\b(?:nvidia )?(?:tesla )?k80 gpu"),
    "A100-40GB": (r"nvidia tesla a100 gpu", r"\b(?:nvidia )?(?:tesla )?a100 gpu"),
    "A100-80GB": (r"nvidia (?:tesla )?a100 80gb gpu", r"\ba100 80gb gpu"),
    "L4": (r"nvidia l4 gpu", r"\b(?:nvidia )?l4 gpu"),
    "H100-80GB-SXM": (r"nvidia h100 80gb gpu", r"\bh100 80gb gpu"),
    "H100-80GB-MEGA": (
        r"nvidia h100 (?:80gb mega|mega 80gb|80gb plus) gpu",
        r"\bh100 (?:80gb )?mega",
    ),
    "H200-141GB": (r"nvidia h200 141gb gpu", r"\bh200\b"),
    "B200": (r"nvidia b200(?: gpu| \(1 gpu slice\))", r"\bb200\b"),
    "TPU-v4": (r"tpu[- ]?v4", r"\btpu[- ]?v4\b"),
    "TPU-v5e": (r"tpu[- ]?v5 ?(?:e|lite ?pod)", r"\btpu[- ]?v5 ?(?:e|lite ?pod)\b"),
    "TPU-v5p": (r"tpu[- ]?v5p", r"\btpu[- ]?v5p\b"),
    "TPU-v6e": (r"tpu[- ]?v6 ?e", r"\btpu[- ]?v6 ?e\b"),
}
SKU_SOURCE = (
    "GCP Cloud Billing SKU descriptions: Cyclenerd build/mapping.csv, SkyPilot fetch_gcp.py"
)


def main() -> int:
    """Build every table; print what was written."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data directory")
    parser.add_argument("--version", default=date.today().strftime("%Y.%m.%d"))
    args = parser.parse_args()
    src: Path = args.shared
    accelerators = build_accelerators(src)
    instances = [*aws_instances(), *azure_instances(src), *gcp_instances()]
    _add_tdp_variants(src, instances)
    known = {(r["cloud"], r["instance_type"]): r for r in instances}
    prices = [*aws_prices(src, known), *azure_prices(src, known), *gcp_prices(src, known)]
    _write("accelerators.csv", accelerators)
    _write("instance_types.csv", instances, extra=(INSTANCE_TDP_COLUMN,))
    _write("sku_patterns.csv", list(sku_patterns()))
    _write("prices.csv", prices)
    _write("grid.csv", list(grid_rows(src)))
    _write("pue.csv", list(pue_rows(src)))
    (OUT / "VERSION").write_text(args.version + "\n", encoding="utf-8")
    return 0


# --- accelerators -------------------------------------------------------------------------


def build_accelerators(src: Path) -> list[dict[str, str]]:
    """Return accelerators.csv rows: our vocabulary, TDP from mlco2/CATALOG, idle from CCF."""
    mlco2 = {r["name"]: r for r in map(_mlco2_fixed, _csv(src / "carbon/mlco2-impact/gpus.csv"))}
    reference = _csv(src / "carbon/gpu_tdp_reference.csv")
    idle = _ccf_idle(src)
    rows = []
    for line in _lines(ACCELERATORS):
        model, vendor, kind, memory, aliases = line.split(" ", 4)
        tdp, source = _tdp(model, mlco2, reference)
        watts = Decimal(tdp)
        if model in idle:
            idle_w, idle_src = idle[model], "idle = CCF min watts"
        else:
            idle_w, idle_src = watts * IDLE_SHARE, "idle = 12% of TDP (CCF min/max ratio)"
        rows.append(
            {
                "model": model,
                "vendor": vendor,
                "kind": kind,
                "memory_gib": memory,
                "tdp_watts": _num(fixes.dual_gpu_board_watts(model, watts)),
                "idle_watts": _num(idle_w),
                "aliases": aliases,
                "source": f"TDP: {source}; {idle_src}",
            }
        )
    return rows


def _mlco2_fixed(row: dict[str, str]) -> dict[str, str]:
    return fixes.mlco2_a100_pcie_80gb_tdp(fixes.mlco2_v100_tdp_swap(row))


def _tdp(
    model: str, mlco2: dict[str, dict[str, str]], reference: list[dict[str, str]]
) -> tuple[str, str]:
    if model in TDP_FROM_MLCO2:
        name = TDP_FROM_MLCO2[model]
        return mlco2[name]["tdp_watts"], f"{MLCO2} '{name}'"
    if model in TDP_FROM_REFERENCE:
        acc, variant = TDP_FROM_REFERENCE[model]
        row = next(r for r in reference if r["accelerator"] == acc and variant in r["variant"])
        return row["tdp_watts"], f"{TDP_REF} ({row['source']})"
    return TDP_WRITTEN[model]


def _ccf_idle(src: Path) -> dict[str, Decimal]:
    constants = json.loads((src / "carbon/ccf_cloud_constants.json").read_text())
    minimum = constants["aws"]["MIN_WATTS_BY_COMPUTE_PROCESSOR"]
    found: dict[str, Decimal] = {}
    for key, models in CCF_IDLE.items():
        for model in models:
            found[model] = fixes.dual_gpu_board_watts(model, Decimal(str(minimum[key])))
    return found


def _add_tdp_variants(src: Path, instances: list[dict[str, str]]) -> None:
    mlco2 = {r["name"]: r for r in _csv(src / "carbon/mlco2-impact/gpus.csv")}
    for pattern, name in TDP_VARIANTS.items():
        fixed = _mlco2_fixed(mlco2[name])
        for row in instances:
            if re.match(pattern, row["instance_type"]):
                row[INSTANCE_TDP_COLUMN] = fixed["tdp_watts"]
                row["source"] += f"; TDP {fixed['tdp_watts']} W: {MLCO2} '{fixed['name']}'"


# --- instance types -----------------------------------------------------------------------


def _instance(
    cloud: str,
    itype: str,
    family: str,
    vcpus: str,
    mem: str,
    model: str,
    count: str,
    memory: Decimal,
    source: str,
) -> dict[str, str]:
    share = Decimal(count)
    per_gpu = _round(memory * share) if share < 1 else memory
    return {
        "cloud": cloud,
        "instance_type": itype,
        "family": family,
        "accelerator": model,
        "accelerator_count": count,
        "accelerator_memory_gib": _num(per_gpu),
        "vcpus": vcpus,
        "memory_gib": mem,
        "source": source,
        INSTANCE_TDP_COLUMN: "",
    }


def _memory() -> dict[str, Decimal]:
    return {line.split(" ")[0]: Decimal(line.split(" ")[3]) for line in _lines(ACCELERATORS)}


def aws_instances() -> list[dict[str, str]]:
    """Return AWS EC2 rows and their SageMaker ``ml.`` twins."""
    memory = _memory()
    rows = []
    for line in _lines(AWS_TYPES):
        itype, vcpus, mem, model, count = line.split()
        family = itype.split(".")[0]
        rows.append(
            _instance("aws", itype, family, vcpus, mem, model, count, memory[model], AWS_DOCS)
        )
        if family in SAGEMAKER_FAMILIES and not itype.endswith(".metal"):
            rows.append(
                _instance(
                    "aws",
                    f"ml.{itype}",
                    f"ml.{family}",
                    vcpus,
                    mem,
                    model,
                    count,
                    memory[model],
                    SAGEMAKER,
                )
            )
    return rows


def azure_instances(src: Path) -> list[dict[str, str]]:
    """Return Azure rows: SkyPilot v6's N-series (fixed) plus sizes it lacks."""
    memory = _memory()
    rows: dict[str, dict[str, str]] = {}
    for raw in _azure_rows(src):
        name = raw["AcceleratorName"]
        if not name or raw["InstanceType"] in rows:
            continue
        model = _azure_model(raw["InstanceType"], name)
        rows[raw["InstanceType"]] = _instance(
            "azure", raw["InstanceType"], _azure_family(raw["InstanceType"]),
            str(int(Decimal(raw["vCPUs"]))), raw["MemoryGiB"], model,
            raw["AcceleratorCount"], memory[model],
            SKY_AZURE + (f"; fixed: {raw['fixed']}" if raw["fixed"] else ""),
        )  # fmt: skip
    for line in _lines(AZURE_TYPES):
        itype, vcpus, mem, model, share = line.split()
        count = _share(share)
        rows.setdefault(
            itype,
            _instance(
                "azure",
                itype,
                _azure_family(itype),
                vcpus,
                mem,
                model,
                count,
                memory[model],
                AZURE_DOCS,
            ),
        )
    return list(rows.values())


AZURE_FIXES = (
    fixes.azure_name_unnamed_accelerators,
    fixes.azure_nd96isr_h100_v5_count,
    fixes.azure_nvv4_partial_mi25,
)


def _azure_rows(src: Path) -> Iterator[dict[str, str]]:
    """Yield SkyPilot's Azure rows, fixed; ``fixed`` names the fixes that changed the size."""
    for raw in _csv(src / "catalog/azure/skypilot_v6_azure_vms_gpu_rows.csv"):
        row, applied = raw, []
        for fix in AZURE_FIXES:
            fixed = fix(row)
            if fixed != row:
                applied.append(fix.__name__)
            row = fixed
        yield {**fixes.azure_spot_equal_to_price(row), "fixed": ", ".join(applied)}


def _azure_model(itype: str, name: str) -> str:
    if name == "H100":
        return "H100-80GB-SXM" if itype.startswith("Standard_ND") else "H100-94GB-NVL"
    return AZURE_MODELS[name]


def _azure_family(itype: str) -> str:
    return re.sub(r"^([A-Z]+)\d+", r"\1", itype.removeprefix("Standard_"))


def _share(text: str) -> str:
    if "/" not in text:
        return text
    num, den = text.split("/")
    return fixes.fraction(int(num), int(den))


def gcp_instances() -> list[dict[str, str]]:
    """Return GCP machine types (GPU and TPU VMs) and TPU slice accelerator types."""
    memory = _memory()
    rows = []
    for line in _lines(GCP_TYPES):
        itype, vcpus, mem, model, count = line.split()
        family = itype.split("-")[0]
        rows.append(
            _instance("gcp", itype, family, vcpus, mem, model, count, memory[model], GCP_DOCS)
        )
    for prefix, (model, sizes, per_chip) in GCP_TPU_SLICES.items():
        for size in sizes:
            chips = str(size // per_chip)
            rows.append(
                _instance(
                    "gcp",
                    f"{prefix}-{size}",
                    prefix,
                    "",
                    "",
                    model,
                    chips,
                    memory[model],
                    GCP_TPU_DOCS,
                )
            )
    return rows


# --- prices -------------------------------------------------------------------------------


def _price(
    row: dict[str, str], region: str, term: str, usd: Decimal, source: str, as_of: str
) -> dict[str, str]:
    return {
        "cloud": row["cloud"],
        "region": region,
        "instance_type": row["instance_type"],
        "accelerator": row["accelerator"],
        "accelerator_count": row["accelerator_count"],
        "term": term,
        "usd_per_hour": _num(usd),
        "source": source,
        "as_of": as_of,
    }


def aws_prices(src: Path, known: dict[tuple[str, str], dict[str, str]]) -> Iterator[dict[str, str]]:
    """Yield AWS on-demand (Karpenter us-east-1, SkyPilot elsewhere) and spot prices."""
    karpenter = set()
    for raw in _csv(src / "catalog/aws/karpenter_us-east-1_ondemand_accelerated.csv"):
        row = known.get(("aws", raw["InstanceType"]))
        if row is not None:
            karpenter.add((raw["InstanceType"], raw["Region"]))
            usd = Decimal(raw["OnDemandUSDPerHour"])
            yield _price(row, raw["Region"], "ondemand", usd, KARPENTER, KARPENTER_AS_OF)
    for raw in _csv(src / "catalog/aws/skypilot_v8_aws_vms_gpu_subset.csv"):
        row, fixed = known[("aws", raw["InstanceType"])], fixes.aws_p5e_no_ondemand(raw)
        region = raw["Region"]
        if fixed["Price"] and (raw["InstanceType"], region) not in karpenter:
            yield _price(row, region, "ondemand", Decimal(fixed["Price"]), SKY_AWS, SKY_AS_OF)
        values = fixes.aws_spot_local_zones(raw["SpotPrices_by_AZ"].split(";"))
        spots = [Decimal(v) for v in fixes.aws_spot_at_ondemand_cap(values, fixed["Price"])]
        if spots:
            source = SKY_AWS + " lowest uncapped AZ"
            yield _price(row, region, "spot", min(spots), source, SKY_AS_OF)


def azure_prices(
    src: Path, known: dict[tuple[str, str], dict[str, str]]
) -> Iterator[dict[str, str]]:
    """Yield Azure pay-as-you-go and spot prices per US region (SkyPilot v6, fixed)."""
    for raw in _azure_rows(src):
        row = known.get(("azure", raw["InstanceType"]))
        if row is None:
            continue
        if raw["Price"] and Decimal(raw["Price"]) > 0:
            yield _price(
                row, raw["Region"], "ondemand", Decimal(raw["Price"]), SKY_AZURE, SKY_AS_OF
            )
        if raw["SpotPrice"] and Decimal(raw["SpotPrice"]) > 0:
            yield _price(
                row, raw["Region"], "spot", Decimal(raw["SpotPrice"]), SKY_AZURE, SKY_AS_OF
            )


def gcp_prices(src: Path, known: dict[tuple[str, str], dict[str, str]]) -> Iterator[dict[str, str]]:
    """Yield GCP machine-type prices (Cyclenerd, incl. CUD) and GPU/TPU-only SKU prices."""
    yield from _cyclenerd_prices(src, known)
    yield from _gpu_sku_prices(src)


def _cyclenerd_prices(
    src: Path, known: dict[tuple[str, str], dict[str, str]]
) -> Iterator[dict[str, str]]:
    text = (src / "catalog/gcp/cyclenerd_pricing_2026-07-30.yml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    terms = (("hour", "ondemand"), ("hour_spot", "spot"))
    commits = (("month_1y", "commit_1y"), ("month_3y", "commit_3y"))
    for itype, spec in sorted(data["compute"]["instance"].items()):
        row = known.get(("gcp", itype))
        if row is None:
            continue
        for region, cost in sorted(spec["cost"].items()):
            for key, term in terms:
                if cost.get(key):
                    yield _price(
                        row, region, term, Decimal(str(cost[key])), CYCLENERD, CYCLENERD_AS_OF
                    )
            for key, term in commits:
                if cost.get(key):
                    usd = _round(Decimal(str(cost[key])) / HOURS_PER_MONTH)
                    source = f"{CYCLENERD} {key}/730"
                    yield _price(row, region, term, usd, source, CYCLENERD_AS_OF)


def _gpu_sku_prices(src: Path) -> Iterator[dict[str, str]]:
    raws = [r for r in _csv(src / "catalog/gcp/skypilot_v8_gcp_gpu_tpu_sku_subset.csv")]
    kept = [r for r in raws if r["AcceleratorName"] in GCP_SKY_MODELS]
    kept = [f for f in map(fixes.gcp_tpu_v6e_sentinel, kept) if f is not None]
    # NOTE: the subset flags some counts of a (GPU, region) and not others (A100
    # asia-southeast1 x8 but not x4, at the same per-GPU price): one suspect row taints all.
    suspect = {
        (r["AcceleratorName"], r["Region"])
        for r in kept
        if r["Price"] and not fixes.gcp_suspect_low_ondemand(r)["Price"]
    }
    seen: set[tuple[str, str]] = set()
    for raw in sorted(kept, key=lambda r: int(r["AcceleratorCount"])):
        name, region = raw["AcceleratorName"], raw["Region"]
        if (name, region) in seen:
            continue
        seen.add((name, region))
        model, chips = GCP_SKY_MODELS[name]
        units = Decimal(chips or raw["AcceleratorCount"])
        row = {
            "cloud": "gcp",
            "instance_type": f"gpu:{model}",
            "accelerator": model,
            "accelerator_count": "1",
        }
        source = f"{SKY_GCP} {name}x{raw['AcceleratorCount']}/{units}"
        if raw["Price"] and (name, region) not in suspect:
            usd = _round(Decimal(raw["Price"]) / units)
            yield _price(row, region, "ondemand", usd, source, SKY_AS_OF)
        if raw["SpotPrice"]:
            usd = _round(Decimal(raw["SpotPrice"]) / units)
            yield _price(row, region, "spot", usd, source, SKY_AS_OF)


# --- SKU patterns, grid, PUE --------------------------------------------------------------


def sku_patterns() -> Iterator[dict[str, str]]:
    """Yield GCP SKU patterns: on-demand, spot, commitment and Vertex AI per accelerator."""
    for model, (words, vertex) in GCP_SKU_WORDS.items():
        tpu = model.startswith("TPU")
        on = rf"^{words}{_TPU_ON}" if tpu else rf"^{words} running in"
        spot = (
            rf"^(?:(?:spot )?preemptible {words}\b|{words}\b.* preemptible)"
            if tpu
            else rf"^(?:{words} attached to spot|(?:spot )?preemptible {words})"
        )
        forms = (
            (on, "false", "false"),
            (spot, "true", "false"),
            (rf"^commitment(?: v1)?: {words}", "false", "true"),
            (rf"^vertex ai: .*{vertex}", "false", "false"),
        )
        for pattern, is_spot, is_commitment in forms:
            yield {
                "cloud": "gcp",
                "pattern": pattern,
                "accelerator": model,
                "is_spot": is_spot,
                "is_commitment": is_commitment,
                "source": SKU_SOURCE,
            }


def grid_rows(src: Path) -> Iterator[dict[str, str]]:
    """Yield CCF's location-based grid factors (fixed), per cloud region."""
    seen = set()
    for raw in _csv(src / "carbon/ccf_grid_emission_factors_by_region.csv"):
        if not raw["variant"].startswith("location-based"):
            continue
        row = fixes.ccf_grid_multiregion(raw)
        if row is None:
            continue
        row = fixes.ccf_grid_region_case(row)
        key = (row["provider"], row["region"])
        if key in seen:
            continue
        seen.add(key)
        origin = "CCF constant" if row["source"] == "literal" else f"{row['source']} via CCF"
        yield {
            "cloud": row["provider"],
            "region": row["region"],
            "g_co2e_per_kwh": _num(Decimal(row["gCO2e_per_kWh"])),
            "kind": "location",
            "source": f"{CCF}: {origin}",
            "year": "2024",
        }


def pue_rows(src: Path) -> Iterator[dict[str, str]]:
    """Yield each cloud's fleet PUE and GCP's trailing-twelve-month regional PUE (CCF)."""
    constants = json.loads((src / "carbon/ccf_cloud_constants.json").read_text())
    for cloud in ("aws", "azure", "gcp"):
        source = f"{CCF}: PUE_AVG"
        yield {
            "cloud": cloud,
            "region": "",
            "pue": str(constants[cloud]["PUE_AVG"]),
            "source": source,
        }
    for region, pue in sorted(constants["gcp"]["PUE_TRAILING_TWELVE_MONTH"].items()):
        source = f"{CCF}: GCP PUE_TRAILING_TWELVE_MONTH"
        yield {"cloud": "gcp", "region": region, "pue": str(pue), "source": source}


# --- files --------------------------------------------------------------------------------


def _lines(text: str) -> Iterable[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _num(value: Decimal) -> str:
    """Return a decimal as plain text, as exact as the source gave it (18 places at most)."""
    if value.as_tuple().exponent < -18:  # type: ignore[operator]
        value = value.quantize(Decimal(1).scaleb(-18))
    return format(value.normalize(), "f")


def _round(value: Decimal) -> Decimal:
    """Return a computed quotient (month / 730 h, price / chips) to 10 places."""
    return value.quantize(Decimal(1).scaleb(-10))


def _write(name: str, rows: list[dict[str, str]], extra: tuple[str, ...] = ()) -> None:
    columns = [*COLUMNS[name], *extra]
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows):5d} rows to {(OUT / name).relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
