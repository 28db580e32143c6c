"""How provider spellings of clouds, instance types and accelerators become catalog keys.

Billing data names an instance in many ways: AWS usage types (``USE1-BoxUsage:g5.xlarge``,
``SpotUsage:p4d.24xlarge``, SageMaker's ``USE1-Hosting:ml.g5.2xlarge``) and line-item
descriptions, Azure ARM sizes (``Standard_NC24ads_A100_v4``) and meter names (``NC24ads A100
v4 Spot``), GCP machine types and TPU accelerator types (``tpu-v5litepod-8``). The functions
here turn each into the lower-case keys the catalog's tables use. ``INSTANCE_TYPE_RE2`` holds
the same AWS extraction as an RE2 pattern, for engines that join in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: FOCUS ProviderName (and a few other spellings) to our cloud key.
CLOUD_OF_PROVIDER: dict[str, str] = {
    "AWS": "aws",
    "Amazon Web Services": "aws",
    "Microsoft": "azure",
    "Microsoft Azure": "azure",
    "Azure": "azure",
    "Google Cloud": "gcp",
    "GCP": "gcp",
    "Google Cloud Platform": "gcp",
}
_CLOUD_KEYS = {name.lower(): key for name, key in CLOUD_OF_PROVIDER.items()} | {
    key: key for key in ("aws", "azure", "gcp")
}

_AWS_SIZES = r"(?:[0-9]*xlarge|large|medium|small|micro|nano|metal(?:-[0-9]+xl)?)"
#: RE2-compatible: the first AWS instance type (SageMaker ``ml.`` included) in lower-case text.
INSTANCE_TYPE_RE2: dict[str, str] = {
    "aws": rf"((?:ml\.)?[a-z][a-z0-9-]*\.{_AWS_SIZES})\b",
}
_AWS_TYPE = re.compile(INSTANCE_TYPE_RE2["aws"])

#: Keys a provider's other spelling yields that differ from the type's own key, per cloud:
#: Azure meter names beyond spaces and the Standard_ prefix ("ND96asr A100 v4").
INSTANCE_KEY_ALIASES: dict[str, dict[str, str]] = {
    "azure": {"standard_nd96asr_a100_v4": "standard_nd96asr_v4"},
}
_AZURE_METER_ALIASES = INSTANCE_KEY_ALIASES["azure"]
_AZURE_SUFFIXES = (" spot", " low priority")
_TPU_ALIASES = (("v5e-", "v5litepod-"), ("v5lite-", "v5litepod-"))


def cloud_key(cloud: str) -> str | None:
    """Return ``aws``, ``azure`` or ``gcp`` for a cloud key or FOCUS ProviderName, else None."""
    return _CLOUD_KEYS.get(cloud.strip().lower())


def alias_key(name: str) -> str:
    """Return the comparison key of an accelerator name: lower case, spaces and _ as -."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def price_key(instance_type: str) -> str:
    """Return the key of a price row's instance type (lower case)."""
    return instance_type.strip().lower()


def instance_candidates(cloud: str, name: str) -> Iterator[str]:
    """Yield the keys a provider's instance name may have in the catalog, best first."""
    text = name.strip().lower()
    if cloud == "aws":
        yield from _aws_candidates(text)
    elif cloud == "azure":
        yield from _azure_candidates(text)
    elif cloud == "gcp":
        yield from _gcp_candidates(text)


def _aws_candidates(text: str) -> Iterator[str]:
    yield text
    for match in _AWS_TYPE.finditer(text):
        yield match.group(1)


def _azure_candidates(text: str) -> Iterator[str]:
    yield text
    for suffix in _AZURE_SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)].rstrip()
    size = re.sub(r"[\s]+", "_", text)
    if not size.startswith("standard_"):
        size = "standard_" + size
    yield size
    if size in _AZURE_METER_ALIASES:
        yield _AZURE_METER_ALIASES[size]


def _gcp_candidates(text: str) -> Iterator[str]:
    text = text.rsplit("/", 1)[-1]
    yield text
    bare = text.removeprefix("tpu-")
    yield bare
    for old, new in _TPU_ALIASES:
        if bare.startswith(old):
            yield new + bare[len(old) :]
