"""Pilot light in the disaster-recovery region (seed 4.7: RTO < 2 h, RPO < 1 h).

What must already exist in the DR region when the primary region is lost, so that the platform
can be brought up there within the recovery time objective: the network, the keys, and a
continuously refreshed copy of every piece of data. Compute (the EKS cluster, the nodes, the
database instance itself) is not running: it is created from these at failover, by the same
program with the DR switch (see docs/dr/region-loss.md).

- a VPC in the DR region with the same three tiers (one NAT gateway: enough for a recovery,
  cheap while idle);
- a KMS key of the DR region for every replicated store (a copy encrypted only with a key of
  the lost region could not be read);
- the database's automated backups replicated to the DR region, so a point-in-time restore
  there has a recovery point of minutes (RDS ships transaction logs as they are archived);
- each user-data bucket replicated to a bucket in the DR region with S3 Replication Time
  Control (99.99 % of objects within 15 minutes), delete markers included;
- the container registry replicated to the DR region, so images are there to pull.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.aws.context import AwsContext
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.network import Network, NetworkArgs

REPLICATION_MINUTES = 15
"""S3 Replication Time Control's objective: the bucket copies' recovery point, in minutes."""
MAX_BACKUP_REPLICATION_DAYS = 35
"""RDS keeps replicated automated backups for at most 35 days."""


@dataclass(frozen=True)
class ReplicatedBucket:
    """A source bucket of the primary region whose objects are copied to the DR region.

    ``depends_on`` holds what must exist before replication can be configured: S3 refuses a
    replication configuration on a bucket without versioning.
    """

    bucket_id: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    depends_on: list[pulumi.Resource] = field(default_factory=list)


@dataclass(frozen=True)
class PilotLightArgs:
    """Arguments of :class:`PilotLight`.

    ``dr_context``/``dr_provider`` are the DR region's; ``primary_provider`` is used only for
    the replication settings that live on the primary side (bucket replication, the registry's
    replication rule). ``database_arn`` is the primary RDS instance whose automated backups are
    replicated for ``backup_retention_days``.
    """

    environment: str
    tags: dict[str, str]
    dr_context: AwsContext
    dr_provider: aws.Provider
    primary_provider: aws.Provider
    cidr: str
    zones: list[str]
    cluster_name: str
    flow_log_retention_days: int
    database_arn: pulumi.Input[str]
    backup_retention_days: int
    buckets: dict[str, ReplicatedBucket]
    log_policy_statements: Sequence[
        Callable[[pulumi.Output[str]], pulumi.Input[dict[str, Any]]]
    ] = ()
    """Extra statements of the DR access-log bucket's policy: the grants that let the DR
    region's load balancers (when ``ttbt2:drActive`` runs the services there) write their logs."""
    protect: bool = False
    data_tags: dict[str, str] = field(default_factory=dict)
    """Tags of the DR region's buckets only, on top of ``tags``: the data classification a data
    store carries (seed 4.2), which the network and the keys do not."""

    def __post_init__(self) -> None:
        if not 1 <= self.backup_retention_days <= MAX_BACKUP_REPLICATION_DAYS:
            raise ValueError(
                f"backup_retention_days={self.backup_retention_days}: RDS replicates automated "
                f"backups for 1 to {MAX_BACKUP_REPLICATION_DAYS} days"
            )
        if not self.zones:
            raise ValueError("zones: the DR network needs at least one availability zone")
        wrong = [z for z in self.zones if not z.startswith(self.dr_context.region)]
        if wrong:
            raise ValueError(f"zones {wrong} are not in the DR region {self.dr_context.region}")


class PilotLight(pulumi.ComponentResource):
    """The DR region's standing parts: network, keys, and continuously replicated data."""

    network: Network
    key: EncryptionKey
    replica_buckets: dict[str, SecureBucket]

    def __init__(
        self, name: str, args: PilotLightArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:PilotLight", name, None, opts)
        dr = pulumi.ResourceOptions(parent=self, provider=args.dr_provider)
        primary = pulumi.ResourceOptions(parent=self, provider=args.primary_provider)
        tags = {**args.tags, "dr": "pilot-light"}
        ctx = args.dr_context

        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                cidr=args.cidr,
                zones=args.zones,
                # One NAT gateway: nothing runs here until a failover, and a recovery can live
                # with one; the failover stack may widen it.
                nat_zones=args.zones[:1],
                cluster_name=args.cluster_name,
                flow_log_retention_days=args.flow_log_retention_days,
                context=ctx,
                tags=tags,
                protect=args.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": args.dr_provider}),
        )
        self.key = EncryptionKey(
            f"{name}-data",
            EncryptionKeyArgs(
                description=f"Replicated data of {args.cluster_name} in the DR region",
                context=ctx,
                tags=tags,
                protect=args.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": args.dr_provider}),
        )

        # Point-in-time restore in the DR region, to within minutes of the loss.
        self.backup_replication = aws.rds.InstanceAutomatedBackupsReplication(
            f"{name}-db-backups",
            source_db_instance_arn=args.database_arn,
            kms_key_id=self.key.arn,
            retention_period=args.backup_retention_days,
            opts=pulumi.ResourceOptions.merge(dr, pulumi.ResourceOptions(protect=args.protect)),
        )

        self.replica_buckets = {}
        self.logs: SecureBucket | None = None
        """The DR region's access-log bucket (S3 and load balancer logs), when there is one."""
        if args.buckets:
            # S3 access logs must land in a bucket of the same region.
            dr_logs = SecureBucket(
                f"{name}-logs",
                SecureBucketArgs(
                    tags={**tags, **args.data_tags, "purpose": "access-logs"},
                    kms_key_arn=None,
                    noncurrent_expire_days=30,
                    expire_days=90,
                    protect=args.protect,
                    policy_statements=list(args.log_policy_statements),
                ),
                opts=pulumi.ResourceOptions(parent=self, providers={"aws": args.dr_provider}),
            )
            self.logs = dr_logs
            role = self._replication_role(name, args, primary)
            for logical, source in sorted(args.buckets.items()):
                self.replica_buckets[logical] = self._replicate(
                    name,
                    logical,
                    source,
                    args,
                    role=role,
                    dr_logs=dr_logs,
                    tags=tags,
                    primary=primary,
                )

        # Images: every repository of the registry is copied to the DR region on push.
        aws.ecr.ReplicationConfiguration(
            f"{name}-registry",
            replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                rules=[
                    aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                        destinations=[
                            aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                region=ctx.region, registry_id=ctx.account_id
                            )
                        ]
                    )
                ]
            ),
            opts=primary,
        )
        self.register_outputs(
            {
                "vpc_id": self.network.vpc_id,
                "key_arn": self.key.arn,
                "replica_buckets": {k: b.id for k, b in self.replica_buckets.items()},
            }
        )

    def _replication_role(
        self, name: str, args: PilotLightArgs, opts: pulumi.ResourceOptions
    ) -> aws.iam.Role:
        """The role S3 assumes to copy objects: read the sources, write the replicas only."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = aws.iam.Role(
            f"{name}-replication-role",
            assume_role_policy=json.dumps(trust),
            description="S3 replication of user data to the DR region",
            tags=args.tags,
            opts=opts,
        )
        return role

    def _replicate(
        self,
        name: str,
        logical: str,
        source: ReplicatedBucket,
        args: PilotLightArgs,
        *,
        role: aws.iam.Role,
        dr_logs: SecureBucket,
        tags: dict[str, str],
        primary: pulumi.ResourceOptions,
    ) -> SecureBucket:
        """A versioned, encrypted replica of ``source`` in the DR region and the rule filling it."""
        replica = SecureBucket(
            f"{name}-{logical}",
            SecureBucketArgs(
                tags={**tags, **args.data_tags, "purpose": f"replica-{logical}"},
                kms_key_arn=self.key.arn,
                log_bucket=dr_logs.id,
                protect=args.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": args.dr_provider}),
        )
        aws.iam.RolePolicy(
            f"{name}-{logical}-replication",
            role=role.id,
            policy=pulumi.Output.all(
                source.bucket_arn, source.kms_key_arn, replica.arn, self.key.arn
            ).apply(lambda v: json.dumps(replication_policy(*v))),
            opts=primary,
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-{logical}-replication-config",
            bucket=source.bucket_id,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id="to-dr-region",
                    status="Enabled",
                    priority=1,
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                    # A deletion in the primary is replayed as a marker, never as a version
                    # deletion: the replica keeps what an accident or an attacker removed.
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Enabled"
                    ),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=replica.arn,
                        storage_class="STANDARD",
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=self.key.arn
                        ),
                        # Replication Time Control: the copy's recovery point has an SLA.
                        replication_time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                            status="Enabled",
                            time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(
                                minutes=REPLICATION_MINUTES
                            ),
                        ),
                        metrics=aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                            status="Enabled",
                            event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                                minutes=REPLICATION_MINUTES
                            ),
                        ),
                    ),
                )
            ],
            opts=pulumi.ResourceOptions.merge(
                primary, pulumi.ResourceOptions(depends_on=[*source.depends_on, replica])
            ),
        )
        return replica


def replication_policy(
    source_arn: str, source_key_arn: str, replica_arn: str, replica_key_arn: str
) -> dict[str, Any]:
    """Least privilege for S3 replication: read one source, write one replica, two keys."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_arn,
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": f"{source_arn}/*",
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": f"{replica_arn}/*",
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": source_key_arn,
            },
            {
                "Sid": "EncryptReplica",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": replica_key_arn,
            },
        ],
    }
