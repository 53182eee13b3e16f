"""CloudWatch log groups created ahead of the services that write to them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.kms import EncryptionKey, EncryptionKeyArgs


def encrypted_log_group(
    resource_name: str,
    group_name: str,
    *,
    retention_days: int,
    kms_key_arn: pulumi.Input[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.LogGroup:
    """A log group with our key and retention.

    Services (EKS, RDS, VPC flow logs, ElastiCache) create their log group on first write when
    none exists, unencrypted and kept forever; creating it first fixes both. The key's policy
    must grant CloudWatch Logs this group (``EncryptionKeyArgs.log_group_patterns``).
    """
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=group_name,
        retention_in_days=retention_days,
        kms_key_id=kms_key_arn,
        tags={**tags, "Name": group_name},
        opts=opts,
    )


@dataclass(frozen=True)
class KeyedLogGroup:
    """A log group and the key that encrypts it and nothing else."""

    key: EncryptionKey
    group: aws.cloudwatch.LogGroup


def keyed_log_group(
    key_name: str,
    group_resource_name: str,
    group_name: str,
    *,
    description: str,
    context: AwsContext,
    retention_days: int,
    tags: dict[str, str],
    protect: bool,
    opts: pulumi.ResourceOptions,
    key_opts: pulumi.ResourceOptions | None = None,
) -> KeyedLogGroup:
    """Log group ``group_name`` encrypted with a key of its own (resource ``key_name``).

    One key per log group, so revoking or auditing one use touches nothing else; the key's
    policy grants CloudWatch Logs that group only. ``context`` is the region the group lives in
    (CloudWatch Logs uses keys of its own region); ``key_opts`` default to ``opts``.
    """
    key = EncryptionKey(
        key_name,
        EncryptionKeyArgs(
            description=description,
            context=context,
            tags=tags,
            protect=protect,
            log_group_patterns=[group_name],
        ),
        opts=key_opts or opts,
    )
    group = encrypted_log_group(
        group_resource_name,
        group_name,
        retention_days=retention_days,
        kms_key_arn=key.arn,
        tags=tags,
        opts=opts,
    )
    return KeyedLogGroup(key=key, group=group)
