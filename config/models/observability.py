"""Observability (seed 4.4, 4.5): metrics, logs, and where alerts go."""

from __future__ import annotations

from components.monitoring.alerts import TEAMS
from config.fields import Domain, setting
from config.floors import per_environment
from policies.ttbt2_policies.classification import LOG_RETENTION_CEILING_DAYS

DEFAULT_TEAM_EMAILS: dict[str, str] = {team: f"{team}-team@ttbt2.example" for team in TEAMS}
"""One address per team label of the alert catalog; stacks name their own."""


class ObservabilitySettings(Domain):
    """Prometheus, Alertmanager and Elasticsearch: replicas, storage and retention."""

    prometheus_replicas: int = setting(
        1,
        f"Prometheus replicas; at least {per_environment(lambda f: f.prometheus_replicas)}.",
        key="prometheusReplicas",
        ge=1,
        le=3,
    )
    prometheus_retention_days: int = setting(
        7, "Days Prometheus keeps metrics.", key="prometheusRetentionDays", ge=1, le=90
    )
    prometheus_storage_gb: int = setting(
        50,
        "Encrypted volume per Prometheus replica, in GiB.",
        key="prometheusStorageGb",
        ge=10,
        le=16384,
    )
    alertmanager_replicas: int = setting(
        1,
        "Alertmanager replicas (3 form an HA cluster); at least "
        f"{per_environment(lambda f: f.alertmanager_replicas)}.",
        key="alertmanagerReplicas",
        ge=1,
        le=5,
    )
    elasticsearch_nodes: int = setting(
        1,
        "Elasticsearch nodes, 1 or 3 and more (a master quorum); at least "
        f"{per_environment(lambda f: f.elasticsearch_nodes)}.",
        key="elasticsearchNodes",
        ge=1,
        le=15,
    )
    elasticsearch_storage_gb: int = setting(
        50,
        "Encrypted volume per Elasticsearch node, in GiB.",
        key="elasticsearchStorageGb",
        ge=10,
        le=16384,
    )
    log_retention_days: int = setting(
        7,
        "Days container logs stay in Elasticsearch (ILM delete); at most "
        + ", ".join(f"{c} {d}" for c, d in LOG_RETENTION_CEILING_DAYS.items())
        + " by the environment's data classification.",
        key="logRetentionDays",
        ge=1,
        le=3650,
    )
    log_redaction: bool = setting(
        True,
        "Mask tokens, secrets and e-mail addresses in container logs before Elasticsearch "
        "stores them (ingest pipeline); always on for real data.",
        key="logRedaction",
    )
    log_redact_ips: bool | None = setting(
        None,
        "Mask client IP addresses in container logs too (needs logRedaction); unset = on for "
        "real data, off otherwise.",
        key="logRedactIps",
    )


class AlertingSettings(Domain):
    """Alertmanager's receivers (seed 4.5.2): Slack, email per team, SMS and the ops room."""

    slack_channel: str = setting(
        "#alerts", "Slack channel of technical alerts (seed 4.5.2).", key="alertSlackChannel"
    )
    email_to: str = setting(
        "platform-team@ttbt2.example",
        "Address of critical and warning alerts that carry no team label known to alertTeamEmails.",
        key="alertEmailTo",
    )
    team_emails: dict[str, str] = setting(
        DEFAULT_TEAM_EMAILS,
        "Team label -> address that receives the team's critical and warning alerts; every "
        f"team of the alert catalog ({', '.join(TEAMS)}) needs one.",
        key="alertTeamEmails",
    )
    email_from: str = setting(
        "alertmanager@ttbt2.example", "Sender of alert emails.", key="alertEmailFrom"
    )
    smarthost: str = setting(
        "smtp.ttbt2.example:587", "SMTP relay (host:port).", key="alertSmarthost"
    )
    sms_webhook_url: str = setting(
        "https://sms-gateway.ttbt2.example/alertmanager",
        "HTTPS gateway that sends critical alerts by SMS to the on-call engineers.",
        key="alertSmsWebhookUrl",
    )
    ops_room_webhook_url: str = setting(
        "",
        "HTTPS webhook of the operations-room dashboard, which then receives every alert in "
        "real time; empty = no dashboard.",
        key="alertOpsRoomWebhookUrl",
    )
