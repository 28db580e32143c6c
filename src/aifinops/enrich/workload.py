"""What kind of AI work a row paid for: x_Workload, x_LifecycleStage and x_WorkloadReason.

Rules are tried in order and the first that applies decides (``docs/enrichment.md``):

1. ``charge:<category>`` — anything but usage (tax, credits, purchases, adjustments) is other;
   so is an unused commitment (``commitment:unused``);
2. ``managed:<service>`` — managed ML services name the work in their SKUs and resources
   (SageMaker endpoints, training, notebooks, processing; Vertex AI prediction, training,
   workbench; Azure ML online/batch endpoints, jobs, compute instances);
3. ``tag:<key>`` — a workload tag on the resource (``workload: training``), or a provider's
   notebook label (``goog-workbench``);
4. ``service:storage`` / ``service:network`` — storage and data transfer;
5. ``name:<rule>`` — the configurable name rules over the resource's name (then id);
6. ``shape:multi-accelerator`` / ``shape:single-accelerator`` — usage shape: many
   accelerators per instance is training; one or two is (by default) serving;
7. ``default`` — other.
"""

from __future__ import annotations

import re

import ibis
import ibis.expr.types as ir

from aifinops.enrich.config import EnrichConfig

#: (condition, workload, lifecycle stage, reason); the last three are text or expressions.
Rule = tuple[
    ir.BooleanValue, ir.StringValue | str, ir.StringValue | str | None, ir.StringValue | str
]

_STAGE_OF = {"training": "training", "inference": "inference", "data-prep": "data-preparation"}
_TAG_VALUES = {
    "training": "training",
    "train": "training",
    "inference": "inference",
    "serving": "inference",
    "serve": "inference",
    "notebook": "notebook",
    "data-prep": "data-prep",
    "dataprep": "data-prep",
    "etl": "data-prep",
}
_STAGE_VALUES = {s: s for s in ("data-preparation", "training", "validation", "inference")} | {
    "retraining": "retraining",
    "data-prep": "data-preparation",
    "eval": "validation",
}


def tag_value(tags: ir.StringValue, key: str) -> ir.StringValue:
    """Return the value of tag ``key`` (case-insensitive, spaces around it ignored) or NULL."""
    pattern = r'(?i)"\s*' + re.escape(key) + r'\s*"\s*:\s*"([^"]*)"'
    return tags.re_extract(pattern, 1).nullif("")


def _inputs(t: ir.Table, config: EnrichConfig) -> ir.Table:
    """Return ``t`` with the texts the rules read, each computed once."""
    tags = ibis.coalesce(t.Tags, "")
    resource = ibis.coalesce(t.ResourceId, "") + " " + ibis.coalesce(t.ResourceType, "")
    service = ibis.coalesce(t.ServiceName, "")
    step = t.mutate(
        _meter=ibis.coalesce(t.SkuMeter, "") + " " + ibis.coalesce(t.ChargeDescription, ""),
        _resource=resource,
        _sagemaker=service.contains("SageMaker"),
        _vertex=service.contains("Vertex AI"),
        _azml=service.contains("Machine Learning") | resource.contains("MachineLearningServices"),
        _name=ibis.coalesce(t.ResourceName, t.ResourceId, ""),
        _tags=tags,
        **{
            f"_tag_workload_{i}": tag_value(tags, key)
            .lower()
            .strip()
            .substitute(_TAG_VALUES, else_="")
            for i, key in enumerate(config.workload_tag_keys)
        },
    )
    return step


def _managed(t: ir.Table) -> list[Rule]:
    meter, resource = t._meter, t._resource
    sagemaker, vertex, azml = t._sagemaker, t._vertex, t._azml
    return [
        (
            sagemaker & meter.re_search(r"(Hosting|Endpoint|Inference|Transform)"),
            "inference",
            "inference",
            "managed:sagemaker-endpoint",
        ),
        (
            sagemaker & meter.re_search("Train"),
            "training",
            "training",
            "managed:sagemaker-training",
        ),
        (
            sagemaker & meter.re_search(r"(Notebook|Studio|Canvas)"),
            "notebook",
            None,
            "managed:sagemaker-notebook",
        ),
        (
            sagemaker & meter.re_search("Processing"),
            "data-prep",
            "data-preparation",
            "managed:sagemaker-processing",
        ),
        (
            vertex & meter.re_search("Prediction"),
            "inference",
            "inference",
            "managed:vertex-prediction",
        ),
        (vertex & meter.re_search("Training"), "training", "training", "managed:vertex-training"),
        (
            vertex & meter.re_search(r"(Workbench|Notebook|Colab)"),
            "notebook",
            None,
            "managed:vertex-workbench",
        ),
        (
            azml & resource.re_search(r"(?i)(onlineEndpoints|batchEndpoints|endpoint)"),
            "inference",
            "inference",
            "managed:azureml-endpoint",
        ),
        (
            azml & resource.re_search(r"(?i)(compute instance|/computes/.*instance)"),
            "notebook",
            None,
            "managed:azureml-compute-instance",
        ),
        (
            azml & resource.re_search(r"(?i)(/jobs/|/computes/|compute cluster)"),
            "training",
            "training",
            "managed:azureml-job",
        ),
    ]


def _tag_rules(t: ir.Table, config: EnrichConfig) -> list[Rule]:
    rules: list[Rule] = []
    for i, key in enumerate(config.workload_tag_keys):
        workload = t[f"_tag_workload_{i}"]
        stage = workload.substitute(_STAGE_OF, else_="")
        rules.append((workload != "", workload, stage, f"tag:{key}"))
    rules.append(
        (t._tags.re_search(r'(?i)"goog-workbench"'), "notebook", None, "tag:goog-workbench")
    )
    return rules


def _service(t: ir.Table) -> list[Rule]:
    meter = ibis.coalesce(t.SkuMeter, "")
    return [
        (t.ServiceCategory == "Storage", "storage", None, "service:storage"),
        (
            (t.ServiceCategory == "Networking") | meter.re_search("DataTransfer"),
            "network",
            None,
            "service:network",
        ),
    ]


def _names(t: ir.Table, config: EnrichConfig) -> list[Rule]:
    name = t._name
    return [
        (name.re_search(f"(?i){r.pattern}"), r.workload, r.stage, f"name:{r.name}")
        for r in config.all_name_rules()
    ]


def _shape(t: ir.Table, config: EnrichConfig) -> list[Rule]:
    small = config.small_accelerator_workload
    return [
        (
            t.x_GpuCount >= config.training_min_accelerators,
            "training",
            "training",
            "shape:multi-accelerator",
        ),
        (t.x_GpuModel.notnull(), small, _STAGE_OF.get(small), "shape:single-accelerator"),
    ]


def rules(t: ir.Table, config: EnrichConfig) -> list[Rule]:
    """Return every rule in the order it is tried (see the module's docstring)."""
    charge: list[Rule] = [
        (
            t.ChargeCategory.fill_null("") != "Usage",
            "other",
            None,
            "charge:" + t.ChargeCategory.fill_null("unknown").lower(),
        ),
        (t.CommitmentDiscountStatus == "Unused", "other", None, "commitment:unused"),
    ]
    return [
        *charge,
        *_managed(t),
        *_tag_rules(t, config),
        *_service(t),
        *_names(t, config),
        *_shape(t, config),
    ]


def with_workload(t: ir.Table, config: EnrichConfig) -> ir.Table:
    """Return ``t`` with x_Workload, x_LifecycleStage and x_WorkloadReason filled.

    Needs x_GpuModel and x_GpuCount (``accelerators.with_accelerators`` runs first).
    """
    t = _inputs(t, config)
    packed = ibis.cases(
        *[
            (
                ibis.coalesce(cond, False),
                ibis.literal("").concat(
                    workload, "|", stage if stage is not None else "", "|", reason
                ),
            )
            for cond, workload, stage, reason in rules(t, config)
        ],
        else_=ibis.literal("other||default"),
    )
    staged = t.mutate(_packed=packed, _stage_tag=_stage_tag(t, config))
    stage = staged._packed.re_extract(r"^[^|]*\|([^|]*)\|", 1).nullif("")
    helpers = [c for c in staged.columns if c.startswith(("_tag", "_packed", "_stage_tag"))]
    helpers += ["_meter", "_resource", "_sagemaker", "_vertex", "_azml", "_name"]
    return staged.mutate(
        x_Workload=staged._packed.re_extract(r"^([^|]*)\|", 1),
        x_LifecycleStage=ibis.coalesce(staged._stage_tag, stage),
        x_WorkloadReason=staged._packed.re_extract(r"^[^|]*\|[^|]*\|(.*)$", 1),
    ).drop(*helpers)


def _stage_tag(t: ir.Table, config: EnrichConfig) -> ir.StringValue:
    tags = t._tags
    values = [tag_value(tags, key).lower().strip() for key in config.stage_tag_keys]
    if not values:
        return ibis.null("string")
    value = ibis.coalesce(*values) if len(values) > 1 else values[0]
    return value.substitute(_STAGE_VALUES, else_=ibis.null("string"))
