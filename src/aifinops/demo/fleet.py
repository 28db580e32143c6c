"""The fleet of Nimbus Labs: every resource of the demo, per provider, at a given scale.

Google Cloud's resources are in :mod:`aifinops.demo.fleet_gcp`.

GPU training clusters, inference endpoints, notebooks, buckets and the egress path, with real
instance names, run windows and the planted stories (see ``docs/demo.md``). Every EC2 instance
carries its name as a ``Name`` tag, the only place a CUR line names an instance.
"""

from __future__ import annotations

from decimal import Decimal

from aifinops.demo.charges import stable_hex, utc
from aifinops.demo.company import AZURE_RESOURCE_GROUPS, DEMO_END, SUB_ACCOUNTS, fleet
from aifinops.demo.fleet_gcp import gcp_roster, labels
from aifinops.demo.resources import Resource


def _d(text: str) -> Decimal:
    return Decimal(text)


def _aws_roster(scale: float) -> list[Resource]:
    research, prod = SUB_ACCOUNTS["aws-research"].id, SUB_ACCOUNTS["aws-prod"].id
    out = [
        Resource(
            "i-0" + stable_hex("p5-runaway", length=16),
            "atlas-pretrain-p5-0",
            "aws",
            "aws-research",
            "us-east-1a",
            "Instance",
            (("p5.48xlarge", _d("1")),),
            labels("training", "training", "llm-research", "atlas-llm", "atlas-7b"),
            {
                "Name": "atlas-pretrain-p5-0",
                "Team": "llm-research",
                "Project": "atlas-llm",
                "Model": "atlas-7b",
                "Experiment": "pretrain-7b",
            },
            windows=(
                (utc(2026, 8, 10), utc(2026, 8, 17), "pretrain-7b-run41"),
                (utc(2026, 9, 1), utc(2026, 9, 19), "pretrain-7b-run42"),
            ),
            stories=((utc(2026, 9, 10), utc(2026, 9, 19), "runaway-training"),),
            gpus=8,
            extra={"planned_end": "2026-09-10T00:00:00Z"},
        ),
        Resource(
            "i-0" + stable_hex("p4d-spot", length=16),
            "sandbox-p4d-spot",
            "aws",
            "aws-research",
            "us-east-1b",
            "Instance",
            (("spot/p4d.24xlarge", _d("1")),),
            labels(
                "training", "training", "applied-ml", "vega-vision", "vega-detector", "vega-sweep"
            ),
            {"Name": "sandbox-p4d-spot"},
            pricing="spot",
            windows=(
                (utc(2026, 8, 4), utc(2026, 8, 7), "vega-sweep-a"),
                (utc(2026, 9, 22), utc(2026, 9, 25), "vega-sweep-b"),
                (utc(2026, 10, 13), utc(2026, 10, 16), "vega-sweep-c"),
            ),
            gpus=8,
        ),
        Resource(
            f"arn:aws:sagemaker:us-east-1:{research}:notebook-instance/nb-priya-finetune",
            "nb-priya-finetune",
            "aws",
            "aws-research",
            None,
            "Notebook Instance",
            (("sm/ml.g5.xlarge", _d("1")),),
            labels("notebook", "training", "llm-research", "atlas-llm", "atlas-7b", "lora-sweep"),
            {"team": "llm-research", "project": "atlas-llm", "owner": "priya"},
            windows=((utc(2026, 8, 3), DEMO_END, None),),
            stories=((utc(2026, 8, 12), DEMO_END, "zombie-notebook"),),
            util="zombie",
            gpus=1,
            extra={"last_activity": "2026-08-12T00:00:00Z"},
        ),
        Resource(
            f"arn:aws:sagemaker:us-east-1:{prod}:endpoint/orion-ranker-prod",
            "orion-ranker-prod",
            "aws",
            "aws-prod",
            None,
            "Endpoint",
            (("sm/ml.g5.2xlarge", _d("1")),),
            labels("inference", "inference", "applied-ml", "orion-search", "orion-ranker"),
            {"team": "applied-ml", "project": "orion-search", "model": "orion-ranker"},
            count=fleet(2, scale),
            util="inference",
            gpus=1,
        ),
    ]
    for itype, base, model, project in (
        ("g5.2xlarge", 3, "orion-ranker", "orion-search"),
        ("g6.2xlarge", 2, "vega-detector", "vega-vision"),
    ):
        n = fleet(base, scale)
        for i in range(n):
            name = f"{model}-{itype.split('.')[0]}-{i}"
            out.append(
                Resource(
                    "i-0" + stable_hex(itype, i, length=16),
                    name,
                    "aws",
                    "aws-prod",
                    "us-east-1c",
                    "Instance",
                    ((itype, _d("1")),),
                    labels("inference", "inference", "applied-ml", project, model),
                    {"Name": name, "team": "applied-ml", "project": project, "model": model},
                    pricing="sp",
                    hours="all" if i < max(1, (2 * n) // 3) else "daytime",
                    util="inference",
                    gpus=1,
                )
            )
    for i, name in enumerate(("mlflow-tracking", "feature-store")):
        out.append(
            Resource(
                "i-0" + stable_hex("m6i", i, length=16),
                name,
                "aws",
                "aws-prod",
                "us-east-1a",
                "Instance",
                (("m6i.2xlarge", _d("1")),),
                labels("other", None, "ml-platform", "platform"),
                {"Name": name, "team": "ml-platform", "project": "platform"},
                pricing="ri",
                util="none",
            )
        )
    for i in range(fleet(1, scale)):
        suffix = "" if i == 0 else f"-{i}"
        out.append(
            Resource(
                f"nimbus-checkpoints{suffix}",
                f"nimbus-checkpoints{suffix}",
                "aws",
                "aws-research",
                None,
                "Bucket",
                (("s3/standard", _d("1")),),
                labels("storage", "training", "llm-research", "atlas-llm"),
                {"Team": "llm-research", "Project": "atlas-llm"},
                util="none",
                size_gb=(40_000, 120_000),
            )
        )
    out.append(
        Resource(
            "nimbus-datasets",
            "nimbus-datasets",
            "aws",
            "aws-prod",
            None,
            "Bucket",
            (("s3/standard", _d("1")),),
            labels("storage", "data-preparation", "data-eng", "lakehouse"),
            {"team": "data-eng", "project": "lakehouse"},
            util="none",
            size_gb=(300_000, 300_000),
        )
    )
    out.append(
        Resource(
            "nimbus-datasets",
            "nimbus-datasets",
            "aws",
            "aws-prod",
            None,
            "Bucket",
            (("dt/out", _d("1")),),
            labels("network", "data-preparation", "data-eng", "lakehouse"),
            {"team": "data-eng", "project": "lakehouse"},
            pricing="egress",
            util="none",
            windows=((utc(2026, 9, 14), utc(2026, 9, 16), None),),
            stories=((utc(2026, 9, 14), utc(2026, 9, 16), "cross-cloud-copy"),),
            size_gb=(3_750, 3_750),
            extra={"destination": "gs://nimbus-datasets-gcs"},
        )
    )
    return out


def _azure_id(sub: str, provider_path: str) -> str:
    sid = SUB_ACCOUNTS[sub].id
    return (
        f"/subscriptions/{sid}/resourceGroups/{AZURE_RESOURCE_GROUPS[sub]}"
        f"/providers/{provider_path}"
    )


def _azure_roster(scale: float) -> list[Resource]:
    out = [
        Resource(
            _azure_id("az-training", "Microsoft.Compute/virtualMachineScaleSets/ndh100-pool"),
            "ndh100-pool",
            "azure",
            "az-training",
            None,
            "Virtual machine scale set",
            (("Standard_ND96isr_H100_v5", _d("1")),),
            labels("training", "training", "llm-research", "atlas-llm", "atlas-13b"),
            {" team": "llm-research", "project": "atlas-llm", "model": "atlas-13b"},
            count=4,
            windows=(
                (utc(2026, 8, 17), utc(2026, 8, 24), "atlas-13b-sft-v2"),
                (utc(2026, 10, 5), utc(2026, 10, 12), "atlas-13b-sft-v3"),
                (utc(2026, 10, 12), utc(2026, 10, 19), None),
                (utc(2026, 10, 19), utc(2026, 10, 26), "atlas-13b-sft-v3"),
            ),
            stories=((utc(2026, 10, 12), utc(2026, 10, 19), "idle-gpu-cluster"),),
            util="idle-week",
            gpus=8,
        ),
    ]
    for i in range(2):
        out.append(
            Resource(
                _azure_id("az-training", f"Microsoft.Compute/virtualMachines/nc-a100-ft-{i}"),
                f"nc-a100-ft-{i}",
                "azure",
                "az-training",
                None,
                "Virtual machine",
                (("Standard_NC24ads_A100_v4", _d("1")),),
                labels(
                    "training",
                    "retraining",
                    "applied-ml",
                    "orion-search",
                    "orion-ranker",
                    "ranker-finetune",
                ),
                {"Team": "applied-ml", "Project": "orion-search"},
                pricing="rsv",
                hours="all" if i == 0 else "weekdays",
                gpus=1,
            )
        )
    for i in range(fleet(1, scale)):
        out.append(
            Resource(
                _azure_id(
                    "az-serving",
                    f"Microsoft.MachineLearningServices/workspaces/nimbus-aml/"
                    f"onlineEndpoints/orion-ranker-azml-{i}",
                ),
                f"orion-ranker-azml-{i}",
                "azure",
                "az-serving",
                None,
                "Online endpoint",
                (("Standard_NC4as_T4_v3", _d("1")),),
                labels("inference", "inference", "applied-ml", "orion-search", "orion-ranker"),
                {"Team": "applied-ml", "project": "orion-search", "model": "orion-ranker"},
                count=2,
                util="inference",
                gpus=1,
            )
        )
    out.append(
        Resource(
            _azure_id("az-training", "Microsoft.Storage/storageAccounts/nimbuscheckpoints"),
            "nimbuscheckpoints",
            "azure",
            "az-training",
            None,
            "Storage account",
            (("blob/hot-lrs", _d("1")),),
            labels("storage", "training", "llm-research", "atlas-llm"),
            {" team": "llm-research"},
            util="none",
            size_gb=(60_000, 60_000),
        )
    )
    return out


def roster(scale: float) -> dict[str, list[Resource]]:
    """Return every resource of the demo at ``scale``, per provider, in a fixed order."""
    return {"aws": _aws_roster(scale), "azure": _azure_roster(scale), "gcp": gcp_roster(scale)}
