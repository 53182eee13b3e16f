"""Observability layer: Prometheus, Alertmanager, Grafana and ELK (seed 4.4-4.6).

Alerts, routing and dashboards come from the pure catalog modules; receiver credentials, the
Grafana admin password and Grafana's OIDC client secret from the secret source. The CloudWatch
exporters (:mod:`stacks.layers.cloudwatch_metrics`) feed the alerts on AWS-managed services;
:mod:`stacks.layers.probes_and_scans` produces the probe and image-scan metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.k8s import observability
from components.k8s.dashboard_sso import VAULT_CONSUMERS as SSO_CONSUMERS
from components.k8s.logs import LoggingSettings
from components.k8s.metrics import MetricsStackArgs
from components.k8s.observability_common import MONITORING_NAMESPACE
from components.monitoring import alerts, credential_expiry, dashboards, routing
from components.rotation import rotation_window
from components.vault.source import SecretSource
from config import Settings
from config.constants import THIRD_PARTY_CONSUMERS
from stacks.layers.cloudwatch_metrics import cloudwatch_exporter
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation
from stacks.layers.probes_and_scans import ProbesAndScans, probes_and_scans
from stacks.layers.sso import dashboard_sso


@dataclass(frozen=True)
class ObservabilityLayer:
    """The observability stack and the namespaces it runs in."""

    stack: observability.Observability
    """Components with ServiceMonitors or alerts wait for it: it installs the operator's CRDs."""
    monitoring_namespace: str
    """Prometheus scrapes from here; every platform namespace admits it."""
    probes_and_scans: ProbesAndScans
    """The blackbox exporter (whose probes each service's namespace admits) and trivy-operator."""

    @property
    def namespaces(self) -> Mapping[str, pulumi.Resource]:
        """Each namespace the layer creates, with the component that creates it."""
        owners: dict[str, pulumi.Resource] = {
            name: self.stack for name in self.stack.namespace_names
        }
        owners.update(self.probes_and_scans.namespaces)
        return owners

    @property
    def prober_namespace(self) -> str:
        """Namespace of the blackbox exporter, which probes the services' health paths."""
        return self.probes_and_scans.blackbox.namespace_name


def _metrics_stack_args(cfg: Settings, secrets: SecretSource) -> MetricsStackArgs:
    """Prometheus, Alertmanager and Grafana as the environment runs them, with its alerts.

    The same in the DR region when it is active (:mod:`stacks.layers.dr_active`): the canary
    analyses of the services query that region's Prometheus.
    """
    env = cfg.identity.environment
    alert_settings = routing.RoutingSettings(
        environment=env,
        slack_channel=cfg.alerting.slack_channel,
        email_to=cfg.alerting.email_to,
        email_from=cfg.alerting.email_from,
        smarthost=cfg.alerting.smarthost,
        sms_webhook_url=cfg.alerting.sms_webhook_url,
        team_emails=cfg.alerting.team_emails,
        dashboard_webhook_url=cfg.alerting.ops_room_webhook_url or None,
    )
    alert_routing = routing.alertmanager_config(alert_settings)
    alert_secret_files = routing.secret_files(alert_settings)
    # Single sign-on (ttbt2:sso*): Grafana's sign-in lives in the chart's values; the load
    # balancer side is the dashboard access layer's.
    grafana = dashboard_sso(cfg).grafana
    receiver_credentials = {
        file: secrets.for_consumer(f"alertmanager-{file}") for file in alert_secret_files
    }
    return MetricsStackArgs(
        environment=env,
        namespace=MONITORING_NAMESPACE,
        prometheus_replicas=cfg.observability.prometheus_replicas,
        retention_days=cfg.observability.prometheus_retention_days,
        prometheus_storage_gb=cfg.observability.prometheus_storage_gb,
        alertmanager_replicas=cfg.observability.alertmanager_replicas,
        # Generated, replaced in each rotation window; SSO is the everyday way in.
        grafana_break_glass_window=rotation_window(cfg.sso.grafana_break_glass_rotation_days),
        rule_groups=[*alerts.rule_groups(), *_credential_expiry_groups(secrets)],
        alertmanager_config=alert_routing,
        alertmanager_secret_name="alertmanager-receivers",
        alertmanager_secret_files=alert_secret_files,
        alertmanager_secret_values={k: v for k, v in receiver_credentials.items() if v is not None},
        dashboards=dashboards.dashboards(),
        grafana_sso=grafana,
        grafana_oidc_client_secret=(
            secrets.for_consumer(SSO_CONSUMERS[0]) if grafana is not None else None
        ),
    )


def observability_layer(
    cfg: Settings, base: Foundation, stores: Data, secrets: SecretSource
) -> ObservabilityLayer:
    """Register the metrics, alerting, dashboards and logging of the environment."""
    kibana = dashboard_sso(cfg).kibana
    stack = observability.Observability(
        f"{base.prefix}-observability",
        observability.ObservabilityArgs(
            metrics=_metrics_stack_args(cfg, secrets),
            logging=LoggingSettings(
                snapshot_bucket=stores.snapshots.bucket_name,
                snapshot_role_arn=stores.elasticsearch_snapshot_role.arn,
                elasticsearch_nodes=cfg.observability.elasticsearch_nodes,
                elasticsearch_storage_gb=cfg.observability.elasticsearch_storage_gb,
                log_retention_days=cfg.observability.log_retention_days,
                redact_logs=cfg.observability.log_redaction,
                redact_ips=cfg.redact_log_ips,
                kibana_public_url=kibana.public_url if kibana is not None else "",
            ),
        ),
        opts=pulumi.ResourceOptions(providers={"kubernetes": base.k8s, "random": base.random}),
    )
    # AWS-managed services (RDS, ElastiCache, ALB, CloudFront, WAF) from CloudWatch.
    cloudwatch_exporter(cfg, base, stores, stack)
    return ObservabilityLayer(
        stack=stack,
        monitoring_namespace=stack.namespace_name,
        probes_and_scans=probes_and_scans(cfg, base, stores, stack),
    )


def _credential_expiry_groups(secrets: SecretSource) -> list[dict[str, Any]]:
    """The third-party credentials' expiry dates, for alert CredentialExpiringSoon."""
    known = {c: secrets.expiry(c) for c in THIRD_PARTY_CONSUMERS}
    group = credential_expiry.expiry_rule_group({c: t for c, t in known.items() if t is not None})
    return [group] if group is not None else []
