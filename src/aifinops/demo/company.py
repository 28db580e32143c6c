"""Nimbus Labs: the fictional AI company, its cloud accounts and the demo's three months.

Everything about *who* pays is here: billing accounts, sub-accounts, teams and projects.
What they run is in :mod:`aifinops.demo.resources`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aifinops.demo.charges import stable_uuid, utc

COMPANY = "Nimbus Labs"
#: First hour of the demo and the exclusive end (three billing months).
DEMO_START = utc(2026, 8, 1)
DEMO_END = utc(2026, 11, 1)
MONTHS = ("2026-08", "2026-09", "2026-10")
PROVIDERS = ("aws", "azure", "gcp")

#: FOCUS ProviderName / PublisherName / InvoiceIssuerName per provider.
PROVIDER_NAMES = {"aws": "AWS", "azure": "Microsoft", "gcp": "Google Cloud"}
#: NOTE: the FOCUS validator treats an issuer that differs from ProviderName as a third party
#: (BilledCost must then be 0), so the AWS issuer is "AWS", not the legal entity.
ISSUERS = {"aws": "AWS", "azure": "Microsoft", "gcp": "Google Cloud"}
AWS_LEGAL_ENTITY = "Amazon Web Services, Inc."
PUBLISHERS = {"aws": "Amazon Web Services, Inc.", "azure": "Microsoft", "gcp": "Google Cloud"}
BILLING_ACCOUNT_TYPES = {
    "aws": "Management Account",
    "azure": "Billing Account",
    "gcp": "Billing Account",
}
SUB_ACCOUNT_TYPES = {"aws": "Linked Account", "azure": "Subscription", "gcp": "Project"}


@dataclass(frozen=True)
class SubAccount:
    """An AWS account, Azure subscription or GCP project, with its billing account."""

    key: str
    provider: str
    billing_id: str
    billing_name: str
    id: str
    name: str
    region: str
    region_name: str


AWS_PAYER = "480912345671"
AZURE_ENROLLMENT = "74839201"
GCP_BILLING = "01A2B3-C4D5E6-F7A8B9"

SUB_ACCOUNTS: dict[str, SubAccount] = {
    s.key: s
    for s in (
        SubAccount(
            "aws-mgmt",
            "aws",
            AWS_PAYER,
            "Nimbus Labs",
            AWS_PAYER,
            "nimbus-management",
            "us-east-1",
            "US East (N. Virginia)",
        ),
        SubAccount(
            "aws-research",
            "aws",
            AWS_PAYER,
            "Nimbus Labs",
            "271650389412",
            "nimbus-research",
            "us-east-1",
            "US East (N. Virginia)",
        ),
        SubAccount(
            "aws-prod",
            "aws",
            AWS_PAYER,
            "Nimbus Labs",
            "619384057261",
            "nimbus-prod",
            "us-east-1",
            "US East (N. Virginia)",
        ),
        SubAccount(
            "az-training",
            "azure",
            AZURE_ENROLLMENT,
            "Nimbus Labs EA",
            stable_uuid("az-sub", "training"),
            "nimbus-ml-training",
            "eastus",
            "East US",
        ),
        SubAccount(
            "az-serving",
            "azure",
            AZURE_ENROLLMENT,
            "Nimbus Labs EA",
            stable_uuid("az-sub", "serving"),
            "nimbus-ml-serving",
            "eastus",
            "East US",
        ),
        SubAccount(
            "gcp-research",
            "gcp",
            GCP_BILLING,
            "Nimbus Labs",
            "nimbus-research-291507",
            "Nimbus Research",
            "us-central1",
            "Iowa",
        ),
        SubAccount(
            "gcp-serving",
            "gcp",
            GCP_BILLING,
            "Nimbus Labs",
            "nimbus-serving-118244",
            "Nimbus Serving",
            "us-central1",
            "Iowa",
        ),
        SubAccount(
            "gcp-data",
            "gcp",
            GCP_BILLING,
            "Nimbus Labs",
            "nimbus-data-772019",
            "Nimbus Data",
            "us-central1",
            "Iowa",
        ),
    )
}

#: GCP project numbers (the export's ``project.number``).
GCP_PROJECT_NUMBERS = {
    "gcp-research": "291507448812",
    "gcp-serving": "118244907345",
    "gcp-data": "772019663021",
}
#: Azure resource groups per subscription.
AZURE_RESOURCE_GROUPS = {"az-training": "rg-ml-training", "az-serving": "rg-ml-serving"}

#: Monthly sales tax rate applied to AWS and GCP sub-account bills (Nimbus is in a taxed state).
TAX_RATES = {"aws": "0.0625", "gcp": "0.0625"}


def subs_of(provider: str) -> list[SubAccount]:
    """Return the sub-accounts of ``provider`` in a fixed order."""
    return [s for s in SUB_ACCOUNTS.values() if s.provider == provider]


def billing_accounts(provider: str) -> list[str]:
    """Return the billing account ids of ``provider``."""
    return sorted({s.billing_id for s in subs_of(provider)})


def days() -> list[datetime]:
    """Return the first hour (UTC) of every day of the demo."""
    count = (DEMO_END - DEMO_START).days
    return [DEMO_START + timedelta(days=i) for i in range(count)]


def invoice_id(provider: str, billing_id: str, month: str) -> str:
    """Return the (fictional) invoice id of one billing account and month."""
    digits = month.replace("-", "")
    if provider == "aws":
        return f"{digits}{billing_id[-6:]}"
    if provider == "azure":
        return f"G{int(billing_id) % 1000:03d}{digits[2:]}1"
    return f"5{digits[2:]}{abs(hash_int(billing_id)) % 100000:05d}"


def hash_int(text: str) -> int:
    """Return a small deterministic integer of ``text`` (Python's hash() is salted)."""
    return int(stable_uuid("int", text).replace("-", "")[:8], 16)


def hours_per_period(scale: float) -> int:
    """Return how many hours one usage line covers at ``scale`` (coarser when small)."""
    if scale >= 0.5:
        return 1
    if scale >= 0.15:
        return 4
    return 24


def fleet_factor(scale: float) -> float:
    """Return the fleet multiplier of ``scale``: ``scale`` up to 1, then ``2 * scale - 1``.

    About half the rows at scale 1 come from resources that do not scale (training clusters,
    commitments), so the fleet grows twice as fast above 1: truth rows stay close to
    52,000 x scale.
    """
    return scale if scale <= 1 else 2 * scale - 1


def fleet(base: int, scale: float) -> int:
    """Return how many copies of a fleet resource exist at ``scale`` (at least one)."""
    return max(1, round(base * fleet_factor(scale)))
