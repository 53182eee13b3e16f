"""Karpenter: nodes for burst and spot capacity, next to the managed node groups.

Seed 4.8.1. The controller runs in its own restricted namespace from the vendored chart version
(``vendor/charts/karpenter``), on the system nodes (the chart keeps it off the nodes it
provisions), with an IRSA role from :mod:`components.aws.karpenter_iam`. It launches nodes from
one EC2NodeClass built like the managed groups' launch template (AL2023, IMDSv2 with a hop limit
of 1, encrypted gp3 root volume) and from NodePools that follow the environment's capacity
policy: spot allowed in dev and staging, on-demand for whatever any workload may land on in
prod. Karpenter never scales the managed node groups; see docs/autoscaling.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.aws.karpenter_iam import DISCOVERY_TAG, NAMESPACE, SERVICE_ACCOUNT
from components.k8s.charts import chart_dir, vendored_release
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs

CHART_NAME = "karpenter"
CHART_REPOSITORY = "oci://public.ecr.aws/karpenter"
"""Karpenter publishes its charts only as OCI artifacts."""
CRD_CHART_NAME = "karpenter-crd"
"""Companion chart that installs the CRDs as templates, so upgrades also upgrade them."""
CHART_DIR = chart_dir(CHART_NAME)
NODE_CLASS = "default"
NODE_CLASS_API = "karpenter.k8s.aws/v1"
NODE_POOL_API = "karpenter.sh/v1"
AMI_ALIAS = "al2023@latest"
"""Amazon Linux 2023, as the managed node groups. ``@latest`` follows the EKS-optimised AMI;
drift replaces nodes when it changes, within the disruption budgets."""
SPOT_TAINT = {"key": "ttbt2.io/capacity", "value": "spot", "effect": "NoSchedule"}
"""Taint of prod's spot pool: only workloads that tolerate it accept interruptions there."""
TERMINATION_GRACE = "24h"
"""Longest a node drain may wait on pods or PDBs before Karpenter terminates the node anyway."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DURATION = re.compile(r"^([0-9]+(s|m|h))+$")  # the NodePool CRD's pattern, minus "Never"
_RESERVED_TAG = re.compile(
    r"^(kubernetes\.io/cluster/.*|karpenter\.sh/(nodepool|nodeclaim)|"
    r"karpenter\.k8s\.aws/ec2nodeclass|eks:eks-cluster-name)$"
)
_ARCHITECTURES = frozenset({"amd64", "arm64"})
_CATEGORIES = frozenset("acdfghimprtuxz")  # EC2 instance family letters Karpenter labels


def helm_values(
    environment: str,
    cluster_name: str,
    interruption_queue: pulumi.Input[str],
    controller_role_arn: pulumi.Input[str],
) -> dict[str, Any]:
    """The controller chart values.

    - ``settings.clusterName`` and ``settings.interruptionQueue``: the cluster it serves and the
      SQS queue of spot, rebalance, state-change and scheduled-change events.
    - The service account carries the IRSA role; the chart's pods run as non-root with the
      ``RuntimeDefault`` seccomp profile, and tolerate the system nodes' ``CriticalAddonsOnly``
      taint while its affinity keeps them off Karpenter's own nodes.
    - Two replicas outside dev (leader election; the chart's PDB allows one down), one in dev.
    - Requests equal to the memory limit: an evicted provisioner cannot add the nodes that
      would make room for it.
    """
    high_availability = environment != "dev"
    return {
        "replicas": 2 if high_availability else 1,
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": controller_role_arn},
        },
        "controller": {
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"memory": "1Gi"},
            },
        },
        "settings": {
            "clusterName": cluster_name,
            "interruptionQueue": interruption_queue,
        },
        "logLevel": "info",
        "serviceMonitor": {"enabled": False},
    }


@dataclass(frozen=True)
class KarpenterArgs:
    """Arguments of :class:`Karpenter`.

    ``spot_allowed``: dev and staging burst onto spot and on-demand (Karpenter picks the
    cheapest); prod's ``burst`` pool is on-demand whatever this says, and ``spot_allowed``
    there adds a tainted ``burst-spot`` pool, limited to half the limits, for workloads that
    tolerate ``ttbt2.io/capacity=spot``. ``cpu_limit`` (cores) and ``memory_limit_gib`` bound
    what the ``burst`` pool may run at once. ``zones`` restricts nodes to those zones (empty:
    every zone of the discovered subnets). ``node_volume_key_arn`` encrypts root volumes with
    the cluster's node-volume key (``None``: the account's default EBS key).
    """

    environment: str
    cluster_name: str
    interruption_queue: pulumi.Input[str]
    controller_role_arn: pulumi.Input[str]
    node_role_name: pulumi.Input[str]
    spot_allowed: bool
    cpu_limit: int
    memory_limit_gib: int
    node_volume_key_arn: pulumi.Input[str] | None = None
    node_disk_size_gb: int = 50
    zones: list[str] = field(default_factory=list)
    architectures: list[str] = field(default_factory=lambda: ["amd64"])
    instance_categories: list[str] = field(default_factory=lambda: ["c", "m", "r"])
    expire_after: str = "720h"
    consolidate_after: str = "1m"
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse what Karpenter or the API server would reject, before anything is created."""
        if not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")
        if not self.cluster_name:
            raise ValueError("cluster_name must not be empty")
        for what in ("cpu_limit", "memory_limit_gib"):
            value = getattr(self, what)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{what} must be a positive integer, got {value!r}")
        if not 20 <= self.node_disk_size_gb <= 500:
            raise ValueError(
                f"node_disk_size_gb must be between 20 and 500, got {self.node_disk_size_gb!r}"
            )
        if not self.architectures or not set(self.architectures) <= _ARCHITECTURES:
            raise ValueError(
                f"architectures must be a non-empty subset of {sorted(_ARCHITECTURES)}, "
                f"got {self.architectures!r}"
            )
        if not self.instance_categories or not set(self.instance_categories) <= _CATEGORIES:
            raise ValueError(
                "instance_categories must be EC2 family letters "
                f"({''.join(sorted(_CATEGORIES))}), got {self.instance_categories!r}"
            )
        for what in ("expire_after", "consolidate_after"):
            value = getattr(self, what)
            if not _DURATION.match(value):
                raise ValueError(f"{what} must be a duration like 30s, 10m or 720h, got {value!r}")
        reserved = sorted(k for k in self.tags if _RESERVED_TAG.match(k))
        if reserved:
            raise ValueError(f"tags may not set keys Karpenter reserves: {reserved}")


def node_class_spec(
    args: KarpenterArgs,
    node_role_name: Any,
    volume_key_arn: Any = None,
) -> dict[str, Any]:
    """EC2NodeClass spec: the managed groups' launch template, as Karpenter expresses it."""
    ebs: dict[str, Any] = {
        "volumeSize": f"{args.node_disk_size_gb}Gi",
        "volumeType": "gp3",
        "encrypted": True,
        "deleteOnTermination": True,
    }
    if volume_key_arn is not None:
        ebs["kmsKeyID"] = volume_key_arn
    discovery = [{"tags": {DISCOVERY_TAG: args.cluster_name}}]
    return {
        "role": node_role_name,
        "amiSelectorTerms": [{"alias": AMI_ALIAS}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        # Same as the managed groups: IMDSv2 only, and a hop limit of 1 so pods (one hop
        # further) cannot reach the node role's credentials and must use IRSA.
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": ebs}],
        "detailedMonitoring": True,
        "tags": dict(args.tags),
    }


def node_pool_specs(args: KarpenterArgs) -> dict[str, dict[str, Any]]:
    """NodePool name -> spec, per the environment's capacity policy (see :class:`KarpenterArgs`)."""
    prod = args.environment == "prod"

    def requirements(capacity_types: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = [
            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity_types},
            {"key": "kubernetes.io/arch", "operator": "In", "values": list(args.architectures)},
            {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
            {
                "key": "karpenter.k8s.aws/instance-category",
                "operator": "In",
                "values": list(args.instance_categories),
            },
            # Nitro generations only: current prices, ENI density and EBS performance.
            {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["5"]},
        ]
        if args.zones:
            found.append(
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": args.zones}
            )
        return found

    def pool(
        name: str, capacity_types: list[str], cpu: int, memory_gib: int, taints: list[Any]
    ) -> dict[str, Any]:
        template_spec: dict[str, Any] = {
            "nodeClassRef": {
                "group": "karpenter.k8s.aws",
                "kind": "EC2NodeClass",
                "name": NODE_CLASS,
            },
            "requirements": requirements(capacity_types),
            "expireAfter": args.expire_after,
            "terminationGracePeriod": TERMINATION_GRACE,
        }
        if taints:
            template_spec["taints"] = taints
        return {
            "template": {
                "metadata": {"labels": {"ttbt2.io/node-pool": name}},
                "spec": template_spec,
            },
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": args.consolidate_after,
                # Prod replaces at most one node in ten at a time; the others one in five.
                "budgets": [{"nodes": "10%" if prod else "20%"}],
            },
            "limits": {"cpu": str(cpu), "memory": f"{memory_gib}Gi"},
        }

    spot_in_burst = args.spot_allowed and not prod
    pools = {
        "burst": pool(
            "burst",
            ["spot", "on-demand"] if spot_in_burst else ["on-demand"],
            args.cpu_limit,
            args.memory_limit_gib,
            [],
        )
    }
    if prod and args.spot_allowed:
        pools["burst-spot"] = pool(
            "burst-spot",
            ["spot"],
            math.ceil(args.cpu_limit / 2),
            math.ceil(args.memory_limit_gib / 2),
            [dict(SPOT_TAINT)],
        )
    return pools


class Karpenter(pulumi.ComponentResource):
    """Karpenter's CRDs and controller, one EC2NodeClass and the environment's NodePools.

    The CRDs come from the ``karpenter-crd`` chart (same version), so chart upgrades upgrade
    them too; the controller release skips its own copy. The EC2NodeClass and NodePools depend
    on the controller release, whose webhook-free v1 API validates them with CEL.

    The Kubernetes provider comes from ``opts`` (``providers={"kubernetes": ...}``).
    """

    def __init__(
        self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:Karpenter", name, None, opts)
        env_labels = {"environment": args.environment}

        # The namespace comes with the first release installed into it, the CRDs'. Both charts
        # are published together, at the version of the vendored controller chart.
        self.crds = NamespacedRelease(
            f"{name}-crds",
            NamespacedReleaseArgs(
                namespace=NAMESPACE,
                labels=env_labels,
                chart=CRD_CHART_NAME,
                chart_directory=CHART_DIR,
                repository=CHART_REPOSITORY,
                # Created directly under this component before NamespacedRelease existed.
                namespace_aliases=[pulumi.Alias(name=f"{name}-namespace", parent=self)],
                release_aliases=[pulumi.Alias(name=f"{name}-crds", parent=self)],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = self.crds.namespace
        self.crd_release = self.crds.release
        self.release = vendored_release(
            f"{name}-release",
            CHART_NAME,
            CHART_DIR,
            repository=CHART_REPOSITORY,
            namespace=self.namespace.metadata.name,
            values=helm_values(
                args.environment,
                args.cluster_name,
                args.interruption_queue,
                args.controller_role_arn,
            ),
            skip_crds=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.crd_release]),
        )
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[self.release])

        self.node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version=NODE_CLASS_API,
            kind="EC2NodeClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NODE_CLASS, labels=env_labels),
            spec=node_class_spec(args, args.node_role_name, args.node_volume_key_arn),
            opts=after_release,
        )
        self.node_pools: dict[str, k8s.apiextensions.CustomResource] = {}
        for pool_name, spec in node_pool_specs(args).items():
            self.node_pools[pool_name] = k8s.apiextensions.CustomResource(
                f"{name}-pool-{pool_name}",
                api_version=NODE_POOL_API,
                kind="NodePool",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=pool_name, labels=env_labels),
                spec=spec,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.release, self.node_class]
                ),
            )
        self.register_outputs(
            {"namespace": self.namespace.metadata.name, "nodePools": sorted(self.node_pools)}
        )
