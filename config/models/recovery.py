"""Backups and recovery (seed 4.7): objectives, the copy to Azure, who may delete backups."""

from __future__ import annotations

from config.constants import RTO_LIMIT_MINUTES
from config.fields import Domain, setting


class RecoverySettings(Domain):
    """The recovery objectives and what serves them beyond the per-service backups."""

    rto_objective_minutes: int = setting(
        120,
        "Recovery time objective in minutes (seed 4.7: RTO under 2 h); the offline preview "
        "fails a stack with a DR region whose estimated restore there takes longer.",
        key="rtoObjectiveMinutes",
        ge=1,
        le=RTO_LIMIT_MINUTES,
    )
    backup_copy_schedule: str = setting(
        "*/30 * * * *",
        "Cron schedule of the copy of backup exports to Azure; under 60 minutes between runs "
        "(RPO < 1 h).",
        key="backupCopySchedule",
    )
    export_retention_days: int = setting(
        30,
        "Days the hourly database exports (exports/<env>/) and Vault snapshots (vault/<env>/) "
        "stay current in the snapshot store; the store keeps expired ones 90 more days as "
        "noncurrent versions.",
        key="exportRetentionDays",
        ge=1,
        le=3650,
    )
    backup_break_glass_role_arn: str = setting(
        "",
        "IAM role that alone may delete recovery points or change backup vault policies; "
        "empty = nobody.",
        key="backupBreakGlassRoleArn",
    )
    dr_active: bool = setting(
        False,
        "Bring the platform up in the DR region (region loss, docs/dr/region-loss.md): an EKS "
        "cluster, the add-ons, the services and GitOps, the database restored from its "
        "replicated backups, CloudFront failing over to the DR origin. Only with drRegion set.",
        key="drActive",
    )
    dr_api_origin_host: str = setting(
        "",
        "Host name of the DR region's public load balancer (CloudFront's failover origin); "
        "needed when drActive is set.",
        key="drApiOriginHost",
    )
    dr_alb_certificate_arn: str = setting(
        "",
        "ACM certificate in the DR region for the DR load balancer's HTTPS listener (covers "
        "drApiOriginHost); needed when drActive is set.",
        key="drAlbCertificateArn",
    )
