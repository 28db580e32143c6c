"""The provider-neutral charge: one line of the demo bill before it is written anywhere.

Every writer (the FOCUS truth, its labels and the three native exports) is a pure function of
a :class:`Charge`, so the truth and the native files describe exactly the same money.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)


def dec(value: str | int) -> Decimal:
    """Return ``value`` as a Decimal (strings keep their exact digits)."""
    return Decimal(value)


def quant(value: Decimal, places: int) -> Decimal:
    """Round ``value`` half-even to ``places`` decimals and drop trailing zeros."""
    rounded = value.quantize(Decimal(1).scaleb(-places))
    return rounded.normalize() if rounded != 0 else ZERO


def stable_hex(*parts: object, length: int = 16) -> str:
    """Return a deterministic hex digest of ``parts`` (same input, same id, every run)."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def stable_upper(*parts: object, length: int = 16) -> str:
    """Return a deterministic upper-case base-32-ish id, AWS SKU style."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def stable_uuid(*parts: object) -> str:
    """Return a deterministic UUID-shaped string."""
    h = stable_hex(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """Return the UTC start and exclusive end of the month holding ``moment``."""
    start = utc(moment.year, moment.month, 1)
    nxt = start + timedelta(days=32)
    return start, utc(nxt.year, nxt.month, 1)


def month_key(moment: datetime) -> str:
    """Return ``YYYY-MM`` of ``moment``."""
    return f"{moment.year:04d}-{moment.month:02d}"


@dataclass(frozen=True)
class Service:
    """A billed service: FOCUS name and category plus the provider's own service code."""

    name: str
    category: str
    subcategory: str
    code: str


@dataclass(frozen=True)
class Sku:
    """One priced SKU: what a unit costs, in which unit, and what hardware it buys."""

    key: str
    service: Service
    description: str
    pricing_unit: str
    price: Decimal
    gpu_model: str | None = None
    gpus_per_unit: Decimal = ZERO
    instance_type: str | None = None
    vcpus: int | None = None
    memory_gib: int | None = None
    spot: bool = False
    native: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Commitment:
    """A commitment discount: savings plan, reservation or committed-use discount."""

    id: str
    name: str
    type: str
    category: str
    unit: str


@dataclass(frozen=True)
class Labels:
    """The truth labels of a charge: what it was really for."""

    workload: str
    lifecycle: str | None
    team: str | None
    project: str | None
    model: str | None
    experiment: str | None


@dataclass(slots=True)
class Charge:
    """One line of the bill in provider-neutral form.

    ``kind`` names the native line it becomes (``usage``, ``sp-covered``, ``sp-fee``, ``ri-usage``,
    ``ri-fee``, ``rsv-purchase``, ``rsv-usage``, ``rsv-unused``, ``cud-usage``, ``cud-fee``,
    ``tax``, ``credit``, ``refund``).
    """

    provider: str
    sub: str
    start: datetime
    end: datetime
    kind: str
    category: str
    frequency: str
    description: str
    billed: Decimal
    effective: Decimal
    list_cost: Decimal
    contracted_cost: Decimal
    labels: Labels
    sku: Sku | None = None
    resource: str | None = None
    quantity: Decimal | None = None
    list_price: Decimal | None = None
    contracted_price: Decimal | None = None
    pricing_category: str | None = None
    commitment: Commitment | None = None
    status: str | None = None
    commitment_rate: Decimal | None = None
    charge_class: str | None = None
    unused: Decimal = ZERO
    gpu_count: Decimal | None = None
    story: str | None = None
    zone: str | None = None
    resource_name: str | None = None
    resource_type: str | None = None
    tags: dict[str, str] | None = None

    @property
    def month(self) -> str:
        """Return the billing period ``YYYY-MM`` of the charge."""
        return month_key(self.start)


def priced(
    *,
    provider: str,
    sub: str,
    start: datetime,
    end: datetime,
    sku: Sku,
    quantity: Decimal,
    labels: Labels,
    resource: str | None,
    kind: str = "usage",
) -> Charge:
    """Return an on-demand (or spot) usage charge: quantity times the SKU price."""
    cost = sku.price * quantity
    return Charge(
        provider=provider,
        sub=sub,
        start=start,
        end=end,
        kind=kind,
        category="Usage",
        frequency="Usage-Based",
        description=sku.description,
        billed=cost,
        effective=cost,
        list_cost=cost,
        contracted_cost=cost,
        labels=labels,
        sku=sku,
        resource=resource,
        quantity=quantity,
        list_price=sku.price,
        contracted_price=sku.price,
        pricing_category="Dynamic" if sku.spot else "Standard",
    )
