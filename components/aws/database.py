"""RDS PostgreSQL in isolated subnets: encrypted, TLS-only, IAM auth, backed up with PITR."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.data_store import DataStoreScaffoldArgs, LogGroupSpec, private_data_store
from components.aws.iam import service_trust

LOG_EXPORTS = ["postgresql", "upgrade"]
PORT = 5432


@dataclass(frozen=True)
class BackupCopy:
    """Where the instance's automated backups are replicated: another region's provider and key.

    The primary instance's copy belongs to the pilot light; this one is for an instance that is
    itself the restored copy (the DR region's), whose backups go back to the primary region.
    """

    provider: pulumi.ProviderResource
    kms_key_arn: pulumi.Input[str]
    """A key of the destination region."""
    retention_days: int


@dataclass(frozen=True)
class DatabaseArgs:
    """Arguments of :class:`Database`.

    ``client_security_group_id`` is the only security group allowed to connect (the cluster's
    nodes). ``restore_snapshot`` seeds the database from a snapshot (staging's anonymised copy);
    settings validation has already refused a production snapshot outside prod.
    """

    context: AwsContext
    tags: dict[str, str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    client_security_group_id: pulumi.Input[str]
    instance_class: str
    engine_version: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    backup_retention_days: int
    multi_az: bool
    performance_insights_retention_days: int
    monitoring_interval_seconds: int
    db_name: str
    master_username: str
    log_retention_days: int
    restore_snapshot: pulumi.Input[str] = ""
    """Identifier or ARN of the snapshot to start from; empty = none. An output when the
    composition checks the snapshot at deploy time (stacks/layers/data.py)."""
    restore_automated_backups_arn: pulumi.Input[str] | None = None
    """Replicated automated backups (of the DR region) to restore the instance from, at their
    latest restorable time; the DR region's database at a region loss."""
    backup_copy: BackupCopy | None = None
    production: bool = False
    backup_tags: dict[str, str] = field(default_factory=dict)
    """Tags that put the instance in an AWS Backup selection (see components/aws/backup.py)."""

    def __post_init__(self) -> None:
        if self.restore_snapshot and self.restore_automated_backups_arn is not None:
            raise ValueError(
                "restore_snapshot and restore_automated_backups_arn: a database is restored "
                "from one source"
            )

    @property
    def restored(self) -> bool:
        """True when the instance starts from a copy, which brings its own database and user."""
        return bool(self.restore_snapshot) or self.restore_automated_backups_arn is not None


class Database(pulumi.ComponentResource):
    """The platform's PostgreSQL database.

    - reachable only on 5432 from the cluster's nodes, in subnets with no route out;
    - storage, Performance Insights and the master secret encrypted with its own KMS key;
    - TLS forced by the parameter group (``rds.force_ssl``), IAM authentication on;
    - automated daily snapshots plus transaction logs for point-in-time recovery (seed 4.7.1);
    - the master password generated and rotated by RDS in Secrets Manager, never in config or
      state;
    - in production: Multi-AZ, deletion protection, a final snapshot and ``protect``.
    """

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        identifier = name
        scaffold = private_data_store(
            name,
            DataStoreScaffoldArgs(
                context=args.context,
                tags=tags,
                vpc_id=args.vpc_id,
                subnet_ids=args.subnet_ids,
                client_security_group_id=args.client_security_group_id,
                subnet_group_type=aws.rds.SubnetGroup,
                subnet_tier="Isolated",
                port=PORT,
                what="PostgreSQL",
                key_role="storage",
                key_description=(
                    f"Storage, Performance Insights, logs and master secret of {name}"
                ),
                # RDS writes each exported log to a group of its own, named after the instance.
                log_groups=tuple(
                    LogGroupSpec(f"log-{kind}", f"/aws/rds/instance/{identifier}/{kind}")
                    for kind in LOG_EXPORTS
                ),
                log_retention_days=args.log_retention_days,
                production=args.production,
            ),
            parent=self,
        )
        key = scaffold.key
        security_group = scaffold.security_group
        major = args.engine_version.split(".", 1)[0]
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{major}",
            description=f"TLS-only, logged PostgreSQL {major} for {name}",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_connections", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_disconnections", value="1"),
                aws.rds.ParameterGroupParameterArgs(
                    name="log_min_duration_statement", value="1000"
                ),
                aws.rds.ParameterGroupParameterArgs(
                    name="shared_preload_libraries",
                    value="pg_stat_statements",
                    apply_method="pending-reboot",
                ),
            ],
            tags={**tags, "Name": f"{name}-params"},
            opts=child,
        )
        monitoring_role = aws.iam.Role(
            f"{name}-monitoring",
            assume_role_policy=service_trust("monitoring.rds.amazonaws.com"),
            tags={**tags, "Name": f"{name}-monitoring"},
            opts=child,
        )
        monitoring_policy = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=monitoring_role.name,
            policy_arn=args.context.partition.apply(
                lambda p: f"arn:{p}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
            ),
            opts=child,
        )
        self.instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=identifier,
            engine="postgres",
            engine_version=args.engine_version,
            auto_minor_version_upgrade=True,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            db_name=None if args.restored else args.db_name,
            username=None if args.restored else args.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key.arn,
            snapshot_identifier=args.restore_snapshot or None,
            restore_to_point_in_time=(
                aws.rds.InstanceRestoreToPointInTimeArgs(
                    source_db_instance_automated_backups_arn=args.restore_automated_backups_arn,
                    use_latest_restorable_time=True,
                )
                if args.restore_automated_backups_arn is not None
                else None
            ),
            db_subnet_group_name=scaffold.subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            multi_az=args.multi_az,
            parameter_group_name=parameters.name,
            iam_database_authentication_enabled=True,
            backup_retention_period=args.backup_retention_days,
            backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            copy_tags_to_snapshot=True,
            delete_automated_backups=not args.production,
            deletion_protection=args.production,
            skip_final_snapshot=not args.production,
            final_snapshot_identifier=f"{identifier}-final" if args.production else None,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key.arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            monitoring_interval=args.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags={**tags, "Name": identifier, **args.backup_tags},
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.production,
                depends_on=[*scaffold.log_groups, monitoring_policy],
            ),
        )
        if args.backup_copy is not None:
            # RPO < 1 h outside the instance's region. It waits for the instance, so nothing
            # that serves waits for it.
            aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-backup-copy",
                source_db_instance_arn=self.instance.arn,
                kms_key_id=args.backup_copy.kms_key_arn,
                retention_period=args.backup_copy.retention_days,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.backup_copy.provider, protect=args.production
                ),
            )
        self.endpoint = self.instance.address
        self.key_arn = key.arn
        """The key of the storage, Performance Insights and the master secret."""
        self.security_group_id = security_group.id
        self.subnet_group_name = scaffold.subnet_group.name
        """The DB subnet group (isolated subnets), where restores of its snapshots can go."""
        self.master_secret_arn = self.instance.master_user_secrets.apply(
            lambda s: s[0].secret_arn if s else None
        )
        self.register_outputs(
            {"endpoint": self.instance.address, "securityGroupId": security_group.id}
        )
