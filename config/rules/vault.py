"""Rules of Vault: an https server, a real login in prod, each stack reading only its secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.constants import ALERTMANAGER_CONSUMERS
from config.models.identity import IdentitySettings
from config.models.vault import VaultSettings
from config.problems import Problem, bad
from config.rules.cluster import K8S_NAME


def check_vault(identity: IdentitySettings, vault: VaultSettings) -> Iterable[Problem]:
    """Address and login, then the declared secrets and the services served."""
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d{1,5})?/?", vault.address):
        yield bad(vault, "address", "an https:// address, e.g. https://vault:8200")
    if vault.auth_method != "token" and not vault.auth_role:
        yield bad(vault, "auth_role", f"the {vault.auth_method} login needs a role")
    if identity.is_prod and vault.auth_method == "token":
        yield bad(vault, "auth_method", "prod logs in with jwt, kubernetes or approle, not a token")
    yield from _check_secrets(identity, vault)
    yield from _check_snapshots(identity, vault)
    for i, service in enumerate(vault.services):
        if not K8S_NAME.match(service):
            yield bad(vault, "services", "a Kubernetes name (RFC 1123)", index=i)


RETIRED_CONSUMERS: dict[str, str] = {
    "redis": "the cache authenticates its clients as IAM users (ttbt2:cacheClients)",
    "grafana-admin": (
        "Grafana is administered through single sign-on; its break-glass password is generated "
        "and rotated by the stack (ttbt2:grafanaBreakGlassRotationDays)"
    ),
    "pushgateway-web-config": (
        "the Pushgateway admits the CI runners' security group and Prometheus, not a password"
    ),
    "pushgateway-scrape-password": (
        "the Pushgateway admits the CI runners' security group and Prometheus, not a password"
    ),
}
"""Consumers of static credentials that rotate now (seed 4.9.1), and what replaced each."""


def _check_secrets(identity: IdentitySettings, vault: VaultSettings) -> Iterable[Problem]:
    own = f"ttbt2/{identity.environment}/"
    seen: set[tuple[str, str, str]] = set()
    for i, ref in enumerate(vault.secrets):
        if ref.consumer in RETIRED_CONSUMERS:
            yield bad(
                vault,
                "secrets",
                "no static credential in Vault KV for it: " + RETIRED_CONSUMERS[ref.consumer],
                index=i,
                suffix=".consumer",
                value=ref.consumer,
            )
        # A stack reads only its own environment's secrets: staging never sees prod's.
        if not ref.path.startswith(own):
            yield bad(
                vault, "secrets", f"must be under {own}", index=i, suffix=".path", value=ref.path
            )
        ident = (ref.mount or vault.kv_mount, ref.path, ref.key)
        if ident in seen:
            yield bad(vault, "secrets", "declared twice", index=i, value=ref.model_dump())
        seen.add(ident)
    consumers = [ref.consumer for ref in vault.secrets]
    if vault.services and "database-admin" not in consumers:
        yield bad(
            vault,
            "secrets",
            "services get database credentials from Vault: declare the database-admin "
            "secret its database engine connects with",
            value=consumers,
        )
    missing = [c for c in ALERTMANAGER_CONSUMERS if c not in consumers]
    if missing:
        yield bad(
            vault,
            "secrets",
            "Alertmanager's receiver credentials come from Vault: declare " + ", ".join(missing),
            value=consumers,
        )


def _check_snapshots(identity: IdentitySettings, vault: VaultSettings) -> Iterable[Problem]:
    """Someone named takes Vault's snapshots; this stack only with its Kubernetes auth."""
    if vault.snapshots == "this-stack" and not vault.services:
        yield bad(
            vault,
            "snapshots",
            "this-stack logs in through the Kubernetes auth Vault configures for vaultServices: "
            "declare services, or say elsewhere",
        )
    if vault.snapshots == "elsewhere" and identity.is_prod and not vault.snapshots_by.strip():
        yield bad(
            vault,
            "snapshots_by",
            "prod backs Vault up (seed 4.7.1): set vaultSnapshots to this-stack, or name who "
            "snapshots Vault (a stack, or the provider's service and its snapshot policy)",
        )


RULES = (check_vault,)
