"""Rules of observability: replicas per environment, a master quorum, valid alert receivers."""

from __future__ import annotations

import re
from collections.abc import Iterable

from components.monitoring.alerts import ALERTS, TEAMS
from config.constants import OPS_ROOM_CONSUMER
from config.floors import floors_for
from config.models.identity import IdentitySettings
from config.models.observability import AlertingSettings, ObservabilitySettings
from config.models.vault import VaultSettings
from config.problems import UNSET, Problem, bad, key_of
from policies.ttbt2_policies.classification import (
    LOG_RETENTION_CEILING_DAYS,
    REDACTING_CLASSIFICATIONS,
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")


def check_observability(
    identity: IdentitySettings, obs: ObservabilitySettings
) -> Iterable[Problem]:
    """Prometheus, Alertmanager and Elasticsearch at or above the environment's floors."""
    env = identity.environment
    floors = floors_for(env)
    if obs.prometheus_replicas < floors.prometheus_replicas:
        yield bad(
            obs,
            "prometheus_replicas",
            f"{env} runs {floors.prometheus_replicas} Prometheus replicas",
        )
    if obs.alertmanager_replicas < floors.alertmanager_replicas:
        yield bad(
            obs,
            "alertmanager_replicas",
            f"{env} runs {floors.alertmanager_replicas} (an HA cluster)",
        )
    if obs.elasticsearch_nodes < floors.elasticsearch_nodes:
        yield bad(
            obs, "elasticsearch_nodes", f"{env} runs {floors.elasticsearch_nodes} or more nodes"
        )
    elif obs.elasticsearch_nodes == 2:
        # Two master-eligible nodes cannot outvote each other: losing one stops the cluster.
        yield bad(obs, "elasticsearch_nodes", "1, or 3 or more (a master quorum needs 3)")


def check_log_privacy(identity: IdentitySettings, obs: ObservabilitySettings) -> Iterable[Problem]:
    """Logs follow the data classification (seed 4.2): redacted when real, kept no longer."""
    data = identity.data_classification
    if data in REDACTING_CLASSIFICATIONS and not obs.log_redaction:
        yield bad(obs, "log_redaction", f"true: {identity.environment} holds {data} data")
    if obs.log_redact_ips and not obs.log_redaction:
        yield bad(obs, "log_redact_ips", "false or unset: IPs are masked only with logRedaction")
    ceiling = LOG_RETENTION_CEILING_DAYS[data]
    if obs.log_retention_days > ceiling:
        yield bad(obs, "log_retention_days", f"at most {ceiling} days for logs of {data} data")


def check_alerting(alerting: AlertingSettings) -> Iterable[Problem]:
    """Receivers Alertmanager can deliver to (seed 4.5.2)."""
    if not re.fullmatch(r"#[a-z0-9_-]{1,79}", alerting.slack_channel):
        yield bad(alerting, "slack_channel", "a channel such as #alerts")
    for field in ("email_to", "email_from"):
        if not _EMAIL.fullmatch(getattr(alerting, field)):
            yield bad(alerting, field, "an email address")
    if not re.fullmatch(r"[A-Za-z0-9.-]+:\d{1,5}", alerting.smarthost):
        yield bad(alerting, "smarthost", "host:port of an SMTP relay")
    if not alerting.sms_webhook_url.startswith("https://"):
        yield bad(alerting, "sms_webhook_url", "an https:// URL")
    url = alerting.ops_room_webhook_url
    if url and not re.fullmatch(r"https://[^\s/]+(/\S*)?", url):
        yield bad(alerting, "ops_room_webhook_url", "an https:// URL, or empty for no dashboard")
    yield from check_team_emails(alerting)


def check_team_emails(alerting: AlertingSettings) -> Iterable[Problem]:
    """An address for every team the alert catalog labels, and for no unknown team."""
    emails = alerting.team_emails
    for missing in sorted({alert.team for alert in ALERTS} - set(emails)):
        yield Problem(
            f"{key_of(alerting, 'team_emails')}.{missing}",
            UNSET,
            f"an email address for team {missing!r}: the alert catalog labels alerts with it",
        )
    for team, address in emails.items():
        if team not in TEAMS:
            yield bad(
                alerting,
                "team_emails",
                "a team of the alert catalog: " + ", ".join(TEAMS),
                value=team,
                suffix=f".{team}",
            )
        elif not _EMAIL.fullmatch(address):
            yield bad(alerting, "team_emails", "an email address", value=address, suffix=f".{team}")


def check_ops_room_credential(
    alerting: AlertingSettings, vault: VaultSettings
) -> Iterable[Problem]:
    """The dashboard proves Alertmanager's identity with a token read from Vault."""
    consumers = [ref.consumer for ref in vault.secrets]
    if alerting.ops_room_webhook_url and OPS_ROOM_CONSUMER not in consumers:
        yield bad(
            alerting,
            "ops_room_webhook_url",
            f"empty, or with vaultSecrets declaring consumer {OPS_ROOM_CONSUMER} "
            "(the dashboard's bearer token)",
        )


RULES = (check_observability, check_log_privacy, check_alerting, check_ops_room_credential)
