"""Enrichment rule by rule: accelerator recognition, workload rules, config, both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from aifinops.catalog import load_catalog
from aifinops.enrich.config import EnrichConfig, NameRule
from aifinops.enrich.rows import enrich
from aifinops.enrich.tables import FactTables
from aifinops.focus import lake_schema
from aifinops.lake import Lake, connect

START = datetime(2026, 9, 1, 0, tzinfo=UTC)
HOUR = datetime(2026, 9, 1, 1, tzinfo=UTC)


def row(**values: Any) -> dict[str, Any]:
    """Return a lake-schema usage row of one hour, with ``values`` set."""
    base: dict[str, Any] = {
        "ProviderName": "AWS",
        "ChargeCategory": "Usage",
        "ChargePeriodStart": START,
        "ChargePeriodEnd": HOUR,
        "PricingUnit": "Hours",
        "PricingQuantity": Decimal(1),
        "EffectiveCost": Decimal(1),
        "RegionId": "us-east-1",
        "ServiceName": "Amazon Elastic Compute Cloud",
        "ServiceCategory": "Compute",
    }
    return base | values


CASES: dict[str, dict[str, Any]] = {
    "sagemaker-endpoint": row(
        ServiceName="Amazon SageMaker",
        SkuMeter="USE1-Hosting:ml.g5.2xlarge",
        PricingQuantity=Decimal(2),
    ),
    "sagemaker-training": row(
        ServiceName="Amazon SageMaker", SkuMeter="USE1-Train:ml.p4d.24xlarge"
    ),
    "vertex": row(
        ProviderName="Google Cloud",
        ServiceName="Vertex AI",
        RegionId="us-central1",
        SkuMeter="Vertex AI: Online/Batch Prediction G2 Instance with 1 L4 GPU running in Americas",
        SkuPriceDetails='{"InstanceType":"g2-standard-8"}',
    ),
    "azureml": row(
        ProviderName="Microsoft",
        ServiceName="Azure Machine Learning",
        RegionId="eastus",
        SkuMeter="NC4as T4 v3",
        ResourceId="/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/"
        "workspaces/w/onlineEndpoints/e",
    ),
    "azure-meter": row(ProviderName="Microsoft", RegionId="eastus", SkuMeter="NC24ads A100 v4"),
    "workload-tag": row(
        SkuMeter="BoxUsage:g5.xlarge", Tags='{"Workload": "Training ", "ml-stage": "eval"}'
    ),
    "workbench": row(
        ProviderName="Google Cloud", RegionId="us-central1", Tags='{"goog-workbench":"true"}'
    ),
    "storage": row(ServiceCategory="Storage", ResourceName="model-train-checkpoints"),
    "egress": row(SkuMeter="USE1-DataTransfer-Out-Bytes", PricingUnit="GB"),
    "finetune": row(SkuMeter="BoxUsage:g5.xlarge", ResourceName="nc-a100-ft-0"),
    "multi-gpu": row(SkuMeter="SpotUsage:p4d.24xlarge", PricingCategory="Dynamic"),
    "single-gpu": row(ChargeDescription="$1.006 per On Demand Linux g5.xlarge Instance Hour"),
    "gcp-spot-gpu": row(
        ProviderName="Google Cloud",
        RegionId="us-central1",
        SkuMeter="Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas",
        PricingQuantity=Decimal(4),
    ),
    "per-second": row(
        SkuMeter="BoxUsage:p5.48xlarge", PricingUnit="Seconds", PricingQuantity=Decimal(5400)
    ),
    "tax": row(ChargeCategory="Tax", SkuMeter="BoxUsage:p5.48xlarge"),
    "unused": row(SkuMeter="BoxUsage:p5.48xlarge", CommitmentDiscountStatus="Unused"),
    "plain-vm": row(SkuMeter="BoxUsage:m6i.2xlarge", ResourceName="mlflow-tracking"),
}


def run(
    rows: dict[str, dict[str, Any]], engine_name: str, tmp: Path, config: EnrichConfig | None = None
) -> dict[str, dict[str, Any]]:
    names = list(rows)
    table = pa.Table.from_pylist(
        [rows[n] | {"x_SourceFile": n} for n in names], schema=lake_schema()
    )
    engine = connect(Lake.open(tmp / "lake"), engine=engine_name)
    costs = engine.table(f"rows_{len(names)}", table)
    expr = enrich(costs, FactTables.on_engine(engine, load_catalog()), config)
    out = engine.execute(expr).to_pylist()
    return {r["x_SourceFile"]: r for r in out}


@pytest.fixture(scope="module")
def enriched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return run(CASES, "duckdb", tmp_path_factory.mktemp("rules"))


@pytest.mark.parametrize(
    ("case", "workload", "stage", "reason"),
    [
        ("sagemaker-endpoint", "inference", "inference", "managed:sagemaker-endpoint"),
        ("sagemaker-training", "training", "training", "managed:sagemaker-training"),
        ("vertex", "inference", "inference", "managed:vertex-prediction"),
        ("azureml", "inference", "inference", "managed:azureml-endpoint"),
        ("workload-tag", "training", "validation", "tag:workload"),
        ("workbench", "notebook", None, "tag:goog-workbench"),
        ("storage", "storage", None, "service:storage"),
        ("egress", "network", None, "service:network"),
        ("finetune", "training", "retraining", "name:finetune"),
        ("multi-gpu", "training", "training", "shape:multi-accelerator"),
        ("single-gpu", "inference", "inference", "shape:single-accelerator"),
        ("tax", "other", None, "charge:tax"),
        ("unused", "other", None, "commitment:unused"),
        ("plain-vm", "other", None, "default"),
    ],
)
def test_each_rule_decides_and_says_so(
    enriched: dict[str, dict[str, Any]], case: str, workload: str, stage: str | None, reason: str
) -> None:
    got = enriched[case]
    assert (got["x_Workload"], got["x_LifecycleStage"], got["x_WorkloadReason"]) == (
        workload,
        stage,
        reason,
    )


@pytest.mark.parametrize(
    ("case", "instance", "model", "count", "hours", "spot"),
    [
        ("sagemaker-endpoint", "ml.g5.2xlarge", "A10G", 1, 2, False),
        ("vertex", "g2-standard-8", "L4", 1, 1, False),
        ("azure-meter", "Standard_NC24ads_A100_v4", "A100-80GB", 1, 1, False),
        ("multi-gpu", "p4d.24xlarge", "A100-40GB", 8, 8, True),
        ("single-gpu", "g5.xlarge", "A10G", 1, 1, False),
        ("gcp-spot-gpu", None, "T4", 4, 4, True),
        ("per-second", "p5.48xlarge", "H100-80GB-SXM", 8, 12, False),
        ("tax", "p5.48xlarge", None, None, None, False),
        ("unused", "p5.48xlarge", None, None, None, False),
        ("plain-vm", "m6i.2xlarge", None, None, None, False),
    ],
)
def test_accelerator_facts(
    enriched: dict[str, dict[str, Any]],
    case: str,
    instance: str | None,
    model: str | None,
    count: int | None,
    hours: int | None,
    spot: bool,
) -> None:
    got = enriched[case]
    assert got["x_InstanceType"] == instance
    assert got["x_GpuModel"] == model
    assert got["x_GpuCount"] == (None if count is None else Decimal(count))
    assert got["x_AcceleratorHours"] == (None if hours is None else Decimal(hours))
    assert got["x_IsSpot"] is spot
    if model is not None:
        acc = load_catalog().accelerators[model]
        assert (got["x_GpuMemoryGiB"], got["x_AcceleratorKind"]) == (acc.memory_gib, acc.kind)
        assert got["x_EnergyKwh"] > 0


def test_user_name_rules_come_before_the_built_in_ones(tmp_path: Path) -> None:
    config = EnrichConfig(
        name_rules=[NameRule(name="scoring", pattern="(^|-)score(-|$)", workload="inference")],
        training_min_accelerators=Decimal(16),
    )
    rows = {
        "score": row(SkuMeter="BoxUsage:m6i.2xlarge", ResourceName="nightly-score-train"),
        "p4d": row(SkuMeter="BoxUsage:p4d.24xlarge"),
    }
    got = run(rows, "duckdb", tmp_path, config)
    assert got["score"]["x_WorkloadReason"] == "name:scoring"
    # 8 GPUs is below the configured 16: the single-accelerator shape rule applies.
    assert got["p4d"]["x_WorkloadReason"] == "shape:single-accelerator"


def test_a_bad_name_rule_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="look-arounds"):
        NameRule(name="x", pattern="(?!a)b", workload="training")
    with pytest.raises(ValueError, match="escape special characters"):
        NameRule(name="x", pattern="(", workload="training")


@pytest.mark.spark
def test_duckdb_and_pyspark_enrich_alike(
    enriched: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    spark = run(CASES, "pyspark", tmp_path)
    columns = [c for c in lake_schema().names if c.startswith("x_") and c != "x_IngestedAt"]
    for case, duck in enriched.items():
        assert {c: spark[case][c] for c in columns} == {c: duck[c] for c in columns}, case


def test_sku_price_details_gain_focus_instance_type_and_gpu_count(tmp_path: Path) -> None:
    rows = {
        "described": row(
            SkuPriceId="P1", ChargeDescription="$1.006 per On Demand Linux g5.xlarge Instance Hour"
        ),
        "partial": row(
            SkuPriceId="P2",
            SkuMeter="BoxUsage:p5.48xlarge",
            SkuPriceDetails='{"InstanceType":"p5.48xlarge","CoreCount":192}',
        ),
        "gpu-sku": row(
            SkuPriceId="P3",
            ProviderName="Google Cloud",
            RegionId="us-central1",
            SkuMeter="Nvidia Tesla T4 GPU running in Americas",
            PricingQuantity=Decimal(4),
        ),
        "no-price-id": row(SkuMeter="BoxUsage:p5.48xlarge"),
        "cpu": row(SkuPriceId="P4", SkuMeter="BoxUsage:m6i.2xlarge"),
    }
    got = {k: v["SkuPriceDetails"] for k, v in run(rows, "duckdb", tmp_path).items()}
    assert json.loads(got["described"]) == {"InstanceType": "g5.xlarge", "GpuCount": 1}
    assert json.loads(got["partial"]) == {
        "InstanceType": "p5.48xlarge",
        "CoreCount": 192,
        "GpuCount": 8,
    }
    # A GPU SKU is priced per GPU-hour: GpuCount is per pricing unit, whatever ran.
    assert json.loads(got["gpu-sku"]) == {"GpuCount": 1}
    # FOCUS SkuPriceDetails-C-004-C: null whenever SkuPriceId is null.
    assert got["no-price-id"] is None
    assert json.loads(got["cpu"]) == {"InstanceType": "m6i.2xlarge"}
