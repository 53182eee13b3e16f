"""The per-environment floors of the platform: one table, read by everything that enforces them.

The stack settings refuse a value under its environment's floor, the components default to it
and this pack's policies default their configuration to it, so a floor is changed here once.
The module is plain data with no imports from the rest of the project: the pack is loaded on
its own from ``policies/`` (as ``ttbt2_policies``), and the settings import it from the
repository root (as ``policies.ttbt2_policies.floors``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Floors:
    """The least an environment may run with (seed 4.2 and 4.7)."""

    backup_retention_days: int
    """Days of database automated backups, AWS Backup daily recovery points and Velero daily
    backups (``ttbt2:dbBackupRetentionDays`` is the one knob; it may not go lower)."""
    multi_az_database: bool
    """The database runs a standby in a second zone."""
    availability_zones: int
    """Zones the VPC spans."""
    nat_per_zone: bool
    """One NAT gateway per zone, so a zone failure leaves egress in the others."""
    spread_nodes: bool
    """Nodes spread over every zone (no single-zone compute)."""
    node_group_min_size: int
    """Nodes each managed node group keeps at its minimum."""
    cache_nodes: int
    """Cache nodes (primary plus replicas); two or more can fail over."""
    cache_snapshot_retention_days: int
    """Days of daily cache snapshots."""
    cloudwatch_log_retention_days: int
    """Days VPC flow logs and EKS control-plane logs stay in CloudWatch Logs."""
    access_log_retention_days: int
    """Days S3 and CloudFront access logs are kept."""
    prometheus_replicas: int
    """Prometheus replicas."""
    alertmanager_replicas: int
    """Alertmanager replicas (three form an HA cluster)."""
    elasticsearch_nodes: int
    """Elasticsearch nodes (three form a master quorum)."""
    service_min_replicas: int
    """Replicas every application service keeps, so a node drain leaves a pod serving."""


FLOORS: Mapping[str, Floors] = {
    "dev": Floors(
        backup_retention_days=7,
        multi_az_database=False,
        availability_zones=2,
        nat_per_zone=False,
        spread_nodes=False,
        node_group_min_size=0,
        cache_nodes=1,
        cache_snapshot_retention_days=0,
        cloudwatch_log_retention_days=1,
        access_log_retention_days=1,
        prometheus_replicas=1,
        alertmanager_replicas=1,
        elasticsearch_nodes=1,
        service_min_replicas=1,
    ),
    "staging": Floors(
        backup_retention_days=14,
        multi_az_database=True,
        availability_zones=2,
        nat_per_zone=False,
        spread_nodes=True,
        node_group_min_size=2,
        cache_nodes=2,
        cache_snapshot_retention_days=0,
        cloudwatch_log_retention_days=1,
        access_log_retention_days=1,
        prometheus_replicas=1,
        alertmanager_replicas=1,
        elasticsearch_nodes=1,
        service_min_replicas=2,
    ),
    "prod": Floors(
        backup_retention_days=35,
        multi_az_database=True,
        availability_zones=3,
        nat_per_zone=True,
        spread_nodes=True,
        node_group_min_size=2,
        cache_nodes=2,
        cache_snapshot_retention_days=7,
        cloudwatch_log_retention_days=365,
        access_log_retention_days=365,
        prometheus_replicas=2,
        alertmanager_replicas=3,
        elasticsearch_nodes=3,
        service_min_replicas=2,
    ),
}
"""Floors per environment (stack name)."""

UNLISTED_STACK = "dev"
"""A stack the table does not list (a personal or drill stack) gets this environment's floors."""


def floors_for(stack: str) -> Floors:
    """The floors of a stack or environment; unlisted names get :data:`UNLISTED_STACK`'s."""
    return FLOORS.get(stack, FLOORS[UNLISTED_STACK])


def per_stack(pick: Callable[[Floors], int]) -> dict[str, int]:
    """One floor for every listed stack, e.g. ``per_stack(lambda f: f.cache_nodes)``."""
    return {stack: pick(floors) for stack, floors in FLOORS.items()}


def describe(pick: Callable[[Floors], int]) -> str:
    """One floor in words for a policy description: ``dev 7, staging 14, prod 35, others 7``."""
    listed = ", ".join(f"{stack} {value}" for stack, value in per_stack(pick).items())
    return f"{listed}, others {pick(floors_for(''))}"
