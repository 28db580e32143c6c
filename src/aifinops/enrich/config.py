"""The ``enrich:`` section of the config file: workload rules and energy assumptions.

Every field has a default, so enrichment works with no configuration; ``docs/enrichment.md``
documents each field and the built-in rules.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Workload = Literal["training", "inference", "notebook", "data-prep", "storage", "network", "other"]
Stage = Literal["data-preparation", "training", "validation", "inference", "retraining"]

WORKLOADS: tuple[str, ...] = (
    "training",
    "inference",
    "notebook",
    "data-prep",
    "storage",
    "network",
    "other",
)
STAGES: tuple[str, ...] = ("data-preparation", "training", "validation", "inference", "retraining")


class NameRule(BaseModel):
    """A regular expression over a row's resource name or id that decides its workload."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Short name, shown in x_WorkloadReason as name:<name>.")
    pattern: str = Field(
        description="Case-insensitive regular expression (RE2 syntax: no look-arounds), "
        "searched in ResourceName, then ResourceId."
    )
    workload: Workload = Field(description="Workload the rule sets.")
    stage: Stage | None = Field(default=None, description="Lifecycle stage the rule sets.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(
                f"not a regular expression ({exc}); escape special characters"
            ) from None
        if "(?=" in value or "(?!" in value or "(?<" in value:
            raise ValueError("look-arounds are not supported by every engine; remove them")
        return value


#: Built-in name rules, tried in order after the user's own.
DEFAULT_NAME_RULES: tuple[NameRule, ...] = (
    NameRule(
        name="finetune",
        pattern=r"(^|[-_./ ])(ft|sft|dpo|rlhf|finetune|fine-tune|retrain)([-_./ 0-9]|$)",
        workload="training",
        stage="retraining",
    ),
    NameRule(
        name="train",
        pattern=r"(pretrain|train|sweep|(^|[-_./ ])exp([-_./ 0-9]|$))",
        workload="training",
        stage="training",
    ),
    NameRule(
        name="eval",
        pattern=r"(^|[-_./ ])(eval|evaluation|validate|validation|benchmark)([-_./ 0-9]|$)",
        workload="training",
        stage="validation",
    ),
    NameRule(
        name="serve",
        pattern=r"(serve|serving|endpoint|inference|infer|predict)",
        workload="inference",
        stage="inference",
    ),
    NameRule(
        name="notebook",
        pattern=r"(notebook|jupyter|workbench|(^|[-_./ ])(nb|wb)([-_./ 0-9]|$))",
        workload="notebook",
    ),
    NameRule(
        name="data-prep",
        pattern=r"(etl|dataprep|data-prep|preprocess|feature-pipeline|ingest|labeling)",
        workload="data-prep",
        stage="data-preparation",
    ),
)


class EnrichConfig(BaseModel):
    """How rows are classified and how their energy is estimated."""

    model_config = ConfigDict(extra="forbid")

    name_rules: list[NameRule] = Field(
        default_factory=list,
        description="Your own name rules, tried before the built-in ones (first match wins).",
    )
    builtin_name_rules: bool = Field(
        default=True, description="Also try the built-in name rules after yours."
    )
    workload_tag_keys: list[str] = Field(
        default_factory=lambda: ["workload", "ml-workload", "workload-type", "job-type"],
        description="Tag keys whose value names the workload (training, inference, ...).",
    )
    stage_tag_keys: list[str] = Field(
        default_factory=lambda: ["lifecycle-stage", "ml-stage", "stage"],
        description="Tag keys whose value names the lifecycle stage.",
    )
    training_min_accelerators: Decimal = Field(
        default=Decimal(4),
        ge=0,
        description="Usage shape: an unclassified instance with at least this many "
        "accelerators is training.",
    )
    small_accelerator_workload: Workload = Field(
        default="inference",
        description="Usage shape: what an unclassified instance with fewer accelerators is.",
    )
    gpu_utilisation: Decimal = Field(
        default=Decimal("0.5"),
        ge=0,
        le=1,
        description="Accelerator utilisation assumed for energy without telemetry (CCF's 50 %).",
    )
    cpu_utilisation: Decimal = Field(
        default=Decimal("0.5"),
        ge=0,
        le=1,
        description="Host CPU utilisation assumed for energy without telemetry (CCF's 50 %).",
    )

    def all_name_rules(self) -> list[NameRule]:
        """Return the name rules in the order they are tried."""
        return [*self.name_rules, *(DEFAULT_NAME_RULES if self.builtin_name_rules else ())]
