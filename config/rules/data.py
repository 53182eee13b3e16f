"""Rules of the data stores: classes, versions, backups and failover per environment."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.constants import CACHE_VERSIONS
from config.fields import bounds
from config.floors import floors_for
from config.models.data import CacheSettings, DatabaseSettings
from config.models.delivery import DeliverySettings
from config.models.identity import IdentitySettings
from config.problems import Problem, bad, key_of

_DB_CLASS = re.compile(r"^db\.(?P<family>[a-z0-9]+)\.\w+$")
_CACHE_NODE = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.\w+$")
_PG_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def check_database(identity: IdentitySettings, db: DatabaseSettings) -> Iterable[Problem]:
    """Class, version, storage, backups (seed 4.7.1) and Multi-AZ per environment."""
    env = identity.environment
    floors = floors_for(env)
    match = _DB_CLASS.match(db.instance_class)
    if not match:
        yield bad(db, "instance_class", "an RDS class such as db.m7g.large")
    elif identity.is_prod and match.group("family").startswith("t"):
        yield bad(db, "instance_class", "prod runs no burstable db.t* class")
    if db.engine_version not in ("16", "17"):
        yield bad(db, "engine_version", "PostgreSQL major version 16 or 17")
    if db.max_allocated_storage_gb < db.allocated_storage_gb:
        yield bad(
            db,
            "max_allocated_storage_gb",
            f"at least {key_of(db, 'allocated_storage_gb')} ({db.allocated_storage_gb})",
        )
    if db.backup_retention_days < floors.backup_retention_days:
        _, most = bounds(DatabaseSettings.model_fields["backup_retention_days"])
        yield bad(
            db,
            "backup_retention_days",
            f"{env} keeps {floors.backup_retention_days} to {most} days of backups",
        )
    if floors.multi_az_database and not db.multi_az:
        yield bad(db, "multi_az", f"{env} runs a Multi-AZ database")
    pi_days = db.performance_insights_retention_days
    if pi_days != 7 and not (pi_days % 31 == 0 and 31 <= pi_days <= 731):
        yield bad(db, "performance_insights_retention_days", "7, or a multiple of 31 up to 731")
    if db.monitoring_interval_seconds not in (1, 5, 10, 15, 30, 60):
        yield bad(
            db,
            "monitoring_interval_seconds",
            "1, 5, 10, 15, 30 or 60 (enhanced monitoring stays on)",
        )
    for field in ("name", "master_username"):
        value = getattr(db, field)
        if not _PG_NAME.fullmatch(value) or value in ("postgres", "admin"):
            yield bad(db, field, "lowercase letters, digits, _; not a reserved name")


def check_cache(identity: IdentitySettings, cache: CacheSettings) -> Iterable[Problem]:
    """Engine version, node type, failover and snapshots per environment (seed 4.8.2)."""
    env = identity.environment
    floors = floors_for(env)
    versions = CACHE_VERSIONS[cache.engine]
    if cache.engine_version not in versions:
        yield bad(cache, "engine_version", f"{cache.engine} versions: " + ", ".join(versions))
    match = _CACHE_NODE.match(cache.node_type)
    if not match:
        yield bad(cache, "node_type", "a node type such as cache.m7g.large")
    elif identity.is_prod and match.group("family").startswith("t"):
        yield bad(cache, "node_type", "prod runs no burstable cache.t* node")
    if cache.nodes < floors.cache_nodes:
        yield bad(cache, "nodes", f"{env} needs {floors.cache_nodes}+ nodes to fail over")
    if cache.snapshot_retention_days < floors.cache_snapshot_retention_days:
        yield bad(
            cache,
            "snapshot_retention_days",
            f"{env} keeps {floors.cache_snapshot_retention_days} or more",
        )


def check_cache_clients(cache: CacheSettings, delivery: DeliverySettings) -> Iterable[Problem]:
    """Every cache client is a declared service: its IRSA role is what connects."""
    services = [svc.name for svc in delivery.services]
    for i, client in enumerate(cache.clients):
        if client not in services:
            allowed = ", ".join(services) if services else "none declared"
            yield bad(cache, "clients", f"a service of ttbt2:services ({allowed})", index=i)
    if len(set(cache.clients)) != len(cache.clients):
        yield bad(cache, "clients", "each service once", value=cache.clients)


RULES = (check_database, check_cache, check_cache_clients)
