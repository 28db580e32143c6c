"""The Google Cloud part of the Nimbus Labs fleet (see :mod:`aifinops.demo.fleet`)."""

from __future__ import annotations

from decimal import Decimal

from aifinops.demo.charges import Labels, utc
from aifinops.demo.company import SUB_ACCOUNTS, fleet
from aifinops.demo.resources import Resource


def labels(
    workload: str,
    stage: str | None,
    team: str | None,
    project: str | None,
    model: str | None = None,
    experiment: str | None = None,
) -> Labels:
    """Return the truth labels of a resource."""
    return Labels(workload, stage, team, project, model, experiment)


def _d(text: str) -> Decimal:
    return Decimal(text)


def _gce_id(sub: str, zone: str, name: str, kind: str = "instances") -> str:
    project = SUB_ACCOUNTS[sub].id
    return f"//compute.googleapis.com/projects/{project}/zones/{zone}/{kind}/{name}"


def _users(count: int) -> list[str]:
    names = ("dana", "li", "omar", "sofia")
    return [names[i % 4] + ("" if i < 4 else f"-{i // 4}") for i in range(count)]


def gcp_roster(scale: float) -> list[Resource]:
    """Return the Google Cloud resources at ``scale``, in a fixed order."""
    a3 = (("a3/core", _d("208")), ("a3/ram", _d("1872")), ("h100", _d("8")))
    out = [
        Resource(
            _gce_id("gcp-research", "us-central1-a", f"atlas-train-a3-{i}"),
            f"atlas-train-a3-{i}",
            "gcp",
            "gcp-research",
            "us-central1-a",
            "Instance",
            a3,
            labels("training", "training", "llm-research", "atlas-llm", "atlas-7b"),
            {},  # NOTE: launched by a script that sets no labels: part of the untagged spend.
            windows=(
                (utc(2026, 8, 20), utc(2026, 8, 27), "atlas-7b-dpo-1"),
                (utc(2026, 10, 1), utc(2026, 10, 6), "atlas-7b-dpo-2"),
            ),
            gpus=8,
        )
        for i in range(2)
    ]
    out.append(
        Resource(
            _gce_id("gcp-research", "us-central1-b", "vega-exp-a2-spot"),
            "vega-exp-a2-spot",
            "gcp",
            "gcp-research",
            "us-central1-b",
            "Instance",
            (("a2/core/spot", _d("12")), ("a2/ram/spot", _d("85")), ("a100/spot", _d("1"))),
            labels("training", "training", "applied-ml", "vega-vision", "vega-detector"),
            {"team": "applied-ml", "project": "vega-vision", "experiment": "vega-aug"},
            pricing="spot",
            hours="weekdays",
            windows=((utc(2026, 9, 1), utc(2026, 10, 1), "vega-aug"),),
            gpus=1,
        )
    )
    out.append(
        Resource(
            "//tpu.googleapis.com/projects/nimbus-research-291507/locations/us-central1-a/nodes/"
            "atlas-tpu-v5e-8",
            "atlas-tpu-v5e-8",
            "gcp",
            "gcp-research",
            "us-central1-a",
            "Node",
            (("tpu-v5e", _d("8")),),
            labels("training", "training", "llm-research", "atlas-llm", "atlas-7b"),
            {"team": "llm-research", "project": "atlas-llm"},
            windows=((utc(2026, 9, 20), utc(2026, 9, 30), "atlas-7b-tpu-probe"),),
            util="tpu",
            gpus=8,
        )
    )
    g2 = (("g2/core", _d("8")), ("g2/ram", _d("32")), ("l4", _d("1")))
    for i in range(fleet(2, scale)):
        out.append(
            Resource(
                _gce_id("gcp-serving", "us-central1-c", f"vega-serve-g2-{i}"),
                f"vega-serve-g2-{i}",
                "gcp",
                "gcp-serving",
                "us-central1-c",
                "Instance",
                g2,
                labels("inference", "inference", "applied-ml", "vega-vision", "vega-detector"),
                {"team": "applied-ml", "project": "vega-vision", "model": "vega-detector"},
                pricing="cud",
                util="inference",
                gpus=1,
            )
        )
    for i in range(fleet(1, scale)):
        out.append(
            Resource(
                "//aiplatform.googleapis.com/projects/nimbus-serving-118244/locations/us-central1/"
                f"endpoints/{7_301_000 + i}",
                f"atlas-chat-endpoint-{i}",
                "gcp",
                "gcp-serving",
                None,
                "Endpoint",
                (("vertex/g2-l4", _d("1")),),
                labels("inference", "inference", "llm-research", "atlas-llm", "atlas-7b"),
                {},
                util="inference",
                gpus=1,
            )
        )
    wb = (("n1/core", _d("8")), ("n1/ram", _d("30")), ("t4", _d("1")))
    for user in _users(fleet(2, scale)):
        out.append(
            Resource(
                _gce_id("gcp-data", "us-central1-a", f"wb-{user}"),
                f"wb-{user}",
                "gcp",
                "gcp-data",
                "us-central1-a",
                "Instance",
                wb,
                labels("notebook", "data-preparation", "data-eng", "lakehouse"),
                {"team": "data-eng", "project": "lakehouse", "goog-workbench": "true"},
                hours="business",
                util="notebook",
                gpus=1,
            )
        )
    out.append(
        Resource(
            "//storage.googleapis.com/projects/_/buckets/nimbus-datasets-gcs",
            "nimbus-datasets-gcs",
            "gcp",
            "gcp-data",
            None,
            "Bucket",
            (("gcs/standard", _d("1")),),
            labels("storage", "data-preparation", "data-eng", "lakehouse"),
            {"team": "data-eng", "project": "lakehouse"},
            util="none",
            size_gb=(20_000, 200_000),
            growth=(utc(2026, 9, 14), utc(2026, 9, 16)),
        )
    )
    return out
