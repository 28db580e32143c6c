"""Azure Cost Management cost-details headers: every known spelling mapped to one canonical set.

Azure's cost-details exports name the same column differently by agreement (EA, MCA,
pay-as-you-go), API version and portal language: ``CostInBillingCurrency`` or ``Cost`` or
``PreTaxCost``; ``SubscriptionGuid``; camelCase (``costInBillingCurrency``); German headers
that keep the English name in parentheses (``Abonnement-GUID (SubscriptionGuid)``); a UTF-8
BOM on the first name. :func:`azure_layout` maps a header onto the canonical names below and
says which agreement layout it is; it also tells an actual-cost export from an amortized one
by its file name, and finds the twin of a file in the other view.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aifinops.ingest.sniff import SourceInfo

#: Canonical column -> every spelling seen, best first (matched case-insensitively).
#: NOTE: order matters where a file has several: MCA files carry ``CostInBillingCurrency``
#: next to ``CostInUsd``; ``Cost`` is the EA (2023) name of the billing-currency cost.
ALIASES: dict[str, tuple[str, ...]] = {
    "BillingAccountId": ("BillingAccountId",),
    "BillingAccountName": ("BillingAccountName",),
    "BillingProfileId": ("BillingProfileId",),
    "BillingProfileName": ("BillingProfileName",),
    "BillingPeriodStartDate": ("BillingPeriodStartDate",),
    "BillingPeriodEndDate": ("BillingPeriodEndDate",),
    "SubscriptionId": ("SubscriptionId", "SubscriptionGuid"),
    "SubscriptionName": ("SubscriptionName",),
    "Date": ("Date", "UsageDateTime", "UsageDate"),
    "ProductName": ("ProductName", "Product"),
    "PartNumber": ("PartNumber",),
    "ProductId": ("ProductId",),
    "MeterId": ("MeterId",),
    "MeterCategory": ("MeterCategory",),
    "MeterSubCategory": ("MeterSubCategory",),
    "MeterName": ("MeterName",),
    "Quantity": ("Quantity", "UsageQuantity"),
    "EffectivePrice": ("EffectivePrice",),
    "Cost": ("CostInBillingCurrency", "Cost", "PreTaxCost"),
    "UnitPrice": ("UnitPrice", "ResourceRate"),
    "PayGPrice": ("PayGPrice",),
    "PaygCost": ("PaygCostInBillingCurrency",),
    "BillingCurrency": ("BillingCurrencyCode", "BillingCurrency", "Currency"),
    "PricingCurrency": ("PricingCurrency", "PricingCurrencyCode"),
    "ResourceLocation": ("ResourceLocation", "Location"),
    "AvailabilityZone": ("AvailabilityZone",),
    "ConsumedService": ("ConsumedService",),
    "ResourceId": ("ResourceId", "InstanceId", "InstanceName"),
    "ResourceName": ("ResourceName",),
    "ResourceGroup": ("ResourceGroup", "ResourceGroupName"),
    "AdditionalInfo": ("AdditionalInfo",),
    "Tags": ("Tags",),
    "UnitOfMeasure": ("UnitOfMeasure",),
    "ProductOrderId": ("ProductOrderId",),
    "ProductOrderName": ("ProductOrderName",),
    "ReservationId": ("ReservationId",),
    "ReservationName": ("ReservationName",),
    "ChargeType": ("ChargeType",),
    "Frequency": ("Frequency",),
    "PricingModel": ("PricingModel",),
    "PublisherName": ("PublisherName",),
    "PartnerName": ("PartnerName",),
    "InvoiceId": ("InvoiceId", "InvoiceNumber"),
    "BenefitId": ("BenefitId",),
    "BenefitName": ("BenefitName",),
}
#: Columns only an MCA (or CSP) export has; an EA header has none of them.
_MCA_MARKERS = frozenset(
    {"pricingcurrency", "exchangeratepricingtobilling", "productid", "costinpricingcurrency"}
)
#: Columns only the legacy pay-as-you-go (consumption usage details) layout has.
_PAYG_MARKERS = frozenset({"pretaxcost", "subscriptionguid", "usagedatetime", "instanceid"})
#: A FOCUS file also has a date and a cost; these tell it apart.
_FOCUS_MARKERS = frozenset({"billedcost", "chargeperiodstart", "effectivecost"})
_LOCALIZED = re.compile(r"\(([A-Za-z0-9]+)\)\s*$")
_LOOKUP = {alias.lower(): canon for canon, names in ALIASES.items() for alias in names}
_RANK = {alias.lower(): i for names in ALIASES.values() for i, alias in enumerate(names)}
_VIEW_WORDS = re.compile(r"(amorti[sz]ed|actual)(cost)?", re.IGNORECASE)


@dataclass(frozen=True)
class AzureLayout:
    """How a cost-details header maps onto the canonical names.

    Attributes:
        mapping: canonical name -> the file's own header.
        agreement: ``ea``, ``mca`` or ``payg`` (legacy pay-as-you-go usage details).
        extras: the file's headers that map to no canonical name (kept in x_SourceExtras).
    """

    mapping: dict[str, str]
    agreement: str
    extras: tuple[str, ...]

    def has(self, *names: str) -> bool:
        """Return True when the file has every canonical column in ``names``."""
        return all(n in self.mapping for n in names)


def plain_name(raw: str) -> str:
    """Return a header without BOM and spaces, and localized names reduced to the English one.

    German exports write ``Abonnement-GUID (SubscriptionGuid)``: the parenthesised part is the
    API name, so that is what counts.
    """
    name = raw.lstrip("\ufeff").strip()
    match = _LOCALIZED.search(name)
    return match.group(1) if match else name


def azure_layout(columns: Sequence[str]) -> AzureLayout | None:
    """Return the canonical mapping of a header, or None when it is not Azure cost details.

    A cost-details header has a charge date, a cost and at least one meter or service column;
    FOCUS headers (BilledCost, ChargePeriodStart) are left to the FOCUS readers.
    """
    plain = [plain_name(c).lower() for c in columns]
    if _FOCUS_MARKERS & set(plain):
        return None
    mapping: dict[str, str] = {}
    ranks: dict[str, int] = {}
    extras: list[str] = []
    for raw, low in zip(columns, plain, strict=True):
        canon = _LOOKUP.get(low)
        if canon is None:
            extras.append(raw)
            continue
        if canon in mapping and ranks[canon] <= _RANK[low]:
            extras.append(raw)
            continue
        if canon in mapping:
            extras.append(mapping[canon])
        mapping[canon], ranks[canon] = raw, _RANK[low]
    if not ("Date" in mapping and "Cost" in mapping):
        return None
    if not {"MeterCategory", "MeterId", "ConsumedService"} & set(mapping):
        return None
    lowered = set(plain)
    if lowered & _MCA_MARKERS:
        agreement = "mca"
    elif lowered & _PAYG_MARKERS and "BillingAccountId" not in mapping:
        agreement = "payg"
    else:
        agreement = "ea"
    return AzureLayout(mapping, agreement, tuple(extras))


def view_of(path: Path) -> str | None:
    """Return ``actual`` or ``amortized`` from an export's file name, None when it does not say.

    Cost Management names exports after their dataset (``ActualCost``, ``AmortizedCost``);
    the name, not the header, is the only place the two views differ.
    """
    for part in (path.name, path.parent.name):
        found = {m.group(1).lower()[:6] for m in _VIEW_WORDS.finditer(part)}
        if found == {"actual"}:
            return "actual"
        if found == {"amorti"}:
            return "amortized"
    return None


def twin_key(path: Path) -> str:
    """Return ``path`` with the view words removed: an actual file and its twin share it."""
    return _VIEW_WORDS.sub("", str(path.resolve())).lower()


def find_twin(info: SourceInfo, run_files: Sequence[SourceInfo]) -> SourceInfo | None:
    """Return the run's file in the other view with the same name once view words are removed."""
    view = view_of(info.path)
    if view is None:
        return None
    key = twin_key(info.path)
    for other in run_files:
        if other.path == info.path or view_of(other.path) in (None, view):
            continue
        if twin_key(other.path) == key and azure_layout(other.columns) is not None:
            return other
    return None
