"""The pinned FOCUS contract: FOCUS 1.2 columns, types, nullability and allowed values.

Everything that knows what a FOCUS column is reads it from here. Written from the FOCUS 1.2
specification (``specification/columns/*.md`` at tag v1.2) and its Requirements Model.
The eight FOCUS 1.3 columns are carried as nullable extras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa

FOCUS_VERSION = "1.2"

#: Money and quantities are stored as this decimal: 38 digits, 18 after the point.
DECIMAL_PRECISION = 38
DECIMAL_SCALE = 18
DECIMAL_TYPE = pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")


class DataType(StrEnum):
    """FOCUS data types as the spec names them."""

    STRING = "String"
    DECIMAL = "Decimal"
    DATETIME = "Date/Time"
    JSON = "JSON"


class Level(StrEnum):
    """FOCUS feature levels."""

    MANDATORY = "Mandatory"
    CONDITIONAL = "Conditional"
    RECOMMENDED = "Recommended"
    EXTRA = "Extra (FOCUS 1.3)"


@dataclass(frozen=True)
class Column:
    """One FOCUS column: name, data type, feature level, nullability and allowed values."""

    name: str
    data_type: DataType
    level: Level
    nullable: bool
    since: str
    allowed: frozenset[str] = field(default_factory=frozenset)

    @property
    def arrow_type(self) -> pa.DataType:
        """Return the Arrow type this column is stored as."""
        return ARROW_TYPES[self.data_type]


ARROW_TYPES: dict[DataType, pa.DataType] = {
    DataType.STRING: pa.string(),
    DataType.JSON: pa.string(),
    DataType.DECIMAL: DECIMAL_TYPE,
    DataType.DATETIME: TIMESTAMP_TYPE,
}

CHARGE_CATEGORIES = frozenset({"Usage", "Purchase", "Tax", "Credit", "Adjustment"})
CHARGE_CLASSES = frozenset({"Correction"})
CHARGE_FREQUENCIES = frozenset({"One-Time", "Recurring", "Usage-Based"})
PRICING_CATEGORIES = frozenset({"Standard", "Dynamic", "Committed", "Other"})
COMMITMENT_CATEGORIES = frozenset({"Spend", "Usage"})
USED_UNUSED = frozenset({"Used", "Unused"})

#: ServiceSubcategory -> its one ServiceCategory (FOCUS 1.2).
SERVICE_SUBCATEGORIES: dict[str, str] = {}
_SUBCATEGORIES_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "AI and Machine Learning": (
        "AI Platforms",
        "Bots",
        "Generative AI",
        "Machine Learning",
        "Natural Language Processing",
    ),
    "Analytics": (
        "Analytics Platforms",
        "Business Intelligence",
        "Data Processing",
        "Search",
        "Streaming Analytics",
    ),
    "Business Applications": ("Productivity and Collaboration",),
    "Compute": (
        "Containers",
        "End User Computing",
        "Quantum Compute",
        "Serverless Compute",
        "Virtual Machines",
    ),
    "Databases": (
        "Caching",
        "Data Warehouses",
        "Ledger Databases",
        "NoSQL Databases",
        "Relational Databases",
        "Time Series Databases",
    ),
    "Developer Tools": (
        "Developer Platforms",
        "Continuous Integration and Deployment",
        "Development Environments",
        "Source Code Management",
        "Quality Assurance",
    ),
    "Identity": ("Identity and Access Management",),
    "Integration": ("API Management", "Messaging", "Workflow Orchestration"),
    "Internet of Things": ("IoT Analytics", "IoT Platforms"),
    "Management and Governance": (
        "Architecture",
        "Compliance",
        "Cost Management",
        "Data Governance",
        "Disaster Recovery",
        "Endpoint Management",
        "Observability",
        "Support",
    ),
    "Media": ("Content Creation", "Gaming", "Media Streaming", "Mixed Reality"),
    "Migration": ("Data Migration", "Resource Migration"),
    "Mobile": (),
    "Multicloud": ("Multicloud Integration",),
    "Networking": (
        "Application Networking",
        "Content Delivery",
        "Network Connectivity",
        "Network Infrastructure",
        "Network Routing",
        "Network Security",
    ),
    "Security": (
        "Secret Management",
        "Security Posture Management",
        "Threat Detection and Response",
    ),
    "Storage": (
        "Backup Storage",
        "Block Storage",
        "File Storage",
        "Object Storage",
        "Storage Platforms",
    ),
    "Web": ("Application Platforms",),
    "Other": (),
}
for _category, _subs in _SUBCATEGORIES_BY_CATEGORY.items():
    for _sub in (*_subs, f"Other ({_category})"):
        SERVICE_SUBCATEGORIES[_sub] = _category
SERVICE_CATEGORIES = frozenset(_SUBCATEGORIES_BY_CATEGORY)

_S, _D, _T, _J = DataType.STRING, DataType.DECIMAL, DataType.DATETIME, DataType.JSON
_M, _C, _R, _X = Level.MANDATORY, Level.CONDITIONAL, Level.RECOMMENDED, Level.EXTRA


def _c(
    name: str,
    dt: DataType,
    level: Level,
    nullable: bool,
    since: str,
    allowed: frozenset[str] = frozenset(),
) -> Column:
    return Column(name, dt, level, nullable, since, allowed)


#: The 57 FOCUS 1.2 columns, in the spec's (alphabetical) order.
FOCUS_COLUMNS: tuple[Column, ...] = (
    _c("AvailabilityZone", _S, _R, True, "0.5"),
    _c("BilledCost", _D, _M, False, "0.5"),
    _c("BillingAccountId", _S, _M, False, "0.5"),
    _c("BillingAccountName", _S, _M, True, "0.5"),
    _c("BillingAccountType", _S, _C, False, "1.2"),
    _c("BillingCurrency", _S, _M, False, "0.5"),
    _c("BillingPeriodEnd", _T, _M, False, "0.5"),
    _c("BillingPeriodStart", _T, _M, False, "0.5"),
    _c("CapacityReservationId", _S, _C, True, "1.1"),
    _c("CapacityReservationStatus", _S, _C, True, "1.1", USED_UNUSED),
    _c("ChargeCategory", _S, _M, False, "0.5", CHARGE_CATEGORIES),
    _c("ChargeClass", _S, _M, True, "1.0", CHARGE_CLASSES),
    _c("ChargeDescription", _S, _M, True, "1.0-preview"),
    _c("ChargeFrequency", _S, _R, False, "1.0-preview", CHARGE_FREQUENCIES),
    _c("ChargePeriodEnd", _T, _M, False, "0.5"),
    _c("ChargePeriodStart", _T, _M, False, "0.5"),
    _c("CommitmentDiscountCategory", _S, _C, True, "1.0-preview", COMMITMENT_CATEGORIES),
    _c("CommitmentDiscountId", _S, _C, True, "1.0-preview"),
    _c("CommitmentDiscountName", _S, _C, True, "1.0-preview"),
    _c("CommitmentDiscountQuantity", _D, _C, True, "1.1"),
    _c("CommitmentDiscountStatus", _S, _C, True, "1.0", USED_UNUSED),
    _c("CommitmentDiscountType", _S, _C, True, "1.0-preview"),
    _c("CommitmentDiscountUnit", _S, _C, True, "1.1"),
    _c("ConsumedQuantity", _D, _C, True, "1.0"),
    _c("ConsumedUnit", _S, _C, True, "1.0"),
    _c("ContractedCost", _D, _M, False, "1.0"),
    _c("ContractedUnitPrice", _D, _C, True, "1.0"),
    _c("EffectiveCost", _D, _M, False, "0.5"),
    _c("InvoiceId", _S, _R, True, "1.2"),
    _c("InvoiceIssuerName", _S, _M, False, "0.5"),
    _c("ListCost", _D, _M, False, "1.0-preview"),
    _c("ListUnitPrice", _D, _C, True, "1.0-preview"),
    _c("PricingCategory", _S, _C, True, "1.0-preview", PRICING_CATEGORIES),
    _c("PricingCurrency", _S, _C, True, "1.2"),
    _c("PricingCurrencyContractedUnitPrice", _D, _C, True, "1.2"),
    _c("PricingCurrencyEffectiveCost", _D, _C, True, "1.2"),
    _c("PricingCurrencyListUnitPrice", _D, _C, True, "1.2"),
    _c("PricingQuantity", _D, _M, True, "1.0-preview"),
    _c("PricingUnit", _S, _M, True, "1.0-preview"),
    _c("ProviderName", _S, _M, False, "0.5"),
    _c("PublisherName", _S, _M, False, "0.5"),
    _c("RegionId", _S, _C, True, "1.0"),
    _c("RegionName", _S, _C, True, "1.0"),
    _c("ResourceId", _S, _C, True, "0.5"),
    _c("ResourceName", _S, _C, True, "0.5"),
    _c("ResourceType", _S, _C, True, "1.0-preview"),
    _c("ServiceCategory", _S, _M, False, "0.5", SERVICE_CATEGORIES),
    _c("ServiceName", _S, _M, False, "0.5"),
    _c("ServiceSubcategory", _S, _R, False, "1.1", frozenset(SERVICE_SUBCATEGORIES)),
    _c("SkuId", _S, _C, True, "1.0-preview"),
    _c("SkuMeter", _S, _C, True, "1.1"),
    _c("SkuPriceDetails", _J, _C, True, "1.1"),
    _c("SkuPriceId", _S, _C, True, "1.0-preview"),
    _c("SubAccountId", _S, _C, True, "0.5"),
    _c("SubAccountName", _S, _C, True, "0.5"),
    _c("SubAccountType", _S, _C, True, "1.2"),
    _c("Tags", _J, _C, True, "1.0-preview"),
)

#: The eight FOCUS 1.3 columns, carried as nullable extras after the 1.2 columns.
FOCUS_13_EXTRAS: tuple[Column, ...] = (
    _c("AllocatedMethodDetails", _J, _X, True, "1.3"),
    _c("AllocatedMethodId", _S, _X, True, "1.3"),
    _c("AllocatedResourceId", _S, _X, True, "1.3"),
    _c("AllocatedResourceName", _S, _X, True, "1.3"),
    _c("AllocatedTags", _J, _X, True, "1.3"),
    _c("ContractApplied", _J, _X, True, "1.3"),
    _c("HostProviderName", _S, _X, True, "1.3"),
    _c("ServiceProviderName", _S, _X, True, "1.3"),
)

COLUMNS_BY_NAME: dict[str, Column] = {c.name: c for c in (*FOCUS_COLUMNS, *FOCUS_13_EXTRAS)}
FOCUS_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in FOCUS_COLUMNS)
MANDATORY_COLUMNS: tuple[str, ...] = tuple(c.name for c in FOCUS_COLUMNS if c.level is _M)
DECIMAL_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in COLUMNS_BY_NAME.values() if c.data_type is DataType.DECIMAL
)
DATETIME_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in COLUMNS_BY_NAME.values() if c.data_type is DataType.DATETIME
)

#: Column renames from older FOCUS versions to 1.2 (old name -> new name).
RENAMES: dict[str, str] = {
    "AmortizedCost": "EffectiveCost",
    "ChargeType": "ChargeCategory",
    "Region": "RegionId",
    "UsageQuantity": "ConsumedQuantity",
    "UsageUnit": "ConsumedUnit",
    "Provider": "ProviderName",
    "Publisher": "PublisherName",
    "InvoiceIssuer": "InvoiceIssuerName",
}

#: Value spellings seen in real files, mapped to the spec's spelling, per column.
VALUE_SPELLINGS: dict[str, dict[str, str]] = {
    "ChargeFrequency": {
        "usage-based": "Usage-Based",
        "one-time": "One-Time",
        "recurring": "Recurring",
    },
    "ChargeCategory": {v.lower(): v for v in CHARGE_CATEGORIES},
    "ChargeClass": {"correction": "Correction"},
    "PricingCategory": {
        "standard": "Standard",
        "dynamic": "Dynamic",
        "committed": "Committed",
        "other": "Other",
        "on-demand": "Standard",
        "ondemand": "Standard",
        "spot": "Dynamic",
    },
    "CommitmentDiscountStatus": {"used": "Used", "unused": "Unused"},
    "CommitmentDiscountCategory": {"spend": "Spend", "usage": "Usage"},
    "CapacityReservationStatus": {"used": "Used", "unused": "Unused"},
}


def column(name: str) -> Column:
    """Return the FOCUS column called ``name`` (1.2 or a 1.3 extra).

    Raises:
        KeyError: when ``name`` is not a FOCUS column.
    """
    return COLUMNS_BY_NAME[name]


def focus_schema(*, with_extras: bool = True) -> pa.Schema:
    """Return the Arrow schema of FOCUS 1.2 columns (and the 1.3 extras when asked)."""
    cols = (*FOCUS_COLUMNS, *FOCUS_13_EXTRAS) if with_extras else FOCUS_COLUMNS
    return pa.schema([pa.field(c.name, c.arrow_type, nullable=True) for c in cols])
