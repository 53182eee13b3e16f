"""What the metrics stack and the logging stack share: namespaces, volumes and a few names.

Both stacks run in the monitoring namespace (:data:`MONITORING_NAMESPACE` by default), both
have a node agent in its privileged companion (:func:`agents_namespace`: node-exporter and
Filebeat), and both keep their data on the encrypted StorageClass. The metrics stack creates
those three objects and hands them to the logging stack as a :class:`MonitoringPlacement`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi_kubernetes as k8s

MONITORING_NAMESPACE = "monitoring"
"""Default namespace of Prometheus, Alertmanager, Grafana, Elasticsearch and Kibana."""
ECK_NAMESPACE = "elastic-system"
"""Namespace of the ECK operator."""
SNAPSHOT_SERVICE_ACCOUNT = "elasticsearch-snapshots"
"""Service account of the Elasticsearch pods (in the monitoring namespace); the caller's IRSA
role for the snapshots must trust exactly it."""
STORAGE_CLASS = "gp3-encrypted"
"""Default name of the encrypted StorageClass both stacks' volumes use."""

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def agents_namespace(namespace: str) -> str:
    """The privileged namespace of the node agents (node-exporter, Filebeat)."""
    return f"{namespace}-node-agents"


def check_dns_labels(**values: str) -> None:
    """Refuse any value that is not a DNS label, naming its argument."""
    for what, value in values.items():
        if not DNS_LABEL.match(value):
            raise ValueError(f"{what} must be a DNS label, got {value!r}")


def check_positive(**values: int) -> None:
    """Refuse any value that is not a positive integer, naming its argument."""
    for what, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{what} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class MonitoringPlacement:
    """Where the logging stack puts its objects, as the metrics stack created them.

    The monitoring namespace (Elasticsearch, Kibana, the snapshot service account, the setup
    Job), the node agents' namespace (Filebeat) and the StorageClass (Elasticsearch data), each
    as its name and as the resource that creates it (what children wait for).
    """

    environment: str
    namespace_name: str
    namespace: k8s.core.v1.Namespace
    agents_namespace_name: str
    agents_namespace: k8s.core.v1.Namespace
    storage_class_name: str
    storage_class: k8s.storage.v1.StorageClass

    @property
    def labels(self) -> dict[str, str]:
        """Labels of every object of both stacks."""
        return {"environment": self.environment}
