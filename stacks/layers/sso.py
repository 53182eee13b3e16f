"""The dashboards' single sign-on as the stack settings describe it (``ttbt2:sso*``).

Shared by the observability layer (Grafana's own sign-in, in the chart's values) and the
dashboard access layer (the internal load balancer and Kibana's sign-in).
"""

from __future__ import annotations

from components.k8s.dashboard_sso import GrafanaSso, KibanaSso, OidcProvider, RoleGroups
from config import Settings


def oidc_provider(cfg: Settings) -> OidcProvider:
    """The IdP the stack names (``ttbt2:sso*``)."""
    sso = cfg.sso
    return OidcProvider(
        issuer_url=sso.issuer_url,
        authorization_url=sso.authorization_url,
        token_url=sso.token_url,
        userinfo_url=sso.userinfo_url,
        scopes=tuple(sso.scopes),
        groups_claim=sso.groups_claim,
    )


def grafana_sso(cfg: Settings) -> GrafanaSso | None:
    """Grafana's single sign-on, or None when the stack names no IdP."""
    sso = cfg.sso
    if not sso.enabled:
        return None
    return GrafanaSso(
        provider=oidc_provider(cfg),
        client_id=sso.grafana_client_id,
        roles=RoleGroups(
            admin=tuple(sso.grafana_admin_groups),
            editor=tuple(sso.grafana_editor_groups),
            viewer=tuple(sso.grafana_viewer_groups),
        ),
        host=sso.grafana_host,
    )


def kibana_sso(cfg: Settings) -> KibanaSso | None:
    """The load balancer's sign-in in front of Kibana, or None when the stack names no IdP."""
    sso = cfg.sso
    if not sso.enabled:
        return None
    return KibanaSso(
        provider=oidc_provider(cfg), client_id=sso.kibana_client_id, host=sso.kibana_host
    )
