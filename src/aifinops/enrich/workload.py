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

#: (condition, workload, lifecycle stage, reason).
Rule = tuple[ir.BooleanValue, str, str | None, str]
#: Charge categories named in x_WorkloadReason (``charge:<category>``); others are ``charge:other``.
_CHARGES = ("Purchase", "Tax", "Credit", "Adjustment")

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


def tag_value(tags: ir.StringValue, keys: list[str]) -> ir.StringValue:
    """Return the value of the first of the tag ``keys`` found in the Tags JSON text, or NULL.

    Keys match case-insensitively, spaces around them ignored; one regular expression for
    all keys, so the JSON text is scanned once.
    """
    names = "|".join(re.escape(k) for k in keys)
    pattern = r'(?i)"\s*(' + names + r')\s*"\s*:\s*"([^"]*)"'
    return tags.re_extract(pattern, 2).nullif("")


def _inputs(t: ir.Table, config: EnrichConfig) -> ir.Table:
    """Return ``t`` with the texts the rules read, each computed once."""
    tags = ibis.coalesce(t.Tags, "")
    resource = ibis.coalesce(t.ResourceId, "") + " " + ibis.coalesce(t.ResourceType, "")
    service = ibis.coalesce(t.ServiceName, "")
    step = t.mutate(
        _sagemaker=service.contains("SageMaker"),
        _vertex=service.contains("Vertex AI"),
        _azml=service.contains("Machine Learning")
        | ibis.coalesce(t.ResourceId, "").contains("MachineLearningServices"),
    )
    # NOTE: the texts of managed-service rules are built only for managed-service rows.
    managed = step._sagemaker | step._vertex | step._azml
    meter = ibis.coalesce(t.SkuMeter, "") + " " + ibis.coalesce(t.ChargeDescription, "")
    step = step.mutate(
        _meter=ibis.ifelse(managed, meter, ""),
        _resource=ibis.ifelse(managed, resource, ""),
        _name=ibis.coalesce(t.ResourceName, t.ResourceId, ""),
        _tags=tags,
        _tag_workload=_tag_workload(tags, config),
        _stage_tag=_stage_tag(tags, config),
    )
    return step


def _tag_workload(tags: ir.StringValue, config: EnrichConfig) -> ir.StringValue:
    if not config.workload_tag_keys:
        return ibis.literal("")
    value = tag_value(tags, config.workload_tag_keys).lower().strip()
    return value.substitute(_TAG_VALUES, else_="")


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


def _tag_rules(t: ir.Table) -> list[Rule]:
    rules: list[Rule] = [
        (t._tag_workload == workload, workload, _STAGE_OF.get(workload), "tag:workload")
        for workload in sorted(set(_TAG_VALUES.values()))
    ]
    rules.append(
        (t._tags.re_search(r'(?i)"goog-workbench"'), "notebook", None, "tag:goog-workbench")
    )
    return rules


def _service(t: ir.Table) -> list[Rule]:
    meter = ibis.coalesce(t.SkuMeter, "")
    return [
        (t.ServiceCategory == "Storage", "storage", None, "service:storage"),
        (
            (t.ServiceCategory == "Networking") | meter.contains("DataTransfer"),
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
    category = t.ChargeCategory.fill_null("")
    charge: list[Rule] = [
        (category == name, "other", None, f"charge:{name.lower()}") for name in _CHARGES
    ]
    charge += [
        (category != "Usage", "other", None, "charge:other"),
        (t.CommitmentDiscountStatus == "Unused", "other", None, "commitment:unused"),
    ]
    return [
        *charge,
        *_managed(t),
        *_tag_rules(t),
        *_service(t),
        *_names(t, config),
        *_shape(t, config),
    ]


def with_workload(t: ir.Table, config: EnrichConfig) -> ir.Table:
    """Return ``t`` with x_Workload, x_LifecycleStage and x_WorkloadReason filled.

    Needs x_GpuModel and x_GpuCount (``accelerators.with_accelerators`` runs first). The
    first rule that holds is found once (its number); the three columns are looked up from it.
    """
    t = _inputs(t, config)
    table = rules(t, config)
    number = ibis.cases(
        *[(ibis.coalesce(cond, False), i) for i, (cond, *_rest) in enumerate(table)],
        else_=len(table),
    )
    staged = t.mutate(_rule=number)
    workloads = {i: w for i, (_c, w, _s, _r) in enumerate(table)} | {len(table): "other"}
    stages = {i: s for i, (_c, _w, s, _r) in enumerate(table) if s}
    reasons = {i: r for i, (_c, _w, _s, r) in enumerate(table)} | {len(table): "default"}
    helpers = ["_rule", "_tags", "_tag_workload", "_stage_tag", "_meter", "_resource"]
    helpers += ["_sagemaker", "_vertex", "_azml", "_name"]
    return staged.mutate(
        x_Workload=staged._rule.substitute(workloads, else_="other"),
        x_LifecycleStage=ibis.coalesce(
            staged._stage_tag, staged._rule.substitute(stages, else_=ibis.null("string"))
        ),
        x_WorkloadReason=staged._rule.substitute(reasons, else_="default"),
    ).drop(*helpers)


def _stage_tag(tags: ir.StringValue, config: EnrichConfig) -> ir.StringValue:
    if not config.stage_tag_keys:
        return ibis.null("string")
    value = tag_value(tags, config.stage_tag_keys).lower().strip()
    return value.substitute(_STAGE_VALUES, else_=ibis.null("string"))
