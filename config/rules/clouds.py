"""Rules of the other clouds (seed 4.1.2): on in every shared environment, and well named."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.constants import GCS_DUAL_REGIONS
from config.models.clouds import AzureSettings, GcpSettings
from config.models.identity import IdentitySettings
from config.problems import Problem, bad

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_gcp(identity: IdentitySettings, gcp: GcpSettings) -> Iterable[Problem]:
    """Analytics on GCP belongs to every shared environment; only dev may run on AWS alone."""
    if identity.environment != "dev" and not gcp.enabled:
        yield bad(gcp, "enabled", f"{identity.environment} runs the GCP analytics services")
    if not gcp.enabled:
        return
    if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", gcp.project):
        yield bad(gcp, "project", "a GCP project id (6-30 lowercase chars)")
    if not re.fullmatch(r"[a-z]+-[a-z]+\d", gcp.region):
        yield bad(gcp, "region", "a GCP region such as europe-west1")
    if gcp.landing_location not in GCS_DUAL_REGIONS:
        yield bad(gcp, "landing_location", "one of " + ", ".join(sorted(GCS_DUAL_REGIONS)))


def check_azure(identity: IdentitySettings, azure: AzureSettings) -> Iterable[Problem]:
    """Redundancy on Azure belongs to every shared environment."""
    if identity.environment != "dev" and not azure.enabled:
        yield bad(azure, "enabled", f"{identity.environment} keeps a copy in Azure")
    if not azure.enabled:
        return
    if not re.fullmatch(r"[a-z]+[a-z0-9]*", azure.location):
        yield bad(azure, "location", "an Azure region such as westeurope")
    for field in ("subscription_id", "tenant_id"):
        if not _UUID.match(getattr(azure, field)):
            yield bad(azure, field, "a GUID such as 00000000-0000-0000-0000-000000000000")


RULES = (check_gcp, check_azure)
