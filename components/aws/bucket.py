"""A private S3 bucket with its guardrails as separate resources, reused for every bucket."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws import s3

from components.aws.iam import document


@dataclass(frozen=True)
class SecureBucketArgs:
    """Arguments of :class:`SecureBucket`.

    ``kms_key_arn`` encrypts objects with SSE-KMS. ``None`` means SSE-S3, which is only for a
    bucket that receives S3 server access logs: S3 cannot deliver them to an SSE-KMS bucket.
    ``log_bucket`` is the id of the bucket that receives this bucket's access logs.
    ``acl_log_delivery`` keeps ACLs available (``BucketOwnerPreferred``) for the CloudFront
    log delivery, which still writes through an ACL grant; every other bucket disables ACLs.
    ``policy_statements`` build further statements of the bucket policy from the bucket's ARN
    (for instance CloudFront's read grant); they follow the TLS-only denial.
    """

    tags: dict[str, str]
    kms_key_arn: pulumi.Input[str] | None
    log_bucket: pulumi.Input[str] | None = None
    log_prefix: str = ""
    versioning: bool = True
    acl_log_delivery: bool = False
    expire_days: int | None = None
    noncurrent_expire_days: int | None = 90
    prefix_expire_days: dict[str, int] = field(default_factory=dict)
    """Key prefix (``exports/prod``) -> days its objects stay current, for stores whose
    prefixes are kept for different times; the noncurrent rule above still applies."""
    protect: bool = False
    policy_statements: list[Callable[[pulumi.Output[str]], pulumi.Input[dict[str, Any]]]] = field(
        default_factory=list
    )


class SecureBucket(pulumi.ComponentResource):
    """An S3 bucket that is private, encrypted, versioned, logged and TLS-only.

    All four public-access blocks are on; the bucket policy denies any request that is not over
    TLS; objects are encrypted with the given KMS key and an S3 bucket key (fewer KMS calls).
    """

    bucket: aws.s3.Bucket

    def __init__(
        self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=f"{name[:36]}-",
            force_destroy=False,
            tags={**args.tags, "Name": name},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        bucket_id = self.bucket.id
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(
                object_ownership="BucketOwnerPreferred"
                if args.acl_log_delivery
                else "BucketOwnerEnforced"
            ),
            opts=child,
        )
        by_default = (
            s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
        )
        if args.kms_key_arn is not None:
            sse = by_default(sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn)
        else:
            sse = by_default(sse_algorithm="AES256")
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=sse,
                    bucket_key_enabled=args.kms_key_arn is not None,
                )
            ],
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled" if args.versioning else "Suspended"
            ),
            opts=child,
        )
        if args.log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-logging",
                bucket=bucket_id,
                target_bucket=args.log_bucket,
                target_prefix=args.log_prefix or f"s3/{name}/",
                opts=child,
            )
        self._lifecycle(name, args, child)
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=pulumi.Output.all(
                self.bucket.arn, *[build(self.bucket.arn) for build in args.policy_statements]
            ).apply(lambda v: json.dumps(_policy(v[0], v[1:]))),
            # The public-access block must exist first, or a policy edit could open the bucket.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_block]),
        )
        self.id = self.bucket.id
        self.arn = self.bucket.arn
        self.register_outputs({"id": self.bucket.id, "arn": self.bucket.arn})

    def _lifecycle(self, name: str, args: SecureBucketArgs, child: pulumi.ResourceOptions) -> None:
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            )
        ]
        if args.expire_days:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-objects",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.expire_days
                    ),
                )
            )
        if args.versioning and args.noncurrent_expire_days:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_expire_days
                    ),
                )
            )
        for prefix, days in sorted(args.prefix_expire_days.items()):
            key_prefix = prefix.strip("/")
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id=f"expire-{key_prefix.replace('/', '-')}",
                    status="Enabled",
                    # The trailing slash: exports/prod/ must not also expire exports/production/.
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                        prefix=f"{key_prefix}/"
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                )
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, rules=rules, opts=child
        )


def _policy(arn: str, extra: list[dict[str, Any]]) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    return document(*statements, *extra)
