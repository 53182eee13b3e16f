"""Backup copy: a CronJob that copies the latest backup exports from S3 to Azure Blob Storage.

Seeds 4.1.2 and 4.7.2. The job runs every 30 minutes, so a backup export reaches Azure at most
about half an hour after it lands in S3: the copy's recovery point objective stays under one
hour. It holds no credential: AWS is reached through IRSA (the EKS pod identity webhook injects
a web-identity token for ``aws_role_arn``), Azure through workload identity federation (a
projected service-account token exchanged with Entra ID for the copier's managed identity).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.dependencies import inherited_depends_on
from components.k8s.backup_job import COPIES_FROM, backup_cron_spec

IMAGE = "rclone/rclone:1.68.2"
"""A released version, never ``latest``: the job must run the same binary every time, and a
new rclone is taken by changing this line (and its review), not by a registry push."""
AZURE_TOKEN_DIR = "/var/run/secrets/azure/tokens"
AZURE_TOKEN_FILE = "azure-identity-token"
AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange"
AZURE_TOKEN_SECONDS = 3600
"""Lifetime of the projected token; the kubelet renews it at 80 %, long before a copy ends."""
RUN_AS = 65532
RECENT_EXPORTS = "24h"
"""Only exports modified in the last day are considered: the latest ones, and a bounded listing."""


RPO_MINUTES = 60
"""Seed 4.7.2: the RPO is under this many minutes, so copies must be closer together."""


def _minutes(field: str) -> set[int]:
    """The minutes a cron minute field matches: ``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``, lists."""
    minutes: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            low, high = 0, 59
        elif "-" in span:
            low_text, high_text = span.split("-", 1)
            low, high = int(low_text), int(high_text)
        else:
            low = high = int(span)
            high = 59 if step_text else low
        if not 0 <= low <= high <= 59 or step < 1:
            raise ValueError(f"invalid cron minute field {field!r}")
        minutes.update(range(low, high + 1, step))
    return minutes


def max_interval_minutes(schedule: str) -> int:
    """The longest gap, in minutes, between two runs of a cron ``schedule``.

    Only schedules that run every hour (hour, day, month and weekday fields all ``*``) are
    understood: any other one can leave more than an hour between runs.
    """
    fields = schedule.split()
    if len(fields) != 5 or fields[1:] != ["*"] * 4:
        raise ValueError(f"schedule {schedule!r} does not run every hour")
    minutes = sorted(_minutes(fields[0]))
    gaps = [b - a for a, b in itertools.pairwise(minutes)]
    return max([*gaps, minutes[0] + 60 - minutes[-1]])


@dataclass(frozen=True)
class BackupCopyArgs:
    """Arguments of :class:`BackupCopy`.

    ``aws_role_arn`` is the IRSA role allowed to read ``s3_bucket``/``s3_prefix``;
    ``azure_client_id`` and ``azure_tenant_id`` name the copier's managed identity (see
    :class:`components.azure.redundancy.Redundancy`), whose federated credential trusts
    ``namespace``/``service_account``.
    """

    namespace: str
    service_account: str
    s3_bucket: pulumi.Input[str]
    s3_prefix: str
    s3_region: str
    storage_account: pulumi.Input[str]
    container: pulumi.Input[str]
    aws_role_arn: pulumi.Input[str]
    azure_client_id: pulumi.Input[str]
    azure_tenant_id: pulumi.Input[str]
    schedule: str = "*/30 * * * *"


def copier_env(args: BackupCopyArgs) -> list[dict[str, Any]]:
    """The whole rclone configuration as environment variables: two remotes, flags, paths.

    Neither remote has a key: ``env_auth`` makes rclone use the SDKs' default chains, which pick
    up the IRSA web-identity token (AWS) and the federated token file (Azure).
    """
    prefix = args.s3_prefix.strip("/")
    return [
        {"name": "HOME", "value": "/tmp"},  # the root filesystem is read-only
        {"name": "RCLONE_CACHE_DIR", "value": "/tmp/rclone"},
        {"name": "RCLONE_CONFIG", "value": "/dev/null"},  # no config file: env only
        {"name": "RCLONE_CONFIG_S3_TYPE", "value": "s3"},
        {"name": "RCLONE_CONFIG_S3_PROVIDER", "value": "AWS"},
        {"name": "RCLONE_CONFIG_S3_ENV_AUTH", "value": "true"},
        {"name": "RCLONE_CONFIG_S3_REGION", "value": args.s3_region},
        {"name": "RCLONE_CONFIG_AZURE_TYPE", "value": "azureblob"},
        {"name": "RCLONE_CONFIG_AZURE_ACCOUNT", "value": args.storage_account},
        {"name": "RCLONE_CONFIG_AZURE_ENV_AUTH", "value": "true"},
        # The container exists (and is immutable): the copier may not create one.
        {"name": "RCLONE_CONFIG_AZURE_NO_CHECK_CONTAINER", "value": "true"},
        {"name": "AZURE_CLIENT_ID", "value": args.azure_client_id},
        {"name": "AZURE_TENANT_ID", "value": args.azure_tenant_id},
        {"name": "AZURE_FEDERATED_TOKEN_FILE", "value": f"{AZURE_TOKEN_DIR}/{AZURE_TOKEN_FILE}"},
        {"name": "AZURE_AUTHORITY_HOST", "value": "https://login.microsoftonline.com/"},
        # Never overwrite a blob: the container is WORM, and a changed export is an alarm.
        {"name": "RCLONE_IMMUTABLE", "value": "true"},
        {"name": "RCLONE_MAX_AGE", "value": RECENT_EXPORTS},
        {"name": "RCLONE_CHECKSUM", "value": "true"},
        {"name": "RCLONE_STATS_ONE_LINE", "value": "true"},
        {
            "name": "RCLONE_SOURCE",
            "value": pulumi.Output.concat("s3:", args.s3_bucket, "/", prefix),
        },
        {
            "name": "RCLONE_DESTINATION",
            "value": pulumi.Output.concat("azure:", args.container, "/", prefix),
        },
    ]


class BackupCopy(pulumi.ComponentResource):
    """The copier's service account and CronJob in ``namespace``.

    - every 30 minutes (RPO < 1 h), never two copies at once, a missed run given 10 minutes;
    - pod meets the ``restricted`` Pod Security profile: non-root, read-only root filesystem,
      no privilege escalation, all capabilities dropped, RuntimeDefault seccomp;
    - bounded resources and an ``activeDeadlineSeconds`` shorter than the interval.
    """

    cron_job_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: BackupCopyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        interval = max_interval_minutes(args.schedule)
        # Strictly less: a copy takes time, so an hourly run would leave more than an hour.
        if interval >= RPO_MINUTES:
            raise ValueError(
                f"schedule {args.schedule!r} leaves {interval} min between copies; "
                f"the RPO needs less than {RPO_MINUTES}"
            )
        super().__init__("ttbt2:k8s:BackupCopy", name, None, opts)
        # What the caller waits for (the namespace, CRDs) holds back every child.
        waits = inherited_depends_on(opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=waits)
        labels = {"app.kubernetes.io/name": "backup-copy", "app.kubernetes.io/part-of": "ttbt2"}
        account_metadata: dict[str, Any] = {
            "name": args.service_account,
            "namespace": args.namespace,
            "labels": {**labels, "azure.workload.identity/use": "true"},
            "annotations": {
                "eks.amazonaws.com/role-arn": args.aws_role_arn,
                "azure.workload.identity/client-id": args.azure_client_id,
                "azure.workload.identity/tenant-id": args.azure_tenant_id,
            },
        }
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=cast(k8s.meta.v1.ObjectMetaArgs, account_metadata),
            # The pod mounts only the tokens it exchanges, never the Kubernetes API token.
            automount_service_account_token=False,
            opts=child,
        )
        env = copier_env(args)
        # Plain dicts, typed as such and cast at the call: checking a literal this deep against
        # the SDK's unions of TypedDicts makes mypy's inference explode in time and memory. The
        # SDK takes dicts at run time; the rendered object is validated against the Kubernetes
        # schema by the tests instead.
        pod_spec: dict[str, Any] = {
            "serviceAccountName": account.metadata["name"],
            # The copier never calls the Kubernetes API: no API token in the pod. The two
            # tokens it does need are projected with their own audiences (AWS by the EKS
            # webhook, Azure below), so automounting the default token would only add risk.
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS,
                "runAsGroup": RUN_AS,
                "fsGroup": RUN_AS,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "rclone",
                    "image": IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    # Kubernetes expands $(VAR) from env: paths too stay configuration.
                    "args": ["copy", "$(RCLONE_SOURCE)", "$(RCLONE_DESTINATION)"],
                    "env": env,
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "1", "memory": "512Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True,
                        "privileged": False,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "volumeMounts": [
                        {"name": "tmp", "mountPath": "/tmp"},
                        {"name": "azure-token", "mountPath": AZURE_TOKEN_DIR, "readOnly": True},
                    ],
                }
            ],
            "volumes": [
                {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                {
                    # The token Entra ID exchanges for the copier identity, projected here
                    # rather than by the Azure webhook, which an EKS cluster does not run.
                    "name": "azure-token",
                    "projected": {
                        "sources": [
                            {
                                "serviceAccountToken": {
                                    "path": AZURE_TOKEN_FILE,
                                    "audience": AZURE_TOKEN_AUDIENCE,
                                    "expirationSeconds": AZURE_TOKEN_SECONDS,
                                }
                            }
                        ]
                    },
                },
            ],
        }
        # Every 30 minutes (``args.schedule``): an export is in Azure within ~30 min (+ copy
        # time) of landing in S3, which keeps the recovery point objective under one hour. The
        # 25-minute deadline is shorter than that interval.
        cron_spec = backup_cron_spec(
            args.schedule, labels, pod_spec, backoff_limit=2, active_deadline_seconds=1500
        )
        job = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata={
                "name": name,
                "namespace": args.namespace,
                "labels": labels,
                # What it copies, for the stack policy that wants a writer of that prefix.
                "annotations": {COPIES_FROM: args.s3_prefix.strip("/")},
            },
            spec=cast(k8s.batch.v1.CronJobSpecArgs, cron_spec),
            opts=child,
        )
        self.cron_job_name = job.metadata["name"]
        self.register_outputs({"cron_job_name": self.cron_job_name})
