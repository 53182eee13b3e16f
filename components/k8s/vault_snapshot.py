"""Hourly raft snapshot of Vault (seed 4.7.1) into the snapshot store's ``vault/<env>/``.

Vault runs outside this project (``ttbt2:vaultAddress``), on integrated (raft) storage; one
stack takes its snapshots (``ttbt2:vaultSnapshots: this-stack``, prod), the others say who
does (``ttbt2:vaultSnapshotsBy``). The job is a :class:`~components.k8s.backup_job.BackupJob`
whose one step, in the official Vault image, logs in with the pod's own service-account token
(audience ``vault``, projected for ten minutes) as role ``vault-snapshot``, whose policy reads
``sys/storage/raft/snapshot`` and nothing else
(:func:`components.vault.config.snapshot_policy_hcl`), saves the snapshot, and revokes its token.
The upload encrypts it with the store's key.
"""

from __future__ import annotations

from typing import Any

from components.k8s.backup_job import BackupStep
from components.vault.config import SNAPSHOT_ROLE, TOKEN_AUDIENCE

VAULT_IMAGE = "hashicorp/vault:1.18.2"
"""The released Vault CLI, never ``latest``; the snapshot format is the server's, not the CLI's."""
SCHEDULE = "20 * * * *"
"""Hourly, apart from the database export at :05 so the two do not share the node's disk."""
FILE = "vault.snap"
SERVICE_ACCOUNT = "vault-snapshot"
"""The job's service account, the one Vault's role ``vault-snapshot`` is bound to."""
TOKEN_DIR = "/var/run/secrets/vault"
TOKEN_SECONDS = 600

SNAPSHOT_SCRIPT = """\
set -eu
umask 077
VAULT_TOKEN="$(vault write -field=token "auth/$VAULT_AUTH_MOUNT/login" \\
  role="$VAULT_ROLE" jwt=@"$VAULT_JWT_FILE")"
export VAULT_TOKEN
vault operator raft snapshot save "$BACKUP_DIR/$BACKUP_FILE"
vault token revoke -self > /dev/null
"""


def token_volume() -> dict[str, Any]:
    """The service-account token Vault's Kubernetes auth reviews, with Vault's audience."""
    return {
        "name": "vault-token",
        "projected": {
            "sources": [
                {
                    "serviceAccountToken": {
                        "path": "token",
                        "audience": TOKEN_AUDIENCE,
                        "expirationSeconds": TOKEN_SECONDS,
                    }
                }
            ]
        },
    }


def snapshot_steps(*, vault_address: str, auth_mount: str) -> list[BackupStep]:
    """The one step before the upload: log in, save the snapshot, revoke the token."""
    return [
        BackupStep(
            name="snapshot",
            image=VAULT_IMAGE,
            script=SNAPSHOT_SCRIPT,
            env={
                "VAULT_ADDR": vault_address,
                "VAULT_AUTH_MOUNT": auth_mount,
                "VAULT_ROLE": SNAPSHOT_ROLE,
                "VAULT_JWT_FILE": f"{TOKEN_DIR}/token",
            },
            mounts={"vault-token": TOKEN_DIR},
        )
    ]
