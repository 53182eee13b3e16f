"""Email by team under every severity, checked with ``amtool`` on the prod stack's own config.

The Alertmanager configuration is the one the prod stack renders into the kube-prometheus-stack
release, so the team addresses come from ``Pulumi.prod.yaml`` through the settings, not from a
test fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.k8s.metrics import alertmanager_credential_problems, mounted_alertmanager_config
from components.monitoring.alerts import ALERTS, TEAMS
from components.monitoring.routing import (
    SECRET_FILES,
    RoutingSettings,
    alertmanager_config,
    render_yaml,
    secret_files,
)
from config import SettingsError, parse_raw
from config.constants import OPS_ROOM_CONSUMER
from tests.components.monitoring.test_routing import amtool, needs_amtool, routes_test, settings
from tests.conftest import STACKS, one, raw_settings, render, stack_values

# Seed 4.5.2, written out so a change in the routing module shows: the channels of each
# severity, with the team's own email receiver in place of "email".
CHANNELS = {
    "critical": ["sms", "{team}", "slack"],
    "warning": ["{team}", "slack"],
    "info": ["slack"],
}
PRIORITY = {"critical": "critical", "warning": "high", "info": "low"}


def expected(team: str, severity: str) -> list[str]:
    """Receivers an alert of ``team`` and ``severity`` must reach."""
    return [c.format(team=f"email-{team}") for c in CHANNELS[severity]]


def prod_alertmanager_config() -> dict[str, Any]:
    """The Alertmanager configuration the prod stack passes to its Helm release."""
    release = one(render("prod"), "kubernetes:helm.sh/v3:Release", "prometheus-stack")
    return dict(release.props["values"]["alertmanager"]["config"])


@pytest.fixture(scope="module")
def prod_config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prod-alertmanager") / "alertmanager.yaml"
    path.write_text(render_yaml(prod_alertmanager_config()))
    return path


def email_to(config: dict[str, Any], receiver: str) -> str:
    """The address a receiver of ``config`` emails."""
    (found,) = [r for r in config["receivers"] if r["name"] == receiver]
    (email,) = found["email_configs"]
    return str(email["to"])


# --- amtool on the rendered prod config -----------------------------------------------------


@needs_amtool
def test_prod_config_passes_amtool_check(prod_config_file: Path) -> None:
    done = amtool("check-config", str(prod_config_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_amtool
@pytest.mark.parametrize("severity", list(CHANNELS))
@pytest.mark.parametrize("team", TEAMS)
def test_each_team_and_severity_reaches_its_channels(
    prod_config_file: Path, team: str, severity: str
) -> None:
    got = routes_test(
        prod_config_file, team=team, severity=severity, priority=PRIORITY[severity], service="api"
    )
    assert got == expected(team, severity)


@needs_amtool
@pytest.mark.parametrize("severity", ["critical", "warning"])
def test_backend_and_security_alerts_email_different_addresses(
    prod_config_file: Path, severity: str
) -> None:
    labels = {"severity": severity, "priority": PRIORITY[severity]}
    backend = routes_test(prod_config_file, team="backend", **labels)
    security = routes_test(prod_config_file, team="security", **labels)
    assert backend != security
    config = yaml.safe_load(prod_config_file.read_text())
    addresses = stack_values("prod")["ttbt2:alertTeamEmails"]
    (backend_email,) = [r for r in backend if r.startswith("email")]
    (security_email,) = [r for r in security if r.startswith("email")]
    assert email_to(config, backend_email) == addresses["backend"]
    assert email_to(config, security_email) == addresses["security"]


@needs_amtool
@pytest.mark.parametrize("team", [None, "data-science"])
def test_alert_of_no_known_team_emails_the_general_address(
    prod_config_file: Path, team: str | None
) -> None:
    labels = {"severity": "critical", "priority": "critical"}
    if team is not None:
        labels["team"] = team
    assert routes_test(prod_config_file, **labels) == ["sms", "email", "slack"]


@needs_amtool
def test_every_catalog_alert_reaches_its_team(prod_config_file: Path) -> None:
    wrong = {}
    for alert in ALERTS:
        got = routes_test(prod_config_file, alertname=alert.name, **alert.labels())
        if got != expected(alert.team, alert.severity):
            wrong[alert.name] = got
    assert not wrong


@needs_amtool
def test_dashboard_first_then_team_email(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        team_emails={"backend": "backend@ttbt2.example", "security": "sec@ttbt2.example"},
        dashboard_webhook_url="https://ops-room.ttbt2.example/alerts",
    )
    path = tmp_path / "alertmanager.yaml"
    path.write_text(render_yaml(alertmanager_config(s)))
    assert routes_test(path, team="backend", severity="critical") == [
        "dashboard",
        *expected("backend", "critical"),
    ]
    assert routes_test(path, team="security", severity="info") == ["dashboard", "slack"]


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_names_an_address_for_every_catalog_team(stack: str) -> None:
    addresses = stack_values(stack)["ttbt2:alertTeamEmails"]
    assert {alert.team for alert in ALERTS} <= set(addresses)


def problems_of(raw: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as err:
        parse_raw("prod", raw)
    return str(err.value)


def test_team_without_an_address_is_a_problem_naming_the_key_and_team() -> None:
    raw = raw_settings("prod")
    raw["alertTeamEmails"] = {t: a for t, a in raw["alertTeamEmails"].items() if t != "security"}
    message = problems_of(raw)
    assert "ttbt2:alertTeamEmails.security = (not set)" in message
    assert "backend" not in message


def test_team_addresses_must_be_emails_of_known_teams() -> None:
    raw = raw_settings("prod")
    raw["alertTeamEmails"] = {**raw["alertTeamEmails"], "backend": "backend", "finance": "f@x.io"}
    message = problems_of(raw)
    assert 'ttbt2:alertTeamEmails.backend = "backend": an email address' in message
    assert "ttbt2:alertTeamEmails.finance" in message and ", ".join(TEAMS) in message


def test_team_addresses_arrive_from_the_engine_as_json_text() -> None:
    raw = raw_settings("prod")
    assert "alertTeamEmails" in problems_of({**raw, "alertTeamEmails": "{backend"})
    assert "must be an object" in problems_of({**raw, "alertTeamEmails": "{backend"})
    raw["alertTeamEmails"] = json.dumps({team: f"{team}-x@ttbt2.example" for team in TEAMS})
    assert parse_raw("prod", raw).alerting.team_emails["security"] == "security-x@ttbt2.example"


def test_ops_room_dashboard_needs_https_and_its_token_in_vault() -> None:
    raw = raw_settings("prod")
    message = problems_of({**raw, "alertOpsRoomWebhookUrl": "http://ops-room.example/a"})
    assert "ttbt2:alertOpsRoomWebhookUrl" in message and "https://" in message
    message = problems_of({**raw, "alertOpsRoomWebhookUrl": "https://ops-room.example/a"})
    assert OPS_ROOM_CONSUMER in message
    token = {"consumer": OPS_ROOM_CONSUMER, "path": "ttbt2/prod/alertmanager", "key": "ops"}
    raw["vaultSecrets"] = [*raw["vaultSecrets"], token]
    raw["alertOpsRoomWebhookUrl"] = "https://ops-room.example/a"
    assert parse_raw("prod", raw).alerting.ops_room_webhook_url == "https://ops-room.example/a"


def test_routing_refuses_a_team_address_that_is_not_an_email() -> None:
    with pytest.raises(ValueError, match="team_emails"):
        RoutingSettings(
            environment="prod",
            email_to="a@ttbt2.example",
            email_from="b@ttbt2.example",
            smarthost="smtp.ttbt2.example:587",
            sms_webhook_url="https://sms.ttbt2.example/",
            team_emails={"backend": "nobody"},
        )


@pytest.mark.parametrize("dashboard", [None, "https://ops-room.ttbt2.example/alerts"])
def test_dashboard_credential_is_a_mounted_file_the_secret_holds(dashboard: str | None) -> None:
    s = settings(dashboard_webhook_url=dashboard)
    mounted = mounted_alertmanager_config(alertmanager_config(s), "receivers")
    assert alertmanager_credential_problems(mounted, "receivers", secret_files(s)) == []
    # Without the token file the platform's check refuses the dashboard's bare webhook URL.
    if dashboard is not None:
        assert alertmanager_credential_problems(mounted, "receivers", SECRET_FILES)
