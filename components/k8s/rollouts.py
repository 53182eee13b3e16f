"""Argo Rollouts controller: canary and blue-green rollouts of the services.

The services ship as ``Rollout`` objects (from the application configuration repository,
synced by Argo CD); this component installs only the controller and its CRDs, from the
vendored chart version (``vendor/charts/argo-rollouts``), in a restricted namespace of its own.
Its metrics (rollout phases, analysis runs) feed the Deployments dashboard through a
ServiceMonitor, which needs the Prometheus Operator CRDs: the caller makes this component
depend on the observability stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi

from components.k8s.charts import chart_dir
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs

CHART_NAME = "argo-rollouts"
CHART_REPOSITORY = "https://argoproj.github.io/argo-helm"
CHART_DIR = chart_dir(CHART_NAME)
NAMESPACE = "argo-rollouts"
VALUES_FREE_FORM = frozenset({"podSecurityContext", "containerSecurityContext"})
"""Chart values passed through whole to the pod spec: Kubernetes types them, not values.yaml."""
TRAFFIC_PROVIDERS = ("awsLoadBalancerController",)
"""Traffic routers whose RBAC the controller gets: only the ALB the platform runs."""
ALL_PROVIDERS = (
    "istio",
    "smi",
    "ambassador",
    "awsLoadBalancerController",
    "awsAppMesh",
    "traefik",
    "apisix",
    "contour",
    "glooPlatform",
    "gatewayAPI",
)
"""Every provider the chart can grant RBAC for (``providerRBAC.providers`` in values.yaml)."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def helm_values(environment: str) -> dict[str, Any]:
    """The chart values: controller only, hardened, sized, observable.

    - Two controller replicas outside dev (leader election keeps one active), spread across
      zones, with a PodDisruptionBudget allowing one down at a time.
    - Metrics Service and ServiceMonitor on: the Deployments dashboard reads rollout metrics.
    - Dashboard off: it has no authentication of its own; ``kubectl argo rollouts`` and the
      Argo CD UI show rollouts instead.
    - Pod and container security contexts meet the ``restricted`` Pod Security profile.
    - RBAC only for the ALB traffic router (the chart grants RBAC for every mesh and gateway
      by default).
    - CRDs installed and kept on uninstall: deleting them would delete every Rollout.
    """
    high_availability = environment != "dev"
    controller: dict[str, Any] = {
        "replicas": 2 if high_availability else 1,
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        },
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}
        ],
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        "pdb": {"enabled": high_availability, "maxUnavailable": 1},
    }
    if high_availability:
        controller["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
            }
        ]
    return {
        "installCRDs": True,
        "keepCRDs": True,
        "controller": controller,
        "dashboard": {"enabled": False},
        "podSecurityContext": {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "providerRBAC": {
            "enabled": True,
            "providers": {p: p in TRAFFIC_PROVIDERS for p in ALL_PROVIDERS},
        },
    }


@dataclass(frozen=True)
class RolloutsControllerArgs:
    """Arguments of :class:`RolloutsController`."""

    environment: str

    def __post_init__(self) -> None:
        """Refuse an environment that cannot label Kubernetes objects."""
        if not self.environment or not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")


class RolloutsController(pulumi.ComponentResource):
    """Namespace ``argo-rollouts`` (restricted) and the controller's Helm release.

    The Kubernetes provider comes from ``opts`` (``providers={"kubernetes": ...}``).
    """

    def __init__(
        self,
        name: str,
        args: RolloutsControllerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:RolloutsController", name, None, opts)
        self.controller = NamespacedRelease(
            f"{name}-controller",
            NamespacedReleaseArgs(
                namespace=NAMESPACE,
                labels={"environment": args.environment},
                chart=CHART_NAME,
                chart_directory=CHART_DIR,
                repository=CHART_REPOSITORY,
                values=helm_values(args.environment),
                # Created directly under this component before NamespacedRelease existed.
                namespace_aliases=[pulumi.Alias(name=f"{name}-namespace", parent=self)],
                release_aliases=[pulumi.Alias(name=f"{name}-release", parent=self)],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = self.controller.namespace
        self.release = self.controller.release
        self.register_outputs({"namespace": NAMESPACE})
