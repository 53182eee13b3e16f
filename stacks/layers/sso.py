"""The dashboards' single sign-on as the stack settings describe it (``ttbt2:sso*``).

Shared by the observability layer (Grafana's own sign-in, in the chart's values) and the
dashboard access layer (the internal load balancer and Kibana's sign-in). Registers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.k8s.dashboard_sso import GrafanaSso, KibanaSso, OidcProvider, RoleGroups
from config import Settings


@dataclass(frozen=True)
class DashboardSso:
    """Each dashboard's single sign-on; both None when the stack names no IdP."""

    grafana: GrafanaSso | None = None
    kibana: KibanaSso | None = None


def dashboard_sso(cfg: Settings) -> DashboardSso:
    """Grafana's and Kibana's single sign-on, from the IdP, hosts and groups the stack names."""
    sso = cfg.sso
    if not sso.enabled:
        return DashboardSso()
    provider = OidcProvider(
        issuer_url=sso.issuer_url,
        authorization_url=sso.authorization_url,
        token_url=sso.token_url,
        userinfo_url=sso.userinfo_url,
        scopes=tuple(sso.scopes),
        groups_claim=sso.groups_claim,
    )
    return DashboardSso(
        grafana=GrafanaSso(
            provider=provider,
            client_id=sso.grafana_client_id,
            roles=RoleGroups(
                admin=tuple(sso.grafana_admin_groups),
                editor=tuple(sso.grafana_editor_groups),
                viewer=tuple(sso.grafana_viewer_groups),
            ),
            host=sso.grafana_host,
        ),
        kibana=KibanaSso(provider=provider, client_id=sso.kibana_client_id, host=sso.kibana_host),
    )
