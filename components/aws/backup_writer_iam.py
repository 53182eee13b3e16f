"""The permissions of a scheduled backup writer: put objects below one prefix, with one key.

A writer (the database export, the Vault snapshot) only adds objects: it may not list, read or
delete any, so a stolen token can neither learn what the store holds nor destroy it. It may
abort its own failed multipart uploads. ``kms:Decrypt`` is there because S3 needs it to
assemble a multipart upload under SSE-KMS (``aws s3 cp`` goes multipart above 8 MiB); without
``s3:GetObject`` it decrypts nothing the writer could read.
"""

from __future__ import annotations

from typing import Any

from components.aws.iam import document


def db_user_arn(partition: str, region: str, account_id: str, resource_id: str, user: str) -> str:
    """The ``rds-db:connect`` resource of ``user`` on the instance with ``resource_id``."""
    return f"arn:{partition}:rds-db:{region}:{account_id}:dbuser:{resource_id}/{user}"


def writer_policy(
    bucket_arn: str, key_arn: str, prefix: str, *, connect_as: str | None = None
) -> dict[str, Any]:
    """Put (and abort) objects below ``prefix`` only, encrypted with ``key_arn`` only.

    ``connect_as`` is a database user ARN (:func:`db_user_arn`) the writer may log in as with
    IAM authentication.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PutBelowOwnPrefix",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": f"{bucket_arn}/{prefix.strip('/')}/*",
        },
        {
            "Sid": "EncryptWithStoreKey",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
            "Resource": key_arn,
        },
    ]
    if connect_as is not None:
        statements.append(
            {
                "Sid": "ConnectAsExportUser",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": connect_as,
            }
        )
    return document(*statements)
