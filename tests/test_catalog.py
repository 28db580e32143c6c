"""The catalog: lookups normalise provider spellings, tables hold the promised facts, files load."""

from __future__ import annotations

import csv
import re
import runpy
from collections import Counter
from decimal import Decimal
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from pydantic import ValidationError

from aifinops.catalog import (
    CLOUD_OF_PROVIDER,
    INSTANCE_TYPE_RE2,
    Catalog,
    PriceOverride,
    load_catalog,
)
from aifinops.catalog.load import COLUMNS
from aifinops.catalog.names import alias_key
from aifinops.errors import BadInputError
from aifinops.focus.columns import DECIMAL_TYPE

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "aifinops" / "catalog" / "data"
THIRD, SIXTH = Decimal("0.333333333333333333"), Decimal("0.166666666666666667")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


CONTRACT_MODELS = (
    "H200-141GB H100-80GB-SXM H100-94GB-NVL H100-80GB-PCIe H100-80GB-MEGA B200 A100-80GB "
    "A100-40GB L40S L4 A10G A10 T4 V100-16GB V100-32GB P100 P4 K80 M60 MI300X TPU-v4 TPU-v5e "
    "TPU-v5p TPU-v6e Trainium1 Trainium2 Inferentia1 Inferentia2"
).split()


def test_every_contract_model_is_in_the_catalog_with_kind_memory_and_watts(
    catalog: Catalog,
) -> None:
    for model in CONTRACT_MODELS:
        acc = catalog.accelerators[model]
        assert acc.kind in ("gpu", "tpu", "trainium", "inferentia")
        assert acc.memory_gib > 0 and acc.tdp_watts > acc.idle_watts > 0, model
    assert catalog.accelerators["TPU-v5e"].kind == "tpu"
    assert catalog.accelerators["Trainium2"].kind == "trainium"
    assert catalog.accelerators["Inferentia2"].kind == "inferentia"
    assert "estimate" in catalog.accelerators["TPU-v6e"].source


def test_no_alias_names_two_models(catalog: Catalog) -> None:
    owners: dict[str, set[str]] = {}
    for acc in catalog.accelerators.values():
        for name in (acc.model, *acc.aliases):
            owners.setdefault(alias_key(name), set()).add(acc.model)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


@pytest.mark.parametrize(
    ("alias", "model"),
    [
        ("nvidia-tesla-t4", "T4"),
        ("Nvidia Tesla T4", "T4"),
        ("H100", "H100-80GB-SXM"),
        ("h100 nvl", "H100-94GB-NVL"),
        ("nvidia-h100-mega-80gb", "H100-80GB-MEGA"),
        ("A100", "A100-40GB"),
        ("nvidia-a100-80gb", "A100-80GB"),
        ("tpu-v5-lite-podslice", "TPU-v5e"),
        ("TpuV6e", "TPU-v6e"),
        ("Radeon MI25", "MI25"),
        ("a10g", "A10G"),
    ],
)
def test_accelerator_resolves_aliases(catalog: Catalog, alias: str, model: str) -> None:
    found = catalog.accelerator(alias)
    assert found is not None and found.model == model


@pytest.mark.parametrize(
    ("cloud", "name", "instance_type", "model", "count"),
    [
        ("aws", "USE1-BoxUsage:g5.xlarge", "g5.xlarge", "A10G", 1),
        ("aws", "SpotUsage:p4d.24xlarge", "p4d.24xlarge", "A100-40GB", 8),
        ("aws", "USW2-HeavyUsage:p4de.24xlarge", "p4de.24xlarge", "A100-80GB", 8),
        ("aws", "USE1-Hosting:ml.g5.2xlarge", "ml.g5.2xlarge", "A10G", 1),
        ("aws", "USE1-Notebook:ml.g5.xlarge", "ml.g5.xlarge", "A10G", 1),
        ("aws", "USE1-Train:ml.p4d.24xlarge", "ml.p4d.24xlarge", "A100-40GB", 8),
        ("aws", "BoxUsage:p5.48xlarge", "p5.48xlarge", "H100-80GB-SXM", 8),
        ("AWS", "P5EN.48XLARGE", "p5en.48xlarge", "H200-141GB", 8),
        ("aws", "USE2-BoxUsage:trn1.32xlarge", "trn1.32xlarge", "Trainium1", 16),
        ("aws", "inf2.48xlarge", "inf2.48xlarge", "Inferentia2", 12),
        ("aws", "$1.14 per On Demand Linux g3.4xlarge Instance Hour", "g3.4xlarge", "M60", 1),
        ("azure", "NC24ads A100 v4", "Standard_NC24ads_A100_v4", "A100-80GB", 1),
        ("Microsoft", "Standard_nc24ads_a100_v4", "Standard_NC24ads_A100_v4", "A100-80GB", 1),
        ("azure", "ND96isr H100 v5", "Standard_ND96isr_H100_v5", "H100-80GB-SXM", 8),
        ("azure", "ND96isr H100 v5 Spot", "Standard_ND96isr_H100_v5", "H100-80GB-SXM", 8),
        ("azure", "NC4as T4 v3 Low Priority", "Standard_NC4as_T4_v3", "T4", 1),
        ("azure", "ND96asr A100 v4", "Standard_ND96asr_v4", "A100-40GB", 8),
        ("azure", "ND96amsr A100 v4", "Standard_ND96amsr_A100_v4", "A100-80GB", 8),
        ("azure", "NC40ads H100 v5", "Standard_NC40ads_H100_v5", "H100-94GB-NVL", 1),
        ("azure", "ND96isr MI300X v5", "Standard_ND96isr_MI300X_v5", "MI300X", 8),
        ("azure", "NC6s v3", "Standard_NC6s_v3", "V100-16GB", 1),
        ("gcp", "a2-highgpu-1g", "a2-highgpu-1g", "A100-40GB", 1),
        ("gcp", "a2-megagpu-16g", "a2-megagpu-16g", "A100-40GB", 16),
        ("gcp", "a2-ultragpu-8g", "a2-ultragpu-8g", "A100-80GB", 8),
        (
            "gcp",
            "zones/us-central1-a/machineTypes/a3-highgpu-8g",
            "a3-highgpu-8g",
            "H100-80GB-SXM",
            8,
        ),
        ("Google Cloud", "a3-megagpu-8g", "a3-megagpu-8g", "H100-80GB-MEGA", 8),
        ("gcp", "a3-ultragpu-8g", "a3-ultragpu-8g", "H200-141GB", 8),
        ("gcp", "a4-highgpu-8g", "a4-highgpu-8g", "B200", 8),
        ("gcp", "tpu-v5litepod-8", "v5litepod-8", "TPU-v5e", 8),
        ("gcp", "v5e-16", "v5litepod-16", "TPU-v5e", 16),
        ("gcp", "v5p-8", "v5p-8", "TPU-v5p", 4),
        ("gcp", "v4-8", "v4-8", "TPU-v4", 4),
        ("gcp", "tpu-v6e-16", "v6e-16", "TPU-v6e", 16),
        ("gcp", "ct5lp-hightpu-4t", "ct5lp-hightpu-4t", "TPU-v5e", 4),
        ("gcp", "ct6e-standard-8t", "ct6e-standard-8t", "TPU-v6e", 8),
        ("gcp", "ct5p-hightpu-4t", "ct5p-hightpu-4t", "TPU-v5p", 4),
    ],
)
def test_instance_lookup_normalises_provider_names(
    catalog: Catalog, cloud: str, name: str, instance_type: str, model: str, count: int
) -> None:
    found = catalog.instance(cloud, name)
    assert found is not None, name
    assert (found.instance_type, found.accelerator, found.accelerator_count) == (
        instance_type,
        model,
        Decimal(count),
    )


def test_unknown_names_and_clouds_find_nothing(catalog: Catalog) -> None:
    assert catalog.instance("aws", "USE1-DataTransfer-Out-Bytes") is None
    assert catalog.instance("oracle", "g5.xlarge") is None
    assert catalog.instance("gcp", "n1-standard-8") is None
    assert catalog.instance("aws", "") is None


@pytest.mark.parametrize(
    ("name", "count", "memory"),
    [
        ("Standard_NV6ads_A10_v5", SIXTH, 4),
        ("Standard_NV12ads_A10_v5", THIRD, 8),
        ("Standard_NV18ads_A10_v5", Decimal("0.5"), 12),
        ("Standard_NV36ads_A10_v5", 1, 24),
        ("Standard_NV36adms_A10_v5", 1, 24),
        ("Standard_NV72ads_A10_v5", 2, 24),
    ],
)
def test_azure_nv_a10_v5_partial_gpus(
    catalog: Catalog, name: str, count: Decimal, memory: int
) -> None:
    found = catalog.instance("azure", name)
    assert found is not None and found.accelerator == "A10"
    assert (found.accelerator_count, found.accelerator_memory_gib) == (count, memory)


@pytest.mark.parametrize(
    ("machine", "count"),
    [("g2-standard-4", 1), ("g2-standard-8", 1), ("g2-standard-12", 1), ("g2-standard-16", 1)]
    + [("g2-standard-32", 1), ("g2-standard-24", 2), ("g2-standard-48", 4), ("g2-standard-96", 8)],
)
def test_gcp_g2_l4_counts_follow_catalog_md(catalog: Catalog, machine: str, count: int) -> None:
    found = catalog.instance("gcp", machine)
    assert found is not None and (found.accelerator, found.accelerator_count) == ("L4", count)


FAMILIES = {
    "aws": "g3 g3s p3 p3dn p4d p4de p5 p5e p5en g4dn g5 g6 g6e trn1 trn2 inf1 inf2 "
    "ml.g4dn ml.g5 ml.g6 ml.g6e ml.p3 ml.p4d ml.p4de ml.p5 ml.p5e ml.p5en ml.trn1 ml.trn2 "
    "ml.inf1 ml.inf2",
    "azure": "NCs_v3 NCads_A100_v4 NCads_H100_v5 NCCads_H100_v5 NDasr_v4 NDamsr_A100_v4 "
    "NDisr_H100_v5 NDisr_MI300X_v5 NVads_A10_v5 NCas_T4_v3 NCads_A10_v4",
    "gcp": "a2 a3 a4 g2 ct4p ct5lp ct5p ct6e v4 v5litepod v5p v6e",
}


@pytest.mark.parametrize("cloud", sorted(FAMILIES))
def test_required_families_are_covered(catalog: Catalog, cloud: str) -> None:
    have = {i.family for i in catalog.instances.values() if i.cloud == cloud}
    assert set(FAMILIES[cloud].split()) - have == set()


def test_sagemaker_types_share_the_ec2_hardware(catalog: Catalog) -> None:
    for (cloud, key), item in catalog.instances.items():
        if cloud == "aws" and key.startswith("ml."):
            ec2 = catalog.instances[("aws", key[3:])]
            assert (item.accelerator, item.accelerator_count, item.vcpus) == (
                ec2.accelerator,
                ec2.accelerator_count,
                ec2.vcpus,
            )


def test_focus_sample_g3_and_g5_rows_are_recognised(catalog: Catalog, sample_csv: Path) -> None:
    with sample_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = [
            r for r in csv.DictReader(handle) if re.search(r" g[35]s?\.", r["ChargeDescription"])
        ]
    assert rows, "the FOCUS sample has g3/g5 rows"
    found: Counter[tuple[str, str | None, Decimal | None]] = Counter()
    for row in rows:
        item = catalog.instance(row["ProviderName"], row["ChargeDescription"])
        assert item is not None, row["ChargeDescription"]
        found[(item.instance_type, item.accelerator, item.accelerator_count)] += 1
    one = Decimal(1)
    assert set(found) == {("g3.4xlarge", "M60", one), ("g5.4xlarge", "A10G", one)}
    sizes = {
        t: catalog.instances[("aws", t)].accelerator_count
        for t in ("g3.8xlarge", "g3.16xlarge", "g3s.xlarge")
    }
    assert sizes == {"g3.8xlarge": 2, "g3.16xlarge": 4, "g3s.xlarge": 1}


SKUS = [
    ("Nvidia Tesla T4 GPU running in Americas", "T4", False, False),
    ("Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas", "T4", True, False),
    ("Commitment v1: Nvidia Tesla T4 GPU in Americas for 3 Years", "T4", False, True),
    ("Nvidia Tesla A100 GPU running in Americas", "A100-40GB", False, False),
    (
        "Nvidia Tesla A100 GPU attached to Spot Preemptible VMs running in Americas",
        "A100-40GB",
        True,
        False,
    ),
    ("Nvidia Tesla A100 80GB GPU running in EMEA", "A100-80GB", False, False),
    ("Commitment v1: Nvidia Tesla A100 80GB GPU in Americas for 1 Year", "A100-80GB", False, True),
    ("Nvidia H100 80GB GPU running in Americas", "H100-80GB-SXM", False, False),
    (
        "Nvidia H100 80GB GPU attached to Spot Preemptible VMs running in APAC",
        "H100-80GB-SXM",
        True,
        False,
    ),
    ("Nvidia H100 80GB Mega GPU running in Americas", "H100-80GB-MEGA", False, False),
    (
        "Commitment v1: Nvidia H100 80GB Mega GPU in Americas for 1 Year",
        "H100-80GB-MEGA",
        False,
        True,
    ),
    ("Nvidia H200 141GB GPU running in Americas", "H200-141GB", False, False),
    ("Nvidia B200 (1 gpu slice) running in Americas", "B200", False, False),
    ("Nvidia L4 GPU running in Americas", "L4", False, False),
    ("Commitment v1: Nvidia L4 GPU in Americas for 1 Year", "L4", False, True),
    ("Nvidia Tesla V100 GPU running in Americas", "V100-16GB", False, False),
    ("Preemptible Nvidia Tesla P100 GPU running in Americas", "P100", True, False),
    ("Nvidia Tesla P4 GPU running in Americas", "P4", False, False),
    ("Nvidia Tesla K80 GPU running in Americas", "K80", False, False),
    ("TpuV5e Chip running in Americas", "TPU-v5e", False, False),
    ("Preemptible TpuV5e Chip running in Americas", "TPU-v5e", True, False),
    ("TpuV5p chip running in Americas", "TPU-v5p", False, False),
    ("TpuV6e Chip running in EMEA", "TPU-v6e", False, False),
    ("Tpu-v4 Pod running in Americas", "TPU-v4", False, False),
    ("Commitment v1: TpuV6e in Americas for 1 Year", "TPU-v6e", False, True),
    (
        "Vertex AI: Online/Batch Prediction G2 Instance with 1 L4 GPU running in Americas",
        "L4",
        False,
        False,
    ),
    ("Vertex AI: Training on Nvidia Tesla A100 GPU running in Americas", "A100-40GB", False, False),
    ("Vertex AI: Online/Batch Prediction Nvidia Tesla T4 GPU running in EMEA", "T4", False, False),
]
HOST_SKUS = [
    "A3 Instance Core running in Americas",
    "G2 Instance Ram running in Americas",
    "N1 Predefined Instance Core running in Americas",
    "Spot Preemptible A2 Instance Core running in Americas",
    "Commitment v1: A2 Cpu in Americas for 1 Year",
    "Standard Storage US Multi-region",
]


@pytest.mark.parametrize(("description", "model", "spot", "commitment"), SKUS)
def test_sku_patterns_recognise_gpu_and_tpu_skus(
    catalog: Catalog, description: str, model: str, spot: bool, commitment: bool
) -> None:
    hits = [p for p in catalog.sku_patterns if p.matches(description)]
    assert [(p.accelerator, p.is_spot, p.is_commitment) for p in hits] == [
        (model, spot, commitment)
    ]
    assert catalog.sku_accelerator("Google Cloud", description.upper()) == hits[0]


@pytest.mark.parametrize("description", HOST_SKUS)
def test_host_skus_match_no_pattern(catalog: Catalog, description: str) -> None:
    assert catalog.sku_accelerator("gcp", description) is None


def test_sku_patterns_run_the_same_on_duckdb_re2(catalog: Catalog) -> None:
    texts = [s[0] for s in SKUS] + HOST_SKUS
    table = ibis.memtable({"d": texts})
    con = ibis.duckdb.connect()
    exprs = {
        f"p{i}": table.d.re_search("(?i)" + p.pattern) for i, p in enumerate(catalog.sku_patterns)
    }
    result = con.execute(table.select(**exprs)).to_dict("list")
    for i, pattern in enumerate(catalog.sku_patterns):
        assert result[f"p{i}"] == [pattern.matches(t) for t in texts], pattern.pattern


def test_aws_instance_regex_extracts_types_in_duckdb(catalog: Catalog) -> None:
    names = [
        "use1-boxusage:g5.xlarge",
        "usw2-hosting:ml.g5.2xlarge",
        "$1.14 per on demand linux g3.4xlarge instance hour",
    ]
    table = ibis.memtable({"n": names})
    got = ibis.duckdb.connect().execute(
        table.select(k=table.n.re_extract(INSTANCE_TYPE_RE2["aws"], 1))
    )
    assert list(got["k"]) == ["g5.xlarge", "ml.g5.2xlarge", "g3.4xlarge"]


def test_prices_per_instance_and_per_accelerator(catalog: Catalog) -> None:
    assert catalog.price("aws", "us-east-1", "p5.48xlarge", "ondemand") == Decimal("55.04")
    assert catalog.price("AWS", "us-east-1", "USE1-BoxUsage:p5.48xlarge", "ondemand") == Decimal(
        "55.04"
    )
    row = catalog.price_row("aws", "us-east-1", "p5.48xlarge", "ondemand")
    assert row is not None and row.usd_per_accelerator_hour == Decimal("6.88")
    assert catalog.price("aws", "us-west-2", "p5.48xlarge", "spot") == Decimal("12.6935")
    assert catalog.price("azure", "eastus", "NC24ads A100 v4", "ondemand") == Decimal("3.673")
    assert catalog.price("azure", "EastUS", "Standard_NC24ads_A100_v4", "spot") == Decimal(
        "0.444433"
    )
    assert catalog.price("gcp", "us-central1", "gpu:L4", "ondemand") == Decimal("0.56004")
    assert catalog.price("gcp", "us-central1", "gpu:nvidia-l4", "spot") == Decimal("0.2231")
    assert catalog.price("gcp", "us-central1", "gpu:TPU-v5p", "ondemand") == Decimal("4.2")
    assert catalog.price("gcp", "us-central2", "gpu:TPU-v4", "ondemand") == Decimal("3.22")
    assert catalog.price("gcp", "mars-1", "gpu:L4", "ondemand") is None
    assert catalog.price("aws", "us-east-1", "p5.48xlarge", "commit_3y") is None


def test_gcp_commitment_prices_are_month_over_730(catalog: Catalog, shared_data: Path) -> None:
    path = shared_data / "catalog" / "gcp" / "cyclenerd_gpu_machine_types_prices.csv"
    checked = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["MachineType"] not in ("a3-highgpu-8g", "g2-standard-4", "a2-highgpu-1g"):
                continue
            for column, term in (
                ("CUD1yPerHour(month_1y/730)", "commit_1y"),
                ("CUD3yPerHour(month_3y/730)", "commit_3y"),
            ):
                ours = catalog.price("gcp", row["Region"], row["MachineType"], term)
                if row[column]:
                    assert ours is not None and abs(ours - Decimal(row[column])) < Decimal(
                        "0.00001"
                    )
                    checked += 1
            assert catalog.price("gcp", row["Region"], row["MachineType"], "ondemand") == Decimal(
                row["OnDemandPerHour"]
            )
    assert checked > 200


def test_overrides_replace_catalog_prices(catalog: Catalog) -> None:
    overrides = [
        PriceOverride(cloud="aws", instance_type="p5.48xlarge", usd_per_hour=Decimal("40")),
        PriceOverride(
            cloud="aws",
            region="us-west-2",
            instance_type="USW2-BoxUsage:p5.48xlarge",
            usd_per_hour=Decimal("38.5"),
        ),
        PriceOverride(
            cloud="Microsoft",
            instance_type="NC24ads A100 v4",
            term="commit_1y",
            usd_per_hour=Decimal("2.314"),
            note="RI",
        ),
        PriceOverride(
            cloud="gcp",
            region="us-central1",
            instance_type="gpu:nvidia-h100-80gb",
            usd_per_hour=Decimal("5.1"),
        ),
    ]
    ours = catalog.with_overrides(overrides)
    assert ours.price("aws", "us-east-1", "p5.48xlarge", "ondemand") == Decimal("40")
    assert ours.price("aws", "eu-west-2", "p5.48xlarge", "ondemand") == Decimal("40")
    assert ours.price("aws", "mars-1", "p5.48xlarge", "ondemand") == Decimal("40")
    assert ours.price("aws", "us-west-2", "p5.48xlarge", "ondemand") == Decimal("38.5")
    assert ours.price("aws", "us-west-2", "p5.48xlarge", "spot") == Decimal("12.6935")
    rsv = ours.price_row("azure", "westus3", "Standard_NC24ads_A100_v4", "commit_1y")
    assert rsv is not None and rsv.usd_per_hour == Decimal("2.314") and "RI" in rsv.source
    h100 = ours.price_row("gcp", "us-central1", "gpu:H100-80GB-SXM", "ondemand")
    assert h100 is not None and (h100.usd_per_hour, h100.accelerator) == (
        Decimal("5.1"),
        "H100-80GB-SXM",
    )
    p5 = [p for p in ours.prices if p.instance_type == "p5.48xlarge" and p.term == "ondemand"]
    assert sorted(p.region for p in p5) == ["", "us-west-2"]
    assert catalog.price("aws", "us-east-1", "p5.48xlarge", "ondemand") == Decimal("55.04")


@pytest.mark.parametrize(
    "fields",
    [
        {"cloud": "aws", "instance_type": "p5.48xlarge", "usd_per_hour": "-1"},
        {"cloud": "aws", "instance_type": "p5.48xlarge", "usd_per_hour": "1", "term": "reserved"},
        {"cloud": "oracle", "instance_type": "x", "usd_per_hour": "1"},
        {"cloud": "aws", "instance_type": "p5.48xlarge", "usd_per_hour": "1", "discount": "5%"},
    ],
)
def test_bad_overrides_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        PriceOverride.model_validate(fields)


def test_arrow_tables_have_the_contract_columns_and_exact_decimals(catalog: Catalog) -> None:
    instances = catalog.instances_arrow()
    assert instances.column_names == [
        "cloud", "instance_key", "instance_type", "accelerator", "accelerator_count",
        "accelerator_memory_gib", "accelerator_kind", "vcpus", "memory_gib", "tdp_watts",
        "idle_watts",
    ]  # fmt: skip
    assert instances.schema.field("accelerator_count").type == DECIMAL_TYPE
    rows = {(r["cloud"], r["instance_key"]): r for r in instances.to_pylist()}
    assert len(rows) == instances.num_rows
    assert rows[("azure", "standard_nv6ads_a10_v5")]["accelerator_count"] == SIXTH
    assert rows[("azure", "standard_nd96asr_a100_v4")]["instance_type"] == "Standard_ND96asr_v4"
    assert rows[("azure", "standard_nc24ads_a100_v4")]["tdp_watts"] == 300
    assert rows[("gcp", "v5litepod-8")]["accelerator_kind"] == "tpu"
    grid = {(r["cloud"], r["region"]): r for r in catalog.grid_arrow().to_pylist()}
    assert grid[("gcp", "us-central1")]["pue"] == Decimal("1.11")
    assert grid[("gcp", "us-west1")]["pue"] == Decimal("1.1")
    assert grid[("aws", "us-east-1")]["pue"] == Decimal("1.135")
    prices = catalog.prices_arrow()
    assert {"usd_per_hour", "usd_per_accelerator_hour", "as_of"} <= set(prices.column_names)
    assert prices.schema.field("as_of").type == pa.date32()
    patterns = catalog.sku_patterns_arrow()
    assert patterns.num_rows == len(catalog.sku_patterns)
    assert set(patterns.column("accelerator_kind").to_pylist()) == {"gpu", "tpu"}


def test_grid_and_pue_lookups(catalog: Catalog) -> None:
    us_east = catalog.grid_for("aws", "us-east-1")
    assert us_east is not None and (us_east.g_co2e_per_kwh, us_east.year) == (
        Decimal("379.069"),
        2024,
    )
    assert us_east.kind == "location" and "CCF" in us_east.source
    west4 = catalog.grid_for("gcp", "europe-west4")
    assert west4 is not None and west4.g_co2e_per_kwh == Decimal("283")
    assert catalog.pue_for("azure", "eastus") == Decimal("1.185")
    assert catalog.pue_for("gcp", "europe-west4") == Decimal("1.07")


def test_provider_names_map_to_cloud_keys() -> None:
    assert CLOUD_OF_PROVIDER["Microsoft"] == "azure" and CLOUD_OF_PROVIDER["Google Cloud"] == "gcp"
    assert set(CLOUD_OF_PROVIDER.values()) == {"aws", "azure", "gcp"}


def test_a_directory_replaces_the_package_files_it_has(tmp_path: Path) -> None:
    (tmp_path / "prices.csv").write_text(
        ",".join(COLUMNS["prices.csv"]) + "\n"
        "aws,us-east-1,p5.48xlarge,H100-80GB-SXM,8,ondemand,41.5,recorded,2026-11-01\n"
    )
    (tmp_path / "VERSION").write_text("2026.11.01\n")
    refreshed = load_catalog(tmp_path)
    assert refreshed.version == "2026.11.01"
    assert [p.usd_per_hour for p in refreshed.prices] == [Decimal("41.5")]
    assert refreshed.origin["prices.csv"] == str(tmp_path / "prices.csv")
    assert refreshed.origin["instance_types.csv"] == "package"
    assert len(refreshed.instances) == len(load_catalog().instances)
    assert load_catalog(tmp_path) is refreshed
    (tmp_path / "VERSION").write_text("2026.11.02-refreshed\n")
    assert load_catalog(tmp_path).version == "2026.11.02-refreshed"


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "prices.csv",
            "aws,us-east-1,p5.48xlarge,,8,ondemand,cheap,x,2026-01-01",
            "row 1, column usd_per_hour",
        ),
        ("prices.csv", "aws,us-east-1,p5.48xlarge,,8,weekly,1,x,2026-01-01", "row 1, column term"),
        (
            "prices.csv",
            "aws,us-east-1,p5.48xlarge,,8,ondemand,1,x,01/01/2026",
            "row 1, column as_of",
        ),
        ("instance_types.csv", "aws,x.large,x,Z80,1,8,4,16,x", "row 1, column accelerator"),
        ("sku_patterns.csv", "gcp,^(?=nvidia),T4,false,false,x", "row 1, column pattern"),
        ("grid.csv", "mars,r,1,location,x,2024", "row 1, column cloud"),
    ],
)
def test_bad_values_name_the_file_row_and_column(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    (tmp_path / name).write_text(",".join(COLUMNS[name]) + "\n" + text + "\n")
    with pytest.raises(BadInputError) as caught:
        load_catalog(tmp_path)
    assert f"{tmp_path / name}, {where}" in str(caught.value)


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    (tmp_path / "pue.csv").write_text("cloud,region,source\naws,,x\n")
    with pytest.raises(BadInputError, match=r"pue.csv, header: missing column\(s\) pue"):
        load_catalog(tmp_path)


def test_duplicate_prices_are_refused(tmp_path: Path) -> None:
    line = "aws,us-east-1,p5.48xlarge,,8,ondemand,1,x,2026-01-01\n"
    (tmp_path / "prices.csv").write_text(",".join(COLUMNS["prices.csv"]) + "\n" + line + line)
    with pytest.raises(BadInputError, match="row 2, column term"):
        load_catalog(tmp_path)


def test_shipped_tables_are_what_the_build_script_derives(shared_data: Path) -> None:
    """Every shipped row but Cyclenerd's (5 s of YAML) is rebuilt from the sources and compared."""
    build = runpy.run_path(str(ROOT / "scripts" / "build_catalog.py"), run_name="build")
    instances = [
        *build["aws_instances"](),
        *build["azure_instances"](shared_data),
        *build["gcp_instances"](),
    ]
    build["_add_tdp_variants"](shared_data, instances)
    known = {(r["cloud"], r["instance_type"]): r for r in instances}
    derived = {
        "accelerators.csv": build["build_accelerators"](shared_data),
        "instance_types.csv": instances,
        "sku_patterns.csv": list(build["sku_patterns"]()),
        "grid.csv": list(build["grid_rows"](shared_data)),
        "pue.csv": list(build["pue_rows"](shared_data)),
    }
    for name, rows in derived.items():
        assert _read(DATA / name) == rows, name
    prices = [
        *build["aws_prices"](shared_data, known),
        *build["azure_prices"](shared_data, known),
        *build["_gpu_sku_prices"](shared_data),
    ]
    shipped = [r for r in _read(DATA / "prices.csv") if not r["source"].startswith("cyclenerd")]
    assert shipped == prices


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
