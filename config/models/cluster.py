"""The EKS cluster and its managed node groups."""

from __future__ import annotations

from typing import Literal

from config.fields import Domain, setting
from config.floors import per_environment

CapacityType = Literal["ON_DEMAND", "SPOT"]
NodeGroup = Literal["system", "workload"]
NODE_GROUPS: tuple[NodeGroup, ...] = ("system", "workload")


class ClusterSettings(Domain):
    """The Kubernetes control plane, its API endpoint and the application's namespace."""

    kubernetes_version: str = setting(
        "1.33", "EKS Kubernetes version (major.minor).", key="kubernetesVersion"
    )
    endpoint_public: bool = setting(
        False,
        "Expose the Kubernetes API endpoint publicly (only to the listed CIDRs).",
        key="clusterEndpointPublic",
    )
    public_access_cidrs: list[str] = setting(
        [],
        "CIDRs allowed to reach a public API endpoint; 0.0.0.0/0 is refused.",
        key="clusterPublicAccessCidrs",
    )
    control_plane_log_retention_days: int = setting(
        90,
        "Days EKS control-plane logs are kept in CloudWatch Logs (at least "
        f"{per_environment(lambda f: f.cloudwatch_log_retention_days)}).",
        key="controlPlaneLogRetentionDays",
    )
    single_az_compute: bool = setting(
        False,
        "Place every node in the first availability zone (dev only, saves NAT cost).",
        key="singleAzCompute",
    )
    app_namespace: str = setting(
        "ttbt2", "Kubernetes namespace of the TTBT2 application.", key="appNamespace"
    )
    node_disk_size_gb: int = setting(
        50, "Root volume size of every node, in GiB.", key="nodeDiskSizeGb", ge=20, le=500
    )


_MIN = f"at least {per_environment(lambda f: f.node_group_min_size)}"


class NodeGroupSettings(Domain):
    """The two managed node groups: system (cluster add-ons) and workload (application pods)."""

    system_instance_types: list[str] = setting(
        ["t3.medium"],
        "Instance types of the system node group (cluster add-ons).",
        key="systemNodeInstanceTypes",
    )
    system_min_size: int = setting(
        1, f"Minimum nodes in the system node group ({_MIN}).", key="systemNodeMinSize", ge=0
    )
    system_desired_size: int = setting(
        1, "Initial nodes in the system node group.", key="systemNodeDesiredSize", ge=0
    )
    system_max_size: int = setting(
        2, "Maximum nodes in the system node group.", key="systemNodeMaxSize", ge=1
    )
    workload_instance_types: list[str] = setting(
        ["t3.large"],
        "Instance types of the workloads node group (application pods).",
        key="workloadNodeInstanceTypes",
    )
    workload_min_size: int = setting(
        1, f"Minimum nodes in the workloads node group ({_MIN}).", key="workloadNodeMinSize", ge=0
    )
    workload_desired_size: int = setting(
        1, "Initial nodes in the workloads node group.", key="workloadNodeDesiredSize", ge=0
    )
    workload_max_size: int = setting(
        3, "Maximum nodes in the workloads node group.", key="workloadNodeMaxSize", ge=1
    )
    workload_capacity_type: CapacityType = setting(
        "ON_DEMAND",
        "Capacity of the workloads node group: ON_DEMAND or SPOT (not in prod).",
        key="workloadCapacityType",
    )

    def instance_types(self, group: NodeGroup) -> list[str]:
        """Instance types of one node group."""
        return self.system_instance_types if group == "system" else self.workload_instance_types

    def sizes(self, group: NodeGroup) -> tuple[int, int, int]:
        """``(min, desired, max)`` nodes of one node group."""
        if group == "system":
            return self.system_min_size, self.system_desired_size, self.system_max_size
        return self.workload_min_size, self.workload_desired_size, self.workload_max_size
