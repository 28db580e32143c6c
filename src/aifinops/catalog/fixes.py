"""Fixes for the known errors of the public sources the catalog is built from.

Each fix is a small pure function over one source row (a ``dict`` of the source's own CSV
columns, as ``csv.DictReader`` reads it) or value. ``scripts/build_catalog.py`` applies them
while it writes ``catalog/data``; ``tests/test_catalog_fixes.py`` shows each error on the real
source row and the fixed value in the shipped catalog. "CATALOG.md" is the project's research
report on the sources (``shared/docs/CATALOG.md``); ``docs/catalog.md`` lists every fix.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

Row = dict[str, str]

_PLACES = Decimal(1).scaleb(-18)
#: A spot value within this of the on-demand price is the cap (sources round to 4 places).
_CAP_TOLERANCE = Decimal("0.0001")


def fraction(numerator: int, denominator: int) -> str:
    """Return numerator/denominator as a decimal string with 18 places (1/6 GPU, 1/3 GPU)."""
    return str((Decimal(numerator) / Decimal(denominator)).quantize(_PLACES).normalize())


def azure_nd96isr_h100_v5_count(row: Row) -> Row:
    """Give Standard_ND96isr_H100_v5 its 8 GPUs (SkyPilot Azure v6 says 12).

    CATALOG.md §1.4 item 3: "Standard_ND96isr_H100_v5 has AcceleratorCount 12 (it should be 8)".
    """
    if row.get("InstanceType") == "Standard_ND96isr_H100_v5" and row["AcceleratorCount"] == "12":
        return {**row, "AcceleratorCount": "8"}
    return row


def azure_spot_equal_to_price(row: Row) -> Row:
    """Drop an Azure spot price equal to the on-demand price: no spot discount is offered.

    CATALOG.md §1.4 item 3: "All H100 rows have SpotPrice == Price (the fetcher filled missing
    prices)". A spot "price" at the pay-as-you-go price is no spot offer, so no spot row.
    """
    if row.get("SpotPrice") and row["SpotPrice"] == row.get("Price"):
        return {**row, "SpotPrice": ""}
    return row


#: Azure sizes SkyPilot v6 leaves unnamed: (SkyPilot accelerator name, GPUs per VM).
AZURE_UNNAMED: dict[str, tuple[str, str]] = {
    "Standard_NC8ads_A10_v4": ("A10", fraction(1, 3)),
    "Standard_NC16ads_A10_v4": ("A10", fraction(2, 3)),
    "Standard_NC32ads_A10_v4": ("A10", "1"),
    "Standard_NCC40ads_H100_v5": ("H100", "1"),
    "Standard_ND40s_v3": ("V100-32GB", "8"),
    "Standard_NG8ads_V620_v1": ("V620", fraction(1, 4)),
    "Standard_NG16ads_V620_v1": ("V620", fraction(1, 2)),
    "Standard_NG32ads_V620_v1": ("V620", "1"),
    "Standard_NG32adms_V620_v1": ("V620", "1"),
}


def azure_name_unnamed_accelerators(row: Row) -> Row:
    """Name the accelerator of Azure sizes SkyPilot v6 leaves without one.

    CATALOG.md §1.4 item 3: "NC A10 v4, NCC H100 v5, ND40s_v3 and NG V620 have no
    AcceleratorName in v6". Facts from the Azure size pages: NC A10 v4 = 1/3, 2/3 or 1 A10;
    NCC40ads H100 v5 = 1 H100 NVL; ND40s_v3 = 8 V100 32GB; NG V620 = 1/4, 1/2 or 1 V620.
    """
    fact = AZURE_UNNAMED.get(row.get("InstanceType", ""))
    if fact is None or row.get("AcceleratorName"):
        return row
    name, count = fact
    return {**row, "AcceleratorName": name, "AcceleratorCount": count, "GpuInfo": name}


#: Azure NVv4 sizes share one Radeon Instinct MI25: the fraction each size gets.
MI25_SHARES: dict[str, str] = {
    "Standard_NV4as_v4": fraction(1, 8),
    "Standard_NV8as_v4": fraction(1, 4),
    "Standard_NV16as_v4": fraction(1, 2),
    "Standard_NV32as_v4": "1",
}


def azure_nvv4_partial_mi25(row: Row) -> Row:
    """Give Azure NVv4 sizes their partial MI25 (1/8, 1/4, 1/2, 1), not 1 GPU each.

    Not in CATALOG.md: found while building. SkyPilot v6 counts 1 GPU for every NVv4 size,
    but the sizes are slices of one GPU (Azure NVv4 page), and their prices scale exactly
    with the slice (0.233, 0.466, 0.932, 1.864 $/h in eastus).
    """
    share = MI25_SHARES.get(row.get("InstanceType", ""))
    if share is None or row.get("AcceleratorCount") != "1":
        return row
    return {**row, "AcceleratorCount": share}


def aws_spot_local_zones(values: list[str]) -> list[str]:
    """Drop AWS Local Zone spot values: from the ``lax1-localzone:`` marker to the end.

    Not in CATALOG.md: the SkyPilot AWS subset lists a region's AZ values in AZ-id order,
    Local Zones last, the first of them marked (``0.2386;lax1-localzone:0.0631;0.0723``: two
    Los Angeles zones). A Local Zone is priced apart from its parent region.
    """
    for index, value in enumerate(values):
        if ":" in value:
            return values[:index]
    return values


def aws_spot_at_ondemand_cap(values: list[str], ondemand: str) -> list[str]:
    """Drop AWS spot values at (or above) the on-demand price: capped, no discount.

    CATALOG.md §1.4 item 2: "AWS SpotPrice == Price (e.g. p5 ap-northeast-1, p4d ap-south-1)
    means the spot price sits at the on-demand cap: no discount and little capacity. Empty =
    no spot offered." Values are rounded to 4 places (27.433 for 27.43298), so "equal" is
    within 0.0001. ``NA`` (no spot offered) is dropped too.
    """
    kept = [v for v in values if v and v != "NA"]
    if not ondemand or ondemand == "NA":
        return kept
    cap = Decimal(ondemand) - _CAP_TOLERANCE
    return [v for v in kept if Decimal(v) < cap]


def aws_p5e_no_ondemand(row: Row) -> Row:
    """Leave p5e.48xlarge without an on-demand price (its Price is ``NA``).

    CATALOG.md §1.4 item 2: "p5e.48xlarge has no on-demand price (Capacity Blocks only)".
    The row's spot values stay; only the on-demand price is empty.
    """
    if row.get("Price") == "NA":
        return {**row, "Price": ""}
    return row


#: Per-GPU on-demand prices CATALOG.md calls suspect without the subset flagging them.
GCP_SUSPECT_PER_GPU: frozenset[tuple[str, Decimal]] = frozenset({("B200", Decimal("8.055"))})


def gcp_suspect_low_ondemand(row: Row) -> Row:
    """Drop GCP GPU on-demand prices that are DWS/Flex-start SKUs, not the list price.

    CATALOG.md §1.4 item 1: the fetcher takes the first SKU whose description contains the GPU
    name, so some regions carry Flex/DWS prices (H100 $4.20076/GPU-h in us-central1; A100-80GB
    $1.8462, below its spot price); flagged ``suspect-low-OD`` in the subset. Also dropped: an
    on-demand price at or below spot, and B200 at $8.055/GPU-h ("some regions 8.055
    (suspect)", CATALOG.md §1.6). Spot prices stay.
    """
    price, spot = row.get("Price", ""), row.get("SpotPrice", "")
    if not price:
        return row
    per_gpu = Decimal(price) / Decimal(row.get("AcceleratorCount") or "1")
    suspect = (
        row.get("Note", "").startswith("suspect-low-OD")
        or (bool(spot) and Decimal(spot) >= Decimal(price))
        or (row.get("AcceleratorName", ""), per_gpu) in GCP_SUSPECT_PER_GPU
    )
    return {**row, "Price": ""} if suspect else row


#: SkyPilot's placeholder for an unknown TPU v6e price.
TPU_V6E_SENTINEL = Decimal("700")


def gcp_tpu_v6e_sentinel(row: Row) -> Row | None:
    """Drop the GCP TPU v6e row priced at the 700 $/h sentinel (price unknown).

    CATALOG.md §1.3 ("An unknown v6e price is set to a 700 $/h sentinel") and §1.4 item 4:
    "The GCP TPU v6e price of 700.0 is a sentinel, not a price."
    """
    name = row.get("AcceleratorName", "")
    if name.startswith("tpu-v6e") and Decimal(row.get("Price") or "0") == TPU_V6E_SENTINEL:
        return None
    return row


def mlco2_v100_tdp_swap(row: Row) -> Row:
    """Swap mlco2's V100 TDPs back: SXM2 is 300 W, PCIe 250 W.

    CATALOG.md §3.5: "V100 SXM2 / PCIe 300 / 250 … mlco2 has these swapped" (mlco2 gpus.csv
    lists Tesla V100-SXM2-16GB = 250 and Tesla V100-PCIE-16GB = 300).
    """
    fixed = {"Tesla V100-SXM2-16GB": "300", "Tesla V100-PCIE-16GB": "250"}
    name = row.get("name", "")
    return {**row, "tdp_watts": fixed[name]} if name in fixed else row


def mlco2_a100_pcie_80gb_tdp(row: Row) -> Row:
    """Give the A100 80GB PCIe its 300 W: mlco2 lumps 40/80GB PCIe at 250 W.

    CATALOG.md §3.5: "A100 PCIe 40GB / 80GB 250 / 300 — mlco2 lists 250 for both (flag)".
    Returns the 80GB card's row (the 40GB card keeps 250 W).
    """
    if row.get("name") == "A100 PCIe 40/80GB":
        return {**row, "name": "A100 PCIe 80GB", "tdp_watts": "300", "memory": "80"}
    return row


#: Boards that carry two GPUs, which clouds count (and price) one by one.
DUAL_GPU_BOARDS = frozenset({"K80", "M60"})


def dual_gpu_board_watts(model: str, watts: Decimal) -> Decimal:
    """Return a dual-GPU board's watts per GPU (half), for K80 and M60.

    CATALOG.md §3.5 gives "K80 board, M60 board 300, 300" and CCF counts 306 W max / 35 W min
    per listed GPU; clouds list each GPU of the board (g3.4xlarge = 1 M60 GPU with 8 GiB,
    half a board), so per GPU is half the board's watts.
    """
    return watts / 2 if model in DUAL_GPU_BOARDS else watts


#: CCF's GCP multi-region "factors" (sums over regions, e.g. US = 2805 g/kWh).
GCP_MULTI_REGIONS = frozenset({"ASIA1", "EUR4", "NAM4", "ASIA", "EU", "US"})


def ccf_grid_multiregion(row: Row) -> Row | None:
    """Drop CCF's GCP multi-region grid rows: they are not intensities.

    Not in CATALOG.md: ``ccf_grid_emission_factors_by_region.csv`` has GCP rows ASIA1, EUR4,
    NAM4, ASIA, EU and US at 410–2805 gCO2e/kWh, far above any grid (the sums of their
    regions); no VM runs in a multi-region.
    """
    if row.get("provider") == "gcp" and row.get("region") in GCP_MULTI_REGIONS:
        return None
    return row


def ccf_grid_region_case(row: Row) -> Row:
    """Lower-case CCF's Azure region names (``EastUS``, ``CentralUS``), as billing spells them.

    Not in CATALOG.md: CCF mixes ``EastUS`` with ``westus2``; Azure billing RegionId is lower
    case, and ``Unknown`` becomes the cloud's fallback row (region '').
    """
    region = row.get("region", "")
    return {**row, "region": "" if region == "Unknown" else region.lower()}


#: Every fix, in the order docs/catalog.md lists them.
FIXES: tuple[Callable[..., object], ...] = (
    azure_nd96isr_h100_v5_count,
    azure_spot_equal_to_price,
    azure_name_unnamed_accelerators,
    azure_nvv4_partial_mi25,
    aws_spot_local_zones,
    aws_spot_at_ondemand_cap,
    aws_p5e_no_ondemand,
    gcp_suspect_low_ondemand,
    gcp_tpu_v6e_sentinel,
    mlco2_v100_tdp_swap,
    mlco2_a100_pcie_80gb_tdp,
    dual_gpu_board_watts,
    ccf_grid_multiregion,
    ccf_grid_region_case,
)
