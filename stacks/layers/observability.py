"""Observability layer: Prometheus, Alertmanager, Grafana and ELK (seed 4.4-4.6).

Alerts, routing and dashboards come from the pure catalog modules; receiver credentials and the
Grafana admin password from the secret source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components import settings as settings_module
from components.k8s import observability
from components.monitoring import alerts, dashboards, routing
from components.vault.source import SecretSource
from stacks.layers.data import MONITORING_NAMESPACE, Data
from stacks.layers.foundation import Foundation


@dataclass(frozen=True)
class ObservabilityLayer:
    """The observability stack and the namespaces it runs in."""

    stack: observability.Observability
    """Components with ServiceMonitors or alerts wait for it: it installs the operator's CRDs."""
    monitoring_namespace: str
    """Prometheus scrapes from here; every platform namespace admits it."""

    @property
    def namespaces(self) -> Mapping[str, pulumi.Resource]:
        """Each namespace the stack creates, with the component that creates it."""
        return {name: self.stack for name in self.stack.namespace_names}


def observability_layer(
    cfg: settings_module.Settings, base: Foundation, stores: Data, secrets: SecretSource
) -> ObservabilityLayer:
    """Register the metrics, alerting, dashboards and logging of the environment."""
    env = cfg.environment
    alert_routing = routing.alertmanager_config(
        routing.RoutingSettings(
            environment=env,
            slack_channel=cfg.alert_slack_channel,
            email_to=cfg.alert_email_to,
            email_from=cfg.alert_email_from,
            smarthost=cfg.alert_smarthost,
            sms_webhook_url=cfg.alert_sms_webhook_url,
        )
    )
    receiver_credentials = {
        file: secrets.for_consumer(f"alertmanager-{file}") for file in routing.SECRET_FILES
    }
    stack = observability.Observability(
        f"{base.prefix}-observability",
        observability.ObservabilityArgs(
            environment=env,
            namespace=MONITORING_NAMESPACE,
            snapshot_bucket=stores.snapshots.bucket_name,
            snapshot_role_arn=stores.elasticsearch_snapshot_role.arn,
            prometheus_replicas=cfg.prometheus_replicas,
            prometheus_retention=f"{cfg.prometheus_retention_days}d",
            prometheus_storage_gb=cfg.prometheus_storage_gb,
            alertmanager_replicas=cfg.alertmanager_replicas,
            grafana_admin_password=secrets.for_consumer("grafana-admin"),
            rule_groups=alerts.rule_groups(),
            alertmanager_config=alert_routing,
            alertmanager_secret_name="alertmanager-receivers",
            alertmanager_secret_files=routing.SECRET_FILES,
            alertmanager_secret_values={
                k: v for k, v in receiver_credentials.items() if v is not None
            },
            dashboards=dashboards.dashboards(),
            elasticsearch_nodes=cfg.elasticsearch_nodes,
            elasticsearch_storage_gb=cfg.elasticsearch_storage_gb,
            log_retention_days=cfg.log_retention_days,
        ),
        opts=pulumi.ResourceOptions(providers={"kubernetes": base.k8s, "random": base.random}),
    )
    return ObservabilityLayer(stack=stack, monitoring_namespace=stack.namespace_name)
