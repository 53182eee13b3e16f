"""The permissions of dev's synthetic-data Job: read the database's master secret, nothing else.

The Job creates the tables it fills in an empty database, which only the master user can do
before Vault's bootstrap has made any other role (docs/runbooks/vault-database-bootstrap.md).
RDS keeps that user's password in Secrets Manager, encrypted with the database's own key; the
Job may read that one secret and decrypt with that key only through Secrets Manager. Settings
validation keeps the Job out of any stack holding real data (``ttbt2:syntheticDataEnabled``).
"""

from __future__ import annotations

from typing import Any

from components.aws.iam import document


def seeder_policy(secret_arn: str, key_arn: str, region: str) -> dict[str, Any]:
    """Read ``secret_arn``; decrypt with ``key_arn`` only on Secrets Manager's behalf."""
    return document(
        {
            "Sid": "ReadDatabaseMasterSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        {
            "Sid": "DecryptThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
            },
        },
    )
