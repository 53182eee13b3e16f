"""Velero: scheduled backups of the cluster's Kubernetes state to the S3 backup store.

Seed 4.7.1 (backups). The application's data lives outside the cluster: PostgreSQL on RDS
(point-in-time recovery), user files in versioned S3 buckets, Elasticsearch in its own S3
snapshots. What the cluster holds is mostly configuration: namespaces, Deployments and
Rollouts, Services, ConfigMaps, the Secrets the Vault Secrets Operator syncs, custom resources
and a few persistent volumes (Prometheus, Alertmanager, Grafana, Elasticsearch). Velero backs
that up so a lost or damaged cluster is rebuilt in minutes rather than re-deployed object by
object (docs/dr/).

The chart is installed at the version vendored under ``vendor/charts/velero`` (Velero
:data:`VELERO_VERSION`); every Helm value path we set is checked offline against the vendored
``values.yaml`` and the ``Schedule`` objects against the vendored CRDs.

Decisions:

- **Namespace** :data:`NAMESPACE` enforces the ``restricted`` Pod Security profile. That is
  possible because the **node agent is off** (``deployNodeAgent: false``): file-system backup
  needs a privileged DaemonSet mounting ``/var/lib/kubelet/pods`` from every node, and nothing
  here needs it. Persistent volumes are captured as **EBS snapshots** through the AWS plugin's
  volume snapshotter instead, which runs inside the Velero pod and calls the EC2 API.
- **Credentials by IRSA**, never a key: ``credentials.useSecret: false`` and the server's
  service account :data:`SERVICE_ACCOUNT` carries the caller's role ARN. The caller creates
  that role as a :class:`~components.aws.snapshots.SnapshotStore` writer limited to prefix
  ``velero/<environment>`` and adds :func:`volume_snapshot_policy` to it for the EBS snapshots.
- **Encryption**: objects are encrypted by the bucket's default SSE-KMS key; Velero sends no
  key of its own, so the role only needs that key (which the store's prefix policy grants).
- **Security contexts**: every container runs as uid/gid :data:`RUN_AS` (the images'
  ``nonroot`` user), without privilege escalation or capabilities, with the runtime's default
  seccomp profile. ``readOnlyRootFilesystem`` is not set: the plugins talk to the server over
  Unix sockets in ``/tmp``, which the chart does not mount as a volume, and the same container
  context runs the chart's CRD-upgrade hook.
- **Schedules** (``velero.io/v1`` ``Schedule``, created as custom resources rather than chart
  values, so they are validated against the CRD offline): a daily backup with volume snapshots,
  kept :data:`DAILY_RETENTION_DAYS` per environment; in prod also an hourly backup of the
  Kubernetes objects only (no volume snapshots), kept :data:`HOURLY_RETENTION_HOURS` hours, so
  configuration changed within the last hour is recoverable (RPO 1 h). Both exclude
  :data:`EXCLUDED_NAMESPACES`: ``kube-system`` is recreated by EKS and its add-ons,
  ``kube-node-lease`` holds only node heartbeats, and Velero's own namespace must not be
  restored over a running Velero.
- **Metrics**: the chart's ServiceMonitor is created unconditionally (``autodetect: false``);
  the caller orders this component after the observability stack, which installs its CRD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.charts import chart_dir
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs
from policies.ttbt2_policies.floors import floors_for, per_stack

CHART = "velero"
CHART_DIR = chart_dir(CHART)
"""The vendored chart files: Chart.yaml (the version we install), values.yaml and the CRDs."""
CHART_REPOSITORY = "https://vmware-tanzu.github.io/helm-charts"
CRD_DIRS: Final = [CHART_DIR / "crds"]
API_VERSION = "velero.io/v1"

VELERO_VERSION = "1.18.1"
"""The Velero server the vendored chart runs (its ``appVersion`` and ``image.tag``)."""
AWS_PLUGIN_IMAGE = "docker.io/velero/velero-plugin-for-aws:v1.14.1"
"""AWS object store and EBS snapshotter plugin; the v1.14 line is the one built for Velero 1.18."""

NAMESPACE = "velero"
SERVICE_ACCOUNT = "velero"
"""Service account of the Velero server; the caller's IRSA role must trust exactly it."""
STORAGE_LOCATION = "default"
SNAPSHOT_LOCATION = "default"
RUN_AS = 65532
"""The ``nonroot`` uid/gid of the distroless Velero image and of the plugin image."""

EXCLUDED_NAMESPACES: Final = ("kube-system", "kube-node-lease", NAMESPACE)
DAILY_RETENTION_DAYS: Final = per_stack(lambda floors: floors.backup_retention_days)
"""How long daily backups are kept by default, per environment: the floor of the backup
retention, as for the database and AWS Backup (other environments: the dev value)."""
HOURLY_RETENTION_HOURS = 48
DAILY_SCHEDULE = "0 2 * * *"
"""Daily at 02:00 UTC, after the nightly Elasticsearch snapshot (01:30) has started."""
HOURLY_SCHEDULE = "15 * * * *"
"""Hourly at minute 15, away from the daily run on the hour."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")


def pod_security_context() -> dict[str, Any]:
    """Pod-level context meeting ``restricted``; fsGroup lets the uid read the IRSA token."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Container-level context meeting ``restricted``: no escalation, no capabilities."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


@dataclass(frozen=True)
class VeleroArgs:
    """Arguments of :class:`Velero`.

    ``role_arn`` is an IRSA role the caller creates for service account
    :data:`SERVICE_ACCOUNT` of namespace :data:`NAMESPACE`, allowed to write below ``prefix``
    of ``bucket`` (a :class:`~components.aws.snapshots.SnapshotStore` writer) and to take EBS
    snapshots (:func:`volume_snapshot_policy`). ``region`` is the bucket's and the volumes'
    region. ``daily_retention_days`` defaults to :data:`DAILY_RETENTION_DAYS` of the
    environment; ``hourly`` defaults to on in prod only.
    """

    environment: str
    bucket: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    region: str
    prefix: str = ""
    daily_retention_days: int | None = None
    hourly: bool | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse what Velero, S3 or Kubernetes would reject, before creating anything."""
        if not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")
        if not _REGION.match(self.region):
            raise ValueError(f"region must be an AWS region like eu-west-1, got {self.region!r}")
        if self.prefix and not _PREFIX.match(self.prefix):
            raise ValueError(
                f"prefix must be an S3 key prefix without leading or trailing '/', "
                f"got {self.prefix!r}"
            )
        days = self.daily_retention_days
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
            raise ValueError(f"daily_retention_days must be a positive integer, got {days!r}")
        if isinstance(self.role_arn, str) and not _ROLE_ARN.match(self.role_arn):
            raise ValueError(f"role_arn must be an IAM role ARN, got {self.role_arn!r}")

    @property
    def backup_prefix(self) -> str:
        """Where backups go in the bucket: ``prefix`` or ``velero/<environment>``."""
        return self.prefix or f"velero/{self.environment}"

    @property
    def retention_days(self) -> int:
        """Days a daily backup is kept."""
        if self.daily_retention_days is not None:
            return self.daily_retention_days
        return floors_for(self.environment).backup_retention_days

    @property
    def hourly_enabled(self) -> bool:
        """Whether the hourly objects-only schedule exists."""
        return self.environment == "prod" if self.hourly is None else self.hourly


def helm_values(args: VeleroArgs) -> dict[str, Any]:
    """The chart values for ``args`` (the bucket name and role ARN may still be outputs).

    One backup storage location and one volume snapshot location, both ``default`` and both
    AWS in ``args.region``; the AWS plugin as an init container copying itself to ``/target``
    (the chart's ``plugins`` volume); no node agent; IRSA; restricted security contexts;
    requests and limits on every container; the ServiceMonitor on.
    """
    plugin: dict[str, Any] = {
        "name": "velero-plugin-for-aws",
        "image": AWS_PLUGIN_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        "securityContext": container_security_context(),
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
    }
    return {
        "image": {"tag": f"v{VELERO_VERSION}"},
        "initContainers": [plugin],
        "podSecurityContext": pod_security_context(),
        "containerSecurityContext": container_security_context(),
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "upgradeJobResources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "256Mi"},
        },
        "kubectl": {
            "containerSecurityContext": container_security_context(),
            "resources": {
                "requests": {"cpu": "50m", "memory": "64Mi"},
                "limits": {"cpu": "200m", "memory": "256Mi"},
            },
        },
        # The CRD-upgrade hook stays on: Helm never upgrades CRDs itself.
        "upgradeCRDs": True,
        "cleanUpCRDs": False,
        "metrics": {
            "enabled": True,
            "serviceMonitor": {"enabled": True, "autodetect": False},
        },
        "configuration": {
            "backupStorageLocation": [
                {
                    "name": STORAGE_LOCATION,
                    "provider": "aws",
                    "bucket": args.bucket,
                    "prefix": args.backup_prefix,
                    "default": True,
                    "accessMode": "ReadWrite",
                    # No kmsKeyId or serverSideEncryption: the bucket's default SSE-KMS key
                    # encrypts every object, and the role holds exactly that key.
                    "config": {"region": args.region},
                }
            ],
            "volumeSnapshotLocation": [
                {
                    "name": SNAPSHOT_LOCATION,
                    "provider": "aws",
                    "config": {"region": args.region},
                }
            ],
            "defaultBackupStorageLocation": STORAGE_LOCATION,
            "defaultVolumeSnapshotLocations": f"aws:{SNAPSHOT_LOCATION}",
            "defaultVolumesToFsBackup": False,
            "logFormat": "json",
        },
        "credentials": {"useSecret": False},
        "serviceAccount": {
            "server": {
                "create": True,
                "name": SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": args.role_arn},
            }
        },
        "backupsEnabled": True,
        "snapshotsEnabled": True,
        "deployNodeAgent": False,
        "schedules": {},
    }


def schedule_spec(
    *,
    cron: str,
    ttl_hours: int,
    snapshot_volumes: bool,
) -> dict[str, Any]:
    """A Schedule spec backing up every namespace but :data:`EXCLUDED_NAMESPACES`.

    Cluster-scoped resources (CRDs, ClusterRoles, StorageClasses) are included so a restore
    into an empty cluster has what namespaced objects refer to.
    """
    return {
        "schedule": cron,
        # Backups must outlive the Schedule object: deleting or replacing it (or restoring
        # the cluster) would otherwise garbage-collect every backup it made.
        "useOwnerReferencesInBackup": False,
        "template": {
            "ttl": f"{ttl_hours}h0m0s",
            "storageLocation": STORAGE_LOCATION,
            "volumeSnapshotLocations": [SNAPSHOT_LOCATION] if snapshot_volumes else [],
            "excludedNamespaces": list(EXCLUDED_NAMESPACES),
            "includeClusterResources": True,
            "snapshotVolumes": snapshot_volumes,
            "defaultVolumesToFsBackup": False,
        },
    }


def schedules(args: VeleroArgs) -> dict[str, dict[str, Any]]:
    """The Schedule specs by object name: ``daily``, and ``hourly`` when enabled."""
    found = {
        "daily": schedule_spec(
            cron=DAILY_SCHEDULE, ttl_hours=24 * args.retention_days, snapshot_volumes=True
        )
    }
    if args.hourly_enabled:
        found["hourly"] = schedule_spec(
            cron=HOURLY_SCHEDULE, ttl_hours=HOURLY_RETENTION_HOURS, snapshot_volumes=False
        )
    return found


def volume_snapshot_policy(
    region: str, account_id: str, kms_key_arns: list[str], partition: str = "aws"
) -> dict[str, Any]:
    """The EC2 and KMS permissions Velero's EBS snapshotter needs, scoped as far as IAM allows.

    Attach it to the IRSA role next to the store's prefix policy. ``kms_key_arns`` are the keys
    of the volumes backed up (the encrypted StorageClass's key): creating a volume from an
    encrypted snapshot needs a grant on its key. Snapshots can only be deleted when Velero
    tagged them (``velero.io/backup``), so the role cannot delete other snapshots.
    """
    ec2 = f"arn:{partition}:ec2:{region}"
    volumes = f"{ec2}:{account_id}:volume/*"
    snapshots = f"{ec2}::snapshot/*"
    statements: list[dict[str, Any]] = [
        {
            # Describe calls support no resource-level permissions.
            "Sid": "DescribeVolumesAndSnapshots",
            "Effect": "Allow",
            "Action": ["ec2:DescribeVolumes", "ec2:DescribeSnapshots"],
            "Resource": "*",
        },
        {
            "Sid": "SnapshotAndRestoreVolumes",
            "Effect": "Allow",
            "Action": ["ec2:CreateSnapshot", "ec2:CreateVolume"],
            "Resource": [volumes, snapshots],
        },
        {
            "Sid": "TagOnCreate",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": [volumes, snapshots],
            "Condition": {"StringEquals": {"ec2:CreateAction": ["CreateSnapshot", "CreateVolume"]}},
        },
        {
            "Sid": "DeleteOwnSnapshots",
            "Effect": "Allow",
            "Action": "ec2:DeleteSnapshot",
            "Resource": snapshots,
            "Condition": {"Null": {"aws:ResourceTag/velero.io/backup": "false"}},
        },
    ]
    if kms_key_arns:
        statements += [
            {
                "Sid": "UseVolumeKeys",
                "Effect": "Allow",
                "Action": [
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ],
                "Resource": list(kms_key_arns),
            },
            {
                "Sid": "GrantVolumeKeysToEbs",
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": list(kms_key_arns),
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


class Velero(pulumi.ComponentResource):
    """Velero in its restricted namespace, with its storage locations and backup schedules.

    Creates Namespace :data:`NAMESPACE`, the Helm release (which creates the
    ``BackupStorageLocation`` and ``VolumeSnapshotLocation`` named ``default``, the service
    account and the ServiceMonitor) and one ``Schedule`` per entry of :func:`schedules`, after
    the release (which installs their CRD). The Kubernetes provider comes from ``opts``
    (``providers={"kubernetes": ...}``).
    """

    def __init__(
        self, name: str, args: VeleroArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:Velero", name, None, opts)
        labels = {**args.labels, "environment": args.environment}

        self.server = NamespacedRelease(
            f"{name}-server",
            NamespacedReleaseArgs(
                namespace=NAMESPACE,
                labels=labels,
                chart=CHART,
                chart_directory=CHART_DIR,
                repository=CHART_REPOSITORY,
                values=helm_values(args),
                # Created directly under this component before NamespacedRelease existed.
                namespace_aliases=[pulumi.Alias(name=f"{name}-namespace", parent=self)],
                release_aliases=[pulumi.Alias(name=f"{name}-release", parent=self)],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = self.server.namespace
        self.release = self.server.release
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        self.schedules: dict[str, k8s.apiextensions.CustomResource] = {}
        for schedule_name, spec in schedules(args).items():
            self.schedules[schedule_name] = k8s.apiextensions.CustomResource(
                f"{name}-schedule-{schedule_name}",
                api_version=API_VERSION,
                kind="Schedule",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=schedule_name, namespace=NAMESPACE, labels=labels
                ),
                spec=spec,
                opts=after_release,
            )
        self.backup_prefix = args.backup_prefix
        self.register_outputs(
            {
                "namespace": NAMESPACE,
                "backupPrefix": args.backup_prefix,
                "schedules": sorted(self.schedules),
            }
        )
