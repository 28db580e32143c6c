"""Commitments and month-end lines: savings plan, reserved instance, Azure reservation, GCP CUD,
tax, the credit and the refund.

A :class:`Ledger` (one per provider) sees every usage charge in time order. It turns eligible
usage into commitment-covered usage, emits the commitment fees with their unused part, and
at each month end the tax on what each sub-account was billed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from aifinops.demo.charges import (
    ZERO,
    Charge,
    Commitment,
    Labels,
    Sku,
    dec,
    month_bounds,
    quant,
    stable_uuid,
)
from aifinops.demo.company import SUB_ACCOUNTS, TAX_RATES
from aifinops.demo.resources import Resource
from aifinops.demo.skus import (
    AWS_RI_RATE,
    AWS_SKUS,
    AWS_SP_RATES,
    AZURE_RSV_RATE,
    AZURE_SKUS,
    GCP_L4_CUD_RATE,
    GCP_L4_CUD_SKU,
    SAVINGS_PLANS,
)

_PAYER = SUB_ACCOUNTS["aws-mgmt"].id
SAVINGS_PLAN = Commitment(
    f"arn:aws:savingsplans::{_PAYER}:savingsplan/{stable_uuid('sp')}",
    "Compute Savings Plan 1yr No Upfront",
    "Savings Plan",
    "Spend",
    "USD",
)
RESERVED_INSTANCE = Commitment(
    f"arn:aws:ec2:us-east-1:{SUB_ACCOUNTS['aws-prod'].id}:reserved-instances/{stable_uuid('ri')}",
    "m6i.2xlarge 1yr No Upfront",
    "Reserved Instances",
    "Usage",
    "Hours",
)
_ORDER = stable_uuid("rsv-order")
AZURE_RESERVATION = Commitment(
    f"/providers/Microsoft.Capacity/reservationOrders/{_ORDER}/reservations/{stable_uuid('rsv')}",
    "NC24ads_A100_v4_1yr_monthly",
    "Reservation",
    "Usage",
    "Hours",
)
GCP_CUD = Commitment(
    "projects/nimbus-serving-118244/regions/us-central1/commitments/l4-inference-1y",
    "l4-inference-1y",
    "Committed Use Discount",
    "Usage",
    "Hours",
)
PLATFORM = Labels("other", None, "ml-platform", "platform", None, None)
RI_COUNT = 2
RSV_COUNT = 2


def _hours_in_month(moment: datetime) -> int:
    start, end = month_bounds(moment)
    return int((end - start).total_seconds() // 3600)


def _fee(
    provider: str,
    sub: str,
    start: datetime,
    end: datetime,
    kind: str,
    commitment: Commitment,
    quantity: Decimal,
    rate: Decimal,
    sku: Sku | None,
    description: str,
    unused: Decimal = ZERO,
) -> Charge:
    cost = rate * quantity
    return Charge(
        provider=provider,
        sub=sub,
        start=start,
        end=end,
        kind=kind,
        category="Purchase",
        frequency="Recurring",
        description=description,
        billed=cost,
        effective=ZERO,
        list_cost=cost,
        contracted_cost=cost,
        labels=PLATFORM,
        sku=sku,
        resource=commitment.id,
        quantity=quantity,
        list_price=rate,
        contracted_price=rate,
        pricing_category="Standard",
        commitment=commitment,
        unused=unused,
    )


def _cover(charge: Charge, commitment: Commitment, rate: Decimal) -> Charge:
    """Turn the fresh usage ``charge`` into commitment-covered usage (in place)."""
    assert charge.quantity is not None
    charge.kind = _COVER_KIND[commitment.type]
    charge.billed = ZERO
    charge.effective = rate * charge.quantity
    charge.pricing_category = "Committed"
    charge.commitment = commitment
    charge.status = "Used"
    charge.commitment_rate = rate
    return charge


_COVER_KIND = {
    "Savings Plan": "sp-covered",
    "Reserved Instances": "ri-usage",
    "Reservation": "rsv-usage",
    "Committed Use Discount": "cud-usage",
}


class Ledger:
    """Commitment and tax book-keeping of one provider, fed with charges in time order."""

    def __init__(self, provider: str, *, period_hours: int, roster: list[Resource]) -> None:
        self.provider = provider
        self.period_hours = period_hours
        self.sp_commit = quant(dec("0.68") * sum(1 for r in roster if r.pricing == "sp"), 2)
        self.cud_gpus = sum(1 for r in roster if r.pricing == "cud")
        self._sp_used: dict[datetime, Decimal] = defaultdict(lambda: ZERO)
        self._rsv_hours: dict[datetime, Decimal] = defaultdict(lambda: ZERO)
        self._billed: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)

    def open_day(self, day: datetime) -> Iterator[Charge]:
        """Yield the charges booked at the start of ``day`` (monthly commitment fees)."""
        if day.day != 1:
            return
        start, end = month_bounds(day)
        hours = Decimal(_hours_in_month(day))
        if self.provider == "aws":
            yield self._book(
                _fee(
                    "aws",
                    "aws-prod",
                    start,
                    end,
                    "ri-fee",
                    RESERVED_INSTANCE,
                    hours * RI_COUNT,
                    AWS_RI_RATE,
                    AWS_SKUS["m6i.2xlarge"],
                    f"USD {AWS_RI_RATE} hourly fee per Linux/UNIX (Amazon VPC), "
                    "m6i.2xlarge instance",
                )
            )
        if self.provider == "azure":
            # NOTE: EA cost details are daily: the monthly purchase is dated the 1st.
            yield self._book(
                _fee(
                    "azure",
                    "az-training",
                    start,
                    start + timedelta(days=1),
                    "rsv-purchase",
                    AZURE_RESERVATION,
                    hours * RSV_COUNT,
                    AZURE_RSV_RATE,
                    AZURE_SKUS["Standard_NC24ads_A100_v4"],
                    "Reserved VM Instance, Standard_NC24ads_A100_v4, US East, 1 Year",
                )
            )

    def apply(self, charge: Charge, res: Resource) -> Charge:
        """Return ``charge`` as the commitment-covered line it becomes, and book it."""
        q = charge.quantity
        sku = charge.sku
        if res.pricing == "sp" and sku is not None and q is not None:
            rate = AWS_SP_RATES[sku.key]
            if self._sp_used[charge.start] + rate * q <= self.sp_commit * self.period_hours:
                self._sp_used[charge.start] += rate * q
                charge = _cover(charge, SAVINGS_PLAN, rate)
        elif res.pricing == "ri":
            charge = _cover(charge, RESERVED_INSTANCE, AWS_RI_RATE)
        elif res.pricing == "rsv" and q is not None:
            self._rsv_hours[charge.start] += q
            charge = _cover(charge, AZURE_RESERVATION, AZURE_RSV_RATE)
        elif res.pricing == "cud" and sku is not None and sku.key == "l4":
            charge = _cover(charge, GCP_CUD, GCP_L4_CUD_RATE)
        return self._book(charge)

    def close_day(self, day: datetime) -> Iterator[Charge]:
        """Yield the commitment lines of ``day`` that depend on its usage."""
        step = timedelta(hours=self.period_hours)
        periods = [day + step * i for i in range(24 // self.period_hours)]
        if self.provider == "aws":
            for p in periods:
                yield self._book(self._sp_fee(p, p + step))
                self._sp_used.pop(p, None)
        elif self.provider == "gcp":
            hours = Decimal(self.period_hours * self.cud_gpus)
            for p in periods:
                yield self._book(
                    _fee(
                        "gcp",
                        "gcp-serving",
                        p,
                        p + step,
                        "cud-fee",
                        GCP_CUD,
                        hours,
                        GCP_L4_CUD_RATE,
                        GCP_L4_CUD_SKU,
                        GCP_L4_CUD_SKU.description,
                    )
                )
        elif self.provider == "azure":
            yield from self._rsv_unused(day)

    def _sp_fee(self, start: datetime, end: datetime) -> Charge:
        hours = Decimal(self.period_hours)
        unused = self.sp_commit * hours - self._sp_used.get(start, ZERO)
        return _fee(
            "aws",
            "aws-mgmt",
            start,
            end,
            "sp-fee",
            SAVINGS_PLAN,
            hours,
            self.sp_commit,
            None,
            f"{self.sp_commit} USD hourly commitment for Compute Savings Plan",
            unused=unused,
        )

    def _rsv_unused(self, day: datetime) -> Iterator[Charge]:
        used = self._rsv_hours.pop(day, ZERO)
        unused_hours = Decimal(24 * RSV_COUNT) - used
        if unused_hours <= 0:
            return
        cost = AZURE_RSV_RATE * unused_hours
        yield Charge(
            provider="azure",
            sub="az-training",
            start=day,
            end=day + timedelta(days=1),
            kind="rsv-unused",
            category="Usage",
            frequency="Usage-Based",
            description="Unused reservation: Standard_NC24ads_A100_v4",
            billed=ZERO,
            effective=cost,
            list_cost=ZERO,
            contracted_cost=ZERO,
            labels=PLATFORM,
            sku=AZURE_SKUS["Standard_NC24ads_A100_v4"],
            resource=AZURE_RESERVATION.id,
            quantity=unused_hours,
            list_price=ZERO,
            contracted_price=ZERO,
            pricing_category="Committed",
            commitment=AZURE_RESERVATION,
            status="Unused",
            commitment_rate=AZURE_RSV_RATE,
            unused=cost,
        )

    def month_end(self, day: datetime) -> Iterator[Charge]:
        """Yield the one-off lines and the tax booked on the last day of a month."""
        start, end = month_bounds(day)
        if day + timedelta(days=1) != end:
            return
        yield from (self._book(c) for c in one_offs(self.provider, start, end))
        rate = TAX_RATES.get(self.provider)
        if rate is None:
            return
        month = f"{start.year:04d}-{start.month:02d}"
        for (sub, m), billed in sorted(self._billed.items()):
            if m == month and billed > 0:
                tax = quant(billed * dec(rate), 2)
                yield _tax(self.provider, sub, start, end, tax)

    def _book(self, charge: Charge) -> Charge:
        self._billed[(charge.sub, charge.month)] += charge.billed
        return charge


def _tax(provider: str, sub: str, start: datetime, end: datetime, tax: Decimal) -> Charge:
    return Charge(
        provider=provider,
        sub=sub,
        start=start,
        end=end,
        kind="tax",
        category="Tax",
        frequency="Recurring",
        description="Sales tax",
        billed=tax,
        effective=tax,
        list_cost=tax,
        contracted_cost=tax,
        labels=Labels("other", None, None, None, None, None),
    )


def one_offs(provider: str, start: datetime, end: datetime) -> list[Charge]:
    """Return the credit and the refund of ``provider`` booked in the month [start, end)."""
    if provider != "aws":
        return []
    none = Labels("other", None, None, None, None, None)
    out: list[Charge] = []
    if start.month == 9:
        amount = dec("-10000.00")
        out.append(
            Charge(
                provider="aws",
                sub="aws-research",
                start=start,
                end=end,
                kind="credit",
                category="Credit",
                frequency="One-Time",
                description="AWS Activate Credits - Portfolio Plus",
                billed=amount,
                effective=amount,
                list_cost=ZERO,
                contracted_cost=ZERO,
                labels=none,
            )
        )
    if start.month == 10:
        amount = dec("-412.50")
        labels = Labels("storage", "data-preparation", "data-eng", "lakehouse", None, None)
        out.append(
            Charge(
                provider="aws",
                sub="aws-prod",
                start=start,
                end=end,
                kind="refund",
                category="Usage",
                frequency="One-Time",
                description="Refund: duplicate S3 storage charges billed in 2026-08",
                billed=amount,
                effective=amount,
                list_cost=amount,
                contracted_cost=amount,
                labels=labels,
                sku=AWS_SKUS["s3/standard"],
                resource="nimbus-datasets",
                charge_class="Correction",
            )
        )
    return out


#: Services that hold commitment fee lines without a SKU (used by the writers).
COMMITMENT_SERVICES = {"sp-fee": SAVINGS_PLANS}
