"""An encrypted S3 store for backups written from the cluster, one IRSA role per prefix."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.aws.context import AwsContext
from components.aws.eks import KubernetesCluster
from components.aws.iam import document
from components.aws.kms import EncryptionKey, EncryptionKeyArgs


@dataclass(frozen=True)
class SnapshotStoreArgs:
    """Arguments of :class:`SnapshotStore`.

    ``writers`` maps a key prefix (``elasticsearch/prod``) to the Kubernetes service account
    (namespace, name) allowed to read and write below it and nowhere else; ``readers`` likewise
    for service accounts that may only read (the copy to Azure).
    """

    context: AwsContext
    tags: dict[str, str]
    cluster: KubernetesCluster
    log_bucket: pulumi.Input[str]
    writers: dict[str, tuple[str, str]]
    readers: dict[str, tuple[str, str]] = field(default_factory=dict)
    expire_days: dict[str, int] = field(default_factory=dict)
    """Key prefix -> days its objects stay current (lifecycle rules of the bucket)."""
    protect: bool = False
    backup_tags: dict[str, str] = field(default_factory=dict)
    """Tags that put the bucket in an AWS Backup selection (see components/aws/backup.py)."""


class SnapshotStore(pulumi.ComponentResource):
    """A versioned, KMS-encrypted backup bucket (seed 4.7.1) and least-privilege writer roles."""

    def __init__(
        self, name: str, args: SnapshotStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:SnapshotStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = EncryptionKey(
            f"{name}-key",
            EncryptionKeyArgs(
                description=f"Backups in {name}",
                context=args.context,
                tags=args.tags,
                protect=args.protect,
            ),
            opts=child,
        )
        self.bucket = SecureBucket(
            f"{name}-bucket",
            SecureBucketArgs(
                tags={**args.tags, "purpose": "backups", **args.backup_tags},
                kms_key_arn=key.arn,
                log_bucket=args.log_bucket,
                prefix_expire_days=args.expire_days,
                protect=args.protect,
            ),
            opts=child,
        )
        self.roles: dict[str, aws.iam.Role] = {}
        self.reader_roles: dict[str, aws.iam.Role] = {}
        grants = [(p, who, True) for p, who in args.writers.items()]
        grants += [(p, who, False) for p, who in args.readers.items()]
        for prefix, (namespace, service_account), write in grants:
            kind = "" if write else "-read"
            role_name = f"{name}-{prefix.replace('/', '-')}{kind}"
            role = args.cluster.irsa_role(role_name, namespace, service_account, args.tags)
            aws.iam.RolePolicy(
                f"{role_name}-policy",
                role=role.id,
                policy=pulumi.Output.all(self.bucket.arn, key.arn).apply(
                    functools.partial(_policy_json, prefix, write)
                ),
                opts=child,
            )
            (self.roles if write else self.reader_roles)[prefix] = role
        self.bucket_name = self.bucket.id
        self.key_arn = key.arn
        """The store's key, for whoever copies its objects (the DR replication) or writes them."""
        self.bucket_arn = self.bucket.arn
        self.register_outputs({"bucket": self.bucket.id})


def _policy_json(prefix: str, write: bool, arns: list[str]) -> str:
    return json.dumps(_prefix_policy(arns[0], arns[1], prefix, write=write))


def _prefix_policy(
    bucket_arn: str, key_arn: str, prefix: str, *, write: bool = True
) -> dict[str, object]:
    """List and read (and, for a writer, write) below ``prefix`` only; the store's key only."""
    object_actions = ["s3:GetObject"]
    key_actions = ["kms:Decrypt", "kms:DescribeKey"]
    if write:
        object_actions += [
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        ]
        key_actions += ["kms:Encrypt", "kms:GenerateDataKey*"]
    return document(
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}},
        },
        {
            # These requests carry no s3:prefix, so they cannot take the condition above.
            "Sid": "LocateBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            "Resource": bucket_arn,
        },
        {
            "Sid": "ReadWriteOwnPrefix",
            "Effect": "Allow",
            "Action": object_actions,
            "Resource": f"{bucket_arn}/{prefix}/*",
        },
        {
            "Sid": "UseStoreKey",
            "Effect": "Allow",
            "Action": key_actions,
            "Resource": key_arn,
        },
    )
