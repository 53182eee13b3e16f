"""Dev's synthetic data (seed 4.2): a Job that seeds the empty database once, from a schema.

The generator (``scripts/synthetic_data.py``, standard library only) and its schema
(``scripts/synthetic_data.json``) reach the pod through a ConfigMap. Three containers, in the
image that has each tool:

1. ``auth`` (AWS CLI): the RDS certificate bundle of the region, and the master user's secret
   from Secrets Manager (the only login that exists in a new database; see
   :mod:`components.aws.synthetic_data_iam`);
2. ``generate`` (Python): the seed SQL from the schema, and the login split into a user and a
   password file, the secret's JSON removed;
3. ``load`` (the PostgreSQL client of the database's major version): skips when the marker
   table (:data:`scripts.synthetic_data.MARKER`) exists, otherwise runs the SQL in one
   transaction over TLS checked against the bundle (``verify-full``).

A second run, a retry or a re-created Job therefore changes nothing. A changed schema or
generator makes a new Job (the pod template carries their hash), which finds the marker and
says which schema seeded the database; reseeding is a reset of dev's database
(docs/data/README.md). Everything sensitive lives in a memory-backed scratch volume and only
for the pod's life.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import pulumi
import pulumi_kubernetes as k8s

from components.dependencies import inherited_depends_on
from components.k8s.backup_job import AWS_CLI_IMAGE
from components.k8s.database_export import postgres_image
from components.k8s.network_rules import egress_only_spec, network_policy
from components.k8s.pod_security import (
    pod_security_context,
    restricted_pod_fields,
    script_container,
)
from components.k8s.service_accounts import irsa_service_account
from scripts.synthetic_data import MARKER, parse_spec

SCRIPTS: Final = Path(__file__).resolve().parents[2] / "scripts"
GENERATOR: Final = SCRIPTS / "synthetic_data.py"
SCHEMA: Final = SCRIPTS / "synthetic_data.json"
PYTHON_IMAGE: Final = "python:3.12.8-slim-bookworm"
"""A released Python, standard library only: the generator needs nothing else."""
SCRATCH: Final = "/work"
CONFIG_DIR: Final = "/opt/synthetic-data"
SCHEMA_HASH: Final = "ttbt2.io/synthetic-data-sha256"
"""Pod-template annotation: hash of the generator and its schema, so a change makes a new Job."""

AUTH_SCRIPT: Final = """\
set -eu
umask 077
curl -fsS --proto =https --tlsv1.2 -o "$SEED_DIR/rds-ca.pem" \\
  "https://truststore.pki.rds.amazonaws.com/$AWS_REGION/$AWS_REGION-bundle.pem"
aws secretsmanager get-secret-value --secret-id "$DB_SECRET_ARN" \\
  --query SecretString --output text > "$SEED_DIR/db-secret.json"
"""

GENERATE_SCRIPT: Final = f"""\
set -eu
umask 077
python3 {CONFIG_DIR}/synthetic_data.py --schema {CONFIG_DIR}/synthetic_data.json \\
  --dialect postgres --out "$SEED_DIR/seed.sql"
python3 -c '
import json, os, pathlib
d = pathlib.Path(os.environ["SEED_DIR"])
secret = json.loads((d / "db-secret.json").read_text())
(d / "db-secret.json").unlink()
(d / "db-user").write_text(secret["username"])
(d / "db-password").write_text(secret["password"])
'
"""
"""The secret's JSON is split with Python, which this image has and the others lack (no jq)."""

LOAD_SCRIPT: Final = """\
set -eu
PGUSER="$(cat "$SEED_DIR/db-user")"
PGPASSWORD="$(cat "$SEED_DIR/db-password")"
export PGUSER PGPASSWORD
rm -f "$SEED_DIR/db-user" "$SEED_DIR/db-password"
marker="$(psql -X -tA -v ON_ERROR_STOP=1 -c "SELECT to_regclass('$SEED_MARKER') IS NOT NULL")"
if [ "$marker" = t ]; then
  seeded="$(psql -X -tA -v ON_ERROR_STOP=1 -c "SELECT schema_sha256 FROM $SEED_MARKER")"
  if [ "$seeded" = "$SCHEMA_SHA256" ]; then
    echo "synthetic data: already seeded with schema $seeded; nothing to do"
  else
    echo "synthetic data: seeded before with schema $seeded (now $SCHEMA_SHA256); left as it is"
  fi
  exit 0
fi
psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$SEED_DIR/seed.sql"
echo "synthetic data: seeded with schema $SCHEMA_SHA256"
"""
"""A connection failure fails the first query (``set -e``), so it is never read as "not
seeded"; a load that fails leaves nothing behind (one transaction) and the Job retries."""


def schema_sha256() -> str:
    """The hash the generator prints for the schema (``--hash``): what the marker records."""
    return parse_spec(json.loads(SCHEMA.read_text(encoding="utf-8"))).sha256


@dataclass(frozen=True)
class SyntheticDataJobArgs:
    """Arguments of :class:`SyntheticDataJob`.

    ``role_arn`` is the IRSA role of ``service_account`` that may read ``master_secret_arn``;
    ``vpc_cidr`` is where the database answers on ``port``.
    """

    namespace: str
    service_account: str
    role_arn: pulumi.Input[str]
    host: pulumi.Input[str]
    port: int
    database: str
    region: str
    engine_version: str
    master_secret_arn: pulumi.Input[str]
    vpc_cidr: str


RESOURCES: Final = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}


def _container(
    name: str, image: str, script: str, env: dict[str, pulumi.Input[str]]
) -> dict[str, Any]:
    return script_container(
        name,
        image,
        script=script,
        env=[
            {"name": "HOME", "value": SCRATCH},
            {"name": "SEED_DIR", "value": SCRATCH},
            *({"name": k, "value": v} for k, v in env.items()),
        ],
        scratch=SCRATCH,
        mounts={"generator": CONFIG_DIR},
        resources=RESOURCES,
    )


def pod_spec(
    args: SyntheticDataJobArgs, service_account: pulumi.Input[str], config_map: pulumi.Input[str]
) -> dict[str, Any]:
    """Auth and generate as init containers, the load as the one container."""
    connection: dict[str, pulumi.Input[str]] = {
        "PGHOST": args.host,
        "PGPORT": str(args.port),
        "PGDATABASE": args.database,
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": f"{SCRATCH}/rds-ca.pem",
        "PGCONNECT_TIMEOUT": "30",
    }
    return {
        "serviceAccountName": service_account,
        **restricted_pod_fields(),
        "restartPolicy": "Never",
        "securityContext": pod_security_context(),
        "initContainers": [
            _container(
                "auth",
                AWS_CLI_IMAGE,
                AUTH_SCRIPT,
                {"AWS_REGION": args.region, "DB_SECRET_ARN": args.master_secret_arn},
            ),
            _container("generate", PYTHON_IMAGE, GENERATE_SCRIPT, {"PYTHONDONTWRITEBYTECODE": "1"}),
        ],
        "containers": [
            _container(
                "load",
                postgres_image(args.engine_version),
                LOAD_SCRIPT,
                {**connection, "SEED_MARKER": MARKER, "SCHEMA_SHA256": schema_sha256()},
            )
        ],
        "volumes": [
            # Memory-backed: the login never touches the node's disk; the SQL is small.
            {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "generator", "configMap": {"name": config_map, "defaultMode": 0o444}},
        ],
    }


def network_policy_spec(args: SyntheticDataJobArgs, labels: dict[str, str]) -> dict[str, Any]:
    """Nothing in; out only DNS, HTTPS (Secrets Manager, the CA bundle) and the database."""
    return egress_only_spec(
        labels,
        {
            "to": [{"ipBlock": {"cidr": args.vpc_cidr}}],
            "ports": [{"protocol": "TCP", "port": args.port}],
        },
    )


class SyntheticDataJob(pulumi.ComponentResource):
    """The seeding Job, its ServiceAccount, ConfigMap and NetworkPolicy in ``namespace``.

    - depends on the database (pass ``depends_on`` the RDS instance): it runs once it exists;
    - idempotent: a seeded database (marker table) is left alone;
    - the ``restricted`` Pod Security profile, read-only root filesystem, high UID, no
      Kubernetes API token (IRSA projects its own);
    - ``pulumi up`` does not wait for it (``pulumi.com/skipAwait``): a seed that fails shows in
      ``kubectl get jobs`` and is retried, without holding the deploy.
    """

    job: k8s.batch.v1.Job

    def __init__(
        self, name: str, args: SyntheticDataJobArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:SyntheticDataJob", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=inherited_depends_on(opts))
        app = "synthetic-data"
        labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "ttbt2"}
        generator = GENERATOR.read_text(encoding="utf-8")
        schema = SCHEMA.read_text(encoding="utf-8")
        digest = hashlib.sha256((generator + "\0" + schema).encode()).hexdigest()
        account = irsa_service_account(
            f"{name}-sa",
            name=args.service_account,
            namespace=args.namespace,
            labels=labels,
            role_arn=args.role_arn,
            opts=child,
        )
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-generator",
            metadata={"name": f"{app}-generator", "namespace": args.namespace, "labels": labels},
            data={"synthetic_data.py": generator, "synthetic_data.json": schema},
            opts=child,
        )
        pod = pod_spec(args, account.metadata["name"], config_map.metadata["name"])
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={
                "name": app,
                "namespace": args.namespace,
                "labels": labels,
                "annotations": {"pulumi.com/skipAwait": "true"},
            },
            # A plain dict cast at the call: see components/k8s/backup_copy.py.
            spec=cast(
                k8s.batch.v1.JobSpecArgs,
                {
                    "backoffLimit": 3,
                    "activeDeadlineSeconds": 1800,
                    "template": {
                        "metadata": {"labels": labels, "annotations": {SCHEMA_HASH: digest}},
                        "spec": pod,
                    },
                },
            ),
            # A fixed name: a changed template replaces the Job, which must go first.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )
        network_policy(
            f"{name}-netpol",
            name=app,
            namespace=args.namespace,
            labels=labels,
            spec=network_policy_spec(args, labels),
            opts=child,
        )
        self.register_outputs({"job_name": self.job.metadata["name"]})
