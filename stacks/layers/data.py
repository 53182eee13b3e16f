"""Data layer: buckets, database, cache, edge, backups, the backup store and the DR pilot light.

Every store carries the AWS Backup selection tag of its environment and its data classification
(``cfg.data_tags``, seed 4.2); the snapshot store gives each writer in the cluster
(Elasticsearch snapshots, Velero) a role limited to its own prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.alb_logs import alb_log_grants
from components.aws.backup import BackupPlan, BackupPlanArgs, selection_tag
from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.aws.cache import RedisCache, RedisCacheArgs
from components.aws.cdn import Cdn, CdnArgs
from components.aws.database import BackupCopy, Database, DatabaseArgs
from components.aws.pilot_light import PilotLight, PilotLightArgs, ReplicatedBucket
from components.aws.snapshots import SnapshotStore, SnapshotStoreArgs
from components.k8s import velero
from components.k8s.observability_common import MONITORING_NAMESPACE, SNAPSHOT_SERVICE_ACCOUNT
from components.vault.source import SecretSource
from config import Settings
from config.constants import ORIGIN_VERIFY_CONSUMER
from policies.ttbt2_policies.data_seed import require_anonymised_tags
from stacks.layers.foundation import Foundation


@dataclass(frozen=True)
class Data:
    """The data stores, and what the cluster's writers and readers of backups need."""

    logs: SecureBucket
    """Access logs (SSE-S3: S3 cannot deliver them to SSE-KMS)."""
    user_data: SecureBucket
    database: Database
    cache: RedisCache
    cdn: Cdn
    backup: BackupPlan
    snapshots: SnapshotStore
    """The backup store of the cluster's writers (Elasticsearch, Velero, exports)."""
    elasticsearch_snapshot_role: aws.iam.Role
    """Writes Elasticsearch snapshots to the store's ``elasticsearch/<env>`` prefix."""
    velero_prefix: str
    velero_role: aws.iam.Role
    """Writes Velero backups to :attr:`velero_prefix`."""
    export_reader_role: aws.iam.Role
    """Reads the backup exports (``exports/<env>``) for the copy to Azure."""
    pilot_light: PilotLight | None
    """The DR region's pilot light; None without a DR region."""


def data(cfg: Settings, base: Foundation, secrets: SecretSource) -> Data:
    """Register the environment's data stores and their backups."""
    env = cfg.identity.environment
    # Data stores carry this tag to be selected by the AWS Backup plan of their environment.
    backup_tags = dict([selection_tag(env)])
    logs, user_data = _buckets(cfg, base, backup_tags)
    database = _database(cfg, base, backup_tags)
    cache = _cache(cfg, base)
    cdn = _cdn(cfg, base, logs, secrets)
    backup = _backup_plan(cfg, base)

    # Backups written from the cluster (Elasticsearch snapshots, seed 4.7.1), each writer limited
    # to its own prefix.
    snapshots_prefix = f"elasticsearch/{env}"
    velero_prefix = f"velero/{env}"
    exports_prefix = f"exports/{env}"
    snapshots = SnapshotStore(
        f"{base.prefix}-snapshots",
        SnapshotStoreArgs(
            context=base.aws_ctx,
            tags=cfg.data_tags,
            cluster=base.cluster,
            log_bucket=logs.id,
            writers={
                snapshots_prefix: (MONITORING_NAMESPACE, SNAPSHOT_SERVICE_ACCOUNT),
                velero_prefix: (velero.NAMESPACE, velero.SERVICE_ACCOUNT),
            },
            # The copy to Azure reads every backup export and writes none.
            readers={exports_prefix: (cfg.cluster.app_namespace, "backup-copy")},
            # The hourly writers' prefixes (stacks/layers/backup_writers.py) are kept this long.
            expire_days={
                exports_prefix: cfg.recovery.export_retention_days,
                f"vault/{env}": cfg.recovery.export_retention_days,
            },
            protect=base.protect,
            backup_tags=backup_tags,
        ),
        opts=base.on_aws,
    )
    return Data(
        logs=logs,
        user_data=user_data,
        database=database,
        cache=cache,
        cdn=cdn,
        backup=backup,
        snapshots=snapshots,
        elasticsearch_snapshot_role=snapshots.roles[snapshots_prefix],
        velero_prefix=velero_prefix,
        velero_role=snapshots.roles[velero_prefix],
        export_reader_role=snapshots.reader_roles[exports_prefix],
        pilot_light=_pilot_light(cfg, base, user_data, database, snapshots),
    )


def _buckets(
    cfg: Settings, base: Foundation, backup_tags: dict[str, str]
) -> tuple[SecureBucket, SecureBucket]:
    """Shared buckets: access logs and user data.

    Access logs land in an SSE-S3 bucket (S3 cannot deliver them to SSE-KMS, nor can the load
    balancers) that keeps ACLs for CloudFront's log delivery; user data is versioned and
    KMS-encrypted.
    """
    # The load balancers the Ingresses create write their access logs here too.
    alb_grants = alb_log_grants(
        aws.elb.get_service_account_output(
            region=cfg.network.aws_region,
            opts=pulumi.InvokeOutputOptions(provider=base.aws_primary),
        ).arn,
        base.aws_ctx.account_id,
    )
    logs = SecureBucket(
        f"{base.prefix}-logs",
        SecureBucketArgs(
            # Request logs name users (paths, IPs): the logs bucket is a data store too.
            tags={**cfg.data_tags, "purpose": "access-logs"},
            kms_key_arn=None,
            acl_log_delivery=True,
            expire_days=cfg.edge.access_log_retention_days,
            noncurrent_expire_days=30,
            protect=base.protect,
            policy_statements=list(alb_grants),
        ),
        opts=base.on_aws,
    )
    user_data = SecureBucket(
        f"{base.prefix}-user-data",
        SecureBucketArgs(
            tags={**cfg.data_tags, "purpose": "user-data", **backup_tags},
            kms_key_arn=base.keys.user_data.arn,
            log_bucket=logs.id,
            protect=base.protect,
        ),
        opts=base.on_aws,
    )
    return logs, user_data


def _database(
    cfg: Settings,
    base: Foundation,
    backup_tags: dict[str, str],
    *,
    restore_automated_backups_arn: pulumi.Input[str] | None = None,
    backup_copy: BackupCopy | None = None,
) -> Database:
    """PostgreSQL in the isolated subnets, reachable from the cluster only.

    In the DR region when it is active (:mod:`stacks.layers.dr_active`), restored from the
    automated backups replicated there (``restore_automated_backups_arn``), its own backups
    copied back (``backup_copy``).
    """
    return Database(
        f"{base.prefix}-db",
        DatabaseArgs(
            context=base.aws_ctx,
            tags=cfg.data_tags,
            vpc_id=base.network.vpc_id,
            subnet_ids=base.network.isolated_subnet_ids,
            client_security_group_id=base.cluster.security_group_id,
            instance_class=cfg.database.instance_class,
            engine_version=cfg.database.engine_version,
            allocated_storage_gb=cfg.database.allocated_storage_gb,
            max_allocated_storage_gb=cfg.database.max_allocated_storage_gb,
            backup_retention_days=cfg.database.backup_retention_days,
            multi_az=cfg.database.multi_az,
            performance_insights_retention_days=cfg.database.performance_insights_retention_days,
            monitoring_interval_seconds=cfg.database.monitoring_interval_seconds,
            db_name=cfg.database.name,
            master_username=cfg.database.master_username,
            log_retention_days=cfg.cluster.control_plane_log_retention_days,
            restore_snapshot=(
                "" if restore_automated_backups_arn is not None else _seed_snapshot(cfg, base)
            ),
            restore_automated_backups_arn=restore_automated_backups_arn,
            backup_copy=backup_copy,
            production=base.protect,
            backup_tags=backup_tags,
        ),
        opts=base.on_aws,
    )


def _seed_snapshot(cfg: Settings, base: Foundation) -> pulumi.Input[str]:
    """The snapshot the database starts from; outside prod, only once its tags prove it anonymised.

    Settings have checked the name already (an anonymisation output's); here the snapshot is
    looked up in the stack's account and must carry ``ttbt2:anonymised=true``, which only the
    pipeline sets, or the deploy stops before the database is created.
    """
    name = cfg.identity.data_source_snapshot
    if not name or cfg.is_prod:
        return name
    snapshot = aws.rds.get_snapshot_output(
        db_snapshot_identifier=name,
        opts=pulumi.InvokeOutputOptions(provider=base.aws_primary),
    )
    return snapshot.tags.apply(lambda tags: require_anonymised_tags(name, tags))


def _cache(cfg: Settings, base: Foundation) -> RedisCache:
    """Valkey/Redis in the private subnets, reachable from the cluster only, IAM-authenticated."""
    return RedisCache(
        f"{base.prefix}-cache",
        RedisCacheArgs(
            context=base.aws_ctx,
            tags=cfg.data_tags,
            vpc_id=base.network.vpc_id,
            subnet_ids=base.network.private_subnet_ids,
            client_security_group_id=base.cluster.security_group_id,
            engine=cfg.cache.engine,
            engine_version=cfg.cache.engine_version,
            node_type=cfg.cache.node_type,
            nodes=cfg.cache.nodes,
            snapshot_retention_days=cfg.cache.snapshot_retention_days,
            eviction_policy=cfg.cache.eviction_policy,
            log_retention_days=cfg.cluster.control_plane_log_retention_days,
            # Each client service connects as its own IAM-authenticated user: no static token.
            clients=tuple(cfg.cache.clients),
            production=base.protect,
        ),
        opts=base.on_aws,
    )


def _cdn(cfg: Settings, base: Foundation, logs: SecureBucket, secrets: SecretSource) -> Cdn:
    """CloudFront and its web ACL in front of the API and the static assets.

    It sends the load balancer the secret origin header (Vault consumer
    ``cdn-origin-verify``), and in dev and staging lets only the audience's networks in, plus
    the VPC's NAT addresses (in-cluster probes of the public URL).
    """
    return Cdn(
        f"{base.prefix}-edge",
        CdnArgs(
            context=base.aws_ctx,
            tags=cfg.tags,
            api_origin_host=cfg.edge.api_origin_host,
            log_bucket_id=logs.id,
            log_bucket_domain_name=logs.bucket.bucket_domain_name,
            edge_provider=base.aws_edge,
            domain=cfg.edge.cdn_domain,
            hosted_zone_id=cfg.edge.cdn_hosted_zone_id,
            api_public_paths=tuple(cfg.edge.api_public_paths),
            static_paths=tuple(cfg.edge.static_paths),
            price_class=cfg.edge.cdn_price_class,
            waf_rate_limit=cfg.edge.waf_rate_limit,
            api_cache_ttl_seconds=cfg.edge.api_cache_ttl_seconds,
            # One retention for the edge's request evidence: S3/CloudFront access logs and the
            # WAF log (checked against CloudWatch's accepted values by the edge settings).
            waf_log_retention_days=cfg.edge.access_log_retention_days,
            blocked_ip_set_name=f"{base.prefix}-blocked",
            origin_secret=secrets.for_consumer(ORIGIN_VERIFY_CONSUMER),
            audience_cidrs=tuple(cfg.edge.edge_allowed_cidrs),
            audience_egress_ips=base.network.nat_public_ips,
            # The DR region's load balancer as the failover origin, once it serves.
            dr_api_origin_host=cfg.recovery.dr_api_origin_host if cfg.recovery.dr_active else "",
            dr_provider=base.dr.provider if base.dr is not None else None,
            dr_region=cfg.network.dr_region if base.dr is not None else "",
            protect=base.protect,
            data_tags=cfg.data_tags,
        ),
        opts=base.on_aws,
    )


def _backup_plan(cfg: Settings, base: Foundation) -> BackupPlan:
    """AWS Backup (seed 4.7): continuous and daily backups of every tagged store.

    Point-in-time recovery within minutes plus daily snapshots, copied to a vault in the DR
    region; locked in prod.
    """
    return BackupPlan(
        f"{base.prefix}-backup",
        BackupPlanArgs(
            environment=cfg.identity.environment,
            # The vaults and their recovery points hold copies of the stores' data.
            tags=cfg.data_tags,
            context=base.aws_ctx,
            kms_key_arn=base.keys.backup.arn,
            dr_provider=base.dr.provider if base.dr else None,
            dr_kms_key_arn=base.keys.backup_dr.arn if base.keys.backup_dr else None,
            break_glass_role_arn=cfg.recovery.backup_break_glass_role_arn or None,
            # One knob for how long backups are kept: the database's, Velero's and these.
            daily_retention_days=cfg.database.backup_retention_days,
            protect=base.protect,
        ),
        opts=base.on_aws,
    )


def _pilot_light(
    cfg: Settings,
    base: Foundation,
    user_data: SecureBucket,
    database: Database,
    snapshots: SnapshotStore,
) -> PilotLight | None:
    """Disaster recovery (seed 4.7): a pilot light in the DR region, when there is one.

    It keeps the network, the keys and a continuously refreshed copy of the data there, so the
    platform can be rebuilt in that region within the recovery time objective.
    """
    if base.dr is None:
        return None
    return PilotLight(
        f"{base.prefix}-dr",
        PilotLightArgs(
            environment=cfg.identity.environment,
            tags=cfg.tags,
            dr_context=base.dr.context,
            dr_provider=base.dr.provider,
            primary_provider=base.aws_primary,
            cidr=cfg.network.dr_vpc_cidr,
            zones=cfg.network.dr_availability_zones,
            cluster_name=f"{base.prefix}-dr",
            flow_log_retention_days=cfg.network.flow_log_retention_days,
            database_arn=database.instance.arn,
            backup_retention_days=cfg.database.backup_retention_days,
            # The DR region's load balancers log there once ttbt2:drActive serves from it.
            log_policy_statements=alb_log_grants(
                aws.elb.get_service_account_output(
                    region=cfg.network.dr_region,
                    opts=pulumi.InvokeOutputOptions(provider=base.dr.provider),
                ).arn,
                base.dr.context.account_id,
            ),
            buckets={
                "user-data": ReplicatedBucket(
                    bucket_id=user_data.id,
                    bucket_arn=user_data.arn,
                    kms_key_arn=base.keys.user_data.arn,
                    depends_on=[user_data],
                ),
                # Elasticsearch snapshots, Velero backups and the exports: readable in the DR
                # region after a region loss.
                "backups": ReplicatedBucket(
                    bucket_id=snapshots.bucket_name,
                    bucket_arn=snapshots.bucket.arn,
                    kms_key_arn=snapshots.key_arn,
                    depends_on=[snapshots],
                ),
            },
            protect=base.protect,
            data_tags=cfg.data_tags,
        ),
        opts=pulumi.ResourceOptions(providers={"random": base.random}),
    )
