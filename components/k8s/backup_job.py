"""A scheduled backup writer: steps that produce one file, then an SSE-KMS upload to the store.

The database exports and the Vault snapshots (seed 4.7.1) follow the same shape: init
containers produce a file in a scratch ``emptyDir`` (each step in the image that has its tool),
then the ``upload`` container puts it at ``s3://<bucket>/<prefix>/<UTC timestamp><suffix>``,
encrypted with the store's KMS key. Init containers run in order and stop the pod at the first
failure, so nothing is uploaded unless every step succeeded.

The CronJob carries the annotation :data:`WRITES_TO` naming its key prefix: the stack policy
``copy-job-source-has-writer`` joins it, through the store bucket both depend on, to the copy
jobs that read that prefix (annotation :data:`COPIES_FROM`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.dependencies import inherited_depends_on
from components.k8s.network_rules import egress_only_spec, network_policy
from components.k8s.pod_security import (
    pod_security_context,
    restricted_pod_fields,
    script_container,
)
from components.k8s.service_accounts import irsa_service_account

WRITES_TO = "ttbt2.io/writes-to"
"""Annotation of a backup writer: the key prefix it writes in the store it depends on."""
COPIES_FROM = "ttbt2.io/copies-from"
"""Annotation of a copy job: the key prefix it copies from the store it depends on."""
AWS_CLI_IMAGE = "amazon/aws-cli:2.22.0"
"""A released AWS CLI v2, never ``latest``: a new CLI is taken by changing this line."""
SCRATCH_DIR = "/backup"
"""Where every step reads and writes: the scratch ``emptyDir`` (the root filesystem is
read-only)."""

UPLOAD_SCRIPT = """\
set -eu
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
key="$BACKUP_PREFIX/$stamp$BACKUP_SUFFIX"
aws s3 cp "$BACKUP_DIR/$BACKUP_FILE" "s3://$BACKUP_BUCKET/$key" \\
  --sse aws:kms --sse-kms-key-id "$BACKUP_KMS_KEY" --only-show-errors
echo "uploaded s3://$BACKUP_BUCKET/$key"
"""
"""The upload: one object per run, named by its UTC time, encrypted with the store's key.

``aws s3 cp`` switches to a multipart upload above 8 MiB, which with SSE-KMS needs
``kms:Decrypt`` besides ``kms:GenerateDataKey`` (see :mod:`components.aws.backup_writer_iam`).
"""


@dataclass(frozen=True)
class BackupStep:
    """One init container: ``script`` run by ``/bin/sh`` in ``image``, with plain ``env``.

    ``mounts`` are further volume mounts (of :attr:`BackupJobArgs.volumes`), read-only.
    """

    name: str
    image: str
    script: str
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    mounts: dict[str, str] = field(default_factory=dict)
    """Volume name -> mount path."""


@dataclass(frozen=True)
class BackupJobArgs:
    """Arguments of :class:`BackupJob`.

    ``role_arn`` is the IRSA role of ``service_account`` allowed to put objects below
    ``prefix`` of ``bucket`` with ``kms_key_arn``; ``file`` is the name the steps leave in
    :data:`SCRATCH_DIR`. ``egress`` are further NetworkPolicy egress rules (DNS and HTTPS are
    always allowed); ``volumes`` are further pod volumes the steps mount.
    """

    namespace: str
    app: str
    service_account: str
    role_arn: pulumi.Input[str]
    schedule: str
    steps: Sequence[BackupStep]
    file: str
    bucket: pulumi.Input[str]
    prefix: str
    suffix: str
    kms_key_arn: pulumi.Input[str]
    region: str
    scratch_size: str = "10Gi"
    active_deadline_seconds: int = 3000
    egress: Sequence[dict[str, Any]] = ()
    volumes: Sequence[dict[str, Any]] = ()
    token_reviewer: bool = False
    """Bind ``system:auth-delegator``: Vault's Kubernetes login reviews the pod's own token."""


def upload_env(args: BackupJobArgs) -> list[dict[str, Any]]:
    """The upload container's configuration, all plain values: no secret is in it."""
    return [
        {"name": "HOME", "value": SCRATCH_DIR},
        {"name": "AWS_REGION", "value": args.region},
        {"name": "BACKUP_DIR", "value": SCRATCH_DIR},
        {"name": "BACKUP_FILE", "value": args.file},
        {"name": "BACKUP_BUCKET", "value": args.bucket},
        {"name": "BACKUP_PREFIX", "value": args.prefix.strip("/")},
        {"name": "BACKUP_SUFFIX", "value": args.suffix},
        {"name": "BACKUP_KMS_KEY", "value": args.kms_key_arn},
    ]


STEP_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
UPLOAD_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}


def pod_spec(args: BackupJobArgs, service_account: pulumi.Input[str]) -> dict[str, Any]:
    """The pod: the steps as init containers, the upload as the one container."""
    steps = [
        script_container(
            step.name,
            step.image,
            script=step.script,
            scratch=SCRATCH_DIR,
            env=[
                {"name": "HOME", "value": SCRATCH_DIR},
                {"name": "BACKUP_DIR", "value": SCRATCH_DIR},
                {"name": "BACKUP_FILE", "value": args.file},
                *({"name": k, "value": v} for k, v in step.env.items()),
            ],
            mounts=step.mounts,
            resources=STEP_RESOURCES,
        )
        for step in args.steps
    ]
    upload = script_container(
        "upload",
        AWS_CLI_IMAGE,
        script=UPLOAD_SCRIPT,
        scratch=SCRATCH_DIR,
        env=upload_env(args),
        mounts={},
        resources=UPLOAD_RESOURCES,
    )
    return {
        "serviceAccountName": service_account,
        **restricted_pod_fields(),
        "restartPolicy": "Never",
        "securityContext": pod_security_context(),
        "initContainers": steps,
        "containers": [upload],
        "volumes": [
            # Memory-backed would count against the limits: a dump belongs on the node's disk.
            {"name": "scratch", "emptyDir": {"sizeLimit": args.scratch_size}},
            *args.volumes,
        ],
    }


def network_policy_spec(args: BackupJobArgs, labels: dict[str, str]) -> dict[str, Any]:
    """No ingress at all; egress to DNS, HTTPS (AWS APIs) and the caller's further rules."""
    return egress_only_spec(labels, *args.egress)


def backup_cron_spec(
    schedule: str,
    labels: Mapping[str, str],
    pod: Any,
    *,
    backoff_limit: int,
    active_deadline_seconds: int,
) -> dict[str, Any]:
    """The CronJob spec every backup writer and copier shares, around ``pod``.

    UTC schedules; a slow run is never doubled by the next one (both would write the same
    objects); a run missed by more than 10 minutes is skipped, as the next one is due soon;
    finished Jobs stay a day for their logs. ``active_deadline_seconds`` stays shorter than
    the interval, so a hung run cannot block the next.
    """
    return {
        "schedule": schedule,
        "timeZone": "Etc/UTC",
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 5,
        "jobTemplate": {
            "metadata": {"labels": dict(labels)},
            "spec": {
                "backoffLimit": backoff_limit,
                "activeDeadlineSeconds": active_deadline_seconds,
                "ttlSecondsAfterFinished": 86400,
                "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
            },
        },
    }


class BackupJob(pulumi.ComponentResource):
    """The writer's ServiceAccount, CronJob and NetworkPolicy in ``namespace``.

    - never two runs at once, a missed run skipped after 10 minutes, a hung run stopped by
      ``activeDeadlineSeconds`` before the next is due;
    - pod meets the ``restricted`` Pod Security profile with a read-only root filesystem and a
      high UID; no Kubernetes API token (IRSA projects its own);
    - the NetworkPolicy admits nothing in and lets out only DNS, HTTPS and ``egress``.
    """

    cron_job: k8s.batch.v1.CronJob

    def __init__(
        self, name: str, args: BackupJobArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:BackupJob", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=inherited_depends_on(opts))
        labels = {"app.kubernetes.io/name": args.app, "app.kubernetes.io/part-of": "ttbt2"}
        account = irsa_service_account(
            f"{name}-sa",
            name=args.service_account,
            namespace=args.namespace,
            labels=labels,
            role_arn=args.role_arn,
            opts=child,
        )
        cron_spec = backup_cron_spec(
            args.schedule,
            labels,
            pod_spec(args, account.metadata["name"]),
            backoff_limit=1,
            active_deadline_seconds=args.active_deadline_seconds,
        )
        self.cron_job = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata={
                "name": name,
                "namespace": args.namespace,
                "labels": labels,
                "annotations": {WRITES_TO: args.prefix.strip("/")},
            },
            # A plain dict cast at the call: see components/k8s/backup_copy.py.
            spec=cast(k8s.batch.v1.CronJobSpecArgs, cron_spec),
            opts=child,
        )
        network_policy(
            f"{name}-netpol",
            name=args.app,
            namespace=args.namespace,
            labels=labels,
            spec=network_policy_spec(args, labels),
            opts=child,
        )
        if args.token_reviewer:
            k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-token-review",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-token-review", labels=labels),
                role_ref=k8s.rbac.v1.RoleRefArgs(
                    api_group="rbac.authorization.k8s.io",
                    kind="ClusterRole",
                    name="system:auth-delegator",
                ),
                subjects=[
                    k8s.rbac.v1.SubjectArgs(
                        kind="ServiceAccount",
                        name=args.service_account,
                        namespace=args.namespace,
                    )
                ],
                opts=child,
            )
        self.register_outputs({"cron_job_name": self.cron_job.metadata["name"]})
