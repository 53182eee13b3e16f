"""Single sign-on of the dashboards: Grafana's OAuth settings and the ALB's OIDC sign-in.

Pure functions and data: nothing here registers a resource.

- Grafana signs users in itself (``auth.generic_oauth``) and maps IdP groups to its roles with a
  JMESPath expression (:func:`role_attribute_path`): SRE groups are Admins, editor groups
  Editors, stakeholder groups Viewers, and a user in none of them is refused
  (``role_attribute_strict``). The client secret is read from a mounted Secret file
  (``$__file{...}``), never from the environment or the rendered ``grafana.ini``.
- Kibana runs on Elastic's basic licence, whose realms are native and file only (the OpenID
  Connect realm needs a Platinum or Enterprise subscription), so the load balancer signs users
  in before any request reaches Kibana (:func:`alb_oidc_annotations`). The AWS Load Balancer
  Controller reads the client id and secret from a Secret of the Ingress's namespace, keys
  ``clientID`` and ``clientSecret``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@:/+=-]{0,127}$")
"""An IdP group name the role expression can quote (no quote or backslash in it)."""
CLAIM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$")
"""A claim name (``groups``, ``cognito:groups``, ``https://example.com/groups``)."""

GRAFANA_OIDC_SECRET = "grafana-oidc"
"""Secret of the monitoring namespace holding Grafana's OIDC client secret."""
GRAFANA_OIDC_SECRET_KEY = "client-secret"
GRAFANA_SECRETS_DIR = "/etc/secrets/grafana-oidc"
"""Where the Secret is mounted in the Grafana container (chart ``extraSecretMounts``)."""
KIBANA_OIDC_SECRET = "kibana-oidc"
"""Secret of the monitoring namespace the load balancer controller reads for Kibana's sign-in."""
ALB_SESSION_SECONDS = 8 * 3600
"""The load balancer's sign-in lasts a working day, not its 7-day default."""
GRAFANA_ROLES = ("Admin", "Editor", "Viewer")
"""Grafana organisation roles, strongest first: a user in several groups gets the strongest."""
VAULT_CONSUMERS = ("grafana-oidc-client-secret", "kibana-oidc-client-secret")
"""Vault consumers of the two client secrets (``ttbt2:vaultSecrets``)."""


def _https(url: str, what: str) -> None:
    if not re.match(r"^https://[^/\s]+", url):
        raise ValueError(f"{what} must be an https:// URL, got {url!r}")


@dataclass(frozen=True)
class OidcProvider:
    """The identity provider: issuer, endpoints, scopes and the claim that lists groups."""

    issuer_url: str
    authorization_url: str
    token_url: str
    userinfo_url: str
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    groups_claim: str = "groups"

    def __post_init__(self) -> None:
        """Refuse what neither Grafana nor the load balancer could use."""
        for name in ("issuer_url", "authorization_url", "token_url", "userinfo_url"):
            _https(getattr(self, name), name)
        if "openid" not in self.scopes:
            raise ValueError(f"scopes must include openid, got {list(self.scopes)}")
        if any(not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", s) for s in self.scopes):
            raise ValueError(f"scopes must be OAuth scope tokens, got {list(self.scopes)}")
        if not CLAIM_NAME.match(self.groups_claim):
            raise ValueError(f"groups_claim must be a claim name, got {self.groups_claim!r}")


@dataclass(frozen=True)
class RoleGroups:
    """IdP groups per Grafana role; a group may appear under one role only."""

    admin: tuple[str, ...] = ()
    editor: tuple[str, ...] = ()
    viewer: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse names the expression cannot quote, and a group given two roles."""
        seen: dict[str, str] = {}
        for role, groups in self.by_role().items():
            for group in groups:
                if not GROUP_NAME.match(group):
                    raise ValueError(
                        f"{role.lower()} group {group!r} must be letters, digits, spaces and "
                        "._@:/+=- (no quotes)"
                    )
                if group in seen:
                    raise ValueError(f"group {group!r} is both {seen[group]} and {role}")
                seen[group] = role
        if not seen:
            raise ValueError("at least one group must be mapped to a Grafana role")

    def by_role(self) -> dict[str, tuple[str, ...]]:
        """Groups by Grafana role, strongest role first."""
        return dict(zip(GRAFANA_ROLES, (self.admin, self.editor, self.viewer), strict=True))


def role_attribute_path(groups_claim: str, roles: RoleGroups) -> str:
    """The JMESPath Grafana evaluates on the user's claims to find their role.

    ``contains(to_array("<claim>"), '<group>') && '<Role>'`` per group, strongest role first,
    joined by ``||``. ``to_array`` matters: an IdP that sends a lone group as a string would
    otherwise get a substring match (``'sre'`` in ``"not-sre"``). A user in none of the groups
    (or without the claim) yields ``false``, which is no role: with ``role_attribute_strict``
    Grafana then refuses the sign-in.
    """
    claim = json.dumps(groups_claim)  # a quoted identifier: claim names may hold ':' or '/'
    terms = [
        f"contains(to_array({claim}), '{group}') && '{role}'"
        for role, groups in roles.by_role().items()
        for group in groups
    ]
    return " || ".join(terms)


@dataclass(frozen=True, kw_only=True)
class OidcClient:
    """One client registered at the IdP: its client id and the host its users open."""

    provider: OidcProvider
    client_id: str
    host: str

    def __post_init__(self) -> None:
        """Refuse an empty client id or a host that is not a bare host name."""
        if not self.client_id.strip():
            raise ValueError("client_id must not be empty")
        if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", self.host):
            raise ValueError(f"host must be a DNS host name, got {self.host!r}")


@dataclass(frozen=True, kw_only=True)
class GrafanaSso(OidcClient):
    """Grafana's single sign-on: the IdP, its client id, the role mapping and its host."""

    roles: RoleGroups

    @property
    def root_url(self) -> str:
        """The URL users open, which the IdP redirects back to."""
        return f"https://{self.host}/"

    @property
    def redirect_uri(self) -> str:
        """The redirect URI to register at the IdP."""
        return f"https://{self.host}/login/generic_oauth"


def grafana_sso_ini(sso: GrafanaSso) -> dict[str, dict[str, Any]]:
    """The ``grafana.ini`` sections of single sign-on.

    Everyone is sent to the IdP (``auto_login``); the login form stays only as the break-glass
    path of the local ``admin``, the one user with a password (``/login?disableAutoLogin``):
    basic authentication cannot be switched off anyway, as the chart's sidecars reload
    dashboards through the API as that user. Nobody signs up locally.
    """
    provider = sso.provider
    return {
        "server": {"root_url": sso.root_url},
        "users": {"allow_sign_up": False},
        "auth": {"disable_login_form": False, "oauth_allow_insecure_email_lookup": False},
        "auth.generic_oauth": {
            "enabled": True,
            "name": "Single sign-on",
            "client_id": sso.client_id,
            "client_secret": f"$__file{{{GRAFANA_SECRETS_DIR}/{GRAFANA_OIDC_SECRET_KEY}}}",
            "scopes": " ".join(provider.scopes),
            "auth_url": provider.authorization_url,
            "token_url": provider.token_url,
            "api_url": provider.userinfo_url,
            "use_pkce": True,
            "use_refresh_token": True,
            "auto_login": True,
            # Users of the mapped groups get an account at their first sign-in.
            "allow_sign_up": True,
            "role_attribute_path": role_attribute_path(provider.groups_claim, sso.roles),
            "role_attribute_strict": True,
            "allow_assign_grafana_admin": False,
            "skip_org_role_sync": False,
        },
    }


def grafana_secret_mounts() -> list[dict[str, Any]]:
    """The chart's ``extraSecretMounts``: the client secret as a read-only file."""
    return [
        {
            "name": "oidc-client-secret",
            "secretName": GRAFANA_OIDC_SECRET,
            "mountPath": GRAFANA_SECRETS_DIR,
            "readOnly": True,
            "optional": False,
        }
    ]


@dataclass(frozen=True, kw_only=True)
class KibanaSso(OidcClient):
    """The load balancer's sign-in in front of Kibana: the IdP, its client id and the host."""

    @property
    def public_url(self) -> str:
        """The URL users open (Kibana's ``server.publicBaseUrl``)."""
        return f"https://{self.host}"

    @property
    def redirect_uri(self) -> str:
        """The redirect URI to register at the IdP: the load balancer's own callback."""
        return f"https://{self.host}/oauth2/idpresponse"


def alb_oidc_annotations(sso: KibanaSso, secret_name: str = KIBANA_OIDC_SECRET) -> dict[str, str]:
    """AWS Load Balancer Controller annotations: authenticate every request at the IdP first.

    The controller reads ``clientID`` and ``clientSecret`` from Secret ``secret_name`` of the
    Ingress's namespace. Unauthenticated requests are sent to the IdP (``authenticate``).
    """
    provider = sso.provider
    idp = {
        "issuer": provider.issuer_url,
        "authorizationEndpoint": provider.authorization_url,
        "tokenEndpoint": provider.token_url,
        "userInfoEndpoint": provider.userinfo_url,
        "secretName": secret_name,
    }
    prefix = "alb.ingress.kubernetes.io/"
    return {
        prefix + "auth-type": "oidc",
        prefix + "auth-idp-oidc": json.dumps(idp, sort_keys=True),
        prefix + "auth-on-unauthenticated-request": "authenticate",
        prefix + "auth-scope": " ".join(provider.scopes),
        prefix + "auth-session-timeout": str(ALB_SESSION_SECONDS),
    }
