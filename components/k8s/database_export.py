"""Hourly logical export of the database (seed 4.7.1): ``pg_dump`` into the snapshot store.

A :class:`~components.k8s.backup_job.BackupJob` of two steps, then the upload:

1. ``auth`` (AWS CLI): fetches the RDS certificate bundle of the region and an IAM database
   authentication token for the export user (``aws rds generate-db-auth-token``, valid 15
   minutes, signed with the pod's IRSA role, which may ``rds-db:connect`` as that user only);
2. ``dump`` (the official PostgreSQL image of the database's major version): ``pg_dump
   --format=custom --compress=9`` over TLS checked against that bundle (``verify-full``), then
   ``pg_restore --list`` to prove the archive is readable before it is kept;
3. ``upload``: ``s3://<store>/exports/<env>/<UTC timestamp>.dump``, SSE-KMS with the store's key.

No password exists anywhere: the token is the password, lives 15 minutes and only in the
scratch volume. The export user is created once by the DBA (docs/dr/database-exports.md).
"""

from __future__ import annotations

import pulumi

from components.k8s.backup_job import AWS_CLI_IMAGE, SCRATCH_DIR, BackupStep

POSTGRES_IMAGES = {"16": "postgres:16.6-bookworm", "17": "postgres:17.2-bookworm"}
"""The client per database major version: ``pg_dump`` must be at least the server's version,
and the official image of the same major is the one the PostgreSQL project tests with it."""
EXPORT_USER = "ttbt2_export"
"""The database login of the exports: IAM authentication (``rds_iam``), read-only."""
SCHEDULE = "5 * * * *"
"""Hourly, early in the hour: the export lands before the copy to Azure at :30."""
FILE = "export.dump"
TOKEN_FILE = "db-token"
CA_FILE = "rds-ca.pem"

AUTH_SCRIPT = """\
set -eu
umask 077
curl -fsS --proto =https --tlsv1.2 -o "$BACKUP_DIR/rds-ca.pem" \\
  "https://truststore.pki.rds.amazonaws.com/$AWS_REGION/$AWS_REGION-bundle.pem"
aws rds generate-db-auth-token --hostname "$PGHOST" --port "$PGPORT" \\
  --username "$PGUSER" --region "$AWS_REGION" > "$BACKUP_DIR/db-token"
"""
"""The bundle comes from AWS's trust store over HTTPS (checked against the image's CAs), so
``verify-full`` below knows the database's certificate chain without a copy kept here."""

DUMP_SCRIPT = """\
set -eu
umask 077
PGPASSWORD="$(cat "$BACKUP_DIR/db-token")"
export PGPASSWORD
rm -f "$BACKUP_DIR/db-token"
pg_dump --format=custom --compress=9 --no-password --dbname="$PGDATABASE" \\
  --file="$BACKUP_DIR/$BACKUP_FILE"
pg_restore --list "$BACKUP_DIR/$BACKUP_FILE" > /dev/null
"""
"""The token is read into the process and its file removed before the dump starts; the
connection is TLS with the certificate and host name checked (``PGSSLMODE=verify-full``)."""


def postgres_image(engine_version: str) -> str:
    """The client image for ``engine_version`` (``16``, ``17`` or ``17.x``)."""
    major = engine_version.split(".", 1)[0]
    try:
        return POSTGRES_IMAGES[major]
    except KeyError:
        raise ValueError(
            f"no PostgreSQL client image for engine version {engine_version!r}; "
            f"known majors: {sorted(POSTGRES_IMAGES)}"
        ) from None


def export_steps(
    *,
    host: pulumi.Input[str],
    port: int,
    database: str,
    region: str,
    engine_version: str,
) -> list[BackupStep]:
    """The two steps before the upload: token and CA bundle, then the dump."""
    connection: dict[str, pulumi.Input[str]] = {
        "PGHOST": host,
        "PGPORT": str(port),
        "PGUSER": EXPORT_USER,
    }
    return [
        BackupStep(
            name="auth",
            image=AWS_CLI_IMAGE,
            script=AUTH_SCRIPT,
            env={**connection, "AWS_REGION": region},
        ),
        BackupStep(
            name="dump",
            image=postgres_image(engine_version),
            script=DUMP_SCRIPT,
            env={
                **connection,
                "PGDATABASE": database,
                "PGSSLMODE": "verify-full",
                "PGSSLROOTCERT": f"{SCRATCH_DIR}/{CA_FILE}",
                "PGCONNECT_TIMEOUT": "30",
            },
        ),
    ]
