"""AWS Load Balancer Controller: ALBs for Ingresses (and NLBs only when a Service asks).

Installed in ``kube-system`` from the vendored chart version
(``vendor/charts/aws-load-balancer-controller``). The controller calls AWS through an IRSA role
that the caller creates for :data:`SERVICE_ACCOUNT` as a
:class:`~components.aws.workload_identity.WorkloadIdentity` holding the document of
:mod:`components.aws.load_balancer_controller_policy`.

Region and VPC are passed explicitly: the node launch template limits IMDSv2 to one hop, so
pods cannot read them from instance metadata (which is the point of that limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.k8s.charts import chart_dir, vendored_release

CHART_NAME = "aws-load-balancer-controller"
CHART_REPOSITORY = "https://aws.github.io/eks-charts"
CHART_DIR = chart_dir(CHART_NAME)
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
"""Service account of the controller pods; the caller's IRSA role must trust exactly it."""
INGRESS_CLASS = "alb"
VALUES_FREE_FORM = frozenset({"podSecurityContext", "securityContext"})
"""Chart values passed through whole to the pod spec: Kubernetes types them, not values.yaml."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def helm_values(
    *,
    environment: str,
    cluster_name: pulumi.Input[str],
    region: str,
    vpc_id: pulumi.Input[str],
    role_arn: pulumi.Input[str],
    service_monitor: bool,
    tags: dict[str, str],
) -> dict[str, Any]:
    """The chart values (may hold Outputs for the cluster name, VPC id and role ARN).

    - ``enableServiceMutatorWebhook: false``: the chart's webhook would make this controller the
      default for every new ``Service`` of type ``LoadBalancer``, so a plain Service would get an
      internet-routable NLB by surprise. A Service that wants an NLB names
      ``loadBalancerClass: service.k8s.aws/nlb``.
    - The ``alb`` IngressClass is created but not made the cluster default: an Ingress must
      name it.
    - Two replicas (leader election keeps one active) spread across zones, one allowed down at
      a time; dev runs one.
    - Restricted pod security: non-root, no privilege escalation, every capability dropped,
      read-only root filesystem, RuntimeDefault seccomp.
    - ``defaultTags`` puts the stack's tags on every load balancer, target group and security
      group the controller creates, so cost and ownership reports see them.
    """
    high_availability = environment != "dev"
    values: dict[str, Any] = {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": 2 if high_availability else 1,
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        "podSecurityContext": {
            "fsGroup": 65534,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        },
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}
        ],
        "enableServiceMutatorWebhook": False,
        "ingressClass": INGRESS_CLASS,
        "createIngressClassResource": True,
        "ingressClassConfig": {"default": False},
        "clusterSecretsPermissions": {"allowAllSecrets": False},
        "defaultTags": dict(tags),
        "serviceMonitor": {"enabled": service_monitor},
    }
    if high_availability:
        # The chart only renders the budget when replicaCount > 1.
        values["podDisruptionBudget"] = {"maxUnavailable": 1}
        values["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {
                    "matchLabels": {"app.kubernetes.io/name": CHART_NAME},
                },
            }
        ]
    return values


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    """Arguments of :class:`LoadBalancerController`.

    ``role_arn`` is the IRSA role trusted for ``kube-system/aws-load-balancer-controller``
    (:data:`SERVICE_ACCOUNT`). ``service_monitor`` needs the Prometheus Operator CRDs: make the
    component depend on the observability stack when it is on. ``tags`` go on every AWS
    resource the controller creates.
    """

    environment: str
    cluster_name: pulumi.Input[str]
    region: str
    vpc_id: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    service_monitor: bool = True
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse what the chart or AWS would reject, before anything is created."""
        if not self.environment or not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")
        if not re.match(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$", self.region):
            raise ValueError(f"region must be an AWS region such as eu-west-1, got {self.region!r}")
        for key, value in self.tags.items():
            if key.lower().startswith("aws:") or not key:
                raise ValueError(f"tags: key {key!r} is reserved or empty")
            if not isinstance(value, str):
                raise ValueError(f"tags: value of {key!r} must be a string, got {value!r}")


class LoadBalancerController(pulumi.ComponentResource):
    """The controller's Helm release in ``kube-system``.

    The Kubernetes provider comes from ``opts`` (``providers={"kubernetes": ...}``).
    """

    def __init__(
        self,
        name: str,
        args: LoadBalancerControllerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:LoadBalancerController", name, None, opts)
        self.release = vendored_release(
            f"{name}-release",
            CHART_NAME,
            CHART_DIR,
            repository=CHART_REPOSITORY,
            namespace=NAMESPACE,
            values=helm_values(
                environment=args.environment,
                cluster_name=args.cluster_name,
                region=args.region,
                vpc_id=args.vpc_id,
                role_arn=args.role_arn,
                service_monitor=args.service_monitor,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ingress_class = INGRESS_CLASS
        self.register_outputs({"namespace": NAMESPACE, "ingressClass": INGRESS_CLASS})
