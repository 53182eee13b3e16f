"""CloudWatch log groups created ahead of the services that write to them."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


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
