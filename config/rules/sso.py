"""Rules of the dashboards' single sign-on: complete, well-formed, with its secrets and TLS."""

from __future__ import annotations

import re
from collections.abc import Iterable

from components.k8s.dashboard_sso import CLAIM_NAME, GROUP_NAME, VAULT_CONSUMERS
from config.models.delivery import DeliverySettings
from config.models.sso import SsoSettings
from config.models.vault import VaultSettings
from config.problems import Problem, bad, key_of
from config.rules.edge import HOSTNAME

_REQUIRED = (
    "authorization_url",
    "token_url",
    "userinfo_url",
    "grafana_host",
    "grafana_client_id",
    "kibana_host",
    "kibana_client_id",
)
_URLS = ("issuer_url", "authorization_url", "token_url", "userinfo_url")
_GROUPS = ("grafana_admin_groups", "grafana_editor_groups", "grafana_viewer_groups")


def check_sso(sso: SsoSettings) -> Iterable[Problem]:
    """With an issuer, every endpoint, host and client id, and groups Grafana can map."""
    if not sso.enabled:
        extra = [f for f in _REQUIRED if getattr(sso, f)]
        for field in extra:
            yield bad(sso, field, f"empty, or set together with {key_of(sso, 'issuer_url')}")
        return
    for field in _REQUIRED:
        if not getattr(sso, field):
            yield bad(sso, field, f"set: {key_of(sso, 'issuer_url')} turns single sign-on on")
    for field in _URLS:
        value = getattr(sso, field)
        if value and not re.match(r"^https://[^/\s]+\S*$", value):
            yield bad(sso, field, "an https:// URL")
    for field in ("grafana_host", "kibana_host"):
        value = getattr(sso, field)
        if value and not HOSTNAME.match(value):
            yield bad(sso, field, "a DNS host name, e.g. grafana.internal.example.com")
    if sso.grafana_host and sso.grafana_host == sso.kibana_host:
        yield bad(sso, "kibana_host", "a host name other than grafanaHost")
    if "openid" not in sso.scopes:
        yield bad(sso, "scopes", "a list of scopes that includes openid")
    if not CLAIM_NAME.match(sso.groups_claim):
        yield bad(sso, "groups_claim", "a claim name such as groups")
    yield from _check_groups(sso)


def _check_groups(sso: SsoSettings) -> Iterable[Problem]:
    seen: dict[str, str] = {}
    for field in _GROUPS:
        for index, group in enumerate(getattr(sso, field)):
            if not GROUP_NAME.match(group):
                yield bad(
                    sso, field, "letters, digits, spaces and ._@:/+=- (no quotes)", index=index
                )
            elif group in seen:
                yield bad(sso, field, f"a group not already in {seen[group]}", index=index)
            else:
                seen[group] = key_of(sso, field)
    if not seen:
        yield bad(sso, "grafana_admin_groups", "at least one group across the Grafana roles")


def check_sso_dependencies(
    sso: SsoSettings, vault: VaultSettings, delivery: DeliverySettings
) -> Iterable[Problem]:
    """The client secrets are declared in Vault, and the load balancer has a certificate."""
    if not sso.enabled:
        return
    consumers = {ref.consumer for ref in vault.secrets}
    missing = [c for c in VAULT_CONSUMERS if c not in consumers]
    if missing:
        yield bad(
            sso,
            "issuer_url",
            "empty, or with vaultSecrets declaring consumers " + ", ".join(missing),
        )
    if not delivery.alb_certificate_arn:
        yield bad(
            sso,
            "issuer_url",
            f"empty, or with {key_of(delivery, 'alb_certificate_arn')} set (the dashboards "
            "are served over HTTPS with it)",
        )


RULES = (check_sso, check_sso_dependencies)
