"""Alertmanager routing, checked with the real ``amtool`` (Alertmanager 0.25)."""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring.routing import (
    OPS_ROOM_TOKEN_FILE,
    SECRET_FILES,
    RoutingError,
    RoutingSettings,
    _matches,
    alertmanager_config,
    parse_duration,
    render_yaml,
    resolve,
    routing_table,
    secret_files,
)

AMTOOL = shutil.which("amtool")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed")

# Seed 4.5.1/4.5.2, written out here rather than imported so a change in the module shows.
CRITICAL = ["sms", "email", "slack"]
WARNING = ["email", "slack"]
INFO = ["slack"]
# Seed 4.6.2 response times.
BOUND = {"critical": "15m", "high": "1h", "medium": "4h", "low": "24h"}


def settings(secrets_dir: Path | str = "/etc/alertmanager/secrets", **kw: Any) -> RoutingSettings:
    """Settings of a test environment."""
    return RoutingSettings(
        environment="staging",
        email_to="platform-team@ttbt2.example",
        email_from="alertmanager@ttbt2.example",
        smarthost="smtp.ttbt2.example:587",
        sms_webhook_url="https://sms-gateway.ttbt2.example/v1/oncall",
        secrets_dir=str(secrets_dir),
        **kw,
    )


def write_config(tmp_path: Path, config: dict[str, Any]) -> Path:
    """The config and the secret files it names, as a mounted Secret would provide them."""
    for name in (*SECRET_FILES, OPS_ROOM_TOKEN_FILE):
        (tmp_path / name).write_text("not-a-real-secret\n")
    path = tmp_path / "alertmanager.yaml"
    path.write_text(render_yaml(config))
    return path


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run amtool; it warns on stderr that --config.file wins over the URL, which is ignored."""
    assert AMTOOL is not None
    return subprocess.run([AMTOOL, *args], check=False, capture_output=True, text=True, timeout=60)


def routes_test(config_file: Path, **labels: str) -> list[str]:
    """The receivers amtool resolves the labels to, in route-tree order."""
    done = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={config_file}",
        *(f"{k}={v}" for k, v in labels.items()),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split(",")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The default (no dashboard) config on disk with its secret files."""
    return write_config(tmp_path, alertmanager_config(settings(tmp_path)))


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of a nested YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# --- amtool check-config -----------------------------------------------------------------------


@needs_amtool
@pytest.mark.parametrize("dashboard", [None, "http://ops-dashboard.monitoring.svc:8080/alerts"])
def test_config_passes_amtool_check(tmp_path: Path, dashboard: str | None) -> None:
    path = write_config(
        tmp_path, alertmanager_config(settings(tmp_path, dashboard_webhook_url=dashboard))
    )
    done = amtool("check-config", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_amtool
def test_unknown_receiver_reference_fails_amtool_check(tmp_path: Path) -> None:
    config = alertmanager_config(settings(tmp_path))
    config["route"]["routes"][1]["routes"][0]["receiver"] = "pager"
    done = amtool("check-config", str(write_config(tmp_path, config)))
    assert done.returncode != 0
    assert 'undefined receiver "pager"' in done.stdout + done.stderr


# --- amtool config routes test -----------------------------------------------------------------


@needs_amtool
@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"severity": "critical", "priority": "critical", "service": "api"}, CRITICAL),
        ({"severity": "warning", "priority": "high", "service": "api"}, WARNING),
        ({"severity": "warning", "priority": "medium", "service": "api"}, WARNING),
        ({"severity": "info", "priority": "low", "service": "api"}, INFO),
        # A warning with no priority still reaches the team, not only Slack.
        ({"severity": "warning", "service": "api"}, WARNING),
        # Safety net: an alert nobody labelled is still seen.
        ({"alertname": "Unlabelled"}, ["slack"]),
        ({"alertname": "Watchdog"}, ["null"]),
        # The silence holds even though the chart's Watchdog is labelled; checked with critical
        # so the test fails if the silenced route ever moves below the severity routes.
        ({"alertname": "Watchdog", "severity": "critical"}, ["null"]),
        ({"alertname": "InfoInhibitor", "severity": "none"}, ["null"]),
    ],
)
def test_amtool_routes_alert_to_exactly(
    config_file: Path, labels: dict[str, str], expected: list[str]
) -> None:
    assert routes_test(config_file, **labels) == expected


@needs_amtool
def test_routing_table_agrees_with_amtool(config_file: Path) -> None:
    config = yaml.safe_load(config_file.read_text())
    table = routing_table(config)
    assert len(table) == 12
    for severity, priority, receivers in table:
        assert routes_test(config_file, severity=severity, priority=priority) == receivers, (
            severity,
            priority,
        )
    expected = {"critical": CRITICAL, "warning": WARNING, "info": INFO}
    assert all(receivers == expected[severity] for severity, _, receivers in table)


@needs_amtool
def test_dashboard_receives_every_alert_and_changes_nothing_else(tmp_path: Path) -> None:
    s = settings(tmp_path, dashboard_webhook_url="http://ops-dashboard.monitoring.svc:8080/a")
    path = write_config(tmp_path, alertmanager_config(s))
    assert routes_test(path, severity="critical") == ["dashboard", *CRITICAL]
    assert routes_test(path, severity="warning", priority="low") == ["dashboard", *WARNING]
    assert routes_test(path, severity="info") == ["dashboard", *INFO]
    assert routes_test(path, alertname="Unlabelled") == ["dashboard", "slack"]
    # The always-firing pipeline checks would be constant noise on the screen.
    assert routes_test(path, alertname="Watchdog", severity="critical") == ["null"]


def test_dashboard_is_paced_like_a_page() -> None:
    s = settings(dashboard_webhook_url="https://dash.example/hook")
    for labels in ({"severity": "info"}, {"severity": "warning", "priority": "low"}):
        (screen,) = [
            d for d in resolve(alertmanager_config(s), labels) if d.receiver == "dashboard"
        ]
        assert parse_duration(screen.group_wait) <= 10
        assert parse_duration(screen.group_interval) <= 60


# --- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("dashboard", [None, "https://dash.example/hook"])
def test_no_credential_is_inline(dashboard: str | None) -> None:
    s = settings(dashboard_webhook_url=dashboard)
    document = yaml.safe_load(render_yaml(alertmanager_config(s)))
    keys = {key for key, _ in walk(document)}
    assert not keys & {"api_url", "auth_password", "credentials", "password", "auth_secret"}
    assert not keys & {"slack_api_url", "smtp_auth_password"}  # global forms too
    files = {v for k, v in walk(document) if k.endswith("_file")}
    assert files == {f"/etc/alertmanager/secrets/{n}" for n in secret_files(s)}
    assert len(secret_files(s)) == len(SECRET_FILES) + (dashboard is not None)


def test_secret_files_are_exactly_the_referenced_files() -> None:
    assert SECRET_FILES == ("slack-webhook-url", "smtp-password", "sms-gateway-token")
    text = render_yaml(alertmanager_config(settings("/run/am")))
    for name in SECRET_FILES:
        assert f"/run/am/{name}" in text


# --- response times ----------------------------------------------------------------------------


def effective_repeat(repeat: str, group_interval: str) -> float:
    """Alertmanager re-sends on the first group_interval tick after repeat_interval."""
    step = parse_duration(group_interval)
    return math.ceil(parse_duration(repeat) / step) * step


@pytest.mark.parametrize(
    ("labels", "bound"),
    [
        *(({"severity": "critical", "priority": p}, "15m") for p in BOUND),
        ({"severity": "critical"}, "15m"),
        *(({"severity": "warning", "priority": p}, b) for p, b in BOUND.items()),
        ({"severity": "warning"}, "1h"),
        *(({"severity": "info", "priority": p}, "24h") for p in BOUND),
        ({"alertname": "Unlabelled"}, "1h"),
    ],
)
def test_repeat_interval_honours_response_time(labels: dict[str, str], bound: str) -> None:
    deliveries = resolve(alertmanager_config(settings()), labels)
    assert deliveries
    for d in deliveries:
        assert effective_repeat(d.repeat_interval, d.group_interval) <= parse_duration(bound)


def test_critical_pages_quickly() -> None:
    for d in resolve(alertmanager_config(settings()), {"severity": "critical"}):
        # The first page must leave most of the 15 minutes for the engineer.
        assert parse_duration(d.group_wait) <= 30
        assert parse_duration(d.group_interval) <= 5 * 60


def test_resolve_follows_amtool_semantics_on_a_hand_written_tree() -> None:
    # Timers inherit downward, `continue` fans out, a node with no matching child matches itself.
    config = {
        "route": {
            "receiver": "root",
            "repeat_interval": "3h",
            "routes": [
                {"receiver": "a", "matchers": ['x="1"'], "continue": True, "repeat_interval": "1m"},
                {"receiver": "b", "matchers": ['x=~"1|2"'], "routes": [{"receiver": "c"}]},
                {"receiver": "d", "matchers": ['x="1"']},
            ],
        }
    }
    assert [(d.receiver, d.repeat_interval) for d in resolve(config, {"x": "1"})] == [
        ("a", "1m"),
        ("c", "3h"),
    ]
    assert [d.receiver for d in resolve(config, {"x": "3"})] == ["root"]


# --- inhibition --------------------------------------------------------------------------------


def inhibits(config: dict[str, Any], source: dict[str, str], target: dict[str, str]) -> bool:
    """Whether a firing ``source`` alert mutes ``target`` under the config's inhibit rules."""
    return any(
        _matches(rule["source_matchers"], source)
        and _matches(rule["target_matchers"], target)
        and all(source.get(label, "") == target.get(label, "") for label in rule["equal"])
        for rule in config["inhibit_rules"]
    )


@pytest.mark.parametrize(
    ("source", "target", "muted"),
    [
        ("critical", "warning", True),
        ("critical", "info", True),
        ("warning", "info", True),
        ("warning", "critical", False),
        ("info", "warning", False),
        ("warning", "warning", False),
        ("critical", "critical", False),
    ],
)
def test_inhibition_by_severity(source: str, target: str, muted: bool) -> None:
    config = alertmanager_config(settings())
    where = {"namespace": "ttbt2", "service": "api"}
    # Different alertnames: inhibition must not depend on the alert's name.
    src = {"alertname": "ApiDown", "severity": source, **where}
    tgt = {"alertname": "ApiSlow", "severity": target, **where}
    assert inhibits(config, src, tgt) is muted


def test_inhibition_needs_same_namespace_and_service() -> None:
    config = alertmanager_config(settings())
    src = {"severity": "critical", "namespace": "ttbt2", "service": "api"}
    assert not inhibits(config, src, {**src, "severity": "warning", "service": "web"})
    assert not inhibits(config, src, {**src, "severity": "warning", "namespace": "other"})
    # A cluster-wide critical must not mute every namespace-less warning.
    assert not inhibits(config, {"severity": "critical"}, {"severity": "warning"})


# --- settings and helpers ----------------------------------------------------------------------


def test_settings_defaults() -> None:
    s = settings()
    assert s.slack_channel == "#alerts"
    assert s.secrets_dir == "/etc/alertmanager/secrets"
    assert s.dashboard_webhook_url is None


def test_bad_settings_are_refused_with_every_problem() -> None:
    with pytest.raises(RoutingError) as err:
        replace(
            settings(),
            slack_channel="alerts",
            email_to="nobody",
            smarthost="smtp.example",
            sms_webhook_url="ftp://sms",
            secrets_dir="secrets",
        )
    for word in ("slack_channel", "email_to", "smarthost", "sms_webhook_url", "secrets_dir"):
        assert word in str(err.value)


def test_parse_duration() -> None:
    assert parse_duration("10m") == 600
    assert parse_duration("1h30m") == 5400
    assert parse_duration("24h") == parse_duration("1d")
    with pytest.raises(RoutingError):
        parse_duration("10 minutes")
