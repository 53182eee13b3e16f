"""Who touched the data in a project's Cloud Storage: usage logs and Data Access audit logs.

Two records, because they answer different questions (CKV_GCP_62, CKV2_GCP_5):

- **usage logs**: hourly CSV objects, one line per request to a logged bucket (caller IP,
  latency, sizes, full URL), delivered by Google's ``cloud-storage-analytics@google.com`` group
  into a bucket of the project: :class:`RequestLogs` creates that bucket;
- **Data Access audit logs** in Cloud Logging: who read and wrote which object, within seconds.
  They are off by default for Cloud Storage; the component switches on ``ADMIN_READ``,
  ``DATA_READ`` and ``DATA_WRITE`` for ``storage.googleapis.com`` on the project.

The log bucket holds request metadata only, yet it is as private as the data it describes:
uniform access, public access prevention, the caller's customer-managed key, and a retention
policy so that no one deletes or overwrites a log object before the retention period ends, after
which a lifecycle rule deletes it. It is labelled ``purpose: access-logs``: the label is what
exempts it from having access logs of its own (policy ``gcp-storage-bucket-access-logging``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.dependencies import inherited_depends_on
from config.constants import GCS_DUAL_REGIONS

USAGE_LOG_WRITER = "group:cloud-storage-analytics@google.com"
"""The Google group that delivers usage logs; it needs ``objectCreator`` on the log bucket."""
USAGE_LOG_WRITER_ROLE = "roles/storage.objectCreator"
LOG_BUCKET_LABEL = ("purpose", "access-logs")
"""The label that marks a bucket as a receiver of access logs (see the policy pack)."""
AUDITED_SERVICE = "storage.googleapis.com"
AUDITED_LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
MAX_RETENTION_DAYS = 3650
"""Ten years: far above any retention this platform asks for, so a typo cannot lock logs in."""


@dataclass(frozen=True)
class RequestLogsArgs:
    """Arguments of :class:`RequestLogs`.

    ``location`` is the GCS location of the log bucket, a dual-region (turbo replication is set):
    the logged bucket's own, so request metadata stays where the data is and ``kms_key_name`` (a
    key of that location) can encrypt it. ``retention_days`` is how long each log object is
    kept, neither deletable nor replaceable before then (the stack's ``accessLogRetentionDays``).
    """

    project: str
    environment: str
    location: str
    kms_key_name: pulumi.Input[str]
    retention_days: int
    labels: dict[str, str]
    protect: bool = False

    def __post_init__(self) -> None:
        if self.location not in GCS_DUAL_REGIONS:
            raise ValueError(
                f"location must be a predefined dual-region "
                f"({', '.join(sorted(GCS_DUAL_REGIONS))}), got {self.location!r}"
            )
        if not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise ValueError(
                f"retention_days must be between 1 and {MAX_RETENTION_DAYS}, "
                f"got {self.retention_days}"
            )


class RequestLogs(pulumi.ComponentResource):
    """The usage-log bucket of a project's Cloud Storage and its Data Access audit config.

    Buckets of the project send their usage logs to :attr:`bucket_name` (``logging.logBucket``).
    Whatever the component is told to wait for (``depends_on``: the storage API, the service
    agent's grant on the key) every child waits for too.
    """

    def __init__(
        self, name: str, args: RequestLogsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:gcp:RequestLogs", name, None, opts)
        waits = inherited_depends_on(opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=waits)
        key, value = LOG_BUCKET_LABEL
        retention_seconds = args.retention_days * 86400
        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=f"{args.project}-ttbt2-{args.environment}-access-logs",
            project=args.project,
            location=args.location,
            # The logs are evidence: in a dual-region they get the same 15-minute copy in the
            # second region as the data they describe (seed 4.7).
            rpo="ASYNC_TURBO",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=args.kms_key_name),
            # Log objects are written once: a retention policy (not versioning) is what keeps
            # them from being deleted or replaced, and the lifecycle rule removes them after it.
            retention_policy=gcp.storage.BucketRetentionPolicyArgs(
                retention_period=str(retention_seconds)
            ),
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=args.retention_days),
                )
            ],
            labels={**args.labels, key: value},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        # Google's log delivery writes new objects only: it cannot read or delete them.
        self.writer = gcp.storage.BucketIAMMember(
            f"{name}-writer",
            bucket=self.bucket.name,
            role=USAGE_LOG_WRITER_ROLE,
            member=USAGE_LOG_WRITER,
            opts=child,
        )
        self.audit_config = gcp.projects.IAMAuditConfig(
            f"{name}-storage-audit",
            project=args.project,
            service=AUDITED_SERVICE,
            # No exempted members: every principal's reads and writes are recorded.
            audit_log_configs=[
                gcp.projects.IAMAuditConfigAuditLogConfigArgs(log_type=log_type)
                for log_type in AUDITED_LOG_TYPES
            ],
            opts=child,
        )
        self.bucket_name = self.bucket.name
        self.register_outputs({"bucketName": self.bucket_name})
