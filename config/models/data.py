"""The data stores: PostgreSQL (seed 4.7.1) and the cache (seed 4.8.2)."""

from __future__ import annotations

from typing import Literal

from config.fields import Domain, setting
from config.floors import per_environment

CacheEngine = Literal["valkey", "redis"]
EvictionPolicy = Literal[
    "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "volatile-ttl"
]


class DatabaseSettings(Domain):
    """The RDS PostgreSQL instance: size, backups (daily snapshots and transaction logs)."""

    instance_class: str = setting(
        "db.t4g.medium", "RDS instance class (no burstable db.t* in prod).", key="dbInstanceClass"
    )
    engine_version: str = setting(
        "17", "PostgreSQL major version (16 or 17).", key="dbEngineVersion"
    )
    allocated_storage_gb: int = setting(
        20,
        "Initial storage of the database, in GiB.",
        key="dbAllocatedStorageGb",
        ge=20,
        le=65536,
    )
    max_allocated_storage_gb: int = setting(
        100,
        "Ceiling for storage autoscaling, in GiB (>= the initial storage).",
        key="dbMaxAllocatedStorageGb",
    )
    backup_retention_days: int = setting(
        7,
        "Days of automated backups and point-in-time recovery; the AWS Backup daily recovery "
        "points and Velero's daily backups are kept as long. At least "
        f"{per_environment(lambda f: f.backup_retention_days)}.",
        key="dbBackupRetentionDays",
        ge=1,
        le=35,
    )
    multi_az: bool = setting(
        False, "Standby in a second zone (required in staging and prod).", key="dbMultiAz"
    )
    performance_insights_retention_days: int = setting(
        7,
        "Performance Insights retention: 7, or a multiple of 31 up to 731 days.",
        key="dbPerformanceInsightsRetentionDays",
    )
    monitoring_interval_seconds: int = setting(
        60,
        "Enhanced monitoring interval: 1, 5, 10, 15, 30 or 60 seconds.",
        key="dbMonitoringIntervalSeconds",
    )
    name: str = setting("ttbt2", "Name of the application database.", key="dbName")
    master_username: str = setting(
        "ttbt2_admin",
        "Master user; its password is generated and rotated by RDS.",
        key="dbMasterUsername",
    )


class CacheSettings(Domain):
    """The ElastiCache replication group in front of the API (seed 4.8.2)."""

    engine: CacheEngine = setting(
        "valkey", "ElastiCache engine: valkey or redis.", key="cacheEngine"
    )
    engine_version: str = setting(
        "8.0", "Engine version (valkey 7.2/8.0/8.1, redis 7.0/7.1).", key="cacheEngineVersion"
    )
    node_type: str = setting(
        "cache.t4g.small", "Node type (no burstable cache.t* in prod).", key="cacheNodeType"
    )
    nodes: int = setting(
        1,
        f"Nodes (primary plus replicas); at least {per_environment(lambda f: f.cache_nodes)}.",
        key="cacheNodes",
        ge=1,
        le=6,
    )
    snapshot_retention_days: int = setting(
        1,
        "Days of daily cache snapshots; at least "
        f"{per_environment(lambda f: f.cache_snapshot_retention_days)}.",
        key="cacheSnapshotRetentionDays",
        ge=0,
        le=35,
    )
    eviction_policy: EvictionPolicy = setting(
        "allkeys-lru",
        "maxmemory-policy: how the cache evicts keys when full.",
        key="cacheEvictionPolicy",
    )
    clients: list[str] = setting(
        [],
        "Services that connect to the cache, each as an IAM-authenticated user "
        "<prefix>-cache-<service> its IRSA role may connect as (seed 4.9.1: no static token).",
        key="cacheClients",
    )
