"""In-cluster observability: the metrics stack and the logging stack, composed.

Seeds 4.4.1 (Prometheus, Grafana, ELK, Alertmanager) and 4.7.1 (backups). The two stacks are
their own components, :class:`~components.k8s.metrics.MetricsStack` (kube-prometheus-stack)
and :class:`~components.k8s.logs.LoggingStack` (ECK); this one creates both, the logging stack
in the namespaces and on the StorageClass the metrics stack creates, so a caller that waits for
"the observability stack" waits for both.

Before the split every resource of both stacks was a direct child of this component: each
carries an alias to that former URN (``<name>-<role>`` under this component), so an update
keeps them all in place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi

from components.aliases import MovedFrom
from components.k8s.logs import (
    ECK_CHART_DIR,
    ELASTICSEARCH_NAME,
    KIBANA_NAME,
    LoggingSettings,
    LoggingStack,
    LoggingStackArgs,
)
from components.k8s.metrics import (
    GRAFANA_ADMIN_SECRET,
    PROMETHEUS_CHART_DIR,
    MetricsStack,
    MetricsStackArgs,
)
from components.k8s.observability_common import SNAPSHOT_SERVICE_ACCOUNT

CRD_DIRS = [PROMETHEUS_CHART_DIR / "crds", ECK_CHART_DIR / "crds"]
"""The vendored CRDs of both stacks' custom resources."""


@dataclass(frozen=True)
class ObservabilityArgs:
    """Arguments of :class:`Observability`: each stack's own."""

    metrics: MetricsStackArgs
    logging: LoggingSettings


class Observability(pulumi.ComponentResource):
    """The metrics stack (``<name>-metrics``) and the logging stack (``<name>-logging``).

    Attributes: ``metrics``, ``logging``, and the namespaces the stacks create or use:
    ``namespace_name`` (monitoring), ``agents_namespace_name`` (node agents) and
    ``eck_namespace_name`` (ECK operator). The Kubernetes and random providers come from
    ``opts`` (``providers={"kubernetes": ..., "random": ...}``).
    """

    def __init__(
        self,
        name: str,
        args: ObservabilityArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:Observability", name, None, opts)
        moved = MovedFrom(parent=self, prefix=name)
        self.metrics = MetricsStack(
            f"{name}-metrics",
            replace(args.metrics, moved_from=moved),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.logging = LoggingStack(
            f"{name}-logging",
            LoggingStackArgs(
                placement=self.metrics.placement, settings=args.logging, moved_from=moved
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace_name = self.metrics.namespace_name
        self.agents_namespace_name = self.metrics.agents_namespace_name
        self.eck_namespace_name = self.logging.eck_namespace_name
        self.namespace_names: tuple[str, ...] = (
            self.namespace_name,
            self.agents_namespace_name,
            self.eck_namespace_name,
        )
        """Every namespace the two stacks create (each gets the platform's baseline policy)."""
        self.register_outputs(
            {
                "namespace": self.namespace_name,
                "agentsNamespace": self.agents_namespace_name,
                "eckNamespace": self.eck_namespace_name,
                "storageClass": args.metrics.storage_class,
                "grafanaAdminSecret": GRAFANA_ADMIN_SECRET,
                "elasticsearch": ELASTICSEARCH_NAME,
                "kibana": KIBANA_NAME,
                "snapshotServiceAccount": SNAPSHOT_SERVICE_ACCOUNT,
            }
        )
