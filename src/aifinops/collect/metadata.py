"""Ask the cloud's instance metadata service which resource this machine is, as billed.

Only when asked (``aifinops collect gpu --cloud-metadata``): by default the collector makes
no network call. Each cloud's answer is shaped like the ResourceId its bill carries, so
telemetry joins the cost rows of the same machine:

==========  =================================================================  ==============
cloud       metadata endpoint                                                  ResourceId
==========  =================================================================  ==============
AWS         IMDSv2 ``/latest/meta-data/instance-id`` (token first)             ``i-0abc…``
Azure       IMDS ``/metadata/instance/compute/resourceId``                     ARM id
Google      ``computeMetadata/v1/instance/{id,zone}``, ``project/project-id``  ``//compute…``
==========  =================================================================  ==============
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from aifinops.errors import AifinopsError

log = logging.getLogger(__name__)

#: Link-local address of the AWS and Azure services; Google answers there too.
METADATA_URL = "http://169.254.169.254"


def _aws(client: httpx.Client) -> str | None:
    token = client.put("/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    if token.status_code != 200:
        return None
    found = client.get(
        "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token.text}
    )
    return found.text.strip() if found.status_code == 200 else None


def _azure(client: httpx.Client) -> str | None:
    found = client.get(
        "/metadata/instance/compute/resourceId",
        params={"api-version": "2021-02-01", "format": "text"},
        headers={"Metadata": "true"},
    )
    return found.text.strip() if found.status_code == 200 else None


def _google(client: httpx.Client) -> str | None:
    headers = {"Metadata-Flavor": "Google"}
    answers = {}
    for key, path in (
        ("id", "/computeMetadata/v1/instance/id"),
        ("zone", "/computeMetadata/v1/instance/zone"),  # projects/NUMBER/zones/ZONE
        ("project", "/computeMetadata/v1/project/project-id"),
    ):
        found = client.get(path, headers=headers)
        if found.status_code != 200 or found.headers.get("Metadata-Flavor") != "Google":
            return None
        answers[key] = found.text.strip()
    zone = answers["zone"].rsplit("/", 1)[-1]
    return (
        f"//compute.googleapis.com/projects/{answers['project']}/zones/{zone}"
        f"/instances/{answers['id']}"
    )


#: Asked in this order; the first answer wins.
CLOUDS: dict[str, Callable[[httpx.Client], str | None]] = {
    "aws": _aws,
    "azure": _azure,
    "google": _google,
}


def discover_resource_id(base_url: str = METADATA_URL, *, timeout_s: float = 1.0) -> str:
    """Return this machine's ResourceId from its cloud's instance metadata service.

    Args:
        base_url: the metadata service (tests point it at a loopback server).
        timeout_s: how long each request may take.

    Raises:
        AifinopsError: when no cloud answers (not a cloud VM, or metadata blocked).
    """
    tried = []
    # NOTE: the services are plain HTTP on a link-local address: no proxy from the environment
    # (it could not reach them) and no TLS (loading the CA bundle alone takes 0.2 s).
    with httpx.Client(
        base_url=base_url, timeout=timeout_s, trust_env=False, verify=False
    ) as client:
        for cloud, ask in CLOUDS.items():
            try:
                found = ask(client)
            except httpx.HTTPError as exc:
                log.info("%s instance metadata: %s", cloud, exc)
                found = None
            if found:
                log.info("resource id from %s instance metadata: %s", cloud, found)
                return found
            tried.append(cloud)
    raise AifinopsError(
        f"no cloud instance metadata service answered at {base_url} (tried: "
        f"{', '.join(tried)}); to fix: pass --resource-id with the machine's ResourceId as "
        "the bill shows it, or drop --cloud-metadata"
    )
