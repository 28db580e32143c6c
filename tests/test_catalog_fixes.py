"""Each known source error: shown on the real source row, fixed by its function, and absent
from the shipped catalog. The source rows come from ../shared/data (skipped when missing);
the shipped-catalog checks run everywhere.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.catalog import Catalog, fixes, load_catalog

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _rows(shared_data: Path, relative: str) -> list[dict[str, str]]:
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"source file not found: {path}")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _azure(shared_data: Path, itype: str, region: str | None = None) -> dict[str, str]:
    rows = _rows(shared_data, "catalog/azure/skypilot_v6_azure_vms_gpu_rows.csv")
    return next(r for r in rows if r["InstanceType"] == itype and region in (None, r["Region"]))


def _aws(shared_data: Path, itype: str, region: str) -> dict[str, str]:
    rows = _rows(shared_data, "catalog/aws/skypilot_v8_aws_vms_gpu_subset.csv")
    return next(r for r in rows if r["InstanceType"] == itype and r["Region"] == region)


def _gcp(shared_data: Path, name: str, count: str, region: str) -> dict[str, str]:
    rows = _rows(shared_data, "catalog/gcp/skypilot_v8_gcp_gpu_tpu_sku_subset.csv")
    return next(
        r
        for r in rows
        if (r["AcceleratorName"], r["AcceleratorCount"], r["Region"]) == (name, count, region)
    )


def _mlco2(shared_data: Path, name: str) -> dict[str, str]:
    rows = _rows(shared_data, "carbon/mlco2-impact/gpus.csv")
    return next(r for r in rows if r["name"] == name)


def _terms(catalog: Catalog, cloud: str, itype: str) -> set[tuple[str, str]]:
    return {
        (p.region, p.term) for p in catalog.prices if (p.cloud, p.instance_type) == (cloud, itype)
    }


# --- Azure ---------------------------------------------------------------------------------


def test_nd96isr_h100_v5_count_source(shared_data: Path) -> None:
    raw = _azure(shared_data, "Standard_ND96isr_H100_v5")
    assert raw["AcceleratorCount"] == "12"
    assert fixes.azure_nd96isr_h100_v5_count(raw)["AcceleratorCount"] == "8"
    other = _azure(shared_data, "Standard_NC24ads_A100_v4")
    assert fixes.azure_nd96isr_h100_v5_count(other) == other


def test_nd96isr_h100_v5_count_shipped(catalog: Catalog) -> None:
    item = catalog.instance("azure", "Standard_ND96isr_H100_v5")
    assert item is not None and (item.accelerator, item.accelerator_count) == ("H100-80GB-SXM", 8)
    row = catalog.price_row("azure", "eastus", "Standard_ND96isr_H100_v5", "ondemand")
    assert row is not None and row.usd_per_accelerator_hour == Decimal("12.29")


def test_azure_spot_equal_to_price_source(shared_data: Path) -> None:
    raw = _azure(shared_data, "Standard_NC40ads_H100_v5", "eastus")
    assert raw["SpotPrice"] == raw["Price"] == "6.98"
    assert fixes.azure_spot_equal_to_price(raw)["SpotPrice"] == ""
    t4 = _azure(shared_data, "Standard_NC4as_T4_v3", "eastus")
    assert fixes.azure_spot_equal_to_price(t4)["SpotPrice"] == "0.062699"


def test_azure_spot_equal_to_price_shipped(catalog: Catalog) -> None:
    for itype in (
        "Standard_ND96isr_H100_v5",
        "Standard_NC40ads_H100_v5",
        "Standard_NC80adis_H100_v5",
    ):
        terms = _terms(catalog, "azure", itype)
        assert ("eastus2", "ondemand") in terms
        assert {t for _, t in terms} == {"ondemand"}, itype
    assert catalog.price("azure", "eastus", "Standard_NC4as_T4_v3", "spot") == Decimal("0.062699")


@pytest.mark.parametrize(
    ("itype", "name", "count"),
    [
        ("Standard_NC8ads_A10_v4", "A10", "0.333333333333333333"),
        ("Standard_NC16ads_A10_v4", "A10", "0.666666666666666667"),
        ("Standard_NC32ads_A10_v4", "A10", "1"),
        ("Standard_NCC40ads_H100_v5", "H100", "1"),
        ("Standard_ND40s_v3", "V100-32GB", "8"),
        ("Standard_NG8ads_V620_v1", "V620", "0.25"),
    ],
)
def test_azure_unnamed_accelerators_source(
    shared_data: Path, itype: str, name: str, count: str
) -> None:
    raw = _azure(shared_data, itype)
    assert raw["AcceleratorName"] == "" and raw["AcceleratorCount"] == ""
    fixed = fixes.azure_name_unnamed_accelerators(raw)
    assert (fixed["AcceleratorName"], fixed["AcceleratorCount"]) == (name, count)


@pytest.mark.parametrize(
    ("itype", "model", "count", "memory"),
    [
        ("Standard_NC8ads_A10_v4", "A10", "0.333333333333333333", 8),
        ("Standard_NC32ads_A10_v4", "A10", "1", 24),
        ("Standard_NCC40ads_H100_v5", "H100-94GB-NVL", "1", 94),
        ("Standard_ND40s_v3", "V100-32GB", "8", 32),
        ("Standard_NG8ads_V620_v1", "V620", "0.25", 8),
        ("Standard_NG32adms_V620_v1", "V620", "1", 32),
    ],
)
def test_azure_unnamed_accelerators_shipped(
    catalog: Catalog, itype: str, model: str, count: str, memory: int
) -> None:
    item = catalog.instance("azure", itype)
    assert item is not None
    assert (item.accelerator, item.accelerator_count, item.accelerator_memory_gib) == (
        model,
        Decimal(count),
        memory,
    )


def test_azure_nvv4_partial_mi25_source(shared_data: Path) -> None:
    raw = _azure(shared_data, "Standard_NV4as_v4", "eastus")
    assert (raw["AcceleratorName"], raw["AcceleratorCount"], raw["Price"]) == (
        "Radeon MI25",
        "1",
        "0.233",
    )
    assert fixes.azure_nvv4_partial_mi25(raw)["AcceleratorCount"] == "0.125"
    whole = _azure(shared_data, "Standard_NV32as_v4", "eastus")
    assert Decimal(whole["Price"]) / Decimal(raw["Price"]) == 8  # the price says 1/8 of the GPU


def test_azure_nvv4_partial_mi25_shipped(catalog: Catalog) -> None:
    counts = {
        name: catalog.instances[("azure", name.lower())].accelerator_count
        for name in (
            "Standard_NV4as_v4",
            "Standard_NV8as_v4",
            "Standard_NV16as_v4",
            "Standard_NV32as_v4",
        )
    }
    assert list(counts.values()) == [Decimal("0.125"), Decimal("0.25"), Decimal("0.5"), 1]
    row = catalog.price_row("azure", "eastus", "Standard_NV4as_v4", "ondemand")
    assert row is not None and row.usd_per_accelerator_hour == Decimal("1.864")


# --- AWS -----------------------------------------------------------------------------------


def test_aws_spot_local_zones_source(shared_data: Path) -> None:
    raw = _aws(shared_data, "g4dn.xlarge", "us-west-2")
    values = raw["SpotPrices_by_AZ"].split(";")
    assert values[-2:] == ["lax1-localzone:0.0631", "0.0723"]
    assert fixes.aws_spot_local_zones(values) == ["0.2464", "0.2479", "0.2386"]


def test_aws_spot_local_zones_shipped(catalog: Catalog) -> None:
    assert catalog.price("aws", "us-west-2", "g4dn.xlarge", "spot") == Decimal("0.2386")
    # p5 us-east-1 has atl2-localzone:10.2397, cheaper than every real AZ
    assert catalog.price("aws", "us-east-1", "p5.48xlarge", "spot") == Decimal("17.6289")


def test_aws_spot_at_ondemand_cap_source(shared_data: Path) -> None:
    capped = _aws(shared_data, "p4d.24xlarge", "ap-south-1")
    assert capped["SpotPrices_by_AZ"] == "26.3444;26.3444;26.3444" and capped["Price"] == "26.3444"
    assert (
        fixes.aws_spot_at_ondemand_cap(capped["SpotPrices_by_AZ"].split(";"), capped["Price"]) == []
    )
    rounded = _aws(shared_data, "p4d.24xlarge", "eu-central-1")
    assert rounded["Price"] == "27.43298" and "27.433" in rounded["SpotPrices_by_AZ"]
    values = rounded["SpotPrices_by_AZ"].split(";")
    assert fixes.aws_spot_at_ondemand_cap(values, rounded["Price"]) == ["13.3383"]


def test_aws_spot_at_ondemand_cap_shipped(catalog: Catalog) -> None:
    assert catalog.price("aws", "ap-south-1", "p4d.24xlarge", "spot") is None
    assert catalog.price("aws", "ap-south-1", "p4d.24xlarge", "ondemand") == Decimal("26.3444")
    assert catalog.price("aws", "eu-central-1", "p4d.24xlarge", "spot") == Decimal("13.3383")
    assert catalog.price("aws", "eu-west-2", "p3.16xlarge", "spot") is None
    for price in catalog.prices:
        if price.cloud == "aws" and price.term == "spot":
            ondemand = catalog.price("aws", price.region, price.instance_type, "ondemand")
            assert ondemand is None or price.usd_per_hour < ondemand


def test_aws_p5e_no_ondemand_source(shared_data: Path) -> None:
    raw = _aws(shared_data, "p5e.48xlarge", "us-east-2")
    assert raw["Price"] == "NA"
    assert fixes.aws_p5e_no_ondemand(raw)["Price"] == ""


def test_aws_p5e_no_ondemand_shipped(catalog: Catalog) -> None:
    assert {t for _, t in _terms(catalog, "aws", "p5e.48xlarge")} == {"spot"}
    assert catalog.price("aws", "us-east-2", "p5e.48xlarge", "spot") == Decimal("18.7359")
    assert catalog.price("aws", "us-east-1", "p5.4xlarge", "spot") is None


# --- GCP -----------------------------------------------------------------------------------


def test_gcp_suspect_low_ondemand_source(shared_data: Path) -> None:
    h100 = _gcp(shared_data, "H100", "1", "us-central1")
    assert (h100["Price"], h100["Note"]) == ("4.20076", "suspect-low-OD")
    assert fixes.gcp_suspect_low_ondemand(h100)["Price"] == ""
    assert fixes.gcp_suspect_low_ondemand(h100)["SpotPrice"] == "2.9926"
    a100 = _gcp(shared_data, "A100-80GB", "1", "us-central1")
    assert Decimal(a100["Price"]) < Decimal(a100["SpotPrice"])
    assert fixes.gcp_suspect_low_ondemand(a100)["Price"] == ""
    b200 = _gcp(shared_data, "B200", "8", "us-west2")
    assert (b200["Price"], b200["Note"]) == ("64.44", "")
    assert fixes.gcp_suspect_low_ondemand(b200)["Price"] == ""
    east4 = _gcp(shared_data, "H100", "1", "us-east4")
    assert fixes.gcp_suspect_low_ondemand(east4) == east4


def test_gcp_suspect_low_ondemand_shipped(catalog: Catalog) -> None:
    h100 = "gpu:H100-80GB-SXM"
    assert catalog.price("gcp", "us-central1", h100, "ondemand") is None
    assert catalog.price("gcp", "us-central1", h100, "spot") == Decimal("2.9926")
    assert catalog.price("gcp", "us-east4", h100, "ondemand") == Decimal("9.79655")
    assert catalog.price("gcp", "us-central1", "gpu:A100-80GB", "ondemand") is None
    assert catalog.price("gcp", "us-west2", "gpu:B200", "ondemand") is None
    assert catalog.price("gcp", "us-central1", "gpu:B200", "ondemand") == Decimal("11.277")
    # x8 flagged, x4 not, same per-GPU price: the region has no on-demand A100 price at all
    assert catalog.price("gcp", "asia-southeast1", "gpu:A100-40GB", "ondemand") is None


def test_gcp_tpu_v6e_sentinel_source(shared_data: Path) -> None:
    raw = _gcp(shared_data, "tpu-v6e-1", "1", "asia-east1")
    assert raw["Price"] == "700.0"
    assert fixes.gcp_tpu_v6e_sentinel(raw) is None
    real = _gcp(shared_data, "tpu-v6e-1", "1", "us-central1")
    assert fixes.gcp_tpu_v6e_sentinel(real) == real


def test_gcp_tpu_v6e_sentinel_shipped(catalog: Catalog) -> None:
    assert _terms(catalog, "gcp", "gpu:TPU-v6e") >= {("us-central1", "ondemand")}
    assert not {r for r, _ in _terms(catalog, "gcp", "gpu:TPU-v6e")} & {"asia-east1"}
    assert max(p.usd_per_hour for p in catalog.prices if p.accelerator == "TPU-v6e") < 700


# --- power ---------------------------------------------------------------------------------


def test_mlco2_v100_tdp_swap_source(shared_data: Path) -> None:
    sxm2, pcie = (
        _mlco2(shared_data, "Tesla V100-SXM2-16GB"),
        _mlco2(shared_data, "Tesla V100-PCIE-16GB"),
    )
    assert (sxm2["tdp_watts"], pcie["tdp_watts"]) == ("250", "300")
    assert fixes.mlco2_v100_tdp_swap(sxm2)["tdp_watts"] == "300"
    assert fixes.mlco2_v100_tdp_swap(pcie)["tdp_watts"] == "250"


def test_mlco2_v100_tdp_swap_shipped(catalog: Catalog) -> None:
    assert catalog.accelerators["V100-16GB"].tdp_watts == 300  # SXM2: AWS p3
    ncv3 = catalog.instance("azure", "Standard_NC6s_v3")
    assert ncv3 is not None and ncv3.tdp_watts == 250  # PCIe: Azure NC v3
    p3 = catalog.instance("aws", "p3.2xlarge")
    assert p3 is not None and p3.tdp_watts == 300


def test_mlco2_a100_pcie_80gb_tdp_source(shared_data: Path) -> None:
    raw = _mlco2(shared_data, "A100 PCIe 40/80GB")
    assert raw["tdp_watts"] == "250"
    assert fixes.mlco2_a100_pcie_80gb_tdp(raw)["tdp_watts"] == "300"


def test_mlco2_a100_pcie_80gb_tdp_shipped(catalog: Catalog) -> None:
    for name in (
        "Standard_NC24ads_A100_v4",
        "Standard_NC48ads_A100_v4",
        "Standard_NC96ads_A100_v4",
    ):
        item = catalog.instance("azure", name)
        assert item is not None and (item.accelerator, item.tdp_watts) == ("A100-80GB", 300)
    sxm4 = catalog.instance("aws", "p4de.24xlarge")
    assert sxm4 is not None and sxm4.tdp_watts == catalog.accelerators["A100-80GB"].tdp_watts == 400


def test_dual_gpu_board_watts_source(shared_data: Path) -> None:
    path = shared_data / "carbon" / "ccf_cloud_constants.json"
    if not path.is_file():
        pytest.skip(f"source file not found: {path}")
    aws = json.loads(path.read_text())["aws"]
    board_max = Decimal(str(aws["MAX_WATTS_BY_COMPUTE_PROCESSOR"]["NVIDIA_TESLA_M60"]))
    board_min = Decimal(str(aws["MIN_WATTS_BY_COMPUTE_PROCESSOR"]["NVIDIA_TESLA_M60"]))
    assert (board_max, board_min) == (Decimal(306), Decimal(35))
    assert fixes.dual_gpu_board_watts("M60", board_min) == Decimal("17.5")
    assert fixes.dual_gpu_board_watts("K80", Decimal(300)) == 150
    assert fixes.dual_gpu_board_watts("T4", Decimal(70)) == 70


def test_dual_gpu_board_watts_shipped(catalog: Catalog) -> None:
    for model in ("M60", "K80"):
        acc = catalog.accelerators[model]
        assert (acc.tdp_watts, acc.idle_watts) == (150, Decimal("17.5")), model
    assert catalog.accelerators["T4"].tdp_watts == 70


# --- grid ----------------------------------------------------------------------------------


def test_ccf_grid_multiregion_source(shared_data: Path) -> None:
    rows = _rows(shared_data, "carbon/ccf_grid_emission_factors_by_region.csv")
    us = next(
        r
        for r in rows
        if r["provider"] == "gcp" and r["region"] == "US" and r["variant"].startswith("location")
    )
    assert Decimal(us["gCO2e_per_kWh"]) == 2805
    assert fixes.ccf_grid_multiregion(us) is None
    iowa = next(r for r in rows if r["provider"] == "gcp" and r["region"] == "us-central1")
    assert fixes.ccf_grid_multiregion(iowa) == iowa


def test_ccf_grid_multiregion_shipped(catalog: Catalog) -> None:
    assert ("gcp", "us") not in catalog.grid and ("gcp", "eur4") not in catalog.grid
    assert max(g.g_co2e_per_kwh for g in catalog.grid.values()) < 1000


def test_ccf_grid_region_case_source(shared_data: Path) -> None:
    rows = _rows(shared_data, "carbon/ccf_grid_emission_factors_by_region.csv")
    east = next(r for r in rows if r["provider"] == "azure" and r["region"] == "EastUS")
    assert fixes.ccf_grid_region_case(east)["region"] == "eastus"
    unknown = next(r for r in rows if r["provider"] == "azure" and r["region"] == "Unknown")
    assert fixes.ccf_grid_region_case(unknown)["region"] == ""


def test_ccf_grid_region_case_shipped(catalog: Catalog) -> None:
    assert catalog.grid[("azure", "eastus")].g_co2e_per_kwh == Decimal("379.069")
    assert ("azure", "EastUS") not in catalog.grid
    fallback = catalog.grid_for("azure", "nowhere")
    assert fallback is not None and (fallback.region, fallback.g_co2e_per_kwh) == (
        "",
        Decimal("351.28"),
    )


def test_every_fix_is_documented() -> None:
    text = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    for fix in fixes.FIXES:
        assert f"`{fix.__name__}`" in text, fix.__name__
