"""Single sign-on to the dashboards (seed 4.2, 4.4.3): Grafana and Kibana behind the IdP.

Both dashboards are published on the environment's internal load balancer only when the stack
names an identity provider (``ssoIssuerUrl``); without one, nothing is published and the
dashboards stay reachable through ``kubectl port-forward`` alone. Client secrets never appear
here: they come from Vault (consumers ``grafana-oidc-client-secret`` and
``kibana-oidc-client-secret``, see docs/observability.md).
"""

from __future__ import annotations

from config.fields import Domain, setting


class SsoSettings(Domain):
    """The OIDC identity provider, the dashboards' host names and who gets which role."""

    issuer_url: str = setting(
        "",
        "OIDC issuer (https URL) of the identity provider the dashboards sign in with; empty = "
        "no single sign-on and no dashboard ingress.",
        key="ssoIssuerUrl",
    )
    authorization_url: str = setting(
        "", "The IdP's authorization endpoint (https URL).", key="ssoAuthorizationUrl"
    )
    token_url: str = setting("", "The IdP's token endpoint (https URL).", key="ssoTokenUrl")
    userinfo_url: str = setting(
        "", "The IdP's userinfo endpoint (https URL).", key="ssoUserInfoUrl"
    )
    scopes: list[str] = setting(
        ["openid", "email", "profile"],
        "Scopes requested from the IdP; add the one that releases the groups claim if the IdP "
        "needs it (Okta: groups).",
        key="ssoScopes",
    )
    groups_claim: str = setting(
        "groups",
        "Claim of the ID token or userinfo that lists the user's groups.",
        key="ssoGroupsClaim",
    )
    grafana_host: str = setting(
        "",
        "Host name of Grafana on the internal load balancer (covered by albCertificateArn).",
        key="grafanaHost",
    )
    grafana_client_id: str = setting(
        "", "OIDC client id of Grafana at the IdP.", key="grafanaOidcClientId"
    )
    grafana_break_glass_rotation_days: int = setting(
        30,
        "Days between rotations of Grafana's generated break-glass admin password (seed "
        "4.9.1); the first deployment of each new window replaces it.",
        key="grafanaBreakGlassRotationDays",
        ge=1,
        le=90,
    )
    grafana_admin_groups: list[str] = setting(
        ["sre"],
        "IdP groups whose members are Grafana Admins (the SRE on-call group).",
        key="grafanaAdminGroups",
    )
    grafana_editor_groups: list[str] = setting(
        [],
        "IdP groups whose members are Grafana Editors (developers in dev, QA in staging).",
        key="grafanaEditorGroups",
    )
    grafana_viewer_groups: list[str] = setting(
        ["stakeholders"],
        "IdP groups whose members are Grafana Viewers (the stakeholders: the Executive "
        "dashboard is their home). A user in no Grafana group is refused.",
        key="grafanaViewerGroups",
    )
    kibana_host: str = setting(
        "",
        "Host name of Kibana on the internal load balancer (covered by albCertificateArn).",
        key="kibanaHost",
    )
    kibana_client_id: str = setting(
        "",
        "OIDC client id of the load balancer's sign-in in front of Kibana.",
        key="kibanaOidcClientId",
    )

    @property
    def enabled(self) -> bool:
        """Whether the dashboards are published behind single sign-on."""
        return bool(self.issuer_url)
