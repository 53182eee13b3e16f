"""Settings of the dashboards' single sign-on: complete or absent, with its Vault secrets."""

from __future__ import annotations

from typing import Any

import pytest

from config import SettingsError, parse_raw
from tests.conftest import ALERTMANAGER_SECRETS, raw_settings

SSO_SECRETS = [
    {"consumer": "grafana-oidc-client-secret", "path": "ttbt2/dev/grafana", "key": "oidc"},
    {"consumer": "kibana-oidc-client-secret", "path": "ttbt2/dev/kibana", "key": "oidc"},
]
IDP = "https://idp.example/realms/ttbt2"
SSO: dict[str, Any] = {
    "ssoIssuerUrl": IDP,
    "ssoAuthorizationUrl": f"{IDP}/auth",
    "ssoTokenUrl": f"{IDP}/token",
    "ssoUserInfoUrl": f"{IDP}/userinfo",
    "grafanaHost": "grafana.dev.example.com",
    "grafanaOidcClientId": "grafana",
    "kibanaHost": "kibana.dev.example.com",
    "kibanaOidcClientId": "kibana",
    "albCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/"
    "11111111-2222-3333-4444-555555555555",
    "vaultSecrets": ALERTMANAGER_SECRETS + SSO_SECRETS,
    # Dev's audience (seed 4.2), required of every dev stack.
    "edgeAllowedCidrs": ["192.0.2.0/24"],
}


def problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        parse_raw("dev", raw)
    return {p.key: p.allowed for p in caught.value.problems}


def test_a_complete_sso_configuration_parses() -> None:
    settings = parse_raw("dev", SSO)
    assert settings.sso.enabled
    assert settings.sso.grafana_admin_groups == ["sre"]
    assert settings.sso.grafana_viewer_groups == ["stakeholders"]


def test_no_issuer_means_no_sso_and_no_stray_keys() -> None:
    bare = {"vaultSecrets": ALERTMANAGER_SECRETS, "edgeAllowedCidrs": SSO["edgeAllowedCidrs"]}
    assert not parse_raw("dev", bare).sso.enabled
    found = problems({**bare, "grafanaHost": "grafana.example.com"})
    assert found == {"grafanaHost": "empty, or set together with ssoIssuerUrl"}


@pytest.mark.parametrize(
    "key",
    [
        "ssoAuthorizationUrl",
        "ssoTokenUrl",
        "ssoUserInfoUrl",
        "grafanaHost",
        "grafanaOidcClientId",
        "kibanaHost",
        "kibanaOidcClientId",
    ],
)
def test_every_part_of_sso_is_required_with_an_issuer(key: str) -> None:
    raw = {k: v for k, v in SSO.items() if k != key}
    assert key in problems(raw)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"ssoTokenUrl": "http://idp.example/token"}, "ssoTokenUrl"),
        ({"grafanaHost": "https://grafana.example.com"}, "grafanaHost"),
        ({"kibanaHost": "grafana.dev.example.com"}, "kibanaHost"),
        ({"ssoScopes": ["email"]}, "ssoScopes"),
        ({"ssoGroupsClaim": "groups'"}, "ssoGroupsClaim"),
        ({"grafanaViewerGroups": ["it's"]}, "grafanaViewerGroups[0]"),
        ({"grafanaEditorGroups": ["sre"]}, "grafanaEditorGroups[0]"),
        (
            {"grafanaAdminGroups": [], "grafanaViewerGroups": [], "grafanaEditorGroups": []},
            "grafanaAdminGroups",
        ),
    ],
)
def test_bad_sso_values_are_named(change: dict[str, Any], key: str) -> None:
    assert key in problems({**SSO, **change})


def test_sso_needs_both_client_secrets_in_vault() -> None:
    raw = {**SSO, "vaultSecrets": ALERTMANAGER_SECRETS + SSO_SECRETS[:1]}
    assert "kibana-oidc-client-secret" in problems(raw)["ssoIssuerUrl"]


def test_sso_needs_the_load_balancer_certificate() -> None:
    raw = {k: v for k, v in SSO.items() if k != "albCertificateArn"}
    assert "albCertificateArn" in problems(raw)["ssoIssuerUrl"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_gives_sre_admin_and_stakeholders_at_most_viewer(stack: str) -> None:
    sso = parse_raw(stack, raw_settings(stack)).sso
    assert sso.enabled
    assert sso.grafana_admin_groups == ["sre"]
    assert "stakeholders" not in sso.grafana_admin_groups + sso.grafana_editor_groups
    # Seed 4.2: stakeholders take part in staging and production, not in development.
    assert ("stakeholders" in sso.grafana_viewer_groups) == (stack != "dev")
