"""Pod autoscaling support: metrics-server for the HPA, and the Vertical Pod Autoscaler.

Seed 4.8.1. metrics-server serves the ``metrics.k8s.io`` API that HorizontalPodAutoscalers
(and ``kubectl top``) read; the VPA recommends (and, outside prod, applies) pod requests. Both
install from the vendored chart versions (``vendor/charts/metrics-server``,
``vendor/charts/vertical-pod-autoscaler``). VerticalPodAutoscaler objects themselves belong to
each service, not here.

Prod is recommendation-only cluster-wide: only the VPA recommender runs there. The updater
(which evicts pods to resize them) and the admission controller (a webhook on every pod
creation) stay off, because prod services scale horizontally on CPU and a VPA changing the
same pods' CPU requests would fight the HPA, and a webhook outage must not stall pod creation
in prod. A prod VerticalPodAutoscaler should say ``updateMode: "Off"``; any other mode simply
has no effect there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi

from components.k8s.charts import CHARTS_DIR, vendored_release
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs

METRICS_SERVER_CHART = "metrics-server"
METRICS_SERVER_REPOSITORY = "https://kubernetes-sigs.github.io/metrics-server/"
METRICS_SERVER_DIR = CHARTS_DIR / METRICS_SERVER_CHART
METRICS_SERVER_NAMESPACE = "kube-system"
"""Where the aggregated ``metrics.k8s.io`` API is expected, next to the other cluster add-ons."""
VPA_CHART = "vertical-pod-autoscaler"
VPA_REPOSITORY = "https://kubernetes.github.io/autoscaler"
VPA_DIR = CHARTS_DIR / VPA_CHART
VPA_NAMESPACE = "vertical-pod-autoscaler"
METRICS_SERVER_FREE_FORM = frozenset({"securityContext", "resources"})
"""metrics-server values passed through whole to the container spec."""
VPA_FREE_FORM = frozenset({"podSecurityContext"})
"""VPA values passed through whole to the pod spec (Kubernetes types them, not values.yaml)."""
VPA_COMPONENTS = ("recommender", "updater", "admissionController")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CRITICAL_ADDONS = [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}]
_RESTRICTED_CONTAINER: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _spread(high_availability: bool) -> list[dict[str, Any]]:
    if not high_availability:
        return []
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": METRICS_SERVER_CHART}},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def metrics_server_values(environment: str) -> dict[str, Any]:
    """metrics-server chart values.

    - Two replicas outside dev, spread over zones and hosts, with a PodDisruptionBudget
      allowing one down: the HPA stops scaling when the metrics API is unavailable.
    - Pod and container security contexts meet the ``restricted`` Pod Security profile
      (non-root, read-only root, no capabilities, RuntimeDefault seccomp).
    - Tolerates the system nodes' ``CriticalAddonsOnly`` taint, so it runs beside the other
      add-ons rather than on nodes Karpenter may remove.
    - TLS: the chart default (metrics-server's own self-signed serving certificate, which the
      API server's aggregation layer does not verify), as in the EKS documentation.
    """
    high_availability = environment != "dev"
    return {
        "replicas": 2 if high_availability else 1,
        "podDisruptionBudget": {"enabled": high_availability, "maxUnavailable": 1},
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {**_RESTRICTED_CONTAINER, "runAsUser": 1000},
        "resources": {
            "requests": {"cpu": "100m", "memory": "200Mi"},
            "limits": {"memory": "400Mi"},
        },
        "tolerations": _CRITICAL_ADDONS,
        "topologySpreadConstraints": _spread(high_availability),
        "metrics": {"enabled": False},
        "serviceMonitor": {"enabled": False},
    }


def vpa_applies_recommendations(environment: str) -> bool:
    """Whether the VPA updater and admission controller run (everywhere but prod)."""
    return environment != "prod"


def vpa_values(environment: str) -> dict[str, Any]:
    """Vertical Pod Autoscaler chart values.

    - The recommender always runs; the updater and the admission controller run only where
      :func:`vpa_applies_recommendations` says so (see the module docstring for prod).
    - Two replicas of each running component outside dev, with leader election and a PDB
      (``minAvailable: 1``); one replica and no PDB in dev, where a PDB of one pod would block
      every node drain.
    - Restricted security contexts on every pod, including the admission controller's
      certificate-generation Job.
    """
    high_availability = environment != "dev"
    applies = vpa_applies_recommendations(environment)
    replicas = 2 if high_availability else 1

    def component(enabled: bool, cpu: str, memory: str) -> dict[str, Any]:
        return {
            "enabled": enabled,
            "replicas": replicas,
            "podDisruptionBudget": {"enabled": high_availability and enabled},
            "resources": {
                "requests": {"cpu": cpu, "memory": memory},
                "limits": {"memory": memory},
            },
            "tolerations": _CRITICAL_ADDONS,
        }

    recommender = component(True, "50m", "500Mi")
    recommender["leaderElection"] = {"enabled": high_availability}
    updater = component(applies, "50m", "256Mi")
    updater["leaderElection"] = {"enabled": high_availability}
    admission = component(applies, "50m", "256Mi")
    admission["certGen"] = {"tolerations": _CRITICAL_ADDONS}
    return {
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": dict(_RESTRICTED_CONTAINER),
        "recommender": recommender,
        "updater": updater,
        "admissionController": admission,
    }


@dataclass(frozen=True)
class PodAutoscalingArgs:
    """Arguments of :class:`PodAutoscaling`: the environment (``dev``, ``staging``, ``prod``)."""

    environment: str

    def __post_init__(self) -> None:
        """Refuse an environment that cannot label Kubernetes objects."""
        if not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")


class PodAutoscaling(pulumi.ComponentResource):
    """metrics-server in ``kube-system`` and the VPA in its own restricted namespace.

    The Kubernetes provider comes from ``opts`` (``providers={"kubernetes": ...}``).
    """

    def __init__(
        self, name: str, args: PodAutoscalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:PodAutoscaling", name, None, opts)
        env_labels = {"environment": args.environment}
        self.metrics_server = vendored_release(
            f"{name}-metrics-server",
            METRICS_SERVER_CHART,
            METRICS_SERVER_DIR,
            repository=METRICS_SERVER_REPOSITORY,
            namespace=METRICS_SERVER_NAMESPACE,
            values=metrics_server_values(args.environment),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.vpa_installation = NamespacedRelease(
            f"{name}-vpa",
            NamespacedReleaseArgs(
                namespace=VPA_NAMESPACE,
                labels=env_labels,
                chart=VPA_CHART,
                chart_directory=VPA_DIR,
                repository=VPA_REPOSITORY,
                values=vpa_values(args.environment),
                # The recommender reads pod usage from the metrics API.
                release_depends_on=[self.metrics_server],
                # Created directly under this component before NamespacedRelease existed.
                namespace_aliases=[pulumi.Alias(name=f"{name}-vpa-namespace", parent=self)],
                release_aliases=[pulumi.Alias(name=f"{name}-vpa", parent=self)],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.vpa_namespace = self.vpa_installation.namespace
        self.vpa = self.vpa_installation.release
        self.register_outputs(
            {
                "metricsServerStatus": self.metrics_server.status,
                "vpaStatus": self.vpa.status,
            }
        )
