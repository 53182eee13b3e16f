"""A recovery-drill stack (seed 4.7: quarterly recovery drills).

``.github/workflows/recovery-drill.yml`` creates a throw-away stack from prod's configuration
with ``ttbt2:drill`` set, restores prod's latest recovery points into it, runs the smoke checks,
records the achieved RTO and RPO, and destroys the stack. This program gives that restore a
place to land and nothing more: a network like prod's, a key, the database subnet group and
security group the restored instance joins, a bucket for the restored user-data objects and,
with ``ttbt2:ciRunnerEnabled``, a CI runner in the drill's private subnets for the restore job
(privileged, so the job can start the scratch Kubernetes cluster Velero restores into and the
scratch Vault the Vault snapshot is restored into; docs/dr/README.md, "Drills").
The database instance itself is the restore (``aws rds restore-db-instance-to-point-in-time``),
created and deleted by the workflow, so the drill measures the real restore.

Nothing here is protected: the stack exists to be destroyed, and every name carries the drill
stack's name, so a drill never touches prod's resources.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws import context
from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.aws.ci_runner import CiRunner, CiRunnerArgs, EgressRule, project_name
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.network import Network, NetworkArgs
from config import Settings

POSTGRES_PORT = 5432


def build(cfg: Settings) -> None:
    """Register the drill's landing zone and export what the workflow restores into."""
    prefix = f"ttbt2-{pulumi.get_stack()}"
    tags = {**cfg.tags, "purpose": "recovery-drill", "drill": pulumi.get_stack()}
    provider = aws.Provider("aws-primary", region=cfg.network.aws_region)
    ctx = context.lookup(provider, cfg.network.aws_region)
    on_aws = pulumi.ResourceOptions(provider=provider)
    components = pulumi.ResourceOptions(providers={"aws": provider})

    network = Network(
        f"{prefix}-network",
        NetworkArgs(
            cidr=cfg.network.vpc_cidr,
            zones=cfg.network.availability_zones,
            # One NAT gateway: the drill's runner and restore need no zone redundancy.
            nat_zones=cfg.network.availability_zones[:1],
            cluster_name=prefix,
            flow_log_retention_days=cfg.network.flow_log_retention_days,
            context=ctx,
            tags=tags,
        ),
        opts=components,
    )
    key = EncryptionKey(
        f"{prefix}-data",
        EncryptionKeyArgs(
            description=f"Restored data of recovery drill {prefix}",
            context=ctx,
            tags=tags,
            # The shortest window KMS allows: the key outlives the drill by a week only.
            deletion_window_days=7,
        ),
        opts=components,
    )
    subnet_group = aws.rds.SubnetGroup(
        f"{prefix}-db-subnets",
        subnet_ids=network.isolated_subnet_ids,
        description=f"Restored database of recovery drill {prefix}",
        tags=tags,
        opts=on_aws,
    )
    security_group = aws.ec2.SecurityGroup(
        f"{prefix}-db",
        vpc_id=network.vpc_id,
        description="PostgreSQL from inside the drill VPC only (the smoke-check runner)",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp",
                from_port=POSTGRES_PORT,
                to_port=POSTGRES_PORT,
                cidr_blocks=[cfg.network.vpc_cidr],
                description="smoke checks from the drill VPC",
            )
        ],
        tags=tags,
        opts=on_aws,
    )
    logs = SecureBucket(
        f"{prefix}-logs",
        SecureBucketArgs(
            tags={**tags, **cfg.data_tags, "purpose": "access-logs"},
            kms_key_arn=None,
            expire_days=30,
            noncurrent_expire_days=7,
        ),
        opts=components,
    )
    restored = SecureBucket(
        f"{prefix}-restored",
        SecureBucketArgs(
            # The drill restores prod's data: prod's classification (cfg.data_tags).
            tags={**tags, **cfg.data_tags, "purpose": "recovery-drill"},
            kms_key_arn=key.arn,
            log_bucket=logs.id,
            # Copies of prod's objects live only as long as the drill.
            expire_days=7,
            noncurrent_expire_days=1,
        ),
        opts=components,
    )
    runner = _runner(cfg, prefix, network=network, ctx=ctx, tags=tags, opts=components)
    pulumi.export("environment", cfg.identity.environment)
    pulumi.export("vpcId", network.vpc_id)
    if runner is not None:
        pulumi.export("ciRunnerProject", runner.project.name)
        pulumi.export("ciRunnerLabel", runner.label)
    pulumi.export("drillDbSubnetGroup", subnet_group.name)
    pulumi.export("drillDbSecurityGroupId", security_group.id)
    pulumi.export("userDataBucket", restored.id)


def _runner(
    cfg: Settings,
    prefix: str,
    *,
    network: Network,
    ctx: context.AwsContext,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> CiRunner | None:
    """The drill's own runner in its private subnets, destroyed with the drill.

    The restore and smoke-check job runs there: the only place the restored database (isolated
    subnets, no peering: the drill's CIDR is prod's) can be reached from.
    """
    if not cfg.ci_runner.enabled:
        return None
    return CiRunner(
        f"{prefix}-ci-runner",
        CiRunnerArgs(
            project_name=project_name(prefix),
            repository=cfg.ci_runner.repository,
            connection_arn=cfg.ci_runner.connection_arn,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            context=ctx,
            tags=tags,
            log_retention_days=cfg.ci_runner.log_retention_days,
            compute_type=cfg.ci_runner.compute_type,
            build_timeout_minutes=cfg.ci_runner.timeout_minutes,
            # The Velero restore lands in a throw-away kind cluster on the runner itself, which
            # runs its node as a container: privileged mode, on a runner that lives for one drill.
            docker=True,
            extra_egress=[
                EgressRule(
                    POSTGRES_PORT, cfg.network.vpc_cidr, "smoke checks of the restored database"
                )
            ],
        ),
        opts=opts,
    )
