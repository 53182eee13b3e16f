"""Rules of the cluster and its node groups: versions, endpoint exposure, sizes, instance types."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from config.constants import ALLOWED_INSTANCE_FAMILIES, GENERAL_FAMILIES, instance_architecture
from config.floors import floors_for
from config.models.cluster import NODE_GROUPS, ClusterSettings, NodeGroupSettings
from config.models.identity import IdentitySettings
from config.problems import Problem, bad, key_of
from config.rules.network import check_log_retention

K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""A Kubernetes object name (RFC 1123 label)."""
_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z]+\d+[a-z]*)\.(?P<size>\w+)$")


def check_cluster(identity: IdentitySettings, cluster: ClusterSettings) -> Iterable[Problem]:
    """A supported version, a valid namespace, a public endpoint only to named CIDRs."""
    if not re.fullmatch(r"1\.(2[89]|3\d)", cluster.kubernetes_version):
        yield bad(cluster, "kubernetes_version", "a supported EKS version, 1.28-1.39")
    if not K8S_NAME.match(cluster.app_namespace):
        yield bad(cluster, "app_namespace", "a Kubernetes namespace name (RFC 1123)")
    if cluster.endpoint_public and not cluster.public_access_cidrs:
        yield bad(
            cluster, "public_access_cidrs", "a public endpoint needs the CIDRs allowed to reach it"
        )
    for i, cidr in enumerate(cluster.public_access_cidrs):
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            yield bad(cluster, "public_access_cidrs", "must be an IPv4 CIDR", index=i)
            continue
        if net.prefixlen == 0:
            yield bad(
                cluster, "public_access_cidrs", "0.0.0.0/0 opens the API to the world", index=i
            )
    yield from check_log_retention(identity, cluster, "control_plane_log_retention_days")


def check_node_groups(identity: IdentitySettings, nodes: NodeGroupSettings) -> Iterable[Problem]:
    """Sizes in order and above the floor; instance families allowed and of one architecture."""
    env = identity.environment
    floor = floors_for(env).node_group_min_size
    for group in NODE_GROUPS:
        low, desired, high = nodes.sizes(group)
        min_key = key_of(nodes, f"{group}_min_size")
        max_key = key_of(nodes, f"{group}_max_size")
        desired_key = key_of(nodes, f"{group}_desired_size")
        if not low <= desired <= high:
            yield bad(
                nodes,
                f"{group}_desired_size",
                f"must satisfy {min_key} ({low}) <= {desired_key} <= {max_key} ({high})",
            )
        if low < floor:
            yield bad(nodes, f"{group}_min_size", f"{env} keeps at least {floor} nodes (HA)")
        yield from _check_instance_types(identity, nodes, f"{group}_instance_types")
    if identity.is_prod and nodes.workload_capacity_type == "SPOT":
        yield bad(nodes, "workload_capacity_type", "prod runs ON_DEMAND capacity")


def _check_instance_types(
    identity: IdentitySettings, nodes: NodeGroupSettings, field: str
) -> Iterable[Problem]:
    types: list[str] = getattr(nodes, field)
    if not types:
        yield bad(nodes, field, "at least one instance type")
    allowed = GENERAL_FAMILIES if identity.is_prod else ALLOWED_INSTANCE_FAMILIES
    architectures = set()
    for i, itype in enumerate(types):
        match = _INSTANCE_TYPE.match(itype)
        family = match.group("family") if match else ""
        if family not in allowed:
            yield bad(
                nodes,
                field,
                "instance family must be one of " + ", ".join(sorted(allowed)),
                index=i,
            )
            continue
        architectures.add(instance_architecture(itype))
    if len(architectures) > 1:
        yield bad(nodes, field, "one node group cannot mix arm64 (Graviton) and x86_64 types")


RULES = (check_cluster, check_node_groups)
