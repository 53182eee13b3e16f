"""A customer-managed KMS key with rotation, an alias and an explicit key policy."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.iam import document


@dataclass(frozen=True)
class ServiceGrant:
    """Use of the key by an AWS service principal, limited by a condition on the caller.

    For example CloudFront reading SSE-KMS objects through origin access control:
    ``ServiceGrant("cloudfront.amazonaws.com", ["kms:Decrypt"],
    {"ArnLike": {"AWS:SourceArn": "arn:{partition}:cloudfront::{account}:distribution/*"}})``.
    ``{partition}``, ``{account}`` and ``{region}`` in condition strings are filled in with the
    key's own, known only once the provider has answered, so grants stay pinned to this account.
    """

    service: str
    actions: list[str]
    condition: dict[str, Any]


@dataclass(frozen=True)
class EncryptionKeyArgs:
    """Arguments of :class:`EncryptionKey`.

    ``log_group_patterns`` lists CloudWatch Logs log-group names the key may encrypt; CloudWatch
    Logs needs a grant in the key policy itself. ``usage_role_names`` are roles of this account
    (path/name, such as the Auto Scaling service-linked role that attaches encrypted node
    volumes) that use the key without an IAM policy of ours. Everything else reaches the key
    through IAM, delegated by the account root. ``service_grants`` let a service principal use
    the key under a condition (a service principal cannot be granted through IAM).
    """

    description: str
    context: AwsContext
    tags: dict[str, str]
    deletion_window_days: int = 30
    protect: bool = False
    log_group_patterns: list[str] = field(default_factory=list)
    usage_role_names: list[str] = field(default_factory=list)
    service_grants: list[ServiceGrant] = field(default_factory=list)
    copy_accounts: list[str] = field(default_factory=list)
    """Other accounts (ids) that may decrypt with the key and let an AWS service hold a grant
    on it: what copying a snapshot shared with them takes (the anonymised snapshots)."""


class EncryptionKey(pulumi.ComponentResource):
    """A symmetric KMS key: yearly rotation on, no wildcard principal, an alias to find it by."""

    key: aws.kms.Key
    alias: aws.kms.Alias

    def __init__(
        self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:EncryptionKey", name, None, opts)
        ctx = args.context
        policy = pulumi.Output.all(ctx.root_principal, ctx.partition, ctx.account_id).apply(
            lambda v: json.dumps(_key_policy(v[0], v[1], v[2], ctx.region, args))
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            description=args.description,
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=policy,
            tags={**args.tags, "Name": name},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias",
            name=f"alias/{name}",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.key.arn
        self.register_outputs({"arn": self.key.arn, "alias": self.alias.name})


def _key_policy(
    root: str, partition: str, account: str, region: str, args: EncryptionKeyArgs
) -> dict[str, object]:
    statements: list[dict[str, object]] = [
        {
            # Administration is delegated to IAM in this account, as in the AWS default key
            # policy, so that no principal is named here and none can be "*".
            "Sid": "AccountAdministersKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if args.log_group_patterns:
        statements.append(
            {
                "Sid": "CloudWatchLogsEncryptsOwnLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": [
                            f"arn:{partition}:logs:{region}:{account}:log-group:{pattern}"
                            for pattern in args.log_group_patterns
                        ]
                    }
                },
            }
        )
    if args.copy_accounts:
        statements.append(
            {
                "Sid": "OtherAccountsCopySharedSnapshots",
                "Effect": "Allow",
                "Principal": {
                    "AWS": [f"arn:{partition}:iam::{a}:root" for a in args.copy_accounts]
                },
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"],
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            }
        )
    if args.usage_role_names:
        statements.append(
            {
                "Sid": "NamedRolesUseKey",
                "Effect": "Allow",
                "Principal": {
                    "AWS": [
                        f"arn:{partition}:iam::{account}:role/{r}" for r in args.usage_role_names
                    ]
                },
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                    "kms:CreateGrant",
                ],
                "Resource": "*",
            }
        )
    for i, grant in enumerate(args.service_grants):
        statements.append(
            {
                "Sid": f"ServiceUsesKey{i}",
                "Effect": "Allow",
                "Principal": {"Service": grant.service},
                "Action": grant.actions,
                "Resource": "*",
                "Condition": _fill(
                    grant.condition, partition=partition, account=account, region=region
                ),
            }
        )
    return document(*statements)


def _fill(value: Any, **names: str) -> Any:
    """Fill ``{partition}``, ``{account}`` and ``{region}`` in every string of a condition."""
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, **names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, **names) for v in value]
    return value
