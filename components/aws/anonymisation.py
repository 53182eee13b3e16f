"""What the anonymisation pipeline needs in production's account (docs/data/README.md).

``.github/workflows/anonymise.yml`` runs on prod's CI runner, inside prod's VPC. It restores a
production snapshot into a throw-away instance named ``ttbt2-anonymise-<run id>``, masks it,
snapshots it, copies that snapshot as ``ttbt2-anonymised-<YYYY-MM-DD>`` with the share key
below, shares the copy with staging's account and deletes the rest. Here:

- ``<name>-db-sg``: the throw-away instance's security group; PostgreSQL from the runner only,
  nothing else in or out; the runner's own group gets the matching egress rule;
- ``<name>-share-key``: the key of the shared copies; staging's account (``ttbt2:
  anonymisationShareAccountIds``) may decrypt with it and let RDS hold a grant on it, to copy the
  snapshot into its own account; production's database key is never shared;
- ``<name>-role``: assumed by the workflow through GitHub's OIDC provider, from the repository's
  ``anonymise`` environment only, with :func:`pipeline_policy`: restore only into, modify,
  snapshot and delete only instances named ``ttbt2-anonymise-*``, create snapshots named
  ``ttbt2-anonymise-*`` and ``ttbt2-anonymised-*`` only, and use production's database key only
  through RDS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.database import PORT
from components.aws.iam import document
from components.aws.kms import EncryptionKey, EncryptionKeyArgs

INSTANCE_PREFIX = "ttbt2-anonymise-"
"""The throw-away instances (and their intermediate snapshots) are named this, plus the run id."""
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
ENVIRONMENT = "anonymise"
"""The GitHub environment the workflow's job runs in; the role trusts it alone."""


def github_trust(provider_arn: str, repository: str, environment: str) -> dict[str, Any]:
    """Trust of a role assumed by ``repository``'s jobs in ``environment`` through GitHub OIDC."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                    f"{GITHUB_OIDC_HOST}:sub": f"repo:{repository}:environment:{environment}",
                }
            },
        }
    )


def pipeline_policy(
    *,
    partition: str,
    region: str,
    account: str,
    source_instance: str,
    subnet_group: str,
    database_key_arn: str,
    share_key_arn: str,
    share_accounts: list[str],
) -> dict[str, Any]:
    """The workflow's permissions, each limited to the pipeline's own names."""
    rds = f"arn:{partition}:rds:{region}:{account}"
    temporary_db = f"{rds}:db:{INSTANCE_PREFIX}*"
    temporary_snapshot = f"{rds}:snapshot:{INSTANCE_PREFIX}*"
    output = f"{rds}:snapshot:ttbt2-anonymised-*"
    sources = [f"{rds}:snapshot:rds:{source_instance}-*", f"{rds}:snapshot:{source_instance}-*"]
    via_rds = {"StringEquals": {"kms:ViaService": f"rds.{region}.amazonaws.com"}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "FindSourceAndOwnSnapshots",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBSnapshots"],
            "Resource": [f"{rds}:db:{source_instance}", *sources, temporary_snapshot, output],
        },
        {
            "Sid": "WatchOwnInstances",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBInstances"],
            "Resource": [temporary_db],
        },
        {
            "Sid": "RestoreProductionSnapshotIntoOwnInstance",
            "Effect": "Allow",
            "Action": ["rds:RestoreDBInstanceFromDBSnapshot"],
            "Resource": [
                temporary_db,
                *sources,
                f"{rds}:subgrp:{subnet_group}",
                f"{rds}:og:default:postgres-*",
                f"{rds}:pg:default.postgres*",
            ],
            # Never a restore that the internet could reach.
            "Condition": {"Bool": {"rds:PubliclyAccessible": "false"}},
        },
        {
            "Sid": "OperateOwnInstances",
            "Effect": "Allow",
            "Action": ["rds:ModifyDBInstance", "rds:DeleteDBInstance"],
            "Resource": [temporary_db],
        },
        {
            "Sid": "SnapshotOwnInstances",
            "Effect": "Allow",
            "Action": ["rds:CreateDBSnapshot"],
            "Resource": [temporary_db, temporary_snapshot],
        },
        {
            "Sid": "CopyShareAndCleanOwnSnapshots",
            "Effect": "Allow",
            "Action": ["rds:CopyDBSnapshot", "rds:DeleteDBSnapshot"],
            "Resource": [temporary_snapshot, output],
        },
        {
            "Sid": "TagOwnInstancesAndSnapshots",
            "Effect": "Allow",
            "Action": ["rds:AddTagsToResource"],
            "Resource": [temporary_db, temporary_snapshot, output],
        },
        {
            "Sid": "UseKeysThroughRds",
            "Effect": "Allow",
            "Action": [
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:CreateGrant",
            ],
            "Resource": [database_key_arn, share_key_arn],
            "Condition": via_rds,
        },
    ]
    if share_accounts:
        # IAM has no condition on the accounts a snapshot is shared with: the workflow names
        # them from the stack output, and only outputs of the pipeline can be shared at all.
        statements.append(
            {
                "Sid": "ShareOwnOutputs",
                "Effect": "Allow",
                "Action": ["rds:ModifyDBSnapshotAttribute"],
                "Resource": [output],
            }
        )
    return document(*statements)


@dataclass(frozen=True)
class AnonymisationPipelineArgs:
    """Arguments of :class:`AnonymisationPipeline`.

    ``runner_security_group_id`` is the CI runner's group (the only client of the throw-away
    instance); ``source_instance`` the production instance whose snapshots are restored.
    """

    context: AwsContext
    tags: dict[str, str]
    vpc_id: pulumi.Input[str]
    runner_security_group_id: pulumi.Input[str]
    source_instance: str
    subnet_group: pulumi.Input[str]
    database_key_arn: pulumi.Input[str]
    repository: str
    """``owner/name`` of the repository whose workflow assumes the role."""
    share_accounts: list[str] = field(default_factory=list)
    protect: bool = False


class AnonymisationPipeline(pulumi.ComponentResource):
    """The throw-away instance's security group, the share key and the workflow's role."""

    role: aws.iam.Role
    security_group: aws.ec2.SecurityGroup

    def __init__(
        self, name: str, args: AnonymisationPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:AnonymisationPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.context
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-db-sg",
            vpc_id=args.vpc_id,
            description="Anonymisation instances: PostgreSQL from the CI runner only",
            tags={**args.tags, "Name": f"{name}-db-sg"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-db-from-runner",
            security_group_id=self.security_group.id,
            referenced_security_group_id=args.runner_security_group_id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description="PostgreSQL from the CI runner (the anonymisation workflow)",
            tags={**args.tags, "Name": f"{name}-db-from-runner"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-runner-to-db",
            security_group_id=args.runner_security_group_id,
            referenced_security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description="The CI runner to the anonymisation instances' PostgreSQL",
            tags={**args.tags, "Name": f"{name}-runner-to-db"},
            opts=child,
        )
        share_key = EncryptionKey(
            f"{name}-share-key",
            EncryptionKeyArgs(
                description="Anonymised snapshots shared with the non-production accounts",
                context=ctx,
                tags=args.tags,
                protect=args.protect,
                copy_accounts=list(args.share_accounts),
            ),
            opts=child,
        )
        self.share_key_arn = share_key.key.arn
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pulumi.Output.all(ctx.partition, ctx.account_id).apply(
                lambda v: json.dumps(
                    github_trust(
                        f"arn:{v[0]}:iam::{v[1]}:oidc-provider/{GITHUB_OIDC_HOST}",
                        args.repository,
                        ENVIRONMENT,
                    )
                )
            ),
            description="The anonymisation workflow: throw-away restores of production snapshots",
            max_session_duration=14400,
            tags={**args.tags, "Name": f"{name}-role"},
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=pulumi.Output.all(
                ctx.partition,
                ctx.account_id,
                args.subnet_group,
                args.database_key_arn,
                share_key.key.arn,
            ).apply(
                lambda v: json.dumps(
                    pipeline_policy(
                        partition=v[0],
                        region=ctx.region,
                        account=v[1],
                        source_instance=args.source_instance,
                        subnet_group=v[2],
                        database_key_arn=v[3],
                        share_key_arn=v[4],
                        share_accounts=list(args.share_accounts),
                    )
                )
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "roleArn": self.role.arn,
                "securityGroupId": self.security_group.id,
                "shareKeyArn": share_key.key.arn,
            }
        )
